//! Kernel virtual memory of an x86_64 dump, KASLR included.
//!
//! - Kernel image (`__START_KERNEL_map` = `0xffffffff80000000` up to
//!   `NUMBER(KERNEL_IMAGE_SIZE)`): `paddr = vaddr - __START_KERNEL_map +
//!   phys_base`, with `NUMBER(phys_base)` from VMCOREINFO.
//! - Anything else: a 4- or 5-level (`NUMBER(pgtable_l5_enabled)`) walk of
//!   the kernel page tables from `SYMBOL(init_top_pgt)`, whose physical
//!   address comes from the kernel-image formula. 1 GiB and 2 MiB pages are
//!   handled; entry addresses are masked to 52 bits and cleared of the SME
//!   encryption bit (`NUMBER(sme_mask)`). Walk results are cached in a small
//!   software TLB.
//! - Fast paths callers may enable once they know the values (from kallsyms):
//!   the direct map ([`KernelMemory::set_direct_map`], `paddr = vaddr -
//!   page_offset_base`) and the vmemmap base ([`KernelMemory::set_vmemmap`]).

use super::error::DumpError;
use super::source::Region;
use super::Dump;
use std::fmt;
use std::sync::Mutex;

/// Where the kernel image is mapped (`__START_KERNEL_map`).
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// `KERNEL_IMAGE_SIZE` when VMCOREINFO does not say (1 GiB with KASLR).
const DEFAULT_KERNEL_IMAGE_SIZE: u64 = 1 << 30;
/// Physical-address bits of a page-table entry (bits 12..51).
const PTE_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const PRESENT: u64 = 1;
const PAGE_SIZE_BIT: u64 = 1 << 7;
/// Software TLB entries.
const TLB_ENTRIES: usize = 32;

/// A level of the x86_64 page tables (Intel's names; Linux's in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageLevel {
    /// PML5 (Linux `pgd` with 5-level paging).
    Pml5,
    /// PML4 (Linux `pgd`, or `p4d` with 5-level paging).
    Pml4,
    /// Page-directory-pointer table (Linux `pud`); may map 1 GiB pages.
    Pdpt,
    /// Page directory (Linux `pmd`); may map 2 MiB pages.
    Pd,
    /// Page table (Linux `pte`); maps 4 KiB pages.
    Pt,
}

impl PageLevel {
    /// The address bit this level's index starts at.
    fn shift(self) -> u32 {
        match self {
            PageLevel::Pml5 => 48,
            PageLevel::Pml4 => 39,
            PageLevel::Pdpt => 30,
            PageLevel::Pd => 21,
            PageLevel::Pt => 12,
        }
    }
}

impl fmt::Display for PageLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PageLevel::Pml5 => "PML5 (pgd)",
            PageLevel::Pml4 => "PML4 (pgd/p4d)",
            PageLevel::Pdpt => "PDPT (pud)",
            PageLevel::Pd => "PD (pmd)",
            PageLevel::Pt => "PT (pte)",
        })
    }
}

/// How a virtual address was translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// The kernel-image formula.
    KernelImage,
    /// The direct-map fast path.
    DirectMap,
    /// A page-table walk ending at this level.
    PageTable(PageLevel),
}

/// The result of a translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The physical address.
    pub paddr: u64,
    /// Bytes from `paddr` on that are physically contiguous with it (to the
    /// end of the page, huge page or linear region).
    pub contiguous: u64,
    /// How it was found.
    pub method: Method,
}

/// A cached walk: `size`-byte page at virtual `vbase` maps to `pbase`.
#[derive(Debug, Clone, Copy)]
struct TlbEntry {
    vbase: u64,
    size: u64,
    pbase: u64,
    level: PageLevel,
}

#[derive(Debug, Default)]
struct Tlb {
    entries: Vec<TlbEntry>,
    next: usize,
}

