//! The arm64 memory layout (Linux 5.4 and later, whose linear map is the
//! lower half of the kernel's address space), from VMCOREINFO alone.
//!
//! - Pages of 4, 16 or 64 KiB (`PAGESIZE`), `NUMBER(VA_BITS)` of virtual
//!   address (39 to 52) and as many levels as they need (2 to 5); with 64
//!   KiB pages an entry's output address bits 51..48 are in its bits
//!   15..12 (FEAT_LPA), with 4 and 16 KiB pages and 52-bit addresses
//!   (LPA2) bits 51..50 are in bits 9..8. Blocks (huge pages) end a walk
//!   above the last level.
//! - A kernel built for LPA2 (4 or 16 KiB pages, `VA_BITS` 52) on hardware
//!   without it (most arm64 servers today) runs with 48 bits
//!   (`TCR_EL1_T1SZ` says so): its top level is folded away and its entries
//!   have the classic format, bits 9..8 being shareability, not address.
//! - Kernel image: `paddr = vaddr - NUMBER(kimage_voffset)` (KASLR moves
//!   the image and `kimage_voffset` with it). The top table is
//!   `SYMBOL(swapper_pg_dir)` translated that way.
//! - Linear map: `paddr = vaddr - PAGE_OFFSET + NUMBER(PHYS_OFFSET)`, with
//!   `PAGE_OFFSET = -(1 << VA_BITS)`, up to `-(1 << (min(VA_BITS, 48) - 1))`;
//!   used only once a page-table walk has confirmed it on the dump.
//! - vmemmap: `NUMBER(VMEMMAP_START) - (PHYS_OFFSET >> PAGE_SHIFT) *
//!   SIZE(page)` (`vmemmap` of `asm/memory.h`), likewise confirmed.
//! - Pointer authentication codes (`NUMBER(KERNELPACMASK)`) are stripped from every
//!   address before it is translated.

use super::{levels_for, Arch, Entry, TableFormat};
use crate::dump::{Dump, DumpError, VmcoreInfo};

const VALID: u64 = 1;
/// Bit 1 of a descriptor: table (or page, at the last level) when set,
/// block when clear.
const TABLE_OR_PAGE: u64 = 1 << 1;

/// The arm64 layout of one dump's kernel.
#[derive(Debug, Clone)]
pub struct Arm64 {
    /// Page size shift: 12, 14 or 16.
    pub page_shift: u32,
    /// `NUMBER(VA_BITS)`: the kernel's configured virtual-address bits.
    pub va_bits: u32,
    /// Virtual-address bits the hardware translated (`64 -
    /// NUMBER(TCR_EL1_T1SZ)`, else `va_bits`).
    pub va_bits_actual: u32,
    /// `NUMBER(kimage_voffset)`: kernel-image virtual minus physical address.
    pub kimage_voffset: u64,
    /// `NUMBER(PHYS_OFFSET)`: the physical address the linear map starts at.
    pub phys_offset: u64,
    /// `NUMBER(KERNELPACMASK)`: the bits pointer authentication uses.
    pub pac_mask: u64,
    /// `NUMBER(VMEMMAP_START)`, when VMCOREINFO has it.
    pub vmemmap_start: Option<u64>,
    /// Virtual address of the top-level table (`swapper_pg_dir`).
    pub swapper_pg_dir: u64,
    /// Lowest address of the kernel image (`SYMBOL(_stext)` rounded down to
    /// 2 MiB), bounding the kernel-image formula.
    pub image_start: u64,
}

/// The kernel image's mapping is at most this large past `image_start`.
const MAX_IMAGE: u64 = 1 << 30;

