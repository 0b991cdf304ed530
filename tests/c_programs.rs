//! The C ABI from C and C++ themselves: `include/deeper.h` declares exactly the functions
//! `src/ffi` exports (and their status values), `tests/c/classify.c` compiles with `cc
//! -std=c99 -Wall -Wextra -pedantic -Werror` against `libdeeper` and classifies real digits
//! with LeNet-5's built-in weights, `tests/c/threads.c` shares one model between C threads,
//! and the header compiles as strict C++ and links.

mod common;

#[cfg(unix)]
use common::{digit, DIGITS};
use deeper::ffi::DeeperStatus;
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;

/// `libdeeper`'s directory: `target/<profile>/deps`, where the test binary lives (cargo
/// copies the library up to `target/<profile>` only for `cargo build`). The C programs are
/// built and run on Unix only (`cc`, `-pthread`, rpath).
#[cfg(unix)]
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// Compiles `src` with `$var` (else `default`: `cc` or `c++`) at `std`, every warning an
/// error, against `include/deeper.h` and `libdeeper`, into `exe`.
#[cfg(unix)]
fn compile(var: &str, default: &str, std: &str, src: &Path, exe: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    let compiler = std::env::var(var).unwrap_or_else(|_| default.into());
    let out = std::process::Command::new(&compiler)
        .args([std, "-Wall", "-Wextra", "-pedantic", "-Werror", "-pthread"])
        .arg(src)
        .arg(format!("-I{}", root.join("include").display()))
        .arg(format!("-L{}", lib.display()))
        .arg("-ldeeper")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(exe)
        .output()
        .unwrap_or_else(|e| panic!("{compiler} is needed to test the C ABI: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{compiler} failed:\n{err}");
}

#[cfg(unix)]
#[test]
fn c_program_classifies_digits() {
    if common::gpu().is_none() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    let so = lib.join(format!(
        "{}deeper{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        so.exists(),
        "{} not built (crate-type cdylib)",
        so.display()
    );
    let exe = std::env::temp_dir().join(format!("deeper-classify-{}", std::process::id()));
    compile(
        "CC",
        "cc",
        "-std=c99",
        &root.join("tests/c/classify.c"),
        &exe,
    );
    let out = std::process::Command::new(&exe)
        .args(["lenet5", "-"])
        .args(DIGITS.iter().map(|d| digit(d)))
        .output()
        .unwrap();
    let bad = std::process::Command::new(&exe)
        .args(["resnet9", "-"])
        .arg(digit("0.png"))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&exe);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: resnet9: unknown network 'resnet9'"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("lenet5, weights: built-in (lenet5)"),
        "{stdout}"
    );
    for d in DIGITS {
        let block = stdout.split(&format!("{d}:\n")).nth(1).expect(d);
        let first = block.lines().next().unwrap();
        assert!(
            first.trim_start().starts_with("1.") && first.ends_with(&format!("  {}", &d[..1])),
            "{d}: {first}"
        );
    }
}

/// Four C threads × 25 calls of `deeper_model_run` on one shared model (lenet5, and ResNet-18
/// at 64×64) each return, bit for bit, what a lone call on the same input returned (before the
/// execution contexts, calls overwrote each other's buffers).
#[cfg(unix)]
#[test]
fn c_threads_share_one_model() {
    if common::gpu().is_none() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::temp_dir().join(format!("deeper-threads-{}", std::process::id()));
    compile(
        "CC",
        "cc",
        "-std=c99",
        &root.join("tests/c/threads.c"),
        &exe,
    );
    for (net, size) in [("lenet5", "0"), ("resnet18", "64")] {
        let out = std::process::Command::new(&exe)
            .args([net, size])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{net}: {stdout}\n{stderr}");
        assert!(stdout.contains("wrong: 0 of 100"), "{net}: {stdout}");
    }
    let _ = std::fs::remove_file(&exe);
}

