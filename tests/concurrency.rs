//! One model, many callers: threads sharing one model get, bit for bit, what a
//! serial run gives for their own input; a model per thread on one GPU too; a dropped model
//! returns its memory at once; waits end (a busy pool, a slow device) with `Error::Timeout`;
//! a destroyed device turns every call into `Error::DeviceLost`, concurrent ones included, and
//! a new GPU works afterwards; a tensor whose values do not fill its shape is refused; a model
//! owns its device handle (no lifetime).

mod common;

use deeper::graph::fuse::fuse;
use deeper::graph::Graph;
use deeper::models::{build, ModelOptions};
use deeper::ops::{Op, Pool2d};
use deeper::runtime::{run_op, CompileOptions, Gpu, GpuOptions, Model};
use deeper::{cpu, Error, Rng, Shape, Tensor};
use std::time::Duration;

const THREADS: usize = 4;
const RUNS: usize = 25;

fn network(name: &str, size: Option<usize>) -> Graph {
    let opts = ModelOptions {
        size,
        ..Default::default()
    };
    fuse(&build(name, &opts).unwrap()).graph
}

/// `k` distinct random inputs for `model`.
fn inputs(model: &Model, k: usize) -> Vec<Tensor> {
    let mut rng = Rng::new(18);
    (0..k)
        .map(|_| Tensor::uniform(model.shapes()[0], -1.0, 1.0, &mut rng))
        .collect()
}

