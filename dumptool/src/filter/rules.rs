//! The tests that classify a `struct page`, built from the resolved bindings
//! (BTF) with VMCOREINFO as cross-check and as fallback for what BTF cannot
//! give (the `*_MAPCOUNT_VALUE` macros of kernels without `enum pagetype`).
//! Every rule records where its value came from.

use super::bindings::{CompoundDtor, Folio, Page, PageFlags, PageType};
use super::FilterError;
use crate::dump::VmcoreInfo;

/// How a page-type test is done on this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    /// 6.12+: the top byte of `page_type` equals this `enum pagetype` value.
    TopByte(u8),
    /// Older kernels: `_mapcount` equals this VMCOREINFO value.
    Mapcount(i32),
    /// This kernel has no such page type.
    Absent,
}

/// Where a large folio keeps its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSource {
    /// `struct folio._folio_order` (6.1).
    FolioOrder,
    /// The low byte of `struct folio._flags_1` (6.6+).
    Flags1LowByte,
}

/// How hugetlb folios are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HugetlbTest {
    /// `folio._folio_dtor` equals `HUGETLB_PAGE_DTOR` (6.1).
    Dtor(u8),
    /// The head page's type is `PGTY_hugetlb` (6.12+).
    TopByte(u8),
    /// Not recognisable from BTF on this kernel.
    Absent,
}

/// Everything classification needs to know about this kernel.
#[derive(Debug, Clone)]
pub struct Rules {
    /// `1 << PG_lru`.
    pub lru: u64,
    /// `1 << PG_head`.
    pub head: u64,
    /// `1 << PG_private`.
    pub private: u64,
    /// `1 << PG_swapbacked`.
    pub swapbacked: u64,
    /// `1 << PG_swapcache`.
    pub swapcache: u64,
    /// `1 << PG_slab` where slab is a page flag (0 otherwise).
    pub slab_flag: u64,
    /// `1 << PG_hwpoison` (0 when the kernel lacks it).
    pub hwpoison: u64,
    /// Free (buddy) pages.
    pub buddy: TypeTest,
    /// Logically offline pages.
    pub offline: TypeTest,
    /// Slab pages, where slab is a page type.
    pub slab_type: TypeTest,
    /// Memory not yet accepted (excluded with the free pages).
    pub unaccepted: TypeTest,
    /// Large folio order.
    pub order: OrderSource,
    /// Hugetlb folios.
    pub hugetlb: HugetlbTest,
    /// `page_type >> 24` values of memory the kernel owns (slab, page
    /// tables, ...): such a page is never user data or page cache, whatever
    /// the word overlaying `mapping` holds. Empty without `enum pagetype`.
    pub kernel_types: Vec<u8>,
    /// `(rule, where its value came from)`, for the report.
    pub sources: Vec<(String, String)>,
    /// Disagreements between BTF and VMCOREINFO (BTF wins).
    pub warnings: Vec<String>,
}