/// Names of the functions declared (header) or exported (Rust) in `text`: the identifier
/// starting with `deeper_` right before the first `(` of each line `keep` accepts.
fn functions(text: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter(|l| keep(l))
        .filter_map(|l| {
            let head = &l[..l.find('(')?];
            let name = &head[head.rfind("deeper_")?..];
            Some(name.trim_start_matches('*').to_string())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn c_header_declares_exactly_the_exported_functions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/deeper.h")).unwrap();
    let rust: String = ["src/ffi/mod.rs", "src/ffi/model.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(root.join(f)).unwrap())
        .collect();
    let declared = functions(&header, |l| {
        !l.starts_with(' ') && !l.starts_with('/') && !l.starts_with('#') && l.contains('(')
    });
    let exported = functions(&rust, |l| l.contains("extern \"C\" fn deeper_"));
    assert_eq!(declared, exported);
    assert_eq!(exported.len(), 16, "{exported:?}");
    let strict = format!("DEEPER_MODEL_STRICT = {}", deeper::ffi::DEEPER_MODEL_STRICT);
    assert!(header.contains(&strict), "header lacks '{strict}'");
    for (name, value) in [
        ("DEEPER_OK", DeeperStatus::Ok),
        (
            "DEEPER_ERROR_INVALID_ARGUMENT",
            DeeperStatus::InvalidArgument,
        ),
        ("DEEPER_ERROR", DeeperStatus::Error),
        ("DEEPER_ERROR_PANIC", DeeperStatus::Panic),
        ("DEEPER_ERROR_DEVICE_LOST", DeeperStatus::DeviceLost),
        ("DEEPER_ERROR_TIMEOUT", DeeperStatus::Timeout),
    ] {
        let line = format!("{name} = {}", value as i32);
        assert!(header.contains(&line), "header lacks '{line}'");
    }
}

/// The header also compiles as C++ (its `extern "C"` block), strictly, and links: a C++ program
/// that only asks for the version, run. No GPU needed.
#[cfg(unix)]
#[test]
fn c_header_works_from_cpp() {
    let dir = std::env::temp_dir().join(format!("deeper-cpp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("version.cpp");
    let prog = "#include \"deeper.h\"\n#include <cstdio>\n\
        int main() { std::printf(\"%s\\n\", deeper_version()); return deeper_label(10, 3) ? 0 : 1; }\n";
    std::fs::write(&src, prog).unwrap();
    let exe = dir.join("version");
    compile("CXX", "c++", "-std=c++11", &src, &exe);
    let out = std::process::Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        env!("CARGO_PKG_VERSION")
    );
}

/// The README's C example (its one `c` block), as pasted: compiled strictly (no GPU needed),
/// then run on a digit with LeNet-5's built-in weights and on an unknown network.
#[cfg(unix)]
#[test]
fn readme_c_example_compiles_and_classifies() {
    let readme = include_str!("../README.md");
    let mut blocks = readme.split("\n```c\n").skip(1);
    let block = blocks.next().expect("the README has a ```c block");
    assert!(blocks.next().is_none(), "one C example in the README");
    let src = block.split_once("\n```").expect("the block ends").0;
    let dir = std::env::temp_dir().join(format!("deeper-readme-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (file, exe) = (dir.join("top5.c"), dir.join("top5"));
    std::fs::write(&file, format!("{src}\n")).unwrap();
    compile("CC", "cc", "-std=c99", &file, &exe);
    if common::gpu().is_none() {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let run = |args: &[&str]| {
        std::process::Command::new(&exe)
            .args(args)
            .output()
            .unwrap()
    };
    let seven = digit("7.png").display().to_string();
    let good = run(&["lenet5", "-", &seven]);
    let bad = run(&["resnet9", "-", &seven]);
    let usage = run(&["lenet5"]);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
    let first = stdout.lines().next().unwrap();
    assert!(first.ends_with("%  7"), "the digit 7 first: {stdout}");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: resnet9: unknown network 'resnet9'"),
        "{err}"
    );
    assert_eq!(usage.status.code(), Some(2));
}
