//! Reading and writing `.npy` files (NumPy's format, version 1.0–3.0): float32, C order, any
//! rank up to 4 (`[N, classes]` logits, `[N, C, H, W]` inputs). Writes go to a temporary file
//! that is renamed into place, so a failed write never leaves a half-written output.
//! Format: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>

use crate::error::{Error, Result};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Invalid(format!("{}: {}", path.display(), msg.into()))
}

/// Reads a float32 C-order array: `(dims, values)`.
pub fn read(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&bytes).map_err(|m| bad(path, m))
}

fn parse(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<f32>), String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy file".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated header")?;
    let descr = quoted(field(header, "descr").ok_or("header has no 'descr'")?);
    if !matches!(descr, "<f4" | "=f4" | "|f4") {
        return Err(format!(
            "dtype {descr} is not little-endian float32 ('<f4'); convert with .astype('float32')"
        ));
    }
    if field(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        );
    }
    let dims = parse_shape(header).ok_or("cannot read 'shape' from the header")?;
    let count: usize = dims.iter().product();
    let data = &bytes[start + header_len..];
    if data.len() != count * 4 {
        return Err(format!(
            "shape {dims:?} needs {} bytes of data, file has {} (truncated?)",
            count * 4,
            data.len()
        ));
    }
    let values = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((dims, values))
}

/// The text after `'key':` (to the end of the header; callers read their value's prefix).
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    Some(rest)
}

/// The content of the quoted string at the start of `s` (`'<f4', …` → `<f4`).
fn quoted(s: &str) -> &str {
    let q = s.chars().next().unwrap_or('\'');
    let body = s.get(1..).unwrap_or("");
    body.split(q).next().unwrap_or("")
}

fn parse_shape(header: &str) -> Option<Vec<usize>> {
    let rest = field(header, "shape")?.strip_prefix('(')?;
    let inner = &rest[..rest.find(')')?];
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect()
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
