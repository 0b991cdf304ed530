//! Inputs through the CLI and the library: absurd flags, `.npy` inputs of the wrong size,
//! weight-file metadata (fixed cases and a proptest), images, the safetensors loading path on
//! mutated bytes, the environment and help texts.

use crate::{deeper, f32s, npy_bytes, refused, scratch};
use deeper::graph::Graph;
use deeper::models::builtin_weights;
use deeper::models::weights::load_bytes;
use deeper::preprocess::Preprocess;
use proptest::prelude::*;
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[test]
fn absurd_flags_are_refused_with_their_limit() {
    refused(
        &["check", "lenet5", "--batch", "18446744073709551615"],
        &["--batch", "65536"],
    );
    refused(
        &["info", "resnet18", "--size", "4294967296"],
        &["--size", "16384"],
    );
    refused(
        &["info", "resnet18", "--size", "18446744073709551615"],
        &["--size"],
    );
    refused(
        &["bench", "lenet5", "--runs", "4294967296"],
        &["--runs", "100000"],
    );
    // Within the flag's bound but not the host budget: lenet5's fc1 grows with the input.
    refused(
        &["info", "lenet5", "--size", "16384"],
        &["fc1.weight", "limit"],
    );
    refused(
        &["info", "alexnet-paper", "--size", "16384"],
        &["fc6.weight", "limit"],
    );
}

