//! `deeper run`: a network, weights (a file, the built-in ones, or seeded random), inputs (images
//! or an `.npy` tensor) → top-k labels per input, optionally the raw logits as `.npy`.
//! A weight file's metadata (written by `scripts/export_torchvision.py`) can set the image
//! preprocessing (`resize_size`, `crop_size`, `mean`, `std`) and ask for GoogLeNet's
//! `transform_input`, which is applied to the input tensor as torchvision's model applies it.
//! `--resize`, `--crop`, `--mean` and `--std` override that preprocessing; a weight file
//! without it gets a warning naming the defaults used in its place (a state_dict saved
//! without the export script has none, and e.g. ResNet-50's DEFAULT weights want 232, not 256).
//! Own heads: `--classes N` (else the weight file's classifier's size) and `--labels FILE`;
//! `--features LAYER` returns a named layer's output instead of the logits.

use deeper::bench::tuning::Tuning;
use deeper::labels::{top_k_named, Prediction};
use deeper::load::{load, LoadOptions};
use deeper::models::{self, weights};
use deeper::preprocess::{transform_input, Preprocess};
use deeper::runtime::{Gpu, GpuOptions};
use deeper::{limits, npy, Error, Result, Shape, Tensor};
use std::path::{Path, PathBuf};

/// Arguments of `deeper run`.
pub struct RunArgs {
    pub net: String,
    pub weights: Option<PathBuf>,
    pub images: Vec<PathBuf>,
    pub input: Option<PathBuf>,
    pub top: usize,
    pub save_logits: Option<PathBuf>,
    pub json: bool,
    pub strict: bool,
    pub seed: u64,
    /// `--resize`, `--crop`, `--mean`, `--std`: preprocessing overrides (images only).
    pub resize: Option<usize>,
    pub crop: Option<usize>,
    pub mean: Option<Vec<f32>>,
    pub std: Option<Vec<f32>>,
    /// `--classes N`: the classifier's size (default: the weight file's, else the network's).
    pub classes: Option<usize>,
    /// `--labels FILE`: one class name per line.
    pub labels: Option<PathBuf>,
    /// `--features LAYER`: return this layer's output instead of the logits.
    pub features: Option<String>,
    /// `--save-features Y.npy`.
    pub save_features: Option<PathBuf>,
    /// `--autotune` (`Some(true)`) / `--no-autotune` (`Some(false)`).
    pub tune: Option<bool>,
}

/// The input batch and the name of each sample.
fn load_inputs(a: &RunArgs, pre: &Preprocess) -> Result<(Tensor, Vec<String>)> {
    if let Some(path) = &a.input {
        let arr = npy::load(path)?;
        if let Some(from) = arr.converted_from {
            eprintln!("note: {}: converted from {from} to float32", path.display());
        }
        let [n, c, h, w] = arr.dims[..] else {
            return Err(Error::Invalid(format!(
                "{}: expected a [N, C, H, W] array, got shape {:?}",
                path.display(),
                arr.dims
            )));
        };
        let what = |d: &str| format!("{}: {d}", path.display());
        for (v, limit, d) in [
            (n, limits::MAX_BATCH, "batch N"),
            (c, limits::MAX_CHANNELS, "channels C"),
            (h, limits::MAX_SIDE, "height H"),
            (w, limits::MAX_SIDE, "width W"),
        ] {
            if v == 0 {
                return Err(Error::Invalid(format!("{} is 0", what(d))));
            }
            limits::at_most(v, limit, &what(d))?;
        }
        let names = (0..n).map(|i| i.to_string()).collect();
        return Ok((Tensor::new(Shape::new(n, c, h, w), arr.values)?, names));
    }
    if a.images.is_empty() {
        return Err(Error::Invalid("give --image FILE… or --input X.npy".into()));
    }
    limits::at_most(
        a.images.len(),
        limits::MAX_BATCH,
        "the number of --image files",
    )?;
    let side = pre.size();
    let shape = Shape::new(a.images.len(), pre.mean.len(), side, side);
    let mut data =
        limits::try_with_capacity(shape.try_numel("the --image batch")?, "the --image batch")?;
    for p in &a.images {
        data.extend(pre.load(p)?.data);
    }
    let names = a.images.iter().map(|p| p.display().to_string()).collect();
    Ok((Tensor::new(shape, data)?, names))
}

/// The metadata keys that set the preprocessing, and the flag that overrides each.
const PREPROCESSING: [(&str, &str); 4] = [
    ("resize_size", "--resize"),
    ("crop_size", "--crop"),
    ("mean", "--mean"),
    ("std", "--std"),
];

