//! A kdump page bitmap (bit `pfn` of byte `pfn / 8`, least significant bit
//! first) with an optional rank index: the number of set bits before every
//! 4096-bit block, so that "how many dumped pages come before this pfn" (the
//! index of its page descriptor) costs one table load and at most 64
//! popcounts. The index takes 1/512 of the bitmap's size.
//!
//! Holes of a sparse file (see [`super::source::Source::holes`]) are known
//! to be zero words and are skipped, never read: the time to index and scan
//! a bitmap follows what the file stores, not what its header claims.

use super::source::Region;
use std::ops::Range;

/// Bits per rank block.
const BLOCK_BITS: u64 = 4096;

/// A page bitmap over `nbits` pfns.
#[derive(Debug, Clone)]
pub(crate) struct Bitmap {
    bits: Region,
    nbits: u64,
    /// Set bits before each block (empty without a rank index).
    ranks: Vec<u64>,
    /// Word ranges known to be zero (holes of the file), sorted, disjoint.
    zero_words: Vec<Range<u64>>,
}

impl Bitmap {
    /// Wraps `bits` (at least `nbits / 8` rounded up bytes long), building the
    /// rank index when `ranked`. `holes` are byte ranges of `bits` known to
    /// read as zeros (sorted), which are never read.
    pub(crate) fn new(bits: Region, nbits: u64, ranked: bool, holes: &[Range<u64>]) -> Bitmap {
        debug_assert!(bits.len() as u64 * 8 >= nbits);
        // Whole words inside each hole.
        let zero_words = holes
            .iter()
            .map(|h| h.start.div_ceil(8)..h.end / 8)
            .filter(|w| w.start < w.end)
            .collect();
        let mut b = Bitmap {
            bits,
            nbits,
            ranks: Vec::new(),
            zero_words,
        };
        if ranked {
            let blocks = nbits.div_ceil(BLOCK_BITS) as usize;
            let mut ranks = Vec::with_capacity(blocks + 1);
            let mut total = 0u64;
            for i in 0..blocks {
                ranks.push(total);
                let lo = i as u64 * BLOCK_BITS;
                total += b.count_range(lo, (lo + BLOCK_BITS).min(nbits));
            }
            ranks.push(total);
            b.ranks = ranks;
        }
        b
    }

    /// The first word at or after `w` that is not in a known hole.
    fn skip_zero(&self, w: u64) -> u64 {
        if self.zero_words.is_empty() {
            return w;
        }
        let i = self.zero_words.partition_point(|r| r.end <= w);
        match self.zero_words.get(i) {
            Some(r) if r.start <= w => r.end,
            _ => w,
        }
    }

    /// Bit `i` (false past the end).
    pub(crate) fn get(&self, i: u64) -> bool {
        i < self.nbits && self.bits[(i / 8) as usize] & (1 << (i % 8)) != 0
    }

    /// The 64 bits starting at bit `64 * w`, masked to the bitmap's length.
    fn word(&self, w: u64) -> u64 {
        let start = (w * 8) as usize;
        let mut a = [0u8; 8];
        let avail = self.bits.len().saturating_sub(start).min(8);
        a[..avail].copy_from_slice(&self.bits[start..start + avail]);
        let v = u64::from_le_bytes(a);
        let lo = w * 64;
        if lo + 64 > self.nbits {
            let keep = self.nbits.saturating_sub(lo);
            if keep == 0 {
                return 0;
            }
            return v & (u64::MAX >> (64 - keep));
        }
        v
    }

    /// Set bits in `[lo, hi)`, by popcount (no index needed).
    fn count_range(&self, lo: u64, hi: u64) -> u64 {
        let hi = hi.min(self.nbits);
        if lo >= hi {
            return 0;
        }
        let (wl, wh) = (lo / 64, (hi - 1) / 64);
        let mut n = 0u64;
        let mut w = wl;
        while w <= wh {
            let next = self.skip_zero(w);
            if next != w {
                w = next;
                continue;
            }
            let mut v = self.word(w);
            if w == wl {
                v &= u64::MAX << (lo % 64);
            }
            if w == wh && hi & 63 != 0 {
                v &= u64::MAX >> (64 - hi % 64);
            }
            n += u64::from(v.count_ones());
            w += 1;
        }
        n
    }

    /// Set bits in the whole bitmap.
    #[cfg(test)]
    fn count(&self) -> u64 {
        match self.ranks.last() {
            Some(&n) => n,
            None => self.count_range(0, self.nbits),
        }
    }

    /// Set bits in `[0, i)`. Uses the rank index when there is one.
    pub(crate) fn rank(&self, i: u64) -> u64 {
        let i = i.min(self.nbits);
        if self.ranks.is_empty() {
            return self.count_range(0, i);
        }
        let block = i / BLOCK_BITS;
        let base = self.ranks[block as usize];
        let lo = block * BLOCK_BITS;
        if lo == i {
            return base;
        }
        base + self.count_range(lo, i)
    }

