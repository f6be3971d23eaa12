//! Kernel (and process) virtual memory of a dump, on either architecture.

use super::arm64::Arm64;
use super::x86_64::X86_64;
use super::{Arch, Entry, Method, PageLevel, TableFormat, Translation};
use crate::dump::source::Region;
use crate::dump::{Dump, DumpError};
use std::fmt;
use std::sync::Mutex;

/// Software TLB entries.
const TLB_ENTRIES: usize = 32;

/// The layout of one architecture.
#[derive(Debug, Clone)]
enum Layout {
    X86_64(X86_64),
    Arm64(Arm64),
}

impl Layout {
    fn format(&self) -> &dyn TableFormat {
        match self {
            Layout::X86_64(x) => x,
            Layout::Arm64(a) => a,
        }
    }
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

/// A linear region: `[vbase, vbase + len)` is `[pbase, pbase + len)`.
#[derive(Debug, Clone, Copy)]
struct Linear {
    vbase: u64,
    pbase: u64,
}

/// Kernel virtual memory of a [`Dump`], x86_64 or arm64 (chosen from the
/// dump, [`Arch::of`]).
pub struct KernelMemory<'a> {
    dump: &'a Dump,
    layout: Layout,
    top_pgt_vaddr: u64,
    top_pgt_paddr: u64,
    direct_map: Option<Linear>,
    vmemmap: Option<u64>,
    tlb: Mutex<Tlb>,
}

impl fmt::Debug for KernelMemory<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelMemory")
            .field("dump", &self.dump.path())
            .field("layout", &self.layout)
            .field("top_pgt", &format_args!("{:#x}", self.top_pgt_paddr))
            .finish()
    }
}

impl<'a> KernelMemory<'a> {
    /// Prepares translation for `dump` from its VMCOREINFO, for the
    /// architecture the dump says it is of: x86_64 ([`X86_64::new`]) or
    /// arm64 ([`Arm64::new`]; its linear map and vmemmap are enabled at once
    /// when a page-table walk confirms them).
    pub fn new(dump: &'a Dump) -> Result<KernelMemory<'a>, DumpError> {
        let path = dump.path();
        let unsupported = |detail: String| DumpError::Unsupported {
            path: path.to_path_buf(),
            detail,
        };
        let arch = Arch::of(dump).ok_or_else(|| {
            unsupported(format!(
                "virtual address translation is implemented for x86_64 and arm64, this dump is {}",
                dump.machine()
            ))
        })?;
        let info = dump.vmcoreinfo().ok_or_else(|| {
            unsupported(
                "the dump has no VMCOREINFO, so the kernel page tables cannot be found".into(),
            )
        })?;
        let (layout, top_pgt_vaddr, top_pgt_paddr) = match arch {
            Arch::X86_64 => {
                let x = X86_64::new(dump, info)?;
                let top = x.top_pgt_vaddr;
                let p = x.kernel_image_to_phys(top).map(|(p, _)| p);
                (Layout::X86_64(x), top, p)
            }
            Arch::Arm64 => {
                let a = Arm64::new(dump, info)?;
                let top = a.swapper_pg_dir;
                let p = a.kernel_image_to_phys(top).map(|(p, _)| p);
                (Layout::Arm64(a), top, p)
            }
        };
        let top_pgt_paddr = top_pgt_paddr.ok_or_else(|| DumpError::Invalid {
            path: path.to_path_buf(),
            what: "VMCOREINFO".into(),
            detail: format!(
                "the top page table {top_pgt_vaddr:#x} is not in the kernel image mapping"
            ),
        })?;
        let mut mem = KernelMemory {
            dump,
            layout,
            top_pgt_vaddr,
            top_pgt_paddr,
            direct_map: None,
            vmemmap: None,
            tlb: Mutex::new(Tlb::default()),
        };
        if let Layout::Arm64(a) = &mem.layout {
            let a = a.clone();
            mem.enable_arm64_fast_paths(&a, info.size("page"));
        }
        Ok(mem)
    }

    /// arm64: the linear map and vmemmap follow from VMCOREINFO; each is
    /// enabled when the page tables agree with it at the page holding the
    /// top table (the linear map covers the kernel image too).
    fn enable_arm64_fast_paths(&mut self, a: &Arm64, page_struct_size: Option<u64>) {
        let first = self.top_pgt_paddr;
        // PHYS_OFFSET may lie "below zero" (an LPA2 kernel running with 48
        // bits lowers it by the 52-bit map's unused part): wrapping arithmetic.
        let vaddr = a
            .page_offset()
            .wrapping_add(first.wrapping_sub(a.phys_offset));
        if a.linear_to_phys(vaddr) == Some(first)
            && self.walk(vaddr).map(|t| t.paddr).ok() == Some(first)
        {
            self.direct_map = Some(Linear {
                vbase: a.page_offset(),
                pbase: a.phys_offset,
            });
        }
        if let Some(vmemmap) = page_struct_size.and_then(|s| a.vmemmap(s)) {
            let size = page_struct_size.unwrap_or(0);
            let at = vmemmap.wrapping_add((first >> a.page_shift).wrapping_mul(size));
            if self.walk(at).is_ok() {
                self.vmemmap = Some(vmemmap);
            }
        }
    }

    /// The dump.
    pub fn dump(&self) -> &'a Dump {
        self.dump
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.layout.format().arch()
    }

