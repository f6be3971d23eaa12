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

/// Why filtering could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A binding was not resolved against this kernel.
    #[error(transparent)]
    NotResolved(#[from] ktype_runtime::NotResolved),
    /// The dump could not be read.
    #[error(transparent)]
    Dump(#[from] crate::dump::DumpError),
    /// An `--erase` spec that does not name bytes of this kernel.
    #[error("--erase {spec}: {why}")]
    BadErase {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        why: String,
    },
}
