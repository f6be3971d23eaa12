//! Every option of #[kernel_struct], under strict lints: the generated code
//! must be documented, warning-free and free of `unsafe`.
#![deny(warnings, missing_docs, unsafe_code, unreachable_pub)]

mod bindings {
    use ktype_runtime::{kernel_struct, KAddr, KPtr};

    /// A kernel doubly linked list node.
    #[kernel_struct]
    pub struct ListHead {
        /// Next node.
        pub next: KPtr<ListHead>,
        /// Previous node.
        pub prev: KPtr<ListHead>,
    }

    /// `struct page`.
    #[kernel_struct(module = "vmlinux", name = "page")]
    pub struct Page {
        /// Page flags.
        pub flags: u64,
        /// Map count.
        #[kernel(name = "_mapcount")]
        pub mapcount: i32,
        /// Compound head, renamed across kernel versions.
        #[kernel(any("compound_info", "compound_head"))]
        pub compound_head: u64,
        /// Only on newer kernels.
        #[kernel(optional)]
        pub page_type: u32,
        /// Through a nested member.
        #[kernel(path = "_refcount.counter")]
        pub refcount: i32,
        /// Embedded by value.
        pub lru: ListHead,
        /// An untyped pointer.
        pub mapping: KAddr,
        /// Alternative dotted paths, optional.
        #[kernel(any("a.b", "c"), optional)]
        pub alt: [u8; 4],
        /// A raw identifier binds member `type`.
        pub r#type: bool,
        /// Compiled out: not declared.
        #[cfg(any())]
        pub gone: u8,
        /// Private fields give private accessors.
        pub(crate) private_ish: u16,
    }

    /// A union under alternative names, from a module, optional.
    #[kernel_struct(module = "my_mod", any("new_u", "old_u"), union, optional)]
    pub struct MyUnion {
        /// As an integer.
        pub as_u64: u64,
        /// As a pointer to a page.
        pub as_page: KPtr<Page>,
    }

    /// No members: only the size is bound. In a resolution group of its own.
    #[kernel_struct(group = "ui_pass_extra")]
    pub struct Opaque {}

    /// A member named like a generated function: its owned getter is left
    /// out (read it through `as_view()`), the view has it.
    #[kernel_struct]
    pub struct WithSize {
        /// The kernel's `size` member.
        pub size: u32,
    }

    /// Never used outside this module: no dead-code warnings either.
    #[kernel_struct]
    struct Private {
        a: u64,
    }
}

use bindings::{ListHead, MyUnion, Opaque, Page, WithSize};
use ktype_runtime::memory::FlatMemory;
use ktype_runtime::{this_crate, KernelStruct, ReadError, Scope};

fn main() {
    // Nothing is resolved here: every fallible accessor reports it.
    assert!(Page::try_size().is_err());
    assert!(Page::try_flags_offset().is_err());
    assert!(Page::try_page_type_offset().is_err());
    assert!(Page::view(&[0; 8]).is_err());
    assert!(!MyUnion::is_present());
    assert!(Opaque::descriptor().fields.is_empty());
    assert_eq!(ListHead::descriptor().names, ["list_head"]);
    assert_eq!(Page::descriptor().fields.len(), 10);
    let _: fn(&bindings::PageView<'static>) -> Option<u32> = bindings::PageView::page_type;
    let _: fn(&bindings::PageView<'static>) -> bindings::ListHeadView<'static> =
        bindings::PageView::lru;
    let _: fn(&bindings::PageView<'static>) -> [u8; 4] = |v| v.alt().unwrap_or_default();
    // Owned values: the same getters, read from kernel memory.
    let mem = FlatMemory::new(0x1000, &[0; 64]);
    assert!(matches!(Page::read(&mem, 0x1000), Err(ReadError::View(_))));
    let _: fn(&Page) -> Option<u32> = Page::page_type;
    let _: fn(&Page) -> bindings::ListHeadView<'_> = Page::lru;
    let _: fn(&Page) -> u64 = Page::kernel_address;
    let _: fn(&WithSize) -> u32 = |s| s.as_view().size();
    let _: fn(&ListHead, &FlatMemory<'_>) -> Result<ListHead, ReadError> =
        |l, m| l.next().read(m);
    let _: fn() -> u64 = Page::flags_bit_offset;
    let _: fn() -> Option<u32> = Page::page_type_bits;
    fn generic<T: KernelStruct>() -> &'static str {
        T::descriptor().rust_name
    }
    assert_eq!(generic::<Page>(), "Page");
    // Scopes: this crate's declarations, but not the group's.
    assert!(this_crate!().structs().iter().any(|d| d.rust_name == "Page"));
    assert!(!this_crate!().structs().iter().any(|d| d.rust_name == "Opaque"));
    assert_eq!(Scope::Group("ui_pass_extra").structs().len(), 1);
}
