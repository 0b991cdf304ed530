//! The C ABI's handles: a GPU (`deeper_gpu_*`) and a network compiled on it with its weights
//! and preprocessing (`deeper_model_*`), the steps of `deeper run`.

use super::{arg, check_len, guard, text, DeeperStatus, Fail};
use crate::bench::tuning::Tuning;
use crate::load::{load, LoadOptions};
use crate::models::weights;
use crate::preprocess::{transform_input, Preprocess};
use crate::runtime::{Gpu, GpuOptions, Model};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::ffi::{c_char, CString};
use std::path::Path;
use std::ptr;

/// An open GPU (adapter, device, queue, pipeline cache).
pub struct DeeperGpu {
    gpu: Gpu,
    description: CString,
}

/// A network compiled for one GPU at a fixed batch size and input size, with its
/// preprocessing.
pub struct DeeperModel {
    /// Holds its own handle to the device.
    pub(super) model: Model,
    /// Where the weights came from, as `deeper run` prints it.
    source: CString,
    /// The weight file's keys the network does not have, comma-separated ("" when none).
    unexpected: CString,
    preprocess: Preprocess,
    transform: bool,
    /// The layer whose output a run returns instead of the logits (`deeper_model_new_ex`).
    pub(super) features: Option<String>,
    /// Class names from `deeper_model_set_labels` (empty: the defaults of `deeper_label`).
    pub(super) labels: Vec<CString>,
}

impl DeeperModel {
    /// The input batch's shape (value 0 of the compiled graph).
    fn input(&self) -> Shape {
        self.model.shapes()[0]
    }

    /// Outputs per image: the first output's (the logits' or the features') size per sample.
    pub(super) fn classes(&self) -> usize {
        self.model.shapes()[self.model.graph.outputs[0].0].per_sample()
    }
}

/// Opens the GPU `deeper` would pick (`DEEPER_BACKEND` and `DEEPER_ADAPTER` choose, as for
/// the CLI) and stores its handle in `*out`.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn deeper_gpu_open(out: *mut *mut DeeperGpu) -> DeeperStatus {
    guard(|| {
        arg(out, "out")?;
        let gpu = Gpu::new(&GpuOptions::from_env()?)?;
        let description = CString::new(gpu.description()).unwrap_or_default();
        let handle = DeeperGpu { gpu, description };
        *out = Box::into_raw(Box::new(handle));
        Ok(())
    })
}

/// The adapter in one line (name, backend, driver); owned by `gpu`. NULL when `gpu` is NULL.
///
/// # Safety
/// `gpu` must be NULL or a handle from [`deeper_gpu_open`] that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn deeper_gpu_description(gpu: *const DeeperGpu) -> *const c_char {
    gpu.as_ref()
        .map_or(std::ptr::null(), |g| g.description.as_ptr())
}

/// Frees a GPU handle (NULL is ignored). Models built on it stay valid.
///
/// # Safety
/// `gpu` must be NULL or a handle from [`deeper_gpu_open`], freed at most once.
#[no_mangle]
pub unsafe extern "C" fn deeper_gpu_free(gpu: *mut DeeperGpu) {
    if !gpu.is_null() {
        drop(Box::from_raw(gpu));
    }
}

/// [`super::deeper_model_new_ex`]'s flag: refuse a weight file with keys the network does not have
/// (`deeper run --strict`) instead of ignoring them with a warning.
pub const DEEPER_MODEL_STRICT: u32 = 1;

/// Builds `network` (a name `deeper info --help` lists, e.g. "resnet50", "lenet5"), loads `weights`
/// (a safetensors file; NULL = the built-in weights for lenet5, seeded random weights for the
/// others), and compiles it on `gpu` for `batch` images of `size`×`size` (0 = what the
/// network's preprocessing produces: 224, 227 for alexnet-paper, 32 for lenet5, or the weight
/// file's `crop_size`). Stores the model in `*out`. Each convolution and linear layer runs
/// the kernel cached for this device and shape, else on a discrete or integrated GPU the
/// fastest timed now (and cached), else the selection rule; `DEEPER_AUTOTUNE=1|0` forces
/// tuning on or off (any other value fails with `DEEPER_ERROR`). Keys of the file that the
/// network does not have are ignored: the call returns `Ok` and [`deeper_last_error`] holds
/// the warning `deeper run` prints (see [`deeper_model_unexpected_keys`]).
///
/// [`deeper_last_error`]: super::deeper_last_error
///
/// # Safety
/// `gpu` must be a live handle, `network` a NUL-terminated string, `weights` NULL or a
/// NUL-terminated string, `out` writable.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_new(
    gpu: *const DeeperGpu,
    network: *const c_char,
    weights: *const c_char,
    batch: u32,
    size: u32,
    out: *mut *mut DeeperModel,
) -> DeeperStatus {
    super::deeper_model_new_ex(gpu, network, weights, batch, size, 0, ptr::null(), 0, out)
}

/// What `deeper_model_new` and `deeper_model_new_ex` build.
pub(super) struct Spec<'a> {
    pub net: &'a str,
    pub weights: Option<&'a Path>,
    pub batch: u32,
    pub size: u32,
    /// `None`: the weight file's classifier's rows, else the network's own.
    pub classes: Option<usize>,
    /// A layer whose output runs return instead of the logits.
    pub features: Option<&'a str>,
    /// Unexpected weight keys are an error instead of a warning.
    pub strict: bool,
}

