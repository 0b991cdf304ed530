//! How `deeper.Model(...)`'s arguments become a compiled [`Model`]: the GPU `device=` picks,
//! then [`deeper::load::load`], the steps `deeper run` and the C ABI take (own head, labels,
//! weights, the cut at `features=`, fuse, tune, compile). Kept apart from `model.rs`, which
//! holds what a compiled model does.

use crate::model::Model;
use crate::to_py;
use deeper::bench::tuning::Tuning;
use deeper::graph::{infer, Graph};
use deeper::load::{load, LoadOptions};
use deeper::models;
use deeper::preprocess::Preprocess;
use deeper::runtime::{list_adapters, Gpu, GpuOptions};
use deeper::Error;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

/// What `weights=` asked for.
pub(crate) enum Weights {
    Default,
    Random,
    File(PathBuf),
}

/// `deeper.Model(...)`'s arguments, checked for what Python alone can tell.
pub(crate) struct Spec {
    pub net: String,
    pub weights: Weights,
    pub batch: usize,
    pub size: Option<usize>,
    pub seed: u64,
    /// `classes=`: `None` takes the weight file's classifier's rows, else the network's own.
    pub classes: Option<usize>,
    /// `labels=`: a text file, one class name per line.
    pub labels: Option<PathBuf>,
    /// `features=`: the layer whose output a call returns instead of the logits.
    pub features: Option<String>,
}

/// The GPU options `device=` selects (`DEEPER_BACKEND` and friends apply as for the CLI).
pub(crate) fn gpu_options(device: Option<&Bound<'_, PyAny>>) -> PyResult<GpuOptions> {
    let mut opts = GpuOptions::from_env().map_err(to_py)?;
    let Some(d) = device.filter(|d| !d.is_none()) else {
        return Ok(opts);
    };
    if let Ok(name) = d.extract::<String>() {
        opts.adapter = Some(name);
    } else if let Ok(i) = d.extract::<usize>() {
        let list = list_adapters(&opts).map_err(to_py)?;
        let a = list.get(i).ok_or_else(|| {
            PyValueError::new_err(format!(
                "device {i} does not exist ({} adapter(s); see deeper.devices())",
                list.len()
            ))
        })?;
        opts.adapter = Some(a.name.clone());
        opts.backend = Some(a.backend.to_lowercase());
    } else {
        return Err(PyTypeError::new_err(
            "device must be None, an index into deeper.devices() or an adapter name",
        ));
    }
    Ok(opts)
}

/// Builds, loads, cuts, fuses, tunes and compiles: what `deeper run` does before its forward
/// pass; with the warning about weight-file keys the network does not have, if any.
pub(crate) fn compile(spec: &Spec, opts: &GpuOptions) -> deeper::Result<(Model, Option<String>)> {
    let net = spec.net.as_str();
    models::check_name(net)?;
    let file = match &spec.weights {
        Weights::File(p) => Some(p.as_path()),
        _ => None,
    };
    if matches!(spec.weights, Weights::Default) && models::builtin_weights(net).is_none() {
        return Err(Error::Invalid(format!(
            "{net} has no built-in weights: pass weights=\"FILE.safetensors\" \
             (scripts/export_torchvision.py writes one) or weights=\"random\""
        )));
    }
    let (preprocess, transform) = Preprocess::for_weights(net, file)?;
    let gpu = Gpu::new(opts)?;
    let load_opts = LoadOptions {
        weights: file,
        random: matches!(spec.weights, Weights::Random),
        seed: spec.seed,
        size: spec.size.unwrap_or(preprocess.size()),
        batch: spec.batch,
        classes: spec.classes,
        labels: spec.labels.as_deref(),
        features: spec.features.as_deref(),
        tuning: Tuning::from_env()?,
        ..Default::default()
    };
    let loaded = load(&gpu, net, &load_opts)?;
    let m = Model {
        info: info_document(net, &loaded.network)?,
        model: loaded.model,
        preprocess,
        transform,
        net: net.to_string(),
        source: loaded.source.to_string(),
        classes: loaded.classes,
        labels: loaded.labels,
        features: spec.features.clone(),
        flat: spec.features.is_none() || loaded.flat,
    };
    Ok((m, loaded.source.unexpected_warning()))
}

/// `deeper info NET --json`'s document for `graph` (the whole network, before any cut).
fn info_document(net: &str, graph: &Graph) -> deeper::Result<serde_json::Value> {
    let layers = infer::summary(graph)?;
    Ok(serde_json::json!({
        "network": net,
        "input": graph.input.dims(),
        "params": layers.iter().map(|l| l.params).sum::<u64>(),
        "macs": layers.iter().map(|l| l.macs).sum::<u64>(),
        "layers": layers.iter().map(|l| serde_json::json!({"name": l.name, "kind": l.kind,
            "output": l.output.dims(), "params": l.params, "macs": l.macs})).collect::<Vec<_>>(),
    }))
}
