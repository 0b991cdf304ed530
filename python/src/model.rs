//! `deeper.Model`: a network built, given its weights, fused, tuned and compiled for one GPU
//! at a fixed batch (`build.rs` does that, as `deeper run` and the C ABI do). Calling it on a
//! float32 NumPy array gathers the array into the upload tensor (the one host copy: any
//! layout, any N up to the batch, the rest zero) and hands the readback's vector to NumPy
//! without copying it: the logits, or with `features=` a named layer's output.

use crate::build::{compile, gpu_options, Spec, Weights};
use crate::{json_to_py, to_py};
use deeper::labels::top_k_named;
use deeper::preprocess::{transform_input, Preprocess};
use deeper::runtime::Model as Compiled;
use deeper::{Error, Shape, Tensor};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyReadonlyArray4, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

/// A network compiled for one GPU at a fixed batch size. ``m(x)`` takes a float32 array
/// ``[N, C, H, W]`` (preprocessed; any memory layout; 1 <= N <= batch) and returns its logits,
/// float32 ``[N, classes]``; ``m.classify(paths)`` decodes and preprocesses images first.
///
/// net:      a network name (``deeper.NETWORKS``: "lenet5", "resnet50", "googlenet", …).
/// weights:  a safetensors file with torchvision's key names (``scripts/export_torchvision.py``
///           writes one, with the preprocessing in its metadata); omitted: LeNet-5's built-in
///           MNIST weights (other networks have none and need a file); ``"random"``: seeded
///           random weights (``seed``), whose predictions mean nothing.
/// batch:    the most images one call takes (calls with fewer are padded).
/// device:   ``None`` (the best adapter), an index into ``deeper.devices()``, or a substring of
///           an adapter's name.
/// size:     the input's height and width (default: what the preprocessing produces, 224 for
///           ImageNet networks, 32 for lenet5, or the weight file's ``crop_size``).
/// classes:  the classifier's outputs (``deeper run --classes``); ``None``: the weight file's
///           classifier's rows (a fine-tuned ``fc.weight`` of ``[10, 512]`` gives 10), else the
///           network's own (1000; 10 for lenet5).
/// labels:   a text file, one class name per line, as many as ``classes``: ``classify`` names
///           the classes with them (default: ImageNet's names, digits for lenet5, else numbers).
/// features: a layer name as ``info()`` lists it (``"flatten"``, ``"layer4.1.bn2"``): calls
///           return that layer's output instead of the logits, ``[N, F]`` after a flatten,
///           linear or softmax layer, else ``[N, C, H, W]``; ``classify`` is then refused.
///
/// Raises ValueError for unknown names and layers, weight files that do not fit the network,
/// and labels files with another count, FileNotFoundError/OSError for unreadable files,
/// RuntimeError for device problems.
#[pyclass(module = "deeper", frozen)]
pub struct Model {
    pub(crate) model: Compiled,
    pub(crate) preprocess: Preprocess,
    pub(crate) transform: bool,
    pub(crate) net: String,
    pub(crate) source: String,
    /// `deeper info --json`'s document for this network at this size (the whole network).
    pub(crate) info: serde_json::Value,
    /// The classifier's outputs, also when `features` cuts it off.
    pub(crate) classes: usize,
    /// Class names from `labels=`, one per class.
    pub(crate) labels: Option<Vec<String>>,
    /// The layer whose output a call returns instead of the logits.
    pub(crate) features: Option<String>,
    /// Whether a call's output is `[N, F]` (the logits, or features after a flatten, linear
    /// or softmax layer) rather than `[N, C, H, W]`.
    pub(crate) flat: bool,
}

impl Model {
    fn input(&self) -> Shape {
        self.model.shapes()[0]
    }

    /// The compiled graph's output for the whole batch.
    fn output(&self) -> Shape {
        self.model.shapes()[self.model.graph.outputs[0].0]
    }

    /// Runs `data` (n samples, already laid out as the model's input, padded to the batch):
    /// GoogLeNet's transform_input when the weight file asks for it, one forward pass, the
    /// output of the first `n` samples.
    fn forward(&self, data: Vec<f32>, n: usize) -> deeper::Result<Vec<f32>> {
        let mut x = Tensor::new(self.input(), data)?;
        if self.transform {
            transform_input(&mut x)?;
        }
        let mut y = self.model.run(&x)?.swap_remove(0).data;
        y.truncate(n * self.output().per_sample());
        Ok(y)
    }
}