/// Kernel virtual memory of an x86_64 [`Dump`].
pub struct KernelMemory<'a> {
    dump: &'a Dump,
    phys_base: u64,
    kernel_image_size: u64,
    top_pgt_vaddr: u64,
    top_pgt_paddr: u64,
    five_level: bool,
    addr_mask: u64,
    direct_map: Option<u64>,
    vmemmap: Option<u64>,
    tlb: Mutex<Tlb>,
}

impl fmt::Debug for KernelMemory<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelMemory")
            .field("dump", &self.dump.path())
            .field("phys_base", &format_args!("{:#x}", self.phys_base))
            .field("top_pgt", &format_args!("{:#x}", self.top_pgt_paddr))
            .field("five_level", &self.five_level)
            .finish()
    }
}

impl<'a> KernelMemory<'a> {
    /// Prepares translation for `dump` from its VMCOREINFO (`init_top_pgt`,
    /// `phys_base`, `pgtable_l5_enabled`, `sme_mask`, `KERNEL_IMAGE_SIZE`).
    pub fn new(dump: &'a Dump) -> Result<KernelMemory<'a>, DumpError> {
        let path = dump.path();
        let unsupported = |detail: String| DumpError::Unsupported {
            path: path.to_path_buf(),
            detail,
        };
        if dump.machine() != "x86_64" {
            return Err(unsupported(format!(
                "virtual address translation is implemented for x86_64, this dump is {}",
                dump.machine()
            )));
        }
        let info = dump.vmcoreinfo().ok_or_else(|| {
            unsupported(
                "the dump has no VMCOREINFO, so the kernel page tables cannot be found".into(),
            )
        })?;
        let top_pgt_vaddr = info
            .symbol("init_top_pgt")
            .or_else(|| info.symbol("swapper_pg_dir"))
            .ok_or_else(|| DumpError::Invalid {
                path: path.to_path_buf(),
                what: "VMCOREINFO".into(),
                detail: "neither SYMBOL(init_top_pgt) nor SYMBOL(swapper_pg_dir) is there".into(),
            })?;
        let phys_base = info
            .phys_base
            .or_else(|| phys_base_from_elf(dump))
            .or_else(|| dump.kdump_header().map(|h| h.phys_base))
            .ok_or_else(|| DumpError::Invalid {
                path: path.to_path_buf(),
                what: "VMCOREINFO".into(),
                detail: "no NUMBER(phys_base), and the dump gives no other way to find it".into(),
            })?;
        let kernel_image_size = info
            .number("KERNEL_IMAGE_SIZE")
            .map(|n| n as u64)
            .filter(|&n| n > 0 && n <= 0u64.wrapping_sub(START_KERNEL_MAP))
            .unwrap_or(DEFAULT_KERNEL_IMAGE_SIZE);
        let sme_mask = info.number("sme_mask").unwrap_or(0) as u64;
        let mut mem = KernelMemory {
            dump,
            phys_base,
            kernel_image_size,
            top_pgt_vaddr,
            top_pgt_paddr: 0,
            five_level: info.pgtable_l5_enabled,
            addr_mask: PTE_ADDR_MASK & !sme_mask,
            direct_map: None,
            vmemmap: None,
            tlb: Mutex::new(Tlb::default()),
        };
        mem.top_pgt_paddr =
            mem.kernel_image_to_phys(top_pgt_vaddr)
                .ok_or_else(|| DumpError::Invalid {
                    path: path.to_path_buf(),
                    what: "VMCOREINFO".into(),
                    detail: format!(
                    "SYMBOL(init_top_pgt) = {top_pgt_vaddr:#x} is not in the kernel image mapping"
                ),
                })?;
        Ok(mem)
    }

    /// The dump.
    pub fn dump(&self) -> &'a Dump {
        self.dump
    }

    /// `phys_base`: physical address of the kernel image minus its link-time
    /// offset (two's complement, may be "negative").
    pub fn phys_base(&self) -> u64 {
        self.phys_base
    }

