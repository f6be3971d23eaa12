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

/// An error of a dump reader. Every variant carries the dump file's path;
/// its message is the path, then [`DumpError::message`] (what is wrong, and
/// where). An error caused by another ([`DumpError::Translate`] when a
/// page-table entry could not be read) keeps it as its
/// [`std::error::Error::source`], and quotes its message.
#[derive(Debug)]
#[non_exhaustive]
pub enum DumpError {
    /// The file could not be opened, inspected or mapped.
    Io {
        /// The dump file.
        path: PathBuf,
        /// What was attempted (`open`, `map`, ...).
        op: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a crash dump in a format this crate reads.
    UnknownFormat {
        /// The dump file.
        path: PathBuf,
        /// What the first bytes look like.
        detail: String,
    },
    /// A structure of the file lies (partly) past its end.
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
    Invalid {
        /// The dump file.
        path: PathBuf,
        /// The field or structure.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Memory at `paddr` is not in the dump. Never answered with zeros.
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
    Translate {
        /// The dump file.
        path: PathBuf,
        /// The virtual address.
        vaddr: u64,
        /// Which step failed (e.g. which page-table level was not present).
        detail: String,
        /// The error reading a page-table entry, when that is why (its
        /// message is quoted after `detail`).
        source: Option<Box<DumpError>>,
    },
    /// The dump uses a feature this reader does not support.
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

/// What a [`DumpError`] says after its path ([`DumpError::message`]).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a>(&'a DumpError);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            DumpError::Io { op, source, .. } => write!(f, "cannot {op}: {source}"),
            DumpError::UnknownFormat { detail, .. } => {
                write!(f, "not a crash dump this reader understands: {detail}")
            }
            DumpError::Truncated {
                what,
                offset,
                len,
                file_len,
                ..
            } => write!(
                f,
                "{what} (file offset {offset:#x}, {len} bytes) extends past the end of the file \
                 ({file_len} bytes): the file is truncated or the field pointing there is corrupt"
            ),
            DumpError::Invalid { what, detail, .. } => write!(f, "invalid {what}: {detail}"),
            DumpError::NotPresent {
                paddr,
                vaddr,
                reason,
                ..
            } => f.write_str(&not_present(*paddr, *vaddr, reason)),
            DumpError::Decompress {
                paddr,
                offset,
                size,
                codec,
                detail,
                ..
            } => write!(
                f,
                "cannot decompress the page at physical address {paddr:#x} \
                 ({codec}, {size} bytes at file offset {offset:#x}): {detail}"
            ),
            DumpError::Translate {
                vaddr,
                detail,
                source,
                ..
            } => {
                write!(f, "cannot translate virtual address {vaddr:#x}: {detail}")?;
                match source {
                    Some(s) => write!(f, ": {}", s.message()),
                    None => Ok(()),
                }
            }
            DumpError::Unsupported { detail, .. } => write!(f, "unsupported: {detail}"),
        }
    }
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path().display(), self.message())
    }
}

impl std::error::Error for DumpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DumpError::Io { source, .. } => Some(source),
            DumpError::Translate {
                source: Some(s), ..
            } => Some(s.as_ref()),
            _ => None,
        }
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

    /// What is wrong (and where), without the leading path: the message of
    /// an error that another about the same file quotes.
    pub fn message(&self) -> Message<'_> {
        Message(self)
    }

    /// A short name of the variant (`io`, `unknown_format`, `truncated`,
    /// `invalid`, `not_present`, `decompress`, `translate`, `unsupported`),
    /// as reports give it.
    pub fn kind(&self) -> &'static str {
        match self {
            DumpError::Io { .. } => "io",
            DumpError::UnknownFormat { .. } => "unknown_format",
            DumpError::Truncated { .. } => "truncated",
            DumpError::Invalid { .. } => "invalid",
            DumpError::NotPresent { .. } => "not_present",
            DumpError::Decompress { .. } => "decompress",
            DumpError::Translate { .. } => "translate",
            DumpError::Unsupported { .. } => "unsupported",
        }
    }

    /// For [`DumpError::NotPresent`]: why the memory is missing (for a
    /// [`DumpError::Translate`] whose page-table entry is missing, ask its
    /// [`std::error::Error::source`]).
    pub fn absence(&self) -> Option<Absence> {
        match self {
            DumpError::NotPresent { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    /// A page-table entry that could not be read: the translation error
    /// names the file once, quotes the cause, and keeps it as its source.
    #[test]
    fn a_translation_keeps_its_cause() {
        let path = PathBuf::from("/x/vmcore");
        let cause = DumpError::NotPresent {
            path: path.clone(),
            paddr: 0x1234000,
            vaddr: None,
            reason: Absence::Excluded,
        };
        let e = DumpError::Translate {
            path: path.clone(),
            vaddr: 0xffff_8880_0000_0000,
            detail: "cannot read PML4 entry 17 at physical address 0x1234088".into(),
            source: Some(Box::new(cause)),
        };
        let text = e.to_string();
        assert_eq!(text.matches("/x/vmcore").count(), 1, "{text}");
        assert!(text.starts_with("/x/vmcore: cannot translate virtual address 0xffff888000000000"));
        assert!(text.ends_with(&Absence::Excluded.to_string()), "{text}");
        let source = e.source().and_then(|s| s.downcast_ref::<DumpError>());
        assert!(
            matches!(
                source,
                Some(DumpError::NotPresent {
                    paddr: 0x1234000,
                    ..
                })
            ),
            "{source:?}"
        );
        assert_eq!(source.and_then(DumpError::absence), Some(Absence::Excluded));
        assert_eq!(e.kind(), "translate");
        assert!(text.ends_with(&source.unwrap().message().to_string()));
    }
}
