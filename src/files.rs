//! Input files are read whole with a fallible reservation ([`read_whole`]); output files are
//! written whole or not at all ([`write_whole`]): the bytes go to a uniquely named temporary
//! file in the target's directory (`tempfile`'s `NamedTempFile::new_in`, so two writers, or a
//! user's own `out.npy.partial`, never share it), which is flushed and then renamed over the
//! target. A failure (a full disk, a killed process) never leaves a half-written `.npy`, plot or
//! cache where a reader would take it for a good one. A symlink is written through (its target
//! is replaced, the link kept); `-` is standard output; a target that exists and is not a regular
//! file (`/dev/stdout`, `/dev/null`, a pipe) is written directly.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

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

/// Writes `bytes` to `path` atomically (unique temporary file beside the target, flushed to
/// disk, renamed over it); `-` writes standard output. Errors name `path`.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return out.write_all(bytes).and_then(|_| out.flush()).map_err(io);
    }
    // Through links (open follows them): a directory is refused, a device or pipe
    // (`/dev/stdout` is a link to one) is written directly.
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(Error::Invalid(format!(
                "{}: is a directory, not a file to write",
                path.display()
            )))
        }
        Ok(m) if !m.is_file() => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io)?;
            return f.write_all(bytes).and_then(|_| f.flush()).map_err(io);
        }
        _ => {}
    }
    let target = resolve_links(path).map_err(io)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".deeper-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(io)?;
    // A new file gets the usual 0644 (tempfile makes 0600); a replaced one keeps its mode.
    let mode = std::fs::metadata(&target)
        .map(|m| m.permissions())
        .ok()
        .or_else(default_permissions);
    if let Some(mode) = mode {
        tmp.as_file().set_permissions(mode).map_err(io)?;
    }
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(io)?;
    // On failure the temporary file is removed when `tmp` (inside the error) drops.
    tmp.persist(&target).map_err(|e| io(e.error))?;
    Ok(())
}

/// The file a chain of symlinks at `path` ends at (the path itself when it is not a link, or
/// does not exist yet); a loop is an error.
fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
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

    #[cfg(unix)]
    #[test]
    fn spares_the_users_files_and_writes_through_links() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("deeper-files-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        // The old fixed temporary name was the user's own file.
        std::fs::write(dir.join("out.npy.partial"), "mine").unwrap();
        write_whole(&dir.join("out.npy"), b"x").unwrap();
        assert_eq!(std::fs::read(dir.join("out.npy.partial")).unwrap(), b"mine");
        let mode = std::fs::metadata(dir.join("out.npy"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        // A link stays a link; its target (relative, in another directory) gets the bytes.
        symlink("real/target.npy", dir.join("link.npy")).unwrap();
        write_whole(&dir.join("link.npy"), b"through").unwrap();
        assert!(std::fs::symlink_metadata(dir.join("link.npy"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read(dir.join("real/target.npy")).unwrap(),
            b"through"
        );
        // A directory is named as the path asked for.
        let e = write_whole(&dir.join("real"), b"x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("real: is a directory"), "{e}");
        // Not a regular file, or a link to one: written directly.
        write_whole(Path::new("/dev/null"), b"gone").unwrap();
        symlink("/dev/null", dir.join("null")).unwrap();
        write_whole(&dir.join("null"), b"gone").unwrap();
        std::fs::remove_file(dir.join("null")).unwrap();
        symlink("loop", dir.join("loop")).unwrap();
        assert!(write_whole(&dir.join("loop"), b"x").is_err());
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["link.npy", "loop", "out.npy", "out.npy.partial", "real"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
