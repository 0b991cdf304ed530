//! Hostile inputs (issue 19): `.npy` files, weight files, metadata, flags and shared output
//! paths as a careless or hostile user gives them. Property tests feed random and mutated
//! bytes to the readers (an error or a correct value, never a panic); fixed cases pin each
//! refusal's message; CLI cases check a one-line error and a non-zero exit that is not a
//! panic (101) or an abort. None needs a GPU: every refusal comes before the device is opened.

use deeper::graph::Graph;
use deeper::models::builtin_weights;
use deeper::models::weights::load_bytes;
use deeper::npy;
use deeper::preprocess::Preprocess;
use proptest::prelude::*;
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A `.npy` file as NumPy writes it: version 1.0, the header padded to 64 bytes with `\n`.
fn npy_bytes(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
    let f = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
    let total = 10 + h.len() + 1;
    h.push_str(&" ".repeat((64 - total % 64) % 64));
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(body);
    b
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn err(bytes: &[u8]) -> String {
    npy::parse(bytes).expect_err("should be refused")
}

/// A scratch directory of this test binary (removed first).
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deeper-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn npy_reads_float32_as_numpy_writes_it() {
    let a = npy::parse(&npy_bytes(
        "<f4",
        false,
        "(2, 3)",
        &f32s(&[1., 2., 3., 4., 5., 6.]),
    ))
    .unwrap();
    assert_eq!(a.dims, [2, 3]);
    assert_eq!(a.values, [1., 2., 3., 4., 5., 6.]);
    assert_eq!(a.converted_from, None);
}

#[test]
fn npy_converts_other_dtypes_and_fortran_order() {
    let f8: Vec<u8> = [1.5f64, -2.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let a = npy::parse(&npy_bytes("<f8", false, "(2,)", &f8)).unwrap();
    assert_eq!(
        (a.values, a.converted_from),
        (vec![1.5, -2.0], Some("float64"))
    );
    let f2: Vec<u8> = [half::f16::from_f32(0.5), half::f16::from_f32(-3.0)]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    assert_eq!(
        npy::parse(&npy_bytes("<f2", false, "(2,)", &f2))
            .unwrap()
            .values,
        [0.5, -3.0]
    );
    let i4: Vec<u8> = [-7i32, 9].iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(
        npy::parse(&npy_bytes("<i4", false, "(2,)", &i4))
            .unwrap()
            .values,
        [-7., 9.]
    );
    let i1 = npy::parse(&npy_bytes("|i1", false, "(2,)", &[0xff, 3])).unwrap();
    assert_eq!(i1.values, [-1., 3.]);
    let u1 = npy::parse(&npy_bytes("|u1", false, "(2,)", &[0xff, 3])).unwrap();
    assert_eq!(u1.values, [255., 3.]);
    let be: Vec<u8> = [1.25f32, 2.0]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let a = npy::parse(&npy_bytes(">f4", false, "(2,)", &be)).unwrap();
    assert_eq!(a.values, [1.25, 2.0]);
    // Fortran order: the 2×3 array [[1,2,3],[4,5,6]] stored column by column.
    let a = npy::parse(&npy_bytes(
        "<f4",
        true,
        "(2, 3)",
        &f32s(&[1., 4., 2., 5., 3., 6.]),
    ))
    .unwrap();
    assert_eq!(a.values, [1., 2., 3., 4., 5., 6.]);
}

#[test]
fn npy_header_is_read_as_python_reads_it() {
    // A 'descr' inside another value's string fooled the old reader into float32.
    let b = npy_bytes("<i4", false, "(1,), 'x': \"'descr': '<f4'\"", &[0; 4]);
    assert!(err(&b).contains("keys"), "{}", err(&b));
    let b = npy_bytes(
        "<f4",
        false,
        "(1,), 'y': \"'fortran_order': True\"",
        &[0; 4],
    );
    assert!(err(&b).contains("keys"));
    assert!(err(&npy_bytes("<c8", false, "(1,)", &[0; 8])).contains("not supported"));
    assert!(err(&npy_bytes("|O", false, "(1,)", &[0; 8])).contains("not supported"));
}

#[test]
fn npy_sizes_that_wrap_are_refused_before_reading() {
    for shape in [
        "(4611686018427387904, 1, 1, 1)",
        "(1, 1, 4294967296, 4294967296)",
    ] {
        let e = err(&npy_bytes("<f4", false, shape, &[]));
        assert!(
            e.contains("shape") && (e.contains("limit") || e.contains("address")),
            "{e}"
        );
    }
    let e = err(&npy_bytes("<f4", false, "(-1, 2)", &[]));
    assert!(e.contains("negative"), "{e}");
    let e = err(&npy_bytes(
        "<f4",
        false,
        "(100000000000000000000000000000000000000000,)",
        &[],
    ));
    assert!(e.contains("too large"), "{e}");
}

#[test]
fn npy_exact_messages_for_damaged_files() {
    let e = err(&npy_bytes("<f4", false, "(2,)", &[0; 12]));
    assert!(
        e.contains("needs 8 bytes") && e.contains("has 12") && e.contains("trailing"),
        "{e}"
    );
    let e = err(&npy_bytes("<f4", false, "(2,)", &[0; 4]));
    assert!(e.contains("truncated") && e.contains("has 4"), "{e}");
    // A complete version-3 header that is not UTF-8.
    let mut b = b"\x93NUMPY\x03\x00".to_vec();
    let h = b"{'descr': '\xff', 'fortran_order': False, 'shape': (1,)}\n";
    b.extend_from_slice(&(h.len() as u32).to_le_bytes());
    b.extend_from_slice(h);
    b.extend_from_slice(&[0; 4]);
    let e = err(&b);
    assert!(e.contains("not UTF-8"), "{e}");
    assert!(err(&b"\x93NUMPY\x01\x00\xff\x00{"[..]).contains("truncated header"));
    assert!(err(&b"\x93NUMPY\x01\x05\x00\x00"[..]).contains("version 1.5"));
    assert!(err(b"PK\x03\x04 a zip, not an npy").contains("not a .npy"));
}

#[test]
fn npy_read_refuses_other_dtypes_and_directories() {
    let dir = scratch("npy-read");
    let p = dir.join("x.npy");
    std::fs::write(&p, npy_bytes("<f8", false, "(1,)", &[0; 8])).unwrap();
    let e = npy::read(&p).unwrap_err().to_string();
    assert!(e.contains("float64") && e.contains("x.npy"), "{e}");
    assert!(npy::load(&p).is_ok());
    let e = npy::read(&dir).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A valid file with a few bytes changed, cut or extended.
fn mutated(seed: Vec<(usize, u8)>, cut: usize, extra: Vec<u8>) -> Vec<u8> {
    let mut b = npy_bytes("<f4", false, "(1, 2, 3, 4)", &f32s(&[0.5; 24]));
    for (i, v) in seed {
        let n = b.len();
        b[i % n] = v;
    }
    b.truncate(b.len() - cut % b.len());
    b.extend(extra);
    b
}

/// The reader's answer is an error or a consistent array.
fn check_npy(bytes: &[u8]) {
    if let Ok(a) = npy::parse(bytes) {
        assert_eq!(a.values.len(), a.dims.iter().product::<usize>());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn npy_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_npy(&bytes);
        let mut framed = b"\x93NUMPY\x01\x00".to_vec();
        framed.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        framed.extend_from_slice(&bytes);
        check_npy(&framed);
    }

    #[test]
    fn npy_never_panics_on_mutated_files(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in 0usize..8,
        extra in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        check_npy(&mutated(edits, cut, extra));
    }

    #[test]
    fn npy_header_text_never_panics(text in "[{}()\\[\\]',: a-z_0-9TrueFalsNon<>#\"\\\\-]{0,80}") {
        let _ = npy::header::parse(&text);
        let b = npy_bytes("<f4", false, &text, &[]);
        check_npy(&b);
    }
}

/// Runs the CLI with `args`; the output.
fn deeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(args)
        .output()
        .expect("run deeper")
}

/// The run failed cleanly: exit status 1 or 2 (clap), no panic, a one-line message containing
/// every one of `wanted`.
fn refused(args: &[&str], wanted: &[&str]) -> String {
    let out = deeper(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let code = out.status.code();
    assert!(
        matches!(code, Some(1 | 2)),
        "{args:?}: exit {code:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for w in wanted {
        assert!(stderr.contains(w), "{args:?}: wanted {w:?} in: {stderr}");
    }
    stderr
}

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

/// Whether a CLI run failed only for want of a GPU (then GPU cases are skipped, unless
/// `DEEPER_REQUIRE_GPU=1`).
fn no_gpu(out: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let missing = !out.status.success() && stderr.contains("no GPU adapter");
    if missing && std::env::var("DEEPER_REQUIRE_GPU").as_deref() == Ok("1") {
        panic!("DEEPER_REQUIRE_GPU=1 but no GPU: {stderr}");
    }
    missing
}

/// Three `deeper bench` processes started together on one empty cache directory, each writing
/// the same plot file: every one succeeds, the caches hold their entries and no temporary file
/// is left. Then a cached peak of 1e308 GFLOP/s is measured again with a warning.
#[test]
fn processes_sharing_a_cache_and_an_output_directory_all_succeed() {
    let dir = scratch("shared");
    let plot = dir.join("p.svg");
    let run = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_deeper"));
        c.args(["bench", "lenet5", "--runs", "1", "--json", "--plot"])
            .arg(&plot)
            .env("XDG_CACHE_HOME", &dir)
            .env_remove("DEEPER_PEAK_CACHE")
            .env_remove("DEEPER_AUTOTUNE_CACHE");
        c
    };
    let children: Vec<_> = (0..3).map(|_| run().spawn().unwrap()).collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    if outs.iter().any(no_gpu) {
        eprintln!("SKIPPED: needs a GPU");
        return;
    }
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let cache = dir.join("deeper");
    let peak: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cache.join("peak.json")).unwrap()).unwrap();
    assert_eq!(peak.as_array().unwrap().len(), 1);
    let tuned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cache.join("autotune.json")).unwrap()).unwrap();
    assert_eq!(
        tuned.as_object().unwrap().len(),
        2,
        "lenet5's two convolutions"
    );
    assert!(plot.exists());
    for d in [&dir, &cache] {
        for e in std::fs::read_dir(d).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(!name.ends_with(".partial"), "left behind: {name}");
        }
    }
    // A hand-edited, impossible peak is measured again and replaced.
    let mut edited = peak.clone();
    edited[0]["gflops"] = serde_json::json!(1e308);
    std::fs::write(cache.join("peak.json"), edited.to_string()).unwrap();
    let o = run().output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("not plausible") && stderr.contains("measuring again"),
        "{stderr}"
    );
    let fixed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cache.join("peak.json")).unwrap()).unwrap();
    assert!(fixed[0]["gflops"].as_f64().unwrap() < 1e7);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--save-logits -` writes the `.npy` to standard output; a link is written through.
#[test]
fn logits_go_to_stdout_or_through_a_link() {
    let dir = scratch("logits");
    let digit = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits/7.png");
    let d = digit.to_str().unwrap();
    let out = deeper(&["run", "lenet5", "--image", d, "--save-logits", "-"]);
    if no_gpu(&out) {
        eprintln!("SKIPPED: needs a GPU");
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let at = out
        .stdout
        .windows(6)
        .position(|w| w == b"\x93NUMPY")
        .expect("npy on stdout");
    let s = &out.stdout[at..];
    let len = 10 + u16::from_le_bytes([s[8], s[9]]) as usize + 10 * 4;
    let a = npy::parse(&s[..len]).unwrap();
    assert_eq!(a.dims, [1, 10]);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("real.npy", dir.join("link.npy")).unwrap();
        let link = dir.join("link.npy");
        let out = deeper(&[
            "run",
            "lenet5",
            "--image",
            d,
            "--save-logits",
            link.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(npy::read(&dir.join("real.npy")).unwrap().0, [1, 10]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
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
    let help = String::from_utf8_lossy(&deeper(&["info", "--help"]).stdout).to_string();
    assert!(
        help.contains("resnet152") && help.contains("googlenet-paper"),
        "{help}"
    );
    let help = String::from_utf8_lossy(&deeper(&["check", "--help"]).stdout).to_string();
    for flag in [
        "--batch <BATCH>  Batch size",
        "--size <SIZE>    Input height",
        "--aux",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
}
