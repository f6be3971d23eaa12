//! Random access to the bytes of a dump file: the memory-mapped plain file
//! or bytes already in memory ([`MmapSource`]) and, in [`super::flat`], the
//! makedumpfile flattened format read in place. The format readers see only
//! [`Source`].

use super::error::DumpError;
use memmap2::Mmap;
use std::borrow::Cow;
use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// The bytes of a [`MmapSource`].
#[derive(Debug)]
pub enum Backing {
    /// A read-only mapping of the file.
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

/// A plain dump file, memory-mapped read-only (or already in memory).
#[derive(Debug, Clone)]
pub struct MmapSource {
    path: Arc<Path>,
    map: Arc<Backing>,
    /// The mapped file (for [`Source::holes`]); none for bytes in memory.
    file: Option<Arc<File>>,
}

/// At most this many holes are listed (the rest count as data).
const MAX_HOLES: usize = 1 << 16;

impl MmapSource {
    /// Maps `path` read-only.
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
        // SAFETY: the mapping is read-only and private to this process; like
        // every reader of dump files we rely on the file not being truncated
        // or rewritten while it is open (a dump is written once, then read).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| io("map", e))?;
        Ok(MmapSource {
            path: Arc::from(path),
            map: Arc::new(Backing::Mapped(map)),
            file: Some(Arc::new(file)),
        })
    }

    /// A dump file's bytes already in memory; `path` only names them in
    /// errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> MmapSource {
        MmapSource {
            path: Arc::from(path),
            map: Arc::new(Backing::Memory(bytes)),
            file: None,
        }
    }

    /// The whole mapping.
    pub(crate) fn map(&self) -> &Arc<Backing> {
        &self.map
    }

    /// The path, owned.
    pub(crate) fn path_buf(&self) -> PathBuf {
        self.path.to_path_buf()
    }
}

impl Source for MmapSource {
    fn path(&self) -> &Path {
        &self.path
    }
    fn len(&self) -> u64 {
        self.map.len() as u64
    }
    fn bytes(&self, offset: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        checked_range(offset, len, self.map.len()).map(|r| Cow::Borrowed(&self.map[r]))
    }
    fn holes(&self, offset: u64, len: u64) -> Vec<std::ops::Range<u64>> {
        use std::os::unix::io::AsRawFd;
        let Some(file) = &self.file else {
            return Vec::new();
        };
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
        checked_range(offset, len, self.map.len()).map(|r| Region::Mapped {
            map: self.map.clone(),
            start: r.start,
            len,
        })
    }
}
