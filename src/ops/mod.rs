//! The layer ops. Each op lives in one file with its parameters (PyTorch names), output shape
//! (through [`crate::shape`]), CPU reference and GPU launch description; [`Op`] is the closed
//! set of them and the only place where ops are dispatched.
//!
//! Parameter convention: every parameter's first dimension is the op's output-feature axis
//! (conv `[C_out, C_in/groups, kH, kW]`, linear `[out, in]`, biases and BN vectors `[C]`), so
//! a tensor too large for one GPU binding is split along it and the op runs chunk by chunk.

pub mod adaptive_avg_pool2d;
pub mod add;
pub mod batch_norm;
pub mod concat;
pub mod conv2d;
pub mod conv2d_direct;
pub mod conv2d_mm;
pub mod conv2d_subgroup;
pub mod conv2d_tiled;
pub mod conv2d_tiled_sum;
pub mod conv2d_winograd;
pub mod conv2d_winograd_tiled;
pub mod launch;
pub mod linear;
pub mod lrn;
pub mod pool2d;
pub mod softmax;

pub use adaptive_avg_pool2d::AdaptiveAvgPool2d;
pub use add::Add;
pub use batch_norm::BatchNorm2d;
pub use concat::Concat;
pub use conv2d::{Conv2d, ConvKernel};
pub use launch::{Activation, Arg, Dispatch, LaunchCtx, Shader};
pub use linear::{Linear, LinearKernel};
pub use lrn::Lrn;
pub use pool2d::{Pool2d, PoolKind};
pub use softmax::Softmax;

use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::borrow::Cow;

/// Smallest subgroup the subgroup kernels run on: they share 8 channels' weights through the
/// lanes of one subgroup.
pub const MIN_SUBGROUP_SIZE: u32 = 8;

/// What the device offers that decides which kernels can run and which the rule picks (the
/// runtime fills it in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceCaps {
    /// Largest storage binding in bytes.
    pub max_binding: u64,
    /// Subgroup operations with subgroups of at least [`MIN_SUBGROUP_SIZE`] invocations.
    pub subgroups: bool,
    /// The adapter's kind: a CPU (llvmpipe) or a GPU.
    pub kind: DeviceKind,
    /// The smallest subgroup size the adapter reports (0 where `subgroups` is false).
    pub subgroup_size: u32,
    /// Workgroup memory in bytes (`max_compute_workgroup_storage_size`).
    pub max_workgroup_storage: u32,
}

/// The kind of adapter, as the driver reports it: it decides the selection rules, as a CPU in
/// disguise wants other kernels than a GPU (`../shared/GPU-H200.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// A software rasteriser on the CPU (llvmpipe, SwiftShader).
    Cpu,
    IntegratedGpu,
    DiscreteGpu,
    /// A virtual GPU or a kind the driver does not say: treated as a GPU.
    Other,
}

impl DeviceCaps {
    /// Whether the adapter is anything but a CPU: the GPU rules apply.
    pub fn is_gpu(&self) -> bool {
        self.kind != DeviceKind::Cpu
    }
}

/// Every layer kind `deeper` can run.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Conv2d(Conv2d),
    Pool2d(Pool2d),
    AdaptiveAvgPool2d(AdaptiveAvgPool2d),
    Concat(Concat),
    Lrn(Lrn),
    BatchNorm2d(BatchNorm2d),
    Add(Add),
    Linear(Linear),
    Softmax(Softmax),
    /// `[N, C, H, W]` → `[N, C·H·W, 1, 1]`: a view, no kernel and no copy.
    Flatten,
}

