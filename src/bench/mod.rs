//! Benchmarks: per-layer GPU times of whole networks ([`network`]), a fixed suite of real
//! layer shapes checked against the CPU ([`suite`]), the device's own ceilings ([`peak`]) and
//! roofline pictures ([`plot`]). The CLI's `deeper bench` and the criterion benches use these.
//!
//! Every layer is reported against the roofline model: attained GFLOP/s = 2·MACs / time; bytes
//! moved are the compulsory traffic (weights + inputs + outputs, each once); arithmetic
//! intensity = FLOPs / byte; `pct_peak` is the share of the measured FMA peak and `pct_roof` the
//! share of what the roofline allows at that intensity, `min(peak, intensity · bandwidth)` (for
//! layers without multiplies, the share of the measured copy bandwidth).

pub mod autotune;
pub mod layer;
pub mod network;
pub mod peak;
pub mod plot;
pub mod suite;
pub mod throughput;
pub mod tuning;

pub use network::{bench_network, bench_network_with, NetworkBench};
pub use peak::Peak;
pub use suite::{run_suite, SuiteCase};
pub use throughput::{throughput, Throughput};

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::runtime::{Model, Profile, Timing};
use crate::shape::Shape;
use crate::tensor::Tensor;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A JSON cache file (the peak rates, the autotuner's choices): `$<env>` when set, else
/// `$XDG_CACHE_HOME/deeper/<file>`, else `~/.cache/deeper/<file>`, else
/// `%LOCALAPPDATA%/deeper/<file>`; none without any of them.
///
/// Several processes share it (one per GPU, or runs started together): [`JsonCache::update`]
/// takes an advisory lock on `<file>.lock`, re-reads the file, merges, and replaces it whole
/// (unique temporary file, [`crate::files::write_whole`]), so no writer drops another's
/// entries. A cache that cannot be read is the default; one that cannot be written is a
/// one-line warning: never a failed command.
pub(crate) struct JsonCache(Option<PathBuf>);

/// A cache file larger than this is not read (treated as corrupt and rebuilt).
const MAX_CACHE_BYTES: u64 = 16 << 20;

impl JsonCache {
    pub(crate) fn new(env: &str, file: &str) -> JsonCache {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        // XDG_CACHE_HOME, else ~/.cache, else (Windows, where HOME is usually unset)
        // %LOCALAPPDATA%.
        let base = || {
            var("XDG_CACHE_HOME")
                .or_else(|| var("HOME").map(|h| h.join(".cache")))
                .or_else(|| var("LOCALAPPDATA"))
        };
        JsonCache(var(env).or_else(|| Some(base()?.join("deeper").join(file))))
    }

    /// The file (`None` without a home directory).
    pub(crate) fn path(&self) -> Option<&std::path::Path> {
        self.0.as_deref()
    }

    /// The cached value; the default when the file is missing, too large or corrupt (a bad
    /// cache is rebuilt, not an error).
    pub(crate) fn read<T: DeserializeOwned + Default>(&self) -> T {
        self.0
            .as_ref()
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_CACHE_BYTES))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    /// Applies `merge` to the value on disk under the lock and writes the result; a failure
    /// is a warning on stderr.
    pub(crate) fn update<T: Serialize + DeserializeOwned + Default>(
        &self,
        merge: impl FnOnce(&mut T),
    ) {
        let Some(path) = &self.0 else { return };
        if let Err(e) = self.locked_update(path, merge) {
            eprintln!("warning: cache not updated: {e}");
        }
    }

    fn locked_update<T: Serialize + DeserializeOwned + Default>(
        &self,
        path: &std::path::Path,
        merge: impl FnOnce(&mut T),
    ) -> Result<()> {
        let io = |p: &std::path::Path| {
            let p = p.display().to_string();
            move |source| Error::Io { path: p, source }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut lock_name = path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let lock_path = path.with_file_name(lock_name);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        let mut value: T = self.read();
        merge(&mut value);
        let text =
            serde_json::to_string_pretty(&value).map_err(|e| Error::Invalid(e.to_string()))?;
        crate::files::write_whole(path, text.as_bytes())
        // The lock is released when `lock` closes.
    }
}

/// Wall time of `iters` forward passes of a compiled model submitted back to back (on the input
/// last written), waiting for the device once at the end: what criterion's `iter_custom` wants.
pub fn time_passes(model: &Model, iters: u64) -> Result<std::time::Duration> {
    let mut ctx = model.context()?;
    let t = std::time::Instant::now();
    for _ in 0..iters {
        ctx.submit()?;
    }
    model.gpu().wait()?;
    Ok(t.elapsed())
}

/// How to run a benchmark.
#[derive(Clone, Copy, Debug)]
pub struct BenchOptions {
    /// Timed runs (the median is reported); at least 1.
    pub runs: usize,
    /// Timestamps, or the wall-clock fallback forced.
    pub timing: Timing,
    /// Pin each convolution's and linear layer's fastest kernel first, timing what the cache
    /// lacks on any adapter ([`autotune`]); else the selection rule.
    pub autotune: bool,
}

/// One layer (or one suite case) on the roofline.
#[derive(Clone, Debug, Serialize)]
pub struct LayerRow {
    pub name: String,
    /// Op kind (`conv2d`, `linear`, …).
    pub kind: String,
    /// Shader variant(s) that ran, `+`-joined when several.
    pub kernel: String,
    pub gpu_ms: f64,
    pub macs: u64,
    pub gflops: f64,
    pub bytes: u64,
    pub gbps: f64,
    /// FLOPs per byte moved.
    pub intensity: f64,
    pub pct_peak: f64,
    pub pct_roof: f64,
}

impl LayerRow {
    /// The derived rates of a layer that took `ns`.
    pub fn new(
        name: &str,
        kind: &str,
        kernel: &str,
        ns: f64,
        macs: u64,
        bytes: u64,
        peak: &Peak,
    ) -> Self {
        let secs = ns.max(1.0) * 1e-9;
        let flops = 2.0 * macs as f64;
        let gflops = flops / secs / 1e9;
        let gbps = bytes as f64 / secs / 1e9;
        let intensity = flops / bytes.max(1) as f64;
        let pct_roof = if macs == 0 {
            100.0 * gbps / peak.gbps
        } else {
            100.0 * gflops / peak.gflops.min(intensity * peak.gbps)
        };
        LayerRow {
            name: name.into(),
            kind: kind.into(),
            kernel: kernel.into(),
            gpu_ms: ns * 1e-6,
            macs,
            gflops,
            bytes,
            gbps,
            intensity,
            pct_peak: 100.0 * gflops / peak.gflops,
            pct_roof,
        }
    }
}

/// The median of `v` (the mean of the middle two for an even count; 0 when empty).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Milliseconds: the median and `[min, max]` of repeated measurements in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Millis {
    pub median: f64,
    pub range: [f64; 2],
}

