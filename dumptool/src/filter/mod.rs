//! The filter: which pages of a dump to keep, decided from `struct page`
//! through BTF bindings, with makedumpfile's dump levels.
//!
//! - [`bindings`]: the kernel types and enums read, declared once for all kernels.
//! - [`rules`]: what each field means on this kernel, and where that came from.
//! - [`classify`]: the per-page decision for a dump level.
//! - [`level`]: dump level bits and page classes.
//! - [`selector`]: a dump level as a [`crate::write::PageSelector`], to
//!   combine with rules of your own.
//! - [`erase`]: kernel variables overwritten in the output (`--erase`).

pub mod bindings;
pub mod classify;
pub mod erase;
pub mod level;
pub mod rules;
pub mod selector;

pub use classify::Classifier;
pub use level::{ClassCounts, PageClass};
pub use selector::DumpLevelSelector;

/// Why filtering could not proceed. An error caused by another quotes its
/// message and keeps it as its [`std::error::Error::source`]
/// ([`crate::commands::ErrorReport`] lists each cause once).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// A binding was not resolved against this kernel.
    #[error(transparent)]
    NotResolved(#[from] ktype_runtime::NotResolved),
    /// The dump could not be read.
    #[error(transparent)]
    Dump(#[from] crate::dump::DumpError),
    /// An `--erase` spec that does not name bytes of this kernel.
    #[error(transparent)]
    BadErase(Box<erase::SpecError>),
}

impl FilterError {
    /// A short name of the variant (`not_resolved`, `dump`, `bad_erase`).
    pub fn kind(&self) -> &'static str {
        match self {
            FilterError::NotResolved(_) => "not_resolved",
            FilterError::Dump(_) => "dump",
            FilterError::BadErase(_) => "bad_erase",
        }
    }

    /// For [`FilterError::BadErase`]: the spec and what is wrong with it.
    pub fn bad_erase(&self) -> Option<&erase::SpecError> {
        match self {
            FilterError::BadErase(e) => Some(e),
            _ => None,
        }
    }
}
