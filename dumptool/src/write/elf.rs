//! The ELF64 writer, like `makedumpfile -E`: the ELF header, the program
//! headers right after it (`e_phoff` = 64: makedumpfile assumes that), one
//! `PT_NOTE` with every note of the source (VMCOREINFO included; the erase
//! information as an `ERASEINFO` note, as makedumpfile keeps it), then the
//! pages of the `PT_LOAD` segments from a page-aligned offset on.
//!
//! A segment starts at a written page and holds a run of written pages
//! (`p_filesz`); its `p_memsz` then reaches over the memory left out after
//! them, as makedumpfile writes it, so that crash and drgn read excluded
//! pages (user data, free pages, all-zero pages with `exclude_zero`) as
//! zeros instead of failing. That tail covers only pages the source has as
//! memory (held, or excluded by an earlier filter) below the output's end
//! ([`WriteOptions::end_pfn`]) with the same `p_vaddr` offset; it stops at
//! a page the source lacks (a hole, firmware memory above the end) and at
//! a page selected but unreadable (no reader should take that for zeros).
//! Memory left out before the first written page of a source range (with
//! the same `p_vaddr` offset) gets a segment of its own with no file data
//! (`p_filesz` 0), so it too reads as zeros. `p_vaddr` is what the source has for that physical address
//! (its segment's `p_vaddr` plus the offset); a kdump source has none, then
//! `p_vaddr = p_paddr`, as qemu's `dump-guest-memory` writes it.
//!
//! The program headers must precede the data, so their number is needed
//! first: the first pass reads (and zero-checks) every kept page to count
//! the segments, the second writes them. More than 65534 program headers
//! use `PN_XNUM`, the real count in section header 0's `sh_info`.

use super::error::WriteError;
use super::meta;
use super::output::{Region, Sink, REGION_BUFFER};
use super::pages::{Page, PageWorker};
use super::window::Windows;
use super::{Compression, PageSelector, WriteOptions, WriteStats};
use crate::dump::{Dump, PageState};
use crate::format::elf::{
    disjoint_loads, file_header, section_header0, ElfSegment, EHDR_SIZE, PF_RWX, PHDR_SIZE,
    PN_XNUM, PT_LOAD, PT_NOTE, SHDR_SIZE,
};
use object::pod::bytes_of;
use std::ops::Range;

/// Header sizes as file offsets.
const EHDR_LEN: u64 = EHDR_SIZE as u64;
const PHDR_LEN: u64 = PHDR_SIZE as u64;
const SHDR_LEN: u64 = SHDR_SIZE as u64;

/// `p_vaddr - p_paddr` of the source's memory, by physical address.
struct VaddrMap {
    /// Disjoint `(start, end, delta)` sorted by start.
    runs: Vec<(u64, u64, u64)>,
}

impl VaddrMap {
    /// From an ELF source's `PT_LOAD`s (where they overlap, the segment
    /// starting first wins, as for the reader); empty for other sources.
    fn new(src: &Dump) -> VaddrMap {
        let loads = disjoint_loads(src.elf_segments().unwrap_or_default());
        let runs = loads
            .into_iter()
            .map(|(mem, s)| (mem.start, mem.end, s.p_vaddr.wrapping_sub(s.p_paddr)))
            .collect();
        VaddrMap { runs }
    }

    /// `p_vaddr - p_paddr` at `paddr` (0 where the source says nothing),
    /// and where that stops holding (the end of `paddr`'s run, or the start
    /// of the next one; `u64::MAX` past the last).
    fn delta_until(&self, paddr: u64) -> (u64, u64) {
        let i = self.runs.partition_point(|r| r.0 <= paddr);
        match i.checked_sub(1).map(|i| self.runs[i]) {
            Some((_, end, delta)) if paddr < end => (delta, end),
            _ => (0, self.runs.get(i).map_or(u64::MAX, |r| r.0)),
        }
    }

