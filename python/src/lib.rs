//! The Python module `deeper`: a thin binding over the Rust API (no logic of its own), so that
//! the classic CNNs on any GPU are usable from NumPy, and, through Ray Data, across many
//! machines. [`model`] holds `deeper.Model`, [`build`] how one is built; this file the module,
//! `devices()`, `bench()` and the one mapping of `deeper::Error` to Python exceptions.
//!
//! Errors: `ValueError` for what the caller got wrong (shapes, dtypes, network or layer names,
//! weight files that do not fit, images that do not decode), `OSError` for files that cannot be
//! read, `RuntimeError` for the device (no adapter, lost device, limits, timeouts). Messages are
//! deeper's own one-line messages. The GIL is released while the GPU works.

mod build;
mod model;

use deeper::bench::{bench_network, peak, BenchOptions};
use deeper::runtime::{list_adapters, Gpu, GpuOptions, Timing};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// `deeper::Error` as the Python exception that says what kind of problem it is.
pub(crate) fn to_py(e: deeper::Error) -> PyErr {
    use deeper::Error as E;
    let msg = e.to_string();
    match e {
        E::Shape { .. }
        | E::Params { .. }
        | E::MissingWeight { .. }
        | E::WeightShape { .. }
        | E::Invalid(_) => PyValueError::new_err(msg),
        E::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        E::Io { .. } => PyOSError::new_err(msg),
        E::NoAdapter(_)
        | E::Device(_)
        | E::Gpu { .. }
        | E::DeviceLost(_)
        | E::Timeout { .. }
        | E::Limit { .. } => PyRuntimeError::new_err(msg),
    }
}

/// A JSON document (as serde_json writes it) as Python objects, through the `json` module.
pub(crate) fn json_to_py<'py>(
    py: Python<'py>,
    doc: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (doc.to_string(),))
}

/// The GPU adapters wgpu can see, best first (the first is the one ``Model`` opens by
/// default): ``name``, ``backend``, ``device_type``, ``driver``, ``driver_info``, ``limits``
/// (a dict of the limits deeper cares about), ``subgroups`` (``(min, max)`` subgroup size, or
/// ``None``), ``timestamps`` (per-layer GPU timing available) and ``features``.
/// ``DEEPER_BACKEND`` and ``DEEPER_ADAPTER`` filter it as they do for the CLI.
#[pyfunction]
fn devices(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = py
        .detach(|| list_adapters(&GpuOptions::from_env()?))
        .map_err(to_py)?;
    let out = PyList::empty(py);
    for a in list {
        let d = PyDict::new(py);
        d.set_item("name", &a.name)?;
        d.set_item("backend", &a.backend)?;
        d.set_item("device_type", &a.device_type)?;
        d.set_item("driver", &a.driver)?;
        d.set_item("driver_info", &a.driver_info)?;
        let l = &a.limits;
        let limits = PyDict::new(py);
        limits.set_item(
            "max_storage_buffer_binding_size",
            l.max_storage_buffer_binding_size,
        )?;
        limits.set_item("max_buffer_size", l.max_buffer_size)?;
        limits.set_item(
            "max_compute_workgroup_storage_size",
            l.max_compute_workgroup_storage_size,
        )?;
        limits.set_item(
            "max_compute_invocations_per_workgroup",
            l.max_compute_invocations_per_workgroup,
        )?;
        limits.set_item(
            "max_compute_workgroups_per_dimension",
            l.max_compute_workgroups_per_dimension,
        )?;
        d.set_item("limits", limits)?;
        d.set_item("subgroups", a.subgroup_sizes)?;
        d.set_item("timestamps", a.timestamps)?;
        d.set_item("features", &a.features)?;
        out.append(d)?;
    }
    Ok(out)
}

/// Benchmarks network ``net`` (random weights) at ``batch`` on the default GPU, layer by
/// layer: the document ``deeper bench NET --batch N --json`` prints, as a dict (``layers``
/// with GPU ms, GFLOP/s, GB/s and roofline shares per layer; ``gpu_ms``, ``end_to_end_ms``,
/// ``images_per_s``, ``cold_start_ms``…). ``size`` is the input side (default: the network's
/// native size); ``runs`` the timed runs (the median is reported).
#[pyfunction(name = "bench")]
#[pyo3(signature = (net, batch=1, size=None, runs=5))]
fn bench_network_py<'py>(
    py: Python<'py>,
    net: &str,
    batch: usize,
    size: Option<usize>,
    runs: usize,
) -> PyResult<Bound<'py, PyAny>> {
    if batch == 0 || runs == 0 {
        return Err(PyValueError::new_err("batch and runs must be at least 1"));
    }
    let doc = py
        .detach(|| -> deeper::Result<serde_json::Value> {
            deeper::models::check_name(net)?;
            let timing = Timing::try_from_env()?;
            let opts = BenchOptions {
                runs,
                timing,
                autotune: deeper::bench::tuning::Tuning::from_env()?
                    != deeper::bench::tuning::Tuning::Off,
            };
            let gpu = Gpu::new(&GpuOptions::from_env()?)?;
            let peak = peak::cached_or_quick(&gpu, timing)?;
            let r = bench_network(&gpu, net, batch, size, &opts, &peak)?;
            serde_json::to_value(&r).map_err(|e| deeper::Error::Invalid(e.to_string()))
        })
        .map_err(to_py)?;
    json_to_py(py, &doc)
}

/// deeper: the classic convolutional networks (LeNet-5, AlexNet, VGG, ResNet, NiN, GoogLeNet)
/// on any GPU through wgpu (Vulkan, Metal, DX12), every layer checked against a CPU reference.
///
/// ``Model(net, weights=..., batch=...)`` compiles a network; calling it on a float32 NumPy
/// array ``[N, C, H, W]`` returns the logits (or, with ``features=``, a named layer's output);
/// ``Model.classify(paths)`` runs image files through the same preprocessing as ``deeper run``
/// (own heads: ``classes=``, ``labels=``). ``devices()`` lists the adapters, ``bench()`` times a
/// network layer by layer.
#[pymodule(name = "deeper")]
fn deeper_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    m.add_function(wrap_pyfunction!(bench_network_py, m)?)?;
    m.add_class::<model::Model>()?;
    m.add("NETWORKS", deeper::models::NETWORKS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
