//! ELF64 vmcores: `/proc/vmcore`, `makedumpfile -E` output and qemu's
//! `dump-guest-memory` (whose program headers follow a section header, so
//! `e_phoff` is honoured, and whose count may be `PN_XNUM`, the real one then
//! being section header 0's `sh_info`). The headers are `object::elf`'s,
//! through [`crate::format::elf`].
//!
//! Memory is found by `p_paddr` of the `PT_LOAD` segments. Bytes between a
//! segment's `p_filesz` and `p_memsz` are pages the dump filter excluded
//! (that is how makedumpfile and dumptool write them; crash and drgn read
//! them as zeros): here they are [`PageState::Excluded`] and reading them
//! is an error, not zeros, as for excluded pages of kdump files.
//! `/proc/kcore` is read the same way: its segments without a physical
//! address (`p_paddr` -1) are left out of physical memory.

use super::error::{Absence, DumpError};
use super::notes::{parse_notes, Note};
use super::source::{fits, invalid, not_present, read_exact, truncated, Region, Source};
use super::{PageState, PhysMemory};
use crate::format::elf::{
    disjoint_loads, read, EHDR_SIZE, ELFCLASS64, ELFDATA2LSB, ET_CORE, PHDR_SIZE, PN_XNUM, PT_NOTE,
    SHDR_SIZE,
};
use object::elf::{FileHeader64, ProgramHeader64, SectionHeader64};
use object::LittleEndian as LE;
use std::ops::Range;

pub use crate::format::elf::{is_elf, ElfSegment, ELF_MAGIC, EM_X86_64, PT_LOAD};
/// `p_paddr` of a `PT_LOAD` without a physical address (`/proc/kcore`'s
/// vmalloc, module and vmemmap segments).
const NO_PADDR: u64 = u64::MAX;

/// A piece of physical memory covered by one `PT_LOAD` (pieces are disjoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// First physical address.
    start: u64,
    /// End of the bytes stored in the file.
    file_end: u64,
    /// End of the memory the segment describes (`p_memsz`).
    end: u64,
    /// File offset of `start`.
    offset: u64,
}

/// An ELF64 vmcore.
pub struct ElfReader {
    src: Box<dyn Source>,
    machine: u16,
    segments: Vec<ElfSegment>,
    runs: Vec<Run>,
    page_size: u64,
}

/// Reads and checks the ELF header: a little-endian ELF64 core.
fn read_file_header(src: &dyn Source) -> Result<FileHeader64<LE>, DumpError> {
    let path = src.path();
    let eh = read_exact(src, 0, EHDR_SIZE, || "ELF header".into())?;
    let eh: FileHeader64<LE> =
        read(&eh).ok_or_else(|| invalid(path, "ELF header", "too short".into()))?;
    let ident = &eh.e_ident;
    if &ident.magic != crate::format::elf::ELF_MAGIC {
        return Err(invalid(path, "ELF header", "no ELF magic".into()));
    }
    if ident.class != ELFCLASS64 {
        return Err(DumpError::Unsupported {
            path: path.to_path_buf(),
            detail: format!("ELF class {} (only ELF64 dumps are read)", ident.class),
        });
    }
    if ident.data != ELFDATA2LSB {
        return Err(DumpError::Unsupported {
            path: path.to_path_buf(),
            detail: format!(
                "ELF data encoding {} (only little-endian dumps are read)",
                ident.data
            ),
        });
    }
    let e_type = eh.e_type.get(LE);
    if e_type != ET_CORE {
        return Err(invalid(
            path,
            "ELF header",
            format!("e_type is {e_type}, not ET_CORE (4): this is not a core dump"),
        ));
    }
    Ok(eh)
}

