//! Shared helpers of the BTF integration tests: a BTF writer, the
//! "navigate everything" routine, a tiny deterministic PRNG, and sample blobs.

#![allow(dead_code)]

pub mod builder;
pub mod navigate;
pub mod samples;

/// xorshift64*: a tiny deterministic PRNG (no `rand` needed).
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
