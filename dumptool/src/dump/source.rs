//! Random access to the bytes of a dump file: the memory-mapped plain file
//! or bytes already in memory ([`MmapSource`]) and, in [`super::flat`], the
//! makedumpfile flattened format read in place. The format readers see only
//! [`Source`].

// System calls (libc, memmap2): every `unsafe` block below carries a SAFETY
// comment (clippy::undocumented_unsafe_blocks is denied).
#![allow(unsafe_code)]

use super::error::{Absence, DumpError};
use memmap2::Mmap;
use std::borrow::Cow;
use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Random access to a dump file's (logical) bytes.
pub trait Source: Send + Sync {
    /// The file these bytes come from.
    fn path(&self) -> &Path;
    /// The logical length in bytes.
    fn len(&self) -> u64;
    /// Whether the source holds no byte.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `len` bytes at `offset`, borrowed when they are contiguous in a
    /// mapping; `None` when they extend past [`Source::len`].
    fn bytes(&self, offset: u64, len: usize) -> Option<Cow<'_, [u8]>>;
    /// Holes of a sparse file within `offset..offset + len`: byte ranges
    /// that read as zeros without being stored, sorted, so that tables
    /// (the kdump bitmaps) are scanned in proportion to what the file
    /// stores rather than to what a header claims. Empty when unknown (the
    /// default) or when there are none.
    fn holes(&self, _offset: u64, _len: u64) -> Vec<std::ops::Range<u64>> {
        Vec::new()
    }
    /// Like [`Source::bytes`], as a value that may outlive the borrow (for
    /// tables kept for the dump's lifetime, such as the kdump bitmaps).
    fn region(&self, offset: u64, len: usize) -> Option<Region> {
        self.bytes(offset, len)
            .map(|b| Region::Owned(b.into_owned().into_boxed_slice()))
    }
    /// Copies the `buf.len()` bytes at `offset` into `buf`; false when they
    /// extend past [`Source::len`] or cannot be read.
    fn read_into(&self, offset: u64, buf: &mut [u8]) -> bool {
        match self.bytes(offset, buf.len()) {
            Some(b) => {
                buf.copy_from_slice(&b);
                true
            }
            None => false,
        }
    }
}

/// Bytes of a dump file kept for the dump's lifetime: a window of a shared
/// mapping (no copy) or an owned copy.
#[derive(Debug, Clone)]
pub enum Region {
    /// `len` bytes at `start` of a mapping.
    Mapped {
        /// The mapping.
        map: Arc<Backing>,
        /// First byte.
        start: usize,
        /// Length.
        len: usize,
    },
    /// A copy.
    Owned(Box<[u8]>),
}

impl Deref for Region {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Region::Mapped { map, start, len } => &map[*start..*start + *len],
            Region::Owned(b) => b,
        }
    }
}

impl AsRef<[u8]> for Region {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// `src.bytes(offset, len)` or a [`DumpError::Truncated`] naming `what`.
pub(crate) fn read_exact<'a>(
    src: &'a dyn Source,
    offset: u64,
    len: usize,
    what: impl FnOnce() -> String,
) -> Result<Cow<'a, [u8]>, DumpError> {
    src.bytes(offset, len)
        .ok_or_else(|| truncated(src, offset, len as u64, what()))
}

/// `src.region(offset, len)` or a [`DumpError::Truncated`] naming `what`.
pub(crate) fn read_region(
    src: &dyn Source,
    offset: u64,
    len: u64,
    what: impl FnOnce() -> String,
) -> Result<Region, DumpError> {
    usize::try_from(len)
        .ok()
        .and_then(|l| src.region(offset, l))
        .ok_or_else(|| truncated(src, offset, len, what()))
}

/// A [`DumpError::Truncated`] for `len` bytes at `offset` of `src`.
pub(crate) fn truncated(src: &dyn Source, offset: u64, len: u64, what: String) -> DumpError {
    DumpError::Truncated {
        path: src.path().to_path_buf(),
        what,
        offset,
        len,
        file_len: src.len(),
    }
}

