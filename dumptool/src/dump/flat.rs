//! The makedumpfile *flattened* format (what `makedumpfile -F` and qemu's
//! `dump-guest-memory` write to a pipe), read in place as if it had been
//! reassembled with `makedumpfile -R`.
//!
//! Layout ([`crate::format::flat`]): a 4096-byte header starting with the
//! signature `makedumpfile` (then big-endian `i64` type = 1 and `i64`
//! version), followed by records, each a big-endian `{ i64 offset; i64
//! size; }` and `size` data bytes that belong at `offset` of the
//! reassembled file. A record with offset -1 ends the stream. Later records overwrite earlier ones where they overlap, and
//! bytes no record covers read as zeros (as in the sparse file `-R` writes).
//!
//! The index holds one entry per record (24 bytes), never the data.

use super::error::DumpError;
use super::source::{checked_range, fits, Backing, MmapSource, Region, Source};
use crate::format::flat::{
    FlatHeader, RecordHeader, END_FLAG, RECORD_HEADER_SIZE, TYPE_FLAT_HEADER,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use crate::format::flat::{FLAT_HEADER_SIZE, FLAT_SIGNATURE};

/// Whether `head` (the first bytes of a file) starts a flattened file.
pub fn is_flattened(head: &[u8]) -> bool {
    FlatHeader::is_flattened(head)
}

/// A contiguous piece of the reassembled file stored in the flattened file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// Offset in the reassembled file.
    start: u64,
    /// End (exclusive) in the reassembled file.
    end: u64,
    /// Where `start` is stored in the flattened file.
    file_pos: u64,
}

/// A flattened file as a random-access [`Source`] of its reassembled bytes.
#[derive(Debug)]
pub struct FlatSource {
    file: MmapSource,
    /// The whole flattened file, mapped.
    data: Arc<Backing>,
    /// Disjoint, sorted by `start`.
    segments: Vec<Segment>,
    /// Length of the reassembled file.
    len: u64,
    records: usize,
}

impl FlatSource {
    /// Indexes the records of the flattened file `file`.
    pub fn new(file: MmapSource) -> Result<FlatSource, DumpError> {
        let path = file.path_buf();
        let whole = file.whole()?;
        let data: &[u8] = &whole;
        let flen = data.len() as u64;
        let invalid = |what: String, detail: String| DumpError::Invalid {
            path: path.clone(),
            what,
            detail,
        };
        if flen < FLAT_HEADER_SIZE {
            return Err(DumpError::Truncated {
                path: path.clone(),
                what: "flattened-format header".into(),
                offset: 0,
                len: FLAT_HEADER_SIZE,
                file_len: flen,
            });
        }
        if !is_flattened(data) {
            return Err(invalid(
                "flattened-format header".into(),
                "no `makedumpfile` signature".into(),
            ));
        }
        let ty = FlatHeader::parse(data).map_or(0, |h| h.kind.get());
        if ty != TYPE_FLAT_HEADER {
            return Err(invalid(
                "flattened-format header".into(),
                format!("type is {ty}, expected {TYPE_FLAT_HEADER}"),
            ));
        }

        // Disjoint pieces so far: start -> (end, file_pos). Later records win.
        let mut map: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut pos = FLAT_HEADER_SIZE;
        let mut records = 0usize;
        let mut len = 0u64;
        loop {
            let what = || format!("flattened record #{records} header");
            let hdr = checked_range(pos, RECORD_HEADER_SIZE as usize, data.len())
                .and_then(|r| RecordHeader::parse(&data[r]))
                .ok_or_else(|| DumpError::Truncated {
                    path: path.clone(),
                    what: format!("{} (no end-of-stream record)", what()),
                    offset: pos,
                    len: RECORD_HEADER_SIZE,
                    file_len: flen,
                })?;
            let (offset, size) = (hdr.offset.get(), hdr.size.get());
            if offset == END_FLAG {
                break;
            }
            if offset < 0 || size < 0 {
                return Err(invalid(
                    format!("flattened record #{records} at file offset {pos:#x}"),
                    format!("offset {offset} / size {size} is negative"),
                ));
            }
            let (offset, size) = (offset as u64, size as u64);
            let data_pos = pos + RECORD_HEADER_SIZE;
            let end = offset.checked_add(size).ok_or_else(|| {
                invalid(
                    format!("flattened record #{records} at file offset {pos:#x}"),
                    format!("offset {offset:#x} + size {size:#x} overflows"),
                )
            })?;
            if !fits(data_pos, size, flen) {
                return Err(DumpError::Truncated {
                    path: path.clone(),
                    what: format!("data of flattened record #{records}"),
                    offset: data_pos,
                    len: size,
                    file_len: flen,
                });
            }
            if size > 0 {
                insert(&mut map, offset, end, data_pos);
                len = len.max(end);
            }
            pos = data_pos + size;
            records += 1;
        }
        let segments = map
            .into_iter()
            .map(|(start, (end, file_pos))| Segment {
                start,
                end,
                file_pos,
            })
            .collect();
        Ok(FlatSource {
            file,
            data: whole,
            segments,
            len,
            records,
        })
    }

