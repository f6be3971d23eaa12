//! ELF64 cores, little-endian, through [`object::elf`]'s types: the file
//! header ([`FileHeader64`]), program headers ([`ProgramHeader64`]) and
//! section header 0 ([`SectionHeader64`], which holds the program header
//! count when there are `PN_XNUM` or more). `dump/elf.rs` reads them,
//! `write/elf.rs` writes them; both see program headers as
//! [`ElfSegment`]s and resolve overlapping `PT_LOAD`s with
//! [`disjoint_loads`].
//!
//! ```
//! use dumptool::format::elf::{file_header, read, ElfSegment, EHDR_SIZE, PT_LOAD};
//! let h = file_header(62, 3, None);
//! let bytes = object::pod::bytes_of(&h);
//! assert_eq!(bytes.len(), EHDR_SIZE);
//! let back: object::elf::FileHeader64<object::LittleEndian> = read(bytes).unwrap();
//! assert_eq!(back.e_phnum.get(object::LittleEndian), 3);
//! let s = ElfSegment { p_type: PT_LOAD, p_flags: 7, p_offset: 0x1000, p_vaddr: 0,
//!                      p_paddr: 0x2000, p_filesz: 0x1000, p_memsz: 0x3000 };
//! assert_eq!(ElfSegment::decode(&s.encode()), s);
//! ```

use object::elf::{FileHeader64, Ident, ProgramHeader64, SectionHeader64};
use object::pod::Pod;
use object::{LittleEndian as LE, U16, U32, U64};
use std::cmp::Reverse;
use std::ops::Range;

pub use object::elf::{
    ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_X86_64, ET_CORE, EV_CURRENT, PF_R, PF_W, PF_X, PN_XNUM,
    PT_LOAD, PT_NOTE,
};

/// ELF magic.
pub const ELF_MAGIC: &[u8; 4] = &ELFMAG;
/// `sizeof(Elf64_Ehdr)`.
pub const EHDR_SIZE: usize = std::mem::size_of::<FileHeader64<LE>>();
/// `sizeof(Elf64_Phdr)`.
pub const PHDR_SIZE: usize = std::mem::size_of::<ProgramHeader64<LE>>();
/// `sizeof(Elf64_Shdr)`.
pub const SHDR_SIZE: usize = std::mem::size_of::<SectionHeader64<LE>>();
/// `PF_R | PF_W | PF_X`, as the kernel's `/proc/vmcore` has them on
/// `PT_LOAD`s.
pub const PF_RWX: u32 = PF_R | PF_W | PF_X;

const _: () = assert!(EHDR_SIZE == 64 && PHDR_SIZE == 56 && SHDR_SIZE == 64);

/// The `e_machine` of a machine named as utsname's `machine` (or
/// arm64's `aarch64`/`arm64`), if known.
pub fn machine_number(name: &str) -> Option<u16> {
    use object::elf::{EM_AARCH64, EM_LOONGARCH, EM_MIPS, EM_PPC64, EM_RISCV, EM_S390, EM_SPARCV9};
    Some(match name {
        "x86_64" => EM_X86_64,
        "aarch64" | "arm64" => EM_AARCH64,
        "ppc64" | "ppc64le" => EM_PPC64,
        "s390x" | "s390" => EM_S390,
        "riscv64" => EM_RISCV,
        "loongarch64" => EM_LOONGARCH,
        "mips64" | "mips" => EM_MIPS,
        "sparc64" => EM_SPARCV9,
        _ => return None,
    })
}

/// Whether `head` (the first bytes of a file) starts an ELF file.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(ELF_MAGIC)
}

/// An `object::elf` structure from the start of `bytes`, whatever their
/// alignment (object's fields are aligned integers); `None` when `bytes`
/// are too short.
pub fn read<T: Pod>(bytes: &[u8]) -> Option<T> {
    let size = std::mem::size_of::<T>();
    let src = bytes.get(..size)?;
    // Every structure read here is at most 64 bytes: copied into an
    // 8-byte-aligned buffer first.
    let mut buf = [0u64; 8];
    let aligned = object::pod::bytes_of_slice_mut(&mut buf).get_mut(..size)?;
    aligned.copy_from_slice(src);
    object::pod::from_bytes::<T>(aligned).ok().map(|(t, _)| *t)
}