impl Millis {
    /// The summary of `v` (zero when empty); the range says how much the device, or a shared
    /// machine, moved between runs.
    pub fn of_ns(v: &[f64]) -> Millis {
        if v.is_empty() {
            return Millis::default();
        }
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Millis {
            median: median(v) * 1e-6,
            range: [lo * 1e-6, hi * 1e-6],
        }
    }
}

/// A compiled model's layer timings over several runs.
#[derive(Clone, Debug)]
pub struct Measured {
    /// Per running node, median times.
    pub layers: Vec<LayerRow>,
    /// The per-run sums of layer times.
    pub gpu_ms: Millis,
    /// `WallClock` if any run used the fallback.
    pub timing: Timing,
    pub note: Option<String>,
}

/// Profiles `model` layer by layer `opts.runs` times (once the first run has fallen back to
/// wall clock, the others use it too).
pub fn measure(
    model: &Model,
    input: &Tensor,
    opts: &BenchOptions,
    peak: &Peak,
) -> Result<Measured> {
    let mut profiles: Vec<Profile> = Vec::new();
    let mut want = opts.timing;
    for _ in 0..opts.runs.max(1) {
        let p = model.profile(input, want)?;
        want = p.timing;
        profiles.push(p);
    }
    let totals: Vec<f64> = profiles.iter().map(Profile::total_ns).collect();
    let wall = profiles.iter().any(|p| p.timing == Timing::WallClock);
    Ok(Measured {
        layers: layer_rows(model, &profiles, peak),
        gpu_ms: Millis::of_ns(&totals),
        timing: if wall {
            Timing::WallClock
        } else {
            Timing::Timestamps
        },
        note: profiles.iter().find_map(|p| p.note.clone()),
    })
}

