//! Where a written dump goes. The format writers only make positional
//! writes ([`Sink::write_at`]); this module turns them into
//!
//! - a plain file: written as an unnamed temporary file (`O_TMPFILE`) in the
//!   output's directory (mode 0600: a dump holds all of the kernel's
//!   secrets), synced and linked into place only when everything succeeded
//!   (over an existing file: linked to a temporary name, then renamed over
//!   it). A process killed at any point, SIGKILL included, leaves nothing.
//!   Where the filesystem refuses `O_TMPFILE`, a named temporary file
//!   (`.NAME.PID.N.tmp`) is used instead: removed on any error, panic, and
//!   on SIGINT/SIGTERM/SIGHUP (`cleanup.rs`);
//! - a character device, block device or FIFO: written in place (see
//!   `dest.rs` for what is refused);
//! - a flattened stream ([`super::flat`]) into any of these, or to standard
//!   output.
//!
//! Setting the environment variable `DUMPTOOL_NO_O_TMPFILE` (to anything)
//! makes every output take the named-temporary-file way, as on a
//! filesystem without `O_TMPFILE` (for tests).

// System calls (libc, memmap2): every `unsafe` block below carries a SAFETY
// comment (clippy::undocumented_unsafe_blocks is denied).
#![allow(unsafe_code)]

use super::cleanup::{self, Registration};
use super::dest::{self, Dest};
use super::error::WriteError;
use super::flat::FlatSink;
use super::Output;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Stdout, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Positional writes into the output being built.
pub(crate) trait Sink {
    /// Writes `data` at `offset` of the (reassembled) output file.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteError>;
}

/// The name standard output goes by in errors.
const STDOUT_NAME: &str = "<stdout>";

/// The environment variable that disables `O_TMPFILE`.
const NO_O_TMPFILE: &str = "DUMPTOOL_NO_O_TMPFILE";

/// Temporary names made by this process (for unique names).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A C string of `path`.
fn c_path(path: &Path) -> std::io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in the path"))
}

/// A fresh temporary name beside `dest` in `dir`: `.NAME.PID.N.tmp`.
fn temp_name(dir: &Path, dest: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tname = std::ffi::OsString::from(".");
    tname.push(dest.file_name().unwrap_or_default());
    tname.push(format!(".{}.{n}.tmp", std::process::id()));
    dir.join(tname)
}

/// An unnamed file in `dir` (`O_TMPFILE`); `Ok(None)` when the
/// filesystem (or kernel) does not offer it.
fn open_unnamed(dir: &Path) -> std::io::Result<Option<File>> {
    if std::env::var_os(NO_O_TMPFILE).is_some() {
        return Ok(None);
    }
    let c = c_path(dir)?;
    // SAFETY: a plain open(2) of a NUL-terminated path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd >= 0 {
        // SAFETY: `fd` was just opened and is owned by nobody else.
        return Ok(Some(unsafe { File::from_raw_fd(fd) }));
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL) => Ok(None),
        _ => Err(e),
    }
}

