//! Every convolution kernel and every linear kernel on the layer classes of the classic
//! networks, side by side: median GPU ms per layer (timestamps), each run checked against the
//! CPU reference. What the selection rule picks on this device is marked `*`. On a CPU
//! adapter (llvmpipe) the direct kernel is skipped on layers over 300 M multiply-adds (tens of
//! seconds each there).
//!
//! `cargo run --release --example kernel_compare [-- <batch> [<filter>]]` (batch 1 by default).

use deeper::bench::{measure, peak, BenchOptions};
use deeper::check::random_input;
use deeper::compare::{compare, OP_TOLERANCE};
use deeper::cpu;
use deeper::graph::{Graph, GraphBuilder};
use deeper::ops::{Conv2d, ConvKernel, Linear, LinearKernel, Op};
use deeper::runtime::{Gpu, GpuOptions, Model, Timing};

/// `(name, C_in, C_out, k, stride, pad, plane)`.
const CONVS: [(&str, usize, usize, usize, usize, usize, usize); 9] = [
    ("alexnet.conv1 11x11/4", 3, 64, 11, 4, 2, 224),
    ("vgg.conv3 3x3", 256, 256, 3, 1, 1, 56),
    ("resnet.3x3 @56", 64, 64, 3, 1, 1, 56),
    ("resnet.1x1 @56", 256, 64, 1, 1, 0, 56),
    ("resnet.l3 3x3 @14", 256, 256, 3, 1, 1, 14),
    ("resnet.l4 3x3 @7", 512, 512, 3, 1, 1, 7),
    ("resnet.l4 1x1 @7", 2048, 512, 1, 1, 0, 7),
    ("resnet.down 3x3/2 @14", 256, 256, 3, 2, 1, 28),
    ("inception 5x5 @28", 192, 32, 5, 1, 2, 28),
];

fn one_op(name: &str, op: Op, c: usize, hw: usize) -> Graph {
    let (mut b, x) = GraphBuilder::new(name, c, hw, hw, 5);
    let y = b.add("layer", op, &[x]);
    b.finish(&[y]).expect("graph")
}

/// Median GPU ms of the single layer, or why it did not run.
fn time(gpu: &Gpu, g: &Graph, n: usize, opts: &BenchOptions, pk: &peak::Peak) -> String {
    let run = || -> deeper::Result<String> {
        let model = Model::compile(gpu, g, n, true)?;
        let input = random_input(g, n, 7);
        let got = model.run(&input)?;
        let want = cpu::run_outputs(g, &input)?;
        let cmp = compare(&got[0], &want[0], OP_TOLERANCE);
        let m = measure(&model, &input, opts, pk)?;
        let ms: f64 = m.layers.iter().map(|l| l.gpu_ms).sum();
        let ok = if cmp.passed() { "" } else { " FAIL" };
        Ok(format!("{ms:8.3}{ok}"))
    };
    run().unwrap_or_else(|e| format!("error: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(1, |a| a.parse().expect("batch"));
    let filter = args.get(2).cloned().unwrap_or_default();
    let gpu = Gpu::new(&GpuOptions::from_env().expect("DEEPER_* variables")).expect("gpu");
    let caps = gpu.caps();
    let pk = peak::cached_or_quick(&gpu, Timing::Timestamps).expect("peak");
    let opts = BenchOptions {
        runs: 3,
        timing: Timing::Timestamps,
        autotune: false,
    };
    println!("device: {} · {caps:?} · batch {n}", gpu.description());
    for (name, cin, cout, k, s, p, hw) in CONVS.into_iter().filter(|c| c.0.contains(&filter)) {
        let conv = Conv2d::new(cin, cout, k, s, p);
        let (oh, ow) = conv.window.output_hw(name, hw, hw).expect("shape");
        let rule = conv.resolve(&caps, deeper::Shape::new(n, cout, oh, ow));
        let mut row = format!("{name:24}");
        for kernel in ConvKernel::ALL {
            let forced = Conv2d {
                kernel,
                ..conv.clone()
            };
            let out = deeper::Shape::new(n, cout, oh, ow);
            let slow =
                !caps.is_gpu() && kernel == ConvKernel::Direct && conv.macs(out) > 300_000_000;
            let cell = if forced.resolve(&caps, out) != kernel || slow {
                "       -".to_string()
            } else {
                time(
                    &gpu,
                    &one_op(name, Op::Conv2d(forced), cin, hw),
                    n,
                    &opts,
                    &pk,
                )
            };
            let mark = if kernel == rule { "*" } else { " " };
            row += &format!(" {kernel:?}{mark}{cell}");
        }
        println!("{row}");
    }
    for (name, inf, outf) in [("vgg.fc6", 25088, 4096), ("resnet.fc", 2048, 1000)] {
        if !name.contains(&filter) {
            continue;
        }
        let rule = Linear::new(inf, outf).resolve(&caps, n);
        let mut row = format!("{name:24}");
        for kernel in LinearKernel::ALL {
            let op = Op::Linear(Linear {
                kernel,
                ..Linear::new(inf, outf)
            });
            let mark = if kernel == rule { "*" } else { " " };
            let cell = time(&gpu, &one_op(name, op, inf, 1), n, &opts, &pk);
            row += &format!(" {kernel:?}{mark}{cell}");
        }
        println!("{row}");
    }
}
