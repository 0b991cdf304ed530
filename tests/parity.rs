//! PyTorch parity (GPU): deeper's logits against PyTorch's for the fixtures written by
//! `scripts/make_fixtures.py` (PyTorch model with seeded random weights, BN statistics
//! randomised, eval mode; `weights.safetensors`, `input.npy` [N,C,H,W], `logits.npy`
//! [N,classes], optional `meta.json` with the `size`).
//!
//! Fixtures come from `fixtures/<net>/` (committed: lenet5) and from `$DEEPER_FIXTURES/<dir>/`
//! when that variable is set (CI generates a lean subset into `target/fixtures`); a directory
//! is named like its network, or its `meta.json` names it (`googlenet-export`: a file written
//! by `scripts/export_torchvision.py`, whose metadata asks for GoogLeNet's `transform_input`).
//! With `DEEPER_REQUIRE_FIXTURES=1`, a missing, empty or incomplete `$DEEPER_FIXTURES` fails
//! instead of being skipped. Every network's error is printed (`--nocapture` to see them).
//!
//! Each fixture runs through the library (load_file → build → fuse → compile → run); those with
//! small weights also through the real CLI (`deeper run --weights … --input … --save-logits …`)
//! and, at small input sizes, through the CPU reference.

mod common;

use deeper::compare::{compare, Comparison, NET_TOLERANCE};
use deeper::graph::fuse::fuse;
use deeper::graph::Graph;
use deeper::models::{build, weights, ModelOptions, NETWORKS};
use deeper::ops::{ConvKernel, LinearKernel, Op};
use deeper::preprocess::{transform_input, Preprocess};
use deeper::runtime::Model;
use deeper::{cpu, npy, Shape, Tensor};
use std::path::{Path, PathBuf};
use std::process::Command;

/// CPU reference and CLI runs are limited to fixtures with weight files below this size.
const SMALL_WEIGHTS: u64 = 64 << 20;
/// The CPU reference (f64 nested loops) runs only on inputs up to this size.
const CPU_MAX_SIZE: usize = 64;
/// Every kernel family is forced in turn on fixtures up to this size (CI's reduced sizes).
const FORCED_MAX_SIZE: usize = 96;

/// One fixture directory.
struct Fixture {
    net: String,
    dir: PathBuf,
}

impl Fixture {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn tensor(&self, name: &str) -> Tensor {
        let path = self.file(name);
        let (dims, data) = npy::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let shape = match dims[..] {
            [n, c, h, w] => Shape::new(n, c, h, w),
            [n, k] => Shape::matrix(n, k),
            _ => panic!("{}: unexpected shape {dims:?}", path.display()),
        };
        Tensor::new(shape, data).expect("tensor")
    }

    /// The input size: `meta.json`'s `size`, else the input's height.
    fn size(&self, input: &Tensor) -> usize {
        let size = meta_json(&self.dir).and_then(|m| m["size"].as_u64());
        size.map_or(input.shape.h, |s| s as usize)
    }

    /// The directory's name (the network's, or e.g. `googlenet-export`).
    fn label(&self) -> String {
        let name = self.dir.file_name().and_then(|n| n.to_str());
        name.unwrap_or(&self.net).to_string()
    }