    /// `p_vaddr - p_paddr` at `paddr` (0 where the source says nothing).
    fn delta(&self, paddr: u64) -> u64 {
        self.delta_until(paddr).0
    }

    /// Where the stretch of equal `p_vaddr - p_paddr` holding `paddr`
    /// starts (the start of its run, or the end of the run before it).
    fn delta_since(&self, paddr: u64) -> u64 {
        let i = self.runs.partition_point(|r| r.0 <= paddr);
        match i.checked_sub(1).map(|i| self.runs[i]) {
            Some((start, end, _)) if paddr < end => start,
            Some((_, end, _)) => end,
            None => 0,
        }
    }
}

/// Which pages a segment's `p_memsz` may cover beyond its file data.
struct Cover<'a> {
    /// Whether the source has a pfn as memory an earlier filter excluded.
    excluded: &'a (dyn Fn(u64) -> bool + 'a),
    /// Pfn ranges of whole pages the source holds (sorted, disjoint).
    present: &'a [Range<u64>],
    vaddrs: &'a VaddrMap,
    page_size: u64,
    /// The output's end pfn.
    end: u64,
}

impl Cover<'_> {
    /// The end of the pages from `from` on, below `limit`, that read as
    /// zeros in the output: memory of the source (held, or excluded by an
    /// earlier filter) with the vaddr offset `delta`, below the output's end.
    fn end_from(&self, from: u64, limit: u64, delta: u64) -> u64 {
        let ps = self.page_size;
        let limit = limit.min(self.end);
        let mut pfn = from;
        while pfn < limit {
            let (d, until) = self.vaddrs.delta_until(pfn * ps);
            if d != delta {
                break;
            }
            let same_delta_end = until.div_ceil(ps).max(pfn + 1);
            let i = self.present.partition_point(|r| r.end <= pfn);
            match self.present.get(i) {
                Some(r) if r.start <= pfn => pfn = r.end.min(same_delta_end).min(limit),
                _ if (self.excluded)(pfn) => pfn += 1,
                _ => break,
            }
        }
        pfn.min(limit)
    }

    /// Where the memory that reads as zeros before a segment starting at
    /// `pfn` (with the vaddr offset `delta`) begins: the start of the
    /// source's range holding `pfn`, but not before `floor` (memory an
    /// earlier segment covers, or a page that must not read as zeros).
    fn start_before(&self, pfn: u64, delta: u64, floor: u64) -> u64 {
        let ps = self.page_size;
        let i = self.present.partition_point(|r| r.end <= pfn);
        let Some(range) = self.present.get(i).filter(|r| r.start <= pfn) else {
            return pfn;
        };
        // From there to `pfn` the source has the same vaddr offset.
        let same_delta = self.vaddrs.delta_since(pfn * ps).div_ceil(ps);
        debug_assert_eq!(self.vaddrs.delta(pfn * ps), delta);
        range.start.max(same_delta).max(floor).min(pfn)
    }
}

/// A segment being followed: pfns `start..file_end` written.
struct Open {
    file_end: u64,
    delta: u64,
}

/// Follows the written pages in pfn order and tells where segments start
/// and where the memory of each ends (`p_memsz`).
struct Segments<'a> {
    cover: Cover<'a>,
    open: Option<Open>,
    /// No memory before this pfn may be covered any more (an earlier
    /// segment's memory ends there, or a page there must not read as zeros).
    floor: u64,
}

/// What a written page changes in the segments.
struct SegmentStart {
    /// The memory end pfn of the segment it closes, if one was open.
    closed: Option<u64>,
    /// The new segment's `p_vaddr - p_paddr`.
    delta: u64,
    /// Where a segment without file data must start, to make the source's
    /// memory before the new segment read as zeros (it starts a range whose
    /// first pages are left out).
    lead: Option<u64>,
}

