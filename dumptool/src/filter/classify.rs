//! Page classification, one window of pfns at a time, with makedumpfile's
//! rules and order of precedence: compound tails follow their head; then
//! free (a whole buddy block), cache without private, cache, user data
//! (anonymous or hugetlb, a whole folio), hwpoison, offline.
//!
//! `struct page` is read from the vmemmap in small chunks, so memory does not
//! grow with the dump; what each field means comes from [`super::rules`].

use super::bindings::{Folio, Page};
use super::level::{
    ClassCounts, PageClass, EXCLUDE_CACHE, EXCLUDE_CACHE_PRIVATE, EXCLUDE_FREE, EXCLUDE_USER_DATA,
};
use super::rules::{HugetlbTest, OrderSource, Rules, ALL_PAGE_RULES};
use super::FilterError;
use crate::dump::{Dump, KernelMemory};
use crate::kernel::CrashedKernel;

/// `struct page`s read per vmemmap access.
const CHUNK: u64 = 1024;
/// `PAGE_MAPPING_ANON`.
const MAPPING_ANON: u64 = 1;

/// The pfn of the compound head of the tail page `pfn`, from its
/// `compound_head` (7.x: `compound_info`) word; `None` for a page that is no
/// tail. The word has bit 0 set on a tail, and the rest is either the head's
/// `struct page` address or (7.x, with a power-of-two `struct page`) a mask
/// that turns the tail's `struct page` address into the head's.
///
/// ```
/// use dumptool::filter::classify::compound_head_pfn;
/// let vmemmap = 0xffffea0000000000u64;
/// // An address: the head is pfn 0x200.
/// assert_eq!(compound_head_pfn(vmemmap, 64, 0x203, vmemmap + 0x200 * 64 + 1), Some(0x200));
/// // A mask of an order-2 folio (4 struct pages of 64 bytes).
/// assert_eq!(compound_head_pfn(vmemmap, 64, 0x203, !0xffu64 | 1), Some(0x200));
/// assert_eq!(compound_head_pfn(vmemmap, 64, 0x203, vmemmap + 0x200 * 64), None);
/// ```
pub fn compound_head_pfn(vmemmap: u64, page_size: u64, pfn: u64, word: u64) -> Option<u64> {
    if word & 1 == 0 || page_size == 0 {
        return None;
    }
    let rest = word - 1;
    let head_addr = if (!rest).wrapping_add(1).is_power_of_two() && rest > vmemmap {
        // Ones from the top, then zeros: a mask over the tail's own address.
        vmemmap.checked_add(pfn.checked_mul(page_size)?)? & rest
    } else {
        rest
    };
    let off = head_addr.checked_sub(vmemmap)?;
    (off % page_size == 0).then_some(off / page_size)
}

/// Decides which pages a dump level excludes.
pub struct Classifier<'k> {
    /// `None` when the kernel could not be brought up: nothing is classified.
    mem: Option<&'k KernelMemory<'k>>,
    dump: &'k Dump,
    rules: Rules,
    /// `struct page` of pfn 0; `None` when unknown: then no `struct page` is
    /// read and nothing excluded (not even hwpoison or offline pages,
    /// which no dump level switches off).
    vmemmap: Option<u64>,
    page_size: usize,
    folio_size: usize,
    /// The kernel's own pfns (image, page tables), sorted: never excluded.
    own: Vec<u64>,
    /// The image's bss: its pages are the kernel's while still reserved.
    bss: std::ops::Range<u64>,
}

impl std::fmt::Debug for Classifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("vmemmap", &self.vmemmap.map(|v| format!("{v:#x}")))
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// The fields of one `struct page` the rules look at.
#[derive(Debug, Clone, Copy)]
struct PageFields {
    flags: u64,
    mapping: u64,
    private: u64,
    compound_head: u64,
    mapcount: i32,
    page_type: u32,
}

