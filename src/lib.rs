//! # deeper
//!
//! The classic convolutional networks on any GPU, from Rust: WGSL compute shaders run through
//! wgpu, and every layer has a plain CPU reference that checks it.
//!
//! Data flow: an [`ops::Op`] describes one layer (parameters, output shape, CPU reference and the
//! GPU dispatches it needs); [`runtime`] is the only module that talks to wgpu: it opens a
//! [`runtime::Gpu`], uploads tensors and weights (splitting anything larger than a storage
//! binding), compiles dispatches into bind groups and submits them.
//!
//! ```no_run
//! use deeper::{ops::{Op, Pool2d}, runtime::{Gpu, GpuOptions, run_op}, Shape, Tensor, Rng};
//! let gpu = Gpu::new(&GpuOptions::from_env())?;
//! let x = Tensor::uniform(Shape::new(1, 3, 8, 8), -1.0, 1.0, &mut Rng::new(7));
//! let op = Op::Pool2d(Pool2d::max(3, 2, 1));
//! let y = run_op(&gpu, &op, "pool", &[&x], &[])?;
//! assert_eq!(y.shape, Shape::new(1, 3, 4, 4));
//! # Ok::<(), deeper::Error>(())
//! ```

pub mod bench;
pub mod check;
pub mod compare;
pub mod cpu;
pub mod digits;
pub mod error;
pub mod graph;
pub mod labels;
pub mod models;
pub mod npy;
pub mod ops;
pub mod preprocess;
pub mod runtime;
pub mod shape;
pub mod tensor;

pub use error::{Error, Result};
pub use shape::{Shape, Window, Window2d};
pub use tensor::{Rng, Tensor};
