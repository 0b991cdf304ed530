//! The profiler and the benchmark plumbing on a GPU (skipped without one; the plot and the
//! command line's argument checks need none). Sanity only: times
//! are positive and consistent with each other, never compared with a speed (speed is measured
//! by `deeper bench` and `cargo bench`, not by tests).

mod common;

use deeper::bench::{self, peak, BenchOptions, Peak};
use deeper::check::random_input;
use deeper::graph::{Graph, GraphBuilder};
use deeper::ops::{Activation::Relu, Pool2d};
use deeper::runtime::{Model, Timing};

/// conv → max pool → flatten (a view) → linear: three layers that dispatch work.
fn tiny() -> Graph {
    let (mut b, x) = GraphBuilder::new("tiny", 3, 16, 16, 3);
    let y = b.conv("conv", x, 3, 8, 3, 1, 1, Relu);
    let y = b.pool("pool", y, Pool2d::max(2, 2, 0));
    let y = b.flatten("flatten", y);
    let y = b.linear("fc", y, 8 * 8 * 8, 10, Relu);
    b.finish(&[y]).expect("graph")
}

/// A made-up peak (no measurement needed for the row arithmetic).
fn fake_peak() -> Peak {
    Peak {
        device: "test".into(),
        gflops: 10.0,
        gbps: 1.0,
        timing: "timestamps".into(),
        quick: true,
        method: peak::METHOD.into(),
    }
}

fn check_profile(want: Timing, expect: Timing) {
    let Some(gpu) = common::gpu() else { return };
    let g = tiny();
    let model = Model::compile(gpu, &g, 2, true).expect("compile");
    let input = random_input(&g, 2, 4);
    model.run(&input).expect("warm-up");
    let p = model.profile(&input, want).expect("profile");
    assert_eq!(p.timing, expect, "note: {:?}", p.note);
    let names: Vec<&str> = p
        .layers
        .iter()
        .map(|l| g.nodes[l.node].name.as_str())
        .collect();
    assert_eq!(names, ["conv", "pool", "fc"]);
    assert!(p.layers.iter().all(|l| l.ns > 0.0), "{:?}", p.layers);
    assert!(
        p.total_ns() <= p.wall_ns,
        "layers sum to {} ns, more than the {} ns the run took end to end",
        p.total_ns(),
        p.wall_ns
    );
}

#[test]
fn timestamps_give_positive_layer_times_within_the_run() {
    let Some(gpu) = common::gpu() else { return };
    let expect = if gpu.has_timestamps() {
        Timing::Timestamps
    } else {
        Timing::WallClock
    };
    check_profile(Timing::Timestamps, expect);
}

#[test]
fn wall_clock_fallback_can_be_forced() {
    check_profile(Timing::WallClock, Timing::WallClock);
    std::env::set_var("DEEPER_TIMING", "wall-clock");
    assert_eq!(Timing::from_env(), Timing::WallClock);
    std::env::remove_var("DEEPER_TIMING");
    assert_eq!(Timing::from_env(), Timing::Timestamps);
}

/// More layers than one query set holds (2,048 pairs): the profiler spreads them over sets.
#[test]
fn more_layers_than_one_query_set() {
    let Some(gpu) = common::gpu() else { return };
    let (mut b, mut x) = GraphBuilder::new("deep", 1, 2, 2, 0);
    for i in 0..2100 {
        x = b.pool(&format!("p{i}"), x, Pool2d::max(1, 1, 0));
    }
    let g = b.finish(&[x]).expect("graph");
    let model = Model::compile(gpu, &g, 1, true).expect("compile");
    let input = random_input(&g, 1, 0);
    let p = model.profile(&input, Timing::Timestamps).expect("profile");
    assert_eq!(p.layers.len(), 2100);
    let stamped = p.timing == Timing::Timestamps;
    assert_eq!(stamped, gpu.has_timestamps(), "{:?}", p.note);
    assert!(p.layers.iter().all(|l| l.ns > 0.0));
    assert!(p.total_ns() <= p.wall_ns);
}

