//! Criterion benchmarks of the layer suite (`deeper::bench::suite`): each real layer shape
//! compiled as a small graph through the production launch path. One iteration = one forward
//! pass on the GPU; `iter_custom` submits `iters` passes and waits for the device, so the time is
//! GPU work, not submission. Throughput is in FLOPs (2·MACs; bytes for layers without
//! multiplies), so criterion's "elem/s" reads as FLOP/s. Correctness is checked by
//! `deeper bench --layers` and the tests, not here. Filter cases as usual:
//! `cargo bench --bench ops -- resnet50`.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use deeper::bench::{self, node_cost, suite};
use deeper::check::random_input;
use deeper::graph::{fuse::fuse, infer};
use deeper::runtime::{Gpu, GpuOptions, Model};
use std::time::Duration;

fn ops(c: &mut Criterion) {
    let gpu = match GpuOptions::from_env().and_then(|o| Gpu::new(&o)) {
        Ok(g) => g,
        Err(e) => return eprintln!("SKIPPED: no GPU ({e})"),
    };
    let mut group = c.benchmark_group("ops");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for spec in suite::cases() {
        let graph = fuse(&spec.graph().expect("case graph")).graph;
        let shapes = infer::shapes(&graph, spec.batch).expect("shapes");
        let costs = (0..graph.nodes.len()).map(|i| node_cost(&graph, &shapes, i));
        let (macs, bytes) = costs.fold((0, 0), |(m, b), (cm, cb)| (m + cm, b + cb));
        group.throughput(if macs > 0 {
            Throughput::Elements(2 * macs)
        } else {
            Throughput::Bytes(bytes)
        });
        // Compiled (weights uploaded) only when the case is not filtered out.
        let mut model: Option<Model> = None;
        group.bench_function(spec.name, |b| {
            let model = model.get_or_insert_with(|| {
                let m = Model::compile(&gpu, &graph, spec.batch, true).expect("compile");
                let input = random_input(&graph, spec.batch, 1);
                m.run(&input).expect("first run");
                m
            });
            b.iter_custom(|iters| bench::time_passes(model, iters).expect("passes"))
        });
    }
    group.finish();
}

criterion_group!(benches, ops);
criterion_main!(benches);
