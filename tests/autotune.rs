//! The tuning policy every entry point follows (`deeper::bench::tuning`) on the test device
//! (llvmpipe in CI: a CPU-type adapter): by default cached choices and the selection rule,
//! nothing timed; `Tuning::On` times what the cache lacks, pins every convolution and linear
//! layer, caches the choices, and a later tuning reads them without timing again; a tuned
//! graph computes the rule's logits. Timings are never compared (speed is for `deeper bench`).

mod common;

use deeper::bench::autotune::{Choice, Kernel, Tuner};
use deeper::bench::tuning::{tune, Tuned, Tuning};
use deeper::check::random_input;
use deeper::compare::{compare, NET_TOLERANCE};
use deeper::graph::fuse::fuse;
use deeper::graph::{Graph, GraphBuilder};
use deeper::ops::{Activation::Relu, ConvKernel, LinearKernel, Op};
use deeper::runtime::{Gpu, Model};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// The tests share one cache file (an environment variable of the process): one at a time.
static CACHE: Mutex<()> = Mutex::new(());

/// A fresh, empty cache file for this process.
fn empty_cache() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deeper-tuning-{}", std::process::id()));
    let path = dir.join("autotune.json");
    let _ = std::fs::remove_file(&path);
    std::env::set_var("DEEPER_AUTOTUNE_CACHE", &path);
    path
}

fn read_cache(path: &PathBuf) -> BTreeMap<String, String> {
    serde_json::from_str(&std::fs::read_to_string(path).expect("cache written")).expect("json")
}

/// conv 3x3 → conv 3x3/2 → fused residual conv → flatten → linear → linear, batch 2: two
/// convolutions of one shape (tuned once), a residual one and two linear layers.
fn small() -> Graph {
    let (mut b, x) = GraphBuilder::new("small", 8, 10, 10, 11);
    let y = b.conv("conv1", x, 8, 16, 3, 1, 1, Relu);
    let y = b.conv("conv2", y, 16, 32, 3, 2, 1, Relu);
    let z = b.conv("conv3", y, 32, 32, 3, 1, 1, Relu);
    let z = b.conv("conv4", z, 32, 32, 3, 1, 1, deeper::ops::Activation::None);
    let y = b.add_values("add", z, y, Relu);
    let y = b.flatten("flatten", y);
    let y = b.linear("fc1", y, 32 * 5 * 5, 24, Relu);
    let y = b.linear("fc2", y, 24, 10, deeper::ops::Activation::None);
    fuse(&b.finish(&[y]).expect("graph")).graph
}

/// A copy of a graph tuned, and what the tuning did.
struct Run {
    graph: Graph,
    choices: Vec<Choice>,
    tune_ms: f64,
}

/// `g` tuned at `batch` as `policy` says (on a copy).
fn tuned(gpu: &Gpu, g: &Graph, batch: usize, policy: Tuning) -> deeper::Result<Run> {
    let mut graph = g.clone();
    let Tuned { choices, tune_ms } = tune(gpu, &mut graph, batch, policy)?;
    Ok(Run {
        graph,
        choices,
        tune_ms,
    })
}

/// Every convolution's and linear layer's pinned kernel (`None` = `Auto`, the rule).
fn kernels(g: &Graph) -> Vec<(String, Option<Kernel>)> {
    g.nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv2d(_) | Op::Linear(_)))
        .map(|n| (n.name.clone(), Kernel::of(&n.op)))
        .collect()
}