impl Op {
    /// Short kind name (`conv2d`, `max_pool2d`, …) for tables and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Conv2d(_) => "conv2d",
            Op::Pool2d(p) => match p.kind {
                PoolKind::Max => "max_pool2d",
                PoolKind::Avg => "avg_pool2d",
            },
            Op::AdaptiveAvgPool2d(_) => "adaptive_avg_pool2d",
            Op::Concat(_) => "concat",
            Op::Lrn(_) => "lrn",
            Op::BatchNorm2d(_) => "batch_norm2d",
            Op::Add(_) => "add",
            Op::Linear(_) => "linear",
            Op::Softmax(_) => "softmax",
            Op::Flatten => "flatten",
        }
    }

    /// Output shape for `inputs`; errors name `layer`.
    pub fn output_shape(&self, layer: &str, inputs: &[Shape]) -> Result<Shape> {
        let want = self.input_count(inputs.len());
        if inputs.len() != want {
            return Err(Error::shape(
                layer,
                format!(
                    "{} takes {want} input(s), got {}",
                    self.kind(),
                    inputs.len()
                ),
            ));
        }
        match self {
            Op::Conv2d(o) => o.output_shape(layer, inputs),
            Op::Pool2d(o) => o.output_shape(layer, inputs[0]),
            Op::AdaptiveAvgPool2d(o) => o.output_shape(layer, inputs[0]),
            Op::Concat(o) => o.output_shape(layer, inputs),
            Op::Lrn(o) => o.output_shape(layer, inputs[0]),
            Op::BatchNorm2d(o) => o.output_shape(layer, inputs[0]),
            Op::Add(_) => add::output_shape(layer, inputs),
            Op::Linear(o) => o.output_shape(layer, inputs[0]),
            Op::Softmax(_) => Ok(inputs[0]),
            Op::Flatten => Ok(Shape::matrix(inputs[0].n, inputs[0].per_sample())),
        }
    }

    /// How many inputs the op takes when given `given` (concat takes any number ≥ 1).
    fn input_count(&self, given: usize) -> usize {
        match self {
            Op::Concat(_) => given.max(1),
            Op::Add(_) => 2,
            Op::Conv2d(c) => 1 + usize::from(c.residual),
            _ => 1,
        }
    }

    /// The parameters the op needs, as `(name suffix, shape)`, in the order the CPU reference
    /// and [`Op::gpu_params`] take them (PyTorch `state_dict` suffixes: `weight`, `bias`,
    /// `running_mean`, `running_var`).
    pub fn param_shapes(&self) -> Vec<(&'static str, Shape)> {
        match self {
            Op::Conv2d(o) => o.param_shapes(),
            Op::BatchNorm2d(o) => o.param_shapes(),
            Op::Linear(o) => o.param_shapes(),
            _ => Vec::new(),
        }
    }

    /// Multiply-accumulates for one forward pass producing `out`.
    pub fn macs(&self, out: Shape) -> u64 {
        match self {
            Op::Conv2d(o) => o.macs(out),
            Op::Linear(o) => (out.n * o.in_features * o.out_features) as u64,
            _ => 0,
        }
    }

    /// The CPU reference: `params` as listed by [`Op::param_shapes`].
    pub fn cpu(&self, inputs: &[&Tensor], params: &[Tensor], out: Shape) -> Tensor {
        match self {
            Op::Conv2d(o) => o.cpu(inputs, params, out),
            Op::Pool2d(o) => o.cpu(inputs[0], out),
            Op::AdaptiveAvgPool2d(o) => o.cpu(inputs[0], out),
            Op::Concat(_) => concat::cpu(inputs, out),
            Op::Lrn(o) => o.cpu(inputs[0]),
            Op::BatchNorm2d(o) => o.cpu(inputs[0], params),
            Op::Add(o) => o.cpu(inputs[0], inputs[1]),
            Op::Linear(o) => o.cpu(inputs[0], params, out),
            Op::Softmax(_) => softmax::cpu(inputs[0]),
            Op::Flatten => Tensor {
                shape: out,
                data: inputs[0].data.clone(),
            },
        }
    }

    /// The op with every choice the device decides made: a convolution's `Auto` kernel becomes
    /// a concrete one for a device with `caps` and output shape `out`. GPU code runs resolved
    /// ops only.
    pub fn resolved(&self, caps: &DeviceCaps, out: Shape) -> Op {
        match self {
            Op::Conv2d(c) => Op::Conv2d(Conv2d {
                kernel: c.resolve(caps, out),
                ..c.clone()
            }),
            Op::Linear(l) => Op::Linear(Linear {
                kernel: l.resolve(caps, out.n),
                ..l.clone()
            }),
            other => other.clone(),
        }
    }

    /// f32 elements of the two scratch buffers the (resolved) op would like, producing `out`.
    pub fn scratch_elems(&self, out: Shape) -> [usize; 2] {
        match self {
            Op::Conv2d(c) => c.scratch_elems(out),
            Op::Linear(l) => l.scratch_elems(out),
            _ => [0, 0],
        }
    }

    /// Parameters in the layout the (resolved) GPU kernels read, computed once at load time;
    /// those already in it are borrowed (VGG's fc6 weight alone is 411 MB).
    pub fn gpu_params<'a>(&self, params: &'a [Tensor]) -> Vec<Cow<'a, Tensor>> {
        match self {
            Op::BatchNorm2d(o) => o.gpu_params(params).into_iter().map(Cow::Owned).collect(),
            Op::Conv2d(o) => o.gpu_params(params),
            Op::Linear(o) => o.gpu_params(params),
            _ => params.iter().map(Cow::Borrowed).collect(),
        }
    }

    /// Parameter chunks must hold a multiple of this many rows (whole conv groups when there
    /// are several; a single-group conv may be split at any output channel).
    pub fn row_multiple(&self) -> usize {
        match self {
            Op::Conv2d(o) if o.groups > 1 => o.out_channels / o.groups,
            _ => 1,
        }
    }

    /// `true` for ops that are views of their input on the GPU (no kernel, no buffer).
    pub fn is_view(&self) -> bool {
        matches!(self, Op::Flatten)
    }

    /// The GPU dispatches for one batch chunk.
    pub fn dispatches(&self, ctx: &LaunchCtx) -> Vec<Dispatch> {
        match self {
            Op::Conv2d(o) => o.dispatches(ctx),
            Op::Pool2d(o) => o.dispatches(ctx),
            Op::AdaptiveAvgPool2d(_) => adaptive_avg_pool2d::dispatches(ctx),
            Op::Concat(_) => concat::dispatches(ctx),
            Op::Lrn(o) => o.dispatches(ctx),
            Op::BatchNorm2d(o) => o.dispatches(ctx),
            Op::Add(o) => o.dispatches(ctx),
            Op::Linear(o) => o.dispatches(ctx),
            Op::Softmax(_) => softmax::dispatches(ctx),
            Op::Flatten => Vec::new(),
        }
    }

    /// Every shader the ops use (for validation tests and pipeline warm-up).
    pub fn all_shaders() -> Vec<&'static Shader> {
        vec![
            &conv2d_direct::DIRECT,
            &conv2d_tiled::SHADER,
            &conv2d_tiled_sum::SHADER,
            &conv2d_mm::IM2COL,
            &conv2d_mm::MM,
            &conv2d_subgroup::SHADER,
            &conv2d_subgroup::SHADER_V4,
            &conv2d_subgroup::WINDOW,
            &conv2d_subgroup::WINDOW_V4,
            &conv2d_winograd::INPUT,
            &conv2d_winograd::OUTPUT,
            &conv2d_winograd::OUTPUT_V4,
            &pool2d::SHADER,
            &adaptive_avg_pool2d::SHADER,
            &concat::SHADER,
            &lrn::SHADER,
            &batch_norm::SHADER,
            &add::SHADER,
            &linear::SHADER,
            &linear::VEC4,
            &linear::SUBGROUP,
            &linear::GEMV,
            &softmax::SHADER,
        ]
    }
}
