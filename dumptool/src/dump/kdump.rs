//! kdump-compressed dumps (signature `KDUMP   `), as makedumpfile and qemu
//! write them. Layout, in blocks of `block_size` bytes (the structures are
//! defined in [`crate::format::kdump`]):
//!
//! | block | content |
//! | --- | --- |
//! | 0 | `disk_dump_header` (signature, version, utsname, status, sizes) |
//! | 1 .. 1+`sub_hdr_size` | `kdump_sub_header` (phys_base, dump_level, split range, offsets of VMCOREINFO / notes / eraseinfo, 64-bit pfn fields from version 6) |
//! | then `bitmap_blocks` | 1st bitmap (pages that are RAM), 2nd bitmap (pages dumped); a single bitmap in old dumps |
//! | then | one 24-byte page descriptor `{ i64 offset; u32 size; u32 flags; u64 page_flags }` per dumped page, in pfn order |
//! | then | page data, each compressed (zlib / lzo / snappy / zstd per descriptor flag) or raw |
//!
//! A descriptor is found by the rank of its pfn among the dumped pages (a
//! rank index over the bitmap). Many descriptors may point at one all-zero raw
//! page written right after the descriptor table (qemu always does this,
//! makedumpfile when it excludes zero pages): those pages are
//! [`PageState::Zero`]. Decompressed pages live in a small bounded cache.

use super::bitmap::Bitmap;
use super::error::{Absence, DumpError};
use super::notes::{parse_notes, Note};
use super::source::{fits, invalid, not_present, read_exact, read_region, truncated, Source};
use super::{PageState, PhysMemory};
use crate::format::compression::{Compression, DUMP_DH_COMPRESSED_INCOMPLETE};
use crate::format::kdump::{DiskDumpHeader, KdumpSubHeader, DISK_DUMP_HEADER_SIZE, PAGE_DESC_SIZE};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Mutex;
use zerocopy::FromBytes;

pub use crate::format::kdump::{PageDesc, Utsname, DISKDUMP_SIGNATURE, KDUMP_SIGNATURE};

/// Size of a page descriptor, as a file offset.
const DESC_SIZE: u64 = PAGE_DESC_SIZE as u64;
/// Decompressed pages kept.
const CACHE_PAGES: usize = 8;
/// The widest physical address any machine Linux runs on has (x86_64 with
/// 5-level paging, arm64 with 52-bit PAs): a dump describing more memory
/// than this is corrupt.
const MAX_PHYS_BITS: u32 = 52;
/// The most bytes a header may make us copy out of the file for VMCOREINFO,
/// the ELF notes or the erase information (the kernel's VMCOREINFO is one
/// page; notes are a few hundred bytes per CPU).
const MAX_BLOB: u64 = 16 << 20;
/// Reads of at least this many pages are decompressed in parallel on
/// rayon's current pool (e.g. BTF and kallsyms tables at start-up), in
/// pieces of [`PARALLEL_PIECE_PAGES`].
const PARALLEL_PAGES: usize = 64;
const PARALLEL_PIECE_PAGES: usize = 16;

/// The main header and sub header of a kdump-compressed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdumpHeader {
    /// `header_version` (makedumpfile writes 6).
    pub header_version: i32,
    /// The dumped kernel's utsname.
    pub utsname: Utsname,
    /// `timestamp.tv_sec`.
    pub timestamp_sec: i64,
    /// `timestamp.tv_usec`.
    pub timestamp_usec: i64,
    /// `status`: compression flags (`DUMP_DH_COMPRESSED_*`) and
    /// `DUMP_DH_COMPRESSED_INCOMPLETE`.
    pub status: u32,
    /// `block_size` (the page size).
    pub block_size: u32,
    /// `sub_hdr_size`, in blocks.
    pub sub_hdr_size: u32,
    /// `bitmap_blocks`: blocks of both bitmaps together.
    pub bitmap_blocks: u32,
    /// Number of pfns the bitmaps describe (`max_mapnr_64` from version 6).
    pub max_mapnr: u64,
    /// `nr_cpus`.
    pub nr_cpus: i32,
    /// Sub header `phys_base` (qemu's is wrong under KASLR: prefer
    /// VMCOREINFO's `NUMBER(phys_base)`).
    pub phys_base: u64,
    /// `dump_level` (version 1+): makedumpfile's `-d` mask.
    pub dump_level: i32,
    /// `split` (version 2+): this file holds only `start_pfn..end_pfn`.
    pub split: bool,
    /// First pfn of a split file (version 2+).
    pub start_pfn: u64,
    /// End pfn of a split file (version 2+).
    pub end_pfn: u64,
    /// File offset and size of the VMCOREINFO text (version 3+).
    pub vmcoreinfo: Option<(u64, u64)>,
    /// File offset and size of the ELF notes (version 4+).
    pub notes: Option<(u64, u64)>,
    /// File offset and size of the erase information (version 5+).
    pub eraseinfo: Option<(u64, u64)>,
}

impl KdumpHeader {
    /// Whether makedumpfile marked the dump incomplete (it ran out of space).
    pub fn incomplete(&self) -> bool {
        self.status & DUMP_DH_COMPRESSED_INCOMPLETE != 0
    }

