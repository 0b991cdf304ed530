//! How an op describes its GPU work without touching wgpu: which shader (and override
//! constants), which buffers in which binding order, the uniform bytes, and how many workgroups.
//! `runtime` turns a [`Dispatch`] into a pipeline, a bind group and a dispatch call.
//!
//! Binding convention (every shader): the storage bindings in the order of [`Dispatch::args`]
//! (inputs, then parameters, then the output, which is the only `read_write` one), then the
//! uniform. Parameters are split along their first dimension into buffers of at most
//! [`LaunchCtx::rows_per_chunk`] rows when a tensor exceeds the device's binding limit; an op
//! that sees several chunks issues one dispatch per chunk.

use crate::shape::Shape;
use std::ops::Range;

/// A WGSL compute shader, compiled into the binary.
#[derive(Debug)]
pub struct Shader {
    /// File name without extension (`conv2d_direct`).
    pub name: &'static str,
    /// The WGSL source: the file, followed by its shared parts.
    pub source: &'static str,
    /// Shared WGSL the source ends with (`shaders/common/<part>.wgsl`): declarations several
    /// shader files use (WGSL has no include; module-scope order does not matter).
    pub parts: &'static [&'static str],
    /// Number of storage bindings (the last one is the read-write output).
    pub storage_bindings: u32,
}

/// Declares a [`Shader`] from `shaders/<name>.wgsl`, optionally followed by shared parts
/// from `shaders/common/`.
#[macro_export]
macro_rules! shader {
    ($ident:ident, $name:literal, $bindings:expr $(, $part:literal)*) => {
        pub static $ident: $crate::ops::launch::Shader = $crate::ops::launch::Shader {
            name: $name,
            source: concat!(
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $name, ".wgsl")),
                $(include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/shaders/common/",
                    $part,
                    ".wgsl"
                )),)*
            ),
            parts: &[$($part),*],
            storage_bindings: $bindings,
        };
    };
}

/// One storage binding of a dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// The op's i-th input activation (the samples of the current batch chunk).
    Input(usize),
    /// Rows `rows` of the op's i-th (GPU-layout) parameter; must lie within one chunk.
    Param { index: usize, rows: Range<usize> },
    /// The op's output (the samples of the current batch chunk, all `out_c_total` channels).
    Output,
    /// A placeholder for an optional binding the shader will not read (e.g. no bias).
    Dummy,
    /// The runtime's i-th scratch buffer (i < 2; at least [`LaunchCtx::scratch_elems`]`[i]`
    /// f32), for intermediate matrices such as im2col; its contents do not outlive the op.
    Scratch(usize),
}

/// One compute dispatch, fully described.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub shader: &'static Shader,
    /// Pipeline-overridable constants (`override NAME: u32`), part of the pipeline's identity.
    pub overrides: Vec<(&'static str, u32)>,
    pub args: Vec<Arg>,
    /// Bytes of the uniform struct (a `#[repr(C)]` Pod mirror of the WGSL struct).
    pub uniform: Vec<u8>,
    /// Total workgroups; the runtime folds counts above 65,535 into a 2-D grid and shaders
    /// recover the linear index as `wid.x + wid.y * nwg.x` (and ignore the excess).
    pub workgroups: u32,
}

/// What an op needs to know to describe its dispatches for one batch chunk.
#[derive(Clone, Debug)]
pub struct LaunchCtx<'a> {
    /// Input shapes, with `n` = samples in this chunk.
    pub inputs: &'a [Shape],
    /// Output shape of this op, with `n` = samples in this chunk.
    pub output: Shape,
    /// Channels of the buffer the output is written into (≥ `output.c`; larger for concat).
    pub out_c_total: usize,
    /// First channel of this op's output in that buffer.
    pub out_c_offset: usize,
    /// Parameter rows per GPU buffer (`usize::MAX` when every parameter fits one binding).
    pub rows_per_chunk: usize,
    /// Capacity of the two scratch buffers in f32 elements (what
    /// [`crate::ops::Op::scratch_elems`] asked for, each capped at one binding); an op
    /// processes its work in pieces that fit.
    pub scratch_elems: [usize; 2],
}

impl LaunchCtx<'_> {
    /// Row ranges `[r0, r1)` covering `rows` rows in chunks of [`Self::rows_per_chunk`].
    pub fn row_chunks(&self, rows: usize) -> Vec<Range<usize>> {
        let step = self.rows_per_chunk.max(1);
        (0..rows)
            .step_by(step)
            .map(|r| r..(r + step).min(rows))
            .collect()
    }
}

/// Workgroups needed to cover `items` with `per_group` items each.
pub fn groups_for(items: usize, per_group: usize) -> u32 {
    u32::try_from(items.div_ceil(per_group)).unwrap_or(u32::MAX)
}

/// Activation fused into a kernel's epilogue. The numeric code is what shaders switch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Activation {
    #[default]
    None,
    Relu,
    Tanh,
    Sigmoid,
}

impl Activation {
    /// The shaders' `ACT` pipeline constant (must match `act()` in the shaders).
    pub const fn code(self) -> u32 {
        match self {
            Activation::None => 0,
            Activation::Relu => 1,
            Activation::Tanh => 2,
            Activation::Sigmoid => 3,
        }
    }

    /// The pipeline-constant override that selects this activation in a shader's `act()`.
    pub fn constant(self) -> (&'static str, u32) {
        ("ACT", self.code())
    }

    /// The CPU version of the activation.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Activation::None => x,
            Activation::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        }
    }
}