/// The program header count: `e_phnum`, or section header 0's `sh_info`
/// when that is `PN_XNUM`.
fn program_header_count(src: &dyn Source, eh: &FileHeader64<LE>) -> Result<usize, DumpError> {
    let e_phnum = eh.e_phnum.get(LE);
    if e_phnum != PN_XNUM {
        return Ok(e_phnum as usize);
    }
    let e_shoff = eh.e_shoff.get(LE);
    let e_shentsize = eh.e_shentsize.get(LE) as usize;
    if e_shoff == 0 {
        return Err(invalid(
            src.path(),
            "ELF header",
            "e_phnum is PN_XNUM but there is no section header 0 to hold the count".into(),
        ));
    }
    if e_shentsize < SHDR_SIZE {
        return Err(invalid(
            src.path(),
            "ELF header",
            format!("e_phnum is PN_XNUM but e_shentsize is {e_shentsize}"),
        ));
    }
    let sh = read_exact(src, e_shoff, SHDR_SIZE, || {
        "section header 0 (holding the PN_XNUM program header count)".into()
    })?;
    let sh: Option<SectionHeader64<LE>> = read(&sh);
    Ok(sh.map_or(0, |sh| sh.sh_info.get(LE)) as usize)
}

/// Reads the program header table.
fn read_program_headers(
    src: &dyn Source,
    eh: &FileHeader64<LE>,
) -> Result<Vec<ElfSegment>, DumpError> {
    let phnum = program_header_count(src, eh)?;
    let e_phoff = eh.e_phoff.get(LE);
    let e_phentsize = eh.e_phentsize.get(LE) as usize;
    if phnum > 0 && e_phentsize != PHDR_SIZE {
        return Err(invalid(
            src.path(),
            "ELF header",
            format!("e_phentsize is {e_phentsize}, expected {PHDR_SIZE}"),
        ));
    }
    let table_len = phnum
        .checked_mul(PHDR_SIZE)
        .filter(|&l| l as u64 <= src.len())
        .ok_or_else(|| {
            truncated(
                src,
                e_phoff,
                (phnum as u64).saturating_mul(PHDR_SIZE as u64),
                format!("program header table ({phnum} entries)"),
            )
        })?;
    let table = read_exact(src, e_phoff, table_len, || {
        format!("program header table ({phnum} entries)")
    })?;
    Ok(table
        .chunks_exact(PHDR_SIZE)
        .filter_map(read::<ProgramHeader64<LE>>)
        .map(|p| ElfSegment::decode(&p))
        .collect())
}

impl ElfReader {
    /// Reads the headers and notes of the ELF vmcore in `src`.
    pub fn open(src: Box<dyn Source>) -> Result<(ElfReader, Vec<Note>), DumpError> {
        let eh = read_file_header(&*src)?;
        let segments = read_program_headers(&*src, &eh)?;
        let path = src.path().to_path_buf();
        let mut notes = Vec::new();
        let mut loads = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            let name = |kind: &str| format!("{kind} segment (program header {i})");
            if s.p_type != PT_LOAD && s.p_type != PT_NOTE {
                continue;
            }
            if !fits(s.p_offset, s.p_filesz, src.len()) {
                let kind = if s.p_type == PT_LOAD {
                    "PT_LOAD"
                } else {
                    "PT_NOTE"
                };
                return Err(truncated(&*src, s.p_offset, s.p_filesz, name(kind)));
            }
            if s.p_type == PT_NOTE {
                let len = usize::try_from(s.p_filesz).map_err(|_| {
                    invalid(
                        &path,
                        &name("PT_NOTE"),
                        format!("p_filesz {:#x} is absurd", s.p_filesz),
                    )
                })?;
                let data = read_exact(&*src, s.p_offset, len, || name("PT_NOTE"))?;
                notes.extend(parse_notes(&data, &path, &name("PT_NOTE"), s.p_offset)?);
                continue;
            }
            if s.p_filesz > s.p_memsz {
                return Err(invalid(
                    &path,
                    &name("PT_LOAD"),
                    format!(
                        "p_filesz {:#x} exceeds p_memsz {:#x}",
                        s.p_filesz, s.p_memsz
                    ),
                ));
            }
            // /proc/kcore: segments with no physical address (vmalloc,
            // modules, vmemmap) are virtual memory only, not RAM.
            if s.p_paddr == NO_PADDR {
                continue;
            }
            if s.p_paddr.checked_add(s.p_memsz).is_none() {
                return Err(invalid(
                    &path,
                    &name("PT_LOAD"),
                    format!(
                        "p_paddr {:#x} + p_memsz {:#x} overflows",
                        s.p_paddr, s.p_memsz
                    ),
                ));
            }
            loads.push(*s);
        }
        let reader = ElfReader {
            src,
            machine: eh.e_machine.get(LE),
            runs: build_runs(&loads),
            segments,
            page_size: 4096,
        };
        Ok((reader, notes))
    }

    /// `e_machine` (62 = x86_64).
    pub fn machine(&self) -> u16 {
        self.machine
    }

    /// All program headers, in file order.
    pub fn segments(&self) -> &[ElfSegment] {
        &self.segments
    }

    /// Sets the page size used by [`PhysMemory::page_state`].
    pub(crate) fn set_page_size(&mut self, page_size: u64) {
        self.page_size = page_size;
    }

    /// One past the highest physical address any `PT_LOAD` describes.
    pub fn phys_end(&self) -> u64 {
        self.runs.iter().map(|r| r.end).max().unwrap_or(0)
    }

    fn find(&self, paddr: u64) -> Option<&Run> {
        let i = self.runs.partition_point(|r| r.start <= paddr);
        (i > 0 && paddr < self.runs[i - 1].end).then(|| &self.runs[i - 1])
    }

    fn not_present(&self, paddr: u64, reason: Absence) -> DumpError {
        not_present(&*self.src, paddr, reason)
    }
}

