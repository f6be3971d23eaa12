//! The kdump-compressed format's headers, as makedumpfile (1.7, header
//! version 6) and qemu write them on 64-bit machines, little-endian: the
//! `struct disk_dump_header` of block 0 ([`DiskDumpHeader`]), the
//! `struct kdump_sub_header` of block 1 ([`KdumpSubHeader`]) and the page
//! descriptors ([`PageDesc`]). The headers are `#[repr(C)]` structs of
//! byte-order aware fields without padding or alignment, so their bytes are
//! the file's: read with [`zerocopy::FromBytes`], written with
//! [`zerocopy::IntoBytes`]. A descriptor, read for every page, is decoded
//! into plain integers.
//! `dump/kdump.rs` reads them, `write/kdump.rs` writes them.
//!
//! ```
//! use dumptool::format::kdump::{DiskDumpHeader, KDUMP_SIGNATURE};
//! use zerocopy::{FromBytes, FromZeros, IntoBytes};
//! let mut h = DiskDumpHeader::new_zeroed();
//! h.signature = *KDUMP_SIGNATURE;
//! h.block_size.set(4096);
//! let bytes = h.as_bytes();
//! assert_eq!(bytes.len(), 464);
//! assert_eq!(&bytes[428..432], &4096i32.to_le_bytes());
//! assert_eq!(DiskDumpHeader::read_from_bytes(bytes).unwrap().block_size.get(), 4096);
//! ```

use zerocopy::little_endian::{I32, I64, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Signature of a kdump-compressed file.
pub const KDUMP_SIGNATURE: &[u8; 8] = b"KDUMP   ";
/// Signature of the old diskdump format (not read).
pub const DISKDUMP_SIGNATURE: &[u8; 8] = b"DISKDUMP";
/// The `header_version` makedumpfile 1.7 (and dumptool) writes.
pub const HEADER_VERSION: i32 = 6;
/// Length of one `struct new_utsname` field (`char [65]`).
pub const UTS_FIELD_LEN: usize = 65;

/// `struct disk_dump_header` (464 bytes), block 0 of the file.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
pub struct DiskDumpHeader {
    /// [`KDUMP_SIGNATURE`].
    pub signature: [u8; 8],
    /// `header_version`: which sub header fields exist.
    pub header_version: I32,
    /// `struct new_utsname`: sysname, nodename, release, version, machine,
    /// domainname, each NUL-terminated (see [`Utsname`]).
    pub utsname: [[u8; UTS_FIELD_LEN]; 6],
    /// Padding to `timestamp`'s 8-byte alignment.
    pub _pad: [u8; 6],
    /// `timestamp.tv_sec`.
    pub timestamp_sec: I64,
    /// `timestamp.tv_usec`.
    pub timestamp_usec: I64,
    /// `status`: `DUMP_DH_*` flags (see [`super::compression`]).
    pub status: U32,
    /// `block_size`: the page size.
    pub block_size: I32,
    /// `sub_hdr_size`, in blocks (sub header and the note area after it).
    pub sub_hdr_size: I32,
    /// `bitmap_blocks`: blocks of both bitmaps together.
    pub bitmap_blocks: U32,
    /// `max_mapnr`: pfns the bitmaps describe, cut to 32 bits (version 6
    /// keeps the real one in [`KdumpSubHeader::max_mapnr_64`]).
    pub max_mapnr: U32,
    /// `total_ram_blocks` (unused).
    pub total_ram_blocks: U32,
    /// `device_blocks` (unused).
    pub device_blocks: U32,
    /// `written_blocks` (unused).
    pub written_blocks: U32,
    /// `current_cpu` (unused).
    pub current_cpu: U32,
    /// `nr_cpus`.
    pub nr_cpus: I32,
}

/// `struct kdump_sub_header` of version 6 (104 bytes), at block 1. Older
/// versions have a prefix of it ([`KdumpSubHeader::len_in_version`]).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
pub struct KdumpSubHeader {
    /// `phys_base`.
    pub phys_base: U64,
    /// `dump_level` (version 1+): makedumpfile's `-d` mask.
    pub dump_level: I32,
    /// `split` (version 2+): the file holds a pfn range only.
    pub split: I32,
    /// `start_pfn` (version 2+, 32-bit era).
    pub start_pfn: U64,
    /// `end_pfn` (version 2+, 32-bit era).
    pub end_pfn: U64,
    /// `offset_vmcoreinfo` (version 3+).
    pub offset_vmcoreinfo: U64,
    /// `size_vmcoreinfo` (version 3+).
    pub size_vmcoreinfo: U64,
    /// `offset_note` (version 4+).
    pub offset_note: U64,
    /// `size_note` (version 4+).
    pub size_note: U64,
    /// `offset_eraseinfo` (version 5+).
    pub offset_eraseinfo: U64,
    /// `size_eraseinfo` (version 5+).
    pub size_eraseinfo: U64,
    /// `start_pfn_64` (version 6+).
    pub start_pfn_64: U64,
    /// `end_pfn_64` (version 6+).
    pub end_pfn_64: U64,
    /// `max_mapnr_64` (version 6+).
    pub max_mapnr_64: U64,
}

/// A page descriptor `{ i64 offset; u32 size; u32 flags; u64 page_flags }`
/// (24 bytes), one per dumped page in pfn order; read and written with
/// [`PageDesc::decode`] and [`PageDesc::encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageDesc {
    /// File offset of the page data (0: missing from an incomplete dump).
    pub offset: i64,
    /// Size of the stored data.
    pub size: u32,
    /// `DUMP_DH_COMPRESSED_*` flags.
    pub flags: u32,
    /// The page's `struct page` flags as makedumpfile saw them.
    pub page_flags: u64,
}

