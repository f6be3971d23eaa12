//! The tests that classify a `struct page`, built from the resolved bindings
//! (BTF) with VMCOREINFO as cross-check and as fallback for what BTF cannot
//! give (the `*_MAPCOUNT_VALUE` macros of kernels without `enum pagetype`).
//! Every rule records where its value came from. A rule whose inputs this
//! kernel lacks is switched off and its pages kept ([`Rules::degraded`]):
//! a readable dump is always written.

use super::bindings::{CompoundDtor, Folio, Page, PageFlags, PageType};
use super::level::{EXCLUDE_CACHE, EXCLUDE_CACHE_PRIVATE, EXCLUDE_FREE, EXCLUDE_USER_DATA};
use crate::dump::VmcoreInfo;

/// The dump-level bits whose pages are classified from `struct page`.
pub const ALL_PAGE_RULES: u32 =
    EXCLUDE_CACHE | EXCLUDE_CACHE_PRIVATE | EXCLUDE_USER_DATA | EXCLUDE_FREE;

/// Each such bit and its rule, in makedumpfile's words.
const PAGE_RULES: [(u32, &str); 4] = [
    (EXCLUDE_CACHE, "Non-private cache pages (-d 2)"),
    (EXCLUDE_CACHE_PRIVATE, "Private cache pages (-d 4)"),
    (EXCLUDE_USER_DATA, "User process data pages (-d 8)"),
    (EXCLUDE_FREE, "Free pages (-d 16)"),
];

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

/// A classification rule switched off on this kernel: its pages are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    /// Its dump-level bit (`-d`).
    pub level_bit: u32,
    /// The rule, in makedumpfile's words (e.g. "Free pages (-d 16)").
    pub rule: String,
    /// What this kernel's BTF and VMCOREINFO lack for it.
    pub missing: String,
}

/// Everything classification needs to know about this kernel.
#[derive(Debug, Clone)]
pub struct Rules {
    /// `1 << PG_lru`.
    pub lru: u64,
    /// `1 << PG_head` (0: large folios are not sized; their tails are kept).
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
    /// `1 << PG_reserved` (0 when unknown: the image's bss is then not protected).
    pub reserved: u64,
    /// Free (buddy) pages.
    pub buddy: TypeTest,
    /// Logically offline pages.
    pub offline: TypeTest,
    /// Slab pages, where slab is a page type.
    pub slab_type: TypeTest,
    /// Memory not yet accepted (excluded with the free pages).
    pub unaccepted: TypeTest,
    /// Large folio order (`None`: not known, tails are kept).
    pub order: Option<OrderSource>,
    /// Hugetlb folios.
    pub hugetlb: HugetlbTest,
    /// `page_type >> 24` values of memory the kernel owns (slab, page
    /// tables, ...): such a page is never user data or page cache, whatever
    /// the word overlaying `mapping` holds. Empty without `enum pagetype`.
    pub kernel_types: Vec<u8>,
    /// Dump-level bits (`-d`) this kernel's bindings cannot honour: the
    /// classification ignores them and keeps those pages.
    pub switched_off: u32,
    /// Every rule switched off, and why.
    pub degraded: Vec<Degraded>,
    /// `(rule, where its value came from)`, for the report.
    pub sources: Vec<(String, String)>,
    /// Disagreements between BTF and VMCOREINFO (BTF wins), and rules that
    /// work with less (e.g. large folios not sized).
    pub warnings: Vec<String>,
}

/// Whether an optional `struct page` member was found (false when `struct
/// page` itself was not resolved).
fn found(offset: Result<Option<usize>, ktype_runtime::NotResolved>) -> bool {
    matches!(offset, Ok(Some(_)))
}

impl Rules {
    /// Rules that classify nothing: every struct-page rule switched off for
    /// `why` (the kernel could not be brought up, no vmemmap, ...). Zero
    /// pages, which need no kernel knowledge, are still recognised by the writer.
    pub fn none(why: &str) -> Rules {
        let mut r = Rules::empty();
        r.switch_off(ALL_PAGE_RULES, why);
        r
    }

