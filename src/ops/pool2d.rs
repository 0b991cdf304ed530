//! Max and average pooling (`torch.nn.MaxPool2d`, `torch.nn.AvgPool2d`): kernel, stride,
//! padding, dilation (max only, as in PyTorch), `ceil_mode` with PyTorch's "last window starts
//! inside" rule (in [`crate::shape::Window`]), and `count_include_pad` for average pooling.
//!
//! Shapes: input `[N, C, H, W]` → output `[N, C, OH, OW]`.
//! Definitions: <https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html>,
//! <https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html>. The average divisor is
//! ATen's: the window clipped to the padded input when padding counts, else to the input.

use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use crate::error::{Error, Result};
use crate::shader;
use crate::shape::{Shape, Window, Window2d};
use crate::tensor::Tensor;
use rayon::prelude::*;

shader!(SHADER, "pool2d", 2);

/// Max or average.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Max,
    Avg,
}

/// Parameters of a pooling layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool2d {
    pub kind: PoolKind,
    pub window: Window2d,
    /// Average pooling only: padded zeros count in the divisor (PyTorch's default `true`).
    pub count_include_pad: bool,
}

/// Uniform of `pool2d.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PoolUniform {
    pub n: u32,
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub oh: u32,
    pub ow: u32,
    pub kh: u32,
    pub kw: u32,
    pub sh: u32,
    pub sw: u32,
    pub ph: u32,
    pub pw: u32,
    pub dh: u32,
    pub dw: u32,
    /// `H + pad_after` and `W + pad_after`: where the padded input ends.
    pub h_end: u32,
    pub w_end: u32,
    pub count_include_pad: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
}

/// Window bounds of output index `o` on one axis: `(start, end, padded_len)` where the window
/// is clipped to the input and `padded_len` is its length clipped only to the padded input.
fn bounds(win: &Window, o: usize, input: usize) -> (usize, usize, usize) {
    let start = (o * win.stride) as isize - win.pad_before as isize;
    let end_padded = (start + win.span() as isize).min((input + win.pad_after) as isize);
    let padded = (end_padded - start) as usize;
    (
        start.max(0) as usize,
        end_padded.min(input as isize) as usize,
        padded,
    )
}

impl Pool2d {
    /// Max pooling with a square window.
    pub fn max(kernel: usize, stride: usize, pad: usize) -> Self {
        Pool2d {
            kind: PoolKind::Max,
            window: Window2d::square(kernel, stride, pad),
            count_include_pad: true,
        }
    }

    /// Average pooling with a square window (`count_include_pad = true`, as in PyTorch).
    pub fn avg(kernel: usize, stride: usize, pad: usize) -> Self {
        Pool2d {
            kind: PoolKind::Avg,
            ..Pool2d::max(kernel, stride, pad)
        }
    }

    /// The same pooling with `ceil_mode = true`.
    pub fn ceil(mut self) -> Self {
        self.window = self.window.ceil();
        self
    }

    pub(super) fn output_shape(&self, layer: &str, x: Shape) -> Result<Shape> {
        for w in [self.window.h, self.window.w] {
            if w.pad_before > w.kernel / 2 || w.pad_after > w.kernel / 2 {
                return Err(Error::params(
                    layer,
                    "padding must be at most half the kernel size (as in PyTorch)",
                ));
            }
        }
        if self.kind == PoolKind::Avg && (self.window.h.dilation, self.window.w.dilation) != (1, 1)
        {
            return Err(Error::params(layer, "average pooling has no dilation"));
        }
        let (oh, ow) = self.window.output_hw(layer, x.h, x.w)?;
        Ok(Shape::new(x.n, x.c, oh, ow))
    }

    /// CPU reference.
    pub fn cpu(&self, x: &Tensor, out: Shape) -> Tensor {
        let plane = out.h * out.w;
        let mut data = vec![0f32; out.numel()];
        data.par_chunks_mut(plane).enumerate().for_each(|(i, dst)| {
            let (n, c) = (i / out.c, i % out.c);
            for oy in 0..out.h {
                for ox in 0..out.w {
                    dst[oy * out.w + ox] = self.window_value(x, n, c, oy, ox);
                }
            }
        });
        Tensor { shape: out, data }
    }

    fn window_value(&self, x: &Tensor, n: usize, c: usize, oy: usize, ox: usize) -> f32 {
        let (wh, ww) = (&self.window.h, &self.window.w);
        let (y0, y1, ph) = bounds(wh, oy, x.shape.h);
        let (x0, x1, pw) = bounds(ww, ox, x.shape.w);
        match self.kind {
            PoolKind::Max => {
                let mut m = f32::NEG_INFINITY;
                let ys = (0..wh.kernel).map(|k| (oy * wh.stride + k * wh.dilation) as isize);
                for iy in ys.map(|v| v - wh.pad_before as isize) {
                    for kx in 0..ww.kernel {
                        let ix =
                            (ox * ww.stride + kx * ww.dilation) as isize - ww.pad_before as isize;
                        let inside = (0..x.shape.h as isize).contains(&iy)
                            && (0..x.shape.w as isize).contains(&ix);
                        let v = if inside {
                            x.at(n, c, iy as usize, ix as usize)
                        } else {
                            m
                        };
                        if v > m || v.is_nan() {
                            m = v; // NaN propagates, as in PyTorch
                        }
                    }
                }
                m
            }
            PoolKind::Avg => {
                let mut s = 0f64;
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        s += x.at(n, c, iy, ix) as f64;
                    }
                }
                let count = if self.count_include_pad {
                    ph * pw
                } else {
                    (y1 - y0) * (x1 - x0)
                };
                (s / count as f64) as f32
            }
        }
    }

    /// pool2d.wgsl's path: 1 and 2 for 3-wide max windows (kw 3, dw 1) at stride 1 and 2,
    /// whose 4 outputs share their row's loads; 0 for any other max window; 3 for average.
    fn mode(&self) -> u32 {
        let w = self.window.w;
        match self.kind {
            PoolKind::Avg => 3,
            PoolKind::Max if w.kernel == 3 && w.dilation == 1 && matches!(w.stride, 1 | 2) => {
                w.stride as u32
            }
            PoolKind::Max => 0,
        }
    }

    pub(super) fn dispatches(&self, ctx: &LaunchCtx) -> Vec<Dispatch> {
        let (x, o, w) = (ctx.inputs[0], ctx.output, self.window);
        let u = |v: usize| v as u32;
        let uniform = PoolUniform {
            n: u(x.n),
            c: u(x.c),
            h: u(x.h),
            w: u(x.w),
            oh: u(o.h),
            ow: u(o.w),
            kh: u(w.h.kernel),
            kw: u(w.w.kernel),
            sh: u(w.h.stride),
            sw: u(w.w.stride),
            ph: u(w.h.pad_before),
            pw: u(w.w.pad_before),
            dh: u(w.h.dilation),
            dw: u(w.w.dilation),
            h_end: u(x.h + w.h.pad_after),
            w_end: u(x.w + w.w.pad_after),
            count_include_pad: u(usize::from(self.count_include_pad)),
            out_c_total: u(ctx.out_c_total),
            out_c_offset: u(ctx.out_c_offset),
            ..Default::default()
        };
        vec![Dispatch {
            shader: &SHADER,
            overrides: vec![("MODE", self.mode())],
            args: vec![Arg::Input(0), Arg::Output],
            uniform: bytemuck::bytes_of(&uniform).to_vec(),
            workgroups: groups_for(o.n * o.c * o.h * o.w.div_ceil(4), 64),
        }]
    }
}
