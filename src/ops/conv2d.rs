//! 2-D convolution (`torch.nn.Conv2d`): kernel size, stride, padding (asymmetric allowed),
//! dilation, groups, optional bias, a fused activation and an optional fused residual input
//! added before the activation (ResNet's `relu(conv(x) + identity)`).
//!
//! Shapes: input `[N, C_in, H, W]`, weight `[C_out, C_in/groups, kH, kW]`, bias `[C_out]`,
//! residual `[N, C_out, OH, OW]`, output `[N, C_out, OH, OW]`.
//! Definition: <https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html>
//!
//! Six kernels, each in its own file and listed once in [`KERNELS`] (whether it runs a layer
//! on a device, its weight repack, its scratch and its dispatches): `conv2d_direct` (one
//! invocation per output, for small, odd or grouped layers, [`super::conv2d_direct`]), the
//! workgroup-tiled implicit GEMM of [`super::conv2d_tiled`] (discrete GPUs), the im2col +
//! register-blocked product of [`super::conv2d_mm`], a product with weights shared by
//! subgroup broadcasts that gathers the im2col rows itself, [`super::conv2d_subgroup`], and
//! Winograd F(4x4, 3x3) / F(2x2, 5x5) on top of that product, [`super::conv2d_winograd`], or
//! on the tiled one, [`super::conv2d_winograd_tiled`]. [`Conv2d::resolve`] turns [`ConvKernel::Auto`] into one of them for a given device; tests
//! force each.

use super::launch::{Activation, Arg, Dispatch, LaunchCtx};
use super::DeviceCaps;
use super::{
    conv2d_direct, conv2d_mm, conv2d_subgroup, conv2d_tiled, conv2d_winograd, conv2d_winograd_tiled,
};
use crate::error::{Error, Result};
use crate::shape::{Shape, Window2d};
use crate::tensor::Tensor;
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::Range;

/// Which convolution kernel to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ConvKernel {
    /// Let the selection rule decide.
    #[default]
    Auto,
    Direct,
    /// Workgroup-tiled implicit GEMM ([`super::conv2d_tiled`]).
    Tiled,
    /// im2col + register-blocked matrix product ([`super::conv2d_mm`]).
    Mm,
    /// Implicit-im2col matrix product with weights shared by subgroup broadcasts
    /// ([`super::conv2d_subgroup`]); needs subgroups of at least 8 invocations.
    Subgroup,
    /// Winograd F(4x4, 3x3) or F(2x2, 5x5) ([`super::conv2d_winograd`]): 3x3 or 5x5, stride 1,
    /// dilation 1, one group; needs subgroups.
    Winograd,
    /// The same Winograd transforms with the products on the tiled kernel
    /// ([`super::conv2d_winograd_tiled`]): the GPU form; needs no subgroups.
    WinogradTiled,
}

/// What [`Conv2d`] needs from one kernel file. A new kernel is a variant of [`ConvKernel`],
/// its own files and one entry in [`KERNELS`].
pub struct KernelEntry {
    pub kernel: ConvKernel,
    /// Whether the kernel computes this layer on a device with these caps (else the rule
    /// decides).
    pub runs: fn(&Conv2d, &DeviceCaps) -> bool,
    /// The weight in the kernel's layout, computed once at load; `None`: PyTorch's.
    pub repack: Option<fn(&Conv2d, &Tensor) -> Tensor>,
    /// f32 elements of the two scratch buffers it would like for an output shape.
    pub scratch_elems: fn(&Conv2d, Shape) -> [usize; 2],
    pub dispatches: fn(&Conv2d, &LaunchCtx) -> Vec<Dispatch>,
}

fn always(_: &Conv2d, _: &DeviceCaps) -> bool {
    true
}

fn no_scratch(_: &Conv2d, _: Shape) -> [usize; 2] {
    [0, 0]
}

