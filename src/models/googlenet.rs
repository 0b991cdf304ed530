//! GoogLeNet / Inception v1 (Szegedy et al. 2014, "Going deeper with convolutions";
//! REFERENCE.md A.5), two ways.
//!
//! `googlenet`: torchvision's `googlenet.py`. Every conv is a `BasicConv2d` (conv without bias,
//! batch norm with eps 1e-3, ReLU); pools use `ceil_mode`; the "5×5" branch of each inception
//! module is really a 3×3 (pytorch/vision#906). 6,624,904 parameters; 13,004,888 with the two
//! auxiliary classifiers (`aux`), which run on the outputs of 4a and 4d and become the graph's
//! second and third outputs (torchvision only runs them in training). `transform_input` (the
//! re-normalisation torchvision applies to the input for the ported weights) is not part of
//! the graph. Weight keys: `conv1.conv.weight`, `conv1.bn.{weight, bias, running_mean,
//! running_var}` and likewise `conv2`, `conv3`, `inception{3a…5b}.branch1`,
//! `.branch2.{0,1}`, `.branch3.{0,1}`, `.branch4.1`, `aux{1,2}.conv`; then `aux{1,2}.fc{1,2}`
//! and `fc` (`.weight`, `.bias`).
//!
//! `googlenet-paper`: the paper's (and BVLC Caffe's) network on the same topology: convs with
//! bias and ReLU and no batch norm, a true 5×5 (pad 2) branch, LRN (n 5, α 1e-4, β 0.75, k 1)
//! after the first max pool and after conv3, and 5×5/3 average pooling in the auxiliary heads.
//! 6,998,552 parameters. Weight keys as above without `.bn.*`, each conv with `.conv.bias`.
//!
//! The paper's final 7×7 average pool is global average pooling here (the same at 224), and
//! dropout is an identity at inference and is left out.

use super::BuildArgs;
use crate::error::Result;
use crate::graph::{Graph, GraphBuilder, Value};
use crate::ops::{Activation, Activation::Relu, Conv2d, Pool2d};

/// Output widths of one inception module, as in the paper's table:
/// `[#1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj]`.
type Widths = [usize; 6];

/// A square window: `(kernel, stride, padding)`.
type Window = (usize, usize, usize);

/// `googlenet` (torchvision's) or `googlenet-paper`.
pub(crate) fn googlenet(name: &str, o: &BuildArgs) -> Result<Graph> {
    let paper = name == "googlenet-paper";
    let (b, x) = GraphBuilder::new(name, 3, o.size, o.size, o.seed);
    let mut n = Net { b, paper };
    let x = n.conv("conv1", x, 3, 64, (7, 2, 3));
    let x = n.max_pool("maxpool1", x, (3, 2, 0));
    let x = n.paper_lrn("lrn1", x);
    let x = n.conv("conv2", x, 64, 64, (1, 1, 0));
    let x = n.conv("conv3", x, 64, 192, (3, 1, 1));
    let x = n.paper_lrn("lrn2", x);
    let x = n.max_pool("maxpool2", x, (3, 2, 0));
    let x = n.inception("inception3a", x, 192, [64, 96, 128, 16, 32, 32]);
    let x = n.inception("inception3b", x, 256, [128, 128, 192, 32, 96, 64]);
    let x = n.max_pool("maxpool3", x, (3, 2, 0));
    let x4a = n.inception("inception4a", x, 480, [192, 96, 208, 16, 48, 64]);
    let x = n.inception("inception4b", x4a, 512, [160, 112, 224, 24, 64, 64]);
    let x = n.inception("inception4c", x, 512, [128, 128, 256, 24, 64, 64]);
    let x4d = n.inception("inception4d", x, 512, [112, 144, 288, 32, 64, 64]);
    let x = n.inception("inception4e", x4d, 528, [256, 160, 320, 32, 128, 128]);
    let x = n.max_pool("maxpool4", x, (2, 2, 0));
    let x = n.inception("inception5a", x, 832, [256, 160, 320, 32, 128, 128]);
    let x = n.inception("inception5b", x, 832, [384, 192, 384, 48, 128, 128]);
    let x = n.b.adaptive_avg_pool("avgpool", x, 1, 1);
    let x = n.b.flatten("flatten", x);
    let logits = n.b.linear("fc", x, 1024, o.classes, Activation::None);
    if !o.aux {
        return n.b.finish(&[logits]);
    }
    let aux1 = n.aux("aux1", x4a, 512, o.classes)?;
    let aux2 = n.aux("aux2", x4d, 528, o.classes)?;
    n.b.finish(&[logits, aux1, aux2])
}

