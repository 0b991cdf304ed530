//! The `deeper` command line: a thin layer that parses arguments, calls the library and prints.
//! Every error is printed on one line (`error: …`) with a non-zero exit status.

mod bench;
mod commands;
mod run;
mod table;

use clap::{Args, Parser, Subcommand};
use deeper::{limits, models};
use std::path::PathBuf;
use std::process::ExitCode;

/// The classic convolutional networks on any GPU, checked against a CPU reference.
#[derive(Parser)]
#[command(
    name = "deeper",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    // --autotune / --no-autotune of the main job (no command).
    #[command(flatten)]
    tune: TuneArgs,
}

/// `--autotune` / `--no-autotune`: force the tuning policy either way (`DEEPER_AUTOTUNE=1|0`
/// does the same; a flag wins).
#[derive(Args, Clone, Copy)]
struct TuneArgs {
    /// Time each convolution's and linear layer's kernels where the cache lacks them, on any
    /// adapter (default: cached choices, else timed on a discrete or integrated GPU only;
    /// `bench` times on every adapter). Also DEEPER_AUTOTUNE=1.
    #[arg(long, conflicts_with = "no_autotune")]
    autotune: bool,
    /// Run the selection rule's kernels, cache unread (also DEEPER_AUTOTUNE=0).
    #[arg(long)]
    no_autotune: bool,
}

impl TuneArgs {
    /// `Some(true)` for `--autotune`, `Some(false)` for `--no-autotune`, else `None`.
    fn flag(self) -> Option<bool> {
        match (self.autotune, self.no_autotune) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// List GPU adapters with backend, driver, limits and features.
    Devices,
    /// Layer table of a network: output shape, parameters, MACs, totals.
    Info {
        #[arg(help = net_help())]
        net: String,
        /// Input height and width (default: the network's native size).
        #[arg(long, value_parser = side)]
        size: Option<usize>,
        /// Add GoogLeNet's auxiliary classifiers.
        #[arg(long)]
        aux: bool,
        /// Print one JSON document instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// GPU vs CPU on the whole graph, layer by layer (exit status 1 when any layer fails).
    Check {
        #[arg(help = net_help())]
        net: String,
        /// Batch size of the random input (at most 65,536).
        #[arg(long, default_value_t = 1, value_parser = batch)]
        batch: usize,
        /// Input height and width (default: the network's native size; at most 16,384).
        #[arg(long, value_parser = side)]
        size: Option<usize>,
        /// Add GoogLeNet's auxiliary classifiers.
        #[arg(long)]
        aux: bool,
        /// Seed of the random weights and input.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        tune: TuneArgs,
    },
    /// Classify images (or run a preprocessed .npy tensor): top-k labels per input.
    Run {
        #[arg(help = net_help())]
        net: String,
        /// Weights (.safetensors with PyTorch key names); default: built-in (lenet5) or random.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// JPEG/PNG images, preprocessed like torchvision; several form one batch.
        #[arg(long, num_args = 1.., conflicts_with = "input")]
        image: Vec<PathBuf>,
        /// A float32 [N, C, H, W] .npy tensor, already preprocessed.
        #[arg(long)]
        input: Option<PathBuf>,
        /// How many classes to show per input.
        #[arg(long, default_value_t = 5, value_parser = at_least_one)]
        top: usize,
        /// Write the float32 [N, classes] logits (before softmax) here (`-`: standard output).
        #[arg(long)]
        save_logits: Option<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        /// Refuse weight files with keys the network does not have.
        #[arg(long)]
        strict: bool,
        /// Seed of the random weights used without --weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        pre: PreprocessArgs,
        #[command(flatten)]
        tune: TuneArgs,
    },
    /// Per-layer GPU times (timestamp queries), GFLOP/s, GB/s and % of the device's peak.
    Bench {
        #[arg(required_unless_present_any = ["layers", "peak"], help = bench_net_help())]
        net: Option<String>,
        #[arg(long, default_value_t = 1, value_parser = batch)]
        batch: usize,
        /// Timed runs; medians are reported.
        #[arg(long, default_value_t = 5, value_parser = runs)]
        runs: usize,
        /// Input height and width (default: the network's native size).
        #[arg(long, value_parser = side)]
        size: Option<usize>,
        /// Print one JSON document instead of tables.
        #[arg(long)]
        json: bool,
        /// Measure the device's FMA rate and copy bandwidth (and cache them).
        #[arg(long, conflicts_with_all = ["layers", "net"])]
        peak: bool,
        /// The layer suite: real layer shapes, timed and checked against the CPU.
        #[arg(long, conflicts_with = "net")]
        layers: bool,
        /// With --layers: only the cases whose name contains this.
        #[arg(long, requires = "layers")]
        filter: Option<String>,
        /// Write a roofline and per-layer time chart (SVG); with `all`, one file per network
        /// (`FILE-resnet50.svg`, …).
        #[arg(long, conflicts_with = "peak")]
        plot: Option<PathBuf>,
        /// Time each layer with the host clock (submit + wait) instead of timestamps.
        #[arg(long)]
        wall_clock: bool,
        #[command(flatten)]
        tune: TuneArgs,
        /// Callers on one shared model: images/s of N threads running it at once, beside
        /// one thread's (instead of the per-layer table).
        #[arg(long, value_parser = at_least_one, conflicts_with_all = ["layers", "peak", "plot"])]
        threads: Option<usize>,
    },
}

/// `--resize`, `--crop`, `--mean`, `--std` of `deeper run`: override the image preprocessing
/// (the weight file's metadata, else the network's defaults); refused with `--input`, which
/// is preprocessed already.
#[derive(Args)]
struct PreprocessArgs {
    /// Resize the shorter side of each image to N pixels (torchvision's Resize).
    #[arg(long, value_name = "N", value_parser = side, conflicts_with = "input")]
    resize: Option<usize>,
    /// Centre-crop N × N pixels after resizing: the network's input size (CenterCrop).
    #[arg(long, value_name = "N", value_parser = side, conflicts_with = "input")]
    crop: Option<usize>,
    /// Per-channel mean subtracted after scaling to [0, 1], comma-separated (Normalize).
    // `::std::vec::Vec`: one value holding the list (clap would take `Vec` for repeated values).
    #[arg(long, value_name = "M,M,M", value_parser = floats, conflicts_with = "input")]
    mean: Option<::std::vec::Vec<f32>>,
    /// Per-channel standard deviation divided by, comma-separated, each > 0 (Normalize).
    #[arg(long, value_name = "S,S,S", value_parser = positive_floats, conflicts_with = "input")]
    std: Option<::std::vec::Vec<f32>>,
}

/// The help of a network argument: every name `deeper` knows.
fn net_help() -> String {
    format!("Network name: {}", models::NETWORKS.join(", "))
}

/// `bench`'s network argument also takes `all`.
fn bench_net_help() -> String {
    format!(
        "Network name, or `all` (not needed with --layers or --peak): {}",
        models::NETWORKS.join(", ")
    )
}

/// Parses comma-separated finite floats (`--mean`).
fn floats(s: &str) -> Result<Vec<f32>, String> {
    s.split(',')
        .map(|v| match v.trim().parse::<f32>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(format!("'{}' is not a finite number", v.trim())),
        })
        .collect()
}

/// Parses comma-separated floats that must be finite and positive (`--std`).
fn positive_floats(s: &str) -> Result<Vec<f32>, String> {
    let v = floats(s)?;
    match v.iter().find(|x| **x <= 0.0) {
        Some(x) => Err(format!("{x} is not > 0")),
        None => Ok(v),
    }
}

/// Parses a count that must be positive (`--top`).
fn at_least_one(s: &str) -> Result<usize, String> {
    bounded(s, usize::MAX)
}

/// Parses a count in `1..=limit`; the message states the limit.
fn bounded(s: &str, limit: usize) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) if n > limit => Err(format!("{n} is over the limit of {limit}")),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// `--batch`: 1 to [`limits::MAX_BATCH`].
fn batch(s: &str) -> Result<usize, String> {
    bounded(s, limits::MAX_BATCH)
}

