//! Fully connected layer (`torch.nn.Linear`): `y[n, o] = Σ_i x[n, i]·W[o, i] + b[o]`, PyTorch's
//! `[out, in]` weight layout, optional bias and fused activation. The input must be flattened
//! (`[N, in, 1, 1]`). A weight larger than one GPU binding (VGG's fc6 is 411 MB) is split by
//! output rows and run chunk by chunk, each chunk writing its columns of the output.
//!
//! Five kernels: `linear_subgroup` (lanes over output rows, the input shared by subgroup
//! broadcasts), `linear_gemv` (a subgroup per row reading it as consecutive vec4 and summing
//! with subgroupAdd: the bandwidth-bound GEMV for GPUs at batch ≤ 8) and `linear_vec4` (a
//! workgroup per 4 rows, reduced in workgroup memory) when `in` is a multiple of 4 — every
//! classic network's layers — and `linear` for any `in`; and the convolutions' workgroup-tiled
//! GEMM (`conv2d_tiled`, the layer as a 1x1 convolution over `N` one-pixel images: the GEMM
//! for GPUs at larger batches, where each weight row serves many samples).
//! [`Linear::resolve`] picks one per device and batch; tests force each.
//!
//! Shapes: input `[N, in, 1, 1]`, weight `[out, in]`, bias `[out]` → `[N, out, 1, 1]`.
//! Definition: <https://pytorch.org/docs/stable/generated/torch.nn.Linear.html>

use super::conv2d::{Conv2d, ConvKernel};
use super::conv2d_tiled as tiled;
use super::launch::{groups_for, Activation, Arg, Dispatch, LaunchCtx};
use super::DeviceCaps;
use crate::error::{Error, Result};
use crate::shader;
use crate::shape::Shape;
use crate::tensor::Tensor;
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::Range;

shader!(SHADER, "linear", 4, "act");
shader!(VEC4, "linear_vec4", 4, "act");
shader!(SUBGROUP, "linear_subgroup", 4, "act");
shader!(GEMV, "linear_gemv", 4, "act");

/// Which fully connected kernel to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum LinearKernel {
    /// Let the selection rule decide.
    #[default]
    Auto,
    Scalar,
    Vec4,
    /// Needs subgroups of at least 8 invocations.
    Subgroup,
    /// Needs subgroups; for GPUs at small batches ([`GEMV_MAX_BATCH`]).
    Gemv,
    /// The workgroup-tiled GEMM of the convolutions; for GPUs at larger batches.
    Tiled,
}

impl LinearKernel {
    /// Every concrete kernel (all but `Auto`), the usually fastest first: the autotuner's
    /// candidates in the order it times them, and what the tests run on every shape.
    pub const ALL: [LinearKernel; 5] = [
        LinearKernel::Subgroup,
        LinearKernel::Gemv,
        LinearKernel::Tiled,
        LinearKernel::Vec4,
        LinearKernel::Scalar,
    ];
}

/// Largest batch the rule runs on [`LinearKernel::Gemv`] on a GPU (and its samples per
/// workgroup: each weight row is read once per this many samples).
pub const GEMV_MAX_BATCH: usize = 8;
/// Output rows per workgroup of `linear_gemv.wgsl` (`ROWS`).
const GEMV_ROWS: usize = 8;

/// Samples handled together by one workgroup of `linear.wgsl` (each weight row is read once
/// per block of this many samples).
pub const BATCH_BLOCK: usize = 4;

/// Parameters of a fully connected layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    pub in_features: usize,
    pub out_features: usize,
    pub bias: bool,
    pub activation: Activation,
    pub kernel: LinearKernel,
}

/// Uniform of `linear.wgsl`, `linear_vec4.wgsl` and `linear_subgroup.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LinearUniform {
    pub n: u32,
    pub in_f: u32,
    /// Output rows in this dispatch (a chunk of the weight).
    pub rows: u32,
    /// First output feature of the chunk.
    pub row_base: u32,
    pub has_bias: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
}

impl Linear {
    /// A linear layer with bias and no activation.
    pub fn new(in_features: usize, out_features: usize) -> Self {
        Linear {
            in_features,
            out_features,
            bias: true,
            activation: Activation::None,
            kernel: LinearKernel::Auto,
        }
    }

    /// The kernel this layer runs with on a device with `caps` at `batch` samples: the forced
    /// one when it can run there, else the rule's. On a GPU-type adapter above
    /// [`GEMV_MAX_BATCH`] samples the tiled GEMM (each weight row is reused by the whole batch,
    /// so arithmetic is the limit); otherwise, when `in` is a multiple of 4, at batch ≤
    /// [`GEMV_MAX_BATCH`] on a GPU-type adapter with subgroups the GEMV (the weights are streamed
    /// once, so bandwidth is the limit), else subgroup, then vec4; `linear` for any other `in`.
    /// (llvmpipe, a CPU-type adapter, keeps subgroup at every batch.)
    pub fn resolve(&self, caps: &DeviceCaps, batch: usize) -> LinearKernel {
        use LinearKernel::*;
        let vec4 = self.in_features.is_multiple_of(4);
        let gemv = caps.is_gpu() && batch <= GEMV_MAX_BATCH;
        let tiled = tiled::fits(caps);
        match self.kernel {
            Tiled if tiled => Tiled,
            Auto if tiled && caps.is_gpu() && batch > GEMV_MAX_BATCH => Tiled,
            _ if !vec4 => Scalar,
            Auto if caps.subgroups && gemv => Gemv,
            Gemv if caps.subgroups => Gemv,
            Auto | Subgroup | Gemv | Tiled if caps.subgroups => Subgroup,
            Auto | Subgroup | Gemv | Tiled => Vec4,
            forced => forced,
        }
    }

