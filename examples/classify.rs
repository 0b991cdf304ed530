//! Image → top-5 labels: the README's library example as a program. Builds the network, loads
//! its weights (a safetensors file, or LeNet-5's built-in MNIST weights), preprocesses the
//! image as torchvision does, compiles for the GPU and prints the five most probable classes.
//!
//! ```text
//! cargo run --release --example classify -- data/digits/7.png                  (lenet5, built in)
//! cargo run --release --example classify -- cat.jpg resnet50 resnet50.safetensors
//! ```

use deeper::bench::tuning::{tune_graph, Tuning};
use deeper::graph::fuse::fuse;
use deeper::models::{build, weights, ModelOptions};
use deeper::preprocess::{transform_input, Preprocess};
use deeper::runtime::{Gpu, GpuOptions, Model};
use deeper::{labels, Error, Result};
use std::path::Path;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (image, net, file) = match &args[..] {
        [image] => (image, "lenet5", None),
        [image, net] => (image, net.as_str(), None),
        [image, net, file] => (image, net.as_str(), Some(Path::new(file))),
        _ => {
            return Err(Error::Invalid(
                "usage: classify IMAGE [NETWORK [WEIGHTS.safetensors]] (default: lenet5)".into(),
            ))
        }
    };
    let gpu = Gpu::new(&GpuOptions::from_env()?)?;
    let (pre, transform) = Preprocess::for_weights(net, file)?;
    let opts = ModelOptions {
        size: Some(pre.size()),
        ..Default::default()
    };
    let mut graph = build(net, &opts)?;
    let source = weights::load_or_builtin(&mut graph, file, false, opts.seed)?;
    let mut x = pre.load(Path::new(image))?;
    if transform {
        transform_input(&mut x)?;
    }
    let tuned = tune_graph(&gpu, fuse(&graph).graph, 1, Tuning::from_env()?)?;
    let model = Model::compile(&gpu, &tuned, 1, true)?;
    let logits = model.run(&x)?.remove(0);
    println!("{image}: {net} on {}", gpu.description());
    match source {
        weights::Source::Random(_) => {
            println!("weights: {source}: RANDOM, NOT TRAINED: these predictions mean nothing")
        }
        _ => println!("weights: {source}"),
    }
    for p in &labels::top_k(&logits, 5)[0] {
        println!("{:6.2}%  {:>4}  {}", p.prob * 100.0, p.class, p.label);
    }
    Ok(())
}