/// Every concrete kernel, the usually fastest first (on llvmpipe): the autotuner's
/// candidates in the order it times them, and what the tests run on every shape.
pub const KERNELS: [KernelEntry; 6] = [
    KernelEntry {
        kernel: ConvKernel::Winograd,
        runs: |c, caps| {
            !c.folded_bn && conv2d_winograd::applies(c) && conv2d_winograd::fits(c, caps)
        },
        repack: Some(conv2d_winograd::repack),
        scratch_elems: conv2d_winograd::scratch_elems,
        dispatches: conv2d_winograd::dispatches,
    },
    KernelEntry {
        kernel: ConvKernel::Subgroup,
        runs: |c, caps| caps.subgroups && conv2d_subgroup::repacked_bytes(c) <= caps.max_binding,
        repack: Some(conv2d_subgroup::repack),
        scratch_elems: no_scratch,
        dispatches: conv2d_subgroup::dispatches,
    },
    KernelEntry {
        kernel: ConvKernel::Mm,
        runs: conv2d_mm::runs,
        repack: Some(conv2d_mm::repack),
        scratch_elems: conv2d_mm::scratch_elems,
        dispatches: conv2d_mm::dispatches,
    },
    KernelEntry {
        kernel: ConvKernel::WinogradTiled,
        runs: conv2d_winograd_tiled::runs,
        repack: Some(conv2d_winograd_tiled::repack),
        scratch_elems: conv2d_winograd::scratch_elems,
        dispatches: conv2d_winograd_tiled::dispatches,
    },
    KernelEntry {
        kernel: ConvKernel::Tiled,
        runs: conv2d_tiled::runs,
        repack: Some(conv2d_tiled::repack),
        scratch_elems: conv2d_tiled::scratch_elems,
        dispatches: conv2d_tiled::dispatches,
    },
    KernelEntry {
        kernel: ConvKernel::Direct,
        runs: always,
        repack: None,
        scratch_elems: no_scratch,
        dispatches: conv2d_direct::dispatches,
    },
];

impl ConvKernel {
    /// Every concrete kernel (all but `Auto`), in the order of [`KERNELS`].
    pub const ALL: [ConvKernel; KERNELS.len()] = {
        let mut all = [ConvKernel::Auto; KERNELS.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = KERNELS[i].kernel;
            i += 1;
        }
        all
    };

    /// This kernel's entry in [`KERNELS`] (`None` for `Auto`).
    pub fn entry(self) -> Option<&'static KernelEntry> {
        KERNELS.iter().find(|e| e.kernel == self)
    }
}

/// Parameters of a convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d {
    pub in_channels: usize,
    pub out_channels: usize,
    pub window: Window2d,
    pub groups: usize,
    pub bias: bool,
    pub activation: Activation,
    /// A second input of the output's shape is added before the activation.
    pub residual: bool,
    /// The weights carry a folded batch norm ([`crate::graph::fuse`]). Calibrated BN stacks
    /// amplify rounding, and Winograd's transforms round more than a direct sum: measured on
    /// VGG-16-bn (224, batch 2) every such layer on Winograd put the logits 2.25x further from
    /// float64 than PyTorch f32's, so these layers never run it (neither by rule nor tuned).
    pub folded_bn: bool,
    pub kernel: ConvKernel,
}

impl Conv2d {
    /// A square-kernel convolution with bias and no activation (PyTorch's defaults).
    pub fn new(cin: usize, cout: usize, kernel: usize, stride: usize, pad: usize) -> Self {
        Conv2d {
            in_channels: cin,
            out_channels: cout,
            window: Window2d::square(kernel, stride, pad),
            groups: 1,
            bias: true,
            activation: Activation::None,
            residual: false,
            folded_bn: false,
            kernel: ConvKernel::Auto,
        }
    }

    /// The same convolution with activation `act`.
    pub fn with_activation(mut self, act: Activation) -> Self {
        self.activation = act;
        self
    }

    /// The same convolution with dilation `d` on both axes.
    pub fn dilated(mut self, d: usize) -> Self {
        self.window = self.window.dilated(d);
        self
    }

    /// The weight and (if any) bias shapes.
    pub fn param_shapes(&self) -> Vec<(&'static str, Shape)> {
        let w = Shape::new(
            self.out_channels,
            self.in_channels / self.groups.max(1),
            self.window.h.kernel,
            self.window.w.kernel,
        );
        let mut v = vec![("weight", w)];
        if self.bias {
            v.push(("bias", Shape::vector(self.out_channels)));
        }
        v
    }