    /// Parameters in the layout of the chosen kernel (resolved): the tiled GEMM's rows padded
    /// to its reduction step, the others' as given.
    pub fn gpu_params<'a>(&self, params: &'a [Tensor]) -> Vec<Cow<'a, Tensor>> {
        let mut v: Vec<Cow<Tensor>> = params.iter().map(Cow::Borrowed).collect();
        if self.kernel == LinearKernel::Tiled {
            if let Some(w) = tiled::pad_rows(&params[0]) {
                v[0] = Cow::Owned(w);
            }
        }
        v
    }

    /// f32 elements of the two scratch buffers the (resolved) kernel would like for `out`: the
    /// tiled GEMM's split-K partial sums.
    pub fn scratch_elems(&self, out: Shape) -> [usize; 2] {
        match self.kernel {
            LinearKernel::Tiled => tiled::scratch_elems(&self.as_conv(self.out_features), out),
            _ => [0, 0],
        }
    }

    /// Output features `rows` as the tiled GEMM's 1x1 convolution.
    fn as_conv(&self, rows: usize) -> Conv2d {
        Conv2d {
            bias: self.bias,
            activation: self.activation,
            kernel: ConvKernel::Tiled,
            ..Conv2d::new(self.in_features, rows, 1, 1, 0)
        }
    }

    /// `weight` `[out, in]` and (if any) `bias` `[out]`.
    pub fn param_shapes(&self) -> Vec<(&'static str, Shape)> {
        let mut v = vec![("weight", Shape::matrix(self.out_features, self.in_features))];
        if self.bias {
            v.push(("bias", Shape::vector(self.out_features)));
        }
        v
    }

    pub(super) fn output_shape(&self, layer: &str, x: Shape) -> Result<Shape> {
        if x.c != self.in_features || x.h != 1 || x.w != 1 {
            return Err(Error::shape(
                layer,
                format!(
                    "expects a flattened [N, {}, 1, 1] input, got {x}",
                    self.in_features
                ),
            ));
        }
        Ok(Shape::matrix(x.n, self.out_features))
    }

    /// CPU reference.
    pub fn cpu(&self, x: &Tensor, params: &[Tensor], out: Shape) -> Tensor {
        let (w, inf) = (&params[0], self.in_features);
        let mut data = vec![0f32; out.numel()];
        data.par_chunks_mut(self.out_features)
            .enumerate()
            .for_each(|(n, row)| {
                let xs = &x.data[n * inf..(n + 1) * inf];
                for (o, dst) in row.iter_mut().enumerate() {
                    let ws = &w.data[o * inf..(o + 1) * inf];
                    let dot: f64 = xs.iter().zip(ws).map(|(a, b)| *a as f64 * *b as f64).sum();
                    let b = if self.bias {
                        params[1].data[o] as f64
                    } else {
                        0.0
                    };
                    *dst = self.activation.apply(dot + b) as f32;
                }
            });
        Tensor { shape: out, data }
    }

    pub(super) fn dispatches(&self, ctx: &LaunchCtx) -> Vec<Dispatch> {
        let n = ctx.inputs[0].n;
        let chunks = ctx.row_chunks(self.out_features).into_iter();
        if self.kernel == LinearKernel::Tiled {
            let chunk =
                |rows: Range<usize>| tiled::rows_dispatches(&self.as_conv(rows.len()), ctx, rows);
            return chunks.flat_map(chunk).collect();
        }
        chunks
            .map(|rows| {
                let uniform = LinearUniform {
                    n: n as u32,
                    in_f: self.in_features as u32,
                    rows: rows.len() as u32,
                    row_base: rows.start as u32,
                    has_bias: u32::from(self.bias),
                    out_c_total: ctx.out_c_total as u32,
                    out_c_offset: ctx.out_c_offset as u32,
                    _pad0: 0,
                };
                let bias = if self.bias {
                    Arg::Param {
                        index: 1,
                        rows: rows.clone(),
                    }
                } else {
                    Arg::Dummy
                };
                let (shader, mut overrides, rows_per_group, samples) = match self.kernel {
                    LinearKernel::Subgroup => {
                        let nb = if n == 1 { 1 } else { BATCH_BLOCK };
                        (&SUBGROUP, vec![("NB", nb as u32)], 128, nb)
                    }
                    LinearKernel::Gemv => {
                        let nb = n.min(GEMV_MAX_BATCH);
                        (&GEMV, vec![("NB", nb as u32)], GEMV_ROWS, nb)
                    }
                    LinearKernel::Vec4 => (&VEC4, Vec::new(), 4, BATCH_BLOCK),
                    _ => (&SHADER, Vec::new(), 1, BATCH_BLOCK),
                };
                overrides.push(self.activation.constant());
                Dispatch {
                    shader,
                    overrides,
                    args: vec![
                        Arg::Input(0),
                        Arg::Param {
                            index: 0,
                            rows: rows.clone(),
                        },
                        bias,
                        Arg::Output,
                    ],
                    uniform: bytemuck::bytes_of(&uniform).to_vec(),
                    workgroups: groups_for(
                        rows.len().div_ceil(rows_per_group) * n.div_ceil(samples),
                        1,
                    ),
                }
            })
            .collect()
    }
}
