//! Shared test helpers: one GPU per test binary (skipped with a message when none is found,
//! a failure when `DEEPER_REQUIRE_GPU=1`), and the GPU-vs-CPU check of one op.
#![allow(dead_code)]

pub mod cases;
pub mod heads;

use deeper::compare::{compare, Comparison, OP_TOLERANCE};
use deeper::ops::Op;
use deeper::runtime::{run_op, Gpu, GpuOptions};
use deeper::{Shape, Tensor};
use std::sync::OnceLock;

/// Three of the real MNIST digits in `data/digits` (their file names start with the digit).
pub const DIGITS: [&str; 3] = ["0.png", "7.png", "3.png"];

/// The path of `data/digits/<name>`.
pub fn digit(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/digits")
        .join(name)
}

/// The shared GPU, or `None` (with a message) when there is none and it is not required.
pub fn gpu() -> Option<&'static Gpu> {
    static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| match GpuOptions::from_env().and_then(|o| Gpu::new(&o)) {
        Ok(g) => Some(g),
        Err(e) if std::env::var("DEEPER_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("DEEPER_REQUIRE_GPU=1 but no GPU: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: GPU tests need an adapter ({e})");
            None
        }
    })
    .as_ref()
}

/// A GPU with a forced small binding limit (to exercise the split paths).
pub fn small_binding_gpu(max_binding: u64) -> Option<Gpu> {
    gpu()?;
    let opts = GpuOptions {
        max_binding: Some(max_binding),
        ..GpuOptions::from_env().expect("DEEPER_* variables")
    };
    Some(Gpu::new(&opts).expect("second device"))
}

/// Runs `op` on the GPU (NaN-poisoned output) and on the CPU, and compares.
pub fn gpu_vs_cpu(gpu: &Gpu, op: &Op, inputs: &[&Tensor], params: &[Tensor]) -> Comparison {
    let shapes: Vec<Shape> = inputs.iter().map(|t| t.shape).collect();
    let out = op.output_shape("test", &shapes).expect("output shape");
    let want = op.cpu(inputs, params, out);
    let got = run_op(gpu, op, "test", inputs, params).expect("gpu run");
    compare(&got, &want, OP_TOLERANCE)
}

/// Asserts the comparison passed, printing the case when it did not; returns the error.
pub fn assert_close(case: &str, c: &Comparison) -> f64 {
    assert!(c.passed(), "{case}: {c}");
    c.rel_l2
}

/// Random parameters for `op` (uniform in ±scale; BN variances positive).
pub fn random_params(op: &Op, rng: &mut deeper::Rng) -> Vec<Tensor> {
    op.param_shapes()
        .into_iter()
        .map(|(name, s)| match name {
            "running_var" => Tensor::uniform(s, 0.5, 2.0, rng),
            "weight" if matches!(op, Op::BatchNorm2d(_)) => Tensor::uniform(s, 0.5, 1.5, rng),
            _ => Tensor::uniform(s, -0.5, 0.5, rng),
        })
        .collect()
}

/// Runs `op` on the GPU and compares with a CPU result computed once by the caller (so several
/// kernels of one op can share it); asserts the comparison passed and returns the rel L2 error.
pub fn check_gpu(
    gpu: &Gpu,
    case: &str,
    op: &Op,
    inputs: &[&Tensor],
    params: &[Tensor],
    want: &Tensor,
) -> f64 {
    let got = run_op(gpu, op, "test", inputs, params)
        .unwrap_or_else(|e| panic!("{case}: GPU run failed: {e}"));
    assert_close(case, &compare(&got, want, OP_TOLERANCE))
}

/// The CPU reference of `op` on `inputs`.
pub fn cpu_ref(op: &Op, inputs: &[&Tensor], params: &[Tensor]) -> Tensor {
    let shapes: Vec<Shape> = inputs.iter().map(|t| t.shape).collect();
    let out = op.output_shape("test", &shapes).expect("output shape");
    op.cpu(inputs, params, out)
}

/// The largest relative L2 error seen per op; [`MaxErr::report`] prints one
/// `max rel L2 <op>: <value>` line each (visible with `--nocapture`).
#[derive(Default)]
pub struct MaxErr(std::sync::Mutex<std::collections::BTreeMap<String, f64>>);

impl MaxErr {
    pub fn record(&self, op: &str, err: f64) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(op.to_string()).or_insert(0.0);
        *e = e.max(err);
    }

    /// Prints the lines in one write, so that tests running in parallel do not interleave them.
    pub fn report(&self) {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let lines: String = m
            .iter()
            .map(|(op, e)| format!("max rel L2 {op}: {e:.3e}\n"))
            .collect();
        eprint!("{lines}");
    }
}

/// Property-test settings: `cases` cases, a fixed seed (reproducible runs; set
/// `PROPTEST_RNG_SEED` to explore others), no regression files, bounded shrinking.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let mut c = Config::with_cases(cases);
    if matches!(c.rng_seed, RngSeed::Random) {
        c.rng_seed = RngSeed::Fixed(0xDEE9E5);
    }
    c.failure_persistence = None;
    c.max_shrink_iters = 512;
    c
}

/// Runs `test` on `cases` values drawn from `strategy`. A panic in `test` (e.g. from
/// [`assert_close`]) fails the case; proptest shrinks it and this panics with the smallest
/// failing value. Skipped (with the message from [`gpu`]) when there is no GPU.
pub fn check_cases<S>(name: &str, cases: u32, strategy: S, test: impl Fn(&Gpu, S::Value))
where
    S: proptest::strategy::Strategy,
    S::Value: std::fmt::Debug,
{
    let Some(gpu) = gpu() else { return };
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(cases));
    if let Err(e) = runner.run(&strategy, |v| {
        test(gpu, v);
        Ok(())
    }) {
        panic!("{name}: {e}");
    }
}
