//! The examples in `examples/` run and say what they promise: `classify` reads the built-in
//! digit 7 with no download, `custom_graph` and `embed_kernel` match the CPU reference (they
//! exit non-zero when not). Cargo builds the examples before the tests; they are found beside
//! this test binary. GPU-bound: skipped without an adapter unless `DEEPER_REQUIRE_GPU=1`.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/<name>` (this binary is `target/<profile>/deps/examples-…`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe.parent().and_then(|d| d.parent()).expect("target dir");
    profile.join("examples").join(name)
}

/// Runs example `name` with `args`; its stdout when it succeeded.
fn run(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn classify_reads_the_built_in_digit_seven() {
    if common::gpu().is_none() {
        return;
    }
    let out = run("classify", &["data/digits/7.png"]);
    let first = out.lines().nth(2).expect("a prediction line");
    assert!(first.trim_end().ends_with(" 7  7"), "{out}");
    assert!(out.contains("weights: built-in (lenet5)"), "{out}");
}

#[test]
fn classify_refuses_bad_arguments_in_one_line() {
    for args in [&[][..], &["data/digits/missing.png"][..]] {
        let out = Command::new(example("classify"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("classify runs");
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        assert!(!out.status.success() && !line.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn custom_graph_and_embed_kernel_match_the_cpu() {
    if common::gpu().is_none() {
        return;
    }
    let out = run("custom_graph", &["2"]);
    assert!(out.contains("GPU vs CPU reference: rel L2"), "{out}");
    assert!(out.contains("ms per forward pass at batch 2"), "{out}");
    let out = run("embed_kernel", &[]);
    assert!(out.contains("output [1, 4, 6, 6]"), "{out}");
}