    /// Runs of set bits within `[lo, hi)`, as bit ranges.
    pub(crate) fn runs(&self, lo: u64, hi: u64) -> Vec<Range<u64>> {
        let hi = hi.min(self.nbits);
        let mut out: Vec<Range<u64>> = Vec::new();
        if lo >= hi {
            return out;
        }
        let mut w = lo / 64;
        let mut start: Option<u64> = None;
        while w * 64 < hi {
            let next = self.skip_zero(w);
            if next != w {
                if let Some(s) = start.take() {
                    out.push(s..w * 64);
                }
                w = next;
                continue;
            }
            let mut v = self.word(w);
            if w == lo / 64 {
                v &= u64::MAX << (lo % 64);
            }
            let base = w * 64;
            if v == 0 {
                if let Some(s) = start.take() {
                    out.push(s..base);
                }
            } else if v == u64::MAX {
                start.get_or_insert(base);
            } else {
                for b in 0..64 {
                    let set = v & (1 << b) != 0;
                    match (set, start) {
                        (true, None) => start = Some(base + b),
                        (false, Some(s)) => {
                            out.push(s..base + b);
                            start = None;
                        }
                        _ => {}
                    }
                }
            }
            w += 1;
        }
        if let Some(s) = start {
            out.push(s..hi);
        }
        for r in &mut out {
            r.end = r.end.min(hi);
        }
        out.retain(|r| r.start < r.end);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(bits: &[bool], ranked: bool) -> Bitmap {
        let mut bytes = vec![0u8; bits.len().div_ceil(8) + 3];
        for (i, &b) in bits.iter().enumerate() {
            if b {
                bytes[i / 8] |= 1 << (i % 8);
            }
        }
        Bitmap::new(
            Region::Owned(bytes.into_boxed_slice()),
            bits.len() as u64,
            ranked,
            &[],
        )
    }

    #[test]
    fn rank_and_runs_match_a_naive_count() {
        // A deterministic pseudo-random pattern with long runs of both kinds.
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut bits = Vec::new();
        for i in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let run = (x % 200) as usize;
            for _ in 0..run {
                bits.push(i % 3 != 0);
            }
        }
        let n = bits.len();
        for ranked in [false, true] {
            let bm = bitmap(&bits, ranked);
            let mut count = 0u64;
            for (i, &bit) in bits.iter().enumerate() {
                if i % 97 == 0 {
                    assert_eq!(bm.rank(i as u64), count, "rank({i}), ranked={ranked}");
                }
                assert_eq!(bm.get(i as u64), bit);
                count += u64::from(bit);
            }
            assert_eq!(bm.rank(n as u64), count);
            // Runs over a window not aligned to words.
            let (lo, hi) = (37u64, n as u64 - 5);
            let mut naive: Vec<Range<u64>> = Vec::new();
            for i in lo..hi {
                if bits[i as usize] {
                    match naive.last_mut() {
                        Some(r) if r.end == i => r.end = i + 1,
                        _ => naive.push(i..i + 1),
                    }
                }
            }
            assert_eq!(bm.runs(lo, hi), naive);
        }
        // Bits past nbits (in the padding bytes) are never counted.
        let mut bytes = vec![0xffu8; 16];
        bytes[15] = 0xff;
        let bm = Bitmap::new(Region::Owned(bytes.into_boxed_slice()), 70, true, &[]);
        assert_eq!(bm.rank(1000), 70);
        assert_eq!(bm.runs(0, 1000), vec![0..70]);
        assert!(!bm.get(70));
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn holes_are_skipped_as_zeros() {
        // Bytes 16..4096+16 of a 3-page bitmap are a "hole" (zeros); a
        // bitmap that knows it answers as one that reads them.
        let mut bytes = vec![0u8; 3 * 4096];
        for (i, b) in bytes.iter_mut().enumerate() {
            if !(16..4096 + 16).contains(&i) {
                *b = (i * 37 % 251) as u8;
            }
        }
        let nbits = bytes.len() as u64 * 8;
        let region = || Region::Owned(bytes.clone().into_boxed_slice());
        let plain = Bitmap::new(region(), nbits, true, &[]);
        let holed = Bitmap::new(region(), nbits, true, &[16..4096 + 16]);
        assert!(!holed.zero_words.is_empty());
        for i in (0..nbits).step_by(97) {
            assert_eq!(plain.rank(i), holed.rank(i), "rank({i})");
        }
        assert_eq!(plain.count(), holed.count());
        assert_eq!(plain.runs(5, nbits - 3), holed.runs(5, nbits - 3));
        // A hole over bytes that are not zero: they are taken as zeros.
        let lying = Bitmap::new(region(), nbits, true, &[0..8]);
        assert_eq!(lying.rank(64), 0);
    }
}
