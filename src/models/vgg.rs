//! VGG (Simonyan & Zisserman 2014, "Very deep convolutional networks for large-scale image
//! recognition"; torchvision `vgg.py`, REFERENCE.md A.3): stacks of 3×3 convolutions (pad 1,
//! ReLU) separated by 2×2 max pools, adaptive average pooling to 7×7, and three fully connected
//! layers. Configurations A, B, D and E are VGG-11, -13, -16 and -19; the `-bn` variants put a
//! batch norm (eps 1e-5) between each conv and its ReLU.
//!
//! Weight keys follow torchvision's `nn.Sequential` indices: in `features`, every conv, ReLU,
//! batch norm and pool takes an index (`features.0` conv, `features.1` ReLU, …; with BN:
//! `features.i` conv, `features.{i+1}` BN with `running_mean`/`running_var`, `features.{i+2}`
//! ReLU); then `classifier.{0,3,6}`. Parameters: 132,863,336 (VGG-11) to 143,678,248
//! (VGG-19-BN). Dropout is an identity at inference and is left out.

use super::BuildArgs;
use crate::error::{Error, Result};
use crate::graph::{Graph, GraphBuilder, Value};
use crate::ops::{Activation, Activation::Relu, Pool2d};

/// One entry of a configuration: a 3×3 conv with this many filters, or a max pool.
#[derive(Clone, Copy)]
enum Layer {
    Conv(usize),
    Pool,
}
use Layer::{Conv as C, Pool as M};

/// Configuration A (VGG-11).
#[rustfmt::skip]
const A: &[Layer] = &[C(64), M, C(128), M, C(256), C(256), M, C(512), C(512), M, C(512), C(512), M];
/// Configuration B (VGG-13).
#[rustfmt::skip]
const B: &[Layer] = &[
    C(64), C(64), M, C(128), C(128), M, C(256), C(256), M, C(512), C(512), M, C(512), C(512), M,
];
/// Configuration D (VGG-16).
#[rustfmt::skip]
const D: &[Layer] = &[
    C(64), C(64), M, C(128), C(128), M, C(256), C(256), C(256), M,
    C(512), C(512), C(512), M, C(512), C(512), C(512), M,
];
/// Configuration E (VGG-19).
#[rustfmt::skip]
const E: &[Layer] = &[
    C(64), C(64), M, C(128), C(128), M, C(256), C(256), C(256), C(256), M,
    C(512), C(512), C(512), C(512), M, C(512), C(512), C(512), C(512), M,
];

/// `vgg11`, `vgg13`, `vgg16`, `vgg19`, `vgg16-bn` or `vgg19-bn`.
pub(crate) fn vgg(name: &str, o: &BuildArgs) -> Result<Graph> {
    let (cfg, bn) = match name {
        "vgg11" => (A, false),
        "vgg13" => (B, false),
        "vgg16" => (D, false),
        "vgg19" => (E, false),
        "vgg16-bn" => (D, true),
        "vgg19-bn" => (E, true),
        _ => return Err(Error::Invalid(format!("unknown VGG '{name}'"))),
    };
    let (mut b, x) = GraphBuilder::new(name, 3, o.size, o.size, o.seed);
    let x = features(&mut b, x, cfg, bn);
    let x = b.adaptive_avg_pool("avgpool", x, 7, 7);
    let x = b.flatten("flatten", x);
    let x = b.linear("classifier.0", x, 512 * 7 * 7, 4096, Relu);
    let x = b.linear("classifier.3", x, 4096, 4096, Relu);
    let x = b.linear("classifier.6", x, 4096, o.classes, Activation::None);
    b.finish(&[x])
}

/// The `features` sequence, indexed as torchvision's `make_layers` indexes it.
fn features(b: &mut GraphBuilder, mut x: Value, cfg: &[Layer], bn: bool) -> Value {
    let (mut i, mut cin) = (0, 3);
    for layer in cfg {
        let name = format!("features.{i}");
        match *layer {
            M => {
                x = b.pool(&name, x, Pool2d::max(2, 2, 0));
                i += 1;
            }
            C(cout) if bn => {
                x = b.conv(&name, x, cin, cout, 3, 1, 1, Activation::None);
                x = b.batch_norm(&format!("features.{}", i + 1), x, cout, 1e-5, Relu);
                (i, cin) = (i + 3, cout);
            }
            C(cout) => {
                x = b.conv(&name, x, cin, cout, 3, 1, 1, Relu);
                (i, cin) = (i + 2, cout);
            }
        }
    }
    x
}