    /// Virtual address of the top-level page table (`init_top_pgt`).
    pub fn top_pgt_vaddr(&self) -> u64 {
        self.top_pgt_vaddr
    }

    /// Physical address of the top-level page table.
    pub fn top_pgt_paddr(&self) -> u64 {
        self.top_pgt_paddr
    }

    /// Whether the kernel uses 5-level paging.
    pub fn five_level(&self) -> bool {
        self.five_level
    }

    /// Enables the direct-map fast path: `[page_offset_base, +max_pfn pages)`
    /// translates as `vaddr - page_offset_base`.
    pub fn set_direct_map(&mut self, page_offset_base: u64) {
        self.direct_map = Some(page_offset_base);
    }

    /// The direct-map base, once set.
    pub fn direct_map(&self) -> Option<u64> {
        self.direct_map
    }

    /// Records `vmemmap_base` (the `struct page` array), for
    /// [`KernelMemory::struct_page_addr`]. Its translations go through the
    /// page tables (it is not linear in physical memory) and are cached per
    /// mapping, usually 2 MiB pages.
    pub fn set_vmemmap(&mut self, vmemmap_base: u64) {
        self.vmemmap = Some(vmemmap_base);
    }

    /// The vmemmap base, once set.
    pub fn vmemmap(&self) -> Option<u64> {
        self.vmemmap
    }

    /// Virtual address of the `struct page` of `pfn`: needs
    /// [`KernelMemory::set_vmemmap`] and VMCOREINFO's `SIZE(page)`.
    pub fn struct_page_addr(&self, pfn: u64) -> Option<u64> {
        let size = self.dump.vmcoreinfo()?.size("page")?;
        self.vmemmap?.checked_add(pfn.checked_mul(size)?)
    }

    /// The kernel-image formula alone: `Some(vaddr - __START_KERNEL_map +
    /// phys_base)` inside the kernel image mapping, else `None`.
    pub fn kernel_image_to_phys(&self, vaddr: u64) -> Option<u64> {
        let off = vaddr.checked_sub(START_KERNEL_MAP)?;
        (off < self.kernel_image_size).then(|| off.wrapping_add(self.phys_base))
    }

    fn translate_error(&self, vaddr: u64, detail: String) -> DumpError {
        DumpError::Translate {
            path: self.dump.path().to_path_buf(),
            vaddr,
            detail,
            source: None,
        }
    }

    /// Translates `vaddr` by walking the page tables only (no formula, no
    /// fast path, no cache).
    pub fn walk(&self, vaddr: u64) -> Result<Translation, DumpError> {
        let (bits, levels): (u32, &[PageLevel]) = if self.five_level {
            (
                57,
                &[
                    PageLevel::Pml5,
                    PageLevel::Pml4,
                    PageLevel::Pdpt,
                    PageLevel::Pd,
                    PageLevel::Pt,
                ],
            )
        } else {
            (
                48,
                &[
                    PageLevel::Pml4,
                    PageLevel::Pdpt,
                    PageLevel::Pd,
                    PageLevel::Pt,
                ],
            )
        };
        let upper = (vaddr as i64) >> (bits - 1);
        if upper != 0 && upper != -1 {
            return Err(self.translate_error(
                vaddr,
                format!("not a canonical address for {bits}-bit virtual addresses"),
            ));
        }
        let mut table = self.top_pgt_paddr;
        for &level in levels {
            let shift = level.shift();
            let index = (vaddr >> shift) & 511;
            let at = table + index * 8;
            let mut raw = [0u8; 8];
            self.dump
                .phys()
                .read_phys(at, &mut raw)
                .map_err(|e| DumpError::Translate {
                    path: self.dump.path().to_path_buf(),
                    vaddr,
                    detail: format!(
                        "cannot read {level} entry {index} at physical address {at:#x}"
                    ),
                    source: Some(Box::new(e)),
                })?;
            let entry = u64::from_le_bytes(raw);
            if entry & PRESENT == 0 {
                return Err(self.translate_error(
                    vaddr,
                    format!(
                        "{level} entry {index} (at physical address {at:#x}) is not present \
                         (entry {entry:#x})"
                    ),
                ));
            }
            let addr = entry & self.addr_mask;
            let huge = entry & PAGE_SIZE_BIT != 0;
            match level {
                PageLevel::Pt => {
                    return Ok(Translation {
                        paddr: addr | (vaddr & 0xfff),
                        contiguous: 0x1000 - (vaddr & 0xfff),
                        method: Method::PageTable(level),
                    })
                }
                PageLevel::Pdpt | PageLevel::Pd if huge => {
                    let size = 1u64 << shift;
                    let off = vaddr & (size - 1);
                    return Ok(Translation {
                        paddr: (addr & !(size - 1)) | off,
                        contiguous: size - off,
                        method: Method::PageTable(level),
                    });
                }
                PageLevel::Pml5 | PageLevel::Pml4 if huge => {
                    return Err(self.translate_error(
                        vaddr,
                        format!(
                            "{level} entry {index} (at physical address {at:#x}) has the page-size \
                             bit set, which is invalid at that level (entry {entry:#x})"
                        ),
                    ));
                }
                _ => table = addr,
            }
        }
        Err(self.translate_error(vaddr, "page-table walk did not end".into()))
    }

