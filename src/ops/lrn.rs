//! Local response normalisation across channels (`torch.nn.LocalResponseNorm`):
//! `b_c = a_c / (k + α/n · Σ_{c'} a_{c'}²)^β`, the sum over `c' ∈ [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋]`
//! clipped to the valid channels. PyTorch divides α by `n`; the AlexNet paper does not (its
//! α = 1e-4 is PyTorch's 5e-4 at n = 5, see REFERENCE.md).
//!
//! Shapes: `[N, C, H, W]` → `[N, C, H, W]`.
//! Definition: <https://pytorch.org/docs/stable/generated/torch.nn.LocalResponseNorm.html>

use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use crate::error::{Error, Result};
use crate::shader;
use crate::shape::Shape;
use crate::tensor::Tensor;

shader!(SHADER, "lrn", 2);

/// Parameters in PyTorch's form.
#[derive(Clone, Debug, PartialEq)]
pub struct Lrn {
    pub size: usize,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
}

/// Uniform of `lrn.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LrnUniform {
    pub n: u32,
    pub c: u32,
    pub plane: u32,
    pub size: u32,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

impl Lrn {
    pub(super) fn output_shape(&self, layer: &str, x: Shape) -> Result<Shape> {
        if self.size == 0 {
            return Err(Error::params(layer, "LRN size must be positive"));
        }
        Ok(x)
    }

    /// CPU reference.
    pub fn cpu(&self, x: &Tensor) -> Tensor {
        let s = x.shape;
        let mut out = Tensor::zeros(s);
        for (i, dst) in out.data.iter_mut().enumerate() {
            let (n, c, h, w) = s.unravel(i);
            let lo = c.saturating_sub(self.size / 2);
            let hi = (c + (self.size - 1) / 2).min(s.c - 1);
            let sq: f64 = (lo..=hi).map(|cc| (x.at(n, cc, h, w) as f64).powi(2)).sum();
            let div = self.k as f64 + self.alpha as f64 / self.size as f64 * sq;
            *dst = (x.data[i] as f64 / div.powf(self.beta as f64)) as f32;
        }
        out
    }

    pub(super) fn dispatches(&self, ctx: &LaunchCtx) -> Vec<Dispatch> {
        let x = ctx.inputs[0];
        let uniform = LrnUniform {
            n: x.n as u32,
            c: x.c as u32,
            plane: (x.h * x.w) as u32,
            size: self.size as u32,
            alpha: self.alpha,
            beta: self.beta,
            k: self.k,
            out_c_total: ctx.out_c_total as u32,
            out_c_offset: ctx.out_c_offset as u32,
            ..Default::default()
        };
        vec![Dispatch {
            shader: &SHADER,
            overrides: Vec::new(),
            args: vec![Arg::Input(0), Arg::Output],
            uniform: bytemuck::bytes_of(&uniform).to_vec(),
            workgroups: groups_for(x.numel(), 64),
        }]
    }
}