    /// The float64 logits (`logits_f64.npy`: the same PyTorch model run in float64), when the
    /// fixture has them.
    fn exact(&self) -> Option<Vec<f64>> {
        let path = self.file("logits_f64.npy");
        let bytes = std::fs::read(&path).ok()?;
        Some(read_f64_npy(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    fn small(&self) -> bool {
        let len = std::fs::metadata(self.file("weights.safetensors")).map(|m| m.len());
        len.is_ok_and(|l| l < SMALL_WEIGHTS)
    }
}

/// The values of a little-endian float64 `.npy` file written by NumPy (version 1 header; the
/// fixtures' `logits_f64.npy`).
fn read_f64_npy(bytes: &[u8]) -> Result<Vec<f64>, String> {
    let len = bytes.get(8..10).ok_or("truncated")?;
    let start = 10 + u16::from_le_bytes([len[0], len[1]]) as usize;
    let header = std::str::from_utf8(bytes.get(10..start).ok_or("truncated header")?)
        .map_err(|e| e.to_string())?;
    if !bytes.starts_with(b"\x93NUMPY\x01") || !header.contains("'descr': '<f8'") {
        return Err(format!(
            "not a version-1 little-endian float64 .npy: {header}"
        ));
    }
    let body = &bytes[start..];
    Ok(body
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

/// `‖got − exact‖ / ‖exact‖` in float64.
fn rel_l2_f64(got: &[f32], exact: &[f64]) -> f64 {
    assert_eq!(
        got.len(),
        exact.len(),
        "logits and float64 logits differ in size"
    );
    let (mut diff, mut norm) = (0.0, 0.0);
    for (g, e) in got.iter().zip(exact) {
        diff += (*g as f64 - e).powi(2);
        norm += e * e;
    }
    (diff / norm).sqrt()
}

/// Fidelity to the float64 truth: deeper's error against the fixture's float64 logits and
/// PyTorch float32's own, and the bound deeper must meet, `max(1e-5, 1.5 × PyTorch's)`.
struct Fidelity {
    ours: f64,
    torch: f64,
}

impl Fidelity {
    /// `None` when the fixture has no float64 logits.
    fn of(f: &Fixture, got: &Tensor) -> Option<Self> {
        let exact = f.exact()?;
        Some(Fidelity {
            ours: rel_l2_f64(&got.data, &exact),
            torch: rel_l2_f64(&f.tensor("logits.npy").data, &exact),
        })
    }

    fn bound(&self) -> f64 {
        (1.5 * self.torch).max(1e-5)
    }

    fn passed(&self) -> bool {
        self.ours <= self.bound()
    }
}

impl std::fmt::Display for Fidelity {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "vs f64 {:.2e}, PyTorch f32 vs f64 {:.2e}, ratio {:.2} (bound {:.2e})",
            self.ours,
            self.torch,
            self.ours / self.torch,
            self.bound()
        )
    }
}

/// `dir/meta.json`, when there is one.
fn meta_json(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("meta.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The fixture directories under `root` named like a network (by their name or their
/// `meta.json`); problems go to `errors`.
fn scan(root: &Path, errors: &mut Vec<String>) -> Vec<Fixture> {
    let Ok(entries) = std::fs::read_dir(root) else {
        errors.push(format!(
            "{}: cannot read the fixture directory",
            root.display()
        ));
        return Vec::new();
    };
    let mut found: Vec<Fixture> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter_map(|dir| {
            let named = meta_json(&dir).and_then(|m| m["network"].as_str().map(String::from));
            let net = named.or_else(|| Some(dir.file_name()?.to_str()?.to_string()))?;
            NETWORKS
                .contains(&net.as_str())
                .then_some(Fixture { net, dir })
        })
        .collect();
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    for f in &found {
        for name in ["weights.safetensors", "input.npy", "logits.npy"] {
            if !f.file(name).exists() {
                errors.push(format!(
                    "{}: incomplete fixture (no {name})",
                    f.dir.display()
                ));
            }
        }
    }
    found.retain(|f| f.file("logits.npy").exists() && f.file("input.npy").exists());
    found
}

/// The committed fixtures and those in `$DEEPER_FIXTURES`; panics when fixtures are required
/// and that directory is missing, empty or incomplete.
fn fixtures() -> Vec<Fixture> {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut ignored = Vec::new();
    let mut all = scan(&committed, &mut ignored);
    let Some(extra) = std::env::var_os("DEEPER_FIXTURES") else {
        return all;
    };
    let required = std::env::var("DEEPER_REQUIRE_FIXTURES").as_deref() == Ok("1");
    let mut errors = Vec::new();
    let found = scan(Path::new(&extra), &mut errors);
    if found.is_empty() {
        errors.push(format!(
            "{}: no fixtures found",
            Path::new(&extra).display()
        ));
    }
    if !errors.is_empty() {
        let msg = errors.join("; ");
        assert!(!required, "DEEPER_REQUIRE_FIXTURES=1: {msg}");
        eprintln!("SKIPPED (partly): {msg}");
    }
    all.extend(found);
    all
}

/// The fused graph of `f` with its weights loaded, and its input (transformed when the weight
/// file's metadata asks for it).
fn load_fixture(f: &Fixture) -> (Graph, Tensor) {
    let mut input = f.tensor("input.npy");
    let file = f.file("weights.safetensors");
    let (_, transform) = Preprocess::for_weights(&f.net, Some(&file)).expect("metadata");
    if transform {
        transform_input(&mut input).expect("transform_input");
    }
    let opts = ModelOptions {
        size: Some(f.size(&input)),
        ..Default::default()
    };
    let mut graph = build(&f.net, &opts).expect("build");
    let report = weights::load_file(&mut graph, &file, true)
        .unwrap_or_else(|e| panic!("{}: {e}", f.dir.display()));
    assert!(report.loaded > 0 && report.unexpected.is_empty());
    (graph, input)
}

/// The logits of `graph` on the GPU.
fn gpu_logits(gpu: &deeper::runtime::Gpu, graph: &Graph, input: &Tensor) -> Tensor {
    let model = Model::compile(gpu, graph, input.shape.n, true).expect("compile");
    model.run(input).expect("run").remove(0)
}

/// Logits of `f` computed by the library on the GPU, and (small fixtures) on the CPU.
fn run_fixture(gpu: &deeper::runtime::Gpu, f: &Fixture) -> (Tensor, Option<Tensor>) {
    let (graph, input) = load_fixture(f);
    let got = gpu_logits(gpu, &fuse(&graph).graph, &input);
    let cheap = f.small() && input.shape.h <= CPU_MAX_SIZE;
    let cpu = cheap.then(|| cpu::run_outputs(&graph, &input).expect("cpu").remove(0));
    (got, cpu)
}

#[test]
fn gpu_logits_match_pytorch() {
    let Some(gpu) = common::gpu() else { return };
    let mut failures = Vec::new();
    let mut lines = String::new();
    for f in fixtures() {
        let want = f.tensor("logits.npy");
        let start = std::time::Instant::now();
        let (got, cpu) = run_fixture(gpu, &f);
        let c = compare(&got, &want, NET_TOLERANCE);
        let fidelity = Fidelity::of(&f, &got);
        let line = format!(
            "parity {:<16} GPU vs PyTorch: {c}; {} ({:.1} s)\n",
            f.label(),
            fidelity
                .as_ref()
                .map_or("no float64 logits".into(), |x| x.to_string()),
            start.elapsed().as_secs_f64(),
        );
        eprint!("{line}");
        lines.push_str(&line);
        if !c.passed() {
            failures.push(format!("{} (GPU): {c}", f.dir.display()));
        }
        if let Some(x) = fidelity.filter(|x| !x.passed()) {
            failures.push(format!("{} (GPU): {x}", f.dir.display()));
        }
        if let Some(cpu) = cpu {
            let c = compare(&cpu, &want, NET_TOLERANCE);
            eprintln!("parity {:<16} CPU vs PyTorch: {c}", f.label());
            if !c.passed() {
                failures.push(format!("{} (CPU reference): {c}", f.dir.display()));
            }
        }
    }
    assert!(
        !lines.is_empty(),
        "no fixtures at all (fixtures/lenet5 is committed)"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `graph` with every convolution forced onto `conv` and every linear layer onto `linear`
/// (where a kernel cannot run a layer, compilation's resolve falls back to the rule's choice,
/// e.g. Winograd on a 1x1).
fn forced(graph: &Graph, conv: ConvKernel, linear: LinearKernel) -> Graph {
    let mut g = graph.clone();
    for node in &mut g.nodes {
        match &mut node.op {
            Op::Conv2d(c) => c.kernel = conv,
            Op::Linear(l) => l.kernel = linear,
            _ => {}
        }
    }
    g
}

/// The float64 bound holds whatever kernel each layer runs (the autotuner may pick any on any
/// device): each fixture up to [`FORCED_MAX_SIZE`] with every convolution forced onto
/// one kernel family in turn, the linear layers onto the linear kernels in rotation.
#[test]
fn every_kernel_family_meets_the_float64_bound() {
    let Some(gpu) = common::gpu() else { return };
    let mut failures = Vec::new();
    let mut runs = 0;
    for f in fixtures().iter().filter(|f| f.exact().is_some()) {
        let (graph, input) = load_fixture(f);
        if input.shape.h > FORCED_MAX_SIZE {
            continue;
        }
        let fused = fuse(&graph).graph;
        for (i, conv) in ConvKernel::ALL.into_iter().enumerate() {
            let linear = LinearKernel::ALL[i % LinearKernel::ALL.len()];
            let got = gpu_logits(gpu, &forced(&fused, conv, linear), &input);
            let x = Fidelity::of(f, &got).expect("float64 logits");
            eprintln!("parity {:<16} {conv:?}/{linear:?}: {x}", f.label());
            if !x.passed() {
                failures.push(format!("{} {conv:?}/{linear:?}: {x}", f.dir.display()));
            }
            runs += 1;
        }
    }
    assert!(runs > 0, "no fixture with float64 logits");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `deeper run <net> --weights … --input … --save-logits <tmp>/…` and compares.
fn cli_run(f: &Fixture, tmp: &Path) -> Comparison {
    let out = tmp.join(format!("{}.npy", f.label()));
    let status = Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(["run", &f.net, "--strict", "--weights"])
        .arg(f.file("weights.safetensors"))
        .arg("--input")
        .arg(f.file("input.npy"))
        .arg("--save-logits")
        .arg(&out)
        .output()
        .expect("spawn deeper");
    assert!(
        status.status.success(),
        "deeper run {} failed: {}",
        f.net,
        String::from_utf8_lossy(&status.stderr)
    );
    let (dims, data) = npy::read(&out).expect("read saved logits");
    let got = Tensor::new(Shape::matrix(dims[0], dims[1]), data).expect("logits");
    compare(&got, &f.tensor("logits.npy"), NET_TOLERANCE)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deeper-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn cli_run_saves_pytorch_logits() {
    if common::gpu().is_none() {
        return;
    }
    let tmp = temp_dir("parity-cli");
    let all = fixtures();
    assert!(
        all.iter().any(|f| f.net == "lenet5"),
        "fixtures/lenet5 is committed"
    );
    for f in all.iter().filter(|f| f.small()) {
        let c = cli_run(f, &tmp);
        eprintln!("parity {:<16} deeper run vs PyTorch: {c}", f.label());
        assert!(c.passed(), "{}: deeper run: {c}", f.dir.display());
    }
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn cli_json_names_weights_and_inputs() {
    if common::gpu().is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lenet5");
    let weights = dir.join("weights.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(["run", "lenet5", "--json", "--top", "3", "--weights"])
        .arg(&weights)
        .arg("--input")
        .arg(dir.join("input.npy"))
        .output()
        .expect("spawn deeper");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["network"], "lenet5");
    assert_eq!(doc["weights"], weights.display().to_string());
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["input"], i.to_string());
        let top = r["top"].as_array().expect("top");
        assert_eq!(top.len(), 3);
        let probs: Vec<f64> = top.iter().map(|t| t["prob"].as_f64().unwrap()).collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "sorted: {probs:?}");
        assert_eq!(top[0]["label"], top[0]["class"].to_string());
    }
}
