//! `deeper bench`: per-layer GPU times of a network (or of all), the layer suite (`--layers`)
//! and the device's ceilings (`--peak`), as tables, one JSON document (`--json`) or a roofline
//! picture (`--plot`). The measuring is done by `deeper::bench`.

use crate::table::{measured, thousands, Table, MEASURED};
use deeper::bench::tuning::Tuning;
use deeper::bench::{self, peak, plot, BenchOptions, LayerRow, NetworkBench, Peak, SuiteCase};
use deeper::models::{ModelOptions, NETWORKS};
use deeper::runtime::{Gpu, GpuOptions, Timing};
use deeper::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

/// What `deeper bench` was asked to do.
pub struct BenchArgs {
    pub net: Option<String>,
    /// `--batch` (1 when not given).
    pub batch: Option<usize>,
    pub runs: usize,
    pub size: Option<usize>,
    pub json: bool,
    pub peak: bool,
    pub layers: bool,
    pub plot: Option<PathBuf>,
    pub wall_clock: bool,
    pub filter: Option<String>,
    /// `--autotune` (`Some(true)`) / `--no-autotune` (`Some(false)`).
    pub tune: Option<bool>,
    /// Callers on one model (`--threads`).
    pub threads: Option<usize>,
    /// `--classes`: the classifier's size (default 1000; 10 for lenet5).
    pub classes: Option<usize>,
}

impl BenchArgs {
    fn batch(&self) -> usize {
        self.batch.unwrap_or(1)
    }

    /// The network `--size` and `--classes` describe.
    fn build(&self) -> ModelOptions {
        ModelOptions {
            size: self.size,
            classes: self.classes,
            ..Default::default()
        }
    }
}

/// Runs the requested benchmark; `Ok(false)` when a suite case fails its CPU check.
pub fn bench(a: &BenchArgs) -> Result<bool> {
    if (a.layers || a.peak || a.threads.is_some()) && a.classes.is_some() {
        return Err(Error::Invalid(
            "--classes sizes a network's classifier: not with --layers, --peak or --threads".into(),
        ));
    }
    if (a.layers || a.peak) && (a.batch.is_some() || a.size.is_some()) {
        let what = match a.layers {
            true => "--layers runs each case at its own batch and size",
            false => "--peak measures the device, not a shape",
        };
        return Err(Error::Invalid(format!(
            "{what}: drop --batch/--size, or time one shape with \
             `deeper bench conv|pool|linear --batch N --size S`"
        )));
    }
    if let Some(path) = &a.plot {
        plot::check_path(path)?;
    }
    // Names are checked before the device is opened or anything is printed.
    if a.layers {
        bench::suite::matching(a.filter.as_deref())?;
    } else if let Some(net) = a.net.as_deref().filter(|n| *n != "all" && !a.peak) {
        deeper::models::check_name(net)?;
    }
    // Bench tunes on every adapter unless told not to: it measures the fastest kernels.
    let tuning = Tuning::from_env_and_flag(a.tune)?;
    let env_timing = Timing::try_from_env()?;
    let gpu = Gpu::new(&GpuOptions::from_env()?)?;
    let timing = if a.wall_clock {
        Timing::WallClock
    } else {
        env_timing
    };
    let opts = BenchOptions {
        runs: a.runs,
        timing,
        autotune: tuning != Tuning::Off,
    };
    if a.peak {
        return peak_cmd(&gpu, a, timing);
    }
    let peak = peak::cached_or_quick(&gpu, timing)?;
    if !a.json {
        println!("device: {}", gpu.description());
        let src = if peak.quick {
            "quick measurement; `deeper bench --peak` for a full one"
        } else {
            "cached from `deeper bench --peak`"
        };
        println!(
            "peak:   {:.1} GFLOP/s FMA, {:.1} GB/s copy ({src})\n",
            peak.gflops, peak.gbps
        );
    }
    if a.layers {
        return suite_cmd(&gpu, a, &opts, &peak);
    }
    match (a.net.as_deref(), a.threads) {
        (Some("all"), Some(_)) => Err(Error::Invalid(
            "--threads measures one network, not `all`".into(),
        )),
        (Some(net), Some(n)) => threads_cmd(&gpu, net, n, a, &opts),
        (Some("all"), None) => all_cmd(&gpu, a, &opts, &peak),
        (Some(net), None) => net_cmd(&gpu, net, a, &opts, &peak),
        (None, _) => Err(Error::Invalid(
            "bench needs a network name, `all`, --layers or --peak".into(),
        )),
    }
}

