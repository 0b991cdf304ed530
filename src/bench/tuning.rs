//! When the autotuner ([`super::autotune`]) runs: the one policy of every entry point (the
//! main job, `deeper run`, `deeper check`, the C ABI's `deeper_model_new`, and Rust code
//! through [`tune_graph`] before `Model::compile`). Each convolution and linear layer runs
//!
//! - the kernel cached for this adapter, layer shape and batch, on any adapter;
//! - else, on a discrete or integrated GPU, the fastest kernel timed now (seconds per network,
//!   one progress line on stderr) and cached for next time;
//! - else (a CPU-type adapter such as llvmpipe, where timing a network's layers costs tens of
//!   seconds) the selection rule of `Conv2d::resolve` / `Linear::resolve`.
//!
//! `DEEPER_AUTOTUNE=1` or `--autotune` time what the cache lacks on every adapter;
//! `DEEPER_AUTOTUNE=0` or `--no-autotune` run the rule everywhere, the cache unread. A flag
//! wins over the variable; any other value of the variable is an error.
//!
//! This is a graph-to-graph step: it pins `Conv2d::kernel` / `Linear::kernel` of the (fused)
//! graph, which `Model::compile` then runs as given.

use super::autotune::{Choice, Tuner};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::runtime::Gpu;
use std::io::{IsTerminal, Write};
use std::time::Instant;

/// The tuning policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tuning {
    /// Cached choices everywhere; time what the cache lacks on a discrete or integrated GPU,
    /// the selection rule for it elsewhere.
    #[default]
    Auto,
    /// Cached choices; time what the cache lacks, on any adapter.
    On,
    /// The selection rule for every layer; the cache is not read.
    Off,
}

impl Tuning {
    /// The policy a `DEEPER_AUTOTUNE` value asks for: unset or empty → `Auto`, `1` → `On`,
    /// `0` → `Off`.
    pub fn parse(value: Option<&str>) -> Result<Tuning> {
        match value.map(str::trim) {
            None | Some("") => Ok(Tuning::Auto),
            Some("1") => Ok(Tuning::On),
            Some("0") => Ok(Tuning::Off),
            Some(other) => Err(Error::Invalid(format!(
                "DEEPER_AUTOTUNE is '{other}': use 1 (always tune) or 0 (never; the selection \
                 rule), or leave it unset (tune on a GPU, not on a CPU adapter)"
            ))),
        }
    }

    /// The policy `DEEPER_AUTOTUNE` asks for.
    pub fn from_env() -> Result<Tuning> {
        let value = std::env::var_os("DEEPER_AUTOTUNE");
        match value.as_ref().map(|v| v.to_str()) {
            Some(None) => Tuning::parse(Some("(not UTF-8)")),
            Some(Some(v)) => Tuning::parse(Some(v)),
            None => Ok(Tuning::Auto),
        }
    }

    /// This policy, unless a command-line flag (`--autotune` = `Some(true)`,
    /// `--no-autotune` = `Some(false)`) forces one.
    pub fn unless_flag(self, flag: Option<bool>) -> Tuning {
        match flag {
            Some(true) => Tuning::On,
            Some(false) => Tuning::Off,
            None => self,
        }
    }

    /// The policy from `DEEPER_AUTOTUNE`, overridden by a command-line flag: what the CLI's
    /// commands use. The variable is checked even when a flag overrides it.
    pub fn from_env_and_flag(flag: Option<bool>) -> Result<Tuning> {
        Ok(Tuning::from_env()?.unless_flag(flag))
    }

    /// Whether layers the cache lacks are timed, on an adapter that is (`hardware_gpu`) or
    /// is not a discrete or integrated GPU.
    pub fn times_missing(self, hardware_gpu: bool) -> bool {
        match self {
            Tuning::Auto => hardware_gpu,
            Tuning::On => true,
            Tuning::Off => false,
        }
    }
}

/// What [`tune`] did.
#[derive(Clone, Debug)]
pub struct Tuned {
    /// One per distinct tunable layer shape that got a kernel (from the cache: no timings).
    pub choices: Vec<Choice>,
    /// Milliseconds spent timing kernels (0 when nothing was timed).
    pub tune_ms: f64,
}

