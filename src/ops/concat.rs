//! Concatenation along channels (`torch.cat(xs, dim=1)`) of any number of inputs, done as
//! channel-offset writes: input i is copied into channels `[Σ_{j<i} C_j, Σ_{j≤i} C_j)` of the
//! output. The graph's fusion pass goes further and lets each producer write its slice itself.
//!
//! Shapes: inputs `[N, C_i, H, W]` → output `[N, Σ C_i, H, W]`.

use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use crate::error::{Error, Result};
use crate::shader;
use crate::shape::Shape;
use crate::tensor::Tensor;

shader!(SHADER, "concat", 2);

/// Concatenation along the channel axis (no parameters).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Concat;

/// Uniform of `concat.wgsl` (one dispatch per input).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConcatUniform {
    pub n: u32,
    pub c: u32,
    /// `H·W`.
    pub plane: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

impl Concat {
    pub(super) fn output_shape(&self, layer: &str, inputs: &[Shape]) -> Result<Shape> {
        let first = inputs[0];
        for s in inputs {
            if (s.n, s.h, s.w) != (first.n, first.h, first.w) {
                return Err(Error::shape(
                    layer,
                    format!("inputs {first} and {s} differ outside the channel axis"),
                ));
            }
        }
        let c = inputs.iter().map(|s| s.c).sum();
        Ok(Shape::new(first.n, c, first.h, first.w))
    }
}

/// CPU reference.
pub fn cpu(inputs: &[&Tensor], out: Shape) -> Tensor {
    let mut data = Vec::with_capacity(out.numel());
    for n in 0..out.n {
        for x in inputs {
            let per = x.shape.per_sample();
            data.extend_from_slice(&x.data[n * per..(n + 1) * per]);
        }
    }
    Tensor { shape: out, data }
}

pub(super) fn dispatches(ctx: &LaunchCtx) -> Vec<Dispatch> {
    let mut offset = ctx.out_c_offset;
    let mut v = Vec::new();
    for (i, x) in ctx.inputs.iter().enumerate() {
        let uniform = ConcatUniform {
            n: x.n as u32,
            c: x.c as u32,
            plane: (x.h * x.w) as u32,
            out_c_total: ctx.out_c_total as u32,
            out_c_offset: offset as u32,
            ..Default::default()
        };
        offset += x.c;
        v.push(Dispatch {
            shader: &SHADER,
            overrides: Vec::new(),
            args: vec![Arg::Input(i), Arg::Output],
            uniform: bytemuck::bytes_of(&uniform).to_vec(),
            workgroups: groups_for(x.numel(), 64),
        });
    }
    v
}