#[test]
fn npy_inputs_of_the_wrong_size_or_shape_are_named() {
    let dir = scratch("run-npy");
    let p = dir.join("big.npy");
    let side = 64;
    std::fs::write(
        &p,
        npy_bytes(
            "<f4",
            false,
            "(1, 1, 64, 64)",
            &f32s(&vec![0.1; side * side]),
        ),
    )
    .unwrap();
    let ps = p.to_str().unwrap();
    refused(
        &["run", "lenet5", "--input", ps],
        &["lenet5 takes 32 × 32", "64 × 64"],
    );
    std::fs::write(
        &p,
        npy_bytes("<f4", false, "(1, 1, 1, 4611686018427387904)", &[]),
    )
    .unwrap();
    refused(&["run", "lenet5", "--input", ps], &["big.npy", "shape"]);
    std::fs::write(&p, npy_bytes("<f4", false, "(0, 1, 32, 32)", &[])).unwrap();
    refused(
        &["run", "lenet5", "--input", ps],
        &["big.npy", "batch N is 0"],
    );
    std::fs::write(
        &p,
        npy_bytes("<f4", false, "(1, 1, 20000, 1)", &f32s(&[0.0; 20000])),
    )
    .unwrap();
    refused(
        &["run", "lenet5", "--input", ps],
        &["big.npy: height H", "16384"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn metadata_values_are_checked_and_named() {
    let vgg = Preprocess::for_network("vgg16");
    for (k, v) in [
        ("mean", "nan,0.5,0.5"),
        ("mean", "inf,0.5,0.5"),
        ("std", "0,0.2,0.2"),
        ("std", "inf,0.2,0.2"),
        ("std", "-0.2,0.2,0.2"),
        ("crop_size", "100000"),
        ("resize_size", "100000"),
        ("crop_size", "0"),
    ] {
        let e = vgg
            .clone()
            .with_metadata(&meta(&[(k, v)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains(k) && e.contains("metadata"), "{k}={v}: {e}");
    }
    let e = vgg
        .clone()
        .with_metadata(&meta(&[("resize_size", "200"), ("crop_size", "224")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("crop_size 224 is larger than resize_size 200"),
        "{e}"
    );
    let ok = vgg
        .with_metadata(&meta(&[("resize_size", "232"), ("std", "0.5, 0.5,0.5")]))
        .unwrap();
    assert_eq!((ok.resize, ok.std), (232, vec![0.5; 3]));
}

/// A weight file: the built-in LeNet-5 weights with `metadata`.
fn lenet_with_metadata(dir: &Path, m: &[(&str, &str)]) -> PathBuf {
    let st = SafeTensors::deserialize(builtin_weights("lenet5").unwrap()).unwrap();
    let views: Vec<_> = st.tensors();
    let p = dir.join("w.safetensors");
    let meta: HashMap<String, String> = m
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    std::fs::write(&p, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
    p
}

#[test]
fn metadata_errors_name_the_weight_file_and_key() {
    let dir = scratch("meta");
    let digit = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits/7.png");
    let d = digit.to_str().unwrap();
    for (k, v) in [
        ("std", "0"),
        ("mean", "nan"),
        ("transform_input", "true"),
        ("transform_input", "yes"),
    ] {
        let w = lenet_with_metadata(&dir, &[(k, v)]);
        let ws = w.to_str().unwrap();
        refused(
            &["run", "lenet5", "--weights", ws, "--image", d],
            &["w.safetensors", k, "metadata"],
        );
    }
    refused(
        &[
            "run",
            "lenet5",
            "--weights",
            dir.to_str().unwrap(),
            "--image",
            d,
        ],
        &["not a regular file"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn images_are_bounded_and_detected_by_content() {
    let dir = scratch("images");
    let pre = Preprocess::for_network("lenet5");
    let wide = dir.join("wide.png");
    image::GrayImage::new(20_000, 1).save(&wide).unwrap();
    let e = pre.load(&wide).unwrap_err().to_string();
    assert!(
        e.contains("wide.png") && e.contains("aspect ratio") && e.contains("100:1"),
        "{e}"
    );
    // A PNG named .jpg decodes as the PNG it is.
    let digit = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits/7.png");
    let renamed = dir.join("7.jpg");
    std::fs::copy(&digit, &renamed).unwrap();
    assert_eq!(pre.load(&renamed).unwrap(), pre.load(&digit).unwrap());
    let text = dir.join("x.jpg");
    std::fs::write(&text, "not an image").unwrap();
    let e = pre.load(&text).unwrap_err().to_string();
    assert!(
        e.contains("x.jpg") && e.contains("not a JPEG or PNG"),
        "{e}"
    );
    let e = pre.apply(&[0; 10], 5, 3, 1).unwrap_err().to_string();
    assert!(e.contains("10 bytes"), "{e}");
    // A JPEG cut short: decoded, with a warning.
    let jpg = dir.join("cut.jpg");
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, 7])
    }))
    .write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    std::fs::write(&jpg, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = deeper(&["run", "lenet5", "--image", jpg.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cut.jpg: JPEG data is truncated"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn metadata_never_panics_and_what_passes_is_sane(
        pairs in prop::collection::vec((
            prop::sample::select(vec!["resize_size", "crop_size", "mean", "std", "other"]),
            "[-0-9.,einfaNIn ]{0,24}",
        ), 0..5)
    ) {
        let m: BTreeMap<String, String> =
            pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        for net in ["lenet5", "resnet18"] {
            if let Ok(p) = Preprocess::for_network(net).with_metadata(&m) {
                prop_assert!(p.crop <= p.resize && p.resize <= deeper::limits::MAX_SIDE);
                prop_assert!(p.mean.iter().all(|v| v.is_finite()));
                prop_assert!(p.std.iter().all(|v| v.is_finite() && *v > 0.0));
            }
        }
    }
}

fn lenet_graph() -> &'static Graph {
    static G: OnceLock<Graph> = OnceLock::new();
    G.get_or_init(|| deeper::models::build("lenet5", &Default::default()).unwrap())
}

/// Loading `bytes` into LeNet-5 is an error or fills every parameter with finite values.
fn check_weights(bytes: &[u8]) {
    let mut g = lenet_graph().clone();
    if load_bytes(&mut g, bytes, "fuzz", false).is_ok() {
        assert!(g
            .params()
            .all(|(_, t)| t.data.iter().all(|v| v.is_finite()) && t.data.len() == t.shape.numel()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn safetensors_never_panics_on_mutated_files(
        edits in prop::collection::vec((0usize..2048, any::<u8>()), 1..6),
        cut in 0usize..300_000,
    ) {
        let mut b = builtin_weights("lenet5").unwrap().to_vec();
        // Most edits land in the JSON header (the first few hundred bytes).
        for (i, v) in edits {
            let n = b.len();
            b[i % n] = v;
        }
        b.truncate(b.len() - cut % b.len());
        check_weights(&b);
    }

    #[test]
    fn safetensors_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_weights(&bytes);
    }
}

#[test]
fn environment_and_help_say_what_they_take() {
    let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(["bench", "lenet5", "--runs", "1"])
        .env("DEEPER_TIMING", "bogus")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("DEEPER_TIMING") && stderr.contains("bogus"),
        "{stderr}"
    );
    // The GPU options' variables are refused the same way, never silently ignored.
    for (var, value) in [
        ("DEEPER_MAX_BINDING", "bogus"),
        ("DEEPER_MAX_BINDING", "-5"),
        ("DEEPER_MAX_BINDING", "99999999999999999999"),
        ("DEEPER_TIMEOUT", "soon"),
        ("DEEPER_TIMEOUT", "0"),
        ("DEEPER_TIMEOUT", "-1"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
            .args(["run", "lenet5", "--image"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits/4.png"))
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{var}={value}: {stderr}");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or("");
        assert!(line.contains(var) && line.contains(value), "{stderr}");
    }
    let help = String::from_utf8_lossy(&deeper(&["info", "--help"]).stdout).to_string();
    assert!(
        help.contains("resnet152") && help.contains("googlenet-paper"),
        "{help}"
    );
    // Whitespace collapsed: the column clap aligns descriptions on moves with the longest flag.
    let help = String::from_utf8_lossy(&deeper(&["check", "--help"]).stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for flag in [
        "--batch <BATCH> Batch size",
        "--size <SIZE> Input height",
        "--aux",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
}

/// `check` refuses a batch whose CPU reference would keep more activations than the limit,
/// before the GPU runs (GPU: `check` opens the device first).
#[test]
fn check_bounds_the_cpu_reference() {
    let out = deeper(&["check", "vgg16", "--batch", "128"]);
    if crate::no_gpu(&out) {
        eprintln!("SKIPPED: needs a GPU");
        return;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("CPU reference of vgg16 at batch 128") && stderr.contains("limit"),
        "{stderr}"
    );
}