/// The image preprocessing and whether to apply `transform_input`: the network's defaults,
/// replaced by the weight file's metadata, replaced by the flags. With images and a weight
/// file, each setting that neither the metadata nor a flag gives is named in a warning.
fn preprocessing(a: &RunArgs) -> Result<(Preprocess, bool)> {
    let (mut pre, transform) = Preprocess::for_weights(&a.net, a.weights.as_deref())?;
    let channels = pre.mean.len();
    for (flag, values) in [("--mean", &a.mean), ("--std", &a.std)] {
        if let Some(v) = values.as_ref().filter(|v| v.len() != channels) {
            return Err(Error::Invalid(format!(
                "{flag} has {} value(s); {} takes {channels} input channel(s)",
                v.len(),
                a.net
            )));
        }
    }
    let given = [
        a.resize.is_some(),
        a.crop.is_some(),
        a.mean.is_some(),
        a.std.is_some(),
    ];
    if let (Some(path), None) = (&a.weights, &a.input) {
        let meta = weights::read_metadata(path)?;
        let defaults = [
            format!("resize {}", pre.resize),
            format!("crop {}", pre.crop),
            format!("mean {}", list(&pre.mean)),
            format!("std {}", list(&pre.std)),
        ];
        let missing: Vec<(&str, &str, &str)> = PREPROCESSING
            .iter()
            .zip(given)
            .zip(&defaults)
            .filter(|(((key, _), given), _)| !given && !meta.contains_key(*key))
            .map(|(((key, flag), _), default)| (*key, *flag, default.as_str()))
            .collect();
        if !missing.is_empty() {
            let keys: Vec<_> = missing.iter().map(|m| m.0).collect();
            let flags: Vec<_> = missing.iter().map(|m| m.1).collect();
            let used: Vec<_> = missing.iter().map(|m| m.2).collect();
            eprintln!(
                "warning: {}: no {} in its metadata; using {}'s defaults: {} (set with {})",
                path.display(),
                keys.join(", "),
                a.net,
                used.join(", "),
                flags.join(", ")
            );
        }
    }
    pre.resize = a.resize.unwrap_or(pre.resize);
    pre.crop = a.crop.unwrap_or(pre.crop);
    pre.mean = a.mean.clone().unwrap_or(pre.mean);
    pre.std = a.std.clone().unwrap_or(pre.std);
    if pre.crop > pre.resize {
        return Err(Error::Invalid(format!(
            "the crop ({}) is larger than the resize ({}): give --resize at least {} or a \
             smaller --crop",
            pre.crop, pre.resize, pre.crop
        )));
    }
    Ok((pre, transform))
}

/// Values as the flags take them: comma-separated.
fn list(v: &[f32]) -> String {
    v.iter().map(f32::to_string).collect::<Vec<_>>().join(",")
}

/// Networks whose classifier's input grows with the input size (no adaptive pooling before
/// it): with weights, only their native size fits.
const SIZED_CLASSIFIER: [&str; 2] = ["lenet5", "alexnet-paper"];

pub fn run(a: &RunArgs) -> Result<bool> {
    let tuning = Tuning::from_env_and_flag(a.tune)?;
    let (pre, transform) = preprocessing(a)?;
    let (mut input, names) = load_inputs(a, &pre)?;
    if transform {
        transform_input(&mut input)?;
    }
    if input.shape.h != input.shape.w {
        return Err(Error::Invalid(format!(
            "input {} is not square",
            input.shape
        )));
    }
    let native = models::native_size(&a.net);
    let fixed_weights = a.weights.is_some() || models::builtin_weights(&a.net).is_some();
    if fixed_weights && SIZED_CLASSIFIER.contains(&a.net.as_str()) && input.shape.h != native {
        return Err(Error::Invalid(format!(
            "{} takes {native} × {native} inputs (its weights fix the classifier's size) and the \
             input is {} × {}",
            a.net, input.shape.h, input.shape.w
        )));
    }
    let gpu = Gpu::new(&GpuOptions::from_env()?)?;
    let opts = LoadOptions {
        weights: a.weights.as_deref(),
        seed: a.seed,
        size: input.shape.h,
        batch: input.shape.n,
        classes: a.classes,
        labels: a.labels.as_deref(),
        features: a.features.as_deref(),
        strict: a.strict,
        tuning,
        ..Default::default()
    };
    let loaded = load(&gpu, &a.net, &opts)?;
    let takes = loaded.network.input;
    if takes.with_n(input.shape.n) != input.shape {
        return Err(Error::Invalid(format!(
            "input {} does not fit {}: it takes [N, {}, H, W]",
            input.shape, a.net, takes.c
        )));
    }
    if let Some(w) = loaded.source.unexpected_warning() {
        eprintln!("warning: {w} (use --strict to refuse)");
    }
    let (model, flat, labels) = (loaded.model, loaded.flat, loaded.labels);
    let weights_name = loaded.source.to_string();
    let logits = model.run(&input)?.remove(0);
    if let Some(layer) = &a.features {
        let dims = feature_dims(flat, &logits);
        if let Some(path) = &a.save_features {
            npy::write(path, &dims, &logits.data)?;
        }
        let run = Ran {
            weights: &weights_name,
            gpu: &gpu,
            names: &names,
        };
        print_features(a, &run, layer, &dims, &logits);
        return Ok(true);
    }
    if let Some(path) = &a.save_logits {
        npy::write(
            path,
            &[logits.shape.n, logits.shape.per_sample()],
            &logits.data,
        )?;
    }
    let preds = top_k_named(&logits, a.top, labels.as_deref());
    if a.json {
        print_json(a, &weights_name, &gpu, &names, &preds);
    } else {
        print_text(a, &weights_name, &gpu, &names, &preds, transform);
    }
    Ok(true)
}

