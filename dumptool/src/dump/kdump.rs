//! kdump-compressed dumps (signature `KDUMP   `), as makedumpfile and qemu
//! write them. Layout, in blocks of `block_size` bytes:
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
//! [`Bitmap`] rank index). Many descriptors may point at one all-zero raw
//! page written right after the descriptor table (qemu always does this,
//! makedumpfile when it excludes zero pages): those pages are
//! [`PageState::Zero`]. Decompressed pages live in a small bounded cache.

use super::bitmap::Bitmap;
use super::codec::{Codec, DUMP_DH_COMPRESSED_INCOMPLETE};
use super::error::{Absence, DumpError};
use super::notes::{parse_notes, Note};
use super::source::{read_exact, read_region, truncated, Source};
use super::{PageState, PhysMemory};
use std::ops::Range;
use std::sync::Mutex;

/// Signature of a kdump-compressed file.
pub const KDUMP_SIGNATURE: &[u8; 8] = b"KDUMP   ";
/// Signature of the old diskdump format (not read).
pub const DISKDUMP_SIGNATURE: &[u8; 8] = b"DISKDUMP";
/// Size of `struct disk_dump_header` on 64-bit machines.
const MAIN_HEADER_SIZE: usize = 464;
/// Size of `struct kdump_sub_header` (version 6) on 64-bit machines.
const SUB_HEADER_SIZE: usize = 104;
/// Size of a page descriptor.
const PAGE_DESC_SIZE: u64 = 24;
/// Decompressed pages kept.
const CACHE_PAGES: usize = 8;

/// `struct new_utsname` of the dumped kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utsname {
    /// `sysname` (`Linux`).
    pub sysname: String,
    /// `nodename`.
    pub nodename: String,
    /// `release`.
    pub release: String,
    /// `version`.
    pub version: String,
    /// `machine` (`x86_64`).
    pub machine: String,
    /// `domainname`.
    pub domainname: String,
}

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

    /// The compression the header announces (pages carry their own flags).
    pub fn codec(&self) -> Option<Codec> {
        Codec::from_flags(self.status)
    }
}

/// A page descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageDesc {
    /// File offset of the page data.
    pub offset: i64,
    /// Size of the stored data.
    pub size: u32,
    /// `DUMP_DH_COMPRESSED_*` flags.
    pub flags: u32,
    /// The page's `struct page` flags as makedumpfile saw them.
    pub page_flags: u64,
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

fn le_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Bytes of the sub header that exist in `version`.
fn sub_header_len(version: i32) -> usize {
    match version {
        i32::MIN..=0 => 8,
        1 => 12,
        2 => 32,
        3 => 48,
        4 => 64,
        5 => 80,
        _ => SUB_HEADER_SIZE,
    }
}

/// What [`KdumpReader::open`] finds besides the reader.
pub(crate) struct KdumpExtras {
    /// The VMCOREINFO text from the sub header, if any.
    pub vmcoreinfo: Option<Vec<u8>>,
    /// The ELF notes.
    pub notes: Vec<Note>,
}

