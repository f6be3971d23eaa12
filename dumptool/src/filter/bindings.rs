//! The kernel memory-management types page classification reads, declared
//! once for every kernel: where layouts differ between 6.1 and 6.12+,
//! optional members and enums carry the difference, not version checks.
//! Types the kernel layer reads too (a node's span, [`PglistData`]) live
//! below, in [`crate::kernel::bindings`].
//!
//! [`PglistData`]: crate::kernel::bindings::PglistData

use ktype_runtime::{kernel_enum, kernel_struct, KAddr};

/// `struct page`, the fields makedumpfile's classification looks at. Only
/// `flags` is required: a kernel that lacks another member switches off the
/// rules that need it (see [`super::rules`]), never the whole filter.
#[kernel_struct(name = "page")]
pub struct Page {
    /// Page flags (`enum pageflags` bit numbers) plus zone/node bits (7.x:
    /// inside the transparent `memdesc_flags_t`).
    pub flags: u64,
    /// `address_space *`, or an anon_vma with bit 0 set (`PAGE_MAPPING_ANON`).
    #[kernel(optional)]
    pub mapping: KAddr,
    /// Buddy order of a free block; fs-private data otherwise.
    #[kernel(optional)]
    pub private: u64,
    /// Tail pages have bit 0 set (the rest of the word leads to the head).
    /// 7.x renamed it `compound_info` (it may hold a mask instead of the
    /// head's address; bit 0 still marks a tail).
    #[kernel(optional, any("compound_head", "compound_info"))]
    pub compound_head: u64,
    /// `_mapcount`; page types live here on kernels without `page_type` (atomic_t read as its counter).
    #[kernel(optional, name = "_mapcount")]
    pub mapcount: i32,
    /// The page type word (6.12+: type in the top byte).
    #[kernel(optional)]
    pub page_type: u32,
}

/// `struct folio`: the order (and, on 6.1, the destructor) of a large folio
/// lives in its second page.
#[kernel_struct(name = "folio")]
pub struct Folio {
    /// 6.1: the order.
    #[kernel(optional, name = "_folio_order")]
    pub folio_order: u8,
    /// 6.1: `enum compound_dtor_id` of the folio.
    #[kernel(optional, name = "_folio_dtor")]
    pub folio_dtor: u8,
    /// The second page's flags word; 6.6+ keeps the order in its low byte.
    #[kernel(optional, name = "_flags_1")]
    pub flags_1: u64,
}

/// `enum pageflags` bits the classification tests. Each is optional: one a
/// kernel lacks (in BTF and in VMCOREINFO) switches off the rules that need it.
#[kernel_enum(name = "pageflags")]
pub enum PageFlags {
    #[kernel(optional)]
    PG_lru,
    #[kernel(optional)]
    PG_head,
    #[kernel(optional)]
    PG_private,
    #[kernel(optional)]
    PG_swapbacked,
    /// An alias of `PG_owner_priv_1`.
    #[kernel(optional)]
    PG_swapcache,
    /// 6.12 made slab a page type.
    #[kernel(optional)]
    PG_slab,
    #[kernel(optional)]
    PG_hwpoison,
    /// Memory the page allocator never hands out (the kernel image).
    #[kernel(optional)]
    PG_reserved,
}

/// `enum pagetype` (6.12+): the top byte of `page_type`. Every type but
/// hugetlb marks memory the kernel owns (never user data or page cache).
/// Each constant is optional: one missing switches off only what needs it.
#[kernel_enum(name = "pagetype", optional)]
pub enum PageType {
    #[kernel(optional)]
    PGTY_buddy,
    #[kernel(optional)]
    PGTY_offline,
    #[kernel(optional)]
    PGTY_slab,
    #[kernel(optional)]
    PGTY_hugetlb,
    #[kernel(optional)]
    PGTY_table,
    #[kernel(optional)]
    PGTY_guard,
    #[kernel(optional)]
    PGTY_zsmalloc,
    #[kernel(optional)]
    PGTY_unaccepted,
    /// 7.x: pages of a large kmalloc.
    #[kernel(optional)]
    PGTY_large_kmalloc,
}

/// `enum compound_dtor_id` (6.1): which destructor a compound page has.
#[kernel_enum(name = "compound_dtor_id", optional)]
pub enum CompoundDtor {
    HUGETLB_PAGE_DTOR,
}