/// [`PageDesc`] as the file has it.
#[repr(C)]
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
struct RawPageDesc {
    offset: I64,
    size: U32,
    flags: U32,
    page_flags: U64,
}

/// `sizeof(struct disk_dump_header)`.
pub const DISK_DUMP_HEADER_SIZE: usize = std::mem::size_of::<DiskDumpHeader>();
/// `sizeof(struct kdump_sub_header)` of version 6.
pub const SUB_HEADER_SIZE: usize = std::mem::size_of::<KdumpSubHeader>();
/// Size of a page descriptor.
pub const PAGE_DESC_SIZE: usize = std::mem::size_of::<RawPageDesc>();

const _: () = assert!(DISK_DUMP_HEADER_SIZE == 464);
const _: () = assert!(SUB_HEADER_SIZE == 104);
const _: () = assert!(PAGE_DESC_SIZE == 24);

impl DiskDumpHeader {
    /// Whether `head` (the first bytes of a file) starts a kdump-compressed
    /// file.
    pub fn is_kdump(head: &[u8]) -> bool {
        head.starts_with(KDUMP_SIGNATURE)
    }
}

impl KdumpSubHeader {
    /// Bytes of the sub header that exist in `version`.
    pub fn len_in_version(version: i32) -> usize {
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

    /// The sub header from its first bytes (those of an older version):
    /// fields past `bytes` read as 0.
    pub fn from_prefix(bytes: &[u8]) -> KdumpSubHeader {
        let mut sub = KdumpSubHeader::new_zeroed();
        let n = bytes.len().min(SUB_HEADER_SIZE);
        sub.as_mut_bytes()[..n].copy_from_slice(&bytes[..n]);
        sub
    }
}

impl PageDesc {
    /// A descriptor of `size` bytes at `offset` with `flags` (no page
    /// flags, as makedumpfile writes them).
    pub fn new(offset: u64, size: u32, flags: u32) -> PageDesc {
        PageDesc {
            offset: offset as i64,
            size,
            flags,
            page_flags: 0,
        }
    }

