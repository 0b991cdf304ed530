//! # deeper
//!
//! The classic convolutional networks on any GPU, from Rust: WGSL compute shaders run through
//! wgpu, and every layer has a plain CPU reference that checks it.
//!
//! Data flow: [`models`] build a [`graph::Graph`] of layers (PyTorch key names, seeded random
//! weights, replaced by [`models::weights`]); [`graph::infer`] gives shapes and costs,
//! [`graph::fuse`] folds batch norms and residual adds, [`graph::plan`] assigns buffers;
//! [`runtime::Model`] compiles the graph for a device and runs a forward pass as one submission;
//! [`cpu`] runs the same graph with each op's CPU reference. An [`ops::Op`] describes one layer
//! (parameters, output shape, CPU reference, GPU dispatches); [`runtime`] is the only module that
//! talks to wgpu. [`ffi`] is the C ABI over the same steps (`include/deeper.h`, built as
//! `libdeeper.so`).
//!
//! ```no_run
//! use deeper::graph::fuse::fuse;
//! use deeper::models::{build, weights, ModelOptions};
//! use deeper::runtime::{Gpu, GpuOptions, Model};
//! use deeper::{labels, preprocess::Preprocess};
//! use std::path::Path;
//!
//! let gpu = Gpu::new(&GpuOptions::from_env())?;
//! let mut graph = build("resnet50", &ModelOptions::default())?;
//! let file = Path::new("resnet50.safetensors");
//! weights::load_file(&mut graph, file, false)?;
//! let (pre, _transform) = Preprocess::for_weights("resnet50", Some(file))?;
//! let x = pre.load(Path::new("cat.jpg"))?;
//! let model = Model::compile(&gpu, &fuse(&graph).graph, 1, true)?;
//! let logits = model.run(&x)?.remove(0);
//! for p in &labels::top_k(&logits, 5)[0] {
//!     println!("{:5.1}%  {}", p.prob * 100.0, p.label);
//! }
//! # Ok::<(), deeper::Error>(())
//! ```
//!
//! One op alone, through the same launch path:
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
pub mod ffi;
pub mod files;
pub mod graph;
pub mod labels;
pub mod limits;
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
