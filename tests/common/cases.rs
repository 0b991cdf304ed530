//! Named-case helpers shared by `ops_edge.rs` and `conv_kernels.rs`: a GPU with the largest
//! error seen per kernel, random inputs for a list of shapes, and conv builders.

use super::{check_gpu, cpu_ref, random_params, MaxErr};
use deeper::ops::Activation::Relu;
use deeper::ops::{Conv2d, ConvKernel, Op};
use deeper::runtime::Gpu;
use deeper::{Rng, Shape, Tensor};

pub fn uniform(shape: Shape, rng: &mut Rng) -> Tensor {
    Tensor::uniform(shape, -1.0, 1.0, rng)
}

pub fn sh(n: usize, c: usize, h: usize, w: usize) -> Shape {
    Shape::new(n, c, h, w)
}

/// A GPU and the errors seen on it.
pub struct Cx<'a> {
    pub gpu: &'a Gpu,
    pub max: MaxErr,
}

impl<'a> Cx<'a> {
    pub fn new(gpu: &'a Gpu) -> Self {
        Cx {
            gpu,
            max: MaxErr::default(),
        }
    }

    /// Random inputs of `shapes` and random params; GPU vs CPU; records the error under
    /// `op.kind()` (`conv2d_direct`, `conv2d_tiled`, … for convolutions).
    pub fn check(&self, case: &str, op: &Op, shapes: &[Shape], seed: u64) {
        let mut rng = Rng::new(seed);
        let xs: Vec<Tensor> = shapes.iter().map(|s| uniform(*s, &mut rng)).collect();
        let refs: Vec<&Tensor> = xs.iter().collect();
        let params = random_params(op, &mut rng);
        let want = cpu_ref(op, &refs, &params);
        let name = match op {
            Op::Conv2d(c) => format!("conv2d_{:?}", c.kernel).to_lowercase(),
            _ => op.kind().to_string(),
        };
        let case = format!("{case}: {op:?} on {shapes:?}");
        let err = check_gpu(self.gpu, &case, op, &refs, &params, &want);
        self.max.record(&name, err);
    }

    /// [`Cx::check`] with every conv kernel.
    pub fn check_conv(&self, case: &str, conv: &Conv2d, shapes: &[Shape], seed: u64) {
        for op in ConvKernel::ALL.map(|k| with_kernel(conv, k)) {
            self.check(case, &op, shapes, seed);
        }
    }
}

pub fn with_kernel(conv: &Conv2d, kernel: ConvKernel) -> Op {
    let mut c = conv.clone();
    c.kernel = kernel;
    Op::Conv2d(c)
}

/// A stride-1 conv with bias, `groups` groups and a relu.
pub fn grouped(cin: usize, cout: usize, k: usize, pad: usize, groups: usize) -> Conv2d {
    let mut c = Conv2d::new(cin, cout, k, 1, pad);
    (c.groups, c.activation) = (groups, Relu);
    c
}
