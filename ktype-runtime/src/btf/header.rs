//! The BTF header: magic (either byte order), version, section bounds.

use super::error::{BtfError, Result};
use std::ops::Range;

const MAGIC: u16 = 0xeb9f;
/// Header length of the original format (magic .. str_len).
const BASE_HDR: usize = 24;
/// Header length with the 2026 layout section fields.
const LAYOUT_HDR: usize = 32;

/// Where the sections of one BTF blob are.
#[derive(Debug)]
pub(crate) struct Header {
    pub big_endian: bool,
    pub types: Range<usize>,
    pub strs: Range<usize>,
    pub layout: Option<Range<usize>>,
}

impl Header {
    pub fn parse(origin: &str, b: &[u8]) -> Result<Header> {
        let err = |offset: usize, what: String| BtfError::Corrupt {
            origin: origin.to_string(),
            offset: offset as u64,
            what,
        };
        if b.len() < BASE_HDR {
            return Err(err(
                0,
                format!(
                    "only {} bytes, shorter than the {BASE_HDR}-byte BTF header",
                    b.len()
                ),
            ));
        }
        let big_endian = match [b[0], b[1]] {
            [0x9f, 0xeb] => false,
            [0xeb, 0x9f] => true,
            m => {
                return Err(err(
                    0,
                    format!("bad magic {:02x}{:02x}, expected {MAGIC:#06x}", m[0], m[1]),
                ))
            }
        };
        let rd = |o: usize| {
            let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
            if big_endian {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            }
        };
        if b[2] != 1 {
            return Err(err(2, format!("unsupported BTF version {}", b[2])));
        }
        if b[3] != 0 {
            return Err(err(3, format!("unsupported header flags {:#x}", b[3])));
        }
        let hdr_len = rd(4) as usize;
        if hdr_len < BASE_HDR || hdr_len > b.len() {
            return Err(err(
                4,
                format!("header length {hdr_len} outside {BASE_HDR}..={}", b.len()),
            ));
        }
        let known = if hdr_len >= LAYOUT_HDR {
            LAYOUT_HDR
        } else {
            BASE_HDR
        };
        if let Some(i) = b[known..hdr_len].iter().position(|&x| x != 0) {
            return Err(err(
                known + i,
                format!("unknown non-zero header field ({hdr_len}-byte header)"),
            ));
        }
        let body = b.len() - hdr_len;
        let section = |name: &str, off_at: usize| -> Result<Range<usize>> {
            let off = rd(off_at) as usize;
            let len = rd(off_at + 4) as usize;
            match off.checked_add(len) {
                Some(end) if end <= body => Ok(hdr_len + off..hdr_len + end),
                _ => Err(err(off_at, format!("{name} section {off:#x}+{len:#x} runs past the end ({body:#x} bytes after the header)"))),
            }
        };
        let types = section("type", 8)?;
        let strs = section("string", 16)?;
        if !(types.start - hdr_len).is_multiple_of(4) {
            return Err(err(8, "type section is not 4-byte aligned".into()));
        }
        if overlaps(&types, &strs) {
            return Err(err(8, "type and string sections overlap".into()));
        }
        let layout = if known == LAYOUT_HDR && rd(28) != 0 {
            let l = section("layout", 24)?;
            if l.len() % 4 != 0 {
                return Err(err(
                    24,
                    format!("layout section length {} is not a multiple of 4", l.len()),
                ));
            }
            if overlaps(&l, &types) || overlaps(&l, &strs) {
                return Err(err(24, "layout section overlaps another section".into()));
            }
            Some(l)
        } else {
            None
        };
        Ok(Header {
            big_endian,
            types,
            strs,
            layout,
        })
    }

    /// `(info_sz, elem_sz)` for each kind the layout section describes.
    pub fn read_layouts(&self, b: &[u8]) -> Vec<(u8, u8)> {
        match &self.layout {
            Some(r) => b[r.clone()].chunks_exact(4).map(|c| (c[0], c[1])).collect(),
            None => Vec::new(),
        }
    }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end
}
