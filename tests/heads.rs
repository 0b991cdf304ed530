//! Own heads, labels and features through the Rust API and `deeper run`: a fine-tuned network's
//! class count taken from its weight file (or `--classes`), a labels file of the right length
//! (and the errors for the wrong one), and any named layer's output (`Graph::up_to`,
//! `--features`), checked against the CPU reference and the full network's own values.

mod common;

use common::heads::{input, opts, resnet18_10, s, temp};
use deeper::graph::fuse::fuse;
use deeper::labels::{read_labels, top_k_named};
use deeper::models::{build, head, weights, NETWORKS};
use deeper::runtime::Model;
use deeper::{cpu, npy, Error, Shape, Tensor};
use std::process::{Command, Output};

fn deeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(args)
        .output()
        .expect("spawn deeper")
}

/// A failed command printed one `error:` line naming `needle`.
fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "'{}' does not name '{needle}'",
        lines[0]
    );
}

#[test]
fn classifier_keys_name_each_networks_last_layer() {
    // One network per family is built (random weights are slow); the others share its key.
    let family = |net: &str| match net {
        n if n.starts_with("vgg") => "vgg11",
        n if n.starts_with("resnet") => "resnet18",
        n if n.starts_with("googlenet") => "googlenet",
        n => NETWORKS.iter().find(|m| **m == n).copied().expect("known"),
    };
    for net in NETWORKS {
        let key = head::classifier_key(net).expect("key");
        assert_eq!(key, head::classifier_key(family(net)).expect("family key"));
        if family(net) != *net {
            continue;
        }
        let g = build(net, &opts(224, Some(7), 0)).expect("build");
        let (_, t) = g.params().find(|(k, _)| k == key).expect(key);
        assert_eq!(t.shape.n, 7, "{net}: {key} has {}", t.shape);
    }
    assert!(head::classifier_key("resnet5").is_err());
}

#[test]
fn classes_come_from_the_weight_file_unless_given() {
    let path = resnet18_10("ft.safetensors");
    assert_eq!(
        head::classes_in_file("resnet18", &path).expect("read"),
        Some(10)
    );
    let o = head::options_for_weights("resnet18", &opts(64, None, 0), Some(&path)).expect("o");
    assert_eq!(o.classes, Some(10));
    let mut g = build("resnet18", &o).expect("build");
    weights::load_file(&mut g, &path, true).expect("a 10-class file loads into 10 classes");

    let given = head::options_for_weights("resnet18", &opts(64, Some(5), 0), Some(&path));
    let e = given.expect_err("5 classes vs a 10-class file").to_string();
    assert!(e.contains("'fc.weight' has 10 classes, not the 5"), "{e}");
    let mut g = build("resnet18", &opts(64, Some(5), 0)).expect("build");
    let e = weights::load_file(&mut g, &path, true).expect_err("and at load");
    assert!(matches!(e, Error::WeightShape { .. }), "{e}");

    let e = head::options_for_weights("lenet5", &opts(32, Some(5), 0), None).expect_err("lenet");
    assert!(
        e.to_string().contains("built-in weights have 10 classes"),
        "{e}"
    );
    let e = build("resnet18", &opts(64, Some(0), 0)).expect_err("0 classes");
    assert!(e.to_string().contains("classes is 0"), "{e}");
}

#[test]
fn labels_files_hold_one_label_per_class() {
    let path = temp("labels.txt");
    std::fs::write(&path, "cat\r\ndog\nbird").expect("write");
    assert_eq!(read_labels(&path, 3).expect("3"), ["cat", "dog", "bird"]);
    let e = read_labels(&path, 4).expect_err("4 classes").to_string();
    assert!(e.contains("3 labels for a network with 4 classes"), "{e}");
    std::fs::write(&path, "cat\n\ndog\n").expect("write");
    let e = read_labels(&path, 3).expect_err("empty line").to_string();
    assert!(e.contains("line 2 is empty"), "{e}");

    let logits = Tensor::new(Shape::new(1, 3, 1, 1), vec![0.0, 2.0, 1.0]).expect("t");
    let labels = ["cat", "dog", "bird"].map(String::from);
    let top = top_k_named(&logits, 2, Some(&labels));
    assert_eq!((top[0][0].class, top[0][0].label.as_str()), (1, "dog"));
    assert_eq!(top[0][1].label, "bird");
}