impl Arm64 {
    /// The layout from VMCOREINFO (`PAGESIZE`, `VA_BITS`, `kimage_voffset`,
    /// `PHYS_OFFSET`, `TCR_EL1_T1SZ`, `KERNELPACMASK`, `VMEMMAP_START`,
    /// `swapper_pg_dir`, `_stext`).
    pub fn new(dump: &Dump, info: &VmcoreInfo) -> Result<Arm64, DumpError> {
        let invalid = |detail: String| DumpError::Invalid {
            path: dump.path().to_path_buf(),
            what: "VMCOREINFO".into(),
            detail,
        };
        let number = |name: &str| {
            info.number(name)
                .map(|n| n as u64)
                .ok_or_else(|| invalid(format!("no NUMBER({name}) (needed on arm64)")))
        };
        let page_size = info.page_size.unwrap_or(dump.page_size());
        let page_shift = page_size.trailing_zeros();
        if !matches!(page_shift, 12 | 14 | 16) {
            return Err(invalid(format!(
                "arm64 pages are 4, 16 or 64 KiB, PAGESIZE is {page_size}"
            )));
        }
        let va_bits = number("VA_BITS")? as u32;
        if !(36..=52).contains(&va_bits) || va_bits <= page_shift + (page_shift - 3) {
            return Err(invalid(format!(
                "NUMBER(VA_BITS)={va_bits} is not an arm64 configuration"
            )));
        }
        let va_bits_actual = info
            .number("TCR_EL1_T1SZ")
            .map(|t| 64 - t as u32)
            .filter(|&b| (36..=va_bits).contains(&b))
            .unwrap_or(va_bits);
        let pac_mask = info
            .number("KERNELPACMASK")
            .map(|n| n as u64)
            .or_else(|| {
                info.get("KERNELPACMASK")
                    .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
            })
            .unwrap_or(0);
        let swapper_pg_dir = info
            .symbol("swapper_pg_dir")
            .ok_or_else(|| invalid("no SYMBOL(swapper_pg_dir)".into()))?;
        let image_start = info.symbol("_stext").unwrap_or(swapper_pg_dir) & !((2 << 20) - 1);
        Ok(Arm64 {
            page_shift,
            va_bits,
            va_bits_actual,
            kimage_voffset: number("kimage_voffset")?,
            phys_offset: number("PHYS_OFFSET")?,
            pac_mask,
            vmemmap_start: info.number("VMEMMAP_START").map(|n| n as u64),
            swapper_pg_dir,
            image_start,
        })
    }

    /// Whether the kernel was built for LPA2 (52-bit addresses with 4 or 16
    /// KiB pages); it uses LPA2 only where the hardware has it ([`Arm64::lpa2`]).
    pub fn lpa2_kernel(&self) -> bool {
        self.page_shift != 16 && self.va_bits == 52
    }

    /// Whether entries carry output-address bits 51..50 in bits 9..8: an
    /// LPA2 kernel that ran with 52 bits. With 48 (the hardware lacks
    /// FEAT_LPA2) those bits are the entry's shareability.
    pub fn lpa2(&self) -> bool {
        self.lpa2_kernel() && self.va_bits_actual == 52
    }

    /// `PAGE_OFFSET`: where the linear map starts.
    pub fn page_offset(&self) -> u64 {
        0u64.wrapping_sub(1u64 << self.va_bits)
    }

    /// `PAGE_END`: where the linear map ends (its size is half the smallest
    /// address space the kernel supports).
    pub fn page_end(&self) -> u64 {
        0u64.wrapping_sub(1u64 << (self.va_bits.min(48) - 1))
    }

    /// The linear-map formula: `Some(vaddr - PAGE_OFFSET + PHYS_OFFSET)`
    /// for a linear-map address.
    pub fn linear_to_phys(&self, vaddr: u64) -> Option<u64> {
        let off = vaddr.checked_sub(self.page_offset())?;
        (vaddr < self.page_end()).then(|| off.wrapping_add(self.phys_offset))
    }