    /// The compression the header announces (pages carry their own flags);
    /// `None` when it announces none.
    pub fn codec(&self) -> Option<Compression> {
        Some(Compression::from_flags(self.status)).filter(|c| *c != Compression::None)
    }

    /// The fields of `main` and of `sub` that exist in `main`'s version
    /// (its block size and sub header size already checked).
    fn from_raw(main: &DiskDumpHeader, sub: &KdumpSubHeader) -> KdumpHeader {
        let v = main.header_version.get();
        let area = |off: u64, size: u64| (off != 0 && size != 0).then_some((off, size));
        let (start_pfn, end_pfn) = match v {
            i32::MIN..=1 => (0, 0),
            2..=5 => (sub.start_pfn.get(), sub.end_pfn.get()),
            _ => (sub.start_pfn_64.get(), sub.end_pfn_64.get()),
        };
        KdumpHeader {
            header_version: v,
            utsname: Utsname::decode(&main.utsname),
            timestamp_sec: main.timestamp_sec.get(),
            timestamp_usec: main.timestamp_usec.get(),
            status: main.status.get(),
            block_size: main.block_size.get() as u32,
            sub_hdr_size: main.sub_hdr_size.get() as u32,
            bitmap_blocks: main.bitmap_blocks.get(),
            max_mapnr: if v >= 6 {
                sub.max_mapnr_64.get()
            } else {
                u64::from(main.max_mapnr.get())
            },
            nr_cpus: main.nr_cpus.get(),
            phys_base: sub.phys_base.get(),
            dump_level: sub.dump_level.get(),
            split: v >= 2 && sub.split.get() != 0,
            start_pfn,
            end_pfn,
            vmcoreinfo: (v >= 3)
                .then(|| area(sub.offset_vmcoreinfo.get(), sub.size_vmcoreinfo.get()))
                .flatten(),
            notes: (v >= 4)
                .then(|| area(sub.offset_note.get(), sub.size_note.get()))
                .flatten(),
            eraseinfo: (v >= 5)
                .then(|| area(sub.offset_eraseinfo.get(), sub.size_eraseinfo.get()))
                .flatten(),
        }
    }
}

/// Decompressed pages: `(pfn, data)`, replaced round-robin.
#[derive(Debug, Default)]
struct PageCache {
    slots: Vec<(u64, Box<[u8]>)>,
    next: usize,
}

/// A kdump-compressed dump over a [`Source`] (plain or flattened file).
pub struct KdumpReader {
    src: Box<dyn Source>,
    header: KdumpHeader,
    /// 1st bitmap: pages that are RAM.
    valid: Bitmap,
    /// 2nd bitmap: pages dumped (ranked).
    dumped: Bitmap,
    /// Pfns this file describes.
    pfns: Range<u64>,
    /// `dumped.rank(pfns.start)`.
    rank_base: u64,
    /// Descriptors in the table.
    ndesc: u64,
    /// File offset of the descriptor table.
    desc_offset: u64,
    /// File offset of the shared zero page, if there is one.
    zero_page: Option<u64>,
    block_size: u64,
    cache: Mutex<PageCache>,
}

/// What [`KdumpReader::open`] finds besides the reader.
pub(crate) struct KdumpExtras {
    /// The VMCOREINFO text from the sub header, if any.
    pub vmcoreinfo: Option<Vec<u8>>,
    /// The ELF notes.
    pub notes: Vec<Note>,
    /// The erase information text from the sub header, if any.
    pub eraseinfo: Option<Vec<u8>>,
}

/// The two page bitmaps and where they end.
struct Bitmaps {
    /// 1st bitmap: pages that are RAM.
    valid: Bitmap,
    /// 2nd bitmap: pages dumped (the 1st again in single-bitmap dumps).
    dumped: Bitmap,
    /// File offset right after them: the descriptor table.
    end: u64,
}

/// Where the page descriptors of the file's pfns are.
struct DescTable {
    pfns: Range<u64>,
    rank_base: u64,
    ndesc: u64,
    offset: u64,
    zero_page: Option<u64>,
}

/// Reads and checks the main header and the sub header.
fn read_headers(src: &dyn Source) -> Result<KdumpHeader, DumpError> {
    let path = src.path();
    let bad = |detail: String| invalid(path, "kdump main header", detail);
    let mh = read_exact(src, 0, DISK_DUMP_HEADER_SIZE, || {
        "kdump main header (disk_dump_header)".into()
    })?;
    let main =
        DiskDumpHeader::read_from_bytes(&mh).map_err(|_| bad("not a disk_dump_header".into()))?;
    drop(mh);
    if &main.signature != KDUMP_SIGNATURE {
        return Err(bad("no `KDUMP   ` signature".into()));
    }
    let version = main.header_version.get();
    if version < 0 {
        return Err(bad(format!("header_version is {version}")));
    }
    let block_size = main.block_size.get();
    if !(512..=1 << 20).contains(&block_size) || block_size.count_ones() != 1 {
        return Err(bad(format!(
            "block_size {block_size} is not a power of two between 512 and 1 MiB"
        )));
    }
    let bs = block_size as u64;
    let sub_hdr_size = main.sub_hdr_size.get();
    if sub_hdr_size < 0 {
        return Err(bad(format!("sub_hdr_size is {sub_hdr_size}")));
    }
    let sub_len = KdumpSubHeader::len_in_version(version);
    if (sub_hdr_size as u64) * bs < sub_len as u64 {
        return Err(bad(format!(
            "sub_hdr_size is {sub_hdr_size} blocks, too small for a version \
             {version} sub header ({sub_len} bytes)"
        )));
    }
    let sh = read_exact(src, bs, sub_len, || {
        format!("kdump sub header (kdump_sub_header, version {version})")
    })?;
    let sub = KdumpSubHeader::from_prefix(&sh);
    Ok(KdumpHeader::from_raw(&main, &sub))
}