fn peak_cmd(gpu: &Gpu, a: &BenchArgs, timing: Timing) -> Result<bool> {
    let p = peak::measure(gpu, false, timing)?;
    peak::save(&p)?;
    if a.json {
        println!("{:#}", serde_json::to_value(&p).map_err(json_err)?);
        return Ok(true);
    }
    println!("device: {}", p.device);
    println!("FMA:    {:>9.1} GFLOP/s  (peak_fma.wgsl: 3 vec4 FMA chains per invocation, registers only)", p.gflops);
    println!(
        "copy:   {:>9.1} GB/s     (peak_copy.wgsl: vec4 reads + writes of a 64 MiB buffer)",
        p.gbps
    );
    println!(
        "ridge:  {:>9.2} FLOP/byte; timing: {}; best of 5 passes each; cached for `deeper bench`",
        p.ridge(),
        p.timing
    );
    Ok(true)
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Invalid(e.to_string())
}

fn net_cmd(gpu: &Gpu, net: &str, a: &BenchArgs, opts: &BenchOptions, peak: &Peak) -> Result<bool> {
    let r = bench::bench_network_with(gpu, net, &a.build(), a.batch(), opts, peak)?;
    if let Some(path) = &a.plot {
        let title = format!("{} batch {} on {}", r.network, r.batch, gpu.name());
        plot::write_svg(path, &title, &r.layers, peak)?;
    }
    if a.json {
        println!("{:#}", serde_json::to_value(&r).map_err(json_err)?);
        return Ok(true);
    }
    println!(
        "{}: batch {}, {}x{}, timing: {}, median of {} runs",
        r.network, r.batch, r.size, r.size, r.timing, r.runs
    );
    if let Some(note) = &r.timing_note {
        println!("(wall clock per layer because {note})");
    }
    print!("{}", layer_table(&r.layers).render());
    print_totals(&r);
    if let Some(path) = &a.plot {
        println!("plot: {}", path.display());
    }
    Ok(true)
}

fn threads_cmd(gpu: &Gpu, net: &str, n: usize, a: &BenchArgs, opts: &BenchOptions) -> Result<bool> {
    let r = bench::throughput(gpu, net, a.batch(), a.size, n, opts)?;
    if a.json {
        println!("{:#}", serde_json::to_value(&r).map_err(json_err)?);
        return Ok(true);
    }
    println!(
        "{}: batch {}, {}x{}, one model, {} runs per caller, {} execution contexts",
        r.network, r.batch, r.size, r.size, opts.runs, r.contexts
    );
    let mut t = Table::new(&[
        "callers",
        "runs",
        "seconds",
        "images/s",
        "ms per run",
        "speed-up",
    ]);
    for c in [&r.one, &r.many] {
        t.row(vec![
            c.threads.to_string(),
            c.runs.to_string(),
            format!("{:.2}", c.seconds),
            format!("{:.2}", c.images_per_s),
            format!("{:.2}", c.ms_per_run),
            format!("{:.2}x", c.images_per_s / r.one.images_per_s),
        ]);
    }
    print!("{}", t.render());
    println!(
        "memory: weights {:.1} MB (shared) + {:.1} MB per execution context",
        r.weight_bytes as f64 / 1e6,
        r.context_bytes as f64 / 1e6
    );
    Ok(true)
}

fn layer_table(rows: &[LayerRow]) -> Table {
    let mut t = Table::new(&[
        "layer", "kind", "kernel", "GPU ms", "MACs", "GFLOP/s", "MB", "GB/s", "FLOP/B", "%peak",
        "%roof",
    ]);
    for l in rows {
        t.row(vec![
            l.name.clone(),
            l.kind.clone(),
            l.kernel.clone(),
            format!("{:.3}", l.gpu_ms),
            thousands(l.macs),
            format!("{:.2}", l.gflops),
            format!("{:.2}", l.bytes as f64 / 1e6),
            format!("{:.2}", l.gbps),
            format!("{:.1}", l.intensity),
            format!("{:.1}", l.pct_peak),
            format!("{:.1}", l.pct_roof),
        ]);
    }
    t
}

/// `lo–hi` of a measurement's range, to `digits` decimals.
fn range(r: [f64; 2], digits: usize) -> String {
    format!("{:.digits$}–{:.digits$}", r[0], r[1])
}