#[test]
fn a_cpu_adapter_runs_the_rule_unless_tuning_is_forced_and_the_cache_is_then_used() {
    let Some(gpu) = common::gpu() else { return };
    let _one = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let path = empty_cache();
    let g = small();
    assert_eq!(kernels(&g).len(), 6, "{:?}", kernels(&g));
    if !gpu.is_hardware_gpu() {
        // Auto on a CPU adapter with an empty cache: the rule, nothing timed or written.
        let auto = tuned(gpu, &g, 2, Tuning::Auto).expect("auto");
        assert!(auto.choices.is_empty() && auto.tune_ms == 0.0);
        assert!(kernels(&auto.graph).iter().all(|(_, k)| k.is_none()));
        assert!(!path.exists());
    }
    // Forced: every layer pinned, each distinct shape timed once, the choices cached.
    let on = tuned(gpu, &g, 2, Tuning::On).expect("on");
    assert_eq!(
        on.choices.len(),
        5,
        "conv3/conv4 share a shape: {:?}",
        on.choices
    );
    assert!(on.choices.iter().all(|c| !c.timings.is_empty()));
    assert!(on.tune_ms > 0.0);
    let fc = on
        .choices
        .iter()
        .find(|c| c.layer == "fc1")
        .expect("fc1 tuned");
    assert!(fc.timings.len() >= 2, "linear candidates: {:?}", fc.timings);
    assert!(kernels(&on.graph).iter().all(|(_, k)| k.is_some()));
    let cache = read_cache(&path);
    assert_eq!(cache.len(), 5);
    for c in &on.choices {
        assert_eq!(cache[&c.key], c.kernel.name(), "{}", c.layer);
    }
    // Auto now: the cache's choices, nothing timed; Off: the rule, cache unread.
    let again = tuned(gpu, &g, 2, Tuning::Auto).expect("cached");
    assert!(again.choices.iter().all(|c| c.timings.is_empty()));
    assert_eq!(again.tune_ms, 0.0);
    assert_eq!(kernels(&again.graph), kernels(&on.graph));
    let off = tuned(gpu, &g, 2, Tuning::Off).expect("off").graph;
    assert!(kernels(&off).iter().all(|(_, k)| k.is_none()));
    // A cache edited by hand is obeyed as written (Direct / Scalar: never the rule's choice
    // for these layers), even by a forced tuning: cached shapes are not timed again.
    let edited: BTreeMap<String, String> = cache
        .keys()
        .map(|k| {
            let name = if k.contains("|linear ") {
                "Scalar"
            } else {
                "Direct"
            };
            (k.clone(), name.to_string())
        })
        .collect();
    std::fs::write(&path, serde_json::to_string(&edited).unwrap()).unwrap();
    for policy in [Tuning::Auto, Tuning::On] {
        let hit = tuned(gpu, &g, 2, policy).expect("edited cache");
        assert_eq!(hit.tune_ms, 0.0);
        for (name, k) in kernels(&hit.graph) {
            let want = match name.starts_with("fc") {
                true => Kernel::Linear(LinearKernel::Scalar),
                false => Kernel::Conv(ConvKernel::Direct),
            };
            assert_eq!(k, Some(want), "{name}");
        }
    }
    // Another batch is another key: not in the cache, so timed (forced) or the rule (Auto).
    assert_eq!(Tuner::load().missing(gpu, &g, 3).expect("missing"), 5);
}

#[test]
fn a_tuned_graph_computes_the_rules_logits() {
    let Some(gpu) = common::gpu() else { return };
    let _one = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    empty_cache();
    let g = small();
    let input = random_input(&g, 2, 5);
    let run = |graph: &Graph| {
        let m = Model::compile(gpu, graph, 2, true).expect("compile");
        m.run(&input).expect("run").remove(0)
    };
    let rule = run(&tuned(gpu, &g, 2, Tuning::Off).expect("off").graph);
    let on = tuned(gpu, &g, 2, Tuning::On).expect("on");
    let c = compare(&run(&on.graph), &rule, NET_TOLERANCE);
    assert!(c.passed(), "tuned vs rule: {c}");
    let want = deeper::cpu::run_outputs(&g, &input).expect("cpu");
    let c = compare(&rule, &want[0], NET_TOLERANCE);
    assert!(c.passed(), "rule vs CPU: {c}");
}

/// `DEEPER_AUTOTUNE` accepts 1, 0 or nothing; anything else stops a command before it opens
/// the device, naming the variable.
#[test]
fn an_invalid_deeper_autotune_is_an_error() {
    let _one = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(["check", "lenet5"])
        .env("DEEPER_AUTOTUNE", "yes")
        .output()
        .expect("deeper runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DEEPER_AUTOTUNE is 'yes'"), "{err}");
    let both = std::process::Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(["run", "lenet5", "--autotune", "--no-autotune"])
        .output()
        .expect("deeper runs");
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}

/// The C ABI's model creation follows the same policy from `DEEPER_AUTOTUNE`: forced on, it
/// times LeNet-5's layers into the cache; an invalid value fails with the variable named.
#[test]
fn the_c_abi_tunes_as_deeper_autotune_says() {
    use deeper::ffi::*;
    use std::ptr::null;
    if common::gpu().is_none() {
        return;
    }
    let _one = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let path = empty_cache();
    let mut gpu = std::ptr::null_mut();
    assert_eq!(unsafe { deeper_gpu_open(&mut gpu) }, DeeperStatus::Ok);
    let net = c"lenet5";
    let new = |model: &mut *mut DeeperModel| unsafe {
        deeper_model_new(gpu, net.as_ptr(), null(), 2, 0, model)
    };
    let mut model = std::ptr::null_mut();
    std::env::set_var("DEEPER_AUTOTUNE", "sometimes");
    assert_eq!(new(&mut model), DeeperStatus::Error);
    let msg = unsafe { std::ffi::CStr::from_ptr(deeper_last_error()) };
    assert!(msg
        .to_string_lossy()
        .contains("DEEPER_AUTOTUNE is 'sometimes'"));
    assert!(!path.exists());
    std::env::set_var("DEEPER_AUTOTUNE", "1");
    let status = new(&mut model);
    std::env::remove_var("DEEPER_AUTOTUNE");
    assert_eq!(status, DeeperStatus::Ok);
    // LeNet-5: 2 convolutions and 3 linear layers, every one a distinct shape.
    assert_eq!(read_cache(&path).len(), 5);
    unsafe {
        deeper_model_free(model);
        deeper_gpu_free(gpu);
    }
}
