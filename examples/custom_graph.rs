//! A network of your own from deeper's ops: a small residual CNN built layer by layer with
//! [`GraphBuilder`] (seeded random weights), fused and compiled for the GPU, checked against the
//! CPU reference of the same graph, then timed. Any graph the builder accepts runs this way.
//!
//! `cargo run --release --example custom_graph [-- <batch>]` (batch 4 by default).

use deeper::compare::{compare, NET_TOLERANCE};
use deeper::cpu;
use deeper::graph::fuse::fuse;
use deeper::graph::{infer, GraphBuilder};
use deeper::ops::{Activation, Pool2d};
use deeper::runtime::{Gpu, GpuOptions, Model};
use deeper::{Error, Result, Rng, Tensor};
use std::time::Instant;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let batch: usize = match std::env::args().nth(1) {
        Some(a) => a
            .parse()
            .map_err(|_| Error::Invalid(format!("batch '{a}' is not a number")))?,
        None => 4,
    };
    // 3×32×32 → conv 3×3 (16) → residual block → max pool → global average → linear(10).
    let relu = Activation::Relu;
    let (mut b, x) = GraphBuilder::new("tiny-resnet", 3, 32, 32, 42);
    let stem = b.conv("stem", x, 3, 16, 3, 1, 1, relu);
    let c1 = b.conv("block.conv1", stem, 16, 16, 3, 1, 1, relu);
    let c2 = b.conv("block.conv2", c1, 16, 16, 3, 1, 1, Activation::None);
    let sum = b.add_values("block.add", c2, stem, relu);
    let pooled = b.pool("pool", sum, Pool2d::max(2, 2, 0));
    let gap = b.adaptive_avg_pool("avgpool", pooled, 1, 1);
    let flat = b.flatten("flatten", gap);
    let fc = b.linear("fc", flat, 16, 10, Activation::None);
    let graph = b.finish(&[fc])?;

    for l in infer::summary(&graph)? {
        println!("{:12} {:8} {:?}", l.name, l.kind, l.output.dims());
    }
    let gpu = Gpu::new(&GpuOptions::from_env()?)?;
    let model = Model::compile(&gpu, &fuse(&graph).graph, batch, true)?;
    let input = Tensor::uniform(graph.input.with_n(batch), -1.0, 1.0, &mut Rng::new(7));
    let got = model.run(&input)?.remove(0);
    let want = cpu::run_outputs(&graph, &input)?.remove(0);
    let cmp = compare(&got, &want, NET_TOLERANCE);
    println!("GPU vs CPU reference: {cmp}");
    if !cmp.passed() {
        return Err(Error::Invalid(
            "the GPU result does not match the CPU".into(),
        ));
    }
    let runs = 20;
    let start = Instant::now();
    for _ in 0..runs {
        model.run(&input)?;
    }
    let ms = start.elapsed().as_secs_f64() * 1e3 / runs as f64;
    println!(
        "{ms:.3} ms per forward pass at batch {batch} (upload, run, readback; mean of {runs}) on {}",
        gpu.description()
    );
    Ok(())
}
