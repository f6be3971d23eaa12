//! What an output path is, decided before anything is written, so that no
//! input, device, FIFO, symlink or existing file is ever destroyed by
//! mistake:
//!
//! - the input dump itself (the same file by device and inode, through any
//!   path, hard link or symlink) is refused, always;
//! - an existing regular file is refused unless overwriting was asked for
//!   (`dumptool filter -f`);
//! - a symlink is followed: its target file is written (and replaced, with
//!   `-f`), never the link itself; a symlink whose target does not exist is
//!   refused;
//! - a character device (`/dev/null`, `/dev/full`) or a FIFO is written in
//!   place, never replaced by a regular file (a FIFO only with the flattened
//!   format: it cannot seek); a block device is written in place only with
//!   `-f` (its content is overwritten);
//! - directories and sockets are refused.

use super::error::WriteError;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What to do with an output path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dest {
    /// A regular file at `path` (symlinks resolved), created, or replaced
    /// when `replace`: built beside it and linked or renamed into place.
    File {
        /// The file to create or replace.
        path: PathBuf,
        /// Whether a file exists there (and may be replaced).
        replace: bool,
    },
    /// A character device, block device or FIFO at `path`, written in place.
    Special {
        /// The node (symlinks resolved).
        path: PathBuf,
        /// `character device`, `block device` or `FIFO`.
        kind: &'static str,
        /// Whether it can seek (a FIFO cannot).
        seekable: bool,
    },
}

fn io(path: &Path, op: &str, source: std::io::Error) -> WriteError {
    WriteError::Io {
        path: path.to_path_buf(),
        op: op.to_string(),
        source,
    }
}

fn refused(path: &Path, detail: impl Into<String>) -> WriteError {
    WriteError::Refused {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Whether `a` and `b` are the same file (device and inode).
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Decides what writing to `output` means (see the module documentation).
/// `input`, when given, is the dump being read: an output that is the same
/// file is refused whatever `overwrite` says.
pub(crate) fn resolve(
    input: Option<&Path>,
    output: &Path,
    overwrite: bool,
) -> Result<Dest, WriteError> {
    let (path, meta) = match std::fs::symlink_metadata(output) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Dest::File {
                path: output.to_path_buf(),
                replace: false,
            })
        }
        Err(e) => return Err(io(output, "inspect the output path", e)),
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::canonicalize(output).map_err(|e| {
                refused(
                    output,
                    format!(
                        "it is a symlink whose target cannot be resolved ({e}); the link itself \
                         is never replaced"
                    ),
                )
            })?;
            let meta = std::fs::metadata(&target)
                .map_err(|e| io(output, &format!("inspect {}", target.display()), e))?;
            (target, meta)
        }
        Ok(m) => (output.to_path_buf(), m),
    };
    if let Some(input) = input {
        if let Ok(im) = std::fs::metadata(input) {
            if same_file(&im, &meta) {
                return Err(WriteError::SameFile {
                    input: input.to_path_buf(),
                    output: output.to_path_buf(),
                    dev: meta.dev(),
                    ino: meta.ino(),
                });
            }
        }
    }
    let ft = meta.file_type();
    let shown = if path == output {
        output.display().to_string()
    } else {
        format!(
            "{} (the target of the symlink {})",
            path.display(),
            output.display()
        )
    };
    if ft.is_file() {
        if !overwrite {
            return Err(WriteError::Exists {
                path: output.to_path_buf(),
            });
        }
        return Ok(Dest::File {
            path,
            replace: true,
        });
    }
    if ft.is_dir() {
        return Err(refused(output, format!("{shown} is a directory")));
    }
    if ft.is_char_device() {
        return Ok(Dest::Special {
            path,
            kind: "character device",
            seekable: true,
        });
    }
    if ft.is_block_device() {
        if !overwrite {
            return Err(refused(
                output,
                format!(
                    "{shown} is a block device: writing the dump overwrites its content; \
                     use -f/--force to write it there"
                ),
            ));
        }
        return Ok(Dest::Special {
            path,
            kind: "block device",
            seekable: true,
        });
    }
    if ft.is_fifo() {
        return Ok(Dest::Special {
            path,
            kind: "FIFO",
            seekable: false,
        });
    }
    Err(refused(
        output,
        format!("{shown} is neither a regular file, a device nor a FIFO (a socket?)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_outputs() {
        let dir = std::env::temp_dir().join(format!("dumptool-dest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("file");
        std::fs::write(&file, b"x").unwrap();
        let missing = dir.join("missing");
        assert_eq!(
            resolve(None, &missing, false).unwrap(),
            Dest::File {
                path: missing.clone(),
                replace: false
            }
        );
        let e = resolve(None, &file, false).unwrap_err().to_string();
        assert!(e.contains("exists; use -f/--force to overwrite"), "{e}");
        assert!(matches!(
            resolve(None, &file, true).unwrap(),
            Dest::File { replace: true, .. }
        ));
        let e = resolve(Some(&file), &file, true).unwrap_err().to_string();
        assert!(e.contains("same file"), "{e}");
        let e = resolve(None, &dir, true).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        let link = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &link).unwrap();
        let e = resolve(None, &link, true).unwrap_err().to_string();
        assert!(e.contains("symlink") && e.contains("dangling"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
