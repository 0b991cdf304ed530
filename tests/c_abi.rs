//! The C ABI (`src/ffi/`, `include/deeper.h`) called from Rust: statuses and messages for
//! every kind of bad argument, the same logits as the Rust API, handles freed in either order,
//! a weight file's metadata (crop size, `transform_input`) followed as `deeper run` follows
//! it. The C and C++ programs that use the header are in `c_programs.rs`.

mod common;

use common::{digit, DIGITS};
use deeper::ffi::*;
use deeper::graph::fuse::fuse;
use deeper::models::{build, weights, ModelOptions};
use deeper::preprocess::Preprocess;
use deeper::runtime::Model;
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

fn last_error() -> String {
    unsafe { CStr::from_ptr(deeper_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn cstr(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Asserts `status` and that the last error mentions `needle`.
fn expect(status: DeeperStatus, want: DeeperStatus, needle: &str) {
    assert_eq!(status, want, "last error: {}", last_error());
    let msg = last_error();
    assert!(msg.contains(needle), "'{msg}' does not mention '{needle}'");
}

#[test]
fn c_abi_rejects_bad_arguments_without_a_gpu() {
    let mut index = [0u32; 3];
    let mut prob = [0f32; 3];
    let logits = [0.5f32, 2.0, -1.0, 1.0];
    let mut top = |k, index: *mut u32| unsafe {
        deeper_top_k(logits.as_ptr(), 4, k, index, prob.as_mut_ptr())
    };
    expect(
        top(5, index.as_mut_ptr()),
        DeeperStatus::InvalidArgument,
        "k = 5",
    );
    expect(
        top(3, null_mut()),
        DeeperStatus::InvalidArgument,
        "index is NULL",
    );
    assert_eq!(top(3, index.as_mut_ptr()), DeeperStatus::Ok);
    assert_eq!(last_error(), "", "a success clears the last error");
    assert_eq!(index, [1, 3, 0]);
    let z: f32 = logits.iter().map(|v| v.exp()).sum();
    assert!((prob[0] - 2f32.exp() / z).abs() < 1e-6, "{prob:?}");

    let mut model = null_mut();
    let net = CString::new("lenet5").unwrap();
    let status = unsafe { deeper_model_new(null(), net.as_ptr(), null(), 1, 0, &mut model) };
    expect(status, DeeperStatus::InvalidArgument, "gpu is NULL");
    assert!(model.is_null());
    let mut shape = [0u32; 4];
    let status = unsafe { deeper_model_input_shape(null(), shape.as_mut_ptr()) };
    expect(status, DeeperStatus::InvalidArgument, "model is NULL");
    assert_eq!(unsafe { deeper_model_classes(null()) }, 0);
    assert!(unsafe { deeper_gpu_description(null()) }.is_null());
    unsafe { deeper_model_free(null_mut()) };
    unsafe { deeper_gpu_free(null_mut()) };

    assert_eq!(cstr(deeper_label(1000, 0)), "tench");
    assert_eq!(cstr(deeper_label(10, 7)), "7");
    assert!(deeper_label(10, 10).is_null());
    assert_eq!(cstr(deeper_version()), env!("CARGO_PKG_VERSION"));
}

/// Opens the C ABI's GPU, or `None` when the tests have no adapter (skipped, or failed under
/// `DEEPER_REQUIRE_GPU=1` by `common::gpu`).
fn open_gpu() -> Option<*mut DeeperGpu> {
    common::gpu()?;
    let mut gpu = null_mut();
    assert_eq!(
        unsafe { deeper_gpu_open(&mut gpu) },
        DeeperStatus::Ok,
        "{}",
        last_error()
    );
    Some(gpu)
}

fn new_model(
    gpu: *const DeeperGpu,
    net: &str,
    weights: Option<&Path>,
    batch: u32,
) -> Result<*mut DeeperModel, String> {
    let net = CString::new(net).unwrap();
    let weights = weights.map(|p| CString::new(p.to_str().unwrap()).unwrap());
    let wp = weights.as_ref().map_or(null(), |w| w.as_ptr());
    let mut model = null_mut();
    match unsafe { deeper_model_new(gpu, net.as_ptr(), wp, batch, 0, &mut model) } {
        DeeperStatus::Ok => Ok(model),
        _ => Err(last_error()),
    }
}

#[test]
fn c_abi_lenet5_matches_the_rust_api() {
    let Some(gpu) = open_gpu() else { return };
    let model = new_model(gpu, "lenet5", None, 3).unwrap();
    unsafe { deeper_gpu_free(gpu) }; // the model keeps its device
    let mut shape = [0u32; 4];
    assert_eq!(
        unsafe { deeper_model_input_shape(model, shape.as_mut_ptr()) },
        DeeperStatus::Ok
    );
    assert_eq!(shape, [3, 1, 32, 32]);
    assert_eq!(unsafe { deeper_model_classes(model) }, 10);
    assert_eq!(
        cstr(unsafe { deeper_model_weights(model) }),
        "built-in (lenet5)"
    );

    let per = 32 * 32;
    let mut input = vec![f32::NAN; 3 * per];
    for (i, name) in DIGITS.iter().enumerate() {
        let path = CString::new(digit(name).to_str().unwrap()).unwrap();
        let slot = input[i * per..].as_mut_ptr();
        let status = unsafe { deeper_model_load_image(model, path.as_ptr(), slot, per) };
        assert_eq!(status, DeeperStatus::Ok, "{}", last_error());
    }
    let mut logits = vec![f32::NAN; 30];
    let status =
        unsafe { deeper_model_run(model, input.as_ptr(), input.len(), logits.as_mut_ptr(), 30) };
    assert_eq!(status, DeeperStatus::Ok, "{}", last_error());

    let pre = Preprocess::for_network("lenet5");
    let mut graph = build("lenet5", &ModelOptions::default()).unwrap();
    weights::load_or_builtin(&mut graph, None, true, 0).unwrap();
    let gpu = common::gpu().unwrap();
    let rust = Model::compile(gpu, &fuse(&graph).graph, 1, true).unwrap();
    for (i, name) in DIGITS.iter().enumerate() {
        let x = pre.load(&digit(name)).unwrap();
        assert_eq!(
            x.data,
            input[i * per..(i + 1) * per],
            "{name}: preprocessing differs"
        );
        let want = rust.run(&x).unwrap().remove(0).data;
        let got = &logits[i * 10..(i + 1) * 10];
        assert!(got.iter().all(|v| v.is_finite()), "{name}: logits {got:?}");
        let err = want
            .iter()
            .zip(got)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            err <= 1e-4,
            "{name}: logits differ by {err}: {got:?} vs {want:?}"
        );
        let (mut index, mut prob) = ([0u32; 1], [0f32; 1]);
        let status =
            unsafe { deeper_top_k(got.as_ptr(), 10, 1, index.as_mut_ptr(), prob.as_mut_ptr()) };
        assert_eq!(status, DeeperStatus::Ok);
        assert_eq!(
            cstr(deeper_label(10, index[0])),
            name[..1],
            "{name} misread"
        );
    }
    unsafe { deeper_model_free(model) };
}

#[test]
fn c_abi_reports_library_and_length_errors() {
    let Some(gpu) = open_gpu() else { return };
    let err = new_model(gpu, "resnet9", None, 1).unwrap_err();
    assert!(err.contains("unknown network 'resnet9'"), "{err}");
    let err = new_model(
        gpu,
        "lenet5",
        Some(Path::new("/nonexistent/w.safetensors")),
        1,
    )
    .unwrap_err();
    assert!(err.contains("/nonexistent/w.safetensors"), "{err}");
    let err = new_model(gpu, "lenet5", None, 0).unwrap_err();
    assert!(err.contains("batch is 0"), "{err}");

    let model = new_model(gpu, "lenet5", None, 2).unwrap();
    let input = vec![0.25f32; 2 * 1024];
    let mut logits = vec![f32::NAN; 20];
    let mut run =
        |n, m| unsafe { deeper_model_run(model, input.as_ptr(), n, logits.as_mut_ptr(), m) };
    expect(
        run(1024, 20),
        DeeperStatus::InvalidArgument,
        "input holds 1024 floats, the model needs 2048",
    );
    expect(
        run(2048, 10),
        DeeperStatus::InvalidArgument,
        "logits holds 10 floats, the model needs 20",
    );
    let mut sample = vec![0f32; 1024];
    let bad = CString::new("/nonexistent.png").unwrap();
    let status = unsafe { deeper_model_load_image(model, bad.as_ptr(), sample.as_mut_ptr(), 1024) };
    expect(status, DeeperStatus::Error, "/nonexistent.png");
    unsafe { deeper_model_free(model) };

    let net = |name: &str, size| {
        let name = CString::new(name).unwrap();
        let mut model = null_mut();
        let status = unsafe { deeper_model_new(gpu, name.as_ptr(), null(), 1, size, &mut model) };
        (status, model)
    };
    let (status, _) = net("lenet5", 36);
    expect(
        status,
        DeeperStatus::Error,
        "weight 'fc1.weight' has shape [120, 400]",
    );
    let (status, model) = net("resnet18", 32);
    assert_eq!(status, DeeperStatus::Ok, "{}", last_error());
    assert_eq!(cstr(unsafe { deeper_model_weights(model) }), "random(0)");
    let path = CString::new(digit("0.png").to_str().unwrap()).unwrap();
    let mut sample = vec![0f32; 3 * 32 * 32];
    let n = sample.len();
    let status = unsafe { deeper_model_load_image(model, path.as_ptr(), sample.as_mut_ptr(), n) };
    expect(
        status,
        DeeperStatus::InvalidArgument,
        "preprocesses to [1, 3, 224, 224], the resnet18 model takes [1, 3, 32, 32]",
    );
    unsafe { deeper_model_free(model) };
    unsafe { deeper_gpu_free(gpu) };
}

/// `graph`'s weights as a safetensors file whose metadata asks for a 32-pixel crop and
/// torchvision's `transform_input` (what `scripts/export_torchvision.py` writes for GoogLeNet).
fn weights_with_metadata(graph: &deeper::graph::Graph, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("deeper-{}-{name}", std::process::id()));
    weights::save_file(graph, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let meta = [
        ("crop_size", "32"),
        ("resize_size", "36"),
        ("transform_input", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let out = safetensors::serialize(tensors.tensors(), Some(meta.into())).unwrap();
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn c_abi_follows_the_weight_files_metadata() {
    let Some(gpu) = open_gpu() else { return };
    let opts = ModelOptions {
        size: Some(32),
        seed: 11,
        ..Default::default()
    };
    let graph = build("resnet18", &opts).unwrap();
    let file = weights_with_metadata(&graph, "r18.safetensors");
    let model = new_model(gpu, "resnet18", Some(&file), 2).unwrap();
    unsafe { deeper_gpu_free(gpu) };
    let _ = std::fs::remove_file(&file);
    let mut shape = [0u32; 4];
    assert_eq!(
        unsafe { deeper_model_input_shape(model, shape.as_mut_ptr()) },
        DeeperStatus::Ok
    );
    assert_eq!(shape, [2, 3, 32, 32], "size 0 takes the file's crop_size");
    assert_eq!(
        cstr(unsafe { deeper_model_weights(model) }),
        file.display().to_string()
    );

    let x = deeper::Tensor::uniform(
        deeper::Shape::new(2, 3, 32, 32),
        -2.0,
        2.0,
        &mut deeper::Rng::new(5),
    );
    let mut logits = vec![f32::NAN; 2000];
    let status = unsafe {
        deeper_model_run(
            model,
            x.data.as_ptr(),
            x.data.len(),
            logits.as_mut_ptr(),
            2000,
        )
    };
    assert_eq!(status, DeeperStatus::Ok, "{}", last_error());
    unsafe { deeper_model_free(model) };

    let mut moved = x.clone();
    deeper::preprocess::transform_input(&mut moved).unwrap();
    let rust = Model::compile(common::gpu().unwrap(), &fuse(&graph).graph, 2, true).unwrap();
    let want = rust.run(&moved).unwrap().remove(0);
    let plain = rust.run(&x).unwrap().remove(0);
    let got = deeper::Tensor::new(want.shape, logits).unwrap();
    use deeper::compare::{compare, NET_TOLERANCE};
    let cmp = compare(&got, &want, NET_TOLERANCE);
    assert!(
        cmp.passed(),
        "transform_input not applied as deeper run does: {cmp}"
    );
    let untransformed = compare(&got, &plain, NET_TOLERANCE);
    assert!(
        untransformed.rel_l2 > 1e-3,
        "the transform changed nothing: {untransformed}"
    );
}

/// A weight file with a key the network does not have: `deeper_model_new` succeeds with the
/// CLI's warning in `deeper_last_error` and the key in `deeper_model_unexpected_keys`;
/// `DEEPER_MODEL_STRICT` makes it an error naming the key; unknown flags are refused.
#[test]
fn c_abi_reports_unexpected_weight_keys_and_refuses_them_when_strict() {
    let Some(gpu) = open_gpu() else { return };
    let graph = build("lenet5", &ModelOptions::default()).unwrap();
    let path =
        std::env::temp_dir().join(format!("deeper-{}-extra.safetensors", std::process::id()));
    weights::save_file(&graph, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let extra = [0u8; 8];
    let mut tensors = st.tensors();
    for key in ["fc4.weight", "aux.bias"] {
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &extra).unwrap();
        tensors.push((key.to_string(), view));
    }
    std::fs::write(&path, safetensors::serialize(tensors, None).unwrap()).unwrap();

    let model = new_model(gpu, "lenet5", Some(&path), 1).unwrap();
    assert_eq!(
        last_error(),
        "warning: 2 unexpected key(s) ignored: aux.bias, fc4.weight (DEEPER_MODEL_STRICT refuses them)"
    );
    assert_eq!(
        cstr(unsafe { deeper_model_unexpected_keys(model) }),
        "aux.bias,fc4.weight"
    );
    unsafe { deeper_model_free(model) };
    assert!(unsafe { deeper_model_unexpected_keys(null()) }.is_null());

    let (net, file) = (
        CString::new("lenet5").unwrap(),
        CString::new(path.to_str().unwrap()).unwrap(),
    );
    let new_ex = |flags| {
        let mut model = null_mut();
        let status = unsafe {
            deeper_model_new_ex(gpu, net.as_ptr(), file.as_ptr(), 1, 0, flags, &mut model)
        };
        (status, model)
    };
    let (status, model) = new_ex(DEEPER_MODEL_STRICT);
    expect(
        status,
        DeeperStatus::Error,
        "2 unexpected key(s) (strict): aux.bias, fc4.weight",
    );
    assert!(model.is_null());
    let (status, model) = new_ex(2);
    expect(status, DeeperStatus::InvalidArgument, "flags = 0x2");
    assert!(model.is_null());
    let (status, model) = new_ex(0);
    assert_eq!(status, DeeperStatus::Ok);
    unsafe { deeper_model_free(model) };
    let _ = std::fs::remove_file(&path);

    let builtin = new_model(gpu, "lenet5", None, 1).unwrap();
    assert_eq!(last_error(), "", "no warning without unexpected keys");
    assert_eq!(cstr(unsafe { deeper_model_unexpected_keys(builtin) }), "");
    unsafe { deeper_model_free(builtin) };
    unsafe { deeper_gpu_free(gpu) };
}
