//! `deeper bench conv|pool|linear`: one layer of any shape timed with every kernel variant
//! (each checked against the CPU with `--check`), `--kernel-variant` forcing one (unknown and
//! ineligible names refused, naming the variants), every variant's time in `--json` (also the
//! autotuner's timings in a network's bench JSON), and `--batch`/`--size` refused with
//! `--layers` instead of ignored.

mod common;

use deeper::bench::layer::{variant_names, LayerSpec};
use std::process::{Command, Output};

fn deeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(args)
        .env("DEEPER_AUTOTUNE_CACHE", temp_cache())
        .output()
        .expect("spawn deeper")
}

/// A fresh autotune cache for this test binary (nothing tuned yet).
fn temp_cache() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("deeper-bench-layer-{}.json", std::process::id()))
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// A failed command printed one `error:` line naming `needle`.
fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{err}"
    );
}

fn variants(doc: &serde_json::Value) -> Vec<String> {
    doc["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["variant"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn variant_names_are_the_kernels_of_each_kind() {
    let conv = LayerSpec::conv(8, 8, 8, (3, 1, 1), 1, 1, 1);
    assert_eq!(
        variant_names(&conv.op),
        [
            "winograd",
            "subgroup",
            "mm",
            "winogradtiled",
            "tiled",
            "direct"
        ]
    );
    let linear = LayerSpec::linear(8, 4, 1);
    assert_eq!(
        variant_names(&linear.op),
        ["subgroup", "gemv", "tiled", "vec4", "scalar"]
    );
    let pool = LayerSpec::pool(8, 8, deeper::ops::Pool2d::max(2, 2, 0), 1);
    assert!(variant_names(&pool.op).is_empty());
}

#[test]
fn batch_and_size_with_layers_are_refused() {
    for extra in [["--batch", "4"], ["--size", "64"]] {
        let out = deeper(&["bench", "--layers", extra[0], extra[1]]);
        fails_with(&out, "--layers runs each case at its own batch and size");
    }
    fails_with(&deeper(&["bench", "--peak", "--batch", "2"]), "--peak");
    let out = deeper(&["bench", "--layers", "--classes", "3"]);
    fails_with(&out, "--classes sizes a network's classifier");
}

#[test]
fn every_conv_variant_is_timed_and_checked() {
    if common::gpu().is_none() {
        return;
    }
    let base = [
        "bench", "conv", "--in", "8", "--out", "16", "--size", "12", "--kernel", "3", "--stride",
        "1", "--pad", "1", "--batch", "2", "--runs", "1", "--json", "--check",
    ];
    let doc = json(&deeper(&base));
    assert_eq!(doc["output"], serde_json::json!([2, 16, 12, 12]));
    let names = variants(&doc);
    assert!(
        names.len() >= 3,
        "direct, tiled and mm run everywhere: {names:?}"
    );
    for v in doc["variants"].as_array().expect("variants") {
        assert_eq!(v["passed"], true, "{v}");
        assert!(v["gpu_ms"].as_f64().expect("ms") > 0.0, "{v}");
        assert_eq!(v["macs"], 2 * 16 * 12 * 12 * 8 * 9, "{v}");
    }
    assert!(names.contains(&doc["best"].as_str().expect("best").to_string()));

    let forced = json(&deeper(
        &[&base[..], &["--kernel-variant", "Direct"]].concat(),
    ));
    assert_eq!(variants(&forced), ["direct"]);
    let out = deeper(&[&base[..], &["--kernel-variant", "fft"]].concat());
    fails_with(
        &out,
        "variants: winograd, subgroup, mm, winogradtiled, tiled, direct",
    );
    let mut one = base.to_vec();
    one[9] = "1";
    one[13] = "0";
    let out = deeper(&[&one[..], &["--kernel-variant", "winograd"]].concat());
    fails_with(&out, "'winograd' cannot run this conv2d");

    let grouped = json(&deeper(&[
        "bench",
        "conv",
        "--in",
        "8",
        "--out",
        "12",
        "--size",
        "11",
        "--kernel",
        "3",
        "--pad",
        "2",
        "--dilation",
        "2",
        "--groups",
        "4",
        "--stride",
        "2",
        "--runs",
        "1",
        "--json",
        "--check",
    ]));
    assert_eq!(grouped["output"], serde_json::json!([1, 12, 6, 6]));
    for v in grouped["variants"].as_array().expect("variants") {
        assert_eq!(v["passed"], true, "{v}");
    }
}

#[test]
fn pool_and_linear_layers_are_timed() {
    if common::gpu().is_none() {
        return;
    }
    let pool = json(&deeper(&[
        "bench", "pool", "--in", "4", "--size", "9", "--kernel", "3", "--stride", "2", "--ceil",
        "--avg", "--runs", "1", "--json", "--check",
    ]));
    assert_eq!(pool["kind"], "avg_pool2d");
    assert_eq!(pool["output"], serde_json::json!([1, 4, 4, 4]));
    assert_eq!(pool["variants"][0]["passed"], true);
    let out = deeper(&[
        "bench",
        "pool",
        "--in",
        "4",
        "--size",
        "9",
        "--kernel-variant",
        "x",
    ]);
    // Pooling has one kernel: the flag does not exist for it.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unexpected argument '--kernel-variant'"),
        "{err}"
    );

    let linear = json(&deeper(&[
        "bench", "linear", "--in", "64", "--out", "10", "--batch", "3", "--runs", "1", "--json",
        "--check",
    ]));
    assert_eq!(linear["output"], serde_json::json!([3, 10, 1, 1]));
    let names = variants(&linear);
    assert!(names.contains(&"scalar".to_string()), "{names:?}");
    for v in linear["variants"].as_array().expect("variants") {
        assert_eq!(v["passed"], true, "{v}");
    }
}

#[test]
fn a_network_bench_keeps_every_tuned_variants_time() {
    if common::gpu().is_none() {
        return;
    }
    let _ = std::fs::remove_file(temp_cache());
    let doc = json(&deeper(&["bench", "lenet5", "--json", "--runs", "1"]));
    let tuned = doc["autotune_timings"]
        .as_array()
        .expect("autotune_timings");
    let layers: Vec<&str> = tuned.iter().filter_map(|t| t["layer"].as_str()).collect();
    assert_eq!(layers, ["conv1", "conv2", "fc1", "fc2", "fc3"], "{tuned:?}");
    for t in tuned {
        let v = t["variants_ms"].as_array().expect("variants_ms");
        assert!(v.len() >= 2, "{t}");
        assert!(v.iter().any(|p| p[0] == t["chosen"]), "{t}");
    }
    let again = json(&deeper(&["bench", "lenet5", "--json", "--runs", "1"]));
    assert_eq!(
        again["autotune_timings"],
        serde_json::json!([]),
        "cached now"
    );
}