/// A [`DumpError::Invalid`]: `what` in the file `path` is wrong, as
/// `detail` says.
pub(crate) fn invalid(path: &Path, what: &str, detail: String) -> DumpError {
    DumpError::Invalid {
        path: path.to_path_buf(),
        what: what.to_string(),
        detail,
    }
}

/// A [`DumpError::NotPresent`]: `src` lacks physical address `paddr`.
pub(crate) fn not_present(src: &dyn Source, paddr: u64, reason: Absence) -> DumpError {
    DumpError::NotPresent {
        path: src.path().to_path_buf(),
        paddr,
        vaddr: None,
        reason,
    }
}

/// Whether `len` bytes at `offset` fit within `total` bytes.
pub(crate) fn fits(offset: u64, len: u64, total: u64) -> bool {
    matches!(offset.checked_add(len), Some(end) if end <= total)
}

/// `offset..offset+len` as a `usize` range when it lies within `total`.
pub(crate) fn checked_range(
    offset: u64,
    len: usize,
    total: usize,
) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(len)?;
    (end <= total).then_some(start..end)
}

/// Bytes a [`Region`] maps or holds.
#[derive(Debug)]
pub enum Backing {
    /// A read-only mapping of (part of) the file.
    Mapped(Mmap),
    /// Bytes in memory (see [`MmapSource::from_bytes`]).
    Memory(Vec<u8>),
}

impl Deref for Backing {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Backing::Mapped(m) => m,
            Backing::Memory(v) => v,
        }
    }
}

/// Size of one mapped window of a dump file (a multiple of every page size).
const WINDOW: u64 = 4 << 20;
/// Windows kept mapped at once (the most recently used).
const WINDOWS: usize = 4;

/// One mapped window: the file's bytes `start..start + map.len()`.
#[derive(Debug)]
struct Window {
    start: u64,
    map: Mmap,
}

/// The file behind a [`MmapSource`], mapped a window at a time.
#[derive(Debug)]
struct Windowed {
    file: File,
    /// Most recently used first.
    recent: Mutex<Vec<Arc<Window>>>,
    /// Whether the file can be mapped at all (else it is read with pread).
    mappable: bool,
}

#[derive(Debug, Clone)]
enum Store {
    File(Arc<Windowed>),
    Memory(Arc<Backing>),
}

/// A plain dump file, read through bounded memory-mapped windows (or bytes
/// already in memory). However large the dump, at most four windows
/// of 4 MiB are mapped for page reads, so the page tables of the
/// mappings stay small: `/proc/vmcore` maps its old memory eagerly, two
/// MiB of page tables per GiB mapped. Tables kept for the dump's lifetime
/// (BTF, kallsyms, bitmaps) get mappings of their own ([`Source::region`]).
#[derive(Debug, Clone)]
pub struct MmapSource {
    path: Arc<Path>,
    len: u64,
    store: Store,
}

/// At most this many holes are listed (the rest count as data).
const MAX_HOLES: usize = 1 << 16;

/// The system's page size (mapping offsets must be multiples of it).
fn system_page_size() -> u64 {
    // SAFETY: sysconf(3) has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n)
        .ok()
        .filter(|n| n.is_power_of_two())
        .unwrap_or(4096)
}

