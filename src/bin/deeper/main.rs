//! The `deeper` command line: a thin layer that parses arguments, calls the library and prints.
//! Every error is printed on one line (`error: …`) with a non-zero exit status.

mod bench;
mod bench_layer;
mod commands;
mod parse;
mod run;
mod table;

use clap::{Args, Parser, Subcommand};
use deeper::models::{self, ModelOptions};
use parse::{at_least_one, batch, classes, floats, positive_floats, runs, side};
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
        /// Classes of the classifier (default: 1000; 10 for lenet5).
        #[arg(long, value_parser = classes)]
        classes: Option<usize>,
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
        /// Classes of the classifier (default: 1000; 10 for lenet5).
        #[arg(long, value_parser = classes)]
        classes: Option<usize>,
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
        /// Classes of the classifier (default: the weight file's classifier's rows, else 1000;
        /// 10 for lenet5).
        #[arg(long, value_parser = classes)]
        classes: Option<usize>,
        /// Class names, one per line (as many as classes), shown instead of the defaults.
        #[arg(long, conflicts_with = "features")]
        labels: Option<PathBuf>,
        /// Return this layer's output instead of the logits (a name `deeper info` lists,
        /// e.g. resnet50's `flatten`: its 2048-d embedding).
        #[arg(long, conflicts_with = "save_logits")]
        features: Option<String>,
        /// With --features: write the layer's float32 output here (`-`: standard output);
        /// [N, features] after a flatten or linear layer, else [N, C, H, W].
        #[arg(long, requires = "features")]
        save_features: Option<PathBuf>,
        #[command(flatten)]
        pre: PreprocessArgs,
        #[command(flatten)]
        tune: TuneArgs,
    },
    /// Per-layer GPU times (timestamp queries), GFLOP/s, GB/s and % of the device's peak;
    /// `bench conv|pool|linear` times one layer of any shape with every kernel variant.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Bench {
        #[command(subcommand)]
        layer: Option<bench_layer::LayerCmd>,
        #[arg(required_unless_present_any = ["layers", "peak"], help = bench_net_help())]
        net: Option<String>,
        /// Batch size (default 1; not with --layers, whose cases have their own).
        #[arg(long, value_parser = batch)]
        batch: Option<usize>,
        /// Timed runs; medians are reported.
        #[arg(long, default_value_t = 5, value_parser = runs)]
        runs: usize,
        /// Input height and width (default: the network's native size; not with --layers).
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
        /// Classes of the network's classifier (default: 1000; 10 for lenet5).
        #[arg(long, value_parser = classes)]
        classes: Option<usize>,
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

/// The network options of `--size`, `--aux`, `--classes` and `--seed`.
fn build_opts(size: Option<usize>, aux: bool, classes: Option<usize>, seed: u64) -> ModelOptions {
    ModelOptions {
        size,
        seed,
        aux,
        classes,
    }
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
            classes,
            json,
        }) => commands::info(&net, &build_opts(size, aux, classes, 0), json),
        Some(Command::Check {
            net,
            batch,
            size,
            aux,
            seed,
            classes,
            tune,
        }) => commands::check(
            &net,
            batch,
            &build_opts(size, aux, classes, seed),
            tune.flag(),
        ),
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
            classes,
            labels,
            features,
            save_features,
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
                classes,
                labels,
                features,
                save_features,
                tune: tune.flag(),
            };
            run::run(&args)
        }
        Some(Command::Bench {
            layer: Some(cmd), ..
        }) => bench_layer::run(&cmd),
        Some(Command::Bench {
            layer: None,
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
            classes,
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
            classes,
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
