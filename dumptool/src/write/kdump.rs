//! The kdump-compressed writer (header version 6, as makedumpfile 1.7
//! writes it). Layout, in blocks of the page size:
//!
//! | where | what |
//! | --- | --- |
//! | block 0 | `disk_dump_header`: `KDUMP   `, version 6, utsname, timestamp, status (codec flag, `DUMP_DH_COMPRESSED_INCOMPLETE`), block size, sizes, `max_mapnr` (32 bits), `nr_cpus` |
//! | block 1.. | `kdump_sub_header` (104 bytes: phys_base, dump_level, offsets of VMCOREINFO, of the notes and of the erase information, `max_mapnr_64`), then the source's ELF notes (VMCOREINFO points into its note) |
//! | then | 1st bitmap (pfns the source holds below `max_mapnr`), 2nd bitmap (pfns written), each `max_mapnr` bits rounded up to blocks; `max_mapnr` is [`WriteOptions::end_pfn`] (makedumpfile's end of the last memory section with `struct page`s) or the source's |
//! | then | page descriptors `{ i64 offset; u32 size; u32 flags; u64 page_flags }` in pfn order, one slot per page the first pass kept |
//! | then | the shared zero page, then page data |
//! | then | the erase information text, if any (`erase SYMBOL size N` lines) |
//!
//! Readers find a page's descriptor by the rank of its pfn in the 2nd
//! bitmap, never by the table's size. Zero pages always point at the one
//! shared zero page; with `exclude_zero` they count as excluded, which is
//! makedumpfile's convention (they stay in the 2nd bitmap and read as zeros). A
//! selected page the source cannot deliver keeps its bit and gets a
//! descriptor with offset 0, the convention for a page missing from an
//! incomplete dump.

use super::error::WriteError;
use super::meta;
use super::output::{Region, Sink, REGION_BUFFER};
use super::pages::{Page, PageWorker};
use super::window::Windows;
use super::{Compression, PageSelector, WriteOptions, WriteStats};
use crate::dump::Dump;
use crate::format::compression::DUMP_DH_COMPRESSED_INCOMPLETE;
use crate::format::kdump::{
    DiskDumpHeader, KdumpSubHeader, PageDesc, HEADER_VERSION, KDUMP_SIGNATURE, PAGE_DESC_SIZE,
    SUB_HEADER_SIZE,
};
use zerocopy::{FromZeros, IntoBytes};

/// Sizes as file offsets.
const SUB_HEADER_LEN: u64 = SUB_HEADER_SIZE as u64;
const PAGE_DESC_LEN: u64 = PAGE_DESC_SIZE as u64;

/// Where everything goes.
struct Layout {
    block_size: u64,
    sub_hdr_blocks: u64,
    /// Blocks of one bitmap.
    bitmap_blocks_each: u64,
    bitmap1: u64,
    bitmap2: u64,
    descs: u64,
    /// The shared zero page, if any.
    zero_page: Option<u64>,
    data: u64,
}

impl Layout {
    fn new(block_size: u64, max_mapnr: u64, notes: u64, slots: u64, zero_page: bool) -> Layout {
        let bs = block_size;
        let sub_hdr_blocks = (SUB_HEADER_LEN + notes).div_ceil(bs);
        let bitmap_blocks_each = max_mapnr.div_ceil(8).div_ceil(bs).max(1);
        let bitmap1 = (1 + sub_hdr_blocks) * bs;
        let bitmap2 = bitmap1 + bitmap_blocks_each * bs;
        let descs = bitmap2 + bitmap_blocks_each * bs;
        let table_end = descs + slots * PAGE_DESC_LEN;
        Layout {
            block_size,
            sub_hdr_blocks,
            bitmap_blocks_each,
            bitmap1,
            bitmap2,
            descs,
            zero_page: zero_page.then_some(table_end),
            data: table_end + if zero_page { bs } else { 0 },
        }
    }
}

/// One page descriptor (its stored size is at most a page, which fits 32
/// bits: `write_dump` checked the page size).
fn descriptor(offset: u64, size: u64, flags: u32) -> PageDesc {
    PageDesc::new(offset, size as u32, flags)
}

