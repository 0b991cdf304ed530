//! `deeper bench conv|pool|linear`: one layer of any shape, timed with every kernel variant
//! that can run it (or the one `--kernel-variant` names), as a table or one JSON document
//! holding every variant's time. The measuring is `deeper::bench::layer`.

use crate::parse::{at_least_one, batch, runs, side};
use crate::table::{measured, Table, MEASURED};
use clap::{Args, Subcommand};
use deeper::bench::layer::{bench_layer, LayerBench, LayerSpec};
use deeper::bench::{peak, BenchOptions};
use deeper::ops::Pool2d;
use deeper::runtime::{Gpu, GpuOptions, Timing};
use deeper::{Error, Result};

/// The layer kinds `deeper bench` times alone.
#[derive(Subcommand)]
pub enum LayerCmd {
    /// One convolution: `--in C --out K --size S [--kernel 3 --stride 1 --pad 0 --dilation 1
    /// --groups 1]`.
    Conv {
        /// Input channels.
        #[arg(long = "in", value_parser = at_least_one)]
        cin: usize,
        /// Output channels.
        #[arg(long, value_parser = at_least_one)]
        out: usize,
        /// Input height and width.
        #[arg(long, value_parser = side)]
        size: usize,
        /// Kernel height and width.
        #[arg(long, default_value_t = 3, value_parser = at_least_one)]
        kernel: usize,
        /// Stride on both axes.
        #[arg(long, default_value_t = 1, value_parser = at_least_one)]
        stride: usize,
        /// Zero padding on every side.
        #[arg(long, default_value_t = 0)]
        pad: usize,
        /// Dilation on both axes.
        #[arg(long, default_value_t = 1, value_parser = at_least_one)]
        dilation: usize,
        /// Groups (input and output channels must divide by it).
        #[arg(long, default_value_t = 1, value_parser = at_least_one)]
        groups: usize,
        #[command(flatten)]
        variant: Variant,
        #[command(flatten)]
        common: Common,
    },
    /// One pooling layer: `--in C --size S [--kernel 2 --stride KERNEL --pad 0] [--avg]
    /// [--ceil]`.
    Pool {
        /// Channels.
        #[arg(long = "in", value_parser = at_least_one)]
        channels: usize,
        /// Input height and width.
        #[arg(long, value_parser = side)]
        size: usize,
        /// Window height and width.
        #[arg(long, default_value_t = 2, value_parser = at_least_one)]
        kernel: usize,
        /// Stride on both axes; default: the kernel size (as in PyTorch).
        #[arg(long, value_parser = at_least_one)]
        stride: Option<usize>,
        /// Padding on every side.
        #[arg(long, default_value_t = 0)]
        pad: usize,
        /// Average instead of max pooling.
        #[arg(long)]
        avg: bool,
        /// Round the output size up (ceil_mode).
        #[arg(long)]
        ceil: bool,
        #[command(flatten)]
        common: Common,
    },
    /// One fully connected layer: `--in N --out M`.
    Linear {
        /// Input features.
        #[arg(long = "in", value_parser = at_least_one)]
        inputs: usize,
        /// Output features.
        #[arg(long, value_parser = at_least_one)]
        out: usize,
        #[command(flatten)]
        variant: Variant,
        #[command(flatten)]
        common: Common,
    },
}

/// `--kernel-variant` of the layer kinds with several kernels (conv, linear).
#[derive(Args)]
pub struct Variant {
    /// Time only this kernel variant (conv: direct, tiled, mm, subgroup, winograd,
    /// winogradtiled; linear: subgroup, gemv, tiled, vec4, scalar); default: every variant that can
    /// run the layer here.
    #[arg(long)]
    kernel_variant: Option<String>,
}

/// Flags every layer kind takes.
#[derive(Args)]
pub struct Common {
    /// Batch size.
    #[arg(long, default_value_t = 1, value_parser = batch)]
    batch: usize,
    /// Timed runs per variant; medians are reported.
    #[arg(long, default_value_t = 5, value_parser = runs)]
    runs: usize,
    /// Also compare each variant's output with the CPU reference (slow for large layers).
    #[arg(long)]
    check: bool,
    /// Time with the host clock (submit + wait) instead of timestamps.
    #[arg(long)]
    wall_clock: bool,
    /// Print one JSON document (every variant's time) instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `deeper bench conv|pool|linear`; `Ok(false)` when a checked variant fails.
pub fn run(cmd: &LayerCmd) -> Result<bool> {
    let (spec, variant, c) = match cmd {
        LayerCmd::Conv {
            cin,
            out,
            size,
            kernel,
            stride,
            pad,
            dilation,
            groups,
            variant,
            common,
        } => {
            let window = (*kernel, *stride, *pad);
            let s = LayerSpec::conv(*cin, *out, *size, window, *dilation, *groups, common.batch);
            (s, variant.kernel_variant.as_deref(), common)
        }
        LayerCmd::Pool {
            channels,
            size,
            kernel,
            stride,
            pad,
            avg,
            ceil,
            common,
        } => {
            let stride = stride.unwrap_or(*kernel);
            let mut p = match avg {
                true => Pool2d::avg(*kernel, stride, *pad),
                false => Pool2d::max(*kernel, stride, *pad),
            };
            if *ceil {
                p = p.ceil();
            }
            (
                LayerSpec::pool(*channels, *size, p, common.batch),
                None,
                common,
            )
        }
        LayerCmd::Linear {
            inputs,
            out,
            variant,
            common,
        } => (
            LayerSpec::linear(*inputs, *out, common.batch),
            variant.kernel_variant.as_deref(),
            common,
        ),
    };
    let env_timing = Timing::try_from_env()?;
    let gpu = Gpu::new(&GpuOptions::from_env()?)?;
    let timing = match c.wall_clock {
        true => Timing::WallClock,
        false => env_timing,
    };
    let opts = BenchOptions {
        runs: c.runs,
        timing,
        autotune: false,
    };
    let peak = peak::cached_or_quick(&gpu, timing)?;
    let r = bench_layer(&gpu, &spec, variant, c.check, &opts, &peak)?;
    let ok = r.variants.iter().all(|v| v.passed != Some(false));
    if c.json {
        let doc = serde_json::to_value(&r).map_err(|e| Error::Invalid(e.to_string()))?;
        println!("{doc:#}");
    } else {
        print_table(&r);
    }
    Ok(ok)
}

fn print_table(r: &LayerBench) {
    println!("device: {}", r.device);
    println!(
        "{} {:?} -> {:?}, timing: {}, median of {} runs per variant",
        r.kind, r.input, r.output, r.timing, r.runs
    );
    let mut t = Table::new(&[["variant", "kernel"].as_slice(), &MEASURED, &["check"]].concat());
    for v in &r.variants {
        let check = match (v.rel_l2, v.passed) {
            (Some(e), Some(p)) => format!("{} {e:.1e}", if p { "PASS" } else { "FAIL" }),
            _ => "-".into(),
        };
        let head = vec![v.variant.clone(), v.row.kernel.clone()];
        t.row([head, measured(&v.row), vec![check]].concat());
    }
    print!("{}", t.render());
    println!("fastest: {}", r.best);
}
