//! Cyclic windows of page frames: the writers never hold a bitmap of the
//! whole dump. For each window of `window_pfns` pfns they ask the
//! [`PageSelector`] which pfns to keep and intersect that with the pfns the
//! source holds (whole pages of [`PhysMemory::ranges`]).
//!
//! The writers go over the windows twice. The kept-pfn bitmaps of the first
//! pass are remembered while they fit in [`WriteOptions::remember_words`]
//! (by default 2 MiB: dumps up to 64 GiB of 4 KiB pages), so the second pass
//! classifies nothing again; past that budget the selector is asked again,
//! and must answer the same.
//!
//! [`WriteOptions::remember_words`]: super::WriteOptions::remember_words
//!
//! [`PhysMemory::ranges`]: crate::dump::PhysMemory::ranges

use super::error::WriteError;
use super::progress::ProgressFn;
use super::{PageSelector, WriteOptions};
use crate::dump::Dump;
use std::ops::Range;

/// The windows over `0..max_pfn` of one source.
pub(crate) struct Windows {
    /// Pfn ranges of whole pages the source holds: sorted, disjoint, merged.
    present: Vec<Range<u64>>,
    max_pfn: u64,
    /// Pfns per window (a multiple of 64).
    size: u64,
    /// The selector's kept bitmaps of the first windows filled, by index,
    /// while they fit in `remember_words` words.
    remembered: Vec<Vec<u64>>,
    remember_words: usize,
    /// Windows the first pass has filled (they are filled in order).
    sized: u64,
    /// Told of each window the first pass fills.
    progress: Option<ProgressFn>,
}

/// One window's bitmaps (bit `i` of word `i / 64` is pfn `start + i`).
pub(crate) struct WindowBits {
    /// First pfn.
    pub start: u64,
    /// Pfns in the window.
    pub len: u64,
    /// Pfns the source holds.
    pub present: Vec<u64>,
    /// Pfns the selector keeps that the source holds.
    pub keep: Vec<u64>,
}

impl WindowBits {
    /// Set bits of `keep`.
    pub(crate) fn kept(&self) -> u64 {
        self.keep.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// The kept pfns, in order.
    pub(crate) fn kept_pfns(&self) -> impl Iterator<Item = u64> + '_ {
        let start = self.start;
        self.keep.iter().enumerate().flat_map(move |(i, &w)| {
            let base = start + 64 * i as u64;
            BitIter(w).map(move |b| base + u64::from(b))
        })
    }
}

/// Set bits of a word, lowest first.
struct BitIter(u64);

impl Iterator for BitIter {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(b)
    }
}

/// Sets bits `lo..hi` of `words`.
pub(crate) fn set_bits(words: &mut [u64], lo: u64, hi: u64) {
    let mut i = lo;
    while i < hi {
        let w = (i / 64) as usize;
        let b = i % 64;
        let n = (64 - b).min(hi - i);
        let mask = if n == 64 {
            u64::MAX
        } else {
            ((1u64 << n) - 1) << b
        };
        words[w] |= mask;
        i += n;
    }
}

impl Windows {
    /// The windows of a write of `src` with `opts`: [`WriteOptions::window_len`]
    /// pfns each, over the pfns below [`WriteOptions::end_pfn`] (all of
    /// them with `None`), remembering up to [`WriteOptions::remember_words`]
    /// words of the selector's answers, telling [`WriteOptions::progress`]
    /// of the first pass.
    pub(crate) fn new(src: &Dump, opts: &WriteOptions) -> Windows {
        let end_pfn = opts.end_pfn;
        let ps = src.page_size();
        let mut present: Vec<Range<u64>> = Vec::new();
        for r in src.phys().ranges() {
            let (lo, hi) = (r.start.div_ceil(ps), r.end / ps);
            if lo >= hi {
                continue;
            }
            match present.last_mut() {
                Some(last) if last.end >= lo => last.end = last.end.max(hi),
                _ => present.push(lo..hi),
            }
        }
        let max_pfn = end_pfn.map_or(src.max_pfn(), |e| e.min(src.max_pfn()));
        present.retain_mut(|r| {
            r.end = r.end.min(max_pfn);
            r.start < r.end
        });
        let size = opts.window_len();
        let progress = opts.progress.clone();
        if let Some(p) = &progress {
            p.start(max_pfn.div_ceil(size));
        }
        Windows {
            present,
            max_pfn,
            size,
            remembered: Vec::new(),
            remember_words: opts.remember_words,
            sized: 0,
            progress,
        }
    }

