//! The second pass of [`super::conv2d_tiled`]'s split-K (`conv2d_tiled_sum.wgsl`): the first
//! pass leaves `split` partial sums per output, each over one slice of the reduction, in
//! scratch 0; this one adds them in slice order (deterministic: no atomics) and applies the
//! epilogue (bias, residual, activation), writing the op's output.
//!
//! Shapes: partial `[split][C][N·OH·OW]`, bias `[C]`, residual `[N, C, OH, OW]` → output
//! `[N, out_c_total, OH, OW]` from channel `out_c_offset` (`C` = `c.out_channels`: the layer's,
//! or a fully connected chunk's).

use super::conv2d::Conv2d;
use super::launch::{groups_for, Arg, Dispatch};
use crate::shader;
use crate::shape::Shape;

shader!(SHADER, "conv2d_tiled_sum", 4, "act");

/// Invocations per workgroup of the shader (one per output).
const WG: usize = 256;

/// Uniform of `conv2d_tiled_sum.wgsl` (mirrors `struct Params`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SumUniform {
    pub split: u32,
    pub c: u32,
    /// Output pixels of the batch chunk, `N·OH·OW`.
    pub qdim: u32,
    pub plane: u32,
    pub has_bias: u32,
    pub has_residual: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
}

/// Adds `split` slices of `c`'s partial sums for output `out` (the batch chunk) into the
/// output from channel `offset` of `out_c_total`, with the epilogue bindings `[bias, residual]`.
pub fn dispatch(
    c: &Conv2d,
    out: Shape,
    split: usize,
    [bias, residual]: [Arg; 2],
    [out_c_total, offset]: [usize; 2],
) -> Dispatch {
    let u = |v: usize| v as u32;
    let plane = out.h * out.w;
    let uniform = SumUniform {
        split: u(split),
        c: u(c.out_channels),
        qdim: u(out.n * plane),
        plane: u(plane),
        has_bias: u(usize::from(c.bias)),
        has_residual: u(usize::from(c.residual)),
        out_c_total: u(out_c_total),
        out_c_offset: u(offset),
    };
    Dispatch {
        shader: &SHADER,
        overrides: vec![c.activation.constant()],
        args: vec![Arg::Scratch(0), bias, residual, Arg::Output],
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(c.out_channels * out.n * plane, WG),
    }
}
