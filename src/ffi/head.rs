//! The C ABI's own heads, labels and features: `deeper_model_new_ex` builds a network with the
//! caller's class count (or the weight file's) and can cut it after a named layer, so that runs
//! return that layer's output (an embedding) instead of the logits; `deeper_model_set_labels`
//! reads the class names from a file and `deeper_model_label` gives them back.

use super::model::{new_model, DeeperGpu, DeeperModel, Spec, DEEPER_MODEL_STRICT};
use super::{arg, deeper_label, guard, set_last_error, text, DeeperStatus, Fail};
use crate::labels::read_labels;
use std::ffi::{c_char, CString};
use std::path::Path;

/// [`super::deeper_model_new`] with an own head, features and flags: `classes` 0 takes the
/// weight file's classifier's rows (else the network's 1000; 10 for lenet5), any other value
/// sets them; `features` NULL keeps the logits, else names the layer (as `deeper info` lists
/// it) whose output [`super::deeper_model_run`] then writes, [`super::deeper_model_classes`]
/// giving its size per image; `flags` 0 or [`DEEPER_MODEL_STRICT`] (fail with `DEEPER_ERROR`,
/// the message listing the keys, when the weight file has keys the network does not; without
/// it they are ignored and [`super::deeper_last_error`] holds the warning after `DEEPER_OK`).
/// Unknown flag bits are an invalid argument.
///
/// # Safety
/// As `deeper_model_new`; `features` must be NULL or a NUL-terminated string.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn deeper_model_new_ex(
    gpu: *const DeeperGpu,
    network: *const c_char,
    weights: *const c_char,
    batch: u32,
    size: u32,
    classes: u32,
    features: *const c_char,
    flags: u32,
    out: *mut *mut DeeperModel,
) -> DeeperStatus {
    let mut warning = None;
    let status = guard(|| {
        let gpu = arg(gpu, "gpu")?;
        let net = text(network, "network")?;
        let weights = match weights.is_null() {
            true => None,
            false => Some(Path::new(text(weights, "weights")?)),
        };
        let features = match features.is_null() {
            true => None,
            false => Some(text(features, "features")?),
        };
        arg(out, "out")?;
        if batch == 0 {
            return Err(Fail::Argument("batch is 0".into()));
        }
        if flags & !DEEPER_MODEL_STRICT != 0 {
            return Err(Fail::Argument(format!(
                "flags = {flags:#x}: the known flag is DEEPER_MODEL_STRICT (1)"
            )));
        }
        let spec = Spec {
            net,
            weights,
            batch,
            size,
            classes: (classes > 0).then_some(classes as usize),
            features,
            strict: flags & DEEPER_MODEL_STRICT != 0,
        };
        let (model, w) = new_model(gpu, &spec)?;
        warning = w;
        *out = Box::into_raw(Box::new(model));
        Ok(())
    });
    if let (DeeperStatus::Ok, Some(w)) = (status, warning) {
        set_last_error(&format!("warning: {w} (DEEPER_MODEL_STRICT refuses them)"));
    }
    status
}

/// Reads the class names of `model` from the file at `path`: UTF-8, one label per line, exactly
/// as many as [`super::deeper_model_classes`]. Refused for a features model. Call it before
/// the model is shared between threads.
///
/// # Safety
/// `model` must be a live handle no other call is using, `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_set_labels(
    model: *mut DeeperModel,
    path: *const c_char,
) -> DeeperStatus {
    guard(|| {
        let m = model
            .as_mut()
            .ok_or_else(|| Fail::Argument("model is NULL".into()))?;
        let path = Path::new(text(path, "path")?);
        if let Some(layer) = &m.features {
            return Err(Fail::Argument(format!(
                "the model returns layer '{layer}', not classes: it takes no labels"
            )));
        }
        let labels = read_labels(path, m.classes())?;
        m.labels = labels
            .into_iter()
            .map(|l| CString::new(l.replace('\0', " ")).unwrap_or_default())
            .collect();
        Ok(())
    })
}

/// The name of class `index` of `model`: from its labels file when one was set, else as
/// [`deeper_label`] names it. Owned by `model`, or static. NULL when `model` is NULL or `index`
/// is not a class.
///
/// # Safety
/// `model` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn deeper_model_label(
    model: *const DeeperModel,
    index: u32,
) -> *const c_char {
    let Some(m) = model.as_ref() else {
        return std::ptr::null();
    };
    if m.labels.is_empty() {
        return deeper_label(m.classes() as u32, index);
    }
    m.labels
        .get(index as usize)
        .map_or(std::ptr::null(), |l| l.as_ptr())
}
