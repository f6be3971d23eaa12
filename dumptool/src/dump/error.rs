//! The one error type of the dump readers. Every variant names the dump file
//! and says what is wrong (and where: a file offset, a physical or a virtual
//! address).

use std::fmt;
use std::path::PathBuf;

/// Why some memory is not in a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Absence {
    /// The page was RAM but the dump filter left it out (makedumpfile's dump
    /// level, or an ELF `PT_LOAD` whose `p_memsz` is larger than its
    /// `p_filesz`).
    Excluded,
    /// No dump segment or bitmap bit covers the address: a hole in the
    /// physical address space, or beyond the last page of the dump.
    NotInDump,
    /// The dump is incomplete: the page was meant to be written but was not
    /// (kdump page descriptor with offset 0, or the file ends early).
    Incomplete,
}

impl fmt::Display for Absence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Absence::Excluded => "the page was excluded from the dump (filtered out)",
            Absence::NotInDump => "no memory of the dump covers it (a hole, or past its last page)",
            Absence::Incomplete => "the dump is incomplete and lacks this page",
        })
    }
}

/// An error of a dump reader. Every variant carries the dump file's path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The file could not be opened, inspected or mapped.
    #[error("{}: cannot {op}: {source}", path.display())]
    Io {
        /// The dump file.
        path: PathBuf,
        /// What was attempted (`open`, `map`, ...).
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a crash dump in a format this crate reads.
    #[error("{}: not a crash dump this reader understands: {detail}", path.display())]
    UnknownFormat {
        /// The dump file.
        path: PathBuf,
        /// What the first bytes look like.
        detail: String,
    },
    /// A structure of the file lies (partly) past its end.
    #[error(
        "{}: {what} (file offset {offset:#x}, {len} bytes) extends past the end of the file \
         ({file_len} bytes): the file is truncated or the field pointing there is corrupt",
        path.display()
    )]
    Truncated {
        /// The dump file.
        path: PathBuf,
        /// The structure (`kdump main header`, `PT_LOAD segment 2`, ...).
        what: String,
        /// Its file offset.
        offset: u64,
        /// Its length in bytes.
        len: u64,
        /// The file's length (for a flattened file: the reassembled length).
        file_len: u64,
    },
    /// A header field or structure holds an impossible value.
    #[error("{}: invalid {what}: {detail}", path.display())]
    Invalid {
        /// The dump file.
        path: PathBuf,
        /// The field or structure.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Memory at `paddr` is not in the dump. Never answered with zeros.
    #[error("{}: {}", path.display(), not_present(*paddr, *vaddr, reason))]
    NotPresent {
        /// The dump file.
        path: PathBuf,
        /// The first physical address that is missing.
        paddr: u64,
        /// The kernel virtual address that mapped to `paddr`, when the read
        /// came through [`super::KernelMemory`].
        vaddr: Option<u64>,
        /// Why it is missing.
        reason: Absence,
    },
    /// A stored page could not be decompressed.
    #[error(
        "{}: cannot decompress the page at physical address {paddr:#x} \
         ({codec}, {size} bytes at file offset {offset:#x}): {detail}",
        path.display()
    )]
    Decompress {
        /// The dump file.
        path: PathBuf,
        /// The page's physical address.
        paddr: u64,
        /// The compressed data's file offset.
        offset: u64,
        /// The compressed data's size.
        size: u32,
        /// `zlib`, `lzo`, `snappy` or `zstd`.
        codec: &'static str,
        /// The decompressor's complaint.
        detail: String,
    },
    /// A kernel virtual address could not be translated to a physical one.
    #[error("{}: cannot translate virtual address {vaddr:#x}: {detail}", path.display())]
    Translate {
        /// The dump file.
        path: PathBuf,
        /// The virtual address.
        vaddr: u64,
        /// Which step failed (e.g. which page-table level was not present).
        detail: String,
    },
    /// The dump uses a feature this reader does not support.
    #[error("{}: unsupported: {detail}", path.display())]
    Unsupported {
        /// The dump file.
        path: PathBuf,
        /// What is not supported.
        detail: String,
    },
}

fn not_present(paddr: u64, vaddr: Option<u64>, reason: &Absence) -> String {
    match vaddr {
        Some(v) => format!(
            "virtual address {v:#x} maps to physical address {paddr:#x}, which is not in the dump: {reason}"
        ),
        None => format!("physical address {paddr:#x} is not in the dump: {reason}"),
    }
}

impl DumpError {
    /// The dump file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            DumpError::Io { path, .. }
            | DumpError::UnknownFormat { path, .. }
            | DumpError::Truncated { path, .. }
            | DumpError::Invalid { path, .. }
            | DumpError::NotPresent { path, .. }
            | DumpError::Decompress { path, .. }
            | DumpError::Translate { path, .. }
            | DumpError::Unsupported { path, .. } => path,
        }
    }

    /// For [`DumpError::NotPresent`]: why the memory is missing.
    pub fn absence(&self) -> Option<Absence> {
        match self {
            DumpError::NotPresent { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// This error with its message stripped of the leading path, for
    /// embedding into another error about the same file.
    pub(crate) fn detail(&self) -> String {
        let full = self.to_string();
        let prefix = format!("{}: ", self.path().display());
        full.strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(full)
    }
}
