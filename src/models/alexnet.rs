//! AlexNet, two ways (REFERENCE.md A.2).
//!
//! `alexnet`: torchvision's version (Krizhevsky, "One weird trick", arXiv 1404.5997): five
//! convolutions (64, 192, 384, 256, 256 filters, no LRN, no groups), three overlapping max pools
//! 3/2, adaptive average pooling to 6×6 and three fully connected layers. 61,100,840 parameters.
//! Weight keys: `features.{0,3,6,8,10}` and `classifier.{1,4,6}` (`.weight`, `.bias`).
//!
//! `alexnet-paper`: the 2012 paper (Krizhevsky, Sutskever, Hinton, "ImageNet classification with
//! deep convolutional neural networks") on its 227×227 input: 96 filters in conv1, LRN after
//! conv1 and conv2, and convs 2, 4 and 5 split over the two GPUs (groups = 2). 60,965,224
//! parameters. Weight keys: `conv1`…`conv5`, `fc6`, `fc7`, `fc8` (`.weight`, `.bias`).
//!
//! Dropout is an identity at inference and is left out of both.

use super::BuildArgs;
use crate::error::Result;
use crate::graph::{Graph, GraphBuilder, Value};
use crate::ops::{Activation, Activation::Relu, Conv2d, Pool2d};

/// torchvision's AlexNet.
pub(crate) fn alexnet(o: &BuildArgs) -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("alexnet", 3, o.size, o.size, o.seed);
    let x = b.conv("features.0", x, 3, 64, 11, 4, 2, Relu);
    let x = b.pool("features.2", x, Pool2d::max(3, 2, 0));
    let x = b.conv("features.3", x, 64, 192, 5, 1, 2, Relu);
    let x = b.pool("features.5", x, Pool2d::max(3, 2, 0));
    let x = b.conv("features.6", x, 192, 384, 3, 1, 1, Relu);
    let x = b.conv("features.8", x, 384, 256, 3, 1, 1, Relu);
    let x = b.conv("features.10", x, 256, 256, 3, 1, 1, Relu);
    let x = b.pool("features.12", x, Pool2d::max(3, 2, 0));
    let x = b.adaptive_avg_pool("avgpool", x, 6, 6);
    let x = b.flatten("flatten", x);
    let x = b.linear("classifier.1", x, 256 * 6 * 6, 4096, Relu);
    let x = b.linear("classifier.4", x, 4096, 4096, Relu);
    let x = b.linear("classifier.6", x, 4096, o.classes, Activation::None);
    b.finish(&[x])
}

/// The 2012 paper's AlexNet. Its fc6 takes whatever pool5 produces (256×6×6 = 9,216 at 227).
pub(crate) fn alexnet_paper(o: &BuildArgs) -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("alexnet-paper", 3, o.size, o.size, o.seed);
    let x = b.conv("conv1", x, 3, 96, 11, 4, 0, Relu);
    let x = paper_lrn(&mut b, "norm1", x);
    let x = b.pool("pool1", x, Pool2d::max(3, 2, 0));
    let x = grouped_conv(&mut b, "conv2", x, 96, 256, 5, 2);
    let x = paper_lrn(&mut b, "norm2", x);
    let x = b.pool("pool2", x, Pool2d::max(3, 2, 0));
    let x = b.conv("conv3", x, 256, 384, 3, 1, 1, Relu);
    let x = grouped_conv(&mut b, "conv4", x, 384, 384, 3, 1);
    let x = grouped_conv(&mut b, "conv5", x, 384, 256, 3, 1);
    let x = b.pool("pool5", x, Pool2d::max(3, 2, 0));
    let features = b.shape(x)?.per_sample();
    let x = b.flatten("flatten", x);
    let x = b.linear("fc6", x, features, 4096, Relu);
    let x = b.linear("fc7", x, 4096, 4096, Relu);
    let x = b.linear("fc8", x, 4096, o.classes, Activation::None);
    b.finish(&[x])
}

/// A stride-1 convolution split over the paper's two GPUs (groups = 2), with ReLU.
fn grouped_conv(
    b: &mut GraphBuilder,
    name: &str,
    x: Value,
    cin: usize,
    cout: usize,
    kernel: usize,
    pad: usize,
) -> Value {
    let conv = Conv2d {
        groups: 2,
        activation: Relu,
        ..Conv2d::new(cin, cout, kernel, 1, pad)
    };
    b.conv2d(name, x, conv)
}

/// The paper's response normalisation: k = 2, n = 5, α = 1e-4, β = 0.75. The paper does not
/// divide α by n, PyTorch does, so α is 5·1e-4 in PyTorch's form.
fn paper_lrn(b: &mut GraphBuilder, name: &str, x: Value) -> Value {
    b.lrn(name, x, 5, 5e-4, 0.75, 2.0)
}