impl Rules {
    /// Builds the rules from the resolved bindings and `info`.
    pub fn new(info: Option<&VmcoreInfo>) -> Result<Rules, FilterError> {
        let mut sources = Vec::new();
        let mut warnings = Vec::new();
        let mut flag = |v: PageFlags, name: &str| -> Result<u64, FilterError> {
            let bit = v
                .try_value()?
                .ok_or_else(|| FilterError::Missing(format!("enum pageflags has no {name}")))?;
            let check = info.and_then(|i| i.number(name));
            let note = match check {
                Some(n) if n as u64 == bit => format!("VMCOREINFO NUMBER({name})={n} agrees"),
                Some(n) => {
                    warnings.push(format!(
                        "{name}: BTF says {bit}, VMCOREINFO NUMBER({name})={n}; using BTF"
                    ));
                    format!("VMCOREINFO says {n}")
                }
                None => "not in VMCOREINFO".into(),
            };
            sources.push((
                format!("{name} = {bit}"),
                format!("BTF enum pageflags ({note})"),
            ));
            Ok(1u64 << bit)
        };
        let lru = flag(PageFlags::PG_lru, "PG_lru")?;
        let head = flag(PageFlags::PG_head, "PG_head")?;
        let private = flag(PageFlags::PG_private, "PG_private")?;
        let swapbacked = flag(PageFlags::PG_swapbacked, "PG_swapbacked")?;
        let swapcache = flag(PageFlags::PG_swapcache, "PG_swapcache")?;
        let slab_flag = if PageFlags::PG_slab.is_present() {
            flag(PageFlags::PG_slab, "PG_slab")?
        } else {
            0
        };
        let hwpoison = if PageFlags::PG_hwpoison.is_present() {
            flag(PageFlags::PG_hwpoison, "PG_hwpoison")?
        } else {
            0
        };

        let types = PageType::PGTY_buddy.is_present() && Page::page_type_offset().is_some();
        let mut type_test = |v: PageType, what: &str, macro_name: &str| -> TypeTest {
            if types {
                if let Ok(Some(b)) = v.try_value() {
                    sources.push((
                        format!("{what} pages"),
                        format!("page_type >> 24 == {b:#x} (BTF enum pagetype {v:?})"),
                    ));
                    return TypeTest::TopByte(b as u8);
                }
            }
            match info.and_then(|i| i.number(macro_name)) {
                Some(n) if !types => {
                    sources.push((format!("{what} pages"), format!("_mapcount == {n} (VMCOREINFO NUMBER({macro_name}); this kernel's BTF has no enum pagetype)")));
                    TypeTest::Mapcount(n as i32)
                }
                _ => {
                    sources.push((
                        format!("{what} pages"),
                        "not recognisable on this kernel".into(),
                    ));
                    TypeTest::Absent
                }
            }
        };
        let buddy = type_test(
            PageType::PGTY_buddy,
            "free (buddy)",
            "PAGE_BUDDY_MAPCOUNT_VALUE",
        );
        let offline = type_test(
            PageType::PGTY_offline,
            "offline",
            "PAGE_OFFLINE_MAPCOUNT_VALUE",
        );
        let slab_type = if slab_flag == 0 {
            type_test(PageType::PGTY_slab, "slab", "PAGE_SLAB_MAPCOUNT_VALUE")
        } else {
            TypeTest::Absent
        };
        let unaccepted = if types && PageType::PGTY_unaccepted.is_present() {
            type_test(PageType::PGTY_unaccepted, "unaccepted", "-")
        } else {
            TypeTest::Absent
        };
        if matches!(buddy, TypeTest::Absent) {
            return Err(FilterError::Missing("free pages cannot be recognised: no enum pagetype in BTF and no NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE) in VMCOREINFO".into()));
        }

        let order = if Folio::folio_order_offset().is_some() {
            sources.push((
                "large folio order".into(),
                "struct folio._folio_order (BTF)".into(),
            ));
            OrderSource::FolioOrder
        } else if Folio::flags_1_offset().is_some() {
            sources.push((
                "large folio order".into(),
                "low byte of struct folio._flags_1 (BTF: the folio has no _folio_order)".into(),
            ));
            OrderSource::Flags1LowByte
        } else {
            return Err(FilterError::Missing(
                "struct folio has neither _folio_order nor _flags_1: cannot size large folios"
                    .into(),
            ));
        };

        let hugetlb = if let (Some(_), Ok(Some(v))) = (
            Folio::folio_dtor_offset(),
            CompoundDtor::HUGETLB_PAGE_DTOR.try_value(),
        ) {
            let check = info.and_then(|i| i.number("HUGETLB_PAGE_DTOR"));
            let note = match check {
                Some(n) if n as u64 == v => {
                    format!("VMCOREINFO NUMBER(HUGETLB_PAGE_DTOR)={n} agrees")
                }
                Some(n) => {
                    warnings.push(format!(
                        "HUGETLB_PAGE_DTOR: BTF says {v}, VMCOREINFO {n}; using BTF"
                    ));
                    format!("VMCOREINFO says {n}")
                }
                None => "not in VMCOREINFO".into(),
            };
            sources.push((
                "hugetlb folios".into(),
                format!("folio._folio_dtor == {v} (BTF enum compound_dtor_id; {note})"),
            ));
            HugetlbTest::Dtor(v as u8)
        } else if let (true, Ok(Some(v))) = (types, PageType::PGTY_hugetlb.try_value()) {
            sources.push((
                "hugetlb folios".into(),
                format!("head page_type >> 24 == {v:#x} (BTF enum pagetype)"),
            ));
            HugetlbTest::TopByte(v as u8)
        } else {
            sources.push((
                "hugetlb folios".into(),
                "not recognisable on this kernel".into(),
            ));
            HugetlbTest::Absent
        };
        let mut kernel_types = Vec::new();
        if types {
            let mut names = Vec::new();
            for v in [
                PageType::PGTY_buddy,
                PageType::PGTY_offline,
                PageType::PGTY_slab,
                PageType::PGTY_table,
                PageType::PGTY_guard,
                PageType::PGTY_zsmalloc,
                PageType::PGTY_unaccepted,
                PageType::PGTY_large_kmalloc,
            ] {
                if let Ok(Some(b)) = v.try_value() {
                    kernel_types.push(b as u8);
                    names.push(format!("{v:?}"));
                }
            }
            sources.push((
                "kernel-owned pages".into(),
                format!(
                    "page_type >> 24 is one of {} (BTF enum pagetype): never user data or cache",
                    names.join(", ")
                ),
            ));
        }
        Ok(Rules {
            kernel_types,
            lru,
            head,
            private,
            swapbacked,
            swapcache,
            slab_flag,
            hwpoison,
            buddy,
            offline,
            slab_type,
            unaccepted,
            order,
            hugetlb,
            sources,
            warnings,
        })
    }

