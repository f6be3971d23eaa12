//! makedumpfile's *flattened* format (what `makedumpfile -F` and qemu's
//! `dump-guest-memory` write to a pipe): a [`FLAT_HEADER_SIZE`]-byte header
//! starting with [`FlatHeader`] (the signature `makedumpfile`, then
//! big-endian `i64` type 1 and version 1), then records, each a big-endian
//! [`RecordHeader`] `{ i64 offset; i64 size; }` followed by `size` bytes
//! that belong at `offset` of the reassembled file, and an end marker
//! (offset and size -1). `dump/flat.rs` reads the format in place,
//! `write/rearrange.rs` reassembles it (`makedumpfile -R`), `write/flat.rs`
//! writes it.
//!
//! ```
//! use dumptool::format::flat::{FlatHeader, RecordHeader};
//! use zerocopy::IntoBytes;
//! let head = FlatHeader::encode();
//! assert!(FlatHeader::is_flattened(&head));
//! assert_eq!(FlatHeader::parse(&head).unwrap().kind.get(), 1);
//! let r = RecordHeader::new(0x1000, 3);
//! assert_eq!(&r.as_bytes()[..8], &0x1000i64.to_be_bytes());
//! assert!(RecordHeader::END.is_end());
//! ```

use zerocopy::big_endian::I64;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Size of the flattened-format header (the signature, type and version,
/// then zeros).
pub const FLAT_HEADER_SIZE: u64 = 4096;
/// The signature at offset 0 (NUL-padded to 16 bytes).
pub const FLAT_SIGNATURE: &[u8] = b"makedumpfile";
/// `type` of the flattened header.
pub const TYPE_FLAT_HEADER: i64 = 1;
/// `version` of the flattened header.
pub const VERSION_FLAT_HEADER: i64 = 1;
/// The end-of-stream marker's offset and size.
pub const END_FLAG: i64 = -1;

/// `struct makedumpfile_header`: the start of the flattened header.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
pub struct FlatHeader {
    /// [`FLAT_SIGNATURE`], NUL-padded.
    pub signature: [u8; 16],
    /// `type` ([`TYPE_FLAT_HEADER`]).
    pub kind: I64,
    /// `version` ([`VERSION_FLAT_HEADER`]).
    pub version: I64,
}

/// `struct makedumpfile_data_header`: the header of one record.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
pub struct RecordHeader {
    /// Where the record's bytes belong in the reassembled file
    /// ([`END_FLAG`] in the end marker).
    pub offset: I64,
    /// How many bytes follow ([`END_FLAG`] in the end marker).
    pub size: I64,
}

/// Size of a record header.
pub const RECORD_HEADER_SIZE: u64 = std::mem::size_of::<RecordHeader>() as u64;

impl FlatHeader {
    /// Whether `head` (the first bytes of a file) starts a flattened file.
    pub fn is_flattened(head: &[u8]) -> bool {
        head.len() > FLAT_SIGNATURE.len()
            && head.starts_with(FLAT_SIGNATURE)
            && head[FLAT_SIGNATURE.len()] == 0
    }

    /// The header at the start of `bytes`, if they are long enough.
    pub fn parse(bytes: &[u8]) -> Option<FlatHeader> {
        FlatHeader::read_from_prefix(bytes).ok().map(|(h, _)| h)
    }

    /// The whole [`FLAT_HEADER_SIZE`]-byte header makedumpfile writes.
    pub fn encode() -> Vec<u8> {
        let mut signature = [0u8; 16];
        signature[..FLAT_SIGNATURE.len()].copy_from_slice(FLAT_SIGNATURE);
        let h = FlatHeader {
            signature,
            kind: I64::new(TYPE_FLAT_HEADER),
            version: I64::new(VERSION_FLAT_HEADER),
        };
        let mut out = vec![0u8; FLAT_HEADER_SIZE as usize];
        out[..std::mem::size_of::<FlatHeader>()].copy_from_slice(h.as_bytes());
        out
    }
}

impl RecordHeader {
    /// The end-of-stream marker.
    pub const END: RecordHeader = RecordHeader {
        offset: I64::from_bytes(END_FLAG.to_be_bytes()),
        size: I64::from_bytes(END_FLAG.to_be_bytes()),
    };

    /// The header of a record of `len` bytes at `offset`.
    pub fn new(offset: u64, len: usize) -> RecordHeader {
        RecordHeader {
            offset: I64::new(offset as i64),
            size: I64::new(len as i64),
        }
    }

    /// The record header at the start of `bytes`, if they are long enough.
    pub fn parse(bytes: &[u8]) -> Option<RecordHeader> {
        RecordHeader::read_from_prefix(bytes).ok().map(|(h, _)| h)
    }

    /// Whether this is the end marker (offset and size both -1).
    pub fn is_end(&self) -> bool {
        self.offset.get() == END_FLAG && self.size.get() == END_FLAG
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let h = FlatHeader::encode();
        assert_eq!(h.len(), 4096);
        assert_eq!(&h[..13], b"makedumpfile\0");
        assert_eq!(&h[16..24], &1i64.to_be_bytes());
        assert_eq!(&h[24..32], &1i64.to_be_bytes());
        assert!(h[32..].iter().all(|&b| b == 0));
        assert!(!FlatHeader::is_flattened(b"makedumpfile"));
        assert!(!FlatHeader::is_flattened(b"makedumpfileX..."));
        assert_eq!(RecordHeader::END.as_bytes(), &[0xff; 16]);
        assert_eq!(RECORD_HEADER_SIZE, 16);
    }
}