/// Reads the page bitmaps `header` announces. Everything allocated or
/// scanned is bounded by the physical address space and by what the file
/// stores.
fn read_bitmaps(src: &dyn Source, header: &KdumpHeader) -> Result<Bitmaps, DumpError> {
    let bs = u64::from(header.block_size);
    let max_mapnr = header.max_mapnr;
    let bitmap_blocks = header.bitmap_blocks;
    if !matches!(max_mapnr.checked_mul(bs), Some(b) if b <= 1u64 << MAX_PHYS_BITS) {
        return Err(invalid(
            src.path(),
            "kdump header",
            format!(
                "max_mapnr {max_mapnr:#x} pages of {bs} bytes are more memory than a \
                 {MAX_PHYS_BITS}-bit physical address space holds"
            ),
        ));
    }
    let bitmap_offset = (1 + u64::from(header.sub_hdr_size)) * bs;
    let bitmap_len = u64::from(bitmap_blocks) * bs;
    if !fits(bitmap_offset, bitmap_len, src.len()) {
        return Err(truncated(
            src,
            bitmap_offset,
            bitmap_len,
            format!("page bitmaps (bitmap_blocks = {bitmap_blocks})"),
        ));
    }
    let one_bitmap_blocks = max_mapnr.div_ceil(8).div_ceil(bs);
    let two = u64::from(bitmap_blocks) >= 2 * one_bitmap_blocks;
    let half = if two { bitmap_len / 2 } else { bitmap_len };
    if half.saturating_mul(8) < max_mapnr {
        return Err(invalid(
            src.path(),
            "kdump main header",
            format!(
                "bitmap_blocks = {bitmap_blocks} cover only {} pfns, but max_mapnr is {max_mapnr}",
                half.saturating_mul(8)
            ),
        ));
    }
    let bytes_needed = max_mapnr.div_ceil(8);
    // Holes of a sparse file read as zeros: skipped, never scanned.
    let holes = |at: u64| -> Vec<Range<u64>> {
        src.holes(at, bytes_needed)
            .into_iter()
            .map(|h| h.start - at..h.end - at)
            .collect()
    };
    let first = read_region(src, bitmap_offset, bytes_needed, || {
        "1st page bitmap".into()
    })?;
    let dumped_at = if two {
        bitmap_offset + half
    } else {
        bitmap_offset
    };
    let second = if two {
        read_region(src, dumped_at, bytes_needed, || "2nd page bitmap".into())?
    } else {
        first.clone()
    };
    Ok(Bitmaps {
        valid: Bitmap::new(first, max_mapnr, false, &holes(bitmap_offset)),
        dumped: Bitmap::new(second, max_mapnr, true, &holes(dumped_at)),
        end: bitmap_offset + bitmap_len,
    })
}

/// Finds the descriptors of the pfns the file describes (a split file: its
/// range only) after the bitmaps, and the shared zero page after them.
fn find_descriptors(
    src: &dyn Source,
    header: &KdumpHeader,
    bitmaps: &Bitmaps,
) -> Result<DescTable, DumpError> {
    let max_mapnr = header.max_mapnr;
    let pfns = if header.split {
        if header.start_pfn > header.end_pfn || header.end_pfn > max_mapnr {
            return Err(invalid(
                src.path(),
                "kdump sub header",
                format!(
                    "split pfn range {:#x}..{:#x} does not fit max_mapnr {max_mapnr:#x}",
                    header.start_pfn, header.end_pfn
                ),
            ));
        }
        header.start_pfn..header.end_pfn
    } else {
        0..max_mapnr
    };
    let rank_base = bitmaps.dumped.rank(pfns.start);
    let ndesc = bitmaps.dumped.rank(pfns.end) - rank_base;
    let offset = bitmaps.end;
    let desc_end = ndesc
        .checked_mul(DESC_SIZE)
        .and_then(|l| offset.checked_add(l));
    match desc_end {
        Some(e) if e <= src.len() => {}
        _ if header.incomplete() => {}
        _ => {
            return Err(truncated(
                src,
                offset,
                ndesc.saturating_mul(DESC_SIZE),
                format!("page descriptor table ({ndesc} descriptors)"),
            ))
        }
    }
    let zero_page = desc_end.filter(|&z| {
        usize::try_from(header.block_size)
            .ok()
            .and_then(|n| src.bytes(z, n))
            .is_some_and(|b| b.iter().all(|&x| x == 0))
    });
    Ok(DescTable {
        pfns,
        rank_base,
        ndesc,
        offset,
        zero_page,
    })
}

