//! The autotuner: for every convolution and fully connected layer of a graph, time each kernel
//! variant that can run it on this device (a one-layer graph of the same shape and batch; the
//! fastest of 5 passes after a warm-up, or only the warm-up when it is already 1.5× slower than
//! the best so far) and pin the fastest in the graph (`Conv2d::kernel`, `Linear::kernel`). The
//! minimum, not the median: on a shared machine interference only ever adds time, and a median
//! of 3 still picked a kernel 40% slower (NiN's conv4). Choices are cached on disk per
//! (adapter, layer shape, batch), so tuning a network costs seconds once and nothing after.
//! Every variant passes the same CPU-reference property tests on every test shape
//! (`tests/ops.rs`, `tests/ops_edge.rs`), so any of them may be chosen. When to tune (the
//! policy every entry point follows) is [`super::tuning`].
//!
//! Cache: `$DEEPER_AUTOTUNE_CACHE`, else `$XDG_CACHE_HOME/deeper/autotune.json`, else
//! `~/.cache/deeper/autotune.json`.

use super::JsonCache;
use crate::error::{Error, Result};
use crate::graph::{Graph, GraphBuilder};
use crate::ops::{Conv2d, ConvKernel, Linear, LinearKernel, Op};
use crate::runtime::{Gpu, Model};
use crate::shape::Shape;
use crate::tensor::{Rng, Tensor};
use std::collections::BTreeMap;
use std::time::Instant;

/// A kernel the autotuner pins: a convolution's or a fully connected layer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Conv(ConvKernel),
    Linear(LinearKernel),
}

impl Kernel {
    /// The kernel `op` is pinned to (`None` for other ops and for `Auto`, which is tuned).
    pub fn of(op: &Op) -> Option<Kernel> {
        match op {
            Op::Conv2d(c) if c.kernel != ConvKernel::Auto => Some(Kernel::Conv(c.kernel)),
            Op::Linear(l) if l.kernel != LinearKernel::Auto => Some(Kernel::Linear(l.kernel)),
            _ => None,
        }
    }

    /// The name written in the cache (`Winograd`, `Subgroup`, …: the variant's name).
    pub fn name(self) -> String {
        match self {
            Kernel::Conv(k) => format!("{k:?}"),
            Kernel::Linear(k) => format!("{k:?}"),
        }
    }
}

/// One tuned layer shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The first layer of the graph with this shape.
    pub layer: String,
    pub key: String,
    pub kernel: Kernel,
    /// Milliseconds per candidate (empty when the choice came from the cache).
    pub timings: Vec<(Kernel, f64)>,
}

/// Cached choices: key → kernel name.
pub struct Tuner {
    cache: BTreeMap<String, String>,
    dirty: bool,
}

/// Part of every cache key; bump it when kernels are added or changed, so old choices are
/// tuned again instead of reused.
const KERNEL_SET: &str = "kernels 7";

/// The cache key of a tunable `op` on input `x` (batch included) on `gpu`; `None` for ops
/// with one kernel.
fn key(gpu: &Gpu, op: &Op, x: Shape) -> Option<String> {
    let layer = match op {
        Op::Conv2d(c) => {
            let (h, w) = (c.window.h, c.window.w);
            format!(
                "{}>{}|k{}x{} s{}x{} p{},{},{},{} d{}x{} g{}",
                c.in_channels,
                c.out_channels,
                h.kernel,
                w.kernel,
                h.stride,
                w.stride,
                h.pad_before,
                h.pad_after,
                w.pad_before,
                w.pad_after,
                h.dilation,
                w.dilation,
                c.groups,
            )
        }
        Op::Linear(l) => format!("linear {}>{}", l.in_features, l.out_features),
        _ => return None,
    };
    Some(format!("{KERNEL_SET}|{}|{layer}|in {x}", gpu.description()))
}

