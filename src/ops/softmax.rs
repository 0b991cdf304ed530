//! Softmax over the channel axis (`torch.softmax(x, dim=1)`), computed stably as
//! `exp(x − max) / Σ exp(x − max)` for every `(n, h, w)`.
//!
//! Shapes: `[N, C, H, W]` → `[N, C, H, W]` (logits are `[N, classes, 1, 1]`).

use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use crate::shader;
use crate::tensor::Tensor;

shader!(SHADER, "softmax", 2);

/// Softmax over channels (no parameters).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Softmax;

/// Uniform of `softmax.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SoftmaxUniform {
    pub n: u32,
    pub c: u32,
    pub plane: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

/// CPU reference.
pub fn cpu(x: &Tensor) -> Tensor {
    let s = x.shape;
    let plane = s.h * s.w;
    let mut out = x.clone();
    for n in 0..s.n {
        for pix in 0..plane {
            let idx = |c: usize| (n * s.c + c) * plane + pix;
            let m = (0..s.c)
                .map(|c| x.data[idx(c)] as f64)
                .fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = (0..s.c).map(|c| (x.data[idx(c)] as f64 - m).exp()).sum();
            for c in 0..s.c {
                out.data[idx(c)] = ((x.data[idx(c)] as f64 - m).exp() / z) as f32;
            }
        }
    }
    out
}

pub(super) fn dispatches(ctx: &LaunchCtx) -> Vec<Dispatch> {
    let x = ctx.inputs[0];
    let uniform = SoftmaxUniform {
        n: x.n as u32,
        c: x.c as u32,
        plane: (x.h * x.w) as u32,
        out_c_total: ctx.out_c_total as u32,
        out_c_offset: ctx.out_c_offset as u32,
        ..Default::default()
    };
    vec![Dispatch {
        shader: &SHADER,
        overrides: Vec::new(),
        args: vec![Arg::Input(0), Arg::Output],
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(x.n * x.h * x.w, 1),
    }]
}