/// Pins each convolution's and linear layer's kernel of `graph` (normally fused) for `gpu` at
/// `batch` as `tuning` says, in place (a network's weights are not copied; layers already
/// pinned are left alone); new timings are saved to the cache. While timing, one progress
/// line goes to stderr.
pub fn tune(gpu: &Gpu, graph: &mut Graph, batch: usize, tuning: Tuning) -> Result<Tuned> {
    if tuning == Tuning::Off {
        return Ok(Tuned {
            choices: Vec::new(),
            tune_ms: 0.0,
        });
    }
    let t = Instant::now();
    let mut tuner = Tuner::load();
    let time = tuning.times_missing(gpu.is_hardware_gpu());
    let total = if time {
        tuner.missing(gpu, graph, batch)?
    } else {
        0
    };
    let mut line = Progress::new(&graph.name, gpu.name(), total);
    let choices = tuner.tune_with(gpu, graph, batch, time, &mut |done| line.show(done))?;
    tuner.save()?;
    let timed = choices.iter().any(|c| !c.timings.is_empty());
    let tune_ms = if timed {
        t.elapsed().as_secs_f64() * 1e3
    } else {
        0.0
    };
    line.finish(tune_ms);
    Ok(Tuned { choices, tune_ms })
}

/// `graph` with its kernels pinned by [`tune`]: what to hand `Model::compile`.
///
/// ```no_run
/// use deeper::bench::tuning::{tune_graph, Tuning};
/// use deeper::graph::fuse::fuse;
/// use deeper::runtime::{Gpu, GpuOptions, Model};
/// let gpu = Gpu::new(&GpuOptions::from_env()?)?;
/// let graph = deeper::models::build("resnet18", &Default::default())?;
/// let tuned = tune_graph(&gpu, fuse(&graph).graph, 1, Tuning::from_env()?)?;
/// let model = Model::compile(&gpu, &tuned, 1, true)?;
/// # Ok::<(), deeper::Error>(())
/// ```
pub fn tune_graph(gpu: &Gpu, mut graph: Graph, batch: usize, tuning: Tuning) -> Result<Graph> {
    tune(gpu, &mut graph, batch, tuning)?;
    Ok(graph)
}

/// The one stderr line while a network is tuned: `tuning resnet50 for NVIDIA H200: 12/20
/// layer shapes`, rewritten in place on a terminal, written once (then its time) otherwise.
struct Progress {
    head: String,
    total: usize,
    tty: bool,
    shown: bool,
}

impl Progress {
    fn new(net: &str, adapter: &str, total: usize) -> Progress {
        Progress {
            head: format!("tuning {net} for {adapter}:"),
            total,
            tty: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    fn show(&mut self, done: usize) {
        if self.tty {
            eprint!("\r{} {done}/{} layer shapes", self.head, self.total);
        } else if !self.shown {
            eprint!("{} {} layer shapes ...", self.head, self.total);
        }
        let _ = std::io::stderr().flush();
        self.shown = true;
    }

    fn finish(&self, ms: f64) {
        if !self.shown {
            return;
        }
        let s = ms / 1e3;
        let place = super::autotune::cache_path()
            .map_or("not cached: no home directory".into(), |p| {
                format!("cached in {}", p.display())
            });
        if self.tty {
            let (h, n) = (&self.head, self.total);
            eprintln!("\r{h} {n}/{n} layer shapes in {s:.1} s ({place})");
        } else {
            eprintln!(" {s:.1} s ({place})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tuning;

    #[test]
    fn the_variable_and_flags_choose_the_policy() {
        assert_eq!(Tuning::parse(None).unwrap(), Tuning::Auto);
        assert_eq!(Tuning::parse(Some("")).unwrap(), Tuning::Auto);
        assert_eq!(Tuning::parse(Some("1")).unwrap(), Tuning::On);
        assert_eq!(Tuning::parse(Some("0")).unwrap(), Tuning::Off);
        for bad in ["yes", "2", "true", "on"] {
            let e = Tuning::parse(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("DEEPER_AUTOTUNE") && e.contains(bad), "{e}");
        }
        for t in [Tuning::Auto, Tuning::On, Tuning::Off] {
            assert_eq!(t.unless_flag(None), t);
            assert_eq!(t.unless_flag(Some(true)), Tuning::On);
            assert_eq!(t.unless_flag(Some(false)), Tuning::Off);
        }
    }

    #[test]
    fn only_a_gpu_or_a_forced_policy_times_missing_layers() {
        assert!(Tuning::Auto.times_missing(true));
        assert!(!Tuning::Auto.times_missing(false));
        assert!(Tuning::On.times_missing(false));
        assert!(!Tuning::Off.times_missing(true));
        assert_eq!(Tuning::default(), Tuning::Auto);
    }
}