fn bits(outs: &[Tensor]) -> Vec<Vec<u32>> {
    outs.iter()
        .map(|t| t.data.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// THREADS × RUNS runs of `model`, thread `t`'s run `i` on input `(3t + i) mod k`; the number
/// of results that differ bit for bit from the serial result of their input.
fn wrong_results(model: &Model, xs: &[Tensor]) -> usize {
    let want: Vec<_> = xs.iter().map(|x| bits(&model.run(x).unwrap())).collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (want, xs) = (&want, xs);
                s.spawn(move || {
                    (0..RUNS)
                        .filter(|i| {
                            let k = (3 * t + i) % xs.len();
                            bits(&model.run(&xs[k]).unwrap()) != want[k]
                        })
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
}

#[test]
fn threads_sharing_lenet5_get_their_own_results() {
    let Some(gpu) = common::gpu() else { return };
    let model = Model::compile(gpu, &network("lenet5", None), 2, true).unwrap();
    let xs = inputs(&model, 7);
    assert_eq!(wrong_results(&model, &xs), 0);
    assert!(model.contexts() > 1, "the threads never overlapped");
    assert!(model.contexts() <= deeper::runtime::DEFAULT_MAX_CONTEXTS);
}

#[test]
fn threads_sharing_resnet18_get_their_own_results() {
    let Some(gpu) = common::gpu() else { return };
    let model = Model::compile(gpu, &network("resnet18", Some(64)), 1, true).unwrap();
    let xs = inputs(&model, 5);
    assert_eq!(wrong_results(&model, &xs), 0);
}

/// With one context, callers queue for it and still get their own results.
#[test]
fn one_context_serialises_callers() {
    let Some(gpu) = common::gpu() else { return };
    let opts = CompileOptions {
        max_contexts: 1,
        ..Default::default()
    };
    let model = Model::compile_with(gpu, &network("lenet5", None), 1, &opts).unwrap();
    let xs = inputs(&model, 5);
    assert_eq!(wrong_results(&model, &xs), 0);
    assert_eq!(model.contexts(), 1);
}

/// A model owns its handle to the device: it outlives the `Gpu` it was compiled on, lives in
/// a struct of its own and moves to a `'static` thread, and gives what a model compiled on the
/// caller's still-open handle gives.
#[test]
fn a_model_outlives_the_gpu_handle_it_was_compiled_on() {
    let Some(shared) = common::gpu() else { return };
    struct Classifier {
        model: Model,
    }
    let build = || {
        let gpu = shared.clone();
        Classifier {
            model: Model::compile(&gpu, &network("lenet5", None), 1, true).unwrap(),
        }
    };
    let owned = build();
    let x = inputs(&owned.model, 1).remove(0);
    let want = bits(
        &Model::compile(shared, &network("lenet5", None), 1, true)
            .unwrap()
            .run(&x)
            .unwrap(),
    );
    let got = std::thread::spawn(move || bits(&owned.model.run(&x).unwrap()))
        .join()
        .unwrap();
    assert_eq!(got, want);
}

#[test]
fn a_model_per_thread_on_one_gpu() {
    let Some(gpu) = common::gpu() else { return };
    let graph = network("lenet5", None);
    let serial = Model::compile(gpu, &graph, 1, true).unwrap();
    let xs = inputs(&serial, 5);
    let want: Vec<_> = xs.iter().map(|x| bits(&serial.run(x).unwrap())).collect();
    let wrong: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (graph, want, xs) = (&graph, &want, &xs);
                s.spawn(move || {
                    let model = Model::compile(gpu, graph, 1, true).unwrap();
                    (0..RUNS)
                        .filter(|i| {
                            let k = (t + i) % xs.len();
                            bits(&model.run(&xs[k]).unwrap()) != want[k]
                        })
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(wrong, 0);
}

/// A compiled model keeps no host copy of its weights (they are on the GPU; the caller's graph
/// has them): its graph is the structure alone, and it still runs.
#[test]
fn a_model_keeps_no_host_copy_of_its_weights() {
    let Some(gpu) = common::gpu() else { return };
    let graph = network("resnet18", Some(32));
    let model = Model::compile(gpu, &graph, 1, true).unwrap();
    assert!(
        model.weight_bytes() > 40 << 20,
        "ResNet-18's weights are on the GPU"
    );
    let held: usize = model.graph.nodes.iter().map(|n| n.params.len()).sum();
    assert_eq!(held, 0, "host tensors kept by the model");
    let x = inputs(&model, 1).remove(0);
    assert_eq!(model.run(&x).unwrap()[0].shape.c, 1000);
}

/// The process's resident memory (llvmpipe's device memory is host memory).
#[cfg(target_os = "linux")]
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// 100 compile + drop cycles of ResNet-18 (47 MB of weights) with no run between them keep the
/// process's memory within 10% (before the fix, each cycle kept one copy of the weights until
/// some later submission).
#[cfg(target_os = "linux")]
#[test]
fn dropping_a_model_returns_its_memory() {
    let Some(gpu) = common::gpu() else { return };
    let graph = network("resnet18", Some(64));
    let cycle = || drop(Model::compile(gpu, &graph, 1, true).unwrap());
    (0..5).for_each(|_| cycle());
    let before = rss_bytes();
    (0..100).for_each(|_| cycle());
    let after = rss_bytes();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    assert!(
        (after as f64) < 1.1 * before as f64,
        "RSS {:.0} MiB -> {:.0} MiB over 100 compile + drop cycles",
        mib(before),
        mib(after)
    );
}

fn gpu_with_timeout(timeout: Duration) -> Option<Gpu> {
    common::gpu()?;
    let opts = GpuOptions {
        timeout: Some(timeout),
        ..GpuOptions::from_env().expect("DEEPER_* variables")
    };
    Some(Gpu::new(&opts).expect("second device"))
}

/// A caller that finds every context busy waits at most the timeout, then gets
/// `Error::Timeout`; the model works again once the context is back.
#[test]
fn a_busy_pool_times_out() {
    let Some(gpu) = gpu_with_timeout(Duration::from_secs(3)) else {
        return;
    };
    let opts = CompileOptions {
        max_contexts: 1,
        ..Default::default()
    };
    let model = Model::compile_with(&gpu, &network("lenet5", None), 1, &opts).unwrap();
    let x = &inputs(&model, 1)[0];
    let held = model.context().unwrap();
    let err = std::thread::scope(|s| s.spawn(|| model.run(x)).join().unwrap()).unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { what, .. } if what.contains("execution context")),
        "{err}"
    );
    drop(held);
    model.run(x).unwrap();
}

/// A device slower than the timeout gives `Error::Timeout`, not a hang.
#[test]
fn a_slow_device_times_out() {
    let Some(gpu) = gpu_with_timeout(Duration::from_micros(1)) else {
        return;
    };
    let model = Model::compile(&gpu, &network("resnet18", Some(64)), 1, true);
    let err = model.and_then(|m| m.run(&inputs(&m, 1)[0]).map(|_| ()));
    assert!(matches!(err, Err(Error::Timeout { .. })), "{err:?}");
}

/// A destroyed device (a GPU reset or removal): calls in flight in four threads and every
/// later call end in `Error::DeviceLost`; a new GPU opened afterwards works.
#[test]
fn a_lost_device_gives_errors_not_hangs() {
    let Some(gpu) = gpu_with_timeout(Duration::from_secs(20)) else {
        return;
    };
    let graph = network("lenet5", None);
    let model = Model::compile(&gpu, &graph, 1, true).unwrap();
    let x = inputs(&model, 1).remove(0);
    let want = bits(&model.run(&x).unwrap());
    let errors: Vec<Error> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (model, x) = (&model, &x);
                s.spawn(move || loop {
                    if let Err(e) = model.run(x) {
                        return e;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        gpu.destroy();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for e in errors {
        assert!(matches!(e, Error::DeviceLost(_)), "{e}");
    }
    let lost = |r: deeper::Result<()>| matches!(r, Err(Error::DeviceLost(_)));
    assert!(lost(model.run(&x).map(|_| ())));
    assert!(lost(model.context().map(|_| ())));
    assert!(lost(Model::compile(&gpu, &graph, 1, true).map(|_| ())));
    let pool = Op::Pool2d(Pool2d::max(2, 2, 0));
    assert!(lost(run_op(&gpu, &pool, "pool", &[&x], &[]).map(|_| ())));
    assert!(lost(gpu.wait()));
    drop(model);

    let fresh = Gpu::new(&GpuOptions::from_env().unwrap()).unwrap();
    let again = Model::compile(&fresh, &graph, 1, true).unwrap();
    assert_eq!(bits(&again.run(&x).unwrap()), want);
}

/// A tensor built field by field with 10 values for a [1, 1, 32, 32] shape is refused by every
/// boundary, with both sizes in the message (before, `run` wrote the 10 values and computed
/// on the rest of the previous call's input).
#[test]
fn a_short_tensor_is_refused() {
    let short = Tensor {
        shape: Shape::new(1, 1, 32, 32),
        data: vec![0.5; 10],
    };
    let names_both = |e: Error| {
        let m = e.to_string();
        assert!(m.contains("1024") && m.contains("10"), "{m}");
    };
    let graph = network("lenet5", None);
    names_both(cpu::run(&graph, &short).unwrap_err());
    let Some(gpu) = common::gpu() else { return };
    let model = Model::compile(gpu, &graph, 1, true).unwrap();
    names_both(model.run(&short).unwrap_err());
    names_both(model.context().unwrap().run(&short).unwrap_err());
    assert_eq!(model.contexts(), 1, "a refused input destroyed its context");
    let pool = Op::Pool2d(Pool2d::max(2, 2, 0));
    names_both(run_op(gpu, &pool, "pool", &[&short], &[]).unwrap_err());
}

/// `deeper bench NET --threads N`'s measurement: one caller, then N at once, on one model.
#[test]
fn throughput_reports_one_and_many_callers() {
    let Some(gpu) = common::gpu() else { return };
    let opts = deeper::bench::BenchOptions {
        runs: 3,
        timing: deeper::runtime::Timing::WallClock,
        autotune: false,
    };
    let r = deeper::bench::throughput(gpu, "lenet5", 2, None, 3, &opts).unwrap();
    assert_eq!((r.one.threads, r.one.runs), (1, 3));
    assert_eq!((r.many.threads, r.many.runs), (3, 9));
    assert!(r.one.images_per_s > 0.0 && r.many.images_per_s > 0.0);
    assert!((1..=3).contains(&r.contexts), "{} contexts", r.contexts);
    assert!(r.weight_bytes > 0 && r.context_bytes > 0);
}
