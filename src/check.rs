//! GPU-versus-CPU checks of whole networks: the end-to-end comparison of the outputs
//! ([`check_network`], what `deeper` with no arguments runs for every network) and the
//! layer-by-layer comparison ([`check_layers`], `deeper check`), where every value of the fused
//! GPU graph is compared with the CPU value of the unfused graph it stands for. The GPU graph's
//! kernels are pinned by the tuning policy given ([`crate::bench::tuning`]).

use crate::bench::tuning::{tune, Tuning};
use crate::compare::{compare, Comparison, NET_TOLERANCE};
use crate::cpu;
use crate::error::Result;
use crate::graph::{fuse::fuse, infer, Graph};
use crate::runtime::{Gpu, Model};
use crate::shape::Shape;
use crate::tensor::{Rng, Tensor};
use std::time::Instant;

/// The outcome of one network's end-to-end check.
#[derive(Clone, Debug)]
pub struct NetworkCheck {
    pub params: u64,
    pub macs: u64,
    /// Wall-clock milliseconds of one GPU forward pass (input upload, run, readback), after a
    /// warm-up pass.
    pub gpu_ms: f64,
    /// Milliseconds of the first GPU pass (pipelines compiled and weights uploaded before it),
    /// tuning excluded.
    pub compile_ms: f64,
    /// Milliseconds spent timing kernels (0 when the cache or the rule had every choice).
    pub tune_ms: f64,
    pub cpu_ms: f64,
    /// Logits, GPU vs CPU.
    pub comparison: Comparison,
    pub peak_activation_bytes: u64,
}

/// A seeded random input batch for `graph` (uniform in [−1, 1)).
pub fn random_input(graph: &Graph, batch: usize, seed: u64) -> Tensor {
    Tensor::uniform(graph.input.with_n(batch), -1.0, 1.0, &mut Rng::new(seed))
}

/// Whether `graph`'s input at `batch` fits the host budget ([`crate::limits`]): checked before
/// [`random_input`] allocates it, so an absurd `--batch` × `--size` is an error naming both.
pub fn input_fits(graph: &Graph, batch: usize) -> Result<()> {
    let shape = graph.input.with_n(batch);
    shape.try_numel(&format!("input {shape} (--batch {batch})"))?;
    Ok(())
}

/// Runs `graph` on the GPU (fused, tuned as `tuning` says, planned) and on the CPU (as built)
/// and compares the logits.
pub fn check_network(
    gpu: &Gpu,
    graph: &Graph,
    input: &Tensor,
    tuning: Tuning,
) -> Result<NetworkCheck> {
    let summary = infer::summary(graph)?;
    let t0 = Instant::now();
    let mut fused = fuse(graph).graph;
    let tuned = tune(gpu, &mut fused, input.shape.n, tuning)?;
    let model = Model::compile(gpu, &fused, input.shape.n, true)?;
    model.run(input)?;
    let compile_ms = ms(t0) - tuned.tune_ms;
    let t1 = Instant::now();
    let got = model.run(input)?;
    let gpu_ms = ms(t1);
    let t2 = Instant::now();
    let want = cpu::run_outputs(graph, input)?;
    let cpu_ms = ms(t2);
    Ok(NetworkCheck {
        params: graph.param_count(),
        macs: summary.iter().map(|l| l.macs).sum(),
        gpu_ms,
        compile_ms,
        tune_ms: tuned.tune_ms,
        cpu_ms,
        comparison: compare(&got[0], &want[0], NET_TOLERANCE),
        peak_activation_bytes: model.plan.peak_bytes,
    })
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// One row of a layer-by-layer check.
#[derive(Clone, Debug)]
pub struct LayerCheck {
    /// The GPU layer (after fusion) and the CPU layer whose output it must equal.
    pub name: String,
    pub reference: String,
    pub kind: &'static str,
    pub shape: Shape,
    pub comparison: Comparison,
}

/// Compares every value the fused GPU graph (tuned as `tuning` says) computes with the CPU
/// value it stands for.
pub fn check_layers(
    gpu: &Gpu,
    graph: &Graph,
    input: &Tensor,
    tuning: Tuning,
) -> Result<Vec<LayerCheck>> {
    cpu::check_memory(graph, input.shape.n)?;
    let mut fused = fuse(graph);
    tune(gpu, &mut fused.graph, input.shape.n, tuning)?;
    let model = Model::compile(gpu, &fused.graph, input.shape.n, false)?;
    let mut ctx = model.context()?;
    ctx.forward(input)?;
    let want = cpu::run(graph, input)?;
    let mut rows = Vec::new();
    for (i, node) in fused.graph.nodes.iter().enumerate() {
        let origin = fused.origin[i + 1].0;
        let got = ctx.read_value(i + 1)?;
        let reference = graph
            .producer(fused.origin[i + 1])
            .map_or("input".into(), |n| n.name.clone());
        rows.push(LayerCheck {
            name: node.name.clone(),
            reference,
            kind: node.op.kind(),
            shape: got.shape,
            comparison: compare(&got, &want[origin], NET_TOLERANCE),
        });
    }
    Ok(rows)
}
