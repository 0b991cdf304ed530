//! The `.npy` reader: NumPy's files, other dtypes and orders, crafted headers, sizes that
//! wrap, damaged files, and proptests over random and mutated bytes.

use crate::{f32s, npy_bytes, scratch};
use deeper::npy;
use proptest::prelude::*;

fn err(bytes: &[u8]) -> String {
    npy::parse(bytes).expect_err("should be refused")
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