/// Disjoint runs from `PT_LOAD` segments sorted by address (see
/// [`disjoint_loads`]: where segments overlap, the one starting first keeps
/// the overlap), with where their bytes are in the file.
fn build_runs(loads: &[ElfSegment]) -> Vec<Run> {
    disjoint_loads(loads)
        .into_iter()
        .map(|(mem, s)| {
            let start = mem.start;
            let skip = start - s.p_paddr;
            // Header-derived: every sum checked (`open` made sure that
            // p_paddr + p_memsz and p_offset + p_filesz fit, not more).
            let file_end = s.p_paddr.saturating_add(s.p_filesz).max(start);
            // Past the segment's file part (skip > p_filesz) no byte comes
            // from the file: the run is all excluded memory.
            let (file_end, offset) = match s.p_offset.checked_add(skip) {
                Some(o) if file_end > start => (file_end, o),
                _ => (start, 0),
            };
            Run {
                start,
                file_end,
                end: mem.end,
                offset,
            }
        })
        .collect()
}

impl PhysMemory for ElfReader {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
        let mut done = 0usize;
        while done < buf.len() {
            let addr = paddr
                .checked_add(done as u64)
                .ok_or_else(|| self.not_present(paddr, Absence::NotInDump))?;
            let run = self
                .find(addr)
                .ok_or_else(|| self.not_present(addr, Absence::NotInDump))?;
            if addr >= run.file_end {
                return Err(self.not_present(addr, Absence::Excluded));
            }
            let n = ((run.file_end - addr) as usize).min(buf.len() - done);
            let off = run
                .offset
                .checked_add(addr - run.start)
                .ok_or_else(|| self.not_present(addr, Absence::NotInDump))?;
            if !self.src.read_into(off, &mut buf[done..done + n]) {
                return Err(truncated(
                    &*self.src,
                    off,
                    n as u64,
                    format!("memory at physical address {addr:#x}"),
                ));
            }
            done += n;
        }
        Ok(())
    }

    fn phys_region(&self, paddr: u64, len: usize) -> Option<Region> {
        let run = self.find(paddr)?;
        let end = paddr.checked_add(len as u64)?;
        if end > run.file_end {
            return None;
        }
        self.src
            .region(run.offset.checked_add(paddr - run.start)?, len)
    }

    fn page_state(&self, pfn: u64) -> PageState {
        let Some(addr) = pfn.checked_mul(self.page_size) else {
            return PageState::NotInDump;
        };
        match self.find(addr) {
            None => PageState::NotInDump,
            Some(r) if addr < r.file_end => PageState::Present,
            Some(_) => PageState::Excluded,
        }
    }

    fn ranges(&self) -> Vec<Range<u64>> {
        let mut out: Vec<Range<u64>> = Vec::new();
        for r in &self.runs {
            if r.file_end <= r.start {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.end == r.start => last.end = r.file_end,
                _ => out.push(r.start..r.file_end),
            }
        }
        out
    }
}