    /// The kernel-image formula: `Some((vaddr - kimage_voffset, bytes to the
    /// end of the image window))` for an address from `_stext`'s 2 MiB
    /// boundary up to 1 GiB past it.
    pub fn kernel_image_to_phys(&self, vaddr: u64) -> Option<(u64, u64)> {
        let off = vaddr.checked_sub(self.image_start)?;
        (off < MAX_IMAGE).then(|| (vaddr.wrapping_sub(self.kimage_voffset), MAX_IMAGE - off))
    }

    /// The `vmemmap` pointer (`struct page` of pfn 0), when
    /// `VMEMMAP_START` is known: `VMEMMAP_START - (PHYS_OFFSET >>
    /// PAGE_SHIFT) * page_struct_size`, the shift arithmetic as on the
    /// kernel's signed `memstart_addr` (negative for an LPA2 kernel that
    /// runs with 48 bits).
    pub fn vmemmap(&self, page_struct_size: u64) -> Option<u64> {
        let first_pfn = ((self.phys_offset as i64) >> self.page_shift) as u64;
        Some(
            self.vmemmap_start?
                .wrapping_sub(first_pfn.wrapping_mul(page_struct_size)),
        )
    }

    /// `vaddr` without a pointer-authentication code: kernel addresses (bit
    /// 55 set) get the PAC bits set, user addresses cleared.
    pub fn strip_pac(&self, vaddr: u64) -> u64 {
        if vaddr & (1 << 55) != 0 {
            vaddr | self.pac_mask
        } else {
            vaddr & !self.pac_mask
        }
    }

    /// The output address of a descriptor.
    fn output_address(&self, entry: u64) -> u64 {
        let low = entry & ((1u64 << 50) - 1) & !((1u64 << self.page_shift) - 1);
        if self.page_shift == 16 {
            // FEAT_LPA: OA[51:48] in bits 15:12.
            (entry & ((1u64 << 48) - 1) & !0xffff) | ((entry >> 12) & 0xf) << 48
        } else if self.lpa2() {
            low | ((entry >> 8) & 0x3) << 50
        } else {
            entry & ((1u64 << 48) - 1) & !((1u64 << self.page_shift) - 1)
        }
    }
}

