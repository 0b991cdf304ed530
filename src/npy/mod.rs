//! Reading and writing `.npy` files (NumPy's format, versions 1.0, 2.0 and 3.0). The header is
//! parsed as the Python literal it is ([`header`]) and checked as NumPy checks it, so `deeper`
//! reads what NumPy writes and refuses what NumPy refuses. Data may be float32, float64,
//! float16 or integers, either byte order, C or Fortran order: [`load`] converts it to float32 in
//! C order and says which dtype it converted from; [`read`] takes float32 only. Every size is
//! checked arithmetic bounded by [`crate::limits`], and the body must be exactly the size the
//! shape asks for (NumPy ignores trailing bytes; a file with any is refused here as damaged).
//! Writes are float32, C order, version 1.0, whole or not at all ([`crate::files::write_whole`]).
//! Format: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>

pub mod header;

use crate::error::{Error, Result};
use crate::limits;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// An array read from a `.npy` file, as float32 in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
    /// The file's dtype when it was not float32 (`"float64"`, `"int64"`, …): the values were
    /// converted, which a caller should say.
    pub converted_from: Option<&'static str>,
}

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Invalid(format!("{}: {}", path.display(), msg.into()))
}

/// Reads any array NumPy can save with a numeric dtype, converted to float32 in C order.
pub fn load(path: &Path) -> Result<Array> {
    let bytes = crate::files::read_whole(path)?;
    parse(&bytes).map_err(|m| bad(path, m))
}

/// Reads a float32 array: `(dims, values)`; other dtypes are refused (use [`load`]).
pub fn read(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let a = load(path)?;
    if let Some(d) = a.converted_from {
        return Err(bad(
            path,
            format!("dtype {d} is not float32; convert with .astype('float32')"),
        ));
    }
    Ok((a.dims, a.values))
}

/// One element type, from a NumPy type string (`'<f4'`, `'>i8'`, `'|u1'`);
/// [`Dtype::to_f32`] decodes one element.
struct Dtype {
    /// Bytes per element.
    size: usize,
    /// NumPy's name (`float64`), for messages.
    name: &'static str,
    /// Little-endian (or a single byte).
    little: bool,
    /// `f`, `i`, `u` or `b`.
    kind: u8,
}

fn dtype(descr: &str) -> std::result::Result<Dtype, String> {
    let (order, rest) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'=' | b'|') => (descr.as_bytes()[0], &descr[1..]),
        _ => (b'=', descr),
    };
    let names: &[(&str, &str)] = &[
        ("f4", "float32"),
        ("f8", "float64"),
        ("f2", "float16"),
        ("i1", "int8"),
        ("i2", "int16"),
        ("i4", "int32"),
        ("i8", "int64"),
        ("u1", "uint8"),
        ("u2", "uint16"),
        ("u4", "uint32"),
        ("u8", "uint64"),
        ("b1", "bool"),
    ];
    let Some((code, name)) = names.iter().find(|(c, _)| *c == rest) else {
        return Err(format!(
            "dtype '{descr}' is not supported (float32, float64, float16, integer or bool are)"
        ));
    };
    let size = (code.as_bytes()[1] - b'0') as usize;
    Ok(Dtype {
        size,
        name,
        // '|' (no order) and '=' (native) are little-endian on every machine deeper runs on.
        little: order != b'>' || size == 1,
        kind: code.as_bytes()[0],
    })
}

impl Dtype {
    fn to_f32(&self, b: &[u8]) -> f32 {
        let mut le = [0u8; 8];
        le[..self.size].copy_from_slice(b);
        if !self.little {
            le[..self.size].reverse();
        }
        let u = u64::from_le_bytes(le);
        match (self.kind, self.size) {
            (b'f', 4) => f32::from_bits(u as u32),
            (b'f', 8) => f64::from_bits(u) as f32,
            (b'f', _) => half::f16::from_bits(u as u16).to_f32(),
            (b'i', n) => ((u << (64 - 8 * n)) as i64 >> (64 - 8 * n)) as f32,
            (b'b', _) => (u != 0) as u8 as f32,
            _ => u as f32,
        }
    }
}

/// Parses a whole `.npy` file.
pub fn parse(bytes: &[u8]) -> std::result::Result<Array, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy file".into());
    }
    let (header_len, start) = match (bytes[6], bytes[7]) {
        (1, 0) => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        (2 | 3, 0) if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        (2 | 3, 0) => return Err("truncated header".into()),
        (major, minor) => return Err(format!("unsupported .npy version {major}.{minor}")),
    };
    let raw = start
        .checked_add(header_len)
        .and_then(|end| bytes.get(start..end))
        .ok_or_else(|| {
            format!(
                "truncated header: it says {header_len} bytes, the file has {}",
                bytes.len() - start
            )
        })?;
    // Versions 1 and 2 are latin-1 (every byte is a character), version 3 is UTF-8.
    let text: String = if bytes[6] == 3 {
        std::str::from_utf8(raw)
            .map_err(|e| {
                format!(
                    "the {header_len}-byte header is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                )
            })?
            .to_string()
    } else {
        raw.iter().map(|&b| b as char).collect()
    };
    let h = header::parse(&text).map_err(|e| format!("bad header: {e}"))?;
    let ty = dtype(&h.descr)?;
    let dims: Vec<usize> = h
        .shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                if d < 0 {
                    format!("shape {:?} has a negative dimension", h.shape)
                } else {
                    format!("shape {:?}: dimension {d} is too large", h.shape)
                }
            })
        })
        .collect::<std::result::Result<_, _>>()?;
    let err = |e: Error| e.to_string();
    let count = limits::product(&dims, &format!("shape {dims:?}")).map_err(err)?;
    limits::host_bytes(count, &format!("shape {dims:?}")).map_err(err)?;
    let need = count
        .checked_mul(ty.size)
        .ok_or_else(|| format!("shape {dims:?} is too large"))?;
    let data = &bytes[start + header_len..];
    if data.len() != need {
        let how = if data.len() < need {
            "truncated"
        } else {
            "trailing bytes after the array"
        };
        return Err(format!(
            "shape {dims:?} of {} needs {need} bytes of data, the file has {} ({how})",
            ty.name,
            data.len()
        ));
    }
    let mut values = limits::try_with_capacity(count, "array").map_err(err)?;
    values.extend(data.chunks_exact(ty.size).map(|c| ty.to_f32(c)));
    if h.fortran_order && dims.len() > 1 {
        values = fortran_to_c(&dims, &values);
    }
    Ok(Array {
        dims,
        values,
        converted_from: (ty.name != "float32").then_some(ty.name),
    })
}

/// Reorders a Fortran-order (column-major) array into C order.
fn fortran_to_c(dims: &[usize], f: &[f32]) -> Vec<f32> {
    let mut strides = vec![1usize; dims.len()];
    for k in 1..dims.len() {
        strides[k] = strides[k - 1] * dims[k - 1];
    }
    let mut index = vec![0usize; dims.len()];
    let mut out = Vec::with_capacity(f.len());
    for _ in 0..f.len() {
        out.push(
            f[index
                .iter()
                .zip(&strides)
                .map(|(i, s)| i * s)
                .sum::<usize>()],
        );
        for k in (0..dims.len()).rev() {
            index[k] += 1;
            if index[k] < dims[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// Writes a float32 C-order array, whole or not at all ([`crate::files::write_whole`]).
pub fn write(path: &Path, dims: &[usize], values: &[f32]) -> Result<()> {
    let shape = match dims {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + values.len() * 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    crate::files::write_whole(path, &bytes)
}
