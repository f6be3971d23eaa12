//! # ktype-runtime
//!
//! Binds Rust types to Linux kernel types at run time through BTF.
//!
//! - [`btf`]: a zero-copy, validating BTF parser (vmlinux and split module BTF,
//!   raw files, ELF `.BTF` sections, plain bytes).
//! - [`registry`]: the descriptors `#[kernel_struct]`, `#[kernel_enum]` and
//!   `kernel_symbols!` register in `linkme` distributed slices.
//! - [`resolve`]: fills every registered descriptor from a [`BtfSet`] and
//!   reports everything missing or mismatched at once.

extern crate self as ktype_runtime;

pub mod btf;
pub mod registry;
pub mod resolve;

pub use btf::{Btf, BtfSet};
pub use ktype_macros::{kernel_enum, kernel_struct, kernel_symbols};
pub use registry::{KAddr, KPtr, KernelField, NotResolved};
pub use resolve::{resolve, resolve_symbols, Report, ResolveError};

#[doc(hidden)]
pub use linkme;