    /// The descriptor at the start of `bytes`, if they are long enough.
    pub fn decode(bytes: &[u8]) -> Option<PageDesc> {
        let (raw, _) = RawPageDesc::read_from_prefix(bytes).ok()?;
        Some(PageDesc {
            offset: raw.offset.get(),
            size: raw.size.get(),
            flags: raw.flags.get(),
            page_flags: raw.page_flags.get(),
        })
    }

    /// The descriptor's bytes.
    pub fn encode(&self) -> [u8; PAGE_DESC_SIZE] {
        let raw = RawPageDesc {
            offset: I64::new(self.offset),
            size: U32::new(self.size),
            flags: U32::new(self.flags),
            page_flags: U64::new(self.page_flags),
        };
        let mut out = [0u8; PAGE_DESC_SIZE];
        out.copy_from_slice(raw.as_bytes());
        out
    }
}

/// `struct new_utsname` of the dumped kernel, as text.
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

impl Utsname {
    /// From the six NUL-terminated fields (bytes that are not UTF-8 are
    /// replaced).
    pub fn decode(raw: &[[u8; UTS_FIELD_LEN]; 6]) -> Utsname {
        let f = |i: usize| {
            let b = &raw[i];
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        };
        Utsname {
            sysname: f(0),
            nodename: f(1),
            release: f(2),
            version: f(3),
            machine: f(4),
            domainname: f(5),
        }
    }

    /// The six fields, each cut to 64 bytes and NUL-terminated.
    pub fn encode(&self) -> [[u8; UTS_FIELD_LEN]; 6] {
        let mut raw = [[0u8; UTS_FIELD_LEN]; 6];
        for (out, s) in raw.iter_mut().zip([
            &self.sysname,
            &self.nodename,
            &self.release,
            &self.version,
            &self.machine,
            &self.domainname,
        ]) {
            let n = s.len().min(UTS_FIELD_LEN - 1);
            out[..n].copy_from_slice(&s.as_bytes()[..n]);
        }
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_offsets_are_makedumpfiles() {
        let mut h = DiskDumpHeader::new_zeroed();
        h.timestamp_sec.set(-2);
        h.status.set(0x8);
        h.bitmap_blocks.set(7);
        h.max_mapnr.set(9);
        h.nr_cpus.set(3);
        let b = h.as_bytes();
        assert_eq!(&b[408..416], &(-2i64).to_le_bytes());
        assert_eq!(&b[424..428], &8u32.to_le_bytes());
        assert_eq!(&b[436..440], &7u32.to_le_bytes());
        assert_eq!(&b[440..444], &9u32.to_le_bytes());
        assert_eq!(&b[460..464], &3i32.to_le_bytes());
        let mut s = KdumpSubHeader::new_zeroed();
        s.offset_note.set(5);
        s.max_mapnr_64.set(6);
        let b = s.as_bytes();
        assert_eq!(&b[48..56], &5u64.to_le_bytes());
        assert_eq!(&b[96..104], &6u64.to_le_bytes());
        let d = PageDesc::new(0x1000, 77, 1).encode();
        assert_eq!(d[..12], [0, 0x10, 0, 0, 0, 0, 0, 0, 77, 0, 0, 0]);
        assert_eq!(PageDesc::decode(&d), Some(PageDesc::new(0x1000, 77, 1)));
        assert_eq!(PageDesc::decode(&d[..23]), None);
        // A version 2 prefix: later fields read as zero.
        let mut v2 = s.as_bytes()[..KdumpSubHeader::len_in_version(2)].to_vec();
        v2[12] = 1;
        let p = KdumpSubHeader::from_prefix(&v2);
        assert_eq!((p.split.get(), p.offset_note.get()), (1, 0));
    }

    #[test]
    fn utsname_round_trip_and_cut() {
        let u = Utsname {
            sysname: "Linux".into(),
            machine: "x86_64".into(),
            version: "v".repeat(80),
            ..Utsname::default()
        };
        let back = Utsname::decode(&u.encode());
        assert_eq!(back.sysname, "Linux");
        assert_eq!(back.machine, "x86_64");
        assert_eq!(back.version, "v".repeat(64));
    }
}