/// Gives the unnamed `file` the name `dest` (fails with `EEXIST` when
/// `dest` exists).
fn link_unnamed(file: &File, dest: &Path) -> std::io::Result<()> {
    let to = c_path(dest)?;
    let proc = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map_err(|_| std::io::Error::other("NUL in a /proc path"))?;
    // SAFETY: linkat(2) on NUL-terminated paths.
    if unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    } == 0
    {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOENT) || Path::new("/proc/self/fd").exists() {
        return Err(e);
    }
    // No /proc: AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH).
    // SAFETY: linkat(2) on the file's descriptor and an empty path.
    if unsafe {
        libc::linkat(
            file.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    } == 0
    {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// How the temporary file is held.
enum Temp {
    /// `O_TMPFILE`: no name until committed.
    Unnamed,
    /// A named file, removed unless committed (and on signals).
    Named {
        path: PathBuf,
        _registration: Registration,
    },
}

/// The output being built beside its destination; nothing of it remains
/// when dropped unless [`TempFile::commit`] put it into place.
pub(crate) struct TempFile {
    temp: Temp,
    /// Where it goes (symlinks resolved).
    dest: PathBuf,
    /// The output as asked for, for errors.
    name: PathBuf,
    /// `dest`'s directory.
    dir: PathBuf,
    /// Whether an existing file at `dest` is replaced.
    replace: bool,
    committed: bool,
}

impl TempFile {
    /// Creates the temporary file for `dest` (named `name` in errors),
    /// which replaces an existing file only when `replace`.
    fn create(dest: &Path, name: &Path, replace: bool) -> Result<(TempFile, File), WriteError> {
        if dest.file_name().is_none() {
            return Err(WriteError::Options(format!(
                "the output path {} does not name a file",
                name.display()
            )));
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(WriteError::NoSuchDirectory {
                path: name.to_path_buf(),
                dir,
            });
        }
        let guard = |temp| TempFile {
            temp,
            dest: dest.to_path_buf(),
            name: name.to_path_buf(),
            dir: dir.clone(),
            replace,
            committed: false,
        };
        let unnamed = open_unnamed(&dir).map_err(|source| WriteError::Io {
            path: name.to_path_buf(),
            op: format!("create an unnamed temporary file in {}", dir.display()),
            source,
        })?;
        if let Some(file) = unnamed {
            return Ok((guard(Temp::Unnamed), file));
        }
        loop {
            let temp = temp_name(&dir, dest);
            let registration = cleanup::register(&temp);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)
            {
                Ok(file) => {
                    let t = Temp::Named {
                        path: temp,
                        _registration: registration,
                    };
                    return Ok((guard(t), file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(WriteError::Io {
                        path: name.to_path_buf(),
                        op: format!("create the temporary file {}", temp.display()),
                        source,
                    })
                }
            }
        }
    }

    /// Syncs `file` and puts it into place (see the module documentation).
    fn commit(mut self, file: File) -> Result<(), WriteError> {
        let name = self.name.clone();
        let io = |op: String, source| WriteError::Io {
            path: name.clone(),
            op,
            source,
        };
        let exists = |e: &std::io::Error| e.kind() == std::io::ErrorKind::AlreadyExists;
        file.sync_all()
            .map_err(|e| io("sync the finished output".into(), e))?;
        match &self.temp {
            Temp::Unnamed if !self.replace => match link_unnamed(&file, &self.dest) {
                Err(e) if exists(&e) => {
                    return Err(WriteError::Exists {
                        path: self.name.clone(),
                    })
                }
                r => r.map_err(|e| {
                    io(
                        format!("link the finished output to {}", self.dest.display()),
                        e,
                    )
                })?,
            },
            Temp::Unnamed => {
                let temp = loop {
                    let t = temp_name(&self.dir, &self.dest);
                    let registration = cleanup::register(&t);
                    match link_unnamed(&file, &t) {
                        Ok(()) => break (t, registration),
                        Err(e) if exists(&e) => continue,
                        Err(e) => {
                            return Err(io(
                                format!("link the finished output to {}", t.display()),
                                e,
                            ))
                        }
                    }
                };
                if let Err(e) = std::fs::rename(&temp.0, &self.dest) {
                    let _ = std::fs::remove_file(&temp.0);
                    return Err(io(
                        format!("rename the finished {} into place", temp.0.display()),
                        e,
                    ));
                }
            }
            Temp::Named { path, .. } => {
                let renamed = if self.replace {
                    std::fs::rename(path, &self.dest)
                } else {
                    // link(2) refuses to replace a file made meanwhile;
                    // filesystems without hard links get a rename.
                    match std::fs::hard_link(path, &self.dest) {
                        Ok(()) => std::fs::remove_file(path),
                        Err(e) if exists(&e) => {
                            return Err(WriteError::Exists {
                                path: self.name.clone(),
                            })
                        }
                        Err(_) => std::fs::rename(path, &self.dest),
                    }
                };
                renamed.map_err(|e| {
                    io(
                        format!("rename the finished {} into place", path.display()),
                        e,
                    )
                })?;
            }
        }
        self.committed = true;
        drop(file);
        // The new name is durable once its directory is.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let (false, Temp::Named { path, .. }) = (self.committed, &self.temp) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Positional writes into a plain file or a device.
pub(crate) struct FileSink {
    file: File,
    /// The output, for error messages.
    name: PathBuf,
    /// The file position.
    pos: u64,
    /// The file's length so far.
    len: u64,
    /// Bytes written since writeback was last started.
    unflushed: u64,
}

/// Written bytes after which the kernel is asked to start writing them
/// back: the final sync then has little left to wait for, and in the
/// capture kernel's little memory dirty pages never pile up.
const WRITEBACK_EVERY: u64 = 8 << 20;

impl FileSink {
    fn new(file: File, name: PathBuf) -> FileSink {
        FileSink {
            file,
            name,
            pos: 0,
            len: 0,
            unflushed: 0,
        }
    }

    /// Starts (does not wait for) writeback of everything written so far.
    fn start_writeback(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: sync_file_range(2) on a descriptor this sink owns; it only
        // schedules I/O. Errors (a FIFO, a file system without it) are
        // harmless: the final sync still happens.
        unsafe {
            libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
        self.unflushed = 0;
    }

    /// Sets a regular file's final length (a sparse tail reads as zeros).
    fn finish(self, regular: bool) -> Result<(File, u64), WriteError> {
        let len = self.len;
        if regular {
            self.file.set_len(len).map_err(|source| WriteError::Io {
                path: self.name.clone(),
                op: "set the file length".into(),
                source,
            })?;
        }
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
        self.unflushed += data.len() as u64;
        if self.unflushed >= WRITEBACK_EVERY {
            self.start_writeback();
        }
        Ok(())
    }
}

/// Syncs a device or FIFO written in place (those that cannot sync, like
/// `/dev/null` or a FIFO, are fine as they are).
fn sync_special(file: &File, name: &Path) -> Result<(), WriteError> {
    match file.sync_all() {
        Err(e)
            if !matches!(
                e.raw_os_error(),
                Some(libc::EINVAL | libc::EROFS | libc::ENOTSUP)
            ) =>
        {
            Err(WriteError::Io {
                path: name.to_path_buf(),
                op: "sync".into(),
                source: e,
            })
        }
        _ => Ok(()),
    }
}

/// An opened output.
pub(crate) enum Target {
    /// A plain file (temporary until [`Target::finish`]), or a device
    /// written in place (no [`TempFile`]).
    Plain(FileSink, Option<TempFile>),
    /// A flattened stream into a file (temporary until [`Target::finish`]),
    /// a device or a FIFO (no [`TempFile`]).
    FlatFile(FlatSink<File>, Option<TempFile>, PathBuf),
    /// A flattened stream to standard output.
    FlatStdout(FlatSink<Stdout>),
}

impl Target {
    /// Opens `out` for a plain or flattened (`flattened`) file. `input` is
    /// the dump being read (never written to); an existing regular file is
    /// replaced only with `overwrite` (see `dest.rs`).
    pub(crate) fn open(
        out: &Output,
        flattened: bool,
        input: Option<&Path>,
        overwrite: bool,
    ) -> Result<Target, WriteError> {
        let p = match out {
            Output::Stdout if !flattened => {
                return Err(WriteError::Options(
                    "standard output needs the flattened format (it cannot seek)".into(),
                ))
            }
            Output::Stdout => {
                return Ok(Target::FlatStdout(FlatSink::new(
                    std::io::stdout(),
                    PathBuf::from(STDOUT_NAME),
                )?))
            }
            Output::Path(p) => p,
        };
        let (file, guard) = match dest::resolve(input, p, overwrite)? {
            Dest::File { path, replace } => {
                let (guard, file) = TempFile::create(&path, p, replace)?;
                (file, Some(guard))
            }
            Dest::Special {
                path,
                kind,
                seekable,
            } => {
                if !seekable && !flattened {
                    return Err(WriteError::Refused {
                        path: p.clone(),
                        detail: format!(
                            "it is a {kind}, which cannot seek: only the flattened format \
                             (-F) can be written to it"
                        ),
                    });
                }
                let file = OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
                    .open(&path)
                    .map_err(|source| WriteError::Io {
                        path: p.clone(),
                        op: format!("open the {kind} for writing"),
                        source,
                    })?;
                (file, None)
            }
        };
        if flattened {
            Ok(Target::FlatFile(
                FlatSink::new(file, p.clone())?,
                guard,
                p.clone(),
            ))
        } else {
            Ok(Target::Plain(FileSink::new(file, p.clone()), guard))
        }
    }

    /// Completes the output (end marker, sync, link into place); returns
    /// its size in bytes.
    pub(crate) fn finish(self) -> Result<u64, WriteError> {
        match self {
            Target::Plain(sink, guard) => {
                let name = sink.name.clone();
                let (file, len) = sink.finish(guard.is_some())?;
                match guard {
                    Some(g) => g.commit(file)?,
                    None => sync_special(&file, &name)?,
                }
                Ok(len)
            }
            Target::FlatFile(sink, guard, name) => {
                let (file, len) = sink.finish()?;
                match guard {
                    Some(g) => g.commit(file)?,
                    None => sync_special(&file, &name)?,
                }
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
            Target::FlatFile(s, _, _) => s.write_at(offset, data),
            Target::FlatStdout(s) => s.write_at(offset, data),
        }
    }
}

/// Bytes a [`Region`] buffers before one positional write: large enough
/// for few system calls, small enough for the capture kernel's memory.
pub(crate) const REGION_BUFFER: usize = 256 << 10;

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
        let listing = || std::fs::read_dir(&dir).unwrap().count();
        let (g, f) = TempFile::create(&dest, &dest, false).unwrap();
        drop((g, f));
        assert_eq!(listing(), 0, "nothing left");
        let (g, mut f) = TempFile::create(&dest, &dest, false).unwrap();
        f.write_all(b"one").unwrap();
        g.commit(f).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"one");
        // A file made meanwhile is not replaced without `replace`.
        let (g, f) = TempFile::create(&dest, &dest, false).unwrap();
        let e = g.commit(f).unwrap_err().to_string();
        assert!(e.contains("exists; use -f/--force"), "{e}");
        let (g, mut f) = TempFile::create(&dest, &dest, true).unwrap();
        f.write_all(b"two").unwrap();
        g.commit(f).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"two");
        assert_eq!(listing(), 1, "only the output");
        let e = TempFile::create(&dir.join("missing/out"), &dir.join("missing/out"), false)
            .err()
            .unwrap();
        assert!(e.to_string().contains("missing/out"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
