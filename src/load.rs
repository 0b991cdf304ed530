//! A network by name and a weight file in, a compiled model out: the steps every front end
//! takes (`deeper run`, the C ABI's `deeper_model_new_ex`, Python's `deeper.Model`), once.
//!
//! In order: the classifier's size (given, else the weight file's, else the network's own),
//! the labels file checked against it, the graph built, the weights loaded (a file, the
//! built-in ones, or seeded random), the graph cut after a named layer when features are
//! asked for, then fused, tuned for the device and compiled.

use crate::bench::tuning::{tune_graph, Tuning};
use crate::error::{Error, Result};
use crate::graph::fuse::fuse_owned;
use crate::graph::Graph;
use crate::labels::read_labels;
use crate::models::weights::{self, Source};
use crate::models::{self, head, ModelOptions};
use crate::runtime::{Gpu, Model};
use std::path::Path;

/// What to load and how to compile it.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions<'a> {
    /// A safetensors file; `None`: the network's built-in weights, else seeded random ones.
    pub weights: Option<&'a Path>,
    /// Seeded random weights even where the network has built-in ones (any head fits them).
    pub random: bool,
    /// Seed of random weights.
    pub seed: u64,
    /// Input height and width.
    pub size: usize,
    /// Images per run.
    pub batch: usize,
    /// The classifier's size; `None`: the weight file's, else the network's own.
    pub classes: Option<usize>,
    /// A file of class names, one per line, as many as the classes.
    pub labels: Option<&'a Path>,
    /// Return this layer's output instead of the logits.
    pub features: Option<&'a str>,
    /// Keys the network does not have are an error instead of a warning.
    pub strict: bool,
    pub tuning: Tuning,
}

/// A compiled network and what its callers report.
pub struct Loaded {
    pub model: Model,
    /// Where the weights came from (a file, with its unexpected keys; built-in; random).
    pub source: Source,
    /// The classifier's size (also with features: the head the weights have).
    pub classes: usize,
    pub labels: Option<Vec<String>>,
    /// The whole network's structure, before any cut (its layer table).
    pub network: Graph,
    /// The output is a vector per sample (`[N, F]`), not `[N, C, H, W]`.
    pub flat: bool,
}

/// Builds, loads, cuts, fuses, tunes and compiles `net` on `gpu`.
pub fn load(gpu: &Gpu, net: &str, o: &LoadOptions) -> Result<Loaded> {
    if let (Some(layer), Some(_)) = (o.features, o.labels) {
        return Err(Error::Invalid(format!(
            "labels name the classifier's classes and features '{layer}' return a layer's \
             output instead: give one or the other"
        )));
    }
    let opts = ModelOptions {
        size: Some(o.size),
        seed: o.seed,
        classes: o.classes,
        ..Default::default()
    };
    // Random weights fit any head: only a file or built-in weights fix the class count.
    let opts = match o.random {
        true => opts,
        false => head::options_for_weights(net, &opts, o.weights)?,
    };
    let classes = opts.classes.unwrap_or_else(|| head::default_classes(net));
    let labels = o.labels.map(|p| read_labels(p, classes)).transpose()?;
    let mut graph = models::build(net, &opts)?;
    let source = match o.random {
        true => Source::Random(o.seed),
        false => weights::load_or_builtin(&mut graph, o.weights, o.strict, o.seed)?,
    };
    let network = graph.structure();
    if let Some(layer) = o.features {
        graph = graph.up_to(layer)?;
    }
    let flat = graph.flat_output();
    let tuned = tune_graph(gpu, fuse_owned(graph).graph, o.batch, o.tuning)?;
    let model = Model::compile(gpu, &tuned, o.batch, true)?;
    Ok(Loaded {
        model,
        source,
        classes,
        labels,
        network,
        flat,
    })
}