/// The model, and the unexpected-keys warning if any.
pub(super) fn new_model(
    gpu: &DeeperGpu,
    spec: &Spec,
) -> Result<(DeeperModel, Option<String>), Fail> {
    let (preprocess, transform) = Preprocess::for_weights(spec.net, spec.weights)?;
    let opts = LoadOptions {
        weights: spec.weights,
        size: match spec.size {
            0 => preprocess.size(),
            s => s as usize,
        },
        batch: spec.batch as usize,
        classes: spec.classes,
        features: spec.features,
        strict: spec.strict,
        tuning: Tuning::from_env()?,
        ..Default::default()
    };
    let loaded = load(&gpu.gpu, spec.net, &opts)?;
    let unexpected = match &loaded.source {
        weights::Source::File { unexpected, .. } => unexpected.join(","),
        _ => String::new(),
    };
    let model = DeeperModel {
        model: loaded.model,
        source: CString::new(loaded.source.to_string()).unwrap_or_default(),
        unexpected: CString::new(unexpected).unwrap_or_default(),
        preprocess,
        transform,
        features: spec.features.map(str::to_string),
        labels: Vec::new(),
    };
    Ok((model, loaded.source.unexpected_warning()))
}

/// The model's input shape as `[N, C, H, W]` into `shape[0..4]`.
///
/// # Safety
/// `model` must be a live handle and `shape` point to 4 writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_input_shape(
    model: *const DeeperModel,
    shape: *mut u32,
) -> DeeperStatus {
    guard(|| {
        let m = arg(model, "model")?;
        arg(shape, "shape")?;
        for (i, d) in m.input().dims().iter().enumerate() {
            *shape.add(i) = *d as u32;
        }
        Ok(())
    })
}

/// Outputs per image (1000 for the ImageNet networks, 10 for lenet5, the head's classes, or the
/// size of the features layer's output); 0 when `model` is NULL.
///
/// # Safety
/// `model` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_classes(model: *const DeeperModel) -> u32 {
    model.as_ref().map_or(0, |m| m.classes() as u32)
}

/// Where the model's weights came from: the file's path, "built-in (lenet5)" or "random(0)"
/// (random weights: predictions mean nothing). Owned by `model`; NULL when `model` is NULL.
///
/// # Safety
/// `model` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_weights(model: *const DeeperModel) -> *const c_char {
    model
        .as_ref()
        .map_or(std::ptr::null(), |m| m.source.as_ptr())
}

/// The keys of the model's weight file that the network does not have (ignored), comma-
/// separated, sorted; "" when there were none (or no file). Owned by `model`; NULL when
/// `model` is NULL.
///
/// # Safety
/// `model` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_unexpected_keys(model: *const DeeperModel) -> *const c_char {
    model
        .as_ref()
        .map_or(std::ptr::null(), |m| m.unexpected.as_ptr())
}

/// Decodes the image at `path` (PNG or JPEG) and preprocesses it as the network expects
/// (torchvision's resize, centre crop and normalisation, bit for bit; grayscale 28 → 32 for
/// lenet5) into one sample of `len` = C·H·W floats.
///
/// # Safety
/// `model` must be a live handle, `path` a NUL-terminated string, `sample` point to `len`
/// writable floats.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_load_image(
    model: *const DeeperModel,
    path: *const c_char,
    sample: *mut f32,
    len: usize,
) -> DeeperStatus {
    guard(|| {
        let m = arg(model, "model")?;
        let path = Path::new(text(path, "path")?);
        check_len(sample, len, m.input().per_sample(), "sample")?;
        let t = m.preprocess.load(path)?;
        if t.shape != m.input().with_n(1) {
            return Err(Fail::Argument(format!(
                "{} preprocesses to {}, the {} model takes {} per image (build it with size 0)",
                path.display(),
                t.shape,
                m.model.graph.name,
                m.input().with_n(1)
            )));
        }
        std::slice::from_raw_parts_mut(sample, len).copy_from_slice(&t.data);
        Ok(())
    })
}

/// Runs the network on `input` (`input_len` = N·C·H·W floats, NCHW, preprocessed) and writes
/// the logits (`logits_len` = N·classes floats). torchvision's GoogLeNet `transform_input` is
/// applied when the weight file asks for it, as `deeper run` does. May be called on one model
/// from several threads at once: each call runs on its own execution context.
///
/// # Safety
/// `model` must be a live handle, `input` point to `input_len` floats and `logits` to
/// `logits_len` writable floats.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_run(
    model: *const DeeperModel,
    input: *const f32,
    input_len: usize,
    logits: *mut f32,
    logits_len: usize,
) -> DeeperStatus {
    guard(|| {
        let m = arg(model, "model")?;
        check_len(input, input_len, m.input().numel(), "input")?;
        check_len(logits, logits_len, m.input().n * m.classes(), "logits")?;
        let data = std::slice::from_raw_parts(input, input_len).to_vec();
        let mut x = Tensor::new(m.input(), data)?;
        if m.transform {
            transform_input(&mut x)?;
        }
        let y = m.model.run(&x)?.remove(0);
        std::slice::from_raw_parts_mut(logits, logits_len).copy_from_slice(&y.data);
        Ok(())
    })
}

/// Frees a model (NULL is ignored); its device memory is returned at once.
///
/// # Safety
/// `model` must be NULL or a handle from [`deeper_model_new`], freed at most once.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_free(model: *mut DeeperModel) {
    if !model.is_null() {
        drop(Box::from_raw(model));
    }
}