/// One image for `classify`: a path, or the bytes of an encoded file.
enum Image {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (net, weights=None, batch=1, device=None, size=None, seed=0,
                        classes=None, labels=None, features=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        net: &str,
        weights: Option<PathBuf>,
        batch: usize,
        device: Option<&Bound<'_, PyAny>>,
        size: Option<usize>,
        seed: u64,
        classes: Option<usize>,
        labels: Option<PathBuf>,
        features: Option<String>,
    ) -> PyResult<Self> {
        if batch == 0 {
            return Err(PyValueError::new_err("batch must be at least 1"));
        }
        if size == Some(0) {
            return Err(PyValueError::new_err("size must be at least 1"));
        }
        let weights = match weights {
            None => Weights::Default,
            Some(p) if p.as_os_str() == "random" => Weights::Random,
            Some(p) => Weights::File(p),
        };
        let spec = Spec {
            net: net.to_string(),
            weights,
            batch,
            size,
            seed,
            classes,
            labels,
            features,
        };
        let opts = gpu_options(device)?;
        let (m, warning) = py.detach(|| compile(&spec, &opts)).map_err(to_py)?;
        if let Some(w) = warning {
            let msg = format!("{}: {w}", m.source);
            let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
            PyErr::warn(py, &category, &std::ffi::CString::new(msg)?, 1)?;
        }
        Ok(m)
    }

    /// The logits (before softmax) of a float32 array ``x`` of shape ``[N, C, H, W]``
    /// (preprocessed; any memory layout; 1 ≤ N ≤ batch) as a float32 array ``[N, classes]``;
    /// with ``features=``, that layer's output: ``[N, F]`` after a flatten, linear or softmax
    /// layer, else ``[N, C, H, W]``. Raises ValueError for another dtype, rank or sample shape.
    fn __call__<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let arr: PyReadonlyArray4<f32> = x.extract().map_err(|_| describe(x, self.input()))?;
        let dims = arr.shape().to_vec();
        let input = self.input();
        if dims[1..] != input.dims()[1..] || dims[0] == 0 || dims[0] > input.n {
            return Err(PyValueError::new_err(format!(
                "input of shape {dims:?} does not fit the {} model: it takes [N, {}, {}, {}] \
                 with 1 <= N <= {} (the batch it was compiled for)",
                self.net, input.c, input.h, input.w, input.n
            )));
        }
        let n = dims[0];
        let mut data = vec![0f32; input.numel()];
        // `as_slice` is also Ok for a Fortran-ordered array (memory order): C order only.
        match arr.as_slice().ok().filter(|_| arr.is_c_contiguous()) {
            Some(s) => data[..s.len()].copy_from_slice(s),
            None => data
                .iter_mut()
                .zip(arr.as_array().iter())
                .for_each(|(d, v)| *d = *v),
        }
        drop(arr);
        let y = py.detach(|| self.forward(data, n)).map_err(to_py)?;
        let out = self.output().with_n(n);
        let shape = match self.flat {
            true => vec![n, out.per_sample()],
            false => out.dims().to_vec(),
        };
        let y = ArrayD::from_shape_vec(IxDyn(&shape), y)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(y.into_pyarray(py).into_any())
    }

    /// Decodes each image (a path, or the ``bytes`` of a JPEG/PNG file), preprocesses it as
    /// ``deeper run`` does (torchvision's resize, centre crop and normalisation, bit for bit;
    /// MNIST-style for lenet5), runs them ``batch`` at a time and returns, per image, its
    /// ``top`` predictions best first as ``(label, class, probability)``, named by
    /// ``labels=`` when given. Raises ValueError on a model built with ``features=``.
    #[pyo3(signature = (images, top=5))]
    fn classify(
        &self,
        py: Python<'_>,
        images: &Bound<'_, PyAny>,
        top: usize,
    ) -> PyResult<Vec<Vec<(String, usize, f64)>>> {
        if top == 0 {
            return Err(PyValueError::new_err("top must be at least 1"));
        }
        if let Some(layer) = &self.features {
            return Err(PyValueError::new_err(format!(
                "this {} model returns layer '{layer}''s output, not logits (features=): \
                 classify needs a model built without features=",
                self.net
            )));
        }
        if images.is_instance_of::<pyo3::types::PyString>() || images.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err(
                "classify takes a list of images (paths or bytes), not one",
            ));
        }
        let mut list = Vec::new();
        for item in images.try_iter()? {
            let item = item?;
            list.push(match item.cast::<PyBytes>() {
                Ok(b) => Image::Bytes(b.as_bytes().to_vec()),
                Err(_) => Image::Path(item.extract::<PathBuf>()?),
            });
        }
        py.detach(|| self.classify_all(&list, top)).map_err(to_py)
    }

    /// The layer table, as ``deeper info NET --json`` prints it for this model's input size:
    /// ``network``, ``input``, ``params``, ``macs`` and ``layers`` (``name``, ``kind``,
    /// ``output``, ``params``, ``macs`` per layer, before fusion).
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.info)
    }

    /// The network's name.
    #[getter]
    fn network(&self) -> &str {
        &self.net
    }

    /// The compiled batch: the most samples one call takes.
    #[getter]
    fn batch(&self) -> usize {
        self.input().n
    }

    /// ``(batch, C, H, W)``: the input the model was compiled for.
    #[getter]
    fn input_shape(&self) -> (usize, usize, usize, usize) {
        let s = self.input();
        (s.n, s.c, s.h, s.w)
    }

    /// The classifier's outputs (1000 for ImageNet networks, 10 for lenet5, or the own
    /// head's: ``classes=`` or the weight file's), also on a model built with ``features=``.
    #[getter]
    fn classes(&self) -> usize {
        self.classes
    }

    /// The layer whose output calls return (``features=``), or ``None``: the logits.
    #[getter]
    fn features(&self) -> Option<&str> {
        self.features.as_deref()
    }

    /// The class names read from ``labels=`` (one per class), or ``None``.
    #[getter]
    fn labels(&self) -> Option<Vec<String>> {
        self.labels.clone()
    }

    /// Where the weights came from: the file, ``"built-in (lenet5)"`` or ``"random(SEED)"``.
    #[getter]
    fn weights(&self) -> &str {
        &self.source
    }

    /// The adapter in one line (name, backend, driver).
    #[getter]
    fn device(&self) -> String {
        self.model.gpu().description()
    }

    fn __repr__(&self) -> String {
        let s = self.input();
        let features = match &self.features {
            Some(f) => format!(", features='{f}'"),
            None => String::new(),
        };
        format!(
            "deeper.Model('{}', weights='{}', batch={}, size={}, classes={}{features}) on {}",
            self.net,
            self.source,
            s.n,
            s.h,
            self.classes,
            self.model.gpu().name()
        )
    }
}

