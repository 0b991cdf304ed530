//! Times Burn 0.22.1 (wgpu backend, its default fusion and autotune) on the networks deeper
//! compares itself with, on the same device, as a user of Burn would run them: torchvision's
//! architectures with random weights, batch 1, 224×224, f32. Per network: the first forward
//! (shader compilation and autotuning) and the median of the next runs, each run being
//! upload + forward + readback, as `deeper bench`'s end-to-end column.
//!
//!     cargo run --release -- [--runs N] [resnet18|resnet50|vgg16|vgg16-convs ...]
//!
//! Prints one JSON object per network on stdout: {"network", "first_ms", "median_ms", "runs"}
//! or {"network", "error"} when Burn fails (VGG-16's 411 MB fc6 weight on llvmpipe).

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
        names = ["resnet18", "resnet50", "vgg16", "vgg16-convs"]
            .map(String::from)
            .to_vec();
    }
    let device = Device::wgpu(Default::default());
    for name in &names {
        let line = match std::panic::catch_unwind(|| time_network(name, &device, runs)) {
            Ok(Ok((first, median))) => format!(
                "{{\"network\": \"{name}\", \"first_ms\": {first:.1}, \"median_ms\": {median:.1}, \"runs\": {runs}}}"
            ),
            Ok(Err(e)) => format!("{{\"network\": \"{name}\", \"error\": {e:?}}}"),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                format!("{{\"network\": \"{name}\", \"error\": {:?}}}", msg.lines().next().unwrap_or(""))
            }
        };
        println!("{line}");
    }
}

/// The innermost cause of one of Burn's multi-line errors (its last line that says something).
fn root_cause(msg: &str) -> String {
    let noise = ["Caused by:", "No backtrace available", "Asked at:"];
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !noise.contains(l) && !l.starts_with("skipped"))
        .last()
        .unwrap_or(msg)
        .to_string()
}

/// (first forward ms, median ms of `runs` later ones).
fn time_network(name: &str, device: &Device, runs: usize) -> Result<(f64, f64), String> {
    let net = nets::Net::build(name, device).ok_or_else(|| format!("unknown network {name}"))?;
    let input: Vec<f32> = Tensor::<4>::random([1, 3, 224, 224], Distribution::Default, device)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    let once = || {
        let t = Instant::now();
        let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [1, 3, 224, 224]), device);
        let y = net
            .forward(x)
            .try_into_data()
            .map_err(|e| root_cause(&format!("{e}")))?;
        std::hint::black_box(y);
        Ok::<f64, String>(t.elapsed().as_secs_f64() * 1e3)
    };
    let first = once()?;
    let mut ms = (0..runs)
        .map(|_| once())
        .collect::<Result<Vec<f64>, String>>()?;
    ms.sort_by(f64::total_cmp);
    Ok((first, ms[ms.len() / 2]))
}
