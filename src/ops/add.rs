//! Elementwise addition of two equal shapes with an optional activation: ResNet's
//! `relu(out + identity)` when the graph does not fuse it into the conv before.
//!
//! Shapes: `[N, C, H, W]` + `[N, C, H, W]` → `[N, C, H, W]`.

use super::launch::{groups_for, Activation, Arg, Dispatch, LaunchCtx};
use crate::error::{Error, Result};
use crate::shader;
use crate::shape::Shape;
use crate::tensor::Tensor;

shader!(SHADER, "add", 3, "act");

/// Parameters: the activation applied to the sum.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Add {
    pub activation: Activation,
}

/// Uniform of `add.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AddUniform {
    pub n: u32,
    pub c: u32,
    pub plane: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

pub(super) fn output_shape(layer: &str, inputs: &[Shape]) -> Result<Shape> {
    if inputs[0] != inputs[1] {
        return Err(Error::shape(
            layer,
            format!("cannot add {} and {}", inputs[0], inputs[1]),
        ));
    }
    Ok(inputs[0])
}

impl Add {
    /// CPU reference.
    pub fn cpu(&self, a: &Tensor, b: &Tensor) -> Tensor {
        let data = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| self.activation.apply(*x as f64 + *y as f64) as f32)
            .collect();
        Tensor {
            shape: a.shape,
            data,
        }
    }

    pub(super) fn dispatches(&self, ctx: &LaunchCtx) -> Vec<Dispatch> {
        let x = ctx.inputs[0];
        let uniform = AddUniform {
            n: x.n as u32,
            c: x.c as u32,
            plane: (x.h * x.w) as u32,
            out_c_total: ctx.out_c_total as u32,
            out_c_offset: ctx.out_c_offset as u32,
            ..Default::default()
        };
        vec![Dispatch {
            shader: &SHADER,
            overrides: vec![self.activation.constant()],
            args: vec![Arg::Input(0), Arg::Input(1), Arg::Output],
            uniform: bytemuck::bytes_of(&uniform).to_vec(),
            workgroups: groups_for(x.numel(), 64),
        }]
    }
}
