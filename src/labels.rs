//! Class labels and top-k predictions. ImageNet's 1000 class names (torchvision's order, from
//! `torchvision/models/_meta.py`, in `data/imagenet_classes.txt`), and "0"…"9" for LeNet-5.

use crate::tensor::Tensor;

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

/// The `k` most probable classes of every sample of `[N, classes]` logits, best first.
pub fn top_k(logits: &Tensor, k: usize) -> Vec<Vec<Prediction>> {
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
                    label: label(classes, c),
                    prob: (row[c] as f64 - m).exp() / z,
                })
                .collect()
        })
        .collect()
}
