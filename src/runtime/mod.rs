//! The only code that calls wgpu. [`Gpu`] owns the adapter, device, queue, the limits in force
//! and the pipeline cache; [`buffers`] uploads, allocates and reads back; [`exec`] turns an op's
//! [`crate::ops::Dispatch`]es into bind groups and dispatches (splitting batches and weights
//! that exceed a binding) and runs them; [`profile`] times them layer by layer.
//!
//! Validation errors are captured with error scopes and an uncaptured-error handler that
//! records instead of panicking, and come back as [`crate::Error::Gpu`].

pub mod buffers;
mod context;
pub mod exec;
mod execution;
pub mod grid;
pub mod model;
mod pipelines;
pub mod profile;

pub use buffers::{ActBuf, ParamSet};
pub use context::{
    list_adapters, AdapterSummary, Gpu, GpuOptions, DEFAULT_TIMEOUT, SOFTWARE_TIMEOUT,
};
pub use exec::{run_op, Step, StepInfo};
pub use execution::Context;
pub use model::{CompileOptions, Model, DEFAULT_MAX_CONTEXTS};
pub use profile::{LayerTime, Profile, Timing};
