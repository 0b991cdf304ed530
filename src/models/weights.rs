//! Loading weights from `.safetensors` files holding a PyTorch `state_dict`, keyed by the
//! graph's parameter names (torchvision's names for the networks torchvision has). f16, bf16 and
//! f64 tensors are converted to f32. Everything is validated before the graph is touched: a
//! missing key names the key and its layer, a wrong shape names both shapes, NaN/Inf values
//! name the key, a truncated or corrupt file says so. Keys inference does not use
//! (`*.num_batches_tracked`, GoogLeNet's `aux1.*`/`aux2.*` without aux heads) are ignored;
//! any other unknown key is reported, and is an error with `strict`.

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::shape::Shape;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

/// What a load did besides filling the parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    pub loaded: usize,
    /// Keys present in the file and deliberately unused.
    pub ignored: Vec<String>,
    /// Keys present in the file that the network does not have.
    pub unexpected: Vec<String>,
}

/// Loads `path` into `graph`'s parameters.
pub fn load_file(graph: &mut Graph, path: &Path, strict: bool) -> Result<LoadReport> {
    let bytes = crate::files::read_whole(path)?;
    load_bytes(graph, &bytes, &path.display().to_string(), strict)
}

/// The string pairs of a safetensors file's `__metadata__` (empty when it has none), read from
/// the header alone. `scripts/export_torchvision.py` records there how the weights expect their
/// input (`resize_size`, `crop_size`, `mean`, `std`, `transform_input`).
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    let json = read_header(path)?;
    let Some(meta) = json.get("__metadata__") else {
        return Ok(BTreeMap::new());
    };
    let obj = meta
        .as_object()
        .ok_or_else(|| not_safetensors(path, "__metadata__ is not an object".into()))?;
    obj.iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => Ok((k.clone(), v.to_string())),
            None => Err(not_safetensors(
                path,
                format!("__metadata__ value of '{k}' is not a string"),
            )),
        })
        .collect()
}

/// The shape of tensor `key` in a safetensors file (`None` when the file has no such key),
/// read from the header alone.
pub fn read_shape(path: &Path, key: &str) -> Result<Option<Vec<usize>>> {
    let json = read_header(path)?;
    let Some(entry) = json.get(key) else {
        return Ok(None);
    };
    let dims = entry.get("shape").and_then(|s| s.as_array());
    let dims: Option<Vec<usize>> =
        dims.and_then(|d| d.iter().map(|v| v.as_u64().map(|v| v as usize)).collect());
    dims.map(Some)
        .ok_or_else(|| not_safetensors(path, format!("'{key}' has no valid shape")))
}

fn not_safetensors(path: &Path, m: String) -> Error {
    Error::Invalid(format!(
        "{}: not a valid safetensors file ({m})",
        path.display()
    ))
}

/// A safetensors file's JSON header, read without the tensor data.
fn read_header(path: &Path) -> Result<serde_json::Value> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let bad = |m: String| not_safetensors(path, m);
    let mut f = std::fs::File::open(path).map_err(io)?;
    if !f.metadata().map_err(io)?.is_file() {
        return Err(Error::Invalid(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| bad("shorter than 8 bytes".into()))?;
    let len = u64::from_le_bytes(len);
    let file_len = f.metadata().map_err(io)?.len();
    if len > 100 << 20 || len > file_len.saturating_sub(8) {
        return Err(bad(format!(
            "header of {len} bytes in a {file_len}-byte file"
        )));
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header).map_err(io)?;
    serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))
}

/// Loads a safetensors image (`origin` names it in errors).
pub fn load_bytes(
    graph: &mut Graph,
    bytes: &[u8],
    origin: &str,
    strict: bool,
) -> Result<LoadReport> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::Invalid(format!(
            "{origin}: not a valid safetensors file, truncated or corrupt ({e})"
        ))
    })?;
    let wanted: HashMap<String, Wanted> = graph
        .nodes
        .iter()
        .flat_map(|n| {
            n.op.param_shapes().into_iter().map(move |(s, shape)| {
                let torch = torch_dims(&n.op, s, shape);
                let w = Wanted {
                    shape,
                    torch,
                    layer: n.name.clone(),
                };
                (format!("{}.{s}", n.name), w)
            })
        })
        .collect();
    let has_aux = wanted.keys().any(|k| k.starts_with("aux1."));
    let mut report = LoadReport::default();
    let mut values: HashMap<String, Vec<f32>> = HashMap::new();
    for (key, view) in st.iter() {
        let Some(want) = wanted.get(key) else {
            let ignorable = key.ends_with("num_batches_tracked")
                || (!has_aux && (key.starts_with("aux1.") || key.starts_with("aux2.")));
            if ignorable {
                report.ignored.push(key.to_string());
            } else {
                report.unexpected.push(key.to_string());
            }
            continue;
        };
        check_shape(key, view.shape(), want)?;
        let data = to_f32(key, view.dtype(), view.data())?;
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "{origin}: weight '{key}' holds a non-finite value ({}) at index {i}",
                data[i]
            )));
        }
        values.insert(key.to_string(), data);
    }
    // Sorted before any message names them: the file's keys come in hash order.
    report.ignored.sort();
    report.unexpected.sort();
    if strict && !report.unexpected.is_empty() {
        return Err(Error::Invalid(format!(
            "{origin}: {} unexpected key(s) (strict): {}",
            report.unexpected.len(),
            key_list(&report.unexpected)
        )));
    }
    let mut missing: Vec<&String> = wanted.keys().filter(|k| !values.contains_key(*k)).collect();
    missing.sort();
    if let Some(key) = missing.first() {
        return Err(Error::MissingWeight {
            key: key.to_string(),
            layer: wanted[*key].layer.clone(),
        });
    }
    for (key, t) in graph.params_mut() {
        if let Some(v) = values.remove(&key) {
            t.data = v;
            report.loaded += 1;
        }
    }
    Ok(report)
}

