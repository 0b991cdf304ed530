//! Static checks of the WGSL kernels, with naga and no GPU: every file in `shaders/` parses and
//! validates; the files and `Op::all_shaders()` (plus the benchmark shaders of
//! `bench::peak::shaders()`) name the same set; each shader's `struct Params` has the size and
//! field offsets of its Rust mirror (a mismatch would silently feed a kernel the wrong shape);
//! and each shader declares `Shader::storage_bindings` storage buffers numbered 0.., of which
//! only the last (the output) is writable, then the uniform, as the runtime's bind-group layout
//! assumes. Files with shared parts (`shaders/common/`) are checked with their parts appended.

use deeper::bench::peak::{CopyUniform, FmaUniform};
use deeper::ops::adaptive_avg_pool2d::AdaptiveUniform;
use deeper::ops::add::AddUniform;
use deeper::ops::batch_norm::BatchNormUniform;
use deeper::ops::concat::ConcatUniform;
use deeper::ops::conv2d_direct::ConvUniform;
use deeper::ops::conv2d_mm::{Im2colUniform, MmUniform};
use deeper::ops::conv2d_subgroup::WindowUniform;
use deeper::ops::conv2d_tiled::TiledUniform;
use deeper::ops::conv2d_tiled_sum::SumUniform;
use deeper::ops::conv2d_winograd::{InputUniform, OutputUniform};
use deeper::ops::linear::LinearUniform;
use deeper::ops::lrn::LrnUniform;
use deeper::ops::pool2d::PoolUniform;
use deeper::ops::softmax::SoftmaxUniform;
use deeper::ops::{Op, Shader};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{AddressSpace, StorageAccess, TypeInner};
use std::collections::BTreeSet;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};

/// The Rust side of a uniform: its size and `(field, offset)` in declaration order.
struct Mirror {
    rust: &'static str,
    size: usize,
    fields: Vec<(&'static str, usize)>,
}

/// `mirror!(Type => a, b, c)`: the layout of `Type`, listing each field name once.
macro_rules! mirror {
    ($ty:ident => $($field:ident),* $(,)?) => {
        Mirror {
            rust: stringify!($ty),
            size: size_of::<$ty>(),
            fields: vec![$((stringify!($field), offset_of!($ty, $field))),*],
        }
    };
}

fn mm_mirror() -> Mirror {
    mirror!(MmUniform =>
        rows, kdim, cols, b_base, b_stride4, w_block0, oc_base, row_base, n, p0, pixels,
        has_bias, has_residual, res_c, out_c_total, out_c_offset, b_col_major, groups, b_image4, _pad3)
}

fn im2col_mirror() -> Mirror {
    mirror!(Im2colUniform =>
        cin, h, w, ow, kh, kw, sh, sw, ph, pw, dh, dw, cin_per_group, n, g, p0,
        cols, kdim, pixels, _pad0)
}

/// The Rust mirrors of each shader file's uniform structs: the uniform's own (`Params`, or
/// `Product` for the matrix subgroup shaders) first, then the structs it nests, by WGSL name.
fn mirrors_for(shader: &str) -> Option<Vec<(&'static str, Mirror)>> {
    if shader.starts_with("conv2d_subgroup_window") {
        return Some(vec![
            ("Params", mirror!(WindowUniform => mm, win)),
            ("Product", mm_mirror()),
            ("Window", im2col_mirror()),
        ]);
    }
    if shader.starts_with("conv2d_subgroup") || shader == "conv2d_mm" {
        return Some(vec![("Product", mm_mirror())]);
    }
    if shader == "im2col" {
        return Some(vec![("Window", im2col_mirror())]);
    }
    Some(vec![("Params", mirror_for(shader)?)])
}

/// The Rust mirror of `struct Params` for each shader file with a flat one.
fn mirror_for(shader: &str) -> Option<Mirror> {
    Some(match shader {
        "conv2d_tiled" => mirror!(TiledUniform =>
            n, cin, h, w, cout_g, cin_g, oh, ow, sh, sw, ph, pw, dh, dw, kdim, kpad,
            mpad4, tiles_m, tiles_n, groups, has_bias, has_residual, out_c_total, out_c_offset,
            split, kslice, _pad0, _pad1),
        "conv2d_tiled_sum" => mirror!(SumUniform =>
            split, c, qdim, plane, has_bias, has_residual, out_c_total, out_c_offset),
        "conv2d_direct" => mirror!(ConvUniform =>
            n, cin, h, w, cout, oc_base, cout_per_group, cin_per_group, oh, ow, kh, kw,
            sh, sw, ph, pw, dh, dw, has_bias, has_residual, res_c, out_c_total, out_c_offset, _pad0),
        "pool2d" => mirror!(PoolUniform =>
            n, c, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, h_end, w_end,
            count_include_pad, out_c_total, out_c_offset, _pad0),
        "adaptive_avg_pool2d" => mirror!(AdaptiveUniform =>
            n, c, h, w, oh, ow, out_c_total, out_c_offset),
        "concat" => mirror!(ConcatUniform =>
            n, c, plane, out_c_total, out_c_offset, _pad0, _pad1, _pad2),
        "lrn" => mirror!(LrnUniform =>
            n, c, plane, size, alpha, beta, k, out_c_total, out_c_offset, _pad0, _pad1, _pad2),
        "batch_norm" => mirror!(BatchNormUniform =>
            n, c, plane, out_c_total, out_c_offset, _pad0, _pad1, _pad2),
        "add" => mirror!(AddUniform =>
            n, c, plane, out_c_total, out_c_offset, _pad0, _pad1, _pad2),
        "winograd_input" => mirror!(InputUniform =>
            cin, h, w, tw, tiles, t0, tc, total, pt, pl, m, _pad0),
        "winograd_output" | "winograd_output_v4" => mirror!(OutputUniform =>
            cout, oh, ow, tw, tiles, t0, tc, total, has_bias, has_residual, res_c,
            out_c_total, out_c_offset, _pad0, _pad1, _pad2),
        "linear" | "linear_vec4" | "linear_subgroup" | "linear_gemv" => mirror!(LinearUniform =>
            n, in_f, rows, row_base, has_bias, out_c_total, out_c_offset, _pad0),
        "softmax" => mirror!(SoftmaxUniform =>
            n, c, plane, out_c_total, out_c_offset, _pad0, _pad1, _pad2),
        "peak_fma" => mirror!(FmaUniform => iters, mul, add, _pad0),
        "peak_copy" => mirror!(CopyUniform => n, _pad0, _pad1, _pad2),
        _ => return None,
    })
}

fn shader_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shaders")
}