    /// The x86_64 layout, on an x86_64 dump.
    pub fn x86_64(&self) -> Option<&X86_64> {
        match &self.layout {
            Layout::X86_64(x) => Some(x),
            Layout::Arm64(_) => None,
        }
    }

    /// The arm64 layout, on an arm64 dump.
    pub fn arm64(&self) -> Option<&Arm64> {
        match &self.layout {
            Layout::Arm64(a) => Some(a),
            Layout::X86_64(_) => None,
        }
    }

    /// x86_64: `phys_base`, the physical address of the kernel image minus
    /// its link-time offset (two's complement, may be "negative"). arm64:
    /// the image's physical minus virtual address (`-kimage_voffset`).
    pub fn phys_base(&self) -> u64 {
        match &self.layout {
            Layout::X86_64(x) => x.phys_base,
            Layout::Arm64(a) => a.kimage_voffset.wrapping_neg(),
        }
    }

    /// Virtual address of the top-level page table (`init_top_pgt`,
    /// `swapper_pg_dir`).
    pub fn top_pgt_vaddr(&self) -> u64 {
        self.top_pgt_vaddr
    }

    /// Physical address of the top-level page table.
    pub fn top_pgt_paddr(&self) -> u64 {
        self.top_pgt_paddr
    }

    /// Whether the kernel uses 5-level paging (x86_64 `pgtable_l5_enabled`,
    /// arm64 with 52-bit addresses and 4 KiB pages).
    pub fn five_level(&self) -> bool {
        self.layout.format().levels() == 5
    }

    /// Number of page-table levels.
    pub fn levels(&self) -> u32 {
        self.layout.format().levels()
    }

    /// Enables the direct-map fast path: `[page_offset_base, +max_pfn pages)`
    /// translates as `vaddr - page_offset_base` (x86_64's direct map starts
    /// at physical 0; arm64's is enabled by [`KernelMemory::new`]).
    pub fn set_direct_map(&mut self, page_offset_base: u64) {
        self.direct_map = Some(Linear {
            vbase: page_offset_base,
            pbase: 0,
        });
    }

    /// The direct-map (linear map) base virtual address, once set.
    pub fn direct_map(&self) -> Option<u64> {
        self.direct_map.map(|l| l.vbase)
    }

