//! The autotuner: for every convolution of a graph, time each kernel variant that can run it on
//! this device (a one-layer graph of the same shape and batch; the fastest of 5 passes after a
//! warm-up, or only the warm-up when it is already 1.5× slower than the best so far) and pin
//! the fastest in the graph (`Conv2d::kernel`). The minimum, not the median: on a shared
//! machine interference only ever adds time, and a median of 3 still picked a kernel 40%
//! slower (NiN's conv4). Choices are cached on disk per
//! (adapter, layer shape, batch), so tuning a network costs seconds once and nothing after.
//! Every variant passes the same CPU-reference property tests on every test shape
//! (`tests/ops.rs`, `tests/ops_edge.rs`), so any of them may be chosen.
//!
//! Cache: `$DEEPER_AUTOTUNE_CACHE`, else `$XDG_CACHE_HOME/deeper/autotune.json`, else
//! `~/.cache/deeper/autotune.json`.

use super::JsonCache;
use crate::error::{Error, Result};
use crate::graph::{Graph, GraphBuilder};
use crate::ops::{Conv2d, ConvKernel, Op};
use crate::runtime::{Gpu, Model};
use crate::shape::Shape;
use crate::tensor::{Rng, Tensor};
use std::collections::BTreeMap;
use std::time::Instant;

/// One tuned layer shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub key: String,
    pub kernel: ConvKernel,
    /// Milliseconds per candidate (empty when the choice came from the cache).
    pub timings: Vec<(ConvKernel, f64)>,
}

/// Cached choices: key → kernel name.
pub struct Tuner {
    cache: BTreeMap<String, String>,
    dirty: bool,
}

fn kernel_from(name: &str) -> Option<ConvKernel> {
    ConvKernel::ALL
        .into_iter()
        .find(|k| format!("{k:?}") == name)
}

/// Part of every cache key; bump it when kernels are added or changed, so old choices are
/// tuned again instead of reused.
const KERNEL_SET: &str = "kernels 6";

/// The cache key of a convolution on input `x` (batch included) on `gpu`.
fn key(gpu: &Gpu, c: &Conv2d, x: Shape) -> String {
    let (h, w) = (c.window.h, c.window.w);
    format!(
        "{KERNEL_SET}|{}|{}>{}|k{}x{} s{}x{} p{},{},{},{} d{}x{} g{}|in {}",
        gpu.description(),
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
        x
    )
}

impl Tuner {
    /// The tuner with the on-disk cache loaded (empty when there is none).
    pub fn load() -> Tuner {
        Tuner {
            cache: cache().read(),
            dirty: false,
        }
    }

    /// Pins the fastest kernel of every `Auto` convolution of `graph` at `batch`.
    pub fn tune(&mut self, gpu: &Gpu, graph: &mut Graph, batch: usize) -> Result<Vec<Choice>> {
        let shapes = crate::graph::infer::shapes(graph, batch)?;
        let mut choices: Vec<Choice> = Vec::new();
        for node in &mut graph.nodes {
            let Op::Conv2d(c) = &mut node.op else {
                continue;
            };
            if c.kernel != ConvKernel::Auto {
                continue;
            }
            let x = shapes[node.inputs[0].0];
            let k = key(gpu, c, x);
            if let Some(done) = choices.iter().find(|ch| ch.key == k) {
                c.kernel = done.kernel;
                continue;
            }
            let choice = self.choose(gpu, &node.name, c, x, k)?;
            c.kernel = choice.kernel;
            choices.push(choice);
        }
        Ok(choices)
    }

    fn choose(
        &mut self,
        gpu: &Gpu,
        layer: &str,
        c: &Conv2d,
        x: Shape,
        key: String,
    ) -> Result<Choice> {
        if let Some(kernel) = self.cache.get(&key).and_then(|n| kernel_from(n)) {
            return Ok(Choice {
                key,
                kernel,
                timings: Vec::new(),
            });
        }
        // Timed (and shaped) without the fused residual: a one-input graph.
        let plain = Conv2d {
            residual: false,
            ..c.clone()
        };
        let out = Op::Conv2d(plain.clone()).output_shape(&key, &[x])?;
        let mut timings: Vec<(ConvKernel, f64)> = Vec::new();
        for kernel in ConvKernel::ALL {
            let forced = Conv2d {
                kernel,
                ..plain.clone()
            };
            if forced.resolve(&gpu.caps(), out) == kernel {
                let best = timings.iter().map(|t| t.1).fold(f64::INFINITY, f64::min);
                timings.push((kernel, time_conv(gpu, layer, forced, x, best)?));
            }
        }
        let best = timings
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|t| t.0)
            .ok_or_else(|| Error::Invalid(format!("no convolution kernel can run {key}")))?;
        self.cache.insert(key.clone(), format!("{best:?}"));
        self.dirty = true;
        Ok(Choice {
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

/// The fastest of 5 passes of `conv` alone on input `x`, in ms (random weights and input). A
/// candidate whose first pass already takes over 1.5× `best` is not timed further. The
/// one-layer graph bears the network layer's name, which its errors quote.
fn time_conv(gpu: &Gpu, layer: &str, conv: Conv2d, x: Shape, best: f64) -> Result<f64> {
    let (mut b, v) = GraphBuilder::new("autotune", x.c, x.h, x.w, 1);
    let y = b.conv2d(layer, v, conv);
    let graph = b.finish(&[y])?;
    let model = Model::compile(gpu, &graph, x.n, true)?;
    let input = Tensor::uniform(x, -1.0, 1.0, &mut Rng::new(1));
    let t = Instant::now();
    model.forward(&input)?;
    gpu.wait()?;
    let first = t.elapsed().as_secs_f64() * 1e3;
    if first > 1.5 * best {
        return Ok(first);
    }
    let mut fastest = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        model.forward(&input)?;
        gpu.wait()?;
        fastest = fastest.min(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(fastest)
}