    fn type_is(t: TypeTest, mapcount: i32, page_type: u32) -> bool {
        match t {
            TypeTest::TopByte(b) => (page_type >> 24) as u8 == b,
            TypeTest::Mapcount(v) => mapcount == v,
            TypeTest::Absent => false,
        }
    }

    /// A slab page.
    pub fn is_slab(&self, flags: u64, mapcount: i32, page_type: u32) -> bool {
        flags & self.slab_flag != 0 || Self::type_is(self.slab_type, mapcount, page_type)
    }

    /// Memory the kernel owns by its page type (slab, page tables, ...), or
    /// a slab page by its flag: never user data or page cache.
    pub fn is_kernel_owned(&self, flags: u64, page_type: u32) -> bool {
        flags & self.slab_flag != 0 || self.kernel_types.contains(&((page_type >> 24) as u8))
    }

    /// The head of a free buddy block.
    pub fn is_buddy(&self, flags: u64, mapcount: i32, page_type: u32) -> bool {
        !self.is_slab(flags, mapcount, page_type) && Self::type_is(self.buddy, mapcount, page_type)
    }

    /// A logically offline page.
    pub fn is_offline(&self, flags: u64, mapcount: i32, page_type: u32) -> bool {
        !self.is_slab(flags, mapcount, page_type)
            && Self::type_is(self.offline, mapcount, page_type)
    }

    /// Memory not yet accepted.
    pub fn is_unaccepted(&self, mapcount: i32, page_type: u32) -> bool {
        Self::type_is(self.unaccepted, mapcount, page_type)
    }

    /// On the LRU, or in the swap cache.
    pub fn is_cache(&self, flags: u64) -> bool {
        flags & self.lru != 0 || (flags & self.swapbacked != 0 && flags & self.swapcache != 0)
    }
}
