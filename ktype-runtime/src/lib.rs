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
//!
//! ```no_run
//! use ktype_runtime::{kernel_enum, kernel_struct, kernel_symbols, BtfSet, KAddr};
//!
//! /// `struct page`, as much of it as this program needs.
//! #[kernel_struct(module = "vmlinux", name = "page")]
//! pub struct Page {
//!     pub flags: u64,
//!     #[kernel(name = "_mapcount")] pub mapcount: i32,          // inside anonymous unions
//!     #[kernel(any("compound_info", "compound_head"))] pub compound_head: u64,
//!     #[kernel(optional)] pub page_type: u32,                   // Option at run time
//!     #[kernel(path = "_refcount.counter")] pub refcount: i32,  // dotted paths
//!     pub mapping: KAddr,
//! }
//!
//! #[kernel_enum(name = "pageflags")]
//! pub enum PageFlags { PG_locked, PG_lru, #[kernel(optional)] PG_hwpoison }
//!
//! kernel_symbols! {
//!     /// The first task.
//!     pub static INIT_TASK = "init_task";
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let set = BtfSet::open("/sys/kernel/btf/vmlinux")?;
//! ktype_runtime::resolve(&set)?; // one error listing every problem
//! println!("struct page: {} bytes, flags at {}", Page::size(), Page::flags_offset());
//! let bytes = vec![0u8; Page::size()]; // a struct page read from a dump
//! let page = Page::view(&bytes)?;
//! let on_lru = page.flags() & PageFlags::PG_lru.mask() != 0;
//! let page_type: Option<u32> = page.page_type();
//! # let _ = (on_lru, page_type);
//! # Ok(()) }
//! ```

extern crate self as ktype_runtime;

pub mod btf;
pub mod memory;
pub mod registry;
pub mod resolution;
pub mod text;

pub use btf::{Btf, BtfSet};
pub use ktype_macros::{kernel_enum, kernel_struct, kernel_symbols};
pub use memory::{KernelRead, KernelStruct, ReadError};
pub use registry::{lock_bindings, BindingsGuard};
pub use registry::{KAddr, KPtr, KernelField, NotResolved};
pub use resolution::{resolve, resolve_symbols, Report, ResolveError, Scope};

#[doc(hidden)]
pub use linkme;
