//! Weight files: the safetensors loader's errors (missing key with its layer, wrong shape with
//! both shapes, unexpected keys, ignored keys, corrupt files, NaN/Inf, integer dtypes) and
//! conversions (f16, bf16, f64), and `save_file` round trips. No GPU needed.
//!
//! Files are written by a tiny hand-rolled safetensors writer, so that any dtype and any
//! corruption can be produced.

use deeper::graph::Graph;
use deeper::models::{build, weights, ModelOptions};
use deeper::Error;
use std::path::{Path, PathBuf};

/// One tensor of a hand-written file: key, dtype name, shape, raw little-endian bytes.
type Entry = (String, &'static str, Vec<usize>, Vec<u8>);

/// A safetensors image: 8-byte header length, JSON header, data.
fn safetensors(entries: &[Entry]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (key, dtype, shape, bytes) in entries {
        let offsets = [data.len(), data.len() + bytes.len()];
        let info = serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": offsets});
        header.insert(key.clone(), info);
        data.extend_from_slice(bytes);
    }
    let mut h = serde_json::Value::Object(header).to_string().into_bytes();
    h.resize(h.len().div_ceil(8) * 8, b' ');
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    out
}

/// PyTorch's shape of a parameter of ours (`[out, in]` linear weights, `[C]` vectors).
fn torch_shape(key: &str, dims: [usize; 4]) -> Vec<usize> {
    match dims {
        [n, 1, 1, 1] if !key.ends_with("conv1.weight") => vec![n],
        [o, i, 1, 1] if key.starts_with("fc") || key.contains(".fc") => vec![o, i],
        d => d.to_vec(),
    }
}

/// Every parameter of `graph` as an f32 entry with PyTorch's shape.
fn entries(graph: &Graph) -> Vec<Entry> {
    graph
        .params()
        .map(|(key, t)| {
            let bytes = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            let shape = torch_shape(&key, t.shape.dims());
            (key, "F32", shape, bytes)
        })
        .collect()
}

fn lenet(seed: u64) -> Graph {
    let opts = ModelOptions {
        seed,
        ..Default::default()
    };
    build("lenet5", &opts).expect("lenet5")
}

fn load(graph: &mut Graph, entries: &[Entry], strict: bool) -> deeper::Result<weights::LoadReport> {
    weights::load_bytes(graph, &safetensors(entries), "test.safetensors", strict)
}

fn param(graph: &Graph, key: &str) -> Vec<f32> {
    let (_, t) = graph.params().find(|(k, _)| k == key).expect(key);
    t.data.clone()
}

#[test]
fn a_complete_file_loads_every_parameter() {
    let source = lenet(1);
    let mut g = lenet(2);
    let report = load(&mut g, &entries(&source), true).expect("load");
    assert_eq!(report.loaded, 10);
    assert!(report.ignored.is_empty() && report.unexpected.is_empty());
    for (key, t) in source.params() {
        assert_eq!(param(&g, &key), t.data, "{key}");
    }
}

#[test]
fn a_missing_key_names_the_key_and_its_layer() {
    let mut e = entries(&lenet(1));
    e.retain(|(k, ..)| k != "fc2.bias");
    let err = load(&mut lenet(2), &e, false).unwrap_err();
    assert!(
        matches!(&err, Error::MissingWeight { key, layer } if key == "fc2.bias" && layer == "fc2"),
        "{err}"
    );
    assert_eq!(err.to_string(), "missing weight 'fc2.bias' (layer 'fc2')");
}

#[test]
fn a_wrong_shape_names_both_shapes() {
    let mut e = entries(&lenet(1));
    let fc1 = e.iter_mut().find(|(k, ..)| k == "fc1.weight").unwrap();
    fc1.2 = vec![120, 399];
    fc1.3.truncate(120 * 399 * 4);
    let err = load(&mut lenet(2), &e, false).unwrap_err().to_string();
    assert!(
        err.contains("fc1.weight") && err.contains("[120, 399]"),
        "{err}"
    );
    assert!(err.contains("[120, 400]"), "{err}");

    let mut e = entries(&lenet(1));
    let conv = e.iter_mut().find(|(k, ..)| k == "conv2.weight").unwrap();
    conv.2 = vec![16, 6, 3, 3];
    conv.3.truncate(16 * 6 * 9 * 4);
    let err = load(&mut lenet(2), &e, false).unwrap_err().to_string();
    assert!(
        err.contains("[16, 6, 3, 3]") && err.contains("[16, 6, 5, 5]"),
        "{err}"
    );
}

#[test]
fn unexpected_keys_are_reported_and_refused_when_strict() {
    let mut e = entries(&lenet(1));
    e.push(("fc4.weight".into(), "F32", vec![2], vec![0; 8]));
    let report = load(&mut lenet(2), &e, false).expect("lenient load");
    assert_eq!(report.unexpected, ["fc4.weight"]);
    assert_eq!(report.loaded, 10);
    let err = load(&mut lenet(2), &e, true).unwrap_err().to_string();
    assert!(
        err.contains("fc4.weight") && err.contains("unexpected"),
        "{err}"
    );
}

#[test]
fn batch_counters_and_unused_aux_heads_are_ignored() {
    let opts = ModelOptions {
        size: Some(32),
        ..Default::default()
    };
    let with_aux = build(
        "googlenet",
        &ModelOptions {
            aux: true,
            ..opts.clone()
        },
    )
    .unwrap();
    let mut e = entries(&with_aux);
    let aux = e.iter().filter(|(k, ..)| k.starts_with("aux")).count();
    assert_eq!(
        aux, 18,
        "per head: conv weight, 4 BN tensors, fc1 and fc2 weight and bias"
    );
    let counters: Vec<String> = e
        .iter()
        .filter(|(k, ..)| k.ends_with(".bn.running_var"))
        .map(|(k, ..)| k.replace("running_var", "num_batches_tracked"))
        .collect();
    for k in &counters {
        e.push((k.clone(), "I64", vec![], 7i64.to_le_bytes().to_vec()));
    }
    let mut g = build("googlenet", &opts).unwrap();
    let report = load(&mut g, &e, true).expect("strict load ignores them");
    assert!(report.unexpected.is_empty());
    assert!(report.ignored.iter().any(|k| k.starts_with("aux2.")));
    assert!(report
        .ignored
        .iter()
        .any(|k| k.ends_with("num_batches_tracked")));
    assert_eq!(report.ignored.len(), aux + counters.len());
    // With the aux heads built, their weights are needed.
    e.retain(|(k, ..)| !k.starts_with("aux2.fc1"));
    let mut g = build("googlenet", &ModelOptions { aux: true, ..opts }).unwrap();
    let err = load(&mut g, &e, true).unwrap_err().to_string();
    assert!(
        err.contains("aux2.fc1.bias") && err.contains("layer 'aux2.fc1'"),
        "{err}"
    );
}

#[test]
fn corrupt_files_are_errors_not_panics() {
    let good = safetensors(&entries(&lenet(1)));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("too short", good[..5].to_vec()),
        ("truncated data", good[..good.len() - 100].to_vec()),
        ("truncated header", good[..40].to_vec()),
        (
            "huge header length",
            [&u64::MAX.to_le_bytes()[..], &good[8..]].concat(),
        ),
        (
            "not JSON",
            [&good[..8], &vec![b'x'; good.len() - 8][..]].concat(),
        ),
        ("text file", b"conv1.weight = [1, 2, 3]\n".to_vec()),
    ];
    for (case, bytes) in cases {
        let err = weights::load_bytes(&mut lenet(2), &bytes, "bad.safetensors", false)
            .expect_err(case)
            .to_string();
        assert!(
            err.contains("bad.safetensors") && err.contains("not a valid safetensors"),
            "{case}: {err}"
        );
    }
    let err = weights::load_file(
        &mut lenet(2),
        Path::new("/nonexistent/w.safetensors"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/w.safetensors"), "{err}");
}

#[test]
fn non_finite_weights_are_refused_naming_the_key() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut e = entries(&lenet(1));
        let fc2 = e.iter_mut().find(|(k, ..)| k == "fc2.weight").unwrap();
        fc2.3[12..16].copy_from_slice(&bad.to_le_bytes());
        let mut g = lenet(2);
        let before = param(&g, "conv1.weight");
        let err = load(&mut g, &e, false).unwrap_err().to_string();
        assert!(
            err.contains("'fc2.weight'") && err.contains("index 3"),
            "{err}"
        );
        assert_eq!(param(&g, "conv1.weight"), before, "nothing loaded on error");
    }
}

