//! Output files and caches: several processes writing one cache directory and one plot
//! path at once, an implausible cached peak, `--save-logits -` and through a symlink (GPU).

use crate::{deeper, no_gpu, scratch};
use deeper::npy;
use std::path::Path;
use std::process::{Command, Output};

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
        5,
        "lenet5's two convolutions and three linear layers"
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

/// `--save-logits -` (or `/dev/stdout`) writes the `.npy` to standard output; a link is
/// written through.
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
    // /dev/stdout is a link to a pipe here (the output is captured).
    #[cfg(target_os = "linux")]
    {
        let out = deeper(&[
            "run",
            "lenet5",
            "--image",
            d,
            "--save-logits",
            "/dev/stdout",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.starts_with(b"\x93NUMPY"));
    }
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