impl<'k> Classifier<'k> {
    /// A classifier for `kernel`, whose bindings in [`super::bindings`]
    /// should have been resolved against its BTF. What they lack switches
    /// rules off ([`Rules::degraded`]); nothing fails. The kernel's own pages
    /// (its image and its page tables) are never excluded, whatever their
    /// `struct page` says.
    pub fn new(kernel: &'k CrashedKernel<'k>) -> Classifier<'k> {
        let dump = kernel.dump();
        let mem = kernel.memory();
        let mut rules = Rules::new(dump.vmcoreinfo());
        let vmemmap = mem.vmemmap();
        if vmemmap.is_none() {
            rules.switch_off(
                ALL_PAGE_RULES,
                "the vmemmap base is unknown (no vmemmap_base symbol; on arm64, no VMEMMAP_START confirmed by a page-table walk)",
            );
        }
        let mut own = Vec::new();
        let image = |name: &str| {
            let v = kernel.kallsyms().lookup(name)?;
            mem.kernel_image_to_phys(v)
        };
        // The sections the running kernel keeps; init memory and the gaps
        // between sections are freed at boot and then used like any page.
        let mut kept_sections = Vec::new();
        let mut bss = 0..0;
        for (from, to) in [
            ("_stext", "_etext"),
            ("__start_rodata", "__end_rodata"),
            ("_sdata", "_edata"),
            ("__bss_start", "__bss_stop"),
        ] {
            match (image(from), image(to)) {
                (Some(a), Some(b)) if a < b => {
                    let (a, b) = (a >> 12, b.div_ceil(4096));
                    if from == "__bss_start" {
                        // 7.x gives part of the bss back to the page allocator:
                        // there only pages still reserved (PG_reserved) are the image's.
                        bss = a..b;
                    } else {
                        own.extend(a..b);
                    }
                    kept_sections.push(format!("{from}..{to} = pfn {a:#x}..{b:#x}"));
                }
                _ => rules.warnings.push(format!(
                    "the kernel image's {from}..{to} is unknown (kallsyms): its pages are classified like any other"
                )),
            }
        }
        if !kept_sections.is_empty() {
            rules.sources.push((
                "kernel image".into(),
                format!("{} (kallsyms): always kept", kept_sections.join(", ")),
            ));
        }
        let tables = mem.page_table_pfns(1 << 20);
        rules.sources.push((
            "kernel page tables".into(),
            format!(
                "{} pages reached from the top page table: always kept",
                tables.len()
            ),
        ));
        own.extend(tables);
        own.sort_unstable();
        own.dedup();
        Classifier {
            mem: Some(mem),
            dump,
            rules,
            vmemmap,
            page_size: Page::try_size().unwrap_or(0),
            folio_size: Folio::try_size().unwrap_or(0),
            own,
            bss,
        }
    }

    /// A classifier for a dump whose kernel could not be brought up (`why`):
    /// it excludes nothing (the writer still recognises zero pages).
    pub fn without_kernel(dump: &'k Dump, why: &str) -> Classifier<'k> {
        Classifier {
            mem: None,
            dump,
            rules: Rules::none(why),
            vmemmap: None,
            page_size: 0,
            folio_size: 0,
            own: Vec::new(),
            bss: 0..0,
        }
    }

    /// The dump it classifies the pages of.
    pub fn dump(&self) -> &'k Dump {
        self.dump
    }

    /// The rules in use, with their sources.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    fn fields(&self, bytes: &[u8]) -> Option<PageFields> {
        let p = Page::view(bytes).ok()?;
        Some(PageFields {
            flags: p.flags(),
            mapping: p.mapping().map_or(0, |m| m.addr),
            private: p.private().unwrap_or(0),
            compound_head: p.compound_head().unwrap_or(0),
            mapcount: p.mapcount().unwrap_or(-1),
            page_type: p.page_type().unwrap_or(p.mapcount().unwrap_or(-1) as u32),
        })
    }

    /// `(order, hugetlb)` of the large folio headed by the page at `bytes`.
    fn folio(&self, pfn: u64, bytes: &[u8], f: &PageFields) -> (u32, bool) {
        let Ok(folio) = Folio::view(bytes) else {
            return (0, false);
        };
        let order = match self.rules.order {
            Some(OrderSource::FolioOrder) => folio.folio_order().unwrap_or(0) as u32,
            Some(OrderSource::Flags1LowByte) => (folio.flags_1().unwrap_or(0) & 0xff) as u32,
            None => 0,
        };
        // A folio is aligned to its size; anything else is not a real order.
        let order = if order >= 64 || pfn & ((1u64 << order) - 1) != 0 {
            0
        } else {
            order
        };
        let hugetlb = match self.rules.hugetlb {
            HugetlbTest::Dtor(v) => folio.folio_dtor() == Some(v),
            HugetlbTest::TopByte(v) => (f.page_type >> 24) as u8 == v,
            HugetlbTest::Absent => false,
        };
        (order, hugetlb)
    }

    /// Reads the `struct page`s of `[start, start + n)` plus room for a
    /// folio view of the last one; `None` where the vmemmap is not readable.
    fn read_pages(&self, start: u64, n: u64) -> Option<Vec<u8>> {
        let sz = self.page_size as u64;
        let mut buf = vec![0u8; (n * sz) as usize + self.folio_size];
        let addr = self.vmemmap?.checked_add(start.checked_mul(sz)?)?;
        let mem = self.mem?;
        if mem.read_virt(addr, &mut buf).is_ok() {
            return Some(buf);
        }
        // The folio tail may run into an unmapped vmemmap page: read just the pages.
        buf.truncate((n * sz) as usize);
        mem.read_virt(addr, &mut buf).ok().map(|_| buf)
    }

    /// Classifies pfns `[start, start + out.len())` for `level`: `out[i]` is
    /// the class of an excluded page, `None` for a kept one (or one the dump
    /// does not hold). Zero pages are not decided here (see the writer).
    pub fn classify(
        &self,
        level: u32,
        start: u64,
        out: &mut [Option<PageClass>],
    ) -> Result<ClassCounts, FilterError> {
        out.fill(None);
        let mut counts = ClassCounts::default();
        // Rules switched off on this kernel keep their pages.
        let level = level & !self.rules.switched_off;
        if self.mem.is_none() || self.vmemmap.is_none() || self.page_size == 0 {
            return Ok(counts);
        }
        let end = start + out.len() as u64;
        let phys = self.dump.phys();
        let mut pfn = start;
        let sz = self.page_size;
        let mut chunk_start = u64::MAX;
        let mut chunk: Option<Vec<u8>> = None;
        while pfn < end {
            if !phys.page_state(pfn).is_readable() {
                pfn += 1;
                continue;
            }
            if pfn < chunk_start || pfn >= chunk_start + CHUNK {
                chunk_start = pfn;
                chunk = self.read_pages(pfn, CHUNK.min(end - pfn));
                if chunk.is_none() {
                    // Unreadable vmemmap: classify page by page where possible.
                    chunk_start = pfn;
                    chunk = self.read_pages(pfn, 1);
                    if chunk.is_none() {
                        pfn += 1;
                        chunk_start = u64::MAX;
                        continue;
                    }
                }
            }
            let buf = chunk.as_deref().unwrap_or(&[]);
            let off = ((pfn - chunk_start) as usize) * sz;
            let Some(bytes) = buf.get(off..) else {
                chunk_start = u64::MAX;
                continue;
            };
            let Some(f) = self.fields(bytes) else {
                pfn += 1;
                continue;
            };
            let r = &self.rules;
            if f.compound_head & 1 != 0 {
                pfn += 1; // a tail: its head decides
                continue;
            }
            let (order, hugetlb) = if f.flags & r.head != 0 {
                self.folio(pfn, bytes, &f)
            } else {
                (0, false)
            };
            let mut nr = 1u64 << order;
            // Slab and other kernel-typed pages reuse the words of `mapping`
            // and the LRU flags' neighbours: never take them for user data or cache.
            let owned = r.is_kernel_owned(f.flags, f.mapcount, f.page_type);
            let anon = !owned && f.mapping & MAPPING_ANON != 0;
            let cache = !owned && r.is_cache(f.flags);
            let private = f.flags & r.private != 0;
            let class = if level & EXCLUDE_FREE != 0 && r.is_buddy(f.flags, f.mapcount, f.page_type)
            {
                nr = if f.private < 64 { 1 << f.private } else { 1 };
                Some(PageClass::Free)
            } else if level & EXCLUDE_FREE != 0 && r.is_unaccepted(f.mapcount, f.page_type) {
                Some(PageClass::Free)
            } else if level & EXCLUDE_CACHE != 0 && cache && !private && !anon {
                Some(PageClass::Cache)
            } else if level & EXCLUDE_CACHE_PRIVATE != 0 && cache && !anon {
                Some(if private {
                    PageClass::CachePrivate
                } else {
                    PageClass::Cache
                })
            } else if level & EXCLUDE_USER_DATA != 0 && (anon || (hugetlb && !owned)) {
                Some(PageClass::User)
            } else if f.flags & r.hwpoison != 0 {
                Some(PageClass::Hwpoison)
            } else if r.is_offline(f.flags, f.mapcount, f.page_type) {
                Some(PageClass::Offline)
            } else {
                None
            };
            let Some(class) = class else {
                pfn += 1;
                continue;
            };
            let stop = pfn.saturating_add(nr).min(end);
            for p in pfn..stop {
                let reserved_bss = p == pfn && self.bss.contains(&p) && f.flags & r.reserved != 0;
                if reserved_bss || self.own.binary_search(&p).is_ok() {
                    continue; // the kernel's own page: a stale struct page must not drop it
                }
                // `pfn` itself was checked above; the rest of a block may hold holes.
                if p == pfn || phys.page_state(p).is_readable() {
                    out[(p - start) as usize] = Some(class);
                    counts.add(class, 1);
                }
            }
            pfn = stop;
        }
        Ok(counts)
    }
}