/// The ELF header of a little-endian core of `machine` with `phnum`
/// program headers right after it (`e_phoff` = 64); with `shoff`, `e_phnum`
/// is `PN_XNUM` and section header 0 at `shoff` holds the count (see
/// [`section_header0`]).
pub fn file_header(machine: u16, phnum: u64, shoff: Option<u64>) -> FileHeader64<LE> {
    let (e_phnum, e_shoff, e_shentsize, e_shnum) = match shoff {
        None => (phnum as u16, 0, 0, 0),
        Some(off) => (PN_XNUM, off, SHDR_SIZE as u16, 1),
    };
    FileHeader64 {
        e_ident: Ident {
            magic: ELFMAG,
            class: ELFCLASS64,
            data: ELFDATA2LSB,
            version: EV_CURRENT,
            os_abi: 0,
            abi_version: 0,
            padding: [0; 7],
        },
        e_type: U16::new(LE, ET_CORE),
        e_machine: U16::new(LE, machine),
        e_version: U32::new(LE, u32::from(EV_CURRENT)),
        e_entry: U64::new(LE, 0),
        e_phoff: U64::new(LE, EHDR_SIZE as u64),
        e_shoff: U64::new(LE, e_shoff),
        e_flags: U32::new(LE, 0),
        e_ehsize: U16::new(LE, EHDR_SIZE as u16),
        e_phentsize: U16::new(LE, PHDR_SIZE as u16),
        e_phnum: U16::new(LE, e_phnum),
        e_shentsize: U16::new(LE, e_shentsize),
        e_shnum: U16::new(LE, e_shnum),
        e_shstrndx: U16::new(LE, 0),
    }
}

/// Section header 0 holding the real program header count of a `PN_XNUM`
/// file, as the kernel's core dumps fill it: `sh_size` = `e_shnum` (1),
/// `sh_info` = the count.
pub fn section_header0(phnum: u64) -> SectionHeader64<LE> {
    SectionHeader64 {
        sh_name: U32::new(LE, 0),
        sh_type: U32::new(LE, 0),
        sh_flags: U64::new(LE, 0),
        sh_addr: U64::new(LE, 0),
        sh_offset: U64::new(LE, 0),
        sh_size: U64::new(LE, 1),
        sh_link: U32::new(LE, 0),
        sh_info: U32::new(LE, phnum.min(u64::from(u32::MAX)) as u32),
        sh_addralign: U64::new(LE, 0),
        sh_entsize: U64::new(LE, 0),
    }
}