/// `(file stem, source)` of every `*.wgsl` file in `shaders/`, read at run time, followed by
/// the shared parts (`shaders/common/<part>.wgsl`) its [`Shader`] names, as the binary
/// compiles it.
fn shader_files() -> Vec<(String, String)> {
    let read = |p: &Path| std::fs::read_to_string(p).expect("readable shader");
    let mut v: Vec<(String, String)> = std::fs::read_dir(shader_dir())
        .expect("shaders/ directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let mut src = read(&p);
            let shader = all_shaders().into_iter().find(|s| s.name == stem);
            for part in shader.map_or(&[][..], |s| s.parts) {
                src += &read(&shader_dir().join("common").join(format!("{part}.wgsl")));
            }
            (stem, src)
        })
        .collect();
    v.sort();
    assert!(
        !v.is_empty(),
        "no .wgsl files found in {}",
        shader_dir().display()
    );
    v
}

/// Parses and validates one shader, panicking with naga's annotated message on failure.
fn module(name: &str, src: &str) -> naga::Module {
    let m = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}.wgsl does not parse:\n{}", e.emit_to_string(src)));
    Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(&m)
        .unwrap_or_else(|e| panic!("{name}.wgsl does not validate:\n{}", e.emit_to_string(src)));
    m
}

/// The ops' shaders and the benchmark shaders (`deeper bench --peak`).
fn all_shaders() -> Vec<&'static Shader> {
    let mut v = Op::all_shaders();
    v.extend(deeper::bench::peak::shaders());
    v
}

fn registered(name: &str) -> &'static Shader {
    all_shaders()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("shaders/{name}.wgsl is not in Op::all_shaders()"))
}

#[test]
fn every_shader_file_parses_and_validates() {
    for (name, src) in shader_files() {
        module(&name, &src);
    }
}

#[test]
fn shader_files_match_op_all_shaders() {
    let files: BTreeSet<String> = shader_files().into_iter().map(|(n, _)| n).collect();
    let listed: Vec<&str> = all_shaders().iter().map(|s| s.name).collect();
    let unique: BTreeSet<String> = listed.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "duplicate names in Op::all_shaders(): {listed:?}"
    );
    let missing: Vec<_> = unique.difference(&files).collect();
    let unlisted: Vec<_> = files.difference(&unique).collect();
    assert!(
        missing.is_empty(),
        "in Op::all_shaders() but no shaders/<name>.wgsl: {missing:?}"
    );
    assert!(
        unlisted.is_empty(),
        "shader files not in Op::all_shaders(): {unlisted:?}"
    );
    // The compiled-in source is the file on disk (include_str! of the same path).
    for (name, src) in shader_files() {
        assert_eq!(
            registered(&name).source,
            src,
            "{name}: embedded source is stale"
        );
    }
}

