//! Network in Network (Lin, Chen, Yan 2013, "Network in network", arXiv 1312.4400), the
//! ImageNet model of the Caffe model zoo (REFERENCE.md A.6).
//!
//! Four mlpconv blocks, each a k×k convolution followed by two 1×1 convolutions ("cccp",
//! cascaded cross-channel parametric pooling), all with bias and ReLU. Max pools 3/2 with
//! Caffe's ceil rounding sit between the first three blocks. The last 1×1 conv has one channel
//! per class and global average pooling turns it into the logits: no fully connected layers.
//! 7,595,176 parameters. Dropout is an identity at inference and is left out.
//!
//! Weight keys (Caffe layer names): `conv1`, `cccp1`, `cccp2`, `conv2`, `cccp3`, `cccp4`,
//! `conv3`, `cccp5`, `cccp6`, `conv4`, `cccp7`, `cccp8` (`.weight`, `.bias`).

use super::BuildArgs;
use crate::error::Result;
use crate::graph::{Graph, GraphBuilder, Value};
use crate::ops::{Activation::Relu, Pool2d};

/// NiN for ImageNet.
pub(crate) fn nin(o: &BuildArgs) -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("nin", 3, o.size, o.size, o.seed);
    let x = mlpconv(&mut b, 1, x, (3, 96, 96), (11, 4, 0));
    let x = b.pool("pool1", x, Pool2d::max(3, 2, 0).ceil());
    let x = mlpconv(&mut b, 2, x, (96, 256, 256), (5, 1, 2));
    let x = b.pool("pool2", x, Pool2d::max(3, 2, 0).ceil());
    let x = mlpconv(&mut b, 3, x, (256, 384, 384), (3, 1, 1));
    let x = b.pool("pool3", x, Pool2d::max(3, 2, 0).ceil());
    let x = mlpconv(&mut b, 4, x, (384, 1024, o.classes), (3, 1, 1));
    let x = b.adaptive_avg_pool("pool4", x, 1, 1);
    let x = b.flatten("flatten", x);
    b.finish(&[x])
}

/// Mlpconv block `n` (1–4): conv `conv<n>` with `(kernel, stride, pad)`, then the 1×1 convs
/// `cccp<2n−1>` and `cccp<2n>`, all with ReLU; channels `(in, width, out)`.
fn mlpconv(
    b: &mut GraphBuilder,
    n: usize,
    x: Value,
    (cin, width, cout): (usize, usize, usize),
    (k, s, p): (usize, usize, usize),
) -> Value {
    let cccp = |i: usize| format!("cccp{}", 2 * (n - 1) + i);
    let x = b.conv(&format!("conv{n}"), x, cin, width, k, s, p, Relu);
    let x = b.conv(&cccp(1), x, width, width, 1, 1, 0, Relu);
    b.conv(&cccp(2), x, width, cout, 1, 1, 0, Relu)
}
