//! Output files are written whole or not at all: the bytes go to `<name>.partial` beside the
//! target, which is then renamed over it, so a failure (a full disk, a killed process) never
//! leaves a half-written `.npy`, plot or cache where a reader would take it for a good one.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::Path;

/// Reads a whole input file (an image, an `.npy`, a weight file). A directory or other
/// non-file is refused by name, and the buffer is reserved with `try_reserve`, so a file larger
/// than the memory left is an error, not an abort.
pub fn read_whole(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(meta.len() as usize).map_err(|_| {
        Error::Invalid(format!(
            "{}: out of host memory reading {} bytes",
            path.display(),
            meta.len()
        ))
    })?;
    f.read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically (temporary file, flushed to disk, then renamed).
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let tmp = path.with_file_name(name);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_no_partial() {
        let dir = std::env::temp_dir().join(format!("deeper-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.npy");
        std::fs::write(&path, "old").unwrap();
        write_whole(&path, b"new bytes").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new bytes");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.npy"]);
        let missing = dir.join("no/such/dir/out.npy");
        let err = write_whole(&missing, b"x").unwrap_err().to_string();
        assert!(err.starts_with(&missing.display().to_string()), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