#[test]
fn up_to_keeps_what_a_layer_needs_and_names_the_nearest() {
    let g = build("resnet18", &opts(64, None, 3)).expect("build");
    let cut = g.clone().up_to("flatten").expect("flatten");
    assert!(cut.nodes.iter().all(|n| n.name != "fc"));
    assert_eq!(cut.nodes.last().map(|n| n.name.as_str()), Some("flatten"));
    let x = input(Shape::new(2, 3, 64, 64), 11);
    let full = cpu::run(&g, &x).expect("cpu");
    let i = g.nodes.iter().position(|n| n.name == "flatten").expect("i");
    let feats = cpu::run_outputs(&cut, &x).expect("cpu cut").remove(0);
    assert_eq!(feats.shape, Shape::new(2, 512, 1, 1));
    assert_eq!(
        feats.data,
        full[i + 1].data,
        "the cut graph computes the same values"
    );

    let inner = g.clone().up_to("layer3.0.downsample.1").expect("inner");
    assert!(inner.nodes.iter().all(|n| !n.name.starts_with("layer4")));
    let e = g.clone().up_to("avgpol").expect_err("typo").to_string();
    assert!(
        e.contains("no layer 'avgpol'") && e.contains("avgpool"),
        "{e}"
    );
    let e = g.clone().up_to("layer9").expect_err("typo").to_string();
    assert!(e.contains("deeper info resnet18"), "{e}");
}

#[test]
fn deeper_info_takes_classes() {
    let out = deeper(&["info", "resnet18", "--classes", "10", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let layers = doc["layers"].as_array().expect("layers");
    assert_eq!(
        layers.last().expect("fc")["output"],
        serde_json::json!([1, 10, 1, 1])
    );
    assert_eq!(layers.last().expect("fc")["params"], 512 * 10 + 10);
    let out = deeper(&["info", "resnet18", "--classes", "0"]);
    assert!(!out.status.success());
}

#[test]
fn features_on_the_gpu_match_the_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for (net, layer, size) in [
        ("resnet18", "flatten", 64),
        ("resnet18", "layer2.1.add", 64),
        ("resnet18", "bn1", 64),
        ("resnet18", "layer3.0.downsample.1", 64),
        ("googlenet", "inception4a", 96),
    ] {
        let g = build(net, &opts(size, None, 5)).expect("build");
        let cut = g.clone().up_to(layer).expect(layer);
        let x = input(Shape::new(2, 3, size, size), 6);
        let want = cpu::run_outputs(&cut, &x).expect("cpu").remove(0);
        let model = Model::compile(gpu, &fuse(&cut).graph, 2, true).expect("compile");
        let got = model.run(&x).expect("run").remove(0);
        let c = deeper::compare::compare(&got, &want, deeper::compare::NET_TOLERANCE);
        assert!(c.passed(), "{net} {layer}: {c}");
    }
}

#[test]
fn deeper_run_takes_classes_labels_and_features() {
    if common::gpu().is_none() {
        return;
    }
    let w = resnet18_10("cli.safetensors");
    let x = input(Shape::new(2, 3, 64, 64), 9);
    let xp = temp("x.npy");
    npy::write(&xp, &[2, 3, 64, 64], &x.data).expect("npy");
    let labels = temp("ten.txt");
    let names: Vec<String> = (0..10).map(|i| format!("kind-{i}")).collect();
    std::fs::write(&labels, names.join("\n") + "\n").expect("labels");
    let (w_s, x_s, l_s) = (s(&w), s(&xp), s(&labels));

    let out = deeper(&[
        "run",
        "resnet18",
        "--weights",
        &w_s,
        "--input",
        &x_s,
        "--labels",
        &l_s,
        "--json",
        "--top",
        "10",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let top = doc["results"][0]["top"].as_array().expect("top");
    assert_eq!(top.len(), 10, "ten classes from fc.weight [10, 512]");
    let class = top[0]["class"].as_u64().expect("class") as usize;
    assert_eq!(top[0]["label"], names[class]);

    let nine = temp("nine.txt");
    std::fs::write(&nine, names[..9].join("\n")).expect("nine");
    let out = deeper(&[
        "run",
        "resnet18",
        "--weights",
        &w_s,
        "--input",
        &x_s,
        "--labels",
        &s(&nine),
    ]);
    fails_with(&out, "9 labels for a network with 10 classes");
    let out = deeper(&[
        "run",
        "resnet18",
        "--weights",
        &w_s,
        "--input",
        &x_s,
        "--classes",
        "5",
    ]);
    fails_with(&out, "'fc.weight' has 10 classes, not the 5 asked for");

    let f = temp("f.npy");
    let out = deeper(&[
        "run",
        "resnet18",
        "--weights",
        &w_s,
        "--input",
        &x_s,
        "--features",
        "flatten",
        "--save-features",
        &s(&f),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arr = npy::load(&f).expect("features");
    assert_eq!(arr.dims, [2, 512]);
    let mut g = build("resnet18", &opts(64, Some(10), 0)).expect("build");
    weights::load_file(&mut g, &w, true).expect("load");
    let want = cpu::run_outputs(&g.clone().up_to("flatten").expect("cut"), &x).expect("cpu");
    let got = Tensor::new(Shape::new(2, 512, 1, 1), arr.values).expect("t");
    let c = deeper::compare::compare(&got, &want[0], deeper::compare::NET_TOLERANCE);
    assert!(c.passed(), "{c}");

    let out = deeper(&["run", "resnet18", "--input", &x_s, "--features", "avgpol"]);
    fails_with(&out, "nearest: avgpool");
}