impl std::fmt::Debug for ElfReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElfReader")
            .field("path", &self.src.path())
            .field("machine", &self.machine)
            .field("segments", &self.segments.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(paddr: u64, filesz: u64, memsz: u64, off: u64) -> ElfSegment {
        ElfSegment {
            p_type: PT_LOAD,
            p_flags: 0,
            p_offset: off,
            p_vaddr: 0,
            p_paddr: paddr,
            p_filesz: filesz,
            p_memsz: memsz,
        }
    }

    #[test]
    fn overlapping_segments_become_disjoint_runs() {
        // A RAM segment and a kernel-text segment inside it.
        let runs = build_runs(&[
            seg(0x100000, 0x1000, 0x1000, 0x9000),
            seg(0, 0x400000, 0x400000, 0x1000),
        ]);
        assert_eq!(
            runs,
            vec![Run {
                start: 0,
                file_end: 0x400000,
                end: 0x400000,
                offset: 0x1000
            }]
        );
        // Partial overlap: the later one keeps only its tail.
        let runs = build_runs(&[
            seg(0, 0x2000, 0x2000, 0),
            seg(0x1000, 0x2000, 0x3000, 0x5000),
        ]);
        assert_eq!(
            runs,
            vec![
                Run {
                    start: 0,
                    file_end: 0x2000,
                    end: 0x2000,
                    offset: 0
                },
                Run {
                    start: 0x2000,
                    file_end: 0x3000,
                    end: 0x4000,
                    offset: 0x6000
                },
            ]
        );
    }
}

/// Builds small ELF vmcores for tests, laid out like qemu's: section header
/// 0 right after the ELF header, program headers after it, `PN_XNUM` when
/// asked for.
#[cfg(test)]
pub(crate) mod synth {
    use crate::format::elf::{file_header, section_header0, ElfSegment, PT_LOAD, PT_NOTE};
    use crate::format::elf::{EHDR_SIZE, PHDR_SIZE, SHDR_SIZE};
    use object::pod::bytes_of;
    use object::{LittleEndian as LE, U16, U64};

    /// A `PT_LOAD`: physical address, file bytes, memory size, vaddr.
    pub(crate) struct Load {
        pub paddr: u64,
        pub vaddr: u64,
        pub data: Vec<u8>,
        pub memsz: u64,
    }

    /// An ELF note in file form.
    pub(crate) fn note(name: &str, ty: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        crate::format::note::push_note(&mut v, name, ty, desc);
        v
    }

    /// An ELF core with one `PT_NOTE` holding `notes` and the `loads`.
    pub(crate) fn elf(notes: &[u8], loads: &[Load], xnum: bool) -> Vec<u8> {
        let phnum = 1 + loads.len();
        let shoff = EHDR_SIZE as u64;
        let phoff = shoff + SHDR_SIZE as u64;
        let mut data_at = phoff + (phnum * PHDR_SIZE) as u64;
        let mut h = file_header(62, phnum as u64, Some(shoff));
        h.e_phoff = U64::new(LE, phoff);
        h.e_ehsize = U16::new(LE, 8); // qemu's e_ehsize quirk
        if !xnum {
            h.e_phnum = U16::new(LE, phnum as u16);
        }
        let mut f = bytes_of(&h).to_vec();
        f.extend(bytes_of(&section_header0(phnum as u64)));
        let mut body: Vec<u8> = Vec::new();
        let mut segment = |p_type, p_vaddr, p_paddr, data: &[u8], p_memsz| {
            let s = ElfSegment {
                p_type,
                p_flags: 0,
                p_offset: data_at,
                p_vaddr,
                p_paddr,
                p_filesz: data.len() as u64,
                p_memsz,
            };
            f.extend(bytes_of(&s.encode()));
            body.extend(data);
            data_at += data.len() as u64;
        };
        segment(PT_NOTE, 0, 0, notes, notes.len() as u64);
        for l in loads {
            segment(PT_LOAD, l.vaddr, l.paddr, &l.data, l.memsz);
        }
        f.extend(body);
        f
    }
}

#[cfg(test)]
mod file_tests {
    use super::super::{Dump, DumpError, DumpFormat, PageState};
    use super::synth::{elf, note, Load};

