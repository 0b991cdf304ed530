//! The C ABI (`include/deeper.h`, built as `libdeeper.so` / `.dylib` / `.dll`): open a GPU,
//! build a network with its weights, preprocess an image, run a batch, rank the logits; the
//! same steps as `deeper run`, for programs that are not written in Rust.
//!
//! Every function that can fail returns a [`DeeperStatus`] and writes its results through
//! pointers; nothing panics across the boundary (a panic is caught and reported as
//! `DEEPER_ERROR_PANIC`). After a failure, [`deeper_last_error`] gives the one-line message
//! (the same text the CLI prints), kept per thread until the next call; after a successful
//! `deeper_model_new` it holds the CLI's warning about unexpected weight keys, if any. The
//! functions that cannot fail return other types: `deeper_version`, `deeper_last_error`,
//! `deeper_label` (static strings; `deeper_label` NULL for an index out of range),
//! `deeper_gpu_description`, `deeper_model_weights`, `deeper_model_unexpected_keys` (strings
//! owned by the handle, NULL for a NULL handle), `deeper_model_classes` (a count, 0 for a NULL
//! handle), `deeper_gpu_free`, `deeper_model_free` (nothing). Handles are opaque
//! boxes the caller frees; a model keeps its GPU alive, so the two can be freed in any order.
//! Every function may be called from any thread; `deeper_model_run` may be called on one model
//! from several threads at once (each call runs on its own execution context, see
//! [`crate::runtime::Model::run`]).

use crate::error::Error;
use crate::labels;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

mod model;

pub use model::*;

/// What a call did. `Ok` is 0; every other value has a message in [`deeper_last_error`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeeperStatus {
    Ok = 0,
    /// A null pointer, a string that is not UTF-8, a buffer of the wrong length.
    InvalidArgument = 1,
    /// The library refused (unknown network, missing weight, no adapter, device limit, …).
    Error = 2,
    /// An internal bug, caught at the boundary.
    Panic = 3,
    /// The GPU device was lost (reset, removed, destroyed): open a new GPU and model.
    DeviceLost = 4,
    /// A wait for the GPU (or for a free execution context) ran past its limit.
    Timeout = 5,
}

/// Why a call failed: the caller's mistake, or the library's refusal.
pub(crate) enum Fail {
    Argument(String),
    Library(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Library(e)
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Runs `f`, turning its error or panic into a status and the thread's last error.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Fail>) -> DeeperStatus {
    let (status, message) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => (DeeperStatus::Ok, String::new()),
        Ok(Err(Fail::Argument(m))) => (DeeperStatus::InvalidArgument, m),
        Ok(Err(Fail::Library(e))) => {
            let status = match e {
                Error::DeviceLost(_) => DeeperStatus::DeviceLost,
                Error::Timeout { .. } => DeeperStatus::Timeout,
                _ => DeeperStatus::Error,
            };
            (status, e.to_string())
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (DeeperStatus::Panic, format!("internal error: {what}"))
        }
    };
    set_last_error(&message);
    status
}

/// `*p`, or an argument error naming `what`.
pub(crate) unsafe fn arg<'a, T>(p: *const T, what: &str) -> Result<&'a T, Fail> {
    p.as_ref()
        .ok_or_else(|| Fail::Argument(format!("{what} is NULL")))
}

/// The UTF-8 string at `p`, or an argument error naming `what`.
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Fail> {
    arg(p, what)?;
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Fail::Argument(format!("{what} is not UTF-8")))
}

/// `len` elements at `p`, which must be exactly `want` long.
pub(crate) unsafe fn check_len<T>(
    p: *const T,
    len: usize,
    want: usize,
    what: &str,
) -> Result<(), Fail> {
    arg(p, what)?;
    if len != want {
        return Err(Fail::Argument(format!(
            "{what} holds {len} floats, the model needs {want}"
        )));
    }
    Ok(())
}

/// The library's version, e.g. "0.1.0" (static; never freed).
#[no_mangle]
pub extern "C" fn deeper_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last call on this thread that returned a [`DeeperStatus`]: "" if it
/// returned `Ok`, except a `deeper_model_new` whose weight file had keys the network does not
/// have ("warning: N unexpected key(s) ignored: …"). Valid until the next such call on this
/// thread.
#[no_mangle]
pub extern "C" fn deeper_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The `k` most probable classes of one image's `classes` logits, best first: class indices
/// into `index[0..k]` and softmax probabilities into `prob[0..k]` (`k` ≤ `classes`).
///
/// # Safety
/// `logits` must point to `classes` floats, `index` and `prob` to `k` writable elements each.
#[no_mangle]
pub unsafe extern "C" fn deeper_top_k(
    logits: *const f32,
    classes: usize,
    k: u32,
    index: *mut u32,
    prob: *mut f32,
) -> DeeperStatus {
    guard(|| {
        arg(logits, "logits")?;
        arg(index, "index")?;
        arg(prob, "prob")?;
        if classes == 0 || k as usize > classes {
            return Err(Fail::Argument(format!(
                "k = {k} with {classes} classes: need 1 <= classes and k <= classes"
            )));
        }
        let row = std::slice::from_raw_parts(logits, classes).to_vec();
        let t = Tensor::new(Shape::new(1, classes, 1, 1), row)?;
        for (i, p) in labels::top_k(&t, k as usize)[0].iter().enumerate() {
            *index.add(i) = p.class as u32;
            *prob.add(i) = p.prob as f32;
        }
        Ok(())
    })
}

/// The label of class `index` for a network with `classes` outputs: ImageNet's class names
/// for 1000, the number otherwise, e.g. lenet5's digits (static; never freed). NULL when
/// `index` ≥ `classes` or, for other than 1000 classes, `index` ≥ 4096.
#[no_mangle]
pub extern "C" fn deeper_label(classes: u32, index: u32) -> *const c_char {
    static IMAGENET: OnceLock<Vec<CString>> = OnceLock::new();
    static NUMBERS: OnceLock<Vec<CString>> = OnceLock::new();
    let names = |n: usize| {
        (0..n)
            .map(|i| CString::new(labels::label(n, i)).unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let (classes, index) = (classes as usize, index as usize);
    if index >= classes {
        return std::ptr::null();
    }
    let table = match classes {
        1000 => IMAGENET.get_or_init(|| names(1000)),
        _ => NUMBERS.get_or_init(|| names(4096)),
    };
    table.get(index).map_or(std::ptr::null(), |s| s.as_ptr())
}
