//! The 1,000 real MNIST digits held out from LeNet-5's training (`scripts/train_lenet5.py`),
//! shipped in `data/` as a 40×25 sheet of 28×28 tiles plus their labels, and the accuracy check
//! `deeper` runs on them: the built-in LeNet-5 on the GPU and on the CPU, digit for digit.

use crate::cpu;
use crate::error::{Error, Result};
use crate::graph::fuse::fuse;
use crate::models::{build, builtin_weights, weights, ModelOptions};
use crate::preprocess::Preprocess;
use crate::runtime::{Gpu, Model};
use crate::shape::Shape;
use crate::tensor::Tensor;

const SHEET: &[u8] = include_bytes!("../data/mnist_heldout.png");
const LABELS: &str = include_str!("../data/mnist_heldout_labels.txt");
const COLS: usize = 40;

/// The held-out digits preprocessed for LeNet-5 (`[1000, 1, 32, 32]`) and their labels.
pub fn heldout() -> Result<(Tensor, Vec<usize>)> {
    let img = image::load_from_memory(SHEET)
        .map_err(|e| Error::Invalid(format!("held-out digits: {e}")))?
        .to_luma8();
    let labels: Vec<usize> = LABELS.trim().bytes().map(|b| (b - b'0') as usize).collect();
    let pre = Preprocess::for_network("lenet5");
    let side = pre.crop + 2 * pre.pad;
    let mut data = Vec::with_capacity(labels.len() * side * side);
    for i in 0..labels.len() {
        let (r, c) = (i / COLS, i % COLS);
        let tile: Vec<u8> = (0..28)
            .flat_map(|y| (0..28).map(move |x| (x, y)))
            .map(|(x, y)| img.get_pixel((c * 28 + x) as u32, (r * 28 + y) as u32).0[0])
            .collect();
        data.extend(pre.apply(&tile, 28, 28, 1)?.data);
    }
    Ok((
        Tensor::new(Shape::new(labels.len(), 1, side, side), data)?,
        labels,
    ))
}

/// The accuracy of the built-in LeNet-5 on the held-out digits.
#[derive(Clone, Debug, PartialEq)]
pub struct DigitsReport {
    pub total: usize,
    pub gpu_correct: usize,
    pub cpu_correct: usize,
    /// Digits where GPU and CPU predict the same class.
    pub agree: usize,
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best })
}

/// Classifies every held-out digit on the GPU (one batch) and on the CPU.
pub fn check_heldout(gpu: &Gpu) -> Result<DigitsReport> {
    let (x, labels) = heldout()?;
    let mut graph = build("lenet5", &ModelOptions::default())?;
    let bytes = builtin_weights("lenet5")
        .ok_or_else(|| Error::Invalid("no built-in LeNet-5 weights".into()))?;
    weights::load_bytes(&mut graph, bytes, "built-in lenet5", true)?;
    let model = Model::compile(gpu, &fuse(&graph).graph, x.shape.n, true)?;
    let g = model.run(&x)?.remove(0);
    let c = cpu::run_outputs(&graph, &x)?.remove(0);
    let (gp, cp): (Vec<usize>, Vec<usize>) = (
        g.data.chunks(10).map(argmax).collect(),
        c.data.chunks(10).map(argmax).collect(),
    );
    Ok(DigitsReport {
        total: labels.len(),
        gpu_correct: gp.iter().zip(&labels).filter(|(p, l)| p == l).count(),
        cpu_correct: cp.iter().zip(&labels).filter(|(p, l)| p == l).count(),
        agree: gp.iter().zip(&cp).filter(|(a, b)| a == b).count(),
    })
}