    /// Records `vmemmap_base` (the `struct page` array), for
    /// [`KernelMemory::struct_page_addr`]. Its translations go through the
    /// page tables (it is not linear in physical memory) and are cached per
    /// mapping, usually 2 MiB pages.
    pub fn set_vmemmap(&mut self, vmemmap_base: u64) {
        self.vmemmap = Some(vmemmap_base);
    }

    /// The vmemmap base (the `struct page` of pfn 0), once set.
    pub fn vmemmap(&self) -> Option<u64> {
        self.vmemmap
    }

    /// Virtual address of the `struct page` of `pfn`: needs
    /// [`KernelMemory::set_vmemmap`] and VMCOREINFO's `SIZE(page)`.
    pub fn struct_page_addr(&self, pfn: u64) -> Option<u64> {
        let size = self.dump.vmcoreinfo()?.size("page")?;
        self.vmemmap?.checked_add(pfn.checked_mul(size)?)
    }

    /// The kernel-image formula alone: the physical address of a kernel
    /// image address (x86_64: `vaddr - __START_KERNEL_map + phys_base`;
    /// arm64: `vaddr - kimage_voffset`), else `None`.
    pub fn kernel_image_to_phys(&self, vaddr: u64) -> Option<u64> {
        match &self.layout {
            Layout::X86_64(x) => x.kernel_image_to_phys(vaddr).map(|(p, _)| p),
            Layout::Arm64(a) => a.kernel_image_to_phys(a.strip_pac(vaddr)).map(|(p, _)| p),
        }
    }

    fn translate_error(&self, vaddr: u64, detail: String) -> DumpError {
        DumpError::Translate {
            path: self.dump.path().to_path_buf(),
            vaddr,
            detail,
            source: None,
        }
    }

    /// `vaddr` as the page tables see it (arm64: without a pointer
    /// authentication code).
    fn canonical(&self, vaddr: u64) -> u64 {
        match &self.layout {
            Layout::X86_64(_) => vaddr,
            Layout::Arm64(a) => a.strip_pac(vaddr),
        }
    }

    /// Translates `vaddr` by walking the kernel page tables only (no
    /// formula, no fast path, no cache).
    pub fn walk(&self, vaddr: u64) -> Result<Translation, DumpError> {
        self.walk_from(self.top_pgt_paddr, self.canonical(vaddr))
    }

    /// Walks the tree whose top table is at physical `top`.
    fn walk_from(&self, top: u64, vaddr: u64) -> Result<Translation, DumpError> {
        let fmt = self.layout.format();
        let bits = fmt.va_bits();
        let upper = (vaddr as i64) >> fmt.canonical_bit();
        if upper != 0 && upper != -1 {
            return Err(self.translate_error(
                vaddr,
                format!("not a canonical address for {bits}-bit virtual addresses"),
            ));
        }
        let mut table = top;
        for height in (0..fmt.levels() as u8).rev() {
            let level = fmt.level(height);
            let index = fmt.index(vaddr, height);
            let at = table.wrapping_add(index * 8);
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
            match fmt.decode(entry, height) {
                Entry::Invalid => {
                    return Err(self.translate_error(
                        vaddr,
                        format!(
                            "{level} entry {index} (at physical address {at:#x}) is not present \
                             (entry {entry:#x})"
                        ),
                    ))
                }
                Entry::Reserved => {
                    return Err(self.translate_error(
                        vaddr,
                        format!(
                            "{level} entry {index} (at physical address {at:#x}) maps a page, \
                             which is invalid at that level (page-size bit; entry {entry:#x})"
                        ),
                    ))
                }
                Entry::Leaf(base) => {
                    let off = vaddr & (level.entry_span() - 1);
                    return Ok(Translation {
                        paddr: base | off,
                        contiguous: level.entry_span() - off,
                        method: Method::PageTable(level),
                    });
                }
                Entry::Table(next) => table = next,
            }
        }
        Err(self.translate_error(vaddr, "page-table walk did not end".into()))
    }