impl Model {
    fn classify_all(
        &self,
        images: &[Image],
        top: usize,
    ) -> deeper::Result<Vec<Vec<(String, usize, f64)>>> {
        let input = self.input();
        let per = input.per_sample();
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(input.n) {
            let mut data = vec![0f32; input.numel()];
            for (i, img) in chunk.iter().enumerate() {
                let (t, name) = match img {
                    Image::Path(p) => (self.preprocess.load(p)?, p.display().to_string()),
                    Image::Bytes(b) => {
                        let name = format!("image {} (bytes)", out.len() + i);
                        (self.preprocess.decode(b, &name)?, name)
                    }
                };
                if t.shape != input.with_n(1) {
                    return Err(Error::Invalid(format!(
                        "{name} preprocesses to {}, the {} model takes {} per image \
                         (build it without size=)",
                        t.shape,
                        self.net,
                        input.with_n(1)
                    )));
                }
                data[i * per..(i + 1) * per].copy_from_slice(&t.data);
            }
            let logits = self.forward(data, chunk.len())?;
            let t = Tensor::new(Shape::new(chunk.len(), self.classes, 1, 1), logits)?;
            out.extend(
                top_k_named(&t, top, self.labels.as_deref())
                    .into_iter()
                    .map(|p| {
                        p.into_iter()
                            .map(|q| (q.label, q.class, q.prob))
                            .collect::<Vec<_>>()
                    }),
            );
        }
        Ok(out)
    }
}

/// The ValueError for an argument that is not a 4-D float32 array: what it is instead.
fn describe(x: &Bound<'_, PyAny>, input: Shape) -> PyErr {
    let attr = |a: &str| {
        x.getattr(a)
            .and_then(|v| v.str().map(|s| s.to_string()))
            .ok()
    };
    let what = match (attr("dtype"), attr("ndim")) {
        (Some(dtype), Some(ndim)) => format!("a {ndim}-D array of {dtype}"),
        _ => format!(
            "a {}",
            x.get_type().name().map_or("?".into(), |n| n.to_string())
        ),
    };
    PyValueError::new_err(format!(
        "expected a 4-D float32 numpy array [N, {}, {}, {}], got {what}",
        input.c, input.h, input.w
    ))
}