impl MmapSource {
    /// Opens `path` (a regular file) for reading through mapped windows.
    pub fn open(path: &Path) -> Result<MmapSource, DumpError> {
        let io = |op, source| DumpError::Io {
            path: path.to_path_buf(),
            op,
            source,
        };
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is
        // refused below); it changes nothing for a regular file's mapping.
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(path)
                .map_err(|e| io("open", e))?
        };
        let meta = file.metadata().map_err(|e| io("stat", e))?;
        if !meta.is_file() {
            use std::os::unix::fs::FileTypeExt;
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                "a directory"
            } else if ft.is_fifo() {
                "a FIFO"
            } else if ft.is_socket() {
                "a socket"
            } else if ft.is_char_device() {
                "a character device"
            } else if ft.is_block_device() {
                "a block device"
            } else {
                "not a regular file"
            };
            return Err(DumpError::UnknownFormat {
                path: path.to_path_buf(),
                detail: format!(
                    "it is {kind}: a dump is read from a regular file (such as /proc/vmcore)"
                ),
            });
        }
        let len = meta.len();
        let mut windowed = Windowed {
            file,
            recent: Mutex::new(Vec::with_capacity(WINDOWS)),
            mappable: true,
        };
        // A file that cannot be mapped (some file systems; /proc/vmcore of
        // old kernels) is read with pread(2) instead.
        // The first window, mapped to find out, is kept for the first reads.
        if len > 0 {
            match windowed.map(0, len.min(WINDOW)) {
                Ok(map) => windowed
                    .recent
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Arc::new(Window { start: 0, map })),
                Err(_) => windowed.mappable = false,
            }
        }
        Ok(MmapSource {
            path: Arc::from(path),
            len,
            store: Store::File(Arc::new(windowed)),
        })
    }

    /// A dump file's bytes already in memory; `path` only names them in
    /// errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> MmapSource {
        MmapSource {
            path: Arc::from(path),
            len: bytes.len() as u64,
            store: Store::Memory(Arc::new(Backing::Memory(bytes))),
        }
    }

    /// The whole file at once, mapped (for the flattened format, read in
    /// place record by record).
    pub(crate) fn whole(&self) -> Result<Arc<Backing>, DumpError> {
        match &self.store {
            Store::Memory(b) => Ok(b.clone()),
            Store::File(w) => {
                if self.len == 0 {
                    return Ok(Arc::new(Backing::Memory(Vec::new())));
                }
                w.map(0, self.len)
                    .map(|m| Arc::new(Backing::Mapped(m)))
                    .map_err(|source| DumpError::Io {
                        path: self.path.to_path_buf(),
                        op: "map",
                        source,
                    })
            }
        }
    }

    /// The path, owned.
    pub(crate) fn path_buf(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    /// Copies the file's bytes at `offset` into `buf`; false when they
    /// extend past the end or cannot be read.
    fn copy_into(&self, offset: u64, buf: &mut [u8]) -> bool {
        if !fits(offset, buf.len() as u64, self.len) {
            return false;
        }
        match &self.store {
            Store::Memory(b) => {
                let o = offset as usize;
                buf.copy_from_slice(&b[o..o + buf.len()]);
                true
            }
            Store::File(w) => w.copy_into(offset, buf, self.len),
        }
    }
}

impl Windowed {
    /// A private read-only mapping of `len` bytes at `offset` (aligned
    /// down to the system's page size; the mapping starts there).
    fn map(&self, offset: u64, len: u64) -> std::io::Result<Mmap> {
        let len = usize::try_from(len).map_err(|_| std::io::ErrorKind::InvalidInput)?;
        // SAFETY: the mapping is read-only and private to this process; like
        // every reader of dump files we rely on the file not being truncated
        // or rewritten while it is open (a dump is written once, then read).
        unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(&self.file)
        }
    }

    /// The window holding `offset` (mapping it, and unmapping the least
    /// recently used one, when needed).
    fn window(&self, offset: u64, file_len: u64) -> Option<Arc<Window>> {
        let start = offset - offset % WINDOW;
        let mut recent = self.recent.lock().ok()?;
        if let Some(i) = recent.iter().position(|w| w.start == start) {
            let w = recent.remove(i);
            recent.insert(0, w.clone());
            return Some(w);
        }
        let map = self.map(start, WINDOW.min(file_len - start)).ok()?;
        let w = Arc::new(Window { start, map });
        recent.truncate(WINDOWS - 1);
        recent.insert(0, w.clone());
        Some(w)
    }

    fn copy_into(&self, offset: u64, buf: &mut [u8], file_len: u64) -> bool {
        if !self.mappable {
            use std::os::unix::fs::FileExt;
            return self.file.read_exact_at(buf, offset).is_ok();
        }
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let Some(w) = self.window(at, file_len) else {
                return false;
            };
            let from = (at - w.start) as usize;
            let n = (w.map.len() - from).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&w.map[from..from + n]);
            done += n;
        }
        true
    }
}

