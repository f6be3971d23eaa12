//! The one error type of the dump writers. Output errors name the output
//! (its path, or `<stdout>`); source errors are the readers' [`DumpError`],
//! which name the source dump.

use crate::dump::DumpError;
use std::path::PathBuf;

/// An error of [`super::write_dump`]. When it is returned, no output file
/// exists (a partial stream may have gone to standard output, lacking the
/// flattened format's end marker so that readers reject it; a device or FIFO
/// written in place keeps what was written before the error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing, creating or renaming the output failed.
    #[error("{}: cannot {op}: {source}", path.display())]
    Io {
        /// The output (`<stdout>` for standard output).
        path: PathBuf,
        /// What was attempted.
        op: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The output's directory does not exist (or is not a directory).
    #[error(
        "{}: cannot create the output: its directory {} does not exist or is not a directory",
        path.display(),
        dir.display()
    )]
    NoSuchDirectory {
        /// The output path asked for.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// The output exists and overwriting was not asked for
    /// ([`super::WriteOptions::overwrite`], `dumptool filter -f`).
    #[error("{}: the output exists; use -f/--force to overwrite", path.display())]
    Exists {
        /// The output path.
        path: PathBuf,
    },
    /// The output is the input dump (the same file by device and inode,
    /// through whatever path, hard link or symlink): always refused.
    #[error(
        "{}: the output is the input dump {} (the same file, device {dev:#x} inode {ino}); \
         refusing to overwrite the input",
        output.display(),
        input.display()
    )]
    SameFile {
        /// The input dump.
        input: PathBuf,
        /// The output path asked for.
        output: PathBuf,
        /// Their device.
        dev: u64,
        /// Their inode.
        ino: u64,
    },
    /// The output path is something a dump must not be written to or over
    /// (a directory, a socket, a dangling symlink, a block device without
    /// `-f`, a FIFO without the flattened format).
    #[error("{}: refusing to write the output there: {detail}", path.display())]
    Refused {
        /// The output path asked for.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The source dump could not be read (outside single pages, which are
    /// counted as unreadable instead).
    #[error(transparent)]
    Source(#[from] DumpError),
    /// The options do not make sense (or need a feature this build lacks).
    #[error("invalid write options: {0}")]
    Options(String),
    /// Worker threads could not be started (the system refused them).
    #[error("{0}")]
    Threads(String),
    /// The page selector failed.
    #[error("page selection failed: {what}")]
    Selector {
        /// What failed (the whole message when there is no `source`).
        what: String,
        /// The error that made it fail, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The page selector answered differently when asked again for the same
    /// window (past the remembered windows, the writers ask twice: once to
    /// size the output, once to write it).
    #[error(
        "the page selector is not deterministic: for the window at pfn {start_pfn:#x} it \
         first kept {first} pages, then {second}"
    )]
    Inconsistent {
        /// First pfn of the window.
        start_pfn: u64,
        /// What the first pass counted.
        first: u64,
        /// What the second pass counted.
        second: u64,
    },
    /// The source cannot be written in the requested format.
    #[error("cannot write this dump: {0}")]
    Unsupported(String),
    /// A compressor failed on a page.
    #[error("{codec} compression of the page at pfn {pfn:#x} failed: {detail}")]
    Compress {
        /// `zlib`, `lzo`, `snappy` or `zstd`.
        codec: &'static str,
        /// The page.
        pfn: u64,
        /// The compressor's complaint.
        detail: String,
    },
}

impl WriteError {
    /// A short name of the variant (`io`, `no_such_directory`, `exists`,
    /// `same_file`, `refused`, `source`, `options`, `threads`, `selector`,
    /// `inconsistent`, `unsupported`, `compress`), as reports give it.
    pub fn kind(&self) -> &'static str {
        match self {
            WriteError::Io { .. } => "io",
            WriteError::NoSuchDirectory { .. } => "no_such_directory",
            WriteError::Exists { .. } => "exists",
            WriteError::SameFile { .. } => "same_file",
            WriteError::Refused { .. } => "refused",
            WriteError::Source(_) => "source",
            WriteError::Options(_) => "options",
            WriteError::Threads(_) => "threads",
            WriteError::Selector { .. } => "selector",
            WriteError::Inconsistent { .. } => "inconsistent",
            WriteError::Unsupported(_) => "unsupported",
            WriteError::Compress { .. } => "compress",
        }
    }

    /// A [`WriteError::Selector`] with `detail`, for [`super::PageSelector`]
    /// implementations.
    pub fn selector(detail: impl Into<String>) -> WriteError {
        WriteError::Selector {
            what: detail.into(),
            source: None,
        }
    }

    /// A [`WriteError::Selector`]: `what` failed because of `source` (kept
    /// as the error's [`std::error::Error::source`]).
    pub fn selector_failed(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> WriteError {
        WriteError::Selector {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }
}
