//! ResNet (He, Zhang, Ren, Sun 2015, "Deep residual learning for image recognition";
//! torchvision `resnet.py`, REFERENCE.md A.4), torchvision's v1.5: a bottleneck block strides
//! on its 3×3 conv, not on the first 1×1.
//!
//! Stem: 7×7/2 conv (64) + BN + ReLU, max pool 3/2 pad 1. Then four stages of residual blocks
//! (64, 128, 256, 512 planes; stages 2–4 halve the size in their first block), global average
//! pooling and one fully connected layer. ResNet-18/34 use basic blocks (two 3×3 convs),
//! ResNet-50/101/152 bottlenecks (1×1 reduce, 3×3, 1×1 expand ×4). A block whose shape changes
//! adds a projection shortcut (1×1 conv + BN). Every conv has no bias; BN eps is 1e-5.
//!
//! Weight keys: `conv1.weight`, `bn1.*`, `layer{1-4}.{b}.conv{1,2[,3]}.weight`,
//! `layer{1-4}.{b}.bn{1,2[,3]}.*`, `layer{1-4}.{b}.downsample.0.weight` (conv),
//! `layer{1-4}.{b}.downsample.1.*` (BN), `fc.weight`, `fc.bias`; BN keys are `weight`, `bias`,
//! `running_mean`, `running_var`.

use super::BuildArgs;
use crate::error::{Error, Result};
use crate::graph::{Graph, GraphBuilder, Value};
use crate::ops::{Activation, Activation::Relu, Conv2d, Pool2d};

/// The two block kinds.
#[derive(Clone, Copy, PartialEq)]
enum Block {
    /// Two 3×3 convs (expansion 1).
    Basic,
    /// 1×1, 3×3, 1×1 (expansion 4).
    Bottleneck,
}

impl Block {
    /// Output channels over `planes`.
    fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// `resnet18`, `resnet34`, `resnet50`, `resnet101` or `resnet152`.
pub(crate) fn resnet(name: &str, o: &BuildArgs) -> Result<Graph> {
    let (block, layers) = match name {
        "resnet18" => (Block::Basic, [2, 2, 2, 2]),
        "resnet34" => (Block::Basic, [3, 4, 6, 3]),
        "resnet50" => (Block::Bottleneck, [3, 4, 6, 3]),
        "resnet101" => (Block::Bottleneck, [3, 4, 23, 3]),
        "resnet152" => (Block::Bottleneck, [3, 8, 36, 3]),
        _ => return Err(Error::Invalid(format!("unknown ResNet '{name}'"))),
    };
    let (mut b, x) = GraphBuilder::new(name, 3, o.size, o.size, o.seed);
    let mut x = conv_bn(&mut b, "", 1, x, conv(3, 64, 7, 2, 3), Relu);
    x = b.pool("maxpool", x, Pool2d::max(3, 2, 1));
    let mut cin = 64;
    for (stage, (planes, blocks)) in [64, 128, 256, 512].into_iter().zip(layers).enumerate() {
        for i in 0..blocks {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            let prefix = format!("layer{}.{i}.", stage + 1);
            x = residual_block(&mut b, &prefix, x, block, cin, planes, stride);
            cin = planes * block.expansion();
        }
    }
    let x = b.adaptive_avg_pool("avgpool", x, 1, 1);
    let x = b.flatten("flatten", x);
    let x = b.linear("fc", x, cin, o.classes, Activation::None);
    b.finish(&[x])
}

/// One block named `p` (`layer1.0.`): its residual branch, the shortcut (identity, or a
/// projection when the shape changes), and `relu(branch + shortcut)`.
fn residual_block(
    b: &mut GraphBuilder,
    p: &str,
    x: Value,
    block: Block,
    cin: usize,
    planes: usize,
    stride: usize,
) -> Value {
    let cout = planes * block.expansion();
    let branch = match block {
        Block::Basic => basic(b, p, x, cin, planes, stride),
        Block::Bottleneck => bottleneck(b, p, x, cin, planes, stride),
    };
    let shortcut = if stride != 1 || cin != cout {
        let (conv_name, bn_name) = (format!("{p}downsample.0"), format!("{p}downsample.1"));
        let proj = b.conv2d(&conv_name, x, conv(cin, cout, 1, stride, 0));
        b.batch_norm(&bn_name, proj, cout, 1e-5, Activation::None)
    } else {
        x
    };
    b.add_values(&format!("{p}add"), branch, shortcut, Relu)
}

/// BasicBlock branch: 3×3 (stride) → BN → ReLU → 3×3 → BN.
fn basic(
    b: &mut GraphBuilder,
    p: &str,
    x: Value,
    cin: usize,
    planes: usize,
    stride: usize,
) -> Value {
    let x = conv_bn(b, p, 1, x, conv(cin, planes, 3, stride, 1), Relu);
    conv_bn(b, p, 2, x, conv(planes, planes, 3, 1, 1), Activation::None)
}

/// Bottleneck branch (v1.5): 1×1 → BN → ReLU → 3×3 (stride) → BN → ReLU → 1×1 (×4) → BN.
fn bottleneck(
    b: &mut GraphBuilder,
    p: &str,
    x: Value,
    cin: usize,
    planes: usize,
    stride: usize,
) -> Value {
    let cout = planes * 4;
    let x = conv_bn(b, p, 1, x, conv(cin, planes, 1, 1, 0), Relu);
    let x = conv_bn(b, p, 2, x, conv(planes, planes, 3, stride, 1), Relu);
    conv_bn(b, p, 3, x, conv(planes, cout, 1, 1, 0), Activation::None)
}

/// A convolution without bias (every conv in ResNet).
fn conv(cin: usize, cout: usize, kernel: usize, stride: usize, pad: usize) -> Conv2d {
    let mut c = Conv2d::new(cin, cout, kernel, stride, pad);
    c.bias = false;
    c
}

/// `conv` named `<p>conv<i>`, then its batch norm `<p>bn<i>` with `act`.
fn conv_bn(
    b: &mut GraphBuilder,
    p: &str,
    i: usize,
    x: Value,
    conv: Conv2d,
    act: Activation,
) -> Value {
    let cout = conv.out_channels;
    let x = b.conv2d(&format!("{p}conv{i}"), x, conv);
    b.batch_norm(&format!("{p}bn{i}"), x, cout, 1e-5, act)
}