    /// The physical page frames of every page-table page of the kernel's own
    /// tree (the top table and every table it leads to), sorted. Unreadable
    /// or absurd entries are skipped; at most `limit` tables are visited.
    pub fn page_table_pfns(&self, limit: usize) -> Vec<u64> {
        let levels = if self.five_level { 5 } else { 4 };
        let mut out = vec![self.top_pgt_paddr >> 12];
        let mut seen = std::collections::HashSet::new();
        let mut todo = vec![(self.top_pgt_paddr, levels)];
        let mut page = [0u8; 4096];
        while let Some((table, level)) = todo.pop() {
            if out.len() >= limit {
                break;
            }
            if self.dump.phys().read_phys(table, &mut page).is_err() {
                continue;
            }
            // The lowest level holds pages, not tables.
            if level == 1 {
                continue;
            }
            for raw in page.chunks_exact(8) {
                let entry = u64::from_le_bytes(raw.try_into().unwrap_or([0; 8]));
                // Leaves (huge pages) end the tree below levels 3 and 2.
                if entry & PRESENT == 0 || (level <= 3 && entry & PAGE_SIZE_BIT != 0) {
                    continue;
                }
                let next = entry & self.addr_mask;
                let pfn = next >> 12;
                if seen.insert(pfn) && self.dump.phys().page_state(pfn).is_readable() {
                    out.push(pfn);
                    todo.push((next, level - 1));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Translates `vaddr`: direct-map fast path, kernel-image formula, else
    /// a (cached) page-table walk.
    pub fn translate_ext(&self, vaddr: u64) -> Result<Translation, DumpError> {
        if let Some(base) = self.direct_map {
            let limit = self.dump.max_pfn().saturating_mul(self.dump.page_size());
            if let Some(off) = vaddr.checked_sub(base).filter(|&o| o < limit) {
                return Ok(Translation {
                    paddr: off,
                    contiguous: limit - off,
                    method: Method::DirectMap,
                });
            }
        }
        if let Some(p) = self.kernel_image_to_phys(vaddr) {
            let contiguous = self.kernel_image_size - (vaddr - START_KERNEL_MAP);
            return Ok(Translation {
                paddr: p,
                contiguous,
                method: Method::KernelImage,
            });
        }
        {
            let tlb = self.tlb.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = tlb
                .entries
                .iter()
                .find(|e| vaddr.wrapping_sub(e.vbase) < e.size)
            {
                let off = vaddr - e.vbase;
                return Ok(Translation {
                    paddr: e.pbase + off,
                    contiguous: e.size - off,
                    method: Method::PageTable(e.level),
                });
            }
        }
        let t = self.walk(vaddr)?;
        if let Method::PageTable(level) = t.method {
            let size = 1u64 << level.shift();
            let off = vaddr & (size - 1);
            let entry = TlbEntry {
                vbase: vaddr - off,
                size,
                pbase: t.paddr - off,
                level,
            };
            let mut tlb = self.tlb.lock().unwrap_or_else(|e| e.into_inner());
            if tlb.entries.len() < TLB_ENTRIES {
                tlb.entries.push(entry);
            } else {
                let i = tlb.next;
                tlb.entries[i] = entry;
                tlb.next = (i + 1) % TLB_ENTRIES;
            }
        }
        Ok(t)
    }

    /// Translates `vaddr` to a physical address.
    pub fn translate(&self, vaddr: u64) -> Result<u64, DumpError> {
        self.translate_ext(vaddr).map(|t| t.paddr)
    }

    /// Fills `buf` from kernel virtual address `vaddr`, across pages.
    pub fn read_virt(&self, vaddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
        let mut done = 0usize;
        while done < buf.len() {
            let addr = vaddr.wrapping_add(done as u64);
            let t = self.translate_ext(addr)?;
            let n = (t.contiguous.min((buf.len() - done) as u64)) as usize;
            self.dump
                .phys()
                .read_phys(t.paddr, &mut buf[done..done + n])
                .map_err(|e| match e {
                    DumpError::NotPresent {
                        path,
                        paddr,
                        vaddr: None,
                        reason,
                    } => DumpError::NotPresent {
                        path,
                        paddr,
                        vaddr: Some(addr.wrapping_add(paddr.wrapping_sub(t.paddr))),
                        reason,
                    },
                    e => e,
                })?;
            done += n;
        }
        Ok(())
    }

    /// The `len` bytes at `vaddr` as a [`Region`]: in place (no copy) when
    /// they are physically contiguous and the dump stores them contiguously
    /// in a mapped file (the kernel image's data in an ELF dump such as
    /// /proc/vmcore), else a copy.
    pub fn region_virt(&self, vaddr: u64, len: usize) -> Result<Region, DumpError> {
        let first = self.translate_ext(vaddr)?;
        let mut covered = first.contiguous.min(len as u64);
        while covered < len as u64 {
            let t = self.translate_ext(vaddr.wrapping_add(covered))?;
            if t.paddr != first.paddr.wrapping_add(covered) {
                break;
            }
            covered += t.contiguous.max(1);
        }
        if covered >= len as u64 {
            if let Some(r) = self.dump.phys().phys_region(first.paddr, len) {
                return Ok(r);
            }
        }
        self.read_bytes(vaddr, len)
            .map(|b| Region::Owned(b.into_boxed_slice()))
    }

    /// `len` bytes at `vaddr`.
    pub fn read_bytes(&self, vaddr: u64, len: usize) -> Result<Vec<u8>, DumpError> {
        let mut v = vec![0u8; len];
        self.read_virt(vaddr, &mut v)?;
        Ok(v)
    }

    fn read_array<const N: usize>(&self, vaddr: u64) -> Result<[u8; N], DumpError> {
        let mut b = [0u8; N];
        self.read_virt(vaddr, &mut b)?;
        Ok(b)
    }

    /// A `u8` at `vaddr`.
    pub fn read_u8(&self, vaddr: u64) -> Result<u8, DumpError> {
        Ok(self.read_array::<1>(vaddr)?[0])
    }

    /// A little-endian `u16` at `vaddr`.
    pub fn read_u16(&self, vaddr: u64) -> Result<u16, DumpError> {
        self.read_array(vaddr).map(u16::from_le_bytes)
    }

    /// A little-endian `u32` at `vaddr`.
    pub fn read_u32(&self, vaddr: u64) -> Result<u32, DumpError> {
        self.read_array(vaddr).map(u32::from_le_bytes)
    }

    /// A little-endian `u64` at `vaddr`.
    pub fn read_u64(&self, vaddr: u64) -> Result<u64, DumpError> {
        self.read_array(vaddr).map(u64::from_le_bytes)
    }

    /// A little-endian `i32` at `vaddr`.
    pub fn read_i32(&self, vaddr: u64) -> Result<i32, DumpError> {
        self.read_array(vaddr).map(i32::from_le_bytes)
    }

    /// A little-endian `i64` at `vaddr`.
    pub fn read_i64(&self, vaddr: u64) -> Result<i64, DumpError> {
        self.read_array(vaddr).map(i64::from_le_bytes)
    }

    /// A NUL-terminated string at `vaddr`, at most `max` bytes (lossy UTF-8).
    pub fn read_cstr(&self, vaddr: u64, max: usize) -> Result<String, DumpError> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 64];
        while out.len() < max {
            let addr = vaddr.wrapping_add(out.len() as u64);
            // Stay within one page per read so a string ending just before
            // an unreadable page still reads.
            let to_page_end = (0x1000 - (addr & 0xfff)) as usize;
            let n = chunk.len().min(max - out.len()).min(to_page_end);
            self.read_virt(addr, &mut chunk[..n])?;
            if let Some(z) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..z]);
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// `phys_base` from an ELF dump's kernel-text `PT_LOAD` (`/proc/vmcore` has
/// one with `p_vaddr` in the kernel image mapping).
fn phys_base_from_elf(dump: &Dump) -> Option<u64> {
    dump.elf_segments()?
        .iter()
        .find(|s| s.p_type == super::elf::PT_LOAD && s.p_vaddr >= START_KERNEL_MAP && s.p_memsz > 0)
        .map(|s| s.p_paddr.wrapping_sub(s.p_vaddr - START_KERNEL_MAP))
}

#[cfg(test)]
mod tests {
    use super::super::elf::synth::{elf, note, Load};
    use super::*;

    const SME: u64 = 1 << 47;
    const NX: u64 = 1 << 63;

    /// A sign-extended virtual address from 5-level indices.
    fn va5(l5: u64, l4: u64, l3: u64, l2: u64, l1: u64, off: u64) -> u64 {
        let v = (l5 << 48) | (l4 << 39) | (l3 << 30) | (l2 << 21) | (l1 << 12) | off;
        (((v << 7) as i64) >> 7) as u64
    }

    /// 64 KiB of physical memory holding 5-level page tables: PML5 at
    /// 0x1000, PML4 0x2000, PDPT 0x3000, PD 0x4000, PT 0x5000, data at
    /// 0x6000. Entries carry the SME bit and NX, which must be masked off.
    fn memory() -> Vec<u8> {
        let mut m = vec![0u8; 0x10000];
        let mut set = |table: usize, index: usize, entry: u64| {
            let at = table + index * 8;
            m[at..at + 8].copy_from_slice(&entry.to_le_bytes());
        };
        let flags = SME | NX | 0x63; // present, rw, accessed, dirty
        set(0x1000, 500, 0x2000 | flags);
        set(0x2000, 3, 0x3000 | flags);
        set(0x3000, 4, 0x4000 | flags);
        set(0x3000, 8, flags | PAGE_SIZE_BIT); // 1 GiB page at 0
        set(0x4000, 5, 0x5000 | flags);
        set(0x4000, 7, flags | PAGE_SIZE_BIT | 0x1000); // 2 MiB page at 0 (PAT bit set)
        set(0x4000, 9, 0x7000 | SME); // not present
        set(0x5000, 6, 0x6000 | flags);
        set(0x5000, 7, 0x8000 | flags);
        set(0x1000, 501, 0x2000 | flags | PAGE_SIZE_BIT); // invalid huge PML5 entry
        for (i, b) in m[0x6000..0x9000].iter_mut().enumerate() {
            *b = (i % 253) as u8;
        }
        m
    }

    #[test]
    fn five_level_walk_huge_pages_and_sme() {
        let info = format!(
            "OSRELEASE=6.99\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)=0\n\
             NUMBER(pgtable_l5_enabled)=1\nNUMBER(sme_mask)={SME}\n",
            START_KERNEL_MAP + 0x1000
        );
        let loads = [Load {
            paddr: 0,
            vaddr: 0,
            data: memory(),
            memsz: 0x10000,
        }];
        let p = std::env::temp_dir().join(format!("dumptool-x86-{}", std::process::id()));
        std::fs::write(
            &p,
            elf(&note("VMCOREINFO", 0, info.as_bytes()), &loads, false),
        )
        .unwrap();
        let dump = Dump::open(&p).unwrap();
        let mut mem = KernelMemory::new(&dump).unwrap();
        assert!(mem.five_level());
        assert_eq!(mem.top_pgt_paddr(), 0x1000);

        // 4 KiB pages, across a page boundary (0x6000 then 0x8000).
        let v = va5(500, 3, 4, 5, 6, 0xff0);
        let t = mem.walk(v).unwrap();
        assert_eq!(
            (t.paddr, t.contiguous, t.method),
            (0x6ff0, 0x10, Method::PageTable(PageLevel::Pt))
        );
        let b = mem.read_bytes(v, 0x20).unwrap();
        let m = memory();
        assert_eq!(&b[..0x10], &m[0x6ff0..0x7000]);
        assert_eq!(&b[0x10..], &m[0x8000..0x8010]);
        // 2 MiB and 1 GiB pages map physical 0.
        let t = mem.walk(va5(500, 3, 4, 7, 6, 0x10)).unwrap();
        assert_eq!(
            (t.paddr, t.method),
            (0x6010, Method::PageTable(PageLevel::Pd))
        );
        let t = mem.walk(va5(500, 3, 8, 0, 6, 0x10)).unwrap();
        assert_eq!(
            (t.paddr, t.method),
            (0x6010, Method::PageTable(PageLevel::Pdpt))
        );
        assert_eq!(
            mem.read_u64(va5(500, 3, 8, 0, 6, 0)).unwrap(),
            u64::from_le_bytes(m[0x6000..0x6008].try_into().unwrap())
        );
        // Cached translations give the same answers.
        assert_eq!(mem.translate(va5(500, 3, 4, 7, 6, 0x10)).unwrap(), 0x6010);
        assert_eq!(mem.translate(va5(500, 3, 4, 7, 6, 0x18)).unwrap(), 0x6018);
        // Failures name the level.
        let e = mem
            .translate(va5(500, 3, 4, 9, 0, 0))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PD (pmd) entry 9") && e.contains("not present"),
            "{e}"
        );
        let e = mem
            .translate(va5(499, 0, 0, 0, 0, 0))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PML5 (pgd) entry 499") && e.contains("not present"),
            "{e}"
        );
        let e = mem
            .translate(va5(501, 0, 0, 0, 0, 0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("page-size bit"), "{e}");
        let e = mem.translate(1 << 56).unwrap_err().to_string();
        assert!(e.contains("not a canonical address for 57-bit"), "{e}");
        // A PT entry pointing past the dump: translation works, the read
        // names both addresses.
        let e = mem.read_u64(va5(500, 3, 8, 0, 0x20, 0)).unwrap_err();
        assert!(
            matches!(
                e,
                DumpError::NotPresent {
                    paddr: 0x20000,
                    vaddr: Some(_),
                    ..
                }
            ),
            "{e}"
        );
        // Kernel-image formula and the direct-map fast path.
        assert_eq!(mem.translate(START_KERNEL_MAP + 0x6000).unwrap(), 0x6000);
        assert_eq!(mem.read_u8(START_KERNEL_MAP + 0x6001).unwrap(), m[0x6001]);
        mem.set_direct_map(0xff11_0000_0000_0000);
        assert_eq!(mem.translate(0xff11_0000_0000_6000).unwrap(), 0x6000);
        std::fs::remove_file(&p).unwrap();
    }
}
