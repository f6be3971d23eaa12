//! ELF64 vmcores: `/proc/vmcore`, `makedumpfile -E` output and qemu's
//! `dump-guest-memory` (whose program headers follow a section header, so
//! `e_phoff` is honoured, and whose count may be `PN_XNUM`, the real one then
//! being section header 0's `sh_info`).
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
use super::source::{fits, read_exact, truncated, Region, Source};
use super::{PageState, PhysMemory};
use std::ops::Range;

/// ELF magic.
pub const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ET_CORE: u16 = 4;
/// `e_machine` of x86_64.
pub const EM_X86_64: u16 = 62;
/// `p_type` of loadable (memory) segments.
pub const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const PN_XNUM: u16 = 0xffff;
/// `p_paddr` of a `PT_LOAD` without a physical address (`/proc/kcore`'s
/// vmalloc, module and vmemmap segments).
const NO_PADDR: u64 = u64::MAX;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;

/// One program header of the dump.
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

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

impl ElfReader {
    /// Reads the headers and notes of the ELF vmcore in `src`.
    pub fn open(src: Box<dyn Source>) -> Result<(ElfReader, Vec<Note>), DumpError> {
        let path = src.path().to_path_buf();
        let invalid = |what: &str, detail: String| DumpError::Invalid {
            path: path.clone(),
            what: what.to_string(),
            detail,
        };
        let eh = read_exact(&*src, 0, EHDR_SIZE, || "ELF header".into())?;
        if &eh[..4] != ELF_MAGIC {
            return Err(invalid("ELF header", "no ELF magic".into()));
        }
        if eh[4] != 2 {
            return Err(DumpError::Unsupported {
                path: path.clone(),
                detail: format!("ELF class {} (only ELF64 dumps are read)", eh[4]),
            });
        }
        if eh[5] != 1 {
            return Err(DumpError::Unsupported {
                path: path.clone(),
                detail: format!(
                    "ELF data encoding {} (only little-endian dumps are read)",
                    eh[5]
                ),
            });
        }
        let e_type = u16_at(&eh, 16);
        if e_type != ET_CORE {
            return Err(invalid(
                "ELF header",
                format!("e_type is {e_type}, not ET_CORE (4): this is not a core dump"),
            ));
        }
        let machine = u16_at(&eh, 18);
        let e_phoff = u64_at(&eh, 32);
        let e_shoff = u64_at(&eh, 40);
        let e_phentsize = u16_at(&eh, 54) as usize;
        let e_phnum = u16_at(&eh, 56);
        let e_shentsize = u16_at(&eh, 58) as usize;
        drop(eh);

        let phnum = if e_phnum == PN_XNUM {
            if e_shoff == 0 {
                return Err(invalid(
                    "ELF header",
                    "e_phnum is PN_XNUM but there is no section header 0 to hold the count".into(),
                ));
            }
            if e_shentsize < SHDR_SIZE {
                return Err(invalid(
                    "ELF header",
                    format!("e_phnum is PN_XNUM but e_shentsize is {e_shentsize}"),
                ));
            }
            let sh = read_exact(&*src, e_shoff, SHDR_SIZE, || {
                "section header 0 (holding the PN_XNUM program header count)".into()
            })?;
            u32_at(&sh, 44) as usize
        } else {
            e_phnum as usize
        };
        if phnum > 0 && e_phentsize != PHDR_SIZE {
            return Err(invalid(
                "ELF header",
                format!("e_phentsize is {e_phentsize}, expected {PHDR_SIZE}"),
            ));
        }
        let table_len = phnum
            .checked_mul(PHDR_SIZE)
            .filter(|&l| l as u64 <= src.len())
            .ok_or_else(|| {
                truncated(
                    &*src,
                    e_phoff,
                    (phnum as u64).saturating_mul(PHDR_SIZE as u64),
                    format!("program header table ({phnum} entries)"),
                )
            })?;
        let table = read_exact(&*src, e_phoff, table_len, || {
            format!("program header table ({phnum} entries)")
        })?;
        let mut segments = Vec::with_capacity(phnum);
        for i in 0..phnum {
            let p = &table[i * PHDR_SIZE..(i + 1) * PHDR_SIZE];
            segments.push(ElfSegment {
                p_type: u32_at(p, 0),
                p_flags: u32_at(p, 4),
                p_offset: u64_at(p, 8),
                p_vaddr: u64_at(p, 16),
                p_paddr: u64_at(p, 24),
                p_filesz: u64_at(p, 32),
                p_memsz: u64_at(p, 40),
            });
        }
        drop(table);

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
                    &name("PT_LOAD"),
                    format!(
                        "p_paddr {:#x} + p_memsz {:#x} overflows",
                        s.p_paddr, s.p_memsz
                    ),
                ));
            }
            if s.p_memsz > 0 {
                loads.push(*s);
            }
        }
        let runs = build_runs(loads);
        let reader = ElfReader {
            src,
            machine,
            segments,
            runs,
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
        DumpError::NotPresent {
            path: self.src.path().to_path_buf(),
            paddr,
            vaddr: None,
            reason,
        }
    }
}