#[test]
fn bench_json_has_every_required_key() {
    let Some(gpu) = common::gpu() else { return };
    let opts = BenchOptions {
        runs: 3,
        timing: Timing::Timestamps,
        autotune: false,
    };
    let r = bench::bench_network(gpu, "lenet5", 2, None, &opts, &fake_peak()).expect("bench");
    let doc = serde_json::to_value(&r).expect("json");
    for key in [
        "network",
        "batch",
        "device",
        "end_to_end_ms",
        "gpu_ms",
        "images_per_s",
        "cold_start_ms",
        "peak_activation_bytes",
        "layers",
    ] {
        assert!(doc.get(key).is_some(), "missing key {key} in {doc:#}");
    }
    let layers = doc["layers"].as_array().expect("layers array");
    assert_eq!(layers.len(), 7, "lenet5 runs 7 layers");
    for l in layers {
        for key in [
            "name", "kernel", "gpu_ms", "macs", "gflops", "gbps", "pct_peak",
        ] {
            assert!(l.get(key).is_some(), "missing layer key {key} in {l}");
        }
        assert!(l["gpu_ms"].as_f64().expect("number") > 0.0);
    }
    assert!(r.gpu_ms > 0.0 && r.end_to_end_ms > 0.0 && r.cold_start_ms > 0.0);
    // Each median lies in its [fastest, slowest] run, which the document carries too.
    for (median, key) in [
        (r.gpu_ms, "gpu_ms_range"),
        (r.end_to_end_ms, "end_to_end_ms_range"),
    ] {
        let lo_hi: Vec<f64> = doc[key]
            .as_array()
            .unwrap_or_else(|| panic!("missing {key} in {doc:#}"))
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        assert!(
            lo_hi.len() == 2 && lo_hi[0] > 0.0 && lo_hi[0] <= median && median <= lo_hi[1],
            "{key} {lo_hi:?} around median {median}"
        );
    }
    assert_eq!(r.macs, 416_520 * 2, "lenet5 MACs at batch 2");
}

#[test]
fn peak_shaders_measure_positive_rates() {
    let Some(gpu) = common::gpu() else { return };
    let p = peak::measure(gpu, true, Timing::Timestamps).expect("peak");
    assert!(p.gflops > 0.0 && p.gflops.is_finite(), "{p:?}");
    assert!(p.gbps > 0.0 && p.gbps.is_finite(), "{p:?}");
}

/// A ceiling cached by other measuring shaders is not reused (their numbers differ).
#[test]
fn peak_cache_ignores_other_methods() {
    let Some(gpu) = common::gpu() else { return };
    let dir = std::env::temp_dir().join(format!("deeper-peak-{}", std::process::id()));
    std::env::set_var("DEEPER_PEAK_CACHE", dir.join("peak.json"));
    let stale = Peak {
        device: gpu.description(),
        method: "fma 8x1".into(),
        ..fake_peak()
    };
    peak::save(&stale).expect("save");
    assert!(peak::cached(gpu).is_none(), "a stale method was reused");
    peak::save(&Peak {
        method: peak::METHOD.into(),
        ..stale
    })
    .expect("save");
    assert_eq!(peak::cached(gpu).expect("cached").gflops, 10.0);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn suite_case_checks_against_the_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let opts = BenchOptions {
        runs: 1,
        timing: Timing::Timestamps,
        autotune: false,
    };
    let cases = bench::run_suite(gpu, Some("maxpool"), &opts, &fake_peak(), |_| {}).expect("suite");
    assert_eq!(cases.len(), 1);
    assert!(cases[0].passed, "rel L2 {}", cases[0].rel_l2);
    // The 3x3 stride-2 max pool runs pool2d's 3-wide stride-2 path.
    assert_eq!(cases[0].total.kernel, "pool2d[MODE=2]");
}

