//! Own heads, labels and features through the C ABI: `deeper_model_new_ex` (classes from the
//! weight file or given, a features layer), `deeper_model_set_labels` and `deeper_model_label`,
//! checked against the CPU reference, with the errors for wrong counts and unknown layers.

mod common;

use common::heads::{input, opts, resnet18_10, s, temp};
use deeper::ffi::*;
use deeper::models::{build, weights};
use deeper::{cpu, Shape, Tensor};
use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

fn last_error() -> String {
    unsafe { CStr::from_ptr(deeper_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// `deeper_model_new_ex` on `gpu` at batch 1, 64×64; the status and the model.
fn new_ex(
    gpu: *const DeeperGpu,
    weights: &CString,
    classes: u32,
    features: Option<&str>,
) -> (DeeperStatus, *mut DeeperModel) {
    let net = CString::new("resnet18").unwrap();
    let f = features.map(|f| CString::new(f).unwrap());
    let fp = f.as_ref().map_or(null(), |f| f.as_ptr());
    let mut m = null_mut();
    let st = unsafe {
        deeper_model_new_ex(
            gpu,
            net.as_ptr(),
            weights.as_ptr(),
            1,
            64,
            classes,
            fp,
            0,
            &mut m,
        )
    };
    (st, m)
}

fn run(m: *const DeeperModel, x: &Tensor, outputs: usize) -> Vec<f32> {
    let mut y = vec![f32::NAN; outputs];
    let st = unsafe { deeper_model_run(m, x.data.as_ptr(), x.data.len(), y.as_mut_ptr(), y.len()) };
    assert_eq!(st, DeeperStatus::Ok, "{}", last_error());
    y
}

fn label(m: *const DeeperModel, i: u32) -> Option<String> {
    let p: *const c_char = unsafe { deeper_model_label(m, i) };
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

#[test]
fn c_abi_takes_heads_labels_and_features() {
    if common::gpu().is_none() {
        return;
    }
    let w = resnet18_10("c.safetensors");
    let mut g = build("resnet18", &opts(64, Some(10), 0)).expect("build");
    weights::load_file(&mut g, &w, true).expect("load");
    let x = input(Shape::new(1, 3, 64, 64), 4);
    let all = cpu::run(&g, &x).expect("cpu");
    let wc = CString::new(s(&w)).unwrap();
    let mut gpu = null_mut();
    assert_eq!(unsafe { deeper_gpu_open(&mut gpu) }, DeeperStatus::Ok);

    let (st, m) = new_ex(gpu, &wc, 0, None);
    assert_eq!(st, DeeperStatus::Ok, "{}", last_error());
    assert_eq!(unsafe { deeper_model_classes(m) }, 10);
    let logits = run(m, &x, 10);
    let want = all.last().expect("logits");
    let got = Tensor::new(want.shape, logits).expect("t");
    let c = deeper::compare::compare(&got, want, deeper::compare::NET_TOLERANCE);
    assert!(c.passed(), "{c}");
    assert_eq!(label(m, 3).as_deref(), Some("3"), "default names: numbers");
    let labels = temp("c-ten.txt");
    let names: Vec<String> = (0..10).map(|i| format!("kind {i}")).collect();
    std::fs::write(&labels, names.join("\n")).expect("labels");
    let lc = CString::new(s(&labels)).unwrap();
    assert_eq!(
        unsafe { deeper_model_set_labels(m, lc.as_ptr()) },
        DeeperStatus::Ok
    );
    assert_eq!(label(m, 3).as_deref(), Some("kind 3"));
    assert_eq!(label(m, 10), None);
    let nine = temp("c-nine.txt");
    std::fs::write(&nine, names[..9].join("\n")).expect("nine");
    let nc = CString::new(s(&nine)).unwrap();
    assert_eq!(
        unsafe { deeper_model_set_labels(m, nc.as_ptr()) },
        DeeperStatus::Error
    );
    assert!(
        last_error().contains("9 labels for a network with 10 classes"),
        "{}",
        last_error()
    );
    unsafe { deeper_model_free(m) };

    let (st, m) = new_ex(gpu, &wc, 0, Some("flatten"));
    assert_eq!(st, DeeperStatus::Ok, "{}", last_error());
    assert_eq!(unsafe { deeper_model_classes(m) }, 512);
    let i = g.nodes.iter().position(|n| n.name == "flatten").expect("i");
    let got = Tensor::new(all[i + 1].shape, run(m, &x, 512)).expect("t");
    let c = deeper::compare::compare(&got, &all[i + 1], deeper::compare::NET_TOLERANCE);
    assert!(c.passed(), "{c}");
    let st = unsafe { deeper_model_set_labels(m, lc.as_ptr()) };
    assert_eq!(st, DeeperStatus::InvalidArgument);
    unsafe { deeper_model_free(m) };

    let (st, m) = new_ex(gpu, &wc, 0, Some("avgpol"));
    assert_eq!((st, m), (DeeperStatus::Error, null_mut()));
    assert!(
        last_error().contains("nearest: avgpool"),
        "{}",
        last_error()
    );
    let (st, _) = new_ex(gpu, &wc, 5, None);
    assert_eq!(st, DeeperStatus::Error);
    assert!(last_error().contains("has 10 classes"), "{}", last_error());
    assert!(unsafe { deeper_model_label(null(), 0) }.is_null());
    unsafe { deeper_gpu_free(gpu) };
}
