//! Errors of zero-copy typed views over kernel memory.

use super::slots::NotResolved;

/// Why a typed view (`Page::view(bytes)`) could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// The struct was not resolved yet.
    #[error(transparent)]
    NotResolved(#[from] NotResolved),
    /// The bytes are shorter than the kernel's struct.
    #[error("{what}: need {need} bytes, got {got}")]
    TooShort {
        /// The struct, e.g. `struct page (Page)`.
        what: String,
        /// The struct's size in this kernel.
        need: usize,
        /// The length of the bytes given.
        got: usize,
    },
    /// An optional struct that this kernel lacks.
    #[error("{what} is absent from this kernel")]
    Absent {
        /// The struct, e.g. `struct page (Page)`.
        what: String,
    },
}
