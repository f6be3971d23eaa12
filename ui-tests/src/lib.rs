//! Compile tests of the ktype macros: trybuild cases live in `ui/` (`ui/fail`
//! must not compile, `ui/pass` must) and the driver is `tests/ui.rs`.
//!
//! This library itself declares a few bindings so that `cargo doc` and clippy
//! run over generated code: every generated item is documented, and the
//! documentation's links resolve.
#![deny(missing_docs, rustdoc::broken_intra_doc_links, unsafe_code)]

use ktype_runtime::{kernel_enum, kernel_struct, KAddr, KPtr};

/// A kernel doubly linked list node.
#[kernel_struct]
pub struct ListHead {
    /// The next node.
    pub next: KPtr<ListHead>,
    /// The previous node.
    pub prev: KPtr<ListHead>,
}

/// `struct page`, with every kind of field option.
#[kernel_struct(name = "page")]
pub struct Page {
    /// Page flags.
    pub flags: u64,
    /// The map count.
    #[kernel(name = "_mapcount")]
    pub mapcount: i32,
    /// Renamed across kernel versions.
    #[kernel(any("compound_info", "compound_head"))]
    pub compound_head: u64,
    /// Only on some kernels.
    #[kernel(optional)]
    pub page_type: u32,
    /// Through a nested member.
    #[kernel(path = "_refcount.counter")]
    pub refcount: i32,
    /// Embedded by value.
    pub lru: ListHead,
    /// An untyped pointer.
    pub mapping: KAddr,
}

/// A union that may be absent.
#[kernel_struct(any("new_u", "old_u"), union, optional)]
pub struct MaybeUnion {
    /// As an integer.
    pub as_u64: u64,
}

/// Page flag bit numbers.
#[kernel_enum(name = "pageflags")]
pub enum PageFlags {
    /// Locked.
    PG_locked,
    /// Maybe absent.
    #[kernel(optional)]
    PG_hwpoison,
}

ktype_runtime::kernel_symbols! {
    /// The first task.
    pub static INIT_TASK = "init_task";
    /// Optional symbol.
    #[kernel(optional)]
    pub static STEXT = "_stext";
}