fn print_totals(r: &NetworkBench) {
    println!(
        "GPU time (sum of layers) {:.2} ms (range {} over {} runs) · {:.2} images/s",
        r.gpu_ms,
        range(r.gpu_ms_range, 2),
        r.runs,
        r.images_per_s
    );
    println!(
        "end-to-end (upload + run + readback) {:.2} ms (range {})",
        r.end_to_end_ms,
        range(r.end_to_end_ms_range, 2)
    );
    println!(
        "{} MACs at {:.2} GFLOP/s ({:.1}% of peak) · cold start {:.0} ms · peak activations {:.1} MB",
        thousands(r.macs),
        r.gflops,
        r.pct_peak,
        r.cold_start_ms,
        r.peak_activation_bytes as f64 / 1e6
    );
    if r.autotune_ms > 0.0 {
        println!(
            "autotune: {:.0} ms timing kernel variants (cached for the next run)",
            r.autotune_ms
        );
    }
}

fn all_cmd(gpu: &Gpu, a: &BenchArgs, opts: &BenchOptions, peak: &Peak) -> Result<bool> {
    let mut results = Vec::new();
    for (i, net) in NETWORKS.iter().enumerate() {
        eprint!("[{}/{}] {net} ... ", i + 1, NETWORKS.len());
        let _ = std::io::stderr().flush();
        let r = bench::bench_network_with(gpu, net, &a.build(), a.batch(), opts, peak)?;
        eprintln!("{:.1} ms", r.end_to_end_ms);
        if let Some(path) = &a.plot {
            let file = plot::per_network(path, net);
            let title = format!("{net} batch {} on {}", r.batch, gpu.name());
            plot::write_svg(&file, &title, &r.layers, peak)?;
            eprintln!("  plot: {}", file.display());
        }
        results.push(r);
    }
    if a.json {
        let doc = serde_json::json!({"device": gpu.description(), "peak_gflops": peak.gflops,
            "peak_gbps": peak.gbps, "networks": results});
        println!("{doc:#}");
        return Ok(true);
    }
    let mut t = Table::new(&[
        "network",
        "batch",
        "MMACs",
        "GPU ms",
        "GPU range",
        "end-to-end ms",
        "images/s",
        "GFLOP/s",
        "%peak",
        "cold ms",
        "act MB",
        "timing",
    ]);
    for r in &results {
        t.row(vec![
            r.network.clone(),
            r.batch.to_string(),
            format!("{:.1}", r.macs as f64 / 1e6),
            format!("{:.2}", r.gpu_ms),
            range(r.gpu_ms_range, 1),
            format!("{:.2}", r.end_to_end_ms),
            format!("{:.2}", r.images_per_s),
            format!("{:.2}", r.gflops),
            format!("{:.1}", r.pct_peak),
            format!("{:.0}", r.cold_start_ms),
            format!("{:.1}", r.peak_activation_bytes as f64 / 1e6),
            r.timing.into(),
        ]);
    }
    print!("{}", t.render());
    println!(
        "median of {} runs (GPU range: the fastest and slowest); GPU ms = summed per-layer GPU time",
        opts.runs
    );
    Ok(true)
}

fn suite_cmd(gpu: &Gpu, a: &BenchArgs, opts: &BenchOptions, peak: &Peak) -> Result<bool> {
    let progress = |c: &SuiteCase| {
        eprintln!(
            "  {} {:.2} ms, rel L2 {:.1e} {}",
            c.total.name,
            c.total.gpu_ms,
            c.rel_l2,
            pass(c.passed)
        );
    };
    let cases = bench::run_suite(gpu, a.filter.as_deref(), opts, peak, progress)?;
    let ok = cases.iter().all(|c| c.passed);
    if let Some(path) = &a.plot {
        let rows: Vec<LayerRow> = cases.iter().map(|c| c.total.clone()).collect();
        plot::write_svg(path, &format!("layer suite on {}", gpu.name()), &rows, peak)?;
    }
    if a.json {
        let doc = serde_json::json!({"device": gpu.description(), "peak_gflops": peak.gflops,
            "peak_gbps": peak.gbps, "cases": cases});
        println!("{doc:#}");
        return Ok(ok);
    }
    let mut t = Table::new(
        &[
            ["case", "batch", "kernel"].as_slice(),
            &MEASURED,
            &["rel L2", "check"],
        ]
        .concat(),
    );
    for c in &cases {
        let l = &c.total;
        let head = vec![l.name.clone(), c.batch.to_string(), l.kernel.clone()];
        let tail = vec![format!("{:.1e}", c.rel_l2), pass(c.passed).to_string()];
        t.row([head, measured(l), tail].concat());
    }
    print!("{}", t.render());
    let timing = cases.first().map_or("-", |c| c.timing);
    println!(
        "median of {} runs, timing: {timing}; GPU vs CPU reference per case",
        opts.runs
    );
    if let Some(path) = &a.plot {
        println!("plot: {}", path.display());
    }
    Ok(ok)
}

fn pass(ok: bool) -> String {
    if ok { "PASS" } else { "FAIL" }.into()
}
