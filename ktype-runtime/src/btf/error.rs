//! Errors of the BTF engine: every one names the input and what is wrong.

use std::path::PathBuf;

/// Why BTF could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The input is not raw BTF, ELF, or xz-compressed ELF.
    #[error("{origin}: not BTF (no 0xeB9F magic in either byte order), not ELF, not xz")]
    UnknownFormat {
        /// Where the bytes came from.
        origin: String,
    },
    /// An ELF file without a `.BTF` section, or whose ELF structure is broken.
    #[error("{origin}: {what}")]
    Elf {
        /// Where the bytes came from.
        origin: String,
        /// What is wrong.
        what: String,
    },
    /// The BTF bytes are corrupt or truncated.
    #[error("{origin}: corrupt BTF at byte {offset:#x}: {what}")]
    Corrupt {
        /// Where the bytes came from.
        origin: String,
        /// Byte offset inside the BTF blob where the problem was found.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// Split BTF whose base is not the one it was built on.
    #[error("{origin}: {what}")]
    Split {
        /// Where the bytes came from.
        origin: String,
        /// What is wrong.
        what: String,
    },
}

/// A `Result` with [`BtfError`].
pub type Result<T, E = BtfError> = std::result::Result<T, E>;