impl Source for MmapSource {
    fn path(&self) -> &Path {
        &self.path
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn bytes(&self, offset: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        if let Store::Memory(b) = &self.store {
            return checked_range(offset, len, b.len()).map(|r| Cow::Borrowed(&b[r]));
        }
        let mut out = vec![0u8; len];
        self.copy_into(offset, &mut out).then_some(Cow::Owned(out))
    }
    fn read_into(&self, offset: u64, buf: &mut [u8]) -> bool {
        self.copy_into(offset, buf)
    }
    fn holes(&self, offset: u64, len: u64) -> Vec<std::ops::Range<u64>> {
        use std::os::unix::io::AsRawFd;
        let Store::File(w) = &self.store else {
            return Vec::new();
        };
        let file = &w.file;
        let fd = file.as_raw_fd();
        let end = offset.saturating_add(len).min(self.len());
        let mut holes = Vec::new();
        let mut pos = offset;
        let seek = |at: u64, whence| -> Option<u64> {
            let at = libc::off_t::try_from(at).ok()?;
            // SAFETY: lseek(2) on a descriptor this source owns; nothing
            // else uses its file position (the file is read through the
            // mapping).
            let r = unsafe { libc::lseek(fd, at, whence) };
            u64::try_from(r).ok()
        };
        while pos < end && holes.len() < MAX_HOLES {
            // No data after `pos` (ENXIO): a hole to the end of the file.
            let data = seek(pos, libc::SEEK_DATA).unwrap_or(end).min(end);
            if data > pos {
                holes.push(pos..data);
            }
            if data >= end {
                break;
            }
            match seek(data, libc::SEEK_HOLE) {
                Some(h) if h > data => pos = h,
                _ => break,
            }
        }
        holes
    }
    fn region(&self, offset: u64, len: usize) -> Option<Region> {
        if !fits(offset, len as u64, self.len) {
            return None;
        }
        match &self.store {
            Store::Memory(b) => Some(Region::Mapped {
                map: b.clone(),
                start: offset as usize,
                len,
            }),
            Store::File(w) => {
                // A mapping of its own, kept as long as the region is.
                let skip = offset % system_page_size();
                match w.mappable.then(|| w.map(offset - skip, skip + len as u64)) {
                    Some(Ok(map)) => Some(Region::Mapped {
                        map: Arc::new(Backing::Mapped(map)),
                        start: skip as usize,
                        len,
                    }),
                    _ => {
                        let mut out = vec![0u8; len];
                        self.copy_into(offset, &mut out)
                            .then(|| Region::Owned(out.into_boxed_slice()))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `len` bytes whose every byte depends on its offset.
    fn patterned_file(len: usize) -> (PathBuf, Vec<u8>) {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4099) as u8).collect();
        let path =
            std::env::temp_dir().join(format!("dumptool-windows-{}-{len}.bin", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    #[test]
    fn windowed_reads_equal_the_file_across_window_boundaries() {
        let len = (WINDOW as usize) * (WINDOWS + 2) + 12345;
        let (path, bytes) = patterned_file(len);
        let src = MmapSource::open(&path).unwrap();
        assert_eq!(src.len(), len as u64);
        // More distinct windows than are kept mapped, visited back and forth.
        let w = WINDOW as usize;
        for &(off, n) in &[
            (0usize, 4096usize),
            (w - 100, 300),
            (3 * w - 1, 2),
            (5 * w + 17, 9000),
            (w / 2, 2 * w + 5),
            (len - 10, 10),
            (1, 1),
        ] {
            let mut buf = vec![0u8; n];
            assert!(src.read_into(off as u64, &mut buf), "{off}+{n}");
            assert_eq!(buf, bytes[off..off + n], "read_into {off}+{n}");
            assert_eq!(&*src.bytes(off as u64, n).unwrap(), &bytes[off..off + n]);
            let r = src.region(off as u64, n).unwrap();
            assert_eq!(&*r, &bytes[off..off + n], "region {off}+{n}");
        }
        let mut past = [0u8; 11];
        assert!(!src.read_into(len as u64 - 10, &mut past));
        assert!(src.bytes(len as u64, 1).is_none());
        assert!(src.region(len as u64 - 1, 2).is_none());
        // At most WINDOWS windows stay mapped.
        let Store::File(w) = &src.store else {
            panic!("a file source")
        };
        assert!(w.recent.lock().unwrap().len() <= WINDOWS);
        std::fs::remove_file(&path).unwrap();
    }
}