impl Segments<'_> {
    /// Records that `pfn` is written. When it starts a new segment, returns
    /// the end pfn of the memory of the segment it ends (if one was open)
    /// and the new segment's delta.
    fn add(&mut self, pfn: u64) -> Option<SegmentStart> {
        let delta = self.cover.vaddrs.delta(pfn * self.cover.page_size);
        if let Some(o) = self.open.as_mut() {
            if o.file_end == pfn && o.delta == delta {
                o.file_end += 1;
                return None;
            }
        }
        let closed = self.close(pfn);
        let lead = self.cover.start_before(pfn, delta, self.floor);
        self.open = Some(Open {
            file_end: pfn + 1,
            delta,
        });
        Some(SegmentStart {
            closed,
            delta,
            lead: (lead < pfn).then_some(lead),
        })
    }

    /// Ends the open segment (if any) before `limit`: a page that must not
    /// read as zeros, or the next segment. Returns its memory's end pfn.
    fn close(&mut self, limit: u64) -> Option<u64> {
        let o = self.open.take()?;
        let end = self.cover.end_from(o.file_end, limit, o.delta);
        self.floor = self.floor.max(end);
        Some(end)
    }

    /// A page at `pfn` must not read as zeros (it was selected but could
    /// not be read): ends the open segment before it.
    fn stop_at(&mut self, pfn: u64) -> Option<u64> {
        let closed = self.close(pfn);
        self.floor = self.floor.max(pfn + 1);
        closed
    }
}

/// A `PT_LOAD` being written.
struct Load {
    paddr: u64,
    vaddr: u64,
    offset: u64,
    size: u64,
}

/// A program header's bytes; `memsz` ≥ `filesz` (the rest reads as
/// zeros). `PT_LOAD`s are `PF_RWX`, as the kernel's `/proc/vmcore` has them.
fn phdr(
    p_type: u32,
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
) -> object::elf::ProgramHeader64<object::LittleEndian> {
    ElfSegment {
        p_type,
        p_flags: if p_type == PT_LOAD { PF_RWX } else { 0 },
        p_offset: offset,
        p_vaddr: vaddr,
        p_paddr: paddr,
        p_filesz: filesz,
        p_memsz: memsz,
    }
    .encode()
}

/// Writes the program header of `load`, whose memory ends at `mem_end`;
/// returns where its memory would end in the file (`p_offset + p_memsz`).
fn close(
    load: Option<Load>,
    mem_end: u64,
    loads: &mut Region,
    sink: &mut dyn Sink,
) -> Result<u64, WriteError> {
    match load {
        Some(l) => {
            let memsz = mem_end.saturating_sub(l.paddr).max(l.size);
            loads.push(
                sink,
                bytes_of(&phdr(PT_LOAD, l.offset, l.vaddr, l.paddr, l.size, memsz)),
            )?;
            Ok(l.offset.saturating_add(memsz))
        }
        None => Ok(0),
    }
}