/// The bytes of an area the sub header points at (`None` when it points at
/// none), refusing absurd sizes.
fn read_area(
    src: &dyn Source,
    area: Option<(u64, u64)>,
    what: &str,
) -> Result<Option<Vec<u8>>, DumpError> {
    let Some((off, size)) = area else {
        return Ok(None);
    };
    if size > MAX_BLOB {
        return Err(DumpError::Invalid {
            path: src.path().to_path_buf(),
            what: format!("kdump sub header: {what}"),
            detail: format!(
                "its size {size} bytes (at file offset {off:#x}) is absurd (more than {} MiB)",
                MAX_BLOB >> 20
            ),
        });
    }
    let len = usize::try_from(size)
        .ok()
        .filter(|&l| l as u64 <= src.len())
        .ok_or_else(|| truncated(src, off, size, what.to_string()))?;
    Ok(Some(
        read_exact(src, off, len, || what.to_string())?.into_owned(),
    ))
}

/// VMCOREINFO, the ELF notes and the erase information the sub header
/// points at.
fn read_extras(src: &dyn Source, header: &KdumpHeader) -> Result<KdumpExtras, DumpError> {
    let vmcoreinfo = read_area(
        src,
        header.vmcoreinfo,
        "VMCOREINFO (from the kdump sub header)",
    )?;
    let notes = match read_area(src, header.notes, "ELF notes (from the kdump sub header)")? {
        Some(data) => {
            let off = header.notes.map_or(0, |(o, _)| o);
            parse_notes(&data, src.path(), "the kdump note area", off)?
        }
        None => Vec::new(),
    };
    let eraseinfo = read_area(
        src,
        header.eraseinfo,
        "erase information (from the kdump sub header)",
    )?;
    Ok(KdumpExtras {
        vmcoreinfo,
        notes,
        eraseinfo,
    })
}

impl KdumpReader {
    /// Reads the headers and bitmaps of the kdump-compressed file in `src`.
    pub(crate) fn open(src: Box<dyn Source>) -> Result<(KdumpReader, KdumpExtras), DumpError> {
        let header = read_headers(&*src)?;
        let bitmaps = read_bitmaps(&*src, &header)?;
        let table = find_descriptors(&*src, &header, &bitmaps)?;
        let extras = read_extras(&*src, &header)?;
        let reader = KdumpReader {
            block_size: u64::from(header.block_size),
            src,
            header,
            valid: bitmaps.valid,
            dumped: bitmaps.dumped,
            pfns: table.pfns,
            rank_base: table.rank_base,
            ndesc: table.ndesc,
            desc_offset: table.offset,
            zero_page: table.zero_page,
            cache: Mutex::new(PageCache::default()),
        };
        Ok((reader, extras))
    }

    /// The headers.
    pub fn header(&self) -> &KdumpHeader {
        &self.header
    }

    /// How many page descriptors (dumped pages) the file holds.
    pub fn dumped_pages(&self) -> u64 {
        self.ndesc
    }

    /// File offset of the shared zero page, if the dump has one.
    pub fn zero_page_offset(&self) -> Option<u64> {
        self.zero_page
    }

    /// The descriptor of dumped page `pfn`: `Ok(None)` when `pfn` is not
    /// dumped, `Err` when the descriptor cannot be read.
    pub fn descriptor(&self, pfn: u64) -> Result<Option<PageDesc>, DumpError> {
        if !self.pfns.contains(&pfn) || !self.dumped.get(pfn) {
            return Ok(None);
        }
        let index = self.dumped.rank(pfn) - self.rank_base;
        let at = self.desc_offset + index * DESC_SIZE;
        let d = read_exact(&*self.src, at, PAGE_DESC_SIZE, || {
            format!("page descriptor #{index} (pfn {pfn:#x})")
        })?;
        // `read_exact` gave the descriptor's size: this always decodes.
        Ok(PageDesc::decode(&d))
    }

    /// The state of `pfn` and its descriptor when it is dumped.
    fn state(&self, pfn: u64) -> (PageState, Option<PageDesc>) {
        if !self.pfns.contains(&pfn) || !self.valid.get(pfn) {
            return (PageState::NotInDump, None);
        }
        match self.descriptor(pfn) {
            Ok(None) => (PageState::Excluded, None),
            Err(_) => (PageState::Incomplete, None),
            Ok(Some(d))
                if d.offset == 0
                    || (d.offset as u64).saturating_add(d.size.into()) > self.src.len() =>
            {
                (PageState::Incomplete, Some(d))
            }
            Ok(Some(d))
                if Some(d.offset as u64) == self.zero_page
                    && Compression::from_flags(d.flags) == Compression::None
                    && u64::from(d.size) == self.block_size =>
            {
                (PageState::Zero, Some(d))
            }
            Ok(Some(d)) => (PageState::Present, Some(d)),
        }
    }

    fn not_present(&self, paddr: u64, reason: Absence) -> DumpError {
        not_present(&*self.src, paddr, reason)
    }

