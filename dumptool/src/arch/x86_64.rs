//! The x86_64 memory layout, KASLR included.
//!
//! - Kernel image (`__START_KERNEL_map` = `0xffffffff80000000` up to
//!   `NUMBER(KERNEL_IMAGE_SIZE)`): `paddr = vaddr - __START_KERNEL_map +
//!   phys_base`, with `NUMBER(phys_base)` from VMCOREINFO.
//! - Anything else: a 4- or 5-level (`NUMBER(pgtable_l5_enabled)`) walk of
//!   the kernel page tables from `SYMBOL(init_top_pgt)`, whose physical
//!   address comes from the kernel-image formula. 1 GiB and 2 MiB pages are
//!   handled; entry addresses are masked to 52 bits and cleared of the SME
//!   encryption bit (`NUMBER(sme_mask)`).
//! - The direct map and vmemmap move with `CONFIG_RANDOMIZE_MEMORY`: their
//!   bases are kernel variables (`page_offset_base`, `vmemmap_base`) the
//!   caller sets once known ([`super::KernelMemory::set_direct_map`],
//!   [`super::KernelMemory::set_vmemmap`]).

use super::{Arch, Entry, TableFormat};
use crate::dump::{Dump, DumpError, VmcoreInfo};

/// Where the kernel image is mapped (`__START_KERNEL_map`).
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// `KERNEL_IMAGE_SIZE` when VMCOREINFO does not say (1 GiB with KASLR).
const DEFAULT_KERNEL_IMAGE_SIZE: u64 = 1 << 30;
/// Physical-address bits of a page-table entry (bits 12..51).
const PTE_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const PRESENT: u64 = 1;
/// The page-size bit of PDPT and PD entries (1 GiB / 2 MiB pages).
pub(crate) const PAGE_SIZE_BIT: u64 = 1 << 7;

/// The x86_64 layout of one dump's kernel.
#[derive(Debug, Clone)]
pub struct X86_64 {
    /// `phys_base`: physical address of the kernel image minus its link-time
    /// offset (two's complement, may be "negative").
    pub phys_base: u64,
    /// Size of the kernel image mapping.
    pub kernel_image_size: u64,
    /// 5-level paging.
    pub five_level: bool,
    /// Physical-address bits of an entry (52 bits, less the SME bit).
    pub addr_mask: u64,
    /// Virtual address of the top-level table (`init_top_pgt`).
    pub top_pgt_vaddr: u64,
}

impl X86_64 {
    /// The layout from VMCOREINFO (`init_top_pgt`, `phys_base`,
    /// `pgtable_l5_enabled`, `sme_mask`, `KERNEL_IMAGE_SIZE`).
    pub fn new(dump: &Dump, info: &VmcoreInfo) -> Result<X86_64, DumpError> {
        let path = dump.path();
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
        Ok(X86_64 {
            phys_base,
            kernel_image_size,
            five_level: info.pgtable_l5_enabled,
            addr_mask: PTE_ADDR_MASK & !sme_mask,
            top_pgt_vaddr,
        })
    }

    /// The kernel-image formula: `Some((vaddr - __START_KERNEL_map +
    /// phys_base, bytes to the image mapping's end))` inside it.
    pub fn kernel_image_to_phys(&self, vaddr: u64) -> Option<(u64, u64)> {
        let off = vaddr.checked_sub(START_KERNEL_MAP)?;
        (off < self.kernel_image_size).then(|| {
            (
                off.wrapping_add(self.phys_base),
                self.kernel_image_size - off,
            )
        })
    }
}

impl TableFormat for X86_64 {
    fn arch(&self) -> Arch {
        Arch::X86_64
    }
    fn va_bits(&self) -> u32 {
        if self.five_level {
            57
        } else {
            48
        }
    }
    fn page_shift(&self) -> u32 {
        12
    }
    fn levels(&self) -> u32 {
        if self.five_level {
            5
        } else {
            4
        }
    }
    fn decode(&self, entry: u64, height: u8) -> Entry {
        if entry & PRESENT == 0 {
            return Entry::Invalid;
        }
        let addr = entry & self.addr_mask;
        let huge = entry & PAGE_SIZE_BIT != 0;
        match height {
            0 => Entry::Leaf(addr),
            1 | 2 if huge => Entry::Leaf(addr & !((1u64 << self.level(height).shift) - 1)),
            _ if huge => Entry::Reserved,
            _ => Entry::Table(addr),
        }
    }
}

/// `phys_base` from an ELF dump's kernel-text `PT_LOAD` (`/proc/vmcore` has
/// one with `p_vaddr` in the kernel image mapping).
fn phys_base_from_elf(dump: &Dump) -> Option<u64> {
    dump.elf_segments()?
        .iter()
        .find(|s| {
            s.p_type == crate::dump::elf::PT_LOAD && s.p_vaddr >= START_KERNEL_MAP && s.p_memsz > 0
        })
        .map(|s| s.p_paddr.wrapping_sub(s.p_vaddr - START_KERNEL_MAP))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{KernelMemory, Method, PageLevel};
    use crate::dump::elf::synth::{elf, note, Load};
    use crate::dump::Dump;

    /// The x86_64 level `height` above the last.
    fn lvl(height: u8) -> PageLevel {
        PageLevel {
            arch: Arch::X86_64,
            height,
            shift: 12 + 9 * u32::from(height),
        }
    }

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
            (0x6ff0, 0x10, Method::PageTable(lvl(0)))
        );
        let b = mem.read_bytes(v, 0x20).unwrap();
        let m = memory();
        assert_eq!(&b[..0x10], &m[0x6ff0..0x7000]);
        assert_eq!(&b[0x10..], &m[0x8000..0x8010]);
        // 2 MiB and 1 GiB pages map physical 0.
        let t = mem.walk(va5(500, 3, 4, 7, 6, 0x10)).unwrap();
        assert_eq!((t.paddr, t.method), (0x6010, Method::PageTable(lvl(1))));
        let t = mem.walk(va5(500, 3, 8, 0, 6, 0x10)).unwrap();
        assert_eq!((t.paddr, t.method), (0x6010, Method::PageTable(lvl(2))));
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
        assert!(
            e.contains("page-size bit") && e.contains("PML5 (pgd) entry 501"),
            "{e}"
        );
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
