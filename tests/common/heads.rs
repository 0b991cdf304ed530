//! Helpers of the own-head tests (`heads.rs`, `c_heads.rs`): a "fine-tuned" 10-class
//! ResNet-18 weight file, seeded inputs, temporary files.

use deeper::models::{build, weights, ModelOptions};
use deeper::{Rng, Shape, Tensor};
use std::path::{Path, PathBuf};

pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deeper-heads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

pub fn opts(size: usize, classes: Option<usize>, seed: u64) -> ModelOptions {
    ModelOptions {
        size: Some(size),
        seed,
        classes,
        ..Default::default()
    }
}

/// A ResNet-18 "fine-tuned" to 10 classes (seeded random weights), saved like a state_dict.
pub fn resnet18_10(name: &str) -> PathBuf {
    let path = temp(name);
    let g = build("resnet18", &opts(64, Some(10), 7)).expect("build");
    weights::save_file(&g, &path).expect("save");
    path
}

pub fn input(shape: Shape, seed: u64) -> Tensor {
    Tensor::normal(shape, 1.0, &mut Rng::new(seed))
}

/// `p` as a string.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}