    /// Copies `dst.len()` bytes at `in_page` of dumped page `pfn` (described
    /// by `d`) into `dst`.
    fn copy_page(
        &self,
        pfn: u64,
        d: PageDesc,
        in_page: usize,
        dst: &mut [u8],
    ) -> Result<(), DumpError> {
        let bs = self.block_size as usize;
        let paddr = pfn * self.block_size + in_page as u64;
        let page_addr = pfn * self.block_size;
        let codec = Compression::from_flags(d.flags);
        let (offset, stored, flags) = (d.offset, d.size, d.flags);
        let size = stored as usize;
        let invalid_desc = |detail: String| DumpError::Invalid {
            path: self.src.path().to_path_buf(),
            what: format!("page descriptor of pfn {pfn:#x}"),
            detail,
        };
        if offset < 0 {
            return Err(invalid_desc(format!("negative data offset {offset}")));
        }
        let raw = codec == Compression::None;
        if size == 0 || size > bs || (raw && size != bs) {
            return Err(invalid_desc(format!(
                "stored size {size} with flags {flags:#x} for a {bs}-byte page"
            )));
        }
        let offset = offset as u64;
        if !fits(offset, stored.into(), self.src.len()) {
            if self.header.incomplete() {
                return Err(self.not_present(paddr, Absence::Incomplete));
            }
            return Err(truncated(
                &*self.src,
                offset,
                stored.into(),
                format!("data of the page at physical address {page_addr:#x}"),
            ));
        }
        if raw {
            let data = read_exact(&*self.src, offset + in_page as u64, dst.len(), || {
                format!("data of the page at physical address {page_addr:#x}")
            })?;
            dst.copy_from_slice(&data);
            return Ok(());
        }
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, page)) = cache.slots.iter().find(|(p, _)| *p == pfn) {
                dst.copy_from_slice(&page[in_page..in_page + dst.len()]);
                return Ok(());
            }
        }
        let data = read_exact(&*self.src, offset, size, || {
            format!("data of the page at physical address {page_addr:#x}")
        })?;
        let mut page = vec![0u8; bs].into_boxed_slice();
        codec
            .decompress(&data, &mut page)
            .map_err(|detail| DumpError::Decompress {
                path: self.src.path().to_path_buf(),
                paddr: page_addr,
                offset,
                size: stored,
                codec: codec.name(),
                detail,
            })?;
        dst.copy_from_slice(&page[in_page..in_page + dst.len()]);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.slots.len() < CACHE_PAGES {
            cache.slots.push((pfn, page));
        } else {
            let i = cache.next;
            cache.slots[i] = (pfn, page);
            cache.next = (i + 1) % CACHE_PAGES;
        }
        Ok(())
    }

    /// [`PhysMemory::read_phys`] one page after the other.
    fn read_pages(&self, paddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
        let bs = self.block_size;
        let mut done = 0usize;
        while done < buf.len() {
            let addr = paddr
                .checked_add(done as u64)
                .ok_or_else(|| self.not_present(paddr, Absence::NotInDump))?;
            let pfn = addr / bs;
            let in_page = (addr % bs) as usize;
            let n = (bs as usize - in_page).min(buf.len() - done);
            let dst = &mut buf[done..done + n];
            match self.state(pfn) {
                (PageState::Present, Some(d)) => self.copy_page(pfn, d, in_page, dst)?,
                (PageState::Zero, _) => dst.fill(0),
                (PageState::Excluded, _) => return Err(self.not_present(addr, Absence::Excluded)),
                (PageState::Incomplete, d) => {
                    // A dump not marked incomplete is corrupt here: say what
                    // is cut off (the descriptor, or the page data).
                    if !self.header.incomplete() {
                        match d {
                            None => self.descriptor(pfn)?,
                            Some(d) if d.offset != 0 => {
                                self.copy_page(pfn, d, in_page, dst)?;
                                None
                            }
                            Some(_) => None,
                        };
                    }
                    return Err(self.not_present(addr, Absence::Incomplete));
                }
                _ => return Err(self.not_present(addr, Absence::NotInDump)),
            }
            done += n;
        }
        Ok(())
    }
}

impl PhysMemory for KdumpReader {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
        let bs = self.block_size as usize;
        if buf.len() < PARALLEL_PAGES * bs || rayon::current_num_threads() < 2 {
            return self.read_pages(paddr, buf);
        }
        // Up to the first page boundary in turn, then whole pieces in
        // parallel; the error reported is the one at the lowest address,
        // as a read in turn would report it.
        let head = (bs - (paddr % bs as u64) as usize) % bs;
        let (first, rest) = buf.split_at_mut(head);
        self.read_pages(paddr, first)?;
        let piece = PARALLEL_PIECE_PAGES * bs;
        let results: Vec<Result<(), DumpError>> = rest
            .par_chunks_mut(piece)
            .enumerate()
            .map(|(i, chunk)| {
                let at = paddr
                    .checked_add((head + i * piece) as u64)
                    .ok_or_else(|| self.not_present(paddr, Absence::NotInDump))?;
                self.read_pages(at, chunk)
            })
            .collect();
        results.into_iter().collect()
    }

    fn page_state(&self, pfn: u64) -> PageState {
        self.state(pfn).0
    }

    fn ranges(&self) -> Vec<Range<u64>> {
        let bs = self.block_size;
        self.dumped
            .runs(self.pfns.start, self.pfns.end)
            .into_iter()
            .map(|r| r.start * bs..r.end * bs)
            .collect()
    }
}

impl std::fmt::Debug for KdumpReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdumpReader")
            .field("path", &self.src.path())
            .field("header", &self.header)
            .field("dumped_pages", &self.ndesc)
            .field("zero_page", &self.zero_page)
            .finish()
    }
}