/// Writes `src`'s kept pages kdump-compressed with `codec` into `sink`.
pub(crate) fn write(
    src: &Dump,
    selector: &dyn PageSelector,
    opts: &WriteOptions,
    codec: Compression,
    sink: &mut dyn Sink,
) -> Result<WriteStats, WriteError> {
    let mut windows = Windows::new(src, opts);
    let mut bits = windows.bits();

    // Pass 1: how many pages each window keeps.
    let mut counts = Vec::with_capacity(windows.count() as usize);
    for w in 0..windows.count() {
        windows.fill(w, selector, &mut bits)?;
        counts.push(bits.kept());
    }
    let slots: u64 = counts.iter().sum();

    let notes = meta::note_area(src, None);
    let layout = Layout::new(
        src.page_size(),
        windows.max_pfn(),
        notes.bytes.len() as u64,
        slots,
        // Always: with exclude_zero, makedumpfile too points excluded zero
        // pages at one shared zero page (they stay readable as zeros).
        true,
    );
    let bs = layout.block_size;
    if let Some(z) = layout.zero_page {
        sink.write_at(z, &vec![0u8; bs as usize])?;
    }

    // Pass 2: pages, descriptors and bitmaps, window by window.
    let worker = PageWorker::new(src, selector, codec, opts)?;
    let mut descs = Region::new(layout.descs, REGION_BUFFER);
    let mut data = Region::new(layout.data, REGION_BUFFER);
    let mut stats = WriteStats::default();
    for (w, &first) in counts.iter().enumerate() {
        windows.refill(w as u64, selector, &mut bits, first)?;
        let mut dumped = vec![0u64; bits.keep.len()];
        worker.for_each(bits.kept_pfns(), true, |pfn, page| {
            let d = match page {
                Page::Unreadable => {
                    stats.unreadable += 1;
                    descriptor(0, bs, 0)
                }
                Page::Zero => {
                    let z = layout.zero_page.unwrap_or(0);
                    if opts.exclude_zero {
                        // makedumpfile's convention: no data of its own, counted excluded.
                        stats.zero_pages_excluded += 1;
                    } else {
                        stats.zero_pages_shared += 1;
                        stats.pages_written += 1;
                    }
                    descriptor(z, bs, 0)
                }
                Page::Stored { flags, data: bytes } => {
                    stats.pages_written += 1;
                    let d = descriptor(data.pos(), bytes.len() as u64, flags);
                    data.push(sink, &bytes)?;
                    d
                }
            };
            let i = pfn - bits.start;
            dumped[(i / 64) as usize] |= 1 << (i % 64);
            descs.push(sink, &d.encode())?;
            Ok(())
        })?;
        let byte = bits.start / 8;
        sink.write_at(
            layout.bitmap1 + byte,
            &Windows::bitmap_bytes(&bits.present, bits.len),
        )?;
        sink.write_at(
            layout.bitmap2 + byte,
            &Windows::bitmap_bytes(&dumped, bits.len),
        )?;
    }
    descs.flush(sink)?;
    data.flush(sink)?;
    // The erase information follows the page data, as makedumpfile puts it.
    let eraseinfo = meta::eraseinfo(src, &opts.eraseinfo);
    let eraseinfo_area = (!eraseinfo.is_empty()).then(|| (data.pos(), eraseinfo.len() as u64));
    if let Some((at, _)) = eraseinfo_area {
        sink.write_at(at, &eraseinfo)?;
    }

    // Headers last: the status depends on what could be read.
    let mut status = codec.flag();
    if stats.unreadable > 0 {
        status |= DUMP_DH_COMPRESSED_INCOMPLETE;
    }
    sink.write_at(0, &main_header(src, &layout, windows.max_pfn(), status))?;
    let sub = sub_header(src, opts, windows.max_pfn(), bs, &notes, eraseinfo_area);
    let mut block = sub.as_bytes().to_vec();
    block.extend_from_slice(&notes.bytes);
    sink.write_at(bs, &block)?;
    Ok(stats)
}

/// Block 0: `struct disk_dump_header`, padded to a block.
fn main_header(src: &Dump, layout: &Layout, max_mapnr: u64, status: u32) -> Vec<u8> {
    let mut h = DiskDumpHeader::new_zeroed();
    h.signature = *KDUMP_SIGNATURE;
    h.header_version.set(HEADER_VERSION);
    h.utsname = meta::utsname(src).encode();
    let (sec, usec) = meta::timestamp(src);
    h.timestamp_sec.set(sec);
    h.timestamp_usec.set(usec);
    h.status.set(status);
    h.block_size.set(layout.block_size as i32);
    h.sub_hdr_size.set(layout.sub_hdr_blocks as i32);
    h.bitmap_blocks.set((2 * layout.bitmap_blocks_each) as u32);
    h.max_mapnr.set(max_mapnr.min(u64::from(u32::MAX)) as u32);
    h.nr_cpus
        .set(src.notes().prstatus_count().min(i32::MAX as usize) as i32);
    let mut block = h.as_bytes().to_vec();
    block.resize(block.len().max(layout.block_size as usize), 0);
    block
}

/// `struct kdump_sub_header` (version 6); the notes follow it directly.
fn sub_header(
    src: &Dump,
    opts: &WriteOptions,
    max_mapnr: u64,
    bs: u64,
    notes: &meta::NoteArea,
    eraseinfo: Option<(u64, u64)>,
) -> KdumpSubHeader {
    let mut s = KdumpSubHeader::new_zeroed();
    s.phys_base.set(meta::phys_base(src));
    s.dump_level.set(opts.dump_level as i32);
    // split = 0, start_pfn / end_pfn (32-bit era) = 0.
    let notes_at = bs + SUB_HEADER_LEN;
    if let Some((off, size)) = notes.vmcoreinfo {
        s.offset_vmcoreinfo.set(notes_at + off as u64);
        s.size_vmcoreinfo.set(size as u64);
    }
    if !notes.bytes.is_empty() {
        s.offset_note.set(notes_at);
        s.size_note.set(notes.bytes.len() as u64);
    }
    if let Some((off, size)) = eraseinfo {
        s.offset_eraseinfo.set(off);
        s.size_eraseinfo.set(size);
    }
    // start_pfn_64 / end_pfn_64 only matter for split dumps (0, as
    // makedumpfile leaves them).
    s.max_mapnr_64.set(max_mapnr);
    s
}