/// `op` pinned to `kernel` (ops of another kind unchanged).
pub(crate) fn pinned(op: &Op, kernel: Kernel) -> Op {
    match (op, kernel) {
        (Op::Conv2d(c), Kernel::Conv(k)) => Op::Conv2d(Conv2d {
            kernel: k,
            ..c.clone()
        }),
        (Op::Linear(l), Kernel::Linear(k)) => Op::Linear(Linear {
            kernel: k,
            ..l.clone()
        }),
        (other, _) => other.clone(),
    }
}

/// The kernels that can run `op` (producing `out`) on `gpu`, as the tests force them.
pub(crate) fn candidates(gpu: &Gpu, op: &Op, out: Shape) -> Vec<Kernel> {
    let caps = gpu.caps();
    match op {
        Op::Conv2d(c) => ConvKernel::ALL
            .into_iter()
            .filter(|&k| {
                Conv2d {
                    kernel: k,
                    ..c.clone()
                }
                .resolve(&caps, out)
                    == k
            })
            .map(Kernel::Conv)
            .collect(),
        Op::Linear(l) => LinearKernel::ALL
            .into_iter()
            .filter(|&k| {
                Linear {
                    kernel: k,
                    ..l.clone()
                }
                .resolve(&caps, out.n)
                    == k
            })
            .map(Kernel::Linear)
            .collect(),
        _ => Vec::new(),
    }
}

/// The cached kernel called `name` for `op`'s kind.
fn kernel_from(op: &Op, name: &str) -> Option<Kernel> {
    match op {
        Op::Conv2d(_) => ConvKernel::ALL
            .into_iter()
            .map(Kernel::Conv)
            .find(|k| k.name() == name),
        Op::Linear(_) => LinearKernel::ALL
            .into_iter()
            .map(Kernel::Linear)
            .find(|k| k.name() == name),
        _ => None,
    }
}

/// A tunable layer of a graph: its node, cache key and input shape.
struct Site {
    node: usize,
    key: String,
    x: Shape,
}

impl Tuner {
    /// The tuner with the on-disk cache loaded (empty when there is none).
    pub fn load() -> Tuner {
        Tuner {
            cache: cache().read(),
            dirty: false,
        }
    }