/// Whether `head` (the first bytes of a file) starts a kdump-compressed file.
pub fn is_kdump(head: &[u8]) -> bool {
    DiskDumpHeader::is_kdump(head)
}

#[cfg(test)]
mod tests {
    use super::super::{Dump, DumpFormat};
    use super::*;
    use crate::format::compression::{
        DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB,
        DUMP_DH_COMPRESSED_ZSTD,
    };
    use crate::format::flat::{FlatHeader, RecordHeader};
    use std::io::Write;
    use std::path::PathBuf;
    use zerocopy::{FromZeros, IntoBytes};

    const BS: usize = 4096;

    /// How a synthetic page is stored.
    #[derive(Clone)]
    enum Stored {
        Raw,
        SharedZero,
        Zlib,
        #[cfg(feature = "lzo")]
        Lzo,
        Snappy,
        /// A fixed zstd frame (no encoder here): 256 × "KTYPE zstd page\n".
        Zstd,
        /// Descriptor with offset 0 (never written).
        Missing,
        /// Compressed flag with garbage data.
        Garbage(u32),
        /// Raw flag with a size that is not the page size.
        BadRawSize,
    }

    // 256 × "KTYPE zstd page\n" in one zstd frame.
    use crate::dump::codec::tests::ZSTD_SIZED as ZSTD_FRAME;

    fn content(pfn: u64, how: &Stored) -> Vec<u8> {
        match how {
            Stored::SharedZero => vec![0; BS],
            Stored::Zstd => b"KTYPE zstd page\n".repeat(256),
            _ => (0..BS)
                .map(|i| ((i as u64 * 7 + pfn * 13) % 251) as u8 / 16)
                .collect(),
        }
    }

    struct Synth {
        version: i32,
        status: u32,
        max_mapnr: u64,
        /// RAM pfns (1st bitmap).
        ram: Vec<u64>,
        /// Dumped pfns and how (2nd bitmap), sorted.
        pages: Vec<(u64, Stored)>,
        split: Option<(u64, u64)>,
        single_bitmap: bool,
    }

    impl Synth {
        fn new(pages: Vec<(u64, Stored)>) -> Synth {
            let mut ram: Vec<u64> = pages.iter().map(|p| p.0).collect();
            ram.extend([3, 4, 5]); // excluded RAM
            Synth {
                version: 6,
                status: DUMP_DH_COMPRESSED_ZLIB,
                max_mapnr: 64,
                ram,
                pages,
                split: None,
                single_bitmap: false,
            }
        }

        fn build(&self) -> Vec<u8> {
            let bitmap_bytes = (self.max_mapnr as usize).div_ceil(8).div_ceil(BS) * BS;
            let nbitmaps = if self.single_bitmap { 1 } else { 2 };
            let bitmap_blocks = nbitmaps * bitmap_bytes / BS;
            let mut main = DiskDumpHeader::new_zeroed();
            main.signature = *KDUMP_SIGNATURE;
            main.header_version.set(self.version);
            main.utsname = Utsname {
                machine: "x86_64".into(),
                ..Utsname::default()
            }
            .encode();
            main.status.set(self.status);
            main.block_size.set(BS as i32);
            main.sub_hdr_size.set(1);
            main.bitmap_blocks.set(bitmap_blocks as u32);
            main.max_mapnr.set(self.max_mapnr as u32);
            main.nr_cpus.set(1);
            let mut sub = KdumpSubHeader::new_zeroed();
            if let Some((s, e)) = self.split {
                sub.split.set(1);
                sub.start_pfn.set(s);
                sub.end_pfn.set(e);
                sub.start_pfn_64.set(s);
                sub.end_pfn_64.set(e);
            }
            sub.max_mapnr_64.set(self.max_mapnr);
            let mut f = vec![0u8; BS * 2];
            f[..DISK_DUMP_HEADER_SIZE].copy_from_slice(main.as_bytes());
            f[BS..BS + sub.as_bytes().len()].copy_from_slice(sub.as_bytes());
            let mut first = vec![0u8; bitmap_bytes];
            let mut second = vec![0u8; bitmap_bytes];
            for &p in &self.ram {
                first[p as usize / 8] |= 1 << (p % 8);
            }
            for (p, _) in &self.pages {
                second[*p as usize / 8] |= 1 << (p % 8);
            }
            if self.single_bitmap {
                f.extend(&second);
            } else {
                f.extend(&first);
                f.extend(&second);
            }
            // Descriptors of this file's pfns, then the zero page, then data.
            let mine: Vec<&(u64, Stored)> = self
                .pages
                .iter()
                .filter(|(p, _)| match self.split {
                    Some((s, e)) => (s..e).contains(p),
                    None => true,
                })
                .collect();
            let desc_at = f.len();
            let zero_at = desc_at + mine.len() * 24;
            let mut data = vec![0u8; BS]; // the shared zero page
            let mut descs = Vec::new();
            for (pfn, how) in mine {
                let page = content(*pfn, how);
                let (bytes, flags): (Vec<u8>, u32) = match how {
                    Stored::Raw => (page, 0),
                    Stored::SharedZero => {
                        descs.push((zero_at as i64, BS as u32, 0u32));
                        continue;
                    }
                    Stored::Missing => {
                        descs.push((0, BS as u32, 0));
                        continue;
                    }
                    Stored::Zlib => {
                        let mut e = flate2::write::ZlibEncoder::new(
                            Vec::new(),
                            flate2::Compression::fast(),
                        );
                        e.write_all(&page).unwrap();
                        (e.finish().unwrap(), DUMP_DH_COMPRESSED_ZLIB)
                    }
                    #[cfg(feature = "lzo")]
                    Stored::Lzo => (
                        lzo1x::compress(&page, lzo1x::CompressLevel::default()),
                        DUMP_DH_COMPRESSED_LZO,
                    ),
                    Stored::Snappy => (
                        snap::raw::Encoder::new().compress_vec(&page).unwrap(),
                        DUMP_DH_COMPRESSED_SNAPPY,
                    ),
                    Stored::Zstd => (ZSTD_FRAME.to_vec(), DUMP_DH_COMPRESSED_ZSTD),
                    Stored::Garbage(flags) => (vec![0xa5; 100], *flags),
                    Stored::BadRawSize => (vec![1; 100], 0),
                };
                descs.push(((zero_at + data.len()) as i64, bytes.len() as u32, flags));
                data.extend(bytes);
            }
            for (o, s, fl) in descs {
                f.extend(PageDesc::new(o as u64, s, fl).encode());
            }
            f.extend(data);
            f
        }
    }