/// Writes `src`'s kept pages as an ELF64 core into `sink`.
pub(crate) fn write(
    src: &Dump,
    selector: &dyn PageSelector,
    opts: &WriteOptions,
    sink: &mut dyn Sink,
) -> Result<WriteStats, WriteError> {
    let machine = meta::elf_machine(src)?;
    let ps = src.page_size();
    let mut windows = Windows::new(src, opts);
    let vaddrs = VaddrMap::new(src);
    let present = windows.present().to_vec();
    let end_pfn = windows.max_pfn();
    let excluded = |pfn: u64| src.phys().page_state(pfn) == PageState::Excluded;
    let cover = || Cover {
        excluded: &excluded,
        present: &present,
        vaddrs: &vaddrs,
        page_size: ps,
        end: end_pfn,
    };
    let worker = PageWorker::new(src, selector, Compression::None, opts)?;
    let mut bits = windows.bits();
    let written = |page: &Page| match page {
        Page::Unreadable => false,
        Page::Zero => !opts.exclude_zero,
        Page::Stored { .. } => true,
    };

    // Pass 1: kept pages and segment starts per window.
    let mut counts = Vec::with_capacity(windows.count() as usize);
    let mut segs = Segments {
        cover: cover(),
        open: None,
        floor: 0,
    };
    let mut nsegs = 0u64;
    for w in 0..windows.count() {
        windows.fill(w, selector, &mut bits)?;
        let kept = bits.kept();
        worker.for_each(bits.kept_pfns(), false, |pfn, page| {
            if written(&page) {
                if let Some(start) = segs.add(pfn) {
                    nsegs += 1 + u64::from(start.lead.is_some());
                }
            } else if matches!(page, Page::Unreadable) {
                segs.stop_at(pfn);
            }
            Ok(())
        })?;
        counts.push(kept);
    }

    // Headers and notes.
    let eraseinfo = meta::eraseinfo(src, &opts.eraseinfo);
    let notes = meta::note_area(src, Some(&eraseinfo));
    let phnum = nsegs + 1;
    let xnum = phnum >= u64::from(PN_XNUM);
    let phdrs_end = EHDR_LEN + phnum * PHDR_LEN;
    let shoff = xnum.then_some(phdrs_end);
    let notes_at = phdrs_end + if xnum { SHDR_LEN } else { 0 };
    let data_at = (notes_at + notes.bytes.len() as u64).next_multiple_of(ps);
    let notes_len = notes.bytes.len() as u64;
    sink.write_at(0, bytes_of(&file_header(machine, phnum, shoff)))?;
    sink.write_at(
        EHDR_LEN,
        bytes_of(&phdr(PT_NOTE, notes_at, 0, 0, notes_len, notes_len)),
    )?;
    if let Some(off) = shoff {
        sink.write_at(off, bytes_of(&section_header0(phnum)))?;
    }
    sink.write_at(notes_at, &notes.bytes)?;

    // Pass 2: page data and PT_LOAD headers.
    let mut loads = Region::new(EHDR_LEN + PHDR_LEN, REGION_BUFFER);
    let mut data = Region::new(data_at, REGION_BUFFER);
    let mut segs = Segments {
        cover: cover(),
        open: None,
        floor: 0,
    };
    let mut stats = WriteStats::default();
    let mut load: Option<Load> = None;
    let mut mapped_end = 0u64;
    let zero_page = vec![0u8; ps as usize];
    for (w, &first) in counts.iter().enumerate() {
        windows.refill(w as u64, selector, &mut bits, first)?;
        worker.for_each(bits.kept_pfns(), true, |pfn, page| {
            if !written(&page) {
                match page {
                    Page::Unreadable => {
                        stats.unreadable += 1;
                        // Not zeros: the segment's memory ends before it.
                        if let Some(end) = segs.stop_at(pfn) {
                            mapped_end =
                                mapped_end.max(close(load.take(), end * ps, &mut loads, sink)?);
                        }
                    }
                    _ => stats.zero_pages_excluded += 1,
                }
                return Ok(());
            }
            if let Some(SegmentStart {
                closed,
                delta,
                lead,
            }) = segs.add(pfn)
            {
                if let Some(end) = closed {
                    mapped_end = mapped_end.max(close(load.take(), end * ps, &mut loads, sink)?);
                }
                if let Some(from) = lead {
                    // The range's memory before its first written page: in
                    // a segment of its own with no file data (zeros).
                    let lead = Load {
                        paddr: from * ps,
                        vaddr: (from * ps).wrapping_add(delta),
                        offset: data.pos(),
                        size: 0,
                    };
                    mapped_end = mapped_end.max(close(Some(lead), pfn * ps, &mut loads, sink)?);
                    stats.elf_segments += 1;
                }
                stats.elf_segments += 1;
                let paddr = pfn * ps;
                load = Some(Load {
                    paddr,
                    vaddr: paddr.wrapping_add(delta),
                    offset: data.pos(),
                    size: 0,
                });
            }
            match page {
                Page::Stored { data: bytes, .. } => data.push(sink, &bytes)?,
                _ => data.push(sink, &zero_page)?,
            }
            if let Some(l) = load.as_mut() {
                l.size += ps;
            }
            stats.pages_written += 1;
            Ok(())
        })?;
    }
    if let Some(end) = segs.close(windows.max_pfn()) {
        mapped_end = mapped_end.max(close(load.take(), end * ps, &mut loads, sink)?);
    }
    loads.flush(sink)?;
    data.flush(sink)?;
    // Readers that map the file (makedumpfile) reach `p_offset + p_memsz` of
    // the last segment: the file extends that far (a hole, no disk used),
    // else they die of SIGBUS there.
    if mapped_end > data.pos() {
        sink.write_at(mapped_end - 1, &[0])?;
    }
    if stats.elf_segments as u64 != nsegs {
        return Err(WriteError::Inconsistent {
            start_pfn: 0,
            first: nsegs,
            second: stats.elf_segments as u64,
        });
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_break_at_gaps_and_vaddr_jumps_and_cover_memory() {
        let map = VaddrMap {
            runs: vec![(0, 0x4000, 100), (0x4000, 0x8000, 200)],
        };
        // The source holds pfns 0..6, pfn 6 was excluded by an earlier
        // filter, pfn 7 is not memory.
        let present: Vec<Range<u64>> = std::iter::once(0..6).collect();
        let excluded = |pfn: u64| pfn == 6;
        let mut s = Segments {
            cover: Cover {
                excluded: &excluded,
                present: &present,
                vaddrs: &map,
                page_size: 0x1000,
                end: 16,
            },
            open: None,
            floor: 0,
        };
        let steps: Vec<Option<(Option<u64>, u64)>> = [0, 1, 3, 4, 5]
            .iter()
            .map(|&p| s.add(p).map(|st| (st.closed, st.delta)))
            .collect();
        assert_eq!(
            steps,
            [
                Some((None, 100)),
                None,
                // pfn 2 is covered by the first segment's p_memsz.
                Some((Some(3), 100)),
                // The vaddr offset changes at pfn 4.
                Some((Some(4), 200)),
                None
            ]
        );
        // The last one covers the excluded pfn 6, not pfn 7.
        assert_eq!(s.close(16), Some(7));
        assert_eq!(s.close(16), None);
        // An unreadable pfn ends the memory before it; the output's end too.
        s.add(0);
        assert_eq!(s.close(2), Some(2));
        s.cover.end = 3;
        s.add(1);
        assert_eq!(s.close(16), Some(3));
    }

    #[test]
    fn memory_before_a_ranges_first_written_page_gets_a_segment_of_its_own() {
        // One vaddr offset from pfn 0x10 on; the source holds pfns
        // 1..0x9 and 0x10..0x40 (a hole between, as /proc/vmcore has).
        let map = VaddrMap {
            runs: vec![(0x1000, 0x9000, 7), (0x10000, 0x40000, 9)],
        };
        let present = vec![1..9, 0x10..0x40];
        let excluded = |_: u64| false;
        let mut s = Segments {
            cover: Cover {
                excluded: &excluded,
                present: &present,
                vaddrs: &map,
                page_size: 0x1000,
                end: 0x40,
            },
            open: None,
            floor: 0,
        };
        // First written page of the first range: pfns 1..3 before it.
        let a = s.add(3).unwrap();
        assert_eq!((a.closed, a.delta, a.lead), (None, 7, Some(1)));
        // The next range starts at 0x10: its first written page is 0x14.
        let b = s.add(0x14).unwrap();
        assert_eq!((b.closed, b.delta, b.lead), (Some(9), 9, Some(0x10)));
        // Inside a range, the previous segment's memory reaches the next.
        let c = s.add(0x20).unwrap();
        assert_eq!((c.closed, c.lead), (Some(0x20), None));
        // An unreadable page is never covered, before or after.
        s.stop_at(0x30);
        let d = s.add(0x32).unwrap();
        assert_eq!((d.closed, d.lead), (None, Some(0x31)));
    }
}
