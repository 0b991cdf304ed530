//! Seeded random weights, so every network runs without a weight file. Convolutions and linear
//! layers get He (Kaiming) normal weights over their fan-in, `std = √(2 / fan_in)`, which keeps
//! activations of order one through deep ReLU stacks; biases are uniform in `±1/√fan_in`
//! (PyTorch's default bias range). Batch norms get random affine parameters *and* random
//! running statistics, so that BN is never an identity and folding it is really checked.

use crate::ops::Op;
use crate::tensor::{Rng, Tensor};

/// Random parameters for `op`, in [`Op::param_shapes`] order.
pub fn random_params(op: &Op, rng: &mut Rng) -> Vec<Tensor> {
    let fan_in = |s: &crate::Shape| s.per_sample().max(1) as f32;
    let shapes = op.param_shapes();
    let w_fan = shapes.first().map_or(1.0, |(_, s)| fan_in(s));
    shapes
        .into_iter()
        .map(|(name, s)| match (op, name) {
            (Op::BatchNorm2d(_), "weight") => Tensor::uniform(s, 0.5, 1.5, rng),
            (Op::BatchNorm2d(_), "bias") => Tensor::uniform(s, -0.2, 0.2, rng),
            (Op::BatchNorm2d(_), "running_mean") => Tensor::uniform(s, -0.2, 0.2, rng),
            (Op::BatchNorm2d(_), "running_var") => Tensor::uniform(s, 0.5, 1.5, rng),
            (_, "weight") => Tensor::normal(s, (2.0 / w_fan).sqrt(), rng),
            _ => {
                let b = 1.0 / w_fan.sqrt();
                Tensor::uniform(s, -b, b, rng)
            }
        })
        .collect()
}