    /// Wraps `file` in the flattened format: records of 1000 bytes in
    /// reverse order, with a bogus header that a later record overwrites.
    fn flatten(file: &[u8]) -> Vec<u8> {
        let mut out = FlatHeader::encode();
        let mut record = |off: usize, data: &[u8]| {
            out.extend(RecordHeader::new(off as u64, data.len()).as_bytes());
            out.extend(data);
        };
        record(0, &[0xee; 600]);
        let chunks: Vec<(usize, &[u8])> = file
            .chunks(1000)
            .enumerate()
            .map(|(i, c)| (i * 1000, c))
            .collect();
        for (off, c) in chunks.into_iter().rev() {
            record(off, c);
        }
        out.extend(RecordHeader::END.as_bytes());
        out
    }

    fn write(name: &str, bytes: &[u8]) -> PathBuf {
        let p = std::env::temp_dir().join(format!("dumptool-kdump-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn read_page(d: &Dump, pfn: u64) -> Result<Vec<u8>, DumpError> {
        let mut b = vec![0u8; BS];
        d.phys().read_phys(pfn * BS as u64, &mut b).map(|_| b)
    }

    fn all_codecs() -> Vec<(u64, Stored)> {
        let mut v = vec![
            (1, Stored::Raw),
            (2, Stored::SharedZero),
            (8, Stored::Zlib),
            (9, Stored::Snappy),
            (10, Stored::Zstd),
            (11, Stored::SharedZero),
            (40, Stored::Raw),
        ];
        #[cfg(feature = "lzo")]
        v.push((12, Stored::Lzo));
        v.sort_by_key(|p| p.0);
        v
    }

    #[test]
    fn every_codec_plain_and_flattened() {
        let synth = Synth::new(all_codecs());
        let file = synth.build();
        for (name, bytes, format) in [
            ("plain", file.clone(), DumpFormat::Kdump),
            ("flat", flatten(&file), DumpFormat::FlattenedKdump),
        ] {
            let path = write(name, &bytes);
            let d = Dump::open(&path).unwrap();
            assert_eq!(d.format(), format);
            assert_eq!(d.machine(), "x86_64");
            assert_eq!(d.max_pfn(), 64);
            let k = d.kdump().unwrap();
            assert_eq!(
                k.zero_page_offset(),
                Some((2 * BS + 2 * BS + synth.pages.len() * 24) as u64)
            );
            for (pfn, how) in &synth.pages {
                assert_eq!(
                    read_page(&d, *pfn).unwrap(),
                    content(*pfn, how),
                    "{name} pfn {pfn}"
                );
                let want = if matches!(how, Stored::SharedZero) {
                    PageState::Zero
                } else {
                    PageState::Present
                };
                assert_eq!(d.phys().page_state(*pfn), want, "{name} pfn {pfn}");
            }
            // A read spanning raw, zero and excluded pages stops at the first
            // excluded byte and names it.
            let mut b = vec![0u8; 3 * BS];
            let e = d.phys().read_phys(BS as u64 + 5, &mut b).unwrap_err();
            assert!(
                matches!(e, DumpError::NotPresent { paddr, reason: Absence::Excluded, .. } if paddr == 3 * BS as u64),
                "{e}"
            );
            assert_eq!(d.phys().page_state(3), PageState::Excluded);
            assert_eq!(d.phys().page_state(6), PageState::NotInDump);
            assert_eq!(d.phys().page_state(64), PageState::NotInDump);
            let e = read_page(&d, 6).unwrap_err();
            assert_eq!(e.absence(), Some(Absence::NotInDump));
            let ranges = d.phys().ranges();
            assert_eq!(ranges.first(), Some(&(BS as u64..3 * BS as u64)));
            assert_eq!(
                ranges.iter().map(|r| r.end - r.start).sum::<u64>(),
                (synth.pages.len() * BS) as u64
            );
            // The cache stays bounded.
            for _ in 0..3 {
                for (pfn, _) in &synth.pages {
                    read_page(&d, *pfn).unwrap();
                }
            }
            assert!(k.cache.lock().unwrap().slots.len() <= CACHE_PAGES);
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn old_versions_split_and_single_bitmap() {
        // Version 5: max_mapnr from the main header; one bitmap only.
        let mut s = Synth::new(all_codecs());
        s.version = 5;
        s.single_bitmap = true;
        let path = write("v5", &s.build());
        let d = Dump::open(&path).unwrap();
        assert_eq!(d.kdump_header().unwrap().header_version, 5);
        assert_eq!(read_page(&d, 8).unwrap(), content(8, &Stored::Zlib));
        // Without a 1st bitmap, undumped RAM cannot be told from holes.
        assert_eq!(d.phys().page_state(3), PageState::NotInDump);
        std::fs::remove_file(&path).unwrap();

        // A split file holding pfns 8..12 only.
        let mut s = Synth::new(all_codecs());
        s.split = Some((8, 12));
        let path = write("split", &s.build());
        let d = Dump::open(&path).unwrap();
        assert!(d.kdump_header().unwrap().split);
        assert_eq!(d.kdump().unwrap().dumped_pages(), 4);
        assert_eq!(read_page(&d, 9).unwrap(), content(9, &Stored::Snappy));
        assert_eq!(read_page(&d, 11).unwrap(), vec![0; BS]);
        assert_eq!(
            read_page(&d, 1).unwrap_err().absence(),
            Some(Absence::NotInDump)
        );
        assert_eq!(d.phys().ranges(), vec![8 * BS as u64..12 * BS as u64]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn incomplete_and_corrupt_pages_are_errors() {
        let pages = vec![
            (1, Stored::Raw),
            (2, Stored::Missing),
            (8, Stored::Garbage(DUMP_DH_COMPRESSED_ZLIB)),
            (9, Stored::Garbage(DUMP_DH_COMPRESSED_SNAPPY)),
            (10, Stored::Garbage(DUMP_DH_COMPRESSED_ZSTD)),
            (11, Stored::BadRawSize),
            (12, Stored::Garbage(DUMP_DH_COMPRESSED_LZO)),
            (20, Stored::Raw),
        ];
        let mut s = Synth::new(pages);
        s.status |= DUMP_DH_COMPRESSED_INCOMPLETE;
        let file = s.build();
        let path = write("corrupt", &file);
        let d = Dump::open(&path).unwrap();
        assert!(d.kdump_header().unwrap().incomplete());
        assert_eq!(read_page(&d, 1).unwrap(), content(1, &Stored::Raw));
        assert_eq!(d.phys().page_state(2), PageState::Incomplete);
        assert_eq!(
            read_page(&d, 2).unwrap_err().absence(),
            Some(Absence::Incomplete)
        );
        for (pfn, codec) in [(8, "zlib"), (9, "snappy"), (10, "zstd"), (12, "lzo")] {
            let e = read_page(&d, pfn).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, DumpError::Decompress { .. }), "{msg}");
            assert!(
                msg.contains(&format!("{:#x}", pfn * BS as u64)) && msg.contains(codec),
                "{msg}"
            );
            assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        }
        let e = read_page(&d, 11).unwrap_err();
        assert!(e.to_string().contains("stored size 100"), "{e}");
        // Cut inside the last page's data: that page is incomplete, the
        // others still read.
        let cut = write("cut", &file[..file.len() - 10]);
        let d = Dump::open(&cut).unwrap();
        assert_eq!(
            read_page(&d, 20).unwrap_err().absence(),
            Some(Absence::Incomplete)
        );
        assert!(read_page(&d, 1).is_ok());
        // Without the incomplete flag the same file is corrupt: truncated.
        let mut complete = file.clone();
        let (main, _) = DiskDumpHeader::mut_from_prefix(&mut complete).unwrap();
        main.status.set(DUMP_DH_COMPRESSED_ZLIB);
        let cut2 = write("cut2", &complete[..complete.len() - 10]);
        let d = Dump::open(&cut2).unwrap();
        let e = read_page(&d, 20).unwrap_err();
        assert!(matches!(e, DumpError::Truncated { .. }), "{e}");
        // Descriptor table cut: an error at open unless incomplete.
        let short = 2 * BS + 2 * BS + 3 * 24;
        let e = Dump::open(write("cut3", &complete[..short])).unwrap_err();
        assert!(
            e.to_string()
                .contains("page descriptor table (8 descriptors)"),
            "{e}"
        );
        let d = Dump::open(write("cut4", &file[..short])).unwrap();
        assert_eq!(
            d.phys().page_state(1),
            PageState::Incomplete,
            "its data is cut off"
        );
        assert_eq!(
            read_page(&d, 1).unwrap_err().absence(),
            Some(Absence::Incomplete)
        );
        assert_eq!(d.phys().page_state(20), PageState::Incomplete);
        assert_eq!(
            read_page(&d, 20).unwrap_err().absence(),
            Some(Absence::Incomplete)
        );
        for n in ["corrupt", "cut", "cut2", "cut3", "cut4"] {
            let _ = std::fs::remove_file(
                std::env::temp_dir().join(format!("dumptool-kdump-{}-{n}", std::process::id())),
            );
        }
    }

    #[test]
    fn dump_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Dump>();
        check::<super::super::KernelMemory<'static>>();
    }
}