    pub(super) fn output_shape(&self, layer: &str, inputs: &[Shape]) -> Result<Shape> {
        let x = inputs[0];
        if self.groups == 0
            || !self.in_channels.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
        {
            return Err(Error::params(
                layer,
                format!(
                    "groups {} must divide in_channels {} and out_channels {}",
                    self.groups, self.in_channels, self.out_channels
                ),
            ));
        }
        if x.c != self.in_channels {
            return Err(Error::shape(
                layer,
                format!("expects {} input channels, got input {x}", self.in_channels),
            ));
        }
        let (oh, ow) = self.window.output_hw(layer, x.h, x.w)?;
        let out = Shape::new(x.n, self.out_channels, oh, ow);
        if self.residual && inputs[1] != out {
            return Err(Error::shape(
                layer,
                format!("residual input {} must match output {out}", inputs[1]),
            ));
        }
        Ok(out)
    }

    /// Reduction length per output: `C_in/groups · kH · kW`.
    pub fn kdim(&self) -> usize {
        self.in_channels / self.groups * self.window.h.kernel * self.window.w.kernel
    }

    /// Multiply-accumulates producing `out`.
    pub fn macs(&self, out: Shape) -> u64 {
        (out.numel() * self.kdim()) as u64
    }

    /// CPU reference, straight from the definition with f64 accumulation:
    /// `out[n, oc, oy, ox] = bias[oc] + Σ_{ci, ky, kx} x[n, g·cin_g + ci, iy, ix] · w[oc, ci, ky, kx]`
    /// with `iy = oy·sh + ky·dh − ph`, `ix = ox·sw + kx·dw − pw`, terms outside the input being
    /// zero padding. The sum is walked tap by tap over a whole output plane (the same terms in
    /// another order) so that the reference stays fast enough for full-size networks.
    pub fn cpu(&self, inputs: &[&Tensor], params: &[Tensor], out: Shape) -> Tensor {
        let (x, wt) = (inputs[0], &params[0]);
        let cin_g = self.in_channels / self.groups;
        let cout_g = self.out_channels / self.groups;
        let plane = out.h * out.w;
        let mut data = vec![0f32; out.numel()];
        data.par_chunks_mut(plane).enumerate().for_each(|(i, dst)| {
            let (n, oc) = (i / out.c, i % out.c);
            let b0 = if self.bias {
                params[1].data[oc] as f64
            } else {
                0.0
            };
            let mut acc = vec![b0; plane];
            for ci in 0..cin_g {
                let c = oc / cout_g * cin_g + ci;
                let xs = &x.data[x.shape.index(n, c, 0, 0)..][..x.shape.h * x.shape.w];
                for ky in 0..self.window.h.kernel {
                    for kx in 0..self.window.w.kernel {
                        let w = wt.at(oc, ci, ky, kx) as f64;
                        self.add_tap(&mut acc, xs, x.shape, out, (ky, kx), w);
                    }
                }
            }
            for (j, (d, a)) in dst.iter_mut().zip(&acc).enumerate() {
                let r = if self.residual {
                    inputs[1].data[i * plane + j] as f64
                } else {
                    0.0
                };
                *d = self.activation.apply(a + r) as f32;
            }
        });
        Tensor { shape: out, data }
    }

    /// `acc[oy, ox] += w · x[iy, ix]` for one kernel tap over every output position whose input
    /// position lies inside the image.
    fn add_tap(
        &self,
        acc: &mut [f64],
        xs: &[f32],
        x: Shape,
        out: Shape,
        (ky, kx): (usize, usize),
        w: f64,
    ) {
        let (wh, ww) = (self.window.h, self.window.w);
        for oy in 0..out.h {
            let iy = (oy * wh.stride + ky * wh.dilation) as isize - wh.pad_before as isize;
            if iy < 0 || iy >= x.h as isize {
                continue;
            }
            let row = &xs[iy as usize * x.w..][..x.w];
            let dst = &mut acc[oy * out.w..][..out.w];
            for (ox, a) in dst.iter_mut().enumerate() {
                let ix = (ox * ww.stride + kx * ww.dilation) as isize - ww.pad_before as isize;
                if ix >= 0 && ix < x.w as isize {
                    *a += row[ix as usize] as f64 * w;
                }
            }
        }
    }

