//! LZO1X-1 compression of pages, producing exactly what liblzo2's
//! `lzo1x_1_compress` (the codec of `makedumpfile -l`) produces, so that
//! dumptool's `-l` output is byte for byte makedumpfile's.
//!
//! The format: a stream of literal runs and back-references. A match of
//! 3–8 bytes within 2 KiB is a 2-byte "M2" code; within 16 KiB an "M3"
//! code (length in the first byte, or in a run of extra bytes); farther
//! (up to 48 KiB) an "M4" code. Up to 3 literals after a match ride in the
//! low bits of the match's last-but-one byte; longer runs get a length
//! byte (or a zero-byte run for 19 and more). The stream ends with an M4
//! code of offset 0 (`0x11 0 0`).
//!
//! Matches are found as LZO1X-1 finds them: a 16384-entry dictionary
//! hashing the 4 bytes at each position (multiplier `0x1824429d`, top 14
//! bits), one candidate per hash, and a search that skips ahead faster the
//! longer it has found nothing (`1 + distance / 32`). The dictionary is
//! never cleared: each compression gets a fresh range of stamped values,
//! and an entry from an earlier one counts as position 0, which is what a
//! cleared dictionary holds. The per-page cost is the search alone (the C
//! library clears 32 KiB per call).

/// Dictionary size (entries): 2^14.
const D_BITS: u32 = 14;
/// The hash multiplier of LZO1X-1.
const D_MUL: u32 = 0x1824_429d;
/// An input chunk: positions fit in 16 bits of a dictionary entry.
const CHUNK: usize = 49152;
/// Inputs this short (and the tail of every chunk) are literals only.
const TAIL: usize = 20;

/// Largest M2 match (length) and offset.
const M2_MAX_LEN: usize = 8;
const M2_MAX_OFFSET: usize = 0x0800;
/// Largest M3 offset, and the largest length M3/M4 codes hold in their first byte.
const M3_MAX_OFFSET: usize = 0x4000;
const M3_MAX_LEN: usize = 33;
const M4_MAX_LEN: usize = 9;
const M3_MARKER: u8 = 32;
const M4_MARKER: u8 = 16;

/// A reusable LZO1X-1 compressor (one per thread).
pub(crate) struct Lzo1x {
    /// Dictionary entries: `stamp + position` of the last position with
    /// that hash, valid when at least `stamp`.
    dict: Box<[u32; 1 << D_BITS]>,
    stamp: u32,
}

impl Lzo1x {
    /// A compressor with an empty dictionary.
    pub(crate) fn new() -> Lzo1x {
        Lzo1x {
            dict: Box::new([0; 1 << D_BITS]),
            stamp: 1 << 16,
        }
    }

    /// Forgets every entry (a new stamp; a real clear when stamps run out).
    fn clear(&mut self) {
        match self.stamp.checked_add(1 << 16) {
            Some(s) => self.stamp = s,
            None => {
                self.dict.fill(0);
                self.stamp = 1 << 16;
            }
        }
    }

    /// Compresses `src` into `out` (cleared first).
    pub(crate) fn compress(&mut self, src: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(src.len() + src.len() / 16 + 64 + 3);
        let mut pos = 0usize;
        let mut left = src.len();
        // Literals not yet written, ending at `pos`.
        let mut pending = 0usize;
        while left > TAIL {
            let len = left.min(CHUNK);
            if (pending + len) >> 5 == 0 {
                break;
            }
            self.clear();
            pending = self.chunk(src, pos, len, pending, out);
            pos += len;
            left -= len;
        }
        pending += left;
        if pending > 0 {
            let from = src.len() - pending;
            if out.is_empty() && pending <= 238 {
                out.push(17 + pending as u8);
            } else {
                literal_length(out, pending);
            }
            out.extend_from_slice(&src[from..]);
        }
        out.extend_from_slice(&[M4_MARKER | 1, 0, 0]);
    }

    /// Compresses `src[start..start + len]`, `pending` literals before it
    /// still unwritten; returns the literals left unwritten at its end.
    fn chunk(
        &mut self,
        src: &[u8],
        start: usize,
        len: usize,
        mut pending: usize,
        out: &mut Vec<u8>,
    ) -> usize {
        let end = start + len;
        let search_end = end - TAIL;
        let stamp = self.stamp;
        // `lit` is where the unwritten literals start (`pending` of them
        // lie before the chunk).
        let mut lit = start;
        let mut ip = start + 4usize.saturating_sub(pending);
        ip += 1 + ((ip - lit) >> 5);
        'search: loop {
            // Find a position whose 4 bytes equal those at its hash's last position.
            let candidate = loop {
                if ip >= search_end {
                    break 'search;
                }
                let dv = le32(src, ip);
                let slot = (D_MUL.wrapping_mul(dv) >> (32 - D_BITS)) as usize & ((1 << D_BITS) - 1);
                let entry = self.dict[slot];
                let cand = start
                    + if entry >= stamp {
                        (entry - stamp) as usize
                    } else {
                        0
                    };
                self.dict[slot] = stamp + (ip - start) as u32;
                if dv == le32(src, cand) {
                    break cand;
                }
                ip += 1 + ((ip - lit) >> 5);
            };
            // The literals before the match, those of earlier chunks first.
            let from = lit - pending;
            pending = 0;
            let n = ip - from;
            if n > 0 {
                literal_length(out, n);
                out.extend_from_slice(&src[from..ip]);
            }
            // The match: 4 bytes known equal, then 8 at a time.
            let mut mlen = 4;
            loop {
                let x = ne64(src, ip + mlen) ^ ne64(src, candidate + mlen);
                if x != 0 {
                    mlen += if cfg!(target_endian = "little") {
                        x.trailing_zeros()
                    } else {
                        x.leading_zeros()
                    } as usize
                        / 8;
                    break;
                }
                mlen += 8;
                if ip + mlen >= search_end {
                    break;
                }
            }
            let off = ip - candidate;
            ip += mlen;
            lit = ip;
            match_code(out, mlen, off);
        }
        end - (lit - pending)
    }
}

