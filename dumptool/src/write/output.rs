//! Where a written dump goes. The format writers only make positional
//! writes ([`Sink::write_at`]); this module turns them into
//!
//! - a plain file: written as a temporary file in the output's directory
//!   (mode 0600: a dump holds all of the kernel's secrets), synced and
//!   renamed over the output only when everything succeeded, removed on any
//!   error (or panic);
//! - a flattened stream ([`super::flat`]) into such a temporary file, or to
//!   standard output.

use super::error::WriteError;
use super::flat::FlatSink;
use super::Output;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Stdout, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Positional writes into the output being built.
pub(crate) trait Sink {
    /// Writes `data` at `offset` of the (reassembled) output file.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteError>;
}

/// The name standard output goes by in errors.
const STDOUT_NAME: &str = "<stdout>";

/// Temporary files made by this process (for unique names).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file beside the output; removed when dropped unless
/// [`TempFile::commit`] renamed it into place.
pub(crate) struct TempFile {
    /// The temporary file's path.
    temp: PathBuf,
    /// The output's path.
    dest: PathBuf,
    committed: bool,
}

impl TempFile {
    /// Creates a new temporary file in `dest`'s directory.
    fn create(dest: &Path) -> Result<(TempFile, File), WriteError> {
        let name = dest.file_name().ok_or_else(|| {
            WriteError::Options(format!(
                "the output path {} does not name a file",
                dest.display()
            ))
        })?;
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(WriteError::NoSuchDirectory {
                path: dest.to_path_buf(),
                dir,
            });
        }
        loop {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut tname = std::ffi::OsString::from(".");
            tname.push(name);
            tname.push(format!(".{}.{n}.tmp", std::process::id()));
            let temp = dir.join(tname);
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(&temp) {
                Ok(file) => {
                    let guard = TempFile {
                        temp,
                        dest: dest.to_path_buf(),
                        committed: false,
                    };
                    return Ok((guard, file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(WriteError::Io {
                        path: dest.to_path_buf(),
                        op: format!("create the temporary file {}", temp.display()),
                        source,
                    })
                }
            }
        }
    }

    /// Syncs `file` and renames the temporary file over the output.
    fn commit(mut self, file: File) -> Result<(), WriteError> {
        let io = |op: String, source| WriteError::Io {
            path: self.dest.clone(),
            op,
            source,
        };
        file.sync_all()
            .map_err(|e| io(format!("sync {}", self.temp.display()), e))?;
        drop(file);
        std::fs::rename(&self.temp, &self.dest).map_err(|e| {
            io(
                format!("rename the finished {} into place", self.temp.display()),
                e,
            )
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Positional writes into a plain file.
pub(crate) struct FileSink {
    file: File,
    /// The output, for error messages.
    name: PathBuf,
    /// The file position.
    pos: u64,
    /// The file's length so far.
    len: u64,
}

impl FileSink {
    fn new(file: File, name: PathBuf) -> FileSink {
        FileSink {
            file,
            name,
            pos: 0,
            len: 0,
        }
    }

    /// Sets the file's final length (a sparse tail reads as zeros).
    fn finish(self) -> Result<(File, u64), WriteError> {
        let len = self.len;
        self.file.set_len(len).map_err(|source| WriteError::Io {
            path: self.name.clone(),
            op: "set the file length".into(),
            source,
        })?;
        Ok((self.file, len))
    }
}

impl Sink for FileSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteError> {
        if data.is_empty() {
            return Ok(());
        }
        let io = |source| WriteError::Io {
            path: self.name.clone(),
            op: format!("write {} bytes at offset {offset:#x}", data.len()),
            source,
        };
        if self.pos != offset {
            self.file.seek(SeekFrom::Start(offset)).map_err(io)?;
        }
        self.file.write_all(data).map_err(io)?;
        self.pos = offset + data.len() as u64;
        self.len = self.len.max(self.pos);
        Ok(())
    }
}

/// An opened output.
pub(crate) enum Target {
    /// A plain file (temporary until [`Target::finish`]).
    Plain(FileSink, TempFile),
    /// A flattened stream into a file (temporary until [`Target::finish`]).
    FlatFile(FlatSink<File>, TempFile),
    /// A flattened stream to standard output.
    FlatStdout(FlatSink<Stdout>),
}

impl Target {
    /// Opens `out` for a plain or flattened (`flattened`) file.
    pub(crate) fn open(out: &Output, flattened: bool) -> Result<Target, WriteError> {
        match out {
            Output::Stdout if !flattened => Err(WriteError::Options(
                "standard output needs the flattened format (it cannot seek)".into(),
            )),
            Output::Stdout => Ok(Target::FlatStdout(FlatSink::new(
                std::io::stdout(),
                PathBuf::from(STDOUT_NAME),
            )?)),
            Output::Path(p) => {
                let (guard, file) = TempFile::create(p)?;
                if flattened {
                    Ok(Target::FlatFile(FlatSink::new(file, p.clone())?, guard))
                } else {
                    Ok(Target::Plain(FileSink::new(file, p.clone()), guard))
                }
            }
        }
    }

    /// Completes the output (end marker, sync, rename into place); returns
    /// its size in bytes.
    pub(crate) fn finish(self) -> Result<u64, WriteError> {
        match self {
            Target::Plain(sink, guard) => {
                let (file, len) = sink.finish()?;
                guard.commit(file)?;
                Ok(len)
            }
            Target::FlatFile(sink, guard) => {
                let (file, len) = sink.finish()?;
                guard.commit(file)?;
                Ok(len)
            }
            Target::FlatStdout(sink) => {
                let (mut out, len) = sink.finish()?;
                out.flush().map_err(|source| WriteError::Io {
                    path: PathBuf::from(STDOUT_NAME),
                    op: "flush".into(),
                    source,
                })?;
                Ok(len)
            }
        }
    }
}

impl Sink for Target {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteError> {
        match self {
            Target::Plain(s, _) => s.write_at(offset, data),
            Target::FlatFile(s, _) => s.write_at(offset, data),
            Target::FlatStdout(s) => s.write_at(offset, data),
        }
    }
}

/// Buffered sequential writes to a region of the output starting at a
/// given offset (page data, the descriptor table, program headers): one
/// positional write per `cap` bytes.
pub(crate) struct Region {
    /// Output offset of `buf[0]`.
    start: u64,
    buf: Vec<u8>,
    cap: usize,
}

impl Region {
    /// A region starting at `offset`, flushed every `cap` bytes.
    pub(crate) fn new(offset: u64, cap: usize) -> Region {
        Region {
            start: offset,
            buf: Vec::with_capacity(cap),
            cap,
        }
    }

    /// The output offset the next byte goes to.
    pub(crate) fn pos(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Appends `data`.
    pub(crate) fn push(&mut self, sink: &mut dyn Sink, data: &[u8]) -> Result<(), WriteError> {
        if self.buf.len() + data.len() > self.cap {
            self.flush(sink)?;
        }
        if data.len() >= self.cap {
            sink.write_at(self.start, data)?;
            self.start += data.len() as u64;
        } else {
            self.buf.extend_from_slice(data);
        }
        Ok(())
    }

    /// Writes out what is buffered.
    pub(crate) fn flush(&mut self, sink: &mut dyn Sink) -> Result<(), WriteError> {
        sink.write_at(self.start, &self.buf)?;
        self.start += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem(Vec<u8>);
    impl Sink for Mem {
        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteError> {
            let end = offset as usize + data.len();
            if self.0.len() < end {
                self.0.resize(end, 0);
            }
            self.0[offset as usize..end].copy_from_slice(data);
            Ok(())
        }
    }

    #[test]
    fn region_buffers_in_order() {
        let mut m = Mem(Vec::new());
        let mut r = Region::new(5, 8);
        for chunk in [&b"abc"[..], b"defgh", b"0123456789", b"xy"] {
            r.push(&mut m, chunk).unwrap();
        }
        assert_eq!(r.pos(), 5 + 20);
        r.flush(&mut m).unwrap();
        assert_eq!(&m.0[5..], b"abcdefgh0123456789xy");
    }

    #[test]
    fn temp_file_is_removed_unless_committed() {
        let dir = std::env::temp_dir().join(format!("dumptool-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out");
        let (g, f) = TempFile::create(&dest).unwrap();
        let temp = g.temp.clone();
        assert!(temp.exists());
        drop((g, f));
        assert!(!temp.exists() && !dest.exists());
        let (g, f) = TempFile::create(&dest).unwrap();
        g.commit(f).unwrap();
        assert!(dest.exists());
        let e = TempFile::create(&dir.join("missing/out")).err().unwrap();
        assert!(e.to_string().contains("missing/out"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
