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
}

impl MmapSource {
    /// Maps `path` read-only.
    pub fn open(path: &Path) -> Result<MmapSource, DumpError> {
        let io = |op, source| DumpError::Io {
            path: path.to_path_buf(),
            op,
            source,
        };
        let file = File::open(path).map_err(|e| io("open", e))?;
        let meta = file.metadata().map_err(|e| io("stat", e))?;
        if !meta.is_file() {
            return Err(DumpError::UnknownFormat {
                path: path.to_path_buf(),
                detail: "not a regular file".into(),
            });
        }
        // SAFETY: the mapping is read-only and private to this process; like
        // every reader of dump files we rely on the file not being truncated
        // or rewritten while it is open (a dump is written once, then read).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| io("map", e))?;
        Ok(MmapSource {
            path: Arc::from(path),
            map: Arc::new(Backing::Mapped(map)),
        })
    }

    /// A dump file's bytes already in memory; `path` only names them in
    /// errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> MmapSource {
        MmapSource {
            path: Arc::from(path),
            map: Arc::new(Backing::Memory(bytes)),
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
    fn region(&self, offset: u64, len: usize) -> Option<Region> {
        checked_range(offset, len, self.map.len()).map(|r| Region::Mapped {
            map: self.map.clone(),
            start: r.start,
            len,
        })
    }
}