    /// One past the last pfn.
    pub(crate) fn max_pfn(&self) -> u64 {
        self.max_pfn
    }

    /// Pfn ranges of whole pages the source holds below [`Windows::max_pfn`]
    /// (sorted, disjoint, merged).
    pub(crate) fn present(&self) -> &[Range<u64>] {
        &self.present
    }

    /// How many windows there are.
    pub(crate) fn count(&self) -> u64 {
        self.max_pfn.div_ceil(self.size)
    }

    /// Empty bitmaps sized for a window.
    pub(crate) fn bits(&self) -> WindowBits {
        let words = self.size.min(self.max_pfn.max(1)).div_ceil(64) as usize;
        WindowBits {
            start: 0,
            len: 0,
            present: vec![0; words],
            keep: vec![0; words],
        }
    }

    /// Fills `bits` for window `index`: the source's pfns and, asking
    /// `selector` (or from memory, when this window was filled before and
    /// remembered), the kept ones.
    pub(crate) fn fill(
        &mut self,
        index: u64,
        selector: &dyn PageSelector,
        bits: &mut WindowBits,
    ) -> Result<(), WriteError> {
        let start = index * self.size;
        let end = (start + self.size).min(self.max_pfn);
        let words = (end - start).div_ceil(64) as usize;
        bits.start = start;
        bits.len = end - start;
        bits.present.clear();
        bits.present.resize(words, 0);
        bits.keep.clear();
        bits.keep.resize(words, 0);
        let first = self.present.partition_point(|r| r.end <= start);
        for r in self.present[first..].iter().take_while(|r| r.start < end) {
            set_bits(
                &mut bits.present,
                r.start.max(start) - start,
                r.end.min(end) - start,
            );
        }
        if let Some(keep) = self.remembered.get(index as usize) {
            bits.keep.copy_from_slice(keep);
        } else {
            selector.select(start, &mut bits.keep)?;
            for (k, p) in bits.keep.iter_mut().zip(&bits.present) {
                *k &= *p;
            }
            let held: usize = self.remembered.iter().map(Vec::len).sum();
            if self.remembered.len() as u64 == index && held + words <= self.remember_words {
                self.remembered.push(bits.keep.clone());
            }
        }
        if index == self.sized {
            // The first pass, which fills every window in order.
            self.sized += 1;
            if let Some(p) = &self.progress {
                p.sized(bits.kept());
            }
        }
        Ok(())
    }

    /// The second pass's [`Windows::fill`]: window `index` again, which must
    /// keep the `first` pages the first pass counted in it (else the
    /// selector changed its mind and the layout written is wrong).
    pub(crate) fn refill(
        &mut self,
        index: u64,
        selector: &dyn PageSelector,
        bits: &mut WindowBits,
        first: u64,
    ) -> Result<(), WriteError> {
        self.fill(index, selector, bits)?;
        let kept = bits.kept();
        if kept != first {
            return Err(WriteError::Inconsistent {
                start_pfn: bits.start,
                first,
                second: kept,
            });
        }
        Ok(())
    }

    /// The bytes of a kdump bitmap for `words` (little-endian bit order:
    /// bit `i` of byte `i / 8`).
    pub(crate) fn bitmap_bytes(words: &[u64], len: u64) -> Vec<u8> {
        let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        out.truncate(len.div_ceil(8) as usize);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_set_and_iterate() {
        let mut w = vec![0u64; 3];
        set_bits(&mut w, 3, 5);
        set_bits(&mut w, 60, 130);
        assert_eq!(w[0], 0b11000 | (0xf << 60));
        assert_eq!(w[1], u64::MAX);
        assert_eq!(w[2], 0b11);
        let b = WindowBits {
            start: 1000,
            len: 192,
            present: w.clone(),
            keep: w,
        };
        let pfns: Vec<u64> = b.kept_pfns().collect();
        assert_eq!(pfns.len() as u64, b.kept());
        assert_eq!(&pfns[..3], &[1003, 1004, 1060]);
        assert_eq!(pfns.last(), Some(&1129));
        assert_eq!(Windows::bitmap_bytes(&[0x0102], 9), vec![2, 1]);
    }
}
