//! Throughput of one model shared by several callers (`deeper bench NET --threads N`): the
//! images per second of one thread calling [`Model::run`] back to back, beside those of `N`
//! threads calling it at once on the same model (each call on its own execution context, so
//! uploads, passes and readbacks of different calls can overlap on the device).

use super::network::tune;
use super::BenchOptions;
use crate::check::random_input;
use crate::error::Result;
use crate::graph::fuse::fuse;
use crate::models::{self, ModelOptions};
use crate::runtime::{CompileOptions, Gpu, Model, DEFAULT_MAX_CONTEXTS};
use crate::tensor::Tensor;
use serde::Serialize;
use std::time::Instant;

/// Callers on one model and what they achieved.
#[derive(Clone, Debug, Serialize)]
pub struct Callers {
    pub threads: usize,
    /// Forward passes in all (`runs` per thread).
    pub runs: usize,
    pub seconds: f64,
    pub images_per_s: f64,
    /// Mean wall clock of one call, as its caller saw it.
    pub ms_per_run: f64,
}

/// One model, one caller beside `threads` callers; serialises to `deeper bench --threads
/// --json`.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub network: String,
    pub batch: usize,
    pub size: usize,
    pub device: String,
    /// Execution contexts the model made (at most max(threads, the default bound)).
    pub contexts: usize,
    /// Device bytes of the weights, shared by every context.
    pub weight_bytes: u64,
    /// Device bytes of one execution context (activations, scratch, staging).
    pub context_bytes: u64,
    pub one: Callers,
    pub many: Callers,
}

/// Compiles network `name` once (random weights, autotuned when `opts` says so) and times
/// `opts.runs` calls per thread, first from one thread, then from `threads` at once.
pub fn throughput(
    gpu: &Gpu,
    name: &str,
    batch: usize,
    size: Option<usize>,
    threads: usize,
    opts: &BenchOptions,
) -> Result<Throughput> {
    let graph = models::build(
        name,
        &ModelOptions {
            size,
            ..Default::default()
        },
    )?;
    let mut fused = fuse(&graph);
    tune(gpu, &mut fused.graph, batch, opts)?;
    let compile = CompileOptions {
        max_contexts: threads.max(DEFAULT_MAX_CONTEXTS),
        ..Default::default()
    };
    let model = Model::compile_with(gpu, &fused.graph, batch, &compile)?;
    let inputs: Vec<Tensor> = (0..threads)
        .map(|t| random_input(&graph, batch, t as u64 + 1))
        .collect();
    let runs = opts.runs.max(1);
    // Warm up: every context made, every pipeline compiled.
    callers(&model, &inputs, 1)?;
    let one = callers(&model, &inputs[..1], runs)?;
    let many = callers(&model, &inputs, runs)?;
    Ok(Throughput {
        network: name.to_string(),
        batch,
        size: graph.input.h,
        device: gpu.description(),
        contexts: model.contexts(),
        weight_bytes: model.weight_bytes(),
        context_bytes: model.context_bytes(),
        one,
        many,
    })
}

/// One thread per input, each running `model` `runs` times on it.
fn callers(model: &Model, inputs: &[Tensor], runs: usize) -> Result<Callers> {
    let t = Instant::now();
    let per_thread: Vec<Result<f64>> = std::thread::scope(|s| {
        let workers: Vec<_> = inputs
            .iter()
            .map(|x| {
                s.spawn(move || {
                    let mut ms = 0.0;
                    for _ in 0..runs {
                        let t = Instant::now();
                        model.run(x)?;
                        ms += t.elapsed().as_secs_f64() * 1e3;
                    }
                    Ok(ms)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a bench thread panicked"))
            .collect()
    });
    let seconds = t.elapsed().as_secs_f64();
    let total_ms = per_thread.into_iter().sum::<Result<f64>>()?;
    let all = runs * inputs.len();
    Ok(Callers {
        threads: inputs.len(),
        runs: all,
        seconds,
        images_per_s: (all * model.batch) as f64 / seconds.max(1e-9),
        ms_per_run: total_ms / all as f64,
    })
}
