//! One network benchmarked: built, fused and compiled once (the cold start: graph, compile and
//! the first forward pass, wall clock), then profiled layer by layer and timed end to end
//! `runs` times; medians reported.

use super::autotune::{Choice, Kernel};
use super::tuning::{Tuned, Tuning};
use super::{end_to_end_ms, measure, BenchOptions, LayerRow, Peak};
use crate::check::random_input;
use crate::error::Result;
use crate::graph::fuse::fuse;
use crate::models::{self, ModelOptions};
use crate::runtime::{Gpu, Model};
use serde::Serialize;
use std::time::Instant;

/// A network's benchmark; serialises to the `deeper bench --json` document.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkBench {
    pub network: String,
    pub batch: usize,
    /// Input height and width.
    pub size: usize,
    pub device: String,
    /// `"timestamps"` or `"wall-clock"`.
    pub timing: &'static str,
    /// Why wall clock was used, when it was not asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing_note: Option<String>,
    pub runs: usize,
    /// Median wall clock of input upload + forward pass + readback.
    pub end_to_end_ms: f64,
    /// The fastest and slowest of those runs.
    pub end_to_end_ms_range: [f64; 2],
    /// Median of the summed per-layer GPU times.
    pub gpu_ms: f64,
    /// The smallest and largest of those sums.
    pub gpu_ms_range: [f64; 2],
    pub images_per_s: f64,
    /// Graph construction + compilation + the first forward pass (autotuning excluded).
    pub cold_start_ms: f64,
    /// Time spent autotuning (0 when every choice came from the cache, or tuning was off).
    pub autotune_ms: f64,
    pub peak_activation_bytes: u64,
    pub macs: u64,
    /// Whole-network 2·MACs / `gpu_ms`.
    pub gflops: f64,
    pub pct_peak: f64,
    pub peak_gflops: f64,
    pub peak_gbps: f64,
    pub layers: Vec<LayerRow>,
    /// Layer shapes the autotuner timed in this run, with every variant's time, not only the
    /// winner's (empty when every choice came from the cache or tuning was off).
    pub autotune_timings: Vec<TunedLayer>,
}

/// One layer shape timed by the autotuner: each variant's time (the fastest of 5 passes, or
/// only the warm-up pass when that was already 1.5× slower than the best so far) and the pick.
#[derive(Clone, Debug, Serialize)]
pub struct TunedLayer {
    /// The first layer with this shape.
    pub layer: String,
    /// The variant chosen (and cached).
    pub chosen: String,
    /// Milliseconds per variant, in the order timed.
    pub variants_ms: Vec<(String, f64)>,
}

impl TunedLayer {
    fn of(c: &Choice) -> TunedLayer {
        let name = |k: Kernel| k.name().to_lowercase();
        TunedLayer {
            layer: c.layer.clone(),
            chosen: name(c.kernel),
            variants_ms: c.timings.iter().map(|(k, ms)| (name(*k), *ms)).collect(),
        }
    }
}

/// Benchmarks network `name` at `batch` (input `size`, default native) with random weights.
pub fn bench_network(
    gpu: &Gpu,
    name: &str,
    batch: usize,
    size: Option<usize>,
    opts: &BenchOptions,
    peak: &Peak,
) -> Result<NetworkBench> {
    let build = ModelOptions {
        size,
        ..Default::default()
    };
    bench_network_with(gpu, name, &build, batch, opts, peak)
}

/// [`bench_network`] of the network `build` describes (input size, classes, aux heads).
pub fn bench_network_with(
    gpu: &Gpu,
    name: &str,
    build: &ModelOptions,
    batch: usize,
    opts: &BenchOptions,
    peak: &Peak,
) -> Result<NetworkBench> {
    let t0 = Instant::now();
    let graph = models::build(name, build)?;
    crate::check::input_fits(&graph, batch)?;
    let mut fused = fuse(&graph);
    let tuned = tune(gpu, &mut fused.graph, batch, opts)?;
    let autotune_ms = tuned.tune_ms;
    let model = Model::compile(gpu, &fused.graph, batch, true)?;
    let input = random_input(&graph, batch, 1);
    model.run(&input)?;
    let cold_start_ms = t0.elapsed().as_secs_f64() * 1e3 - autotune_ms;
    let m = measure(&model, &input, opts, peak)?;
    let e2e = end_to_end_ms(&model, &input, opts.runs)?;
    let macs: u64 = m.layers.iter().map(|l| l.macs).sum();
    let gflops = 2.0 * macs as f64 / (m.gpu_ms.median * 1e6).max(1.0);
    Ok(NetworkBench {
        network: name.to_string(),
        batch,
        size: graph.input.h,
        device: gpu.description(),
        timing: m.timing.as_str(),
        timing_note: m.note,
        runs: opts.runs.max(1),
        end_to_end_ms: e2e.median,
        end_to_end_ms_range: e2e.range,
        gpu_ms: m.gpu_ms.median,
        gpu_ms_range: m.gpu_ms.range,
        images_per_s: batch as f64 / (e2e.median * 1e-3),
        cold_start_ms,
        autotune_ms,
        peak_activation_bytes: model.plan.peak_bytes,
        macs,
        gflops,
        pct_peak: 100.0 * gflops / peak.gflops,
        peak_gflops: peak.gflops,
        peak_gbps: peak.gbps,
        layers: m.layers,
        autotune_timings: tuned
            .choices
            .iter()
            .filter(|c| !c.timings.is_empty())
            .map(TunedLayer::of)
            .collect(),
    })
}

/// Pins `graph`'s kernels ([`super::tuning`]): timing what the cache lacks on any adapter when
/// `opts.autotune`, else the selection rule; returns the choices and the time spent timing.
pub(super) fn tune(
    gpu: &Gpu,
    graph: &mut crate::graph::Graph,
    batch: usize,
    opts: &BenchOptions,
) -> Result<Tuned> {
    let policy = match opts.autotune {
        true => Tuning::On,
        false => Tuning::Off,
    };
    super::tuning::tune(gpu, graph, batch, policy)
}
