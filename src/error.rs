//! The crate's one error type. Every fallible public function returns [`Result`]; nothing in
//! the library panics on bad input. Messages are one line and name what is wrong (the layer,
//! the weight key, the device limit) so the CLI can print them as they are.

use thiserror::Error;

/// Everything that can go wrong in `deeper`.
#[derive(Debug, Error)]
pub enum Error {
    /// No GPU adapter matched the request (or none exists).
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("could not create a GPU device: {0}")]
    Device(String),
    /// wgpu reported a validation or out-of-memory error (captured with an error scope).
    #[error("GPU error in {context}: {message}")]
    Gpu { context: String, message: String },
    /// The GPU device is gone (destroyed, reset, removed, driver crash): every later call on
    /// it fails with this; open a new [`crate::runtime::Gpu`] to continue.
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    /// A wait for the GPU (or for a free execution context) ran past its limit
    /// ([`crate::runtime::GpuOptions::timeout`]).
    #[error("timed out after {ms} ms waiting for {what}")]
    Timeout { what: String, ms: u128 },
    /// A tensor shape does not fit the layer that receives it.
    #[error("shape error in layer '{layer}': {message}")]
    Shape { layer: String, message: String },
    /// A layer's parameters are invalid (zero stride, channels not divisible by groups, …).
    #[error("invalid parameters for layer '{layer}': {message}")]
    Params { layer: String, message: String },
    /// A weight the network needs is not in the weight file.
    #[error("missing weight '{key}' (layer '{layer}')")]
    MissingWeight { key: String, layer: String },
    /// A weight is present but has the wrong shape.
    #[error("weight '{key}' has shape {found:?}, expected {expected:?}")]
    WeightShape {
        key: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    /// The work needs more than the device allows, and cannot be split to fit.
    #[error("device limit '{limit}' is {value}, but {what} needs {needed}")]
    Limit {
        limit: &'static str,
        value: u64,
        needed: u64,
        what: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Anything else the caller asked for that cannot be done (unknown network name, …).
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A shape error for `layer`.
    pub fn shape(layer: &str, message: impl Into<String>) -> Self {
        Error::Shape {
            layer: layer.to_string(),
            message: message.into(),
        }
    }

    /// A parameter error for `layer`.
    pub fn params(layer: &str, message: impl Into<String>) -> Self {
        Error::Params {
            layer: layer.to_string(),
            message: message.into(),
        }
    }
}