    /// The `Auto` convolutions and linear layers of `graph` at `batch`.
    fn sites(gpu: &Gpu, graph: &Graph, batch: usize) -> Result<Vec<Site>> {
        let shapes = crate::graph::infer::shapes(graph, batch)?;
        Ok(graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| Kernel::of(&n.op).is_none())
            .filter_map(|(i, n)| {
                let x = shapes[n.inputs[0].0];
                let key = key(gpu, &n.op, x)?;
                Some(Site { node: i, key, x })
            })
            .collect())
    }

    /// How many distinct layer shapes of `graph` at `batch` the cache lacks (what
    /// [`Tuner::tune`] would time).
    pub fn missing(&self, gpu: &Gpu, graph: &Graph, batch: usize) -> Result<usize> {
        let mut keys: Vec<String> = Tuner::sites(gpu, graph, batch)?
            .into_iter()
            .filter(|s| !self.cache.contains_key(&s.key))
            .map(|s| s.key)
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys.len())
    }

    /// Pins the fastest kernel of every `Auto` convolution and linear layer of `graph` at
    /// `batch`: the cached one, else (when `time`) the fastest measured now; layers the
    /// cache lacks stay `Auto` (the selection rule) when `time` is false. `progress` is told
    /// (shapes timed so far) before each layer shape is timed.
    pub fn tune_with(
        &mut self,
        gpu: &Gpu,
        graph: &mut Graph,
        batch: usize,
        time: bool,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Choice>> {
        let mut choices: Vec<Choice> = Vec::new();
        let mut timed = 0;
        for site in Tuner::sites(gpu, graph, batch)? {
            let node = &mut graph.nodes[site.node];
            let known = choices.iter().find(|c| c.key == site.key).map(|c| c.kernel);
            let cached = || {
                let name = self.cache.get(&site.key)?;
                kernel_from(&node.op, name)
            };
            let kernel = match known.or_else(cached) {
                Some(k) => {
                    if known.is_none() {
                        choices.push(Choice {
                            layer: node.name.clone(),
                            key: site.key.clone(),
                            kernel: k,
                            timings: Vec::new(),
                        });
                    }
                    k
                }
                None if time => {
                    progress(timed);
                    timed += 1;
                    let choice = self.time(gpu, &node.name, &node.op, site.x, site.key)?;
                    let k = choice.kernel;
                    choices.push(choice);
                    k
                }
                None => continue,
            };
            node.op = pinned(&node.op, kernel);
        }
        Ok(choices)
    }

    /// [`Tuner::tune_with`], timing what the cache lacks, without progress.
    pub fn tune(&mut self, gpu: &Gpu, graph: &mut Graph, batch: usize) -> Result<Vec<Choice>> {
        self.tune_with(gpu, graph, batch, true, &mut |_| {})
    }

    /// Times every kernel that can run `op` on input `x` and caches the fastest.
    fn time(&mut self, gpu: &Gpu, layer: &str, op: &Op, x: Shape, key: String) -> Result<Choice> {
        // Timed (and shaped) without a fused residual: a one-input graph.
        let plain = match op {
            Op::Conv2d(c) => Op::Conv2d(Conv2d {
                residual: false,
                ..c.clone()
            }),
            other => other.clone(),
        };
        let out = plain.output_shape(&key, &[x])?;
        let mut timings: Vec<(Kernel, f64)> = Vec::new();
        for kernel in candidates(gpu, &plain, out) {
            let best = timings.iter().map(|t| t.1).fold(f64::INFINITY, f64::min);
            let ms = time_op(gpu, layer, pinned(&plain, kernel), x, best)?;
            timings.push((kernel, ms));
        }
        let best = timings
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|t| t.0)
            .ok_or_else(|| Error::Invalid(format!("no kernel can run layer '{layer}' ({key})")))?;
        self.cache.insert(key.clone(), best.name());
        self.dirty = true;
        Ok(Choice {
            layer: layer.to_string(),
            key,
            kernel: best,
            timings,
        })
    }

    /// Writes new choices to the cache file (a cache that cannot be written is a warning).
    pub fn save(&self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        // Merged into what is on disk now (another process may have added choices).
        cache().update(|disk: &mut BTreeMap<String, String>| disk.extend(self.cache.clone()));
        Ok(())
    }
}

/// The choices on disk, by cache key.
fn cache() -> JsonCache {
    JsonCache::new("DEEPER_AUTOTUNE_CACHE", "autotune.json")
}

/// Where the choices are cached (`None` without a home directory).
pub fn cache_path() -> Option<std::path::PathBuf> {
    cache().path().map(|p| p.to_path_buf())
}

/// The fastest of 5 passes of `op` alone on input `x`, in ms (random parameters and input). A
/// candidate whose first pass already takes over 1.5× `best` is not timed further. The
/// one-layer graph bears the network layer's name, which its errors quote.
fn time_op(gpu: &Gpu, layer: &str, op: Op, x: Shape, best: f64) -> Result<f64> {
    let (mut b, v) = GraphBuilder::new("autotune", x.c, x.h, x.w, 1);
    let y = b.add(layer, op, &[v]);
    let graph = b.finish(&[y])?;
    let model = Model::compile(gpu, &graph, x.n, true)?;
    let input = Tensor::uniform(x, -1.0, 1.0, &mut Rng::new(1));
    let mut ctx = model.context()?;
    let t = Instant::now();
    ctx.forward(&input)?;
    gpu.wait()?;
    let first = t.elapsed().as_secs_f64() * 1e3;
    if first > 1.5 * best {
        return Ok(first);
    }
    let mut fastest = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        ctx.forward(&input)?;
        gpu.wait()?;
        fastest = fastest.min(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(fastest)
}