/// Wall-clock milliseconds of `runs` end-to-end forward passes (upload, run, readback).
pub fn end_to_end_ms(model: &Model, input: &Tensor, runs: usize) -> Result<Millis> {
    let times = (0..runs.max(1))
        .map(|_| model.time_end_to_end(input))
        .collect::<Result<Vec<f64>>>()?;
    Ok(Millis::of_ns(&times))
}

/// Per node that ran: median time, MACs, bytes, the kernels of its steps.
fn layer_rows(model: &Model, profiles: &[Profile], peak: &Peak) -> Vec<LayerRow> {
    let kernels = node_kernels(model);
    let shapes = model.shapes();
    let mut times: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for p in profiles {
        for l in &p.layers {
            times.entry(l.node).or_default().push(l.ns);
        }
    }
    let order = profiles
        .first()
        .map(|p| p.layers.clone())
        .unwrap_or_default();
    order
        .iter()
        .map(|l| {
            let node = &model.graph.nodes[l.node];
            let (macs, bytes) = node_cost(&model.graph, shapes, l.node);
            let ns = median(&times[&l.node]);
            LayerRow::new(
                &node.name,
                node.op.kind(),
                &kernels[&l.node],
                ns,
                macs,
                bytes,
                peak,
            )
        })
        .collect()
}

/// Each node's shader variants, in order of first use, `+`-joined.
fn node_kernels(model: &Model) -> BTreeMap<usize, String> {
    let mut out: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (step, node) in model.steps().iter().zip(&model.step_nodes) {
        let list = out.entry(*node).or_default();
        if !list.contains(&step.kernel.as_str()) {
            list.push(&step.kernel);
        }
    }
    out.into_iter().map(|(n, k)| (n, k.join("+"))).collect()
}

/// MACs and compulsory bytes (parameters + inputs + output, f32) of node `i`.
pub fn node_cost(graph: &Graph, shapes: &[Shape], i: usize) -> (u64, u64) {
    let node = &graph.nodes[i];
    let ins: Vec<Shape> = node.inputs.iter().map(|v| shapes[v.0]).collect();
    let out = shapes[i + 1];
    let params = node.op.param_shapes().into_iter().map(|(_, s)| s.numel());
    let elems: usize =
        params.sum::<usize>() + ins.iter().map(Shape::numel).sum::<usize>() + out.numel();
    (node.op.macs(out), 4 * elems as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_summarise_nanoseconds() {
        let m = Millis::of_ns(&[3e6, 1e6, 2e6, 9e6]);
        assert_eq!(m.median, 2.5);
        assert_eq!(m.range, [1.0, 9.0]);
        assert_eq!(Millis::of_ns(&[]), Millis::default());
    }

    #[test]
    fn json_cache_reads_the_default_until_written_and_creates_its_directory() {
        let dir = std::env::temp_dir().join(format!("deeper-cache-{}", std::process::id()));
        let path = dir.join("sub").join("c.json");
        let cache = JsonCache(Some(path.clone()));
        assert_eq!(cache.read::<Vec<u32>>(), Vec::<u32>::new());
        cache.update(|v: &mut Vec<u32>| v.extend([1, 2]));
        assert_eq!(cache.read::<Vec<u32>>(), vec![1, 2]);
        std::fs::write(&path, "{corrupt").unwrap();
        assert_eq!(cache.read::<Vec<u32>>(), Vec::<u32>::new());
        JsonCache(None).update(|v: &mut u32| *v = 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Eight threads, each through its own JsonCache, add 25 entries apiece to one file
    /// at once: every entry is there at the end.
    #[test]
    fn concurrent_writers_lose_no_entry() {
        let dir = std::env::temp_dir().join(format!("deeper-cache-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("race.json");
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = path.clone();
                s.spawn(move || {
                    for i in 0..25 {
                        JsonCache(Some(path.clone())).update(|m: &mut BTreeMap<String, u32>| {
                            m.insert(format!("{t}-{i}"), i);
                        });
                    }
                });
            }
        });
        let all: BTreeMap<String, u32> = JsonCache(Some(path)).read();
        assert_eq!(all.len(), 200);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
