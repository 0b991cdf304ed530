//! # deeper
//!
//! The classic convolutional networks on any GPU, from Rust: WGSL compute shaders run through
//! wgpu, and every layer has a plain CPU reference that checks it.
//!
//! Data flow: [`models`] build a [`graph::Graph`] of layers (PyTorch key names, seeded random
//! weights, replaced by [`models::weights`]); [`graph::infer`] gives shapes and costs,
//! [`graph::fuse`] folds batch norms and residual adds, [`bench::tuning::tune_graph`] pins each
//! convolution's and linear layer's fastest kernel for the device (cached autotuner choices;
//! timed on first use on a GPU; the selection rule on a CPU adapter or with
//! `DEEPER_AUTOTUNE=0`), [`graph::plan`] assigns buffers;
//! [`runtime::Model`] compiles the graph for a device and runs a forward pass as one submission;
//! [`cpu`] runs the same graph with each op's CPU reference. An [`ops::Op`] describes one layer
//! (parameters, output shape, CPU reference, GPU dispatches); [`runtime`] is the only module that
//! talks to wgpu. [`ffi`] is the C ABI over the same steps (`include/deeper.h`, built as
//! `libdeeper.so`).
//!
//! ```no_run
//! use deeper::bench::tuning::{tune_graph, Tuning};
//! use deeper::graph::fuse::fuse;
//! use deeper::models::{build, weights, ModelOptions};
//! use deeper::runtime::{Gpu, GpuOptions, Model};
//! use deeper::labels;
//! use deeper::preprocess::{transform_input, Preprocess};
//! use std::path::Path;
//!
//! let gpu = Gpu::new(&GpuOptions::from_env()?)?;
//! let mut graph = build("resnet50", &ModelOptions::default())?;
//! let file = Path::new("resnet50.safetensors");
//! weights::load_file(&mut graph, file, false)?;
//! // The file's preprocessing, and whether it asks for GoogLeNet's transform_input.
//! let (pre, transform) = Preprocess::for_weights("resnet50", Some(file))?;
//! let mut x = pre.load(Path::new("cat.jpg"))?;
//! if transform {
//!     transform_input(&mut x)?;
//! }
//! let tuned = tune_graph(&gpu, fuse(&graph).graph, 1, Tuning::from_env()?)?;
//! let model = Model::compile(&gpu, &tuned, 1, true)?;
//! let logits = model.run(&x)?.remove(0);
//! for p in &labels::top_k(&logits, 5)[0] {
//!     println!("{:5.1}%  {}", p.prob * 100.0, p.label);
//! }
//! # Ok::<(), deeper::Error>(())
//! ```
//!
//! Threads: a [`runtime::Gpu`] and a [`runtime::Model`] are `Send + Sync`; [`runtime::Model::run`]
//! may be called from many threads at once on one model (each call takes an execution context
//! of its own from the model's pool: weights shared, activations not) and returns exactly what
//! a lone call returns. Every wait for the device is bounded ([`runtime::GpuOptions::timeout`]);
//! a lost device is [`Error::DeviceLost`], a wait too long [`Error::Timeout`].
//!
//! One op alone, through the same launch path:
//!
//! ```no_run
//! use deeper::{ops::{Op, Pool2d}, runtime::{Gpu, GpuOptions, run_op}, Shape, Tensor, Rng};
//! let gpu = Gpu::new(&GpuOptions::from_env()?)?;
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
pub mod ffi;
pub mod files;
pub mod graph;
pub mod labels;
pub mod limits;
pub mod load;
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

/// The README, whose `rust` blocks `cargo test --doc` compiles: its example stays valid as
/// pasted.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