    /// How many data records the file holds.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Index of the segment containing `offset`, if any.
    fn find(&self, offset: u64) -> Option<usize> {
        let i = self.segments.partition_point(|s| s.start <= offset);
        (i > 0 && offset < self.segments[i - 1].end).then(|| i - 1)
    }
}

/// Inserts `[start, end)` stored at `file_pos` into the disjoint map, cutting
/// away what it overlaps. Returns whether anything was overlapped.
fn insert(map: &mut BTreeMap<u64, (u64, u64)>, start: u64, end: u64, file_pos: u64) -> bool {
    let mut hit = Vec::new();
    for (&s, &(e, p)) in map.range(..end).rev() {
        if e <= start {
            // Disjoint and sorted: no earlier piece reaches `start` either.
            break;
        }
        hit.push((s, e, p));
    }
    for &(s, e, p) in &hit {
        map.remove(&s);
        if s < start {
            map.insert(s, (start, p));
        }
        if e > end {
            map.insert(end, (e, p + (end - s)));
        }
    }
    map.insert(start, (end, file_pos));
    !hit.is_empty()
}

impl Source for FlatSource {
    fn path(&self) -> &Path {
        self.file.path()
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn bytes(&self, offset: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        let end = offset.checked_add(len as u64)?;
        if end > self.len {
            return None;
        }
        let data: &[u8] = &self.data;
        if let Some(i) = self.find(offset) {
            let s = self.segments[i];
            if end <= s.end {
                let r = checked_range(s.file_pos + (offset - s.start), len, data.len())?;
                return Some(Cow::Borrowed(&data[r]));
            }
        }
        // Spans several pieces (or holes, which read as zeros).
        let mut out = vec![0u8; len];
        let mut i = self.segments.partition_point(|s| s.end <= offset);
        while let Some(s) = self.segments.get(i) {
            if s.start >= end {
                break;
            }
            let from = s.start.max(offset);
            let to = s.end.min(end);
            let r = checked_range(
                s.file_pos + (from - s.start),
                (to - from) as usize,
                data.len(),
            )?;
            let o = (from - offset) as usize;
            out[o..o + r.len()].copy_from_slice(&data[r]);
            i += 1;
        }
        Some(Cow::Owned(out))
    }

    fn region(&self, offset: u64, len: usize) -> Option<Region> {
        let end = offset.checked_add(len as u64)?;
        if let Some(i) = self.find(offset) {
            let s = self.segments[i];
            if end <= s.end {
                let r = checked_range(s.file_pos + (offset - s.start), len, self.data.len())?;
                return Some(Region::Mapped {
                    map: self.data.clone(),
                    start: r.start,
                    len,
                });
            }
        }
        self.bytes(offset, len)
            .map(|b| Region::Owned(b.into_owned().into_boxed_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(map: &BTreeMap<u64, (u64, u64)>) -> Vec<(u64, u64, u64)> {
        map.iter().map(|(&s, &(e, p))| (s, e, p)).collect()
    }

    #[test]
    fn later_records_win() {
        let mut m = BTreeMap::new();
        assert!(!insert(&mut m, 0, 100, 1000));
        assert!(!insert(&mut m, 200, 300, 2000));
        // Overwrites the middle of the first and the start of the second.
        assert!(insert(&mut m, 50, 250, 5000));
        assert_eq!(
            pieces(&m),
            vec![(0, 50, 1000), (50, 250, 5000), (250, 300, 2050)]
        );
        // Covers everything.
        assert!(insert(&mut m, 0, 400, 9000));
        assert_eq!(pieces(&m), vec![(0, 400, 9000)]);
        // Inside one piece.
        assert!(insert(&mut m, 10, 20, 7000));
        assert_eq!(
            pieces(&m),
            vec![(0, 10, 9000), (10, 20, 7000), (20, 400, 9020)]
        );
    }
}
