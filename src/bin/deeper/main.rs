//! The `deeper` command line: a thin layer that parses arguments, calls the library and prints.
//! Every error is printed on one line (`error: …`) with a non-zero exit status.

mod commands;
mod run;
mod table;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// The classic convolutional networks on any GPU, checked against a CPU reference.
#[derive(Parser)]
#[command(name = "deeper", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List GPU adapters with backend, driver, limits and features.
    Devices,
    /// Layer table of a network: output shape, parameters, MACs, totals.
    Info {
        /// Network name (see `deeper info --help` for the list).
        net: String,
        /// Input height and width (default: the network's native size).
        #[arg(long)]
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
        net: String,
        #[arg(long, default_value_t = 1)]
        batch: usize,
        #[arg(long)]
        size: Option<usize>,
        #[arg(long)]
        aux: bool,
        /// Seed of the random weights and input.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Classify images (or run a preprocessed .npy tensor): top-k labels per input.
    Run {
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
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Write the float32 [N, classes] logits (before softmax) here.
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
    },
}

fn main() -> ExitCode {
    quiet_mesa();
    let cli = Cli::parse();
    let result = match cli.command {
        None => commands::main_job(),
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
        }) => commands::check(&net, batch, size, aux, seed),
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
            };
            run::run(&args)
        }
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
/// silences it; nothing is written there.
fn quiet_mesa() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let dir = std::env::temp_dir().join("deeper-xdg-runtime");
    if std::fs::create_dir_all(&dir).is_ok() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
    }
}