/// The builder and which form of the network it builds.
struct Net {
    b: GraphBuilder,
    paper: bool,
}

impl Net {
    /// A conv with ReLU named `<name>.conv`: torchvision's `BasicConv2d` (no bias, then batch
    /// norm `<name>.bn` with eps 1e-3 and the ReLU), or the paper's conv with bias.
    fn conv(&mut self, name: &str, x: Value, cin: usize, cout: usize, w: Window) -> Value {
        let (b, conv) = (&mut self.b, format!("{name}.conv"));
        let mut op = Conv2d::new(cin, cout, w.0, w.1, w.2);
        if self.paper {
            op.activation = Relu;
            return b.conv2d(&conv, x, op);
        }
        op.bias = false;
        let x = b.conv2d(&conv, x, op);
        b.batch_norm(&format!("{name}.bn"), x, cout, 1e-3, Relu)
    }

    /// Max pooling with `ceil_mode` (torchvision's and Caffe's rounding).
    fn max_pool(&mut self, name: &str, x: Value, w: Window) -> Value {
        self.b.pool(name, x, Pool2d::max(w.0, w.1, w.2).ceil())
    }

    /// The paper's LRN (BVLC parameters, PyTorch form); torchvision has none.
    fn paper_lrn(&mut self, name: &str, x: Value) -> Value {
        if self.paper {
            self.b.lrn(name, x, 5, 1e-4, 0.75, 1.0)
        } else {
            x
        }
    }

    /// An inception module: four branches concatenated on channels in the order 1, 2, 3, 4.
    fn inception(&mut self, m: &str, x: Value, cin: usize, w: Widths) -> Value {
        let branch1 = self.conv(&format!("{m}.branch1"), x, cin, w[0], (1, 1, 0));
        let reduce = self.conv(&format!("{m}.branch2.0"), x, cin, w[1], (1, 1, 0));
        let branch2 = self.conv(&format!("{m}.branch2.1"), reduce, w[1], w[2], (3, 1, 1));
        let reduce = self.conv(&format!("{m}.branch3.0"), x, cin, w[3], (1, 1, 0));
        let five = if self.paper { (5, 1, 2) } else { (3, 1, 1) };
        let branch3 = self.conv(&format!("{m}.branch3.1"), reduce, w[3], w[4], five);
        let pooled = self.max_pool(&format!("{m}.branch4.0"), x, (3, 1, 1));
        let branch4 = self.conv(&format!("{m}.branch4.1"), pooled, cin, w[5], (1, 1, 0));
        self.b.concat(m, &[branch1, branch2, branch3, branch4])
    }

    /// An auxiliary classifier: average pool to 4×4 (adaptive in torchvision, 5×5/3 in the
    /// paper), 1×1 conv to 128, fc1 to 1024 with ReLU, fc2 to the classes.
    fn aux(&mut self, name: &str, x: Value, cin: usize, classes: usize) -> Result<Value> {
        let pool = format!("{name}.pool");
        let x = if self.paper {
            self.b.pool(&pool, x, Pool2d::avg(5, 3, 0).ceil())
        } else {
            self.b.adaptive_avg_pool(&pool, x, 4, 4)
        };
        let x = self.conv(&format!("{name}.conv"), x, cin, 128, (1, 1, 0));
        let b = &mut self.b;
        let features = b.shape(x)?.per_sample();
        let x = b.flatten(&format!("{name}.flatten"), x);
        let x = b.linear(&format!("{name}.fc1"), x, features, 1024, Relu);
        Ok(b.linear(&format!("{name}.fc2"), x, 1024, classes, Activation::None))
    }
}