#[test]
fn params_struct_matches_rust_mirror() {
    for (name, src) in shader_files() {
        let m = module(&name, &src);
        let mirrors = mirrors_for(&name).unwrap_or_else(|| {
            panic!("{name}.wgsl: add its uniform's Rust mirror to mirror_for()")
        });
        let nested: Vec<&str> = mirrors.iter().skip(1).map(|(s, _)| *s).collect();
        for (wgsl_name, mirror) in &mirrors {
            check_struct(&m, &name, wgsl_name, mirror, &nested);
        }
    }
}

/// `struct wgsl_name` of shader `name` has the field names, offsets and size of `mirror`, and
/// every member is a 4-byte scalar (the Rust mirrors use only u32/f32) or one of the `nested`
/// structs.
fn check_struct(m: &naga::Module, name: &str, wgsl_name: &str, mirror: &Mirror, nested: &[&str]) {
    let (members, span) = m
        .types
        .iter()
        .find_map(|(_, t)| match (&t.name, &t.inner) {
            (Some(n), TypeInner::Struct { members, span }) if n == wgsl_name => {
                Some((members, *span))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name}.wgsl has no `struct {wgsl_name}`"));
    let wgsl: Vec<(String, usize)> = members
        .iter()
        .map(|mb| (mb.name.clone().unwrap_or_default(), mb.offset as usize))
        .collect();
    let rust: Vec<(String, usize)> = mirror
        .fields
        .iter()
        .map(|(f, o)| (f.to_string(), *o))
        .collect();
    assert_eq!(
        wgsl, rust,
        "{name}.wgsl `{wgsl_name}` fields (name, offset) differ from {}",
        mirror.rust
    );
    assert_eq!(
        span as usize, mirror.size,
        "{name}.wgsl `{wgsl_name}` is {span} bytes, {} is {}",
        mirror.rust, mirror.size
    );
    for mb in members {
        let ty = &m.types[mb.ty];
        let ok = match &ty.inner {
            TypeInner::Scalar(s) => {
                s.width == 4 && matches!(s.kind, naga::ScalarKind::Uint | naga::ScalarKind::Float)
            }
            TypeInner::Struct { .. } => ty.name.as_deref().is_some_and(|n| nested.contains(&n)),
            _ => false,
        };
        assert!(ok, "{name}.wgsl {wgsl_name}.{:?} is not a u32/f32", mb.name);
    }
}

#[test]
fn storage_bindings_match_shader_descriptor() {
    for (name, src) in shader_files() {
        let m = module(&name, &src);
        let expected = registered(&name).storage_bindings;
        let mut storage: Vec<(u32, StorageAccess, String)> = Vec::new();
        let mut uniforms: Vec<u32> = Vec::new();
        for (_, g) in m.global_variables.iter() {
            let rb = g.binding.as_ref();
            let var = g.name.clone().unwrap_or_default();
            match g.space {
                AddressSpace::Storage { access } => {
                    let rb = rb.unwrap_or_else(|| panic!("{name}: storage `{var}` unbound"));
                    assert_eq!(rb.group, 0, "{name}: `{var}` not in group 0");
                    storage.push((rb.binding, access, var));
                }
                AddressSpace::Uniform => {
                    let rb = rb.unwrap_or_else(|| panic!("{name}: uniform `{var}` unbound"));
                    assert_eq!(rb.group, 0, "{name}: `{var}` not in group 0");
                    uniforms.push(rb.binding);
                }
                _ => {}
            }
        }
        storage.sort_by_key(|s| s.0);
        assert_eq!(
            storage.len() as u32,
            expected,
            "{name}.wgsl declares {} storage bindings, Shader::storage_bindings says {expected}",
            storage.len()
        );
        for (i, (binding, access, var)) in storage.iter().enumerate() {
            assert_eq!(
                *binding, i as u32,
                "{name}: storage bindings must be 0..{expected}"
            );
            let last = i + 1 == storage.len();
            assert_eq!(
                access.contains(StorageAccess::STORE),
                last,
                "{name}: `{var}` (binding {binding}) {} but only the last storage binding may \
                 be read_write",
                if last { "is read-only" } else { "is writable" }
            );
        }
        assert_eq!(
            uniforms,
            vec![expected],
            "{name}: one uniform, right after the storage"
        );
    }
}