/// One program header of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfSegment {
    /// `p_type` (1 = `PT_LOAD`, 4 = `PT_NOTE`).
    pub p_type: u32,
    /// `p_flags`.
    pub p_flags: u32,
    /// `p_offset`.
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_paddr`.
    pub p_paddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
}

impl ElfSegment {
    /// From the program header's fields.
    pub fn decode(p: &ProgramHeader64<LE>) -> ElfSegment {
        ElfSegment {
            p_type: p.p_type.get(LE),
            p_flags: p.p_flags.get(LE),
            p_offset: p.p_offset.get(LE),
            p_vaddr: p.p_vaddr.get(LE),
            p_paddr: p.p_paddr.get(LE),
            p_filesz: p.p_filesz.get(LE),
            p_memsz: p.p_memsz.get(LE),
        }
    }

    /// The program header (`p_align` 0).
    pub fn encode(&self) -> ProgramHeader64<LE> {
        ProgramHeader64 {
            p_type: U32::new(LE, self.p_type),
            p_flags: U32::new(LE, self.p_flags),
            p_offset: U64::new(LE, self.p_offset),
            p_vaddr: U64::new(LE, self.p_vaddr),
            p_paddr: U64::new(LE, self.p_paddr),
            p_filesz: U64::new(LE, self.p_filesz),
            p_memsz: U64::new(LE, self.p_memsz),
            p_align: U64::new(LE, 0),
        }
    }
}

/// The physical memory of `PT_LOAD` segments made disjoint: each piece
/// with the segment it is taken from, sorted by address. Where segments
/// overlap (`/proc/vmcore` has one for the kernel text besides the RAM one)
/// the one starting first (the larger, at the same start) keeps the
/// overlap. Segments that are not `PT_LOAD`, have no memory or whose end
/// overflows are left out.
pub fn disjoint_loads<'a>(
    segments: impl IntoIterator<Item = &'a ElfSegment>,
) -> Vec<(Range<u64>, ElfSegment)> {
    let mut loads: Vec<ElfSegment> = segments
        .into_iter()
        .filter(|s| s.p_type == PT_LOAD && s.p_memsz > 0)
        .copied()
        .collect();
    loads.sort_by_key(|s| (s.p_paddr, Reverse(s.p_memsz)));
    let mut out = Vec::with_capacity(loads.len());
    let mut covered = 0u64;
    for s in loads {
        let Some(end) = s.p_paddr.checked_add(s.p_memsz) else {
            continue;
        };
        let start = s.p_paddr.max(covered);
        if start < end {
            out.push((start..end, s));
            covered = end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(paddr: u64, memsz: u64) -> ElfSegment {
        ElfSegment {
            p_type: PT_LOAD,
            p_flags: 0,
            p_offset: 0,
            p_vaddr: 0,
            p_paddr: paddr,
            p_filesz: memsz,
            p_memsz: memsz,
        }
    }

    #[test]
    fn headers_at_their_offsets() {
        let b = object::pod::bytes_of(&file_header(62, 3, None)).to_vec();
        assert_eq!(&b[..7], b"\x7fELF\x02\x01\x01");
        assert_eq!(&b[16..20], &[4, 0, 62, 0]);
        assert_eq!(&b[32..40], &64u64.to_le_bytes());
        assert_eq!(&b[52..58], &[64, 0, 56, 0, 3, 0]);
        let b = object::pod::bytes_of(&file_header(62, 70_000, Some(0x1234))).to_vec();
        assert_eq!(&b[40..48], &0x1234u64.to_le_bytes());
        assert_eq!(&b[56..62], &[0xff, 0xff, 64, 0, 1, 0]);
        let s = object::pod::bytes_of(&section_header0(70_000)).to_vec();
        assert_eq!(&s[32..40], &1u64.to_le_bytes());
        assert_eq!(&s[44..48], &70_000u32.to_le_bytes());
        let p = seg(0x10_0000, 0x2000).encode();
        let b = object::pod::bytes_of(&p);
        assert_eq!(&b[24..32], &0x10_0000u64.to_le_bytes());
        assert_eq!(&b[40..48], &0x2000u64.to_le_bytes());
        // Read back from an odd address.
        let mut odd = vec![0u8];
        odd.extend_from_slice(b);
        let back: ProgramHeader64<LE> = read(&odd[1..]).unwrap();
        assert_eq!(ElfSegment::decode(&back), seg(0x10_0000, 0x2000));
        assert!(read::<ProgramHeader64<LE>>(&odd[1..50]).is_none());
    }

    #[test]
    fn machine_numbers_are_the_abis() {
        assert_eq!(machine_number("x86_64"), Some(62));
        assert_eq!(machine_number("arm64"), Some(183));
        assert_eq!(machine_number("loongarch64"), Some(258));
        assert_eq!(machine_number("pdp11"), None);
    }

    #[test]
    fn overlapping_loads_become_disjoint() {
        // A RAM segment and a kernel-text segment inside it.
        let a = seg(0, 0x400000);
        let runs = disjoint_loads(&[seg(0x100000, 0x1000), a]);
        assert_eq!(runs, vec![(0..0x400000, a)]);
        // Partial overlap: the later one keeps only its tail.
        let (a, b) = (seg(0, 0x2000), seg(0x1000, 0x3000));
        let runs = disjoint_loads(&[a, b]);
        assert_eq!(runs, vec![(0..0x2000, a), (0x2000..0x4000, b)]);
    }
}