/// A parameter the graph needs: our 4-D shape, PyTorch's shape, and the layer that owns it.
struct Wanted {
    shape: Shape,
    torch: Vec<usize>,
    layer: String,
}

/// PyTorch's shapes drop trailing unit dimensions (`[out, in]` for a linear weight, `[C]` for
/// a bias); ours are 4-D. Either form is accepted; errors show PyTorch's.
fn check_shape(key: &str, found: &[usize], want: &Wanted) -> Result<()> {
    let mut padded = found.to_vec();
    if padded.len() <= 4 {
        padded.resize(4, 1);
    }
    if found != want.torch.as_slice() && padded != want.shape.dims() {
        return Err(Error::WeightShape {
            key: key.to_string(),
            found: found.to_vec(),
            expected: want.torch.clone(),
        });
    }
    Ok(())
}

/// Where a network's weights came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A safetensors file; `unexpected` lists the keys it has that the network does not.
    File {
        path: String,
        unexpected: Vec<String>,
    },
    /// The weights `deeper` ships for the network ([`super::builtin_weights`]).
    BuiltIn(String),
    /// Neither: the graph keeps the random weights it was built with (this seed).
    Random(u64),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File { path, .. } => write!(f, "{path}"),
            Source::BuiltIn(net) => write!(f, "built-in ({net})"),
            Source::Random(seed) => write!(f, "random({seed})"),
        }
    }
}

impl Source {
    /// "N unexpected key(s) ignored: a, b, …" when a weight file had keys the network does
    /// not; the warning `deeper run` prints and the C ABI gives (each adds how to refuse them).
    pub fn unexpected_warning(&self) -> Option<String> {
        match self {
            Source::File { unexpected, .. } if !unexpected.is_empty() => Some(format!(
                "{} unexpected key(s) ignored: {}",
                unexpected.len(),
                key_list(unexpected)
            )),
            _ => None,
        }
    }
}

/// Fills `graph` (built with `seed`) from `path` when given, else from its network's built-in
/// weights, else leaves its seeded random weights: what `deeper run` and the C ABI do.
pub fn load_or_builtin(
    graph: &mut Graph,
    path: Option<&Path>,
    strict: bool,
    seed: u64,
) -> Result<Source> {
    if let Some(path) = path {
        let report = load_file(graph, path, strict)?;
        return Ok(Source::File {
            path: path.display().to_string(),
            unexpected: report.unexpected,
        });
    }
    if let Some(bytes) = super::builtin_weights(&graph.name) {
        load_bytes(graph, bytes, "built-in weights", true)?;
        return Ok(Source::BuiltIn(graph.name.clone()));
    }
    Ok(Source::Random(seed))
}

/// At most eight keys, then how many more: error messages stay one readable line.
pub fn key_list(keys: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut s = keys
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > SHOWN {
        s.push_str(&format!(" … and {} more", keys.len() - SHOWN));
    }
    s
}

fn to_f32(key: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<f32>> {
    Ok(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        other => {
            return Err(Error::Invalid(format!(
                "weight '{key}' has dtype {other:?}; expected a float type"
            )))
        }
    })
}

/// Writes every parameter of `graph` as f32 with PyTorch's shapes (trailing unit dimensions of
/// linear weights and vectors dropped), whole or not at all ([`crate::files::write_whole`]).
pub fn save_file(graph: &Graph, path: &Path) -> Result<()> {
    let mut tensors = Vec::new();
    for node in &graph.nodes {
        for ((suffix, shape), t) in node.op.param_shapes().iter().zip(&node.params) {
            let dims = torch_dims(&node.op, suffix, *shape);
            let bytes: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.push((format!("{}.{suffix}", node.name), dims, bytes));
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(k, d, b)| {
            Ok((
                k.clone(),
                safetensors::tensor::TensorView::new(Dtype::F32, d.clone(), b)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            ))
        })
        .collect::<Result<_>>()?;
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    crate::files::write_whole(path, &bytes)
}

fn torch_dims(op: &crate::ops::Op, suffix: &str, s: Shape) -> Vec<usize> {
    match (op, suffix) {
        (crate::ops::Op::Conv2d(_), "weight") => s.dims().to_vec(),
        (crate::ops::Op::Linear(_), "weight") => vec![s.n, s.c],
        _ => vec![s.n],
    }
}
