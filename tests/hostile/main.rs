//! Hostile inputs: `.npy` files, weight files, metadata, images, flags, the
//! environment and shared output paths as a careless or hostile user gives them. Property
//! tests feed random and mutated bytes to the readers (an error or a correct value, never a
//! panic); fixed cases pin each refusal's message; CLI cases check a one-line error and a
//! non-zero exit that is not a panic (101) or an abort. Most need no GPU (every refusal comes
//! before the device is opened); the few that run a network skip without one unless
//! `DEEPER_REQUIRE_GPU=1`.
//!
//! [`npy`]: the `.npy` reader; [`inputs`]: flags, `.npy` inputs, metadata, images, weight
//! files, environment; [`outputs`]: output files and caches shared by several processes.

mod inputs;
mod npy;
mod outputs;

use std::path::PathBuf;
use std::process::{Command, Output};

/// A `.npy` file as NumPy writes it: version 1.0, the header padded to 64 bytes with `\n`.
pub fn npy_bytes(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
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

pub fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A scratch directory of this test binary (removed first).
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deeper-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the CLI with `args`; the output.
pub fn deeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(args)
        .output()
        .expect("run deeper")
}

/// The run failed cleanly: exit status 1 or 2 (clap), no panic, a one-line message containing
/// every one of `wanted`.
pub fn refused(args: &[&str], wanted: &[&str]) -> String {
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

/// Whether a CLI run failed only for want of a GPU (then GPU cases are skipped, unless
/// `DEEPER_REQUIRE_GPU=1`).
pub fn no_gpu(out: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let missing = !out.status.success() && stderr.contains("no GPU adapter");
    if missing && std::env::var("DEEPER_REQUIRE_GPU").as_deref() == Ok("1") {
        panic!("DEEPER_REQUIRE_GPU=1 but no GPU: {stderr}");
    }
    missing
}