    /// Translates user address `uaddr` of the process whose top page table
    /// (`mm_struct.pgd`) is at kernel virtual address `pgd_vaddr`, by
    /// walking that process's page tables (not cached).
    ///
    /// ```no_run
    /// # let dump = dumptool::dump::Dump::open("vmcore")?;
    /// let mem = dumptool::arch::KernelMemory::new(&dump)?;
    /// let pgd = 0xffff_8880_0123_4000; // a task's mm->pgd, read from the dump
    /// let t = mem.translate_user(pgd, 0x7f12_3456_7000)?;
    /// println!("{:#x} via {:?}", t.paddr, t.method);
    /// # Ok::<(), dumptool::dump::DumpError>(())
    /// ```
    pub fn translate_user(&self, pgd_vaddr: u64, uaddr: u64) -> Result<Translation, DumpError> {
        let top = self.translate(pgd_vaddr)?;
        let uaddr = self.canonical(uaddr);
        if (uaddr as i64) < 0 {
            return Err(self.translate_error(
                uaddr,
                "a kernel address, not a user address (translate it with translate)".into(),
            ));
        }
        self.walk_from(top, uaddr)
    }

    /// Reads `buf.len()` bytes of a process's memory at user address
    /// `uaddr` through its page tables (`pgd_vaddr` as for
    /// [`KernelMemory::translate_user`]).
    pub fn read_user(&self, pgd_vaddr: u64, uaddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
        let top = self.translate(pgd_vaddr)?;
        let mut done = 0usize;
        while done < buf.len() {
            let addr = self.canonical(uaddr.wrapping_add(done as u64));
            let t = self.walk_from(top, addr)?;
            let n = (t.contiguous.min((buf.len() - done) as u64)) as usize;
            self.dump
                .phys()
                .read_phys(t.paddr, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    /// Every page mapped in the user half of the process whose top page
    /// table (`mm_struct.pgd`) is at kernel virtual address `pgd_vaddr`: each
    /// present leaf of its page tables as a [`UserPage`], in address order
    /// (a huge page or block is one entry of its whole size). Tables that
    /// cannot be read (left out of a filtered dump) are skipped; at most
    /// `max_tables` tables are visited, so a corrupt tree cannot run away.
    ///
    /// ```no_run
    /// # let dump = dumptool::dump::Dump::open("vmcore")?;
    /// let mem = dumptool::arch::KernelMemory::new(&dump)?;
    /// let pgd = 0xffff_8880_0123_4000; // a task's mm->pgd, read from the dump
    /// let pages = mem.user_pages(pgd, 1 << 16)?;
    /// let bytes: u64 = pages.iter().map(|p| p.size).sum();
    /// println!("{} mappings, {bytes} bytes resident", pages.len());
    /// # Ok::<(), dumptool::dump::DumpError>(())
    /// ```
    pub fn user_pages(
        &self,
        pgd_vaddr: u64,
        max_tables: usize,
    ) -> Result<Vec<UserPage>, DumpError> {
        let fmt = self.layout.format();
        let top = self.translate(pgd_vaddr)?;
        // User addresses lie below the canonical bit (x86_64: the lower
        // half of the top table; arm64: the whole TTBR0 tree).
        let user_end = 1u64 << fmt.canonical_bit();
        let mut out = Vec::new();
        let mut visited = 0usize;
        let mut todo = vec![(top, (fmt.levels() - 1) as u8, 0u64)];
        let mut table = vec![
            0u8;
            (fmt.entries((fmt.levels() - 1) as u8) * 8).max(1 << fmt.page_shift())
                as usize
        ];
        while let Some((paddr, height, base)) = todo.pop() {
            if visited >= max_tables {
                break;
            }
            visited += 1;
            let len = (fmt.entries(height) * 8) as usize;
            if self
                .dump
                .phys()
                .read_phys(paddr, &mut table[..len])
                .is_err()
            {
                continue;
            }
            let span = fmt.level(height).entry_span();
            // Pushed in reverse so that the stack pops them in address order.
            for (index, raw) in table[..len].chunks_exact(8).enumerate().rev() {
                let uaddr = base + index as u64 * span;
                if uaddr >= user_end {
                    continue;
                }
                let entry = u64::from_le_bytes(raw.try_into().unwrap_or([0; 8]));
                match fmt.decode(entry, height) {
                    Entry::Leaf(paddr) => out.push(UserPage {
                        uaddr,
                        paddr,
                        size: span,
                    }),
                    Entry::Table(next) if height > 0 => todo.push((next, height - 1, uaddr)),
                    _ => {}
                }
            }
        }
        out.sort_unstable_by_key(|p| p.uaddr);
        Ok(out)
    }

    /// The physical page frames of every page-table page of the kernel's own
    /// tree (the top table and every table it leads to), sorted. Unreadable
    /// or absurd entries are skipped; at most `limit` tables are visited.
    pub fn page_table_pfns(&self, limit: usize) -> Vec<u64> {
        let fmt = self.layout.format();
        let shift = fmt.page_shift();
        let top_height = (fmt.levels() - 1) as u8;
        let mut out = vec![self.top_pgt_paddr >> shift];
        let mut seen = std::collections::HashSet::new();
        let mut todo = vec![(self.top_pgt_paddr, top_height)];
        let mut page = vec![0u8; 1 << shift];
        while let Some((table, height)) = todo.pop() {
            if out.len() >= limit {
                break;
            }
            // The last level holds pages, not tables.
            if height == 0 {
                continue;
            }
            let len = (fmt.entries(height) * 8) as usize;
            if self.dump.phys().read_phys(table, &mut page[..len]).is_err() {
                continue;
            }
            for raw in page[..len].chunks_exact(8) {
                let entry = u64::from_le_bytes(raw.try_into().unwrap_or([0; 8]));
                let Entry::Table(next) = fmt.decode(entry, height) else {
                    continue;
                };
                let pfn = next >> shift;
                if seen.insert(pfn) && self.dump.phys().page_state(pfn).is_readable() {
                    out.push(pfn);
                    todo.push((next, height - 1));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Translates `vaddr`: direct-map fast path, kernel-image formula
    /// (x86_64), else a (cached) page-table walk.
    pub fn translate_ext(&self, vaddr: u64) -> Result<Translation, DumpError> {
        let vaddr = self.canonical(vaddr);
        if let Some(l) = self.direct_map {
            let limit = self.dump.max_pfn().saturating_mul(self.dump.page_size());
            // pbase may be "below zero" (see enable_arm64_fast_paths): an
            // address whose sum wraps to beyond the dump is no linear one.
            if let Some(paddr) = vaddr
                .checked_sub(l.vbase)
                .map(|o| l.pbase.wrapping_add(o))
                .filter(|&p| p < limit)
            {
                return Ok(Translation {
                    paddr,
                    contiguous: limit - paddr,
                    method: Method::DirectMap,
                });
            }
        }
        // arm64's image window is a bound, not the image: there the walk
        // (cached) decides.
        if let Layout::X86_64(x) = &self.layout {
            if let Some((paddr, contiguous)) = x.kernel_image_to_phys(vaddr) {
                return Ok(Translation {
                    paddr,
                    contiguous,
                    method: Method::KernelImage,
                });
            }
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
            let size = level.entry_span();
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
            // Stay within one 4 KiB block per read so a string ending just
            // before an unreadable page still reads.
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

/// One page (or huge page, or block) mapped in a process's address space:
/// what [`KernelMemory::user_pages`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserPage {
    /// The user virtual address it is mapped at.
    pub uaddr: u64,
    /// Its physical address.
    pub paddr: u64,
    /// Its size in bytes (the page size, or a huge page's or block's).
    pub size: u64,
}