#[test]
fn integer_weights_are_refused_naming_the_key() {
    let mut e = entries(&lenet(1));
    let b = e.iter_mut().find(|(k, ..)| k == "fc3.bias").unwrap();
    b.1 = "I32";
    let err = load(&mut lenet(2), &e, false).unwrap_err().to_string();
    assert!(err.contains("fc3.bias") && err.contains("I32"), "{err}");
}

/// Every f32 entry re-encoded by `encode` as `dtype` (`width` bytes per value).
fn converted(e: &[Entry], dtype: &'static str, encode: impl Fn(f32) -> Vec<u8>) -> Vec<Entry> {
    e.iter()
        .map(|(k, _, s, b)| {
            let bytes = b
                .chunks_exact(4)
                .flat_map(|c| encode(f32::from_le_bytes(c.try_into().unwrap())))
                .collect();
            (k.clone(), dtype, s.clone(), bytes)
        })
        .collect()
}

#[test]
fn f16_bf16_and_f64_files_are_converted_to_f32() {
    let source = lenet(1);
    let e = entries(&source);
    type Codec = (&'static str, fn(f32) -> Vec<u8>, fn(f32) -> f32);
    let codecs: [Codec; 3] = [
        (
            "F16",
            |v| half::f16::from_f32(v).to_le_bytes().to_vec(),
            |v| half::f16::from_f32(v).to_f32(),
        ),
        (
            "BF16",
            |v| half::bf16::from_f32(v).to_le_bytes().to_vec(),
            |v| half::bf16::from_f32(v).to_f32(),
        ),
        ("F64", |v| (v as f64).to_le_bytes().to_vec(), |v| v),
    ];
    for (dtype, encode, round) in codecs {
        let mut g = lenet(2);
        let report = load(&mut g, &converted(&e, dtype, encode), true).expect(dtype);
        assert_eq!(report.loaded, 10);
        for (key, t) in source.params() {
            let want: Vec<f32> = t.data.iter().map(|v| round(*v)).collect();
            assert_eq!(param(&g, &key), want, "{dtype} {key}");
        }
    }
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deeper-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

#[test]
fn save_file_round_trips_with_pytorch_shapes() {
    let opts = ModelOptions {
        size: Some(32),
        seed: 3,
        ..Default::default()
    };
    let source = build("resnet18", &opts).unwrap();
    let path = temp_file("resnet18.safetensors");
    weights::save_file(&source, &path).expect("save");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("fc.weight").unwrap().shape(), [1000, 512]);
    assert_eq!(st.tensor("bn1.running_var").unwrap().shape(), [64]);
    assert_eq!(
        st.tensor("layer2.0.downsample.0.weight").unwrap().shape(),
        [128, 64, 1, 1]
    );
    let mut g = build("resnet18", &ModelOptions { seed: 4, ..opts }).unwrap();
    let report = weights::load_file(&mut g, &path, true).expect("load");
    assert_eq!(report.loaded, source.params().count());
    assert!(source
        .params()
        .zip(g.params())
        .all(|((ka, a), (kb, b))| ka == kb && a == b));
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}