impl TableFormat for Arm64 {
    fn arch(&self) -> Arch {
        Arch::Arm64
    }
    fn va_bits(&self) -> u32 {
        // An LPA2 kernel on hardware without 52-bit addresses folds its top
        // level at run time: the tree is that of the bits in use.
        if self.lpa2_kernel() {
            self.va_bits_actual
        } else {
            self.va_bits
        }
    }
    fn page_shift(&self) -> u32 {
        self.page_shift
    }
    fn canonical_bit(&self) -> u32 {
        TableFormat::va_bits(self)
    }
    fn levels(&self) -> u32 {
        levels_for(TableFormat::va_bits(self), self.page_shift)
    }
    fn decode(&self, entry: u64, height: u8) -> Entry {
        if entry & VALID == 0 {
            return Entry::Invalid;
        }
        let addr = self.output_address(entry);
        let table_or_page = entry & TABLE_OR_PAGE != 0;
        let top = u32::from(height) + 1 == self.levels();
        match height {
            0 if table_or_page => Entry::Leaf(addr),
            0 => Entry::Reserved,
            _ if table_or_page => Entry::Table(addr),
            // Blocks: 1 GiB and 2 MiB with 4 KiB pages (1 GiB not at the
            // top of a 4-level tree), 32 MiB with 16 KiB, 512 MiB with 64
            // KiB; never more than 2 levels up.
            h if h <= 2 && !(top && self.levels() >= 4) => {
                Entry::Leaf(addr & !((1u64 << self.level(height).shift) - 1))
            }
            _ => Entry::Reserved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{KernelMemory, Method, PageLevel};
    use super::*;
    use crate::dump::elf::synth::{elf, note, Load};

    /// Synthetic arm64 page tables in a block of physical memory at `base`.
    struct Tables {
        page_shift: u32,
        va_bits: u32,
        lpa2: bool,
        base: u64,
        mem: Vec<u8>,
        levels: u32,
    }

    impl Tables {
        fn new(page_shift: u32, va_bits: u32, base: u64, pages: usize) -> Tables {
            let lpa2 = page_shift != 16 && va_bits == 52;
            Tables {
                page_shift,
                va_bits,
                lpa2,
                base,
                mem: Vec::with_capacity(pages << page_shift),
                levels: levels_for(va_bits, page_shift),
            }
        }
        /// A new zeroed page; its physical address.
        fn page(&mut self) -> u64 {
            let at = self.mem.len();
            self.mem.resize(at + (1 << self.page_shift), 0);
            self.base + at as u64
        }
        fn encode(&self, paddr: u64) -> u64 {
            if self.page_shift == 16 {
                (paddr & ((1 << 48) - 1)) | ((paddr >> 48) & 0xf) << 12
            } else if self.lpa2 {
                (paddr & ((1 << 50) - 1)) | ((paddr >> 50) & 3) << 8
            } else {
                paddr
            }
        }
        fn get(&self, at: u64) -> u64 {
            let i = (at - self.base) as usize;
            u64::from_le_bytes(self.mem[i..i + 8].try_into().unwrap())
        }
        fn set(&mut self, at: u64, v: u64) {
            let i = (at - self.base) as usize;
            self.mem[i..i + 8].copy_from_slice(&v.to_le_bytes());
        }
        fn index(&self, vaddr: u64, height: u32) -> u64 {
            let shift = self.page_shift + height * (self.page_shift - 3);
            let bits = if height + 1 == self.levels {
                self.va_bits - shift
            } else {
                self.page_shift - 3
            };
            (vaddr >> shift) & ((1 << bits) - 1)
        }
        /// Maps `vaddr` to `paddr` with a leaf `height` levels above the
        /// last (0: a page, else a block), in the tree whose top is `top`.
        fn map(&mut self, top: u64, vaddr: u64, paddr: u64, height: u32) {
            let mut table = top;
            for h in (height + 1..self.levels).rev() {
                let at = table + self.index(vaddr, h) * 8;
                let e = self.get(at);
                table = if e & 1 == 0 {
                    let t = self.page();
                    self.set(at, self.encode(t) | 0b11);
                    t
                } else {
                    // Decode back what encode() stored.
                    let a = Arm64 {
                        page_shift: self.page_shift,
                        va_bits: if self.lpa2 { 52 } else { self.va_bits },
                        va_bits_actual: self.va_bits,
                        kimage_voffset: 0,
                        phys_offset: 0,
                        pac_mask: 0,
                        vmemmap_start: None,
                        swapper_pg_dir: 0,
                        image_start: 0,
                    };
                    a.output_address(e)
                };
            }
            let at = table + self.index(vaddr, height) * 8;
            // Valid, page/table bit at the last level, AF, UXN/PXN (ignored);
            // without LPA2, inner shareable (SH = 0b11 in bits 9..8) as the
            // kernel's PTE_SHARED makes every entry.
            let kind = if height == 0 { 0b11 } else { 0b01 };
            let shared = if self.lpa2 { 0 } else { 3 << 8 };
            self.set(at, self.encode(paddr) | kind | shared | 1 << 10 | 3 << 53);
        }
        /// A dump of this memory with VMCOREINFO for a kernel whose
        /// `swapper_pg_dir` is at virtual `swapper` (physical `top`).
        fn dump(
            &self,
            name: &str,
            top: u64,
            swapper: u64,
            extra: &str,
        ) -> (std::path::PathBuf, Dump) {
            let info = format!(
                "OSRELEASE=6.99\nPAGESIZE={}\nNUMBER(VA_BITS)={}\nSYMBOL(swapper_pg_dir)={swapper:x}\n\
                 SYMBOL(_stext)={swapper:x}\nNUMBER(kimage_voffset)={:#x}\nNUMBER(PHYS_OFFSET)={:#x}\n\
                 NUMBER(KERNELPACMASK)=0xff00000000000000\n{extra}",
                1u64 << self.page_shift,
                self.va_bits,
                swapper.wrapping_sub(top),
                self.base,
            );
            let loads = [Load {
                paddr: self.base,
                vaddr: 0,
                data: self.mem.clone(),
                memsz: self.mem.len() as u64,
            }];
            let mut f = elf(&note("VMCOREINFO", 0, info.as_bytes()), &loads, false);
            f[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
            let p =
                std::env::temp_dir().join(format!("dumptool-arm64-{name}-{}", std::process::id()));
            std::fs::write(&p, f).unwrap();
            let d = Dump::open(&p).unwrap();
            (p, d)
        }
    }

    fn lvl(page_shift: u32, height: u8) -> Method {
        Method::PageTable(PageLevel {
            arch: Arch::Arm64,
            height,
            shift: page_shift + u32::from(height) * (page_shift - 3),
        })
    }

    /// Debian's configuration: 4 KiB pages, 48-bit addresses, 4 levels;
    /// pages, 2 MiB and 1 GiB blocks, the linear map, pointer
    /// authentication codes and a process's own tables.
    #[test]
    fn four_kib_pages_48_bit() {
        let mut t = Tables::new(12, 48, 0x4000_0000, 64);
        let top = t.page();
        let data = t.page();
        let user_pgd = t.page();
        let udata = t.page();
        for (i, b) in t.mem[(data - t.base) as usize..][..4096]
            .iter_mut()
            .enumerate()
        {
            *b = i as u8;
        }
        let swapper = 0xffff_8000_1021_3000u64; // kernel image, KASLR'd
        let page_offset = 0xffff_0000_0000_0000u64;
        let v = 0xffff_8000_2000_1000u64;
        t.map(top, swapper, top, 0);
        t.map(top, v, data, 0);
        t.map(top, 0xffff_8000_4040_0000, 0x8000_0000, 1);
        t.map(top, 0xffff_8001_0000_0000, 0xc000_0000, 2);
        // The linear map of the first pages, with 4 KiB pages.
        for p in 0..8u64 {
            t.map(top, page_offset + p * 4096, t.base + p * 4096, 0);
        }
        t.map(user_pgd, 0x0000_ffff_a000_0000, udata, 0);
        t.mem[(udata - t.base) as usize..][..5].copy_from_slice(b"hello");
        let (p, dump) = t.dump("4k48", top, swapper, "NUMBER(TCR_EL1_T1SZ)=0x10\n");
        assert_eq!(dump.machine(), "aarch64");
        let mem = KernelMemory::new(&dump).unwrap();
        assert_eq!(mem.arch(), Arch::Arm64);
        assert_eq!((mem.levels(), mem.top_pgt_paddr()), (4, top));
        assert_eq!(mem.direct_map(), Some(page_offset));
        let w = mem.walk(v + 0x10).unwrap();
        assert_eq!(
            (w.paddr, w.contiguous, w.method),
            (data + 0x10, 0xff0, lvl(12, 0))
        );
        assert_eq!(mem.read_u8(v + 0x42).unwrap(), 0x42);
        // A pointer with an authentication code in bits 63..56 reads the same.
        assert_eq!(
            mem.read_u8((v + 0x42) & !(0xff << 56) | 0x5a << 56)
                .unwrap(),
            0x42
        );
        let w = mem.walk(0xffff_8000_4050_0123).unwrap();
        assert_eq!((w.paddr, w.method), (0x8010_0123, lvl(12, 1)));
        let w = mem.walk(0xffff_8001_0200_0000).unwrap();
        assert_eq!((w.paddr, w.method), (0xc200_0000, lvl(12, 2)));
        // The linear map's formula, confirmed by the tables.
        let lin = page_offset + (data - t.base);
        assert_eq!(mem.translate_ext(lin).unwrap().method, Method::DirectMap);
        assert_eq!(mem.translate(lin).unwrap(), mem.walk(lin).unwrap().paddr);
        // A process's tables, found through the linear map.
        let pgd = page_offset + (user_pgd - t.base);
        let u = mem.translate_user(pgd, 0x0000_ffff_a000_0001).unwrap();
        assert_eq!(u.paddr, udata + 1);
        let mut b = [0u8; 5];
        mem.read_user(pgd, 0x0000_ffff_a000_0000, &mut b).unwrap();
        assert_eq!(&b, b"hello");
        let e = mem
            .translate_user(pgd, 0x0000_ffff_b000_0000)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("level 0 (pgd) entry") || e.contains("not present"),
            "{e}"
        );
        assert!(mem.translate_user(pgd, v).is_err());
        // Failures name the level; addresses outside both halves are refused.
        let e = mem.walk(0xffff_8000_2000_3000).unwrap_err().to_string();
        assert!(
            e.contains("level 3 (pte) entry 3") && e.contains("not present"),
            "{e}"
        );
        let e = mem.walk(0xfff0_0000_0000_0000).unwrap_err().to_string();
        assert!(e.contains("not a canonical address"), "{e}");
        // Every table of the kernel's tree: top, and the tables below it.
        let pfns = mem.page_table_pfns(100);
        assert!(pfns.contains(&(top >> 12)) && !pfns.contains(&(data >> 12)));
        assert!(!pfns.contains(&(user_pgd >> 12)));
        std::fs::remove_file(&p).unwrap();
    }

    /// 16 KiB pages: 47 bits in 3 levels (32 MiB blocks), 48 bits in 4
    /// with a 2-entry top table.
    #[test]
    fn sixteen_kib_pages() {
        for (va_bits, levels, swapper) in [
            (47u32, 3u32, 0xffff_c000_1000_4000u64),
            (48, 4, 0xffff_8000_1000_4000),
        ] {
            let mut t = Tables::new(14, va_bits, 0x4000_0000, 16);
            let top = t.page();
            let data = t.page();
            t.map(top, swapper, top, 0);
            let v = swapper + 0x10_0000;
            t.map(top, v, data, 0);
            let bv = (swapper + 0x400_0000) & !0x1ff_ffff; // a 32 MiB block
            t.map(top, bv, 0x1_0200_0000, 1);
            let (p, dump) = t.dump(&format!("16k{va_bits}"), top, swapper, "");
            let mem = KernelMemory::new(&dump).unwrap();
            assert_eq!(mem.levels(), levels);
            let w = mem.walk(v + 0x3ff8).unwrap();
            assert_eq!(
                (w.paddr, w.contiguous, w.method),
                (data + 0x3ff8, 8, lvl(14, 0))
            );
            let w = mem.walk(bv + 0x123_4567).unwrap();
            assert_eq!(
                (w.paddr, w.method),
                (0x1_0200_0000 + 0x123_4567, lvl(14, 1))
            );
            assert_eq!(mem.page_table_pfns(100).len() as u32, levels);
            std::fs::remove_file(&p).unwrap();
        }
    }

    /// 64 KiB pages with 52-bit virtual and physical addresses (FEAT_LPA:
    /// output bits 51..48 in descriptor bits 15..12): 3 levels, a
    /// 1024-entry top table, 512 MiB blocks.
    #[test]
    fn sixty_four_kib_pages_52_bit() {
        let base = 0x000c_0000_4000_0000u64; // above 48 bits
        let mut t = Tables::new(16, 52, base, 8);
        let top = t.page();
        let data = t.page();
        let swapper = 0xfff8_0000_1001_0000u64;
        t.map(top, swapper, top, 0);
        t.map(top, swapper + 0x20_0000, data, 0);
        t.map(top, 0xfffc_0000_2000_0000, 0x000f_0000_2000_0000, 1);
        let (p, dump) = t.dump("64k52", top, swapper, "NUMBER(TCR_EL1_T1SZ)=0xc\n");
        let mem = KernelMemory::new(&dump).unwrap();
        assert_eq!((mem.levels(), mem.top_pgt_paddr()), (3, top));
        let w = mem.walk(swapper + 0x20_1234).unwrap();
        assert_eq!((w.paddr, w.method), (data + 0x1234, lvl(16, 0)));
        let w = mem.walk(0xfffc_0000_2345_6789).unwrap();
        assert_eq!((w.paddr, w.method), (0x000f_0000_2345_6789, lvl(16, 1)));
        std::fs::remove_file(&p).unwrap();
    }

    /// 4 KiB pages with 52-bit addresses (LPA2: output bits 51..50 in
    /// descriptor bits 9..8): 5 levels when the hardware has 52 bits, the
    /// top level folded away (4 levels) when it has 48.
    #[test]
    fn four_kib_pages_lpa2() {
        let base = 0x000c_0000_4000_0000u64; // bits 51..50 set
        let mut t = Tables::new(12, 52, base, 32);
        let top = t.page();
        let data = t.page();
        let swapper = 0xfff8_0000_1021_3000u64;
        t.map(top, swapper, top, 0);
        t.map(top, swapper + 0x5000, data, 0);
        t.map(top, 0xfffc_0000_4000_0000, 0x000f_0000_4000_0000, 2);
        let (p, dump) = t.dump("4k52", top, swapper, "NUMBER(TCR_EL1_T1SZ)=0xc\n");
        let mem = KernelMemory::new(&dump).unwrap();
        assert!(mem.five_level());
        let w = mem.walk(swapper + 0x5008).unwrap();
        assert_eq!((w.paddr, w.method), (data + 8, lvl(12, 0)));
        let w = mem.walk(0xfffc_0000_4123_4567).unwrap();
        assert_eq!((w.paddr, w.method), (0x000f_0000_4123_4567, lvl(12, 2)));
        std::fs::remove_file(&p).unwrap();

        // The same kernel on hardware without FEAT_LPA2 (48 bits, memory
        // below 2^48): 4 levels from swapper_pg_dir, entries in the classic
        // format whose bits 9..8 (shareability) are set and are no address.
        let base = 0x0000_0000_4000_0000u64;
        let mut t = Tables::new(12, 48, base, 32);
        let top = t.page();
        let data = t.page();
        let swapper = 0xffff_8000_1021_3000u64;
        t.map(top, swapper, top, 0);
        t.map(top, swapper + 0x5000, data, 0);
        t.va_bits = 52; // what VMCOREINFO says
        let (p, dump) = t.dump("4k52on48", top, swapper, "NUMBER(TCR_EL1_T1SZ)=0x10\n");
        let mem = KernelMemory::new(&dump).unwrap();
        assert_eq!(mem.levels(), 4);
        assert_eq!(mem.walk(swapper + 0x5008).unwrap().paddr, data + 8);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn pointer_authentication_codes_are_stripped() {
        let a = Arm64 {
            page_shift: 12,
            va_bits: 48,
            va_bits_actual: 48,
            kimage_voffset: 0,
            phys_offset: 0,
            pac_mask: 0xff7f_0000_0000_0000,
            vmemmap_start: None,
            swapper_pg_dir: 0,
            image_start: 0,
        };
        assert_eq!(a.strip_pac(0x12ff_8000_1000_0000), 0xffff_8000_1000_0000);
        assert_eq!(a.strip_pac(0x1234_ffff_a000_0000), 0x0000_ffff_a000_0000);
        assert_eq!(
            (a.page_offset(), a.page_end()),
            (0xffff_0000_0000_0000, 0xffff_8000_0000_0000)
        );
        assert_eq!(a.linear_to_phys(0xffff_0000_0000_1000), Some(0x1000));
        assert_eq!(a.linear_to_phys(0xffff_8000_0000_1000), None);
    }
}