/// Disjoint runs from `PT_LOAD` segments sorted by address. Where segments
/// overlap (`/proc/vmcore` has one for the kernel text besides the RAM one)
/// the one starting first keeps the overlap.
fn build_runs(mut loads: Vec<ElfSegment>) -> Vec<Run> {
    loads.sort_by_key(|s| (s.p_paddr, std::cmp::Reverse(s.p_memsz)));
    let mut runs: Vec<Run> = Vec::with_capacity(loads.len());
    let mut covered = 0u64;
    for s in loads {
        // Header-derived: every sum checked (`open` made sure that
        // p_paddr + p_memsz and p_offset + p_filesz fit, not more).
        let Some(end) = s.p_paddr.checked_add(s.p_memsz) else {
            continue;
        };
        let start = s.p_paddr.max(covered);
        if start >= end {
            continue;
        }
        let skip = start - s.p_paddr;
        let file_end = s.p_paddr.saturating_add(s.p_filesz).max(start);
        // Past the segment's file part (skip > p_filesz) no byte comes from
        // the file: the run is all excluded memory.
        let (file_end, offset) = match s.p_offset.checked_add(skip) {
            Some(o) if file_end > start => (file_end, o),
            _ => (start, 0),
        };
        runs.push(Run {
            start,
            file_end,
            end,
            offset,
        });
        covered = end;
    }
    runs
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

/// Whether `head` (the first bytes of a file) starts an ELF file.
pub fn is_elf(head: &[u8]) -> bool {
    head.len() >= 4 && &head[..4] == ELF_MAGIC
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
        let runs = build_runs(vec![
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
        let runs = build_runs(vec![
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
    use super::{PHDR_SIZE, PN_XNUM, PT_LOAD, PT_NOTE, SHDR_SIZE};

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
        v.extend((name.len() as u32 + 1).to_le_bytes());
        v.extend((desc.len() as u32).to_le_bytes());
        v.extend(ty.to_le_bytes());
        v.extend(name.as_bytes());
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend(desc);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    /// An ELF core with one `PT_NOTE` holding `notes` and the `loads`.
    pub(crate) fn elf(notes: &[u8], loads: &[Load], xnum: bool) -> Vec<u8> {
        let phnum = 1 + loads.len();
        let shoff = 64u64;
        let phoff = shoff + SHDR_SIZE as u64;
        let mut data_at = phoff + (phnum * PHDR_SIZE) as u64;
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
        f[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86_64
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[32..40].copy_from_slice(&phoff.to_le_bytes());
        f[40..48].copy_from_slice(&shoff.to_le_bytes());
        f[52..54].copy_from_slice(&8u16.to_le_bytes()); // qemu's e_ehsize quirk
        f[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        let e_phnum = if xnum { PN_XNUM } else { phnum as u16 };
        f[56..58].copy_from_slice(&e_phnum.to_le_bytes());
        f[58..60].copy_from_slice(&(SHDR_SIZE as u16).to_le_bytes());
        f[60..62].copy_from_slice(&1u16.to_le_bytes());
        let mut sh = vec![0u8; SHDR_SIZE];
        sh[44..48].copy_from_slice(&(phnum as u32).to_le_bytes());
        f.extend(sh);
        let mut body: Vec<u8> = Vec::new();
        let phdr = |ty: u32, off: u64, vaddr: u64, paddr: u64, filesz: u64, memsz: u64| {
            let mut p = vec![0u8; PHDR_SIZE];
            p[0..4].copy_from_slice(&ty.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&vaddr.to_le_bytes());
            p[24..32].copy_from_slice(&paddr.to_le_bytes());
            p[32..40].copy_from_slice(&filesz.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            p
        };
        f.extend(phdr(
            PT_NOTE,
            data_at,
            0,
            0,
            notes.len() as u64,
            notes.len() as u64,
        ));
        body.extend(notes);
        data_at += notes.len() as u64;
        for l in loads {
            f.extend(phdr(
                PT_LOAD,
                data_at,
                l.vaddr,
                l.paddr,
                l.data.len() as u64,
                l.memsz,
            ));
            body.extend(&l.data);
            data_at += l.data.len() as u64;
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
