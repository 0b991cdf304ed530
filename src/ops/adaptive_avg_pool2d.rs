//! Adaptive average pooling (`torch.nn.AdaptiveAvgPool2d`): output size fixed, window of
//! output index i spans `[floor(i·H/OH), ceil((i+1)·H/OH))` (see [`crate::shape::adaptive_range`]).
//! Global average pooling is the `(1, 1)` case.
//!
//! Shapes: input `[N, C, H, W]` → output `[N, C, OH, OW]`.
//! Definition: <https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html>

use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use crate::error::{Error, Result};
use crate::shader;
use crate::shape::{adaptive_range, Shape};
use crate::tensor::Tensor;

shader!(SHADER, "adaptive_avg_pool2d", 2);

/// Parameters: the output size.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveAvgPool2d {
    pub out_h: usize,
    pub out_w: usize,
}

/// Uniform of `adaptive_avg_pool2d.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AdaptiveUniform {
    pub n: u32,
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub oh: u32,
    pub ow: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
}

impl AdaptiveAvgPool2d {
    /// Global average pooling (output 1×1).
    pub fn global() -> Self {
        AdaptiveAvgPool2d { out_h: 1, out_w: 1 }
    }

    pub(super) fn output_shape(&self, layer: &str, x: Shape) -> Result<Shape> {
        if self.out_h == 0 || self.out_w == 0 || x.h == 0 || x.w == 0 {
            return Err(Error::shape(
                layer,
                format!("cannot pool {x} to {}x{}", self.out_h, self.out_w),
            ));
        }
        Ok(Shape::new(x.n, x.c, self.out_h, self.out_w))
    }

    /// CPU reference.
    pub fn cpu(&self, x: &Tensor, out: Shape) -> Tensor {
        let mut data = Vec::with_capacity(out.numel());
        for n in 0..out.n {
            for c in 0..out.c {
                for oy in 0..out.h {
                    let (y0, y1) = adaptive_range(oy, x.shape.h, out.h);
                    for ox in 0..out.w {
                        let (x0, x1) = adaptive_range(ox, x.shape.w, out.w);
                        let mut s = 0f64;
                        for iy in y0..y1 {
                            for ix in x0..x1 {
                                s += x.at(n, c, iy, ix) as f64;
                            }
                        }
                        data.push((s / ((y1 - y0) * (x1 - x0)) as f64) as f32);
                    }
                }
            }
        }
        Tensor { shape: out, data }
    }
}

pub(super) fn dispatches(ctx: &LaunchCtx) -> Vec<Dispatch> {
    let (x, o) = (ctx.inputs[0], ctx.output);
    let u = |v: usize| v as u32;
    let uniform = AdaptiveUniform {
        n: u(x.n),
        c: u(x.c),
        h: u(x.h),
        w: u(x.w),
        oh: u(o.h),
        ow: u(o.w),
        out_c_total: u(ctx.out_c_total),
        out_c_offset: u(ctx.out_c_offset),
    };
    vec![Dispatch {
        shader: &SHADER,
        overrides: Vec::new(),
        args: vec![Arg::Input(0), Arg::Output],
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(o.numel(), 64),
    }]
}