    #[test]
    fn kcore_segments_without_physical_address_are_not_ram() {
        // /proc/kcore's layout: RAM in the direct map with its physical
        // address, the kernel text duplicating part of it, and a vmalloc
        // segment whose p_paddr is -1.
        let ram: Vec<u8> = (0..0x2000u32).map(|i| (i % 13) as u8).collect();
        let loads = [
            Load {
                paddr: 0x1000,
                vaddr: 0xffff_8880_0000_1000,
                data: ram.clone(),
                memsz: 0x2000,
            },
            Load {
                paddr: 0x2000,
                vaddr: 0xffff_ffff_8100_0000,
                data: ram[0x1000..].to_vec(),
                memsz: 0x1000,
            },
            Load {
                paddr: u64::MAX,
                vaddr: 0xffff_c900_0000_0000,
                data: vec![9; 0x1000],
                memsz: 0x1000,
            },
        ];
        let notes = note("VMCOREINFO", 0, b"OSRELEASE=6.99\nPAGESIZE=4096\n");
        let d = Dump::from_bytes("kcore", elf(&notes, &loads, false)).unwrap();
        assert_eq!(d.elf_segments().unwrap().len(), 4);
        assert_eq!(d.phys().ranges(), vec![0x1000..0x3000]);
        assert_eq!(d.max_pfn(), 3);
        let mut b = vec![0u8; 0x2000];
        d.phys().read_phys(0x1000, &mut b).unwrap();
        assert_eq!(b, ram);
    }

    #[test]
    fn qemu_layout_pn_xnum_overlaps_and_excluded_tails() {
        let ram: Vec<u8> = (0..0x4000u32).map(|i| (i % 251) as u8).collect();
        let loads = [
            // RAM: 16 KiB stored, 8 KiB more excluded.
            Load {
                paddr: 0,
                vaddr: 0,
                data: ram.clone(),
                memsz: 0x6000,
            },
            // A kernel-text view of RAM page 1 (as /proc/vmcore has), with
            // other bytes: the RAM segment, sorted first, wins.
            Load {
                paddr: 0x1000,
                vaddr: 0xffff_ffff_8100_0000,
                data: vec![0xee; 0x1000],
                memsz: 0x1000,
            },
            // A second range, higher up.
            Load {
                paddr: 0x10_0000,
                vaddr: 0,
                data: vec![7; 0x2000],
                memsz: 0x2000,
            },
        ];
        let mut notes = note("CORE", 1, &[0; 336]);
        notes.extend(note("VMCOREINFO", 0, b"OSRELEASE=6.99\nPAGESIZE=4096\n"));
        for xnum in [false, true] {
            let p =
                std::env::temp_dir().join(format!("dumptool-elf-{}-{xnum}", std::process::id()));
            std::fs::write(&p, elf(&notes, &loads, xnum)).unwrap();
            let d = Dump::open(&p).unwrap();
            assert_eq!(d.format(), DumpFormat::Elf);
            assert_eq!(d.notes().prstatus_count(), 1);
            assert_eq!(d.vmcoreinfo().unwrap().osrelease.as_deref(), Some("6.99"));
            assert_eq!(d.elf_segments().unwrap().len(), 4);
            assert_eq!(d.max_pfn(), 0x102);
            let mut b = vec![0u8; 0x4000];
            d.phys().read_phys(0, &mut b).unwrap();
            assert_eq!(b, ram);
            assert_eq!(d.phys().page_state(3), PageState::Present);
            assert_eq!(d.phys().page_state(4), PageState::Excluded);
            assert_eq!(d.phys().page_state(6), PageState::NotInDump);
            assert_eq!(d.phys().page_state(0x101), PageState::Present);
            let e = d.phys().read_phys(0x3ff0, &mut b[..0x20]).unwrap_err();
            assert!(
                matches!(
                    e,
                    DumpError::NotPresent {
                        paddr: 0x4000,
                        reason: super::super::Absence::Excluded,
                        ..
                    }
                ),
                "{e}"
            );
            assert_eq!(d.phys().ranges(), vec![0..0x4000, 0x10_0000..0x10_2000]);
            std::fs::remove_file(&p).unwrap();
        }
    }
}