impl KdumpReader {
    /// Reads the headers and bitmaps of the kdump-compressed file in `src`.
    pub(crate) fn open(src: Box<dyn Source>) -> Result<(KdumpReader, KdumpExtras), DumpError> {
        let path = src.path().to_path_buf();
        let invalid = |what: &str, detail: String| DumpError::Invalid {
            path: path.clone(),
            what: what.to_string(),
            detail,
        };
        let mh = read_exact(&*src, 0, MAIN_HEADER_SIZE, || {
            "kdump main header (disk_dump_header)".into()
        })?;
        if &mh[..8] != KDUMP_SIGNATURE {
            return Err(invalid(
                "kdump main header",
                "no `KDUMP   ` signature".into(),
            ));
        }
        let header_version = le_i32(&mh, 8);
        let u = |i: usize| cstr(&mh[12 + 65 * i..12 + 65 * (i + 1)]);
        let utsname = Utsname {
            sysname: u(0),
            nodename: u(1),
            release: u(2),
            version: u(3),
            machine: u(4),
            domainname: u(5),
        };
        let timestamp_sec = le_u64(&mh, 408) as i64;
        let timestamp_usec = le_u64(&mh, 416) as i64;
        let status = le_u32(&mh, 424);
        let block_size = le_i32(&mh, 428);
        let sub_hdr_size = le_i32(&mh, 432);
        let bitmap_blocks = le_u32(&mh, 436);
        let max_mapnr32 = le_u32(&mh, 440);
        let nr_cpus = le_i32(&mh, 460);
        drop(mh);

        if header_version < 0 {
            return Err(invalid(
                "kdump main header",
                format!("header_version is {header_version}"),
            ));
        }
        if !(512..=1 << 20).contains(&block_size) || block_size.count_ones() != 1 {
            return Err(invalid(
                "kdump main header",
                format!("block_size {block_size} is not a power of two between 512 and 1 MiB"),
            ));
        }
        let bs = block_size as u64;
        if sub_hdr_size < 0 {
            return Err(invalid(
                "kdump main header",
                format!("sub_hdr_size is {sub_hdr_size}"),
            ));
        }
        let sub_len = sub_header_len(header_version);
        if (sub_hdr_size as u64) * bs < sub_len as u64 {
            return Err(invalid(
                "kdump main header",
                format!(
                    "sub_hdr_size is {sub_hdr_size} blocks, too small for a version \
                     {header_version} sub header ({sub_len} bytes)"
                ),
            ));
        }
        let sh = read_exact(&*src, bs, sub_len, || {
            format!("kdump sub header (kdump_sub_header, version {header_version})")
        })?;
        let mut sub = [0u8; SUB_HEADER_SIZE];
        sub[..sub_len].copy_from_slice(&sh);
        drop(sh);
        let v = header_version;
        let area = |off: usize, size: usize| {
            let (o, s) = (le_u64(&sub, off), le_u64(&sub, size));
            (o != 0 && s != 0).then_some((o, s))
        };
        let mut header = KdumpHeader {
            header_version,
            utsname,
            timestamp_sec,
            timestamp_usec,
            status,
            block_size: block_size as u32,
            sub_hdr_size: sub_hdr_size as u32,
            bitmap_blocks,
            max_mapnr: if v >= 6 {
                le_u64(&sub, 96)
            } else {
                u64::from(max_mapnr32)
            },
            nr_cpus,
            phys_base: le_u64(&sub, 0),
            dump_level: le_i32(&sub, 8),
            split: v >= 2 && le_i32(&sub, 12) != 0,
            start_pfn: if v >= 6 {
                le_u64(&sub, 80)
            } else {
                le_u64(&sub, 16)
            },
            end_pfn: if v >= 6 {
                le_u64(&sub, 88)
            } else {
                le_u64(&sub, 24)
            },
            vmcoreinfo: if v >= 3 { area(32, 40) } else { None },
            notes: if v >= 4 { area(48, 56) } else { None },
            eraseinfo: if v >= 5 { area(64, 72) } else { None },
        };
        if v < 2 {
            header.start_pfn = 0;
            header.end_pfn = 0;
        }

        // Bitmaps.
        let max_mapnr = header.max_mapnr;
        let bitmap_offset = (1 + sub_hdr_size as u64) * bs;
        let bitmap_len = u64::from(bitmap_blocks) * bs;
        if bitmap_offset
            .checked_add(bitmap_len)
            .map_or(true, |e| e > src.len())
        {
            return Err(truncated(
                &*src,
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
                "kdump main header",
                format!(
                    "bitmap_blocks = {bitmap_blocks} cover only {} pfns, but max_mapnr is {max_mapnr}",
                    half.saturating_mul(8)
                ),
            ));
        }
        let bytes_needed = max_mapnr.div_ceil(8);
        let first = read_region(&*src, bitmap_offset, bytes_needed, || {
            "1st page bitmap".into()
        })?;
        let second = if two {
            read_region(&*src, bitmap_offset + half, bytes_needed, || {
                "2nd page bitmap".into()
            })?
        } else {
            first.clone()
        };
        let valid = Bitmap::new(first, max_mapnr, false);
        let dumped = Bitmap::new(second, max_mapnr, true);

        let pfns = if header.split {
            if header.start_pfn > header.end_pfn || header.end_pfn > max_mapnr {
                return Err(invalid(
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
        let rank_base = dumped.rank(pfns.start);
        let ndesc = dumped.rank(pfns.end) - rank_base;
        let desc_offset = bitmap_offset + bitmap_len;
        let desc_end = ndesc
            .checked_mul(PAGE_DESC_SIZE)
            .and_then(|l| desc_offset.checked_add(l));
        let incomplete = header.incomplete();
        match desc_end {
            Some(e) if e <= src.len() => {}
            _ if incomplete => {}
            _ => {
                return Err(truncated(
                    &*src,
                    desc_offset,
                    ndesc.saturating_mul(PAGE_DESC_SIZE),
                    format!("page descriptor table ({ndesc} descriptors)"),
                ))
            }
        }
        let zero_page = desc_end.filter(|&z| {
            usize::try_from(bs)
                .ok()
                .and_then(|n| src.bytes(z, n))
                .is_some_and(|b| b.iter().all(|&x| x == 0))
        });

        // VMCOREINFO and notes.
        let blob = |area: Option<(u64, u64)>, what: &str| -> Result<Option<Vec<u8>>, DumpError> {
            let Some((off, size)) = area else {
                return Ok(None);
            };
            let len = usize::try_from(size)
                .ok()
                .filter(|&l| l as u64 <= src.len())
                .ok_or_else(|| truncated(&*src, off, size, what.to_string()))?;
            Ok(Some(
                read_exact(&*src, off, len, || what.to_string())?.into_owned(),
            ))
        };
        let vmcoreinfo = blob(header.vmcoreinfo, "VMCOREINFO (from the kdump sub header)")?;
        let notes = match blob(header.notes, "ELF notes (from the kdump sub header)")? {
            Some(data) => {
                let off = header.notes.map_or(0, |(o, _)| o);
                parse_notes(&data, &path, "the kdump note area", off)?
            }
            None => Vec::new(),
        };

        let reader = KdumpReader {
            src,
            header,
            valid,
            dumped,
            pfns,
            rank_base,
            ndesc,
            desc_offset,
            zero_page,
            block_size: bs,
            cache: Mutex::new(PageCache::default()),
        };
        Ok((reader, KdumpExtras { vmcoreinfo, notes }))
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
        let at = self.desc_offset + index * PAGE_DESC_SIZE;
        let d = read_exact(&*self.src, at, PAGE_DESC_SIZE as usize, || {
            format!("page descriptor #{index} (pfn {pfn:#x})")
        })?;
        Ok(Some(PageDesc {
            offset: le_u64(&d, 0) as i64,
            size: le_u32(&d, 8),
            flags: le_u32(&d, 12),
            page_flags: le_u64(&d, 16),
        }))
    }

    /// The state of `pfn` and its descriptor when it is dumped.
    fn state(&self, pfn: u64) -> (PageState, Option<PageDesc>) {
        if !self.pfns.contains(&pfn) || !self.valid.get(pfn) {
            return (PageState::NotInDump, None);
        }
        match self.descriptor(pfn) {
            Ok(None) => (PageState::Excluded, None),
            Err(_) => (PageState::Incomplete, None),
            Ok(Some(d)) if d.offset == 0 => (PageState::Incomplete, Some(d)),
            Ok(Some(d))
                if Some(d.offset as u64) == self.zero_page
                    && Codec::from_flags(d.flags).is_none()
                    && u64::from(d.size) == self.block_size =>
            {
                (PageState::Zero, Some(d))
            }
            Ok(Some(d)) => (PageState::Present, Some(d)),
        }
    }

    fn not_present(&self, paddr: u64, reason: Absence) -> DumpError {
        DumpError::NotPresent {
            path: self.src.path().to_path_buf(),
            paddr,
            vaddr: None,
            reason,
        }
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
        let codec = Codec::from_flags(d.flags);
        let size = d.size as usize;
        let invalid_desc = |detail: String| DumpError::Invalid {
            path: self.src.path().to_path_buf(),
            what: format!("page descriptor of pfn {pfn:#x}"),
            detail,
        };
        if d.offset < 0 {
            return Err(invalid_desc(format!("negative data offset {}", d.offset)));
        }
        if size == 0 || size > bs || (codec.is_none() && size != bs) {
            return Err(invalid_desc(format!(
                "stored size {size} with flags {:#x} for a {bs}-byte page",
                d.flags
            )));
        }
        let offset = d.offset as u64;
        if offset
            .checked_add(d.size.into())
            .map_or(true, |e| e > self.src.len())
        {
            if self.header.incomplete() {
                return Err(self.not_present(paddr, Absence::Incomplete));
            }
            return Err(truncated(
                &*self.src,
                offset,
                d.size.into(),
                format!("data of the page at physical address {page_addr:#x}"),
            ));
        }
        let Some(codec) = codec else {
            let data = read_exact(&*self.src, offset + in_page as u64, dst.len(), || {
                format!("data of the page at physical address {page_addr:#x}")
            })?;
            dst.copy_from_slice(&data);
            return Ok(());
        };
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
                size: d.size,
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
}

impl PhysMemory for KdumpReader {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
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
                (PageState::Incomplete, _) => {
                    // Say why when the descriptor itself is unreadable.
                    if let Err(e) = self.descriptor(pfn) {
                        if !self.header.incomplete() {
                            return Err(e);
                        }
                    }
                    return Err(self.not_present(addr, Absence::Incomplete));
                }
                _ => return Err(self.not_present(addr, Absence::NotInDump)),
            }
            done += n;
        }
        Ok(())
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
    head.len() >= 8 && &head[..8] == KDUMP_SIGNATURE
}
