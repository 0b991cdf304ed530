//! LeNet-5, modern form (REFERENCE.md A.1): 1×32×32 → conv 6@5×5, tanh, avg-pool 2/2 →
//! conv 16@5×5, tanh, avg-pool 2/2 → fc 120, tanh → fc 84, tanh → fc 10. 61,706 parameters.
//! Weight keys: `conv1`, `conv2`, `fc1`, `fc2`, `fc3` (`.weight`, `.bias`).

use super::BuildArgs;
use crate::error::Result;
use crate::graph::{Graph, GraphBuilder};
use crate::ops::{Activation::Tanh, Pool2d};

pub(crate) fn lenet5(o: &BuildArgs) -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("lenet5", 1, o.size, o.size, o.seed);
    let x = b.conv("conv1", x, 1, 6, 5, 1, 0, Tanh);
    let x = b.pool("pool1", x, Pool2d::avg(2, 2, 0));
    let x = b.conv("conv2", x, 6, 16, 5, 1, 0, Tanh);
    let x = b.pool("pool2", x, Pool2d::avg(2, 2, 0));
    let s = o.size.saturating_sub(12) / 4;
    let x = b.flatten("flatten", x);
    let x = b.linear("fc1", x, 16 * s * s, 120, Tanh);
    let x = b.linear("fc2", x, 120, 84, Tanh);
    let x = b.linear("fc3", x, 84, o.classes, Default::default());
    b.finish(&[x])
}