    fn empty() -> Rules {
        Rules {
            lru: 0,
            head: 0,
            private: 0,
            swapbacked: 0,
            swapcache: 0,
            slab_flag: 0,
            hwpoison: 0,
            reserved: 0,
            buddy: TypeTest::Absent,
            offline: TypeTest::Absent,
            slab_type: TypeTest::Absent,
            unaccepted: TypeTest::Absent,
            order: None,
            hugetlb: HugetlbTest::Absent,
            kernel_types: Vec::new(),
            switched_off: 0,
            degraded: Vec::new(),
            sources: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Switches off the rules of the dump-level `bits` (those not off yet), for `why`.
    pub fn switch_off(&mut self, bits: u32, why: &str) {
        for (bit, rule) in PAGE_RULES {
            if bits & bit != 0 && self.switched_off & bit == 0 {
                self.switched_off |= bit;
                self.degraded.push(Degraded {
                    level_bit: bit,
                    rule: rule.to_string(),
                    missing: why.to_string(),
                });
            }
        }
    }

    /// Builds the rules from the resolved bindings (BTF) and `info`. A rule
    /// whose bindings and VMCOREINFO fallback are both missing is switched
    /// off (see [`Rules::degraded`]); nothing here fails.
    pub fn new(info: Option<&VmcoreInfo>) -> Rules {
        let mut r = Rules::empty();
        if let Err(e) = Page::try_size() {
            r.switch_off(ALL_PAGE_RULES, &format!("struct page: {e}"));
            return r;
        }
        let mut sources = Vec::new();
        let mut warnings = Vec::new();
        let mut flag = |v: PageFlags, name: &str| -> Option<u64> {
            let check = info.and_then(|i| i.number(name));
            let bit = match v.try_value() {
                Ok(Some(bit)) if bit < 64 => bit,
                _ => {
                    // VMCOREINFO exports the flags makedumpfile needs: the fallback.
                    let n = check.filter(|n| (0..64).contains(n))?;
                    sources.push((
                        format!("{name} = {n}"),
                        format!("VMCOREINFO NUMBER({name}) (BTF enum pageflags lacks it)"),
                    ));
                    return Some(1u64 << n);
                }
            };
            let note = match check {
                Some(n) if n as u64 == bit => format!("VMCOREINFO NUMBER({name})={n} agrees"),
                Some(n) => {
                    warnings.push(format!(
                        "{name}: BTF says {bit}, VMCOREINFO NUMBER({name})={n}; using BTF"
                    ));
                    format!("VMCOREINFO says {n}")
                }
                None if name == "PG_head" => match info.and_then(|i| i.number("PG_head_mask")) {
                    Some(m) if m as u64 == 1u64 << bit => {
                        format!("VMCOREINFO NUMBER(PG_head_mask)={m} agrees")
                    }
                    Some(m) => {
                        warnings.push(format!(
                            "PG_head: BTF says {bit}, VMCOREINFO NUMBER(PG_head_mask)={m}; using BTF"
                        ));
                        format!("VMCOREINFO PG_head_mask says {m}")
                    }
                    None => "not in VMCOREINFO".into(),
                },
                None => "not in VMCOREINFO".into(),
            };
            sources.push((
                format!("{name} = {bit}"),
                format!("BTF enum pageflags ({note})"),
            ));
            Some(1u64 << bit)
        };
        let lru = flag(PageFlags::PG_lru, "PG_lru");
        let head = flag(PageFlags::PG_head, "PG_head");
        let private = flag(PageFlags::PG_private, "PG_private");
        let swapbacked = flag(PageFlags::PG_swapbacked, "PG_swapbacked");
        let swapcache = flag(PageFlags::PG_swapcache, "PG_swapcache");
        let slab_flag = if PageFlags::PG_slab.is_present() {
            flag(PageFlags::PG_slab, "PG_slab").unwrap_or(0)
        } else {
            0
        };
        let hwpoison = flag(PageFlags::PG_hwpoison, "PG_hwpoison").unwrap_or(0);
        let reserved = flag(PageFlags::PG_reserved, "PG_reserved").unwrap_or(0);

        let type_word = found(Page::try_page_type_offset()) || found(Page::try_mapcount_offset());
        // 6.12+: page types live in the top byte of page_type (`enum pagetype`).
        let pagetype_enum = PageType::ALL.iter().any(|v| v.is_present());
        let types = pagetype_enum && found(Page::try_page_type_offset());
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
                Some(n) if !pagetype_enum && found(Page::try_mapcount_offset()) => {
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

        let order = if matches!(Folio::try_folio_order_offset(), Ok(Some(_))) {
            sources.push((
                "large folio order".into(),
                "struct folio._folio_order (BTF)".into(),
            ));
            Some(OrderSource::FolioOrder)
        } else if matches!(Folio::try_flags_1_offset(), Ok(Some(_))) {
            sources.push((
                "large folio order".into(),
                "low byte of struct folio._flags_1 (BTF: the folio has no _folio_order)".into(),
            ));
            Some(OrderSource::Flags1LowByte)
        } else {
            warnings.push("struct folio has neither _folio_order nor _flags_1: large folios are not sized, their tail pages are kept".into());
            None
        };
        if head.is_none() {
            warnings.push(
                "no PG_head (BTF or VMCOREINFO): large folios are not sized, their tail pages are kept"
                    .into(),
            );
        }

        let hugetlb = if let (Ok(Some(_)), Ok(Some(v))) = (
            Folio::try_folio_dtor_offset(),
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
        let buddy_ok = !matches!(buddy, TypeTest::Absent);
        let slab_known = slab_flag != 0 || !matches!(slab_type, TypeTest::Absent);
        r = Rules {
            lru: lru.unwrap_or(0),
            head: head.unwrap_or(0),
            private: private.unwrap_or(0),
            swapbacked: swapbacked.unwrap_or(0),
            swapcache: swapcache.unwrap_or(0),
            slab_flag,
            hwpoison,
            reserved,
            buddy,
            offline,
            slab_type,
            unaccepted,
            order,
            hugetlb,
            kernel_types,
            sources,
            warnings,
            ..r
        };

        // What each dump-level rule cannot do without. A rule is only as good
        // as its weakest input: a missing one keeps its pages rather than guess.
        let mut missing = |bits: u32, what: &str, ok: bool| {
            if !ok {
                r.switch_off(bits, what);
            }
        };
        let cache_and_user = EXCLUDE_CACHE | EXCLUDE_CACHE_PRIVATE | EXCLUDE_USER_DATA;
        missing(
            cache_and_user,
            "struct page has no compound_head/compound_info (tail pages cannot be told from their heads)",
            found(Page::try_compound_head_offset()),
        );
        missing(
            cache_and_user,
            "struct page has no mapping (anonymous memory cannot be recognised)",
            found(Page::try_mapping_offset()),
        );
        // 6.12+ keeps slab and page tables apart from user memory only through the page type.
        missing(
            cache_and_user,
            "this kernel has page types (enum pagetype) but struct page has no page_type: kernel-owned pages could pass for user data or cache",
            !pagetype_enum || types,
        );
        // Slab pages reuse the words of `mapping` and `lru` (6.12+: a stray bit 0 looks anonymous).
        missing(
            cache_and_user,
            "slab pages cannot be recognised (no PG_slab in BTF or VMCOREINFO, no PGTY_slab in BTF enum pagetype, no NUMBER(PAGE_SLAB_MAPCOUNT_VALUE) in VMCOREINFO): they could pass for user data or cache",
            slab_known,
        );
        missing(
            EXCLUDE_CACHE | EXCLUDE_CACHE_PRIVATE,
            "no PG_lru (BTF enum pageflags or VMCOREINFO NUMBER(PG_lru))",
            lru.is_some(),
        );
        missing(
            EXCLUDE_CACHE,
            "no PG_private (BTF enum pageflags or VMCOREINFO NUMBER(PG_private))",
            private.is_some(),
        );
        missing(
            EXCLUDE_FREE,
            "struct page has neither page_type nor _mapcount",
            type_word,
        );
        missing(
            EXCLUDE_FREE,
            "struct page has no _mapcount (where this kernel, without enum pagetype, keeps PAGE_BUDDY_MAPCOUNT_VALUE)",
            pagetype_enum || found(Page::try_mapcount_offset()),
        );
        missing(
            EXCLUDE_FREE,
            "free pages cannot be recognised: no enum pagetype PGTY_buddy in BTF and no NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE) in VMCOREINFO",
            buddy_ok,
        );
        missing(
            EXCLUDE_FREE,
            "struct page has no private (the order of a free block)",
            found(Page::try_private_offset()),
        );
        if swapbacked.is_none() || swapcache.is_none() {
            r.warnings.push("no PG_swapbacked or PG_swapcache: swap cache pages are not recognised as cache (they are kept)".into());
        }
        r
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
    pub fn is_kernel_owned(&self, flags: u64, mapcount: i32, page_type: u32) -> bool {
        self.is_slab(flags, mapcount, page_type)
            || self.kernel_types.contains(&((page_type >> 24) as u8))
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