/// The `.npy` dimensions of a layer's output: `[N, features]` after a flatten, linear or
/// softmax (PyTorch's 2-D tensors there), else `[N, C, H, W]`.
fn feature_dims(flat: bool, out: &Tensor) -> Vec<usize> {
    match flat {
        true => vec![out.shape.n, out.shape.per_sample()],
        false => out.shape.dims().to_vec(),
    }
}

/// What every report of a run names.
struct Ran<'a> {
    weights: &'a str,
    gpu: &'a Gpu,
    names: &'a [String],
}

/// `--features`: the layer's output per input, whole in JSON; its size, norm and first values
/// in text.
fn print_features(a: &RunArgs, r: &Ran, layer: &str, dims: &[usize], out: &Tensor) {
    let per = out.shape.per_sample().max(1);
    if a.json {
        let results: Vec<_> = r
            .names
            .iter()
            .zip(out.data.chunks(per))
            .map(|(n, f)| serde_json::json!({"input": n, "features": f}))
            .collect();
        let doc = serde_json::json!({"network": a.net, "weights": r.weights,
            "device": r.gpu.description(), "layer": layer, "shape": dims, "results": results});
        println!("{doc:#}");
        return;
    }
    println!("{} on {}", a.net, r.gpu.description());
    println!("weights: {}", r.weights);
    println!("features: layer '{layer}', output {dims:?}");
    for (name, f) in r.names.iter().zip(out.data.chunks(per)) {
        let norm = f.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        let head: Vec<String> = f.iter().take(6).map(|v| format!("{v:.4}")).collect();
        println!(
            "{name}: {} values, L2 norm {norm:.4}, first {} …",
            f.len(),
            head.join(" ")
        );
    }
    if let Some(p) = a.save_features.as_ref().filter(|p| p.as_os_str() != "-") {
        println!("features saved to {}", p.display());
    }
}

fn print_json(a: &RunArgs, weights: &str, gpu: &Gpu, names: &[String], preds: &[Vec<Prediction>]) {
    let results: Vec<_> = names
        .iter()
        .zip(preds)
        .map(|(n, p)| serde_json::json!({"input": n, "top": p}))
        .collect();
    let doc = serde_json::json!({"network": a.net, "weights": weights, "device": gpu.description(), "results": results});
    println!("{doc:#}");
}

fn print_text(
    a: &RunArgs,
    weights: &str,
    gpu: &Gpu,
    names: &[String],
    preds: &[Vec<Prediction>],
    transform: bool,
) {
    println!("{} on {}", a.net, gpu.description());
    if transform {
        println!("input: torchvision's transform_input applied (the weight file asks for it)");
    }
    if weights.starts_with("random") {
        println!("weights: {weights}: RANDOM, NOT TRAINED: these predictions mean nothing (pass --weights FILE)");
    } else {
        println!("weights: {weights}");
    }
    for (name, p) in names.iter().zip(preds) {
        println!("{name}:");
        for (i, q) in p.iter().enumerate() {
            println!(
                "  {}. {:>6.2}%  {:>4}  {}",
                i + 1,
                q.prob * 100.0,
                q.class,
                q.label
            );
        }
    }
    if let Some(p) = a.save_logits.as_ref().filter(|p| p.as_os_str() != "-") {
        println!("logits saved to {}", Path::new(p).display());
    }
}
