//! Real inputs: torchvision's preprocessing against a committed fixture (bit-exact), a weight
//! file's metadata (`read_metadata`, `Preprocess::with_metadata`, GoogLeNet's
//! `transform_input`), and the built-in LeNet-5 on real MNIST digits (GPU): the 1,000 held-out
//! digits (GPU and CPU agree digit for digit) and `deeper run lenet5 --image` on the examples.

mod common;

use deeper::models::weights::read_metadata;
use deeper::preprocess::{transform_input, Preprocess, IMAGENET_MEAN, IMAGENET_STD};
use deeper::{npy, Shape, Tensor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The held-out accuracy of the built-in LeNet-5 (digits right out of 1,000), as measured by
/// `deeper` on the GPU and the CPU alike (and by PyTorch when it was trained).
const HELDOUT_CORRECT: usize = 994;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn imagenet(resize: usize, crop: usize) -> Preprocess {
    Preprocess {
        resize,
        crop,
        pad: 0,
        mean: IMAGENET_MEAN.to_vec(),
        std: IMAGENET_STD.to_vec(),
    }
}

#[test]
fn preprocessing_matches_torchvision() {
    let dir = root().join("fixtures/preprocess");
    let got = imagenet(32, 28)
        .load(&dir.join("pattern_61x47.png"))
        .expect("decode");
    let (dims, want) = npy::read(&dir.join("expected_resize32_crop28.npy")).expect("npy");
    assert_eq!(got.shape.dims().to_vec(), dims);
    let max = got
        .data
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let step = 1.0 / 255.0 / 0.225;
    eprintln!("preprocessing vs torchvision: max abs error {max:.3e} (one 8-bit step: {step:.3e})");
    assert!(max <= step, "max abs error {max} > one 8-bit step {step}");
    // deeper reproduces Pillow's fixed-point resampling, so only float rounding may differ.
    assert!(
        max <= 1e-6,
        "max abs error {max}: not bit-exact with torchvision"
    );
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deeper-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// A one-tensor safetensors file with `header_extra` spliced into its JSON header.
fn file_with_header(name: &str, header_extra: &str) -> PathBuf {
    let mut h = format!(
        "{{{header_extra}\"x\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}}}"
    )
    .into_bytes();
    h.resize(h.len().div_ceil(8) * 8, b' ');
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend(h);
    bytes.extend(1f32.to_le_bytes());
    let path = temp_file(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn metadata_is_read_from_the_header() {
    let with = file_with_header(
        "meta.safetensors",
        r#""__metadata__":{"transform_input":"true","resize_size":"232"},"#,
    );
    let meta = read_metadata(&with).expect("metadata");
    assert_eq!(meta["transform_input"], "true");
    assert_eq!(meta["resize_size"], "232");
    assert!(read_metadata(&file_with_header("plain.safetensors", ""))
        .unwrap()
        .is_empty());
    let bad = file_with_header("bad.safetensors", r#""__metadata__":{"n":3},"#);
    let err = read_metadata(&bad).unwrap_err().to_string();
    assert!(
        err.contains("'n'") && err.contains("bad.safetensors"),
        "{err}"
    );
    let truncated = temp_file("truncated.safetensors");
    std::fs::write(&truncated, &std::fs::read(&with).unwrap()[..20]).unwrap();
    let err = read_metadata(&truncated).unwrap_err().to_string();
    assert!(err.contains("not a valid safetensors file"), "{err}");
    std::fs::remove_dir_all(truncated.parent().unwrap()).ok();
}

#[test]
fn metadata_overrides_the_preprocessing() {
    let meta: BTreeMap<String, String> = [
        ("resize_size", "232"),
        ("crop_size", "224"),
        ("mean", "0.5, 0.5, 0.5"),
        ("std", "0.25,0.25,0.25"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let pre = Preprocess::for_network("resnet50")
        .with_metadata(&meta)
        .unwrap();
    assert_eq!((pre.resize, pre.crop), (232, 224));
    assert_eq!((pre.mean, pre.std), (vec![0.5; 3], vec![0.25; 3]));
    let none = Preprocess::for_network("alexnet-paper")
        .with_metadata(&BTreeMap::new())
        .unwrap();
    assert_eq!(none, Preprocess::for_network("alexnet-paper"));
    for (k, v) in [
        ("crop_size", "0"),
        ("resize_size", "big"),
        ("mean", "0.5,0.5"),
    ] {
        let meta = BTreeMap::from([(k.to_string(), v.to_string())]);
        let err = Preprocess::for_network("vgg16").with_metadata(&meta);
        assert!(err.unwrap_err().to_string().contains(k));
    }
}

#[test]
fn transform_input_renormalises_to_half() {
    // A pixel p normalised with ImageNet's mean/std becomes (p − 0.5) / 0.5.
    let pixels = [0.0f32, 0.25, 1.0];
    let mut data = Vec::new();
    for c in 0..3 {
        data.extend(
            pixels
                .iter()
                .map(|p| (p - IMAGENET_MEAN[c]) / IMAGENET_STD[c]),
        );
    }
    let mut t = Tensor::new(Shape::new(1, 3, 1, 3), data).unwrap();
    transform_input(&mut t).unwrap();
    for (i, v) in t.data.iter().enumerate() {
        let want = (pixels[i % 3] - 0.5) / 0.5;
        assert!((v - want).abs() < 1e-6, "{i}: {v} vs {want}");
    }
    let mut gray = Tensor::zeros(Shape::new(1, 1, 2, 2));
    assert!(transform_input(&mut gray).is_err());
}

#[test]
fn builtin_lenet5_classifies_the_heldout_digits() {
    let Some(gpu) = common::gpu() else { return };
    let r = deeper::digits::check_heldout(gpu).expect("held-out check");
    eprintln!("held-out MNIST: {r:?}");
    assert_eq!(r.total, 1000);
    assert_eq!(
        r.agree, r.total,
        "GPU and CPU disagree on some digits: {r:?}"
    );
    assert_eq!(r.gpu_correct, r.cpu_correct);
    assert_eq!(r.gpu_correct, HELDOUT_CORRECT, "{r:?}");
}

#[test]
fn deeper_run_reads_real_digits() {
    if common::gpu().is_none() {
        return;
    }
    let images: Vec<PathBuf> = (0..10)
        .map(|d| common::digit(&format!("{d}.png")))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(["run", "lenet5", "--json", "--top", "1", "--image"])
        .args(&images)
        .output()
        .expect("spawn deeper");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["weights"], "built-in (lenet5)");
    let results = doc["results"].as_array().expect("results");
    for (d, r) in results.iter().enumerate() {
        assert_eq!(r["input"], images[d].display().to_string());
        assert_eq!(r["top"][0]["label"], d.to_string(), "digit {d}: {r}");
    }
    assert_eq!(results.len(), 10);
}