/// The autotuner times every kernel that can run each convolution (a fused residual one
/// included), pins the fastest, caches the choice (a second tuning reads the cache and times
/// nothing), and the tuned graph still matches the CPU.
#[test]
fn autotune_pins_a_kernel_and_caches_it() {
    use deeper::bench::autotune::Tuner;
    use deeper::ops::{ConvKernel, Op};
    let Some(gpu) = common::gpu() else { return };
    let dir = std::env::temp_dir().join(format!("deeper-autotune-{}", std::process::id()));
    std::env::set_var("DEEPER_AUTOTUNE_CACHE", dir.join("autotune.json"));
    let (mut b, x) = GraphBuilder::new("tune", 16, 12, 12, 5);
    let a = b.conv("a", x, 16, 32, 3, 1, 1, Relu);
    let mut res = deeper::ops::Conv2d::new(32, 32, 3, 1, 1);
    (res.residual, res.activation) = (true, Relu);
    let y = b.add("b", Op::Conv2d(res), &[a, a]); // a fused residual convolution
    let y = b.conv("c", y, 32, 32, 3, 1, 1, Relu); // same key as "b": tuned once
    let g = b.finish(&[y]).expect("graph");
    let mut tuned = g.clone();
    let mut tuner = Tuner::load();
    let choices = tuner.tune(gpu, &mut tuned, 2).expect("tune");
    assert_eq!(choices.len(), 2, "one choice per distinct layer shape");
    let runs_here = |k: ConvKernel| {
        let c = deeper::ops::Conv2d {
            kernel: k,
            ..deeper::ops::Conv2d::new(32, 32, 3, 1, 1)
        };
        c.resolve(&gpu.caps(), deeper::Shape::new(2, 32, 12, 12)) == k
    };
    let kernels = ConvKernel::ALL
        .into_iter()
        .filter(|&k| runs_here(k))
        .count();
    assert!(
        choices.iter().all(|c| c.timings.len() == kernels),
        "{choices:?}"
    );
    tuner.save().expect("save");
    for n in &tuned.nodes {
        let Op::Conv2d(c) = &n.op else { continue };
        assert_ne!(c.kernel, ConvKernel::Auto);
    }
    let again = Tuner::load().tune(gpu, &mut g.clone(), 2).expect("cached");
    assert!(
        again.iter().all(|c| c.timings.is_empty()),
        "second tuning must read the cache"
    );
    let input = random_input(&g, 2, 6);
    let got = Model::compile(gpu, &tuned, 2, true)
        .expect("compile")
        .run(&input)
        .expect("run");
    let want = deeper::cpu::run_outputs(&g, &input).expect("cpu");
    let c = deeper::compare::compare(&got[0], &want[0], deeper::compare::NET_TOLERANCE);
    assert!(c.passed(), "{c}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The picture holds one bar per layer and a point per layer that multiplies; it is written
/// whole (no `.partial` left), over an older file; a missing directory fails before anything
/// is measured, and `bench all` names one file per network.
#[test]
fn plot_writes_a_whole_svg_atomically() {
    use deeper::bench::{plot, LayerRow};
    let peak = fake_peak();
    let rows = vec![
        LayerRow::new("conv1", "conv2d", "direct", 2e6, 5_000_000, 400_000, &peak),
        LayerRow::new("pool1", "max_pool2d", "pool2d", 5e5, 0, 100_000, &peak),
        LayerRow::new(
            "fc",
            "linear",
            "linear_vec4",
            1e6,
            1_000_000,
            4_000_000,
            &peak,
        ),
    ];
    let dir = std::env::temp_dir().join(format!("deeper-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("roof.svg");
    std::fs::write(&path, "old").unwrap();
    plot::write_svg(&path, "tiny on test", &rows, &peak).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg:.80}"
    );
    for name in ["conv1", "pool1", "fc", "tiny on test"] {
        assert!(svg.contains(name), "plot lacks '{name}'");
    }
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["roof.svg"], "only the plot remains");
    std::fs::remove_dir_all(&dir).unwrap();

    let missing = dir.join("no/such/dir/roof.svg");
    let err = plot::check_path(&missing).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    assert!(plot::write_svg(&missing, "t", &rows, &peak).is_err());
    plot::check_path(std::path::Path::new("roof.svg")).unwrap();
    assert_eq!(
        plot::per_network(std::path::Path::new("out/roof.svg"), "resnet50"),
        std::path::Path::new("out/roof-resnet50.svg")
    );
}

/// Counts of zero are refused by the command line before anything runs.
#[test]
fn cli_refuses_zero_counts_and_a_plot_without_a_directory() {
    use std::process::Command;
    for args in [
        &["bench", "lenet5", "--batch", "0"][..],
        &["bench", "lenet5", "--runs", "0"],
        &["info", "resnet18", "--size", "0"],
        &["run", "lenet5", "--top", "0"],
        &["bench", "--peak", "--plot", "p.svg"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(["bench", "lenet5", "--plot", "/nonexistent-dir/roof.svg"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.trim(),
        "error: plot /nonexistent-dir/roof.svg: directory /nonexistent-dir does not exist"
    );
}

/// An unknown network or a suite filter that matches nothing is refused before the device is
/// opened: one error line naming the choices, nothing on stdout.
#[test]
fn cli_refuses_unknown_names_before_measuring() {
    use std::process::Command;
    for (args, names) in [
        (&["bench", "resnet51"][..], "resnet50, resnet101"),
        (
            &["bench", "--layers", "--filter", "vgg.conv9"],
            "vgg.conv3, resnet50.1x1",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed before failing");
        assert!(
            err.starts_with("error: ") && err.contains(names) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
}