    /// The kernel this layer runs with on a device with `caps` for output `out`: the forced
    /// one when it runs there ([`KernelEntry::runs`]), else the selection rule's.
    pub fn resolve(&self, caps: &DeviceCaps, out: Shape) -> ConvKernel {
        match self.kernel.entry() {
            Some(e) if (e.runs)(self, caps) => self.kernel,
            _ => self.rule(caps, out),
        }
    }

    /// The selection rule (the autotuner refines it per device). Winograd F(4x4, 3x3) for 3x3
    /// stride-1 layers whose channels and plane are big enough ([`conv2d_winograd::pays`]) and
    /// that carry no folded BN: on a GPU-type adapter with its products on the tiled kernel,
    /// elsewhere on the subgroup one where the device has subgroups. Else every layer with at least 16 output channels
    /// per group and a reduction of at least 16 (all the big layers of the classic networks)
    /// runs a matrix product: on a GPU-type adapter the workgroup-tiled one (any plane, 7x7
    /// included); on a CPU-type adapter such as llvmpipe, where registers and subgroup
    /// broadcasts win, the subgroup one where the device has subgroups and the layer at least
    /// 32 channels per group, else im2col + product. Direct otherwise (small, depthwise, or too
    /// wide to repack into one binding).
    fn rule(&self, caps: &DeviceCaps, out: Shape) -> ConvKernel {
        let runs = |k: ConvKernel| k.entry().is_some_and(|e| (e.runs)(self, caps));
        let cout_g = self.out_channels / self.groups;
        let big = cout_g >= 16 && self.kdim() >= 16;
        let pays = conv2d_winograd::pays(self, out);
        if pays && caps.is_gpu() && runs(ConvKernel::WinogradTiled) {
            ConvKernel::WinogradTiled
        } else if pays && runs(ConvKernel::Winograd) {
            ConvKernel::Winograd
        } else if big && caps.is_gpu() && runs(ConvKernel::Tiled) {
            ConvKernel::Tiled
        } else if big && cout_g >= 32 && runs(ConvKernel::Subgroup) {
            ConvKernel::Subgroup
        } else if big && runs(ConvKernel::Mm) {
            ConvKernel::Mm
        } else {
            ConvKernel::Direct
        }
    }

    /// Parameters in the layout of the chosen kernel (resolved): its repacked weight, if any.
    pub fn gpu_params<'a>(&self, params: &'a [Tensor]) -> Vec<Cow<'a, Tensor>> {
        let mut v: Vec<Cow<Tensor>> = params.iter().map(Cow::Borrowed).collect();
        if let Some(repack) = self.kernel.entry().and_then(|e| e.repack) {
            v[0] = Cow::Owned(repack(self, &params[0]));
        }
        v
    }

    /// f32 elements of the two scratch buffers the (resolved) kernel would like for `out`.
    pub fn scratch_elems(&self, out: Shape) -> [usize; 2] {
        self.kernel
            .entry()
            .map_or([0, 0], |e| (e.scratch_elems)(self, out))
    }

    /// The fused epilogue's bindings, shared by every kernel: the bias (rows `bias_rows` of
    /// parameter 1) and the residual (input 1), each a dummy where the layer has none.
    pub(super) fn epilogue_args(&self, bias_rows: Range<usize>) -> [Arg; 2] {
        let bias = if self.bias {
            Arg::Param {
                index: 1,
                rows: bias_rows,
            }
        } else {
            Arg::Dummy
        };
        let residual = if self.residual {
            Arg::Input(1)
        } else {
            Arg::Dummy
        };
        [bias, residual]
    }

    /// The dispatches of the (resolved) kernel; `Auto` runs the direct one.
    pub(super) fn dispatches(&self, ctx: &LaunchCtx) -> Vec<Dispatch> {
        let e = self.kernel.entry().unwrap_or(&KERNELS[KERNELS.len() - 1]);
        (e.dispatches)(self, ctx)
    }
}
