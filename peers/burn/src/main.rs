//! Times Burn 0.22.1 (wgpu backend, its default fusion and autotune) on the networks deeper
//! compares itself with, on the same device, as a user of Burn would run them: torchvision's
//! architectures with random weights, batch 1, 224×224, f32. Per network: the first forward
//! (shader compilation and autotuning) and the median of the next runs, each run being
//! upload + forward + readback, as `deeper bench`'s end-to-end column.
//!
//! The single convolutions of `deeper bench --layers` (alexnet.conv1, vgg.conv3, resnet50.1x1,
//! resnet50.3x3, inception.5x5; conv + bias + ReLU) are timed on the device alone: the input
//! stays on it, and a run is forward + `Device::sync`, against deeper's summed GPU time.
//!
//!     cargo run --release -- [--runs N] [NETWORK|<layer> ...]
//!
//! NETWORK: resnet18, resnet50, googlenet, vgg16, vgg16-convs, alexnet, alexnet-convs.
//! Prints one JSON object per network on stdout: {"network", "first_ms", "median_ms", "runs"}
//! (layers add "gflops"), or {"network", "error"} when Burn fails (VGG-16's 411 MB and AlexNet's
//! 151 MB fc6 weights on llvmpipe).

mod nets;

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 9;
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--runs" {
            runs = it.next().and_then(|n| n.parse().ok()).expect("--runs N");
        } else {
            names.push(a.clone());
        }
    }
    if names.is_empty() {
        names = [
            "resnet18",
            "resnet50",
            "googlenet",
            "vgg16",
            "vgg16-convs",
            "alexnet",
            "alexnet-convs",
        ]
        .map(String::from)
        .to_vec();
    }
    let device = Device::wgpu(Default::default());
    for name in &names {
        let outcome = std::panic::catch_unwind(|| time_network(name, &device, runs))
            .unwrap_or_else(|p| Err(root_cause(&panic_message(p))));
        println!("{}", json_line(name, runs, outcome));
    }
}

/// One network's result as a JSON object (a string's Debug form is a valid JSON string here:
/// Burn's messages are ASCII).
fn json_line(name: &str, runs: usize, outcome: Result<(f64, f64, Option<f64>), String>) -> String {
    match outcome {
        Ok((first, median, macs)) => {
            let rate = macs.map_or(String::new(), |m| {
                format!(", \"gflops\": {:.2}", 2.0 * m / median / 1e6)
            });
            format!(
                "{{\"network\": \"{name}\", \"first_ms\": {first:.1}, \"median_ms\": {median:.2}, \"runs\": {runs}{rate}}}"
            )
        }
        Err(e) => format!("{{\"network\": \"{name}\", \"error\": {e:?}}}"),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// The innermost cause of one of Burn's multi-line errors (its last line that says something).
fn root_cause(msg: &str) -> String {
    let noise = ["Caused by:", "No backtrace available", "Asked at:"];
    msg.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !noise.contains(l) && !l.starts_with("skipped"))
        .unwrap_or(msg)
        .to_string()
}

/// (first forward ms, median ms of `runs` later ones, the layer's multiply-adds if a layer).
fn time_network(
    name: &str,
    device: &Device,
    runs: usize,
) -> Result<(f64, f64, Option<f64>), String> {
    let net = nets::Model::build(name, device).ok_or_else(|| format!("unknown network {name}"))?;
    let shape = net.input;
    let macs = net.macs;
    let x = Tensor::<4>::random(shape, Distribution::Default, device);
    let input: Vec<f32> = x
        .clone()
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    let once = || {
        let t = Instant::now();
        if macs.is_some() {
            std::hint::black_box(net.forward(x.clone()));
            device.sync().map_err(|e| root_cause(&format!("{e}")))?;
        } else {
            let x = Tensor::<4>::from_data(TensorData::new(input.clone(), shape), device);
            let y = net
                .forward(x)
                .try_into_data()
                .map_err(|e| root_cause(&format!("{e}")))?;
            std::hint::black_box(y);
        }
        Ok::<f64, String>(t.elapsed().as_secs_f64() * 1e3)
    };
    let first = once()?;
    let mut ms = (0..runs)
        .map(|_| once())
        .collect::<Result<Vec<f64>, String>>()?;
    ms.sort_by(f64::total_cmp);
    Ok((first, ms[ms.len() / 2], macs))
}
