//! makedumpfile's dump levels (`-d`) and the page classes they exclude.

use std::fmt;

/// Bit 1: pages filled with zero.
pub const EXCLUDE_ZERO: u32 = 1;
/// Bit 2: page cache pages without private data.
pub const EXCLUDE_CACHE: u32 = 2;
/// Bit 4: page cache pages, with or without private data.
pub const EXCLUDE_CACHE_PRIVATE: u32 = 4;
/// Bit 8: user data (anonymous and hugetlb pages).
pub const EXCLUDE_USER_DATA: u32 = 8;
/// Bit 16: free pages.
pub const EXCLUDE_FREE: u32 = 16;
/// The highest dump level.
pub const MAX_LEVEL: u32 = 31;

/// Why a page was excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageClass {
    /// All-zero content (decided while writing).
    Zero,
    /// Page cache without private data.
    Cache,
    /// Page cache with private data.
    CachePrivate,
    /// Anonymous or hugetlb user data.
    User,
    /// A free (buddy) page, or memory not yet accepted.
    Free,
    /// A hardware-poisoned page (always excluded, as makedumpfile does).
    Hwpoison,
    /// A logically offline page (always excluded, as makedumpfile does).
    Offline,
}

impl PageClass {
    /// Every class, in report order.
    pub const ALL: [PageClass; 7] = [
        PageClass::Zero,
        PageClass::Cache,
        PageClass::CachePrivate,
        PageClass::User,
        PageClass::Free,
        PageClass::Hwpoison,
        PageClass::Offline,
    ];

    /// makedumpfile's wording in its "Excluded pages" report.
    pub fn label(self) -> &'static str {
        match self {
            PageClass::Zero => "Pages filled with zero",
            PageClass::Cache => "Non-private cache pages",
            PageClass::CachePrivate => "Private cache pages",
            PageClass::User => "User process data pages",
            PageClass::Free => "Free pages",
            PageClass::Hwpoison => "Hwpoison pages",
            PageClass::Offline => "Offline pages",
        }
    }

    /// A short machine-readable key (`--report json`).
    pub fn key(self) -> &'static str {
        match self {
            PageClass::Zero => "zero",
            PageClass::Cache => "cache",
            PageClass::CachePrivate => "cache_private",
            PageClass::User => "user",
            PageClass::Free => "free",
            PageClass::Hwpoison => "hwpoison",
            PageClass::Offline => "offline",
        }
    }
}

impl fmt::Display for PageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Excluded-page counts per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCounts(pub [u64; 7]);

impl ClassCounts {
    /// Adds one page of `class`.
    pub fn add(&mut self, class: PageClass, n: u64) {
        self.0[class as usize] += n;
    }
    /// The count of `class`.
    pub fn get(&self, class: PageClass) -> u64 {
        self.0[class as usize]
    }
    /// All excluded pages.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    /// Adds another set of counts.
    pub fn merge(&mut self, o: &ClassCounts) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
}