/// Writes the length of a literal run of `n` (> 0) bytes: in the last
/// match code's spare bits (1–3), a byte (4–18), or a zero-byte run.
fn literal_length(out: &mut Vec<u8>, n: usize) {
    if n <= 3 {
        // After a match code, whose last-but-one byte keeps 2 free bits.
        let at = out.len() - 2;
        out[at] |= n as u8;
    } else if n <= 18 {
        out.push((n - 3) as u8);
    } else {
        out.push(0);
        long_length(out, n - 18);
    }
}

/// A length past what a code's first byte holds: 255s as zero bytes, then the rest.
fn long_length(out: &mut Vec<u8>, mut n: usize) {
    while n > 255 {
        n -= 255;
        out.push(0);
    }
    out.push(n as u8);
}

/// Writes a match of `len` bytes `off` bytes back.
fn match_code(out: &mut Vec<u8>, len: usize, off: usize) {
    if len <= M2_MAX_LEN && off <= M2_MAX_OFFSET {
        let o = off - 1;
        out.push((((len - 1) << 5) | ((o & 7) << 2)) as u8);
        out.push((o >> 3) as u8);
        return;
    }
    let (first, max, o) = if off <= M3_MAX_OFFSET {
        (M3_MARKER, M3_MAX_LEN, off - 1)
    } else {
        let o = off - 0x4000;
        (M4_MARKER | ((o >> 11) & 8) as u8, M4_MAX_LEN, o)
    };
    if len <= max {
        out.push(first | (len - 2) as u8);
    } else {
        out.push(first);
        long_length(out, len - max);
    }
    out.push((o << 2) as u8);
    out.push((o >> 6) as u8);
}

#[inline(always)]
fn le32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(w) => u32::from_le_bytes([w[0], w[1], w[2], w[3]]),
        None => 0,
    }
}

#[inline(always)]
fn ne64(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8) {
        Some(&[a, b, c, d, e, f, g, h]) => u64::from_ne_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of many kinds: text-like, repetitive, sparse, random, short.
    fn samples() -> Vec<Vec<u8>> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut out = vec![
            vec![0u8; 4096],
            b"KTYPE page\n".repeat(400)[..4096].to_vec(),
            (0..4096u32).map(|i| (i / 7) as u8).collect(),
            Vec::new(),
            b"short".to_vec(),
            vec![7u8; 21],
            vec![1u8; 100_000],
        ];
        for density in [1, 4, 16, 64, 255] {
            let page: Vec<u8> = (0..4096)
                .map(|_| {
                    let r = rnd();
                    if (r & 0xff) < density {
                        (r >> 8) as u8
                    } else {
                        0
                    }
                })
                .collect();
            out.push(page);
        }
        // Words from a small vocabulary: many matches of every length and distance.
        let words: Vec<Vec<u8>> = (0..64)
            .map(|i| (0..(3 + i % 40)).map(|_| rnd() as u8).collect())
            .collect();
        for len in [4096usize, 8192, 60_000] {
            let mut p = Vec::new();
            while p.len() < len {
                p.extend_from_slice(&words[(rnd() % 64) as usize]);
            }
            p.truncate(len);
            out.push(p);
        }
        out.push((0..4096).map(|_| rnd() as u8).collect());
        out
    }

    #[cfg(feature = "lzo")]
    #[test]
    fn output_equals_the_reference_lzo1x_1_and_decompresses() {
        let mut c = Lzo1x::new();
        let mut out = Vec::new();
        for (i, page) in samples().iter().enumerate() {
            c.compress(page, &mut out);
            // The lzo1x crate's level 3 is liblzo2's lzo1x_1_compress.
            let reference = lzo1x::compress(page, lzo1x::CompressLevel::new(3).unwrap());
            assert_eq!(out, reference, "sample {i} ({} bytes)", page.len());
            let mut back = vec![0u8; page.len()];
            lzo1x::decompress(&out, &mut back).unwrap();
            assert_eq!(&back, page, "sample {i}");
        }
    }

    #[test]
    fn stamps_running_out_clear_the_dictionary() {
        let mut c = Lzo1x::new();
        let page = b"KTYPE page\n".repeat(400)[..4096].to_vec();
        let mut first = Vec::new();
        c.compress(&page, &mut first);
        c.stamp = u32::MAX - 5;
        let mut again = Vec::new();
        for _ in 0..3 {
            c.compress(&page, &mut again);
            assert_eq!(again, first);
        }
    }
}
