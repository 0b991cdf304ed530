//! Class labels and top-k predictions. ImageNet's 1000 class names (torchvision's order, from
//! `torchvision/models/_meta.py`, in `data/imagenet_classes.txt`), "0"…"9" for LeNet-5, the
//! class number for other heads, or the caller's own names from a labels file ([`read_labels`]).

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::path::Path;

const IMAGENET: &str = include_str!("../data/imagenet_classes.txt");

/// The label of class `index` for a network with `classes` outputs (`None` when unnamed).
pub fn label(classes: usize, index: usize) -> String {
    match classes {
        1000 => IMAGENET.lines().nth(index).unwrap_or("?").to_string(),
        _ => index.to_string(),
    }
}

/// One prediction: class index, label, softmax probability.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Prediction {
    pub class: usize,
    pub label: String,
    pub prob: f64,
}

/// Reads a labels file: UTF-8, one label per line, in class order (`\r\n` line ends and a
/// missing final newline are accepted). It must hold exactly `classes` labels, none empty.
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<String>> {
    let bytes = crate::files::read_whole(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Invalid(format!("{}: labels file is not UTF-8", path.display())))?;
    let labels: Vec<String> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    if let Some(i) = labels.iter().position(|l| l.trim().is_empty()) {
        return Err(Error::Invalid(format!(
            "{}: line {} is empty (one label per line)",
            path.display(),
            i + 1
        )));
    }
    if labels.len() != classes {
        return Err(Error::Invalid(format!(
            "{}: {} labels for a network with {classes} classes (one label per line)",
            path.display(),
            labels.len()
        )));
    }
    Ok(labels)
}

/// The `k` most probable classes of every sample of `[N, classes]` logits, best first.
pub fn top_k(logits: &Tensor, k: usize) -> Vec<Vec<Prediction>> {
    top_k_named(logits, k, None)
}

/// [`top_k`], naming the classes by `labels` (one per class) when given.
pub fn top_k_named(logits: &Tensor, k: usize, labels: Option<&[String]>) -> Vec<Vec<Prediction>> {
    let classes = logits.shape.per_sample();
    logits
        .data
        .chunks(classes.max(1))
        .map(|row| {
            let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v as f64));
            let z: f64 = row.iter().map(|v| (*v as f64 - m).exp()).sum();
            let mut idx: Vec<usize> = (0..row.len()).collect();
            idx.sort_by(|a, b| row[*b].total_cmp(&row[*a]).then(a.cmp(b)));
            idx.into_iter()
                .take(k)
                .map(|c| Prediction {
                    class: c,
                    label: match labels.and_then(|l| l.get(c)) {
                        Some(l) => l.clone(),
                        None => label(classes, c),
                    },
                    prob: (row[c] as f64 - m).exp() / z,
                })
                .collect()
        })
        .collect()
}