/// `--size`: 1 to [`limits::MAX_SIDE`].
fn side(s: &str) -> Result<usize, String> {
    bounded(s, limits::MAX_SIDE)
}

/// `--runs`: 1 to [`limits::MAX_RUNS`].
fn runs(s: &str) -> Result<usize, String> {
    bounded(s, limits::MAX_RUNS)
}

fn main() -> ExitCode {
    quiet_mesa();
    let cli = Cli::parse();
    let result = match cli.command {
        None => commands::main_job(cli.tune.flag()),
        Some(Command::Devices) => commands::devices(),
        Some(Command::Info {
            net,
            size,
            aux,
            json,
        }) => commands::info(&net, size, aux, json),
        Some(Command::Check {
            net,
            batch,
            size,
            aux,
            seed,
            tune,
        }) => commands::check(&net, batch, size, aux, seed, tune.flag()),
        Some(Command::Run {
            net,
            weights,
            image,
            input,
            top,
            save_logits,
            json,
            strict,
            seed,
            pre,
            tune,
        }) => {
            let args = run::RunArgs {
                net,
                weights,
                images: image,
                input,
                top,
                save_logits,
                json,
                strict,
                seed,
                resize: pre.resize,
                crop: pre.crop,
                mean: pre.mean,
                std: pre.std,
                tune: tune.flag(),
            };
            run::run(&args)
        }
        Some(Command::Bench {
            net,
            batch,
            runs,
            size,
            json,
            peak,
            layers,
            filter,
            plot,
            wall_clock,
            tune,
            threads,
        }) => bench::bench(&bench::BenchArgs {
            net,
            batch,
            runs,
            size,
            json,
            peak,
            layers,
            plot,
            wall_clock,
            filter,
            tune: tune.flag(),
            threads,
        }),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Mesa's window-system layer prints "error: XDG_RUNTIME_DIR is invalid or not set" when the
/// variable is missing, which users would take for a failure of ours. A private directory
/// (mode 0700, as the XDG specification asks) silences it; nothing is written there.
#[cfg(unix)]
fn quiet_mesa() {
    use std::os::unix::fs::PermissionsExt;
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let dir = std::env::temp_dir().join("deeper-xdg-runtime");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
    }
}

/// Windows has no XDG runtime directory and its drivers do not ask for one: nothing to do.
#[cfg(not(unix))]
fn quiet_mesa() {}
