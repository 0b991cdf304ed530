//! Criterion benchmarks of whole networks at batch 1: ResNet-18, ResNet-50 and GoogLeNet,
//! fused and planned as `deeper run` runs them. One iteration = one forward pass; `iter_custom`
//! submits `iters` passes and waits for the device. Throughput is in images, so criterion's
//! "elem/s" reads as images/s. The input side is `DEEPER_BENCH_SIZE` (default 112, a quarter
//! of the work of the native 224, to keep `cargo bench` short on software GPUs).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use deeper::bench;
use deeper::check::random_input;
use deeper::graph::fuse::fuse;
use deeper::models::{self, ModelOptions};
use deeper::runtime::{Gpu, GpuOptions, Model};
use std::time::Duration;

const NETWORKS: &[&str] = &["resnet18", "resnet50", "googlenet"];
const BATCH: usize = 1;

fn size() -> usize {
    std::env::var("DEEPER_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(112)
}

fn networks(c: &mut Criterion) {
    let gpu = match GpuOptions::from_env().and_then(|o| Gpu::new(&o)) {
        Ok(g) => g,
        Err(e) => return eprintln!("SKIPPED: no GPU ({e})"),
    };
    let size = size();
    let mut group = c.benchmark_group("models");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(BATCH as u64));
    for net in NETWORKS {
        let opts = ModelOptions {
            size: Some(size),
            ..Default::default()
        };
        let graph = models::build(net, &opts).expect("network");
        let fused = fuse(&graph).graph;
        let input = random_input(&graph, BATCH, 1);
        // Compiled only when the network is not filtered out.
        let mut model: Option<Model> = None;
        group.bench_function(format!("{net}@{size}/b{BATCH}"), |b| {
            let model = model.get_or_insert_with(|| {
                let m = Model::compile(&gpu, &fused, BATCH, true).expect("compile");
                m.run(&input).expect("first run");
                m
            });
            b.iter_custom(|iters| bench::time_passes(model, iters).expect("passes"))
        });
    }
    group.finish();
}

criterion_group!(benches, networks);
criterion_main!(benches);
