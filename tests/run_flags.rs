//! `deeper run`'s preprocessing flags (`--resize`, `--crop`, `--mean`, `--std`): refused
//! before any GPU work when they cannot apply (with `--input`, a wrong channel count, a crop
//! larger than the resize, a std ≤ 0), applied exactly as `Preprocess` applies them, and the
//! warning for a weight file whose metadata does not say how to preprocess.

mod common;

use deeper::models::{build, weights, ModelOptions};
use deeper::preprocess::Preprocess;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn deeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(args)
        .env("DEEPER_AUTOTUNE", "0")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("deeper-run-flags-{}-{name}", std::process::id()))
}

fn digit() -> String {
    common::digit("7.png").display().to_string()
}

#[test]
fn preprocessing_flags_that_cannot_apply_are_refused() {
    let d = digit();
    for (args, code, needle) in [
        (
            vec!["run", "resnet18", "--image", &d, "--mean", "0.5,0.5"],
            1,
            "error: --mean has 2 value(s); resnet18 takes 3 input channel(s)",
        ),
        (
            vec!["run", "lenet5", "--image", &d, "--std", "0.3,0.3,0.3"],
            1,
            "error: --std has 3 value(s); lenet5 takes 1 input channel(s)",
        ),
        (
            vec!["run", "resnet18", "--image", &d, "--resize", "100"],
            1,
            "error: the crop (224) is larger than the resize (100)",
        ),
        (
            vec!["run", "resnet18", "--image", &d, "--std", "0.2,0,0.2"],
            2,
            "0 is not > 0",
        ),
        (
            vec!["run", "resnet18", "--image", &d, "--mean", "0.4,x,0.4"],
            2,
            "'x' is not a finite number",
        ),
        (
            vec!["run", "resnet18", "--input", "x.npy", "--crop", "64"],
            2,
            "cannot be used with",
        ),
    ] {
        let out = deeper(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: '{err}' lacks '{needle}'");
        if code == 1 {
            assert_eq!(err.lines().count(), 1, "one line: {err}");
        }
    }
}

/// A weight file without preprocessing metadata is named in a warning with the defaults used
/// in its place; the flags that replace a setting take it out of the warning.
#[test]
fn weights_without_preprocessing_metadata_are_warned_about() {
    let graph = build("lenet5", &ModelOptions::default()).unwrap();
    let file = tmp("lenet5.safetensors");
    weights::save_file(&graph, &file).unwrap();
    let f = file.display().to_string();
    let d = digit();
    let out = deeper(&["run", "lenet5", "--weights", &f, "--image", &d]);
    let err = stderr(&out);
    let want = format!(
        "warning: {f}: no resize_size, crop_size, mean, std in its metadata; using lenet5's \
         defaults: resize 28, crop 28, mean 0.1307, std 0.3081 (set with --resize, --crop, \
         --mean, --std)"
    );
    assert!(err.contains(&want), "{err}");
    let out = deeper(&[
        "run",
        "lenet5",
        "--weights",
        &f,
        "--image",
        &d,
        "--resize",
        "28",
        "--mean",
        "0.13",
    ]);
    let err = stderr(&out);
    assert!(
        err.contains("no crop_size, std in its metadata; using lenet5's defaults: crop 28, std 0.3081 (set with --crop, --std)"),
        "{err}"
    );
    let out = deeper(&["run", "lenet5", "--weights", &f, "--input", "missing.npy"]);
    assert!(
        !stderr(&out).contains("warning"),
        "--input is not preprocessed: {}",
        stderr(&out)
    );
    let _ = std::fs::remove_file(&file);
}

/// `--image` with the four flags gives the logits of `--input` holding the same image
/// preprocessed by `Preprocess` with those settings: the flags are applied, and all of them.
#[test]
fn preprocessing_flags_are_applied() {
    if common::gpu().is_none() {
        return;
    }
    let pre = Preprocess {
        resize: 80,
        crop: 64,
        pad: 0,
        mean: vec![0.5, 0.4, 0.3],
        std: vec![0.2, 0.25, 0.3],
    };
    let x = pre.load(&common::digit("7.png")).unwrap();
    assert_eq!(x.shape.dims(), [1, 3, 64, 64]);
    let npy = tmp("x.npy");
    deeper::npy::write(&npy, &x.shape.dims(), &x.data).unwrap();
    let (from_image, from_npy) = (tmp("image.npy"), tmp("input.npy"));
    let d = digit();
    let run = |extra: &[&str], out: &Path| {
        let mut args = vec!["run", "resnet18", "--top", "1"];
        args.extend_from_slice(extra);
        let o = out.display().to_string();
        args.extend_from_slice(&["--save-logits", &o]);
        let r = deeper(&args);
        assert!(r.status.success(), "{args:?}: {}", stderr(&r));
        deeper::npy::load(out).unwrap().values
    };
    let got = run(
        &[
            "--image",
            &d,
            "--resize",
            "80",
            "--crop",
            "64",
            "--mean",
            "0.5,0.4,0.3",
            "--std",
            "0.2,0.25,0.3",
        ],
        &from_image,
    );
    let want = run(&["--input", &npy.display().to_string()], &from_npy);
    let defaults = run(
        &["--image", &d, "--crop", "64", "--resize", "80"],
        &from_image,
    );
    for p in [&npy, &from_image, &from_npy] {
        let _ = std::fs::remove_file(p);
    }
    assert_eq!(got.len(), 1000);
    assert_eq!(
        got, want,
        "the flags' preprocessing differs from Preprocess's"
    );
    assert_ne!(got, defaults, "--mean and --std changed nothing");
}
