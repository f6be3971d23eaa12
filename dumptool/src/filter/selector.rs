//! makedumpfile's page selection as a [`PageSelector`]: the pages a dump
//! level excludes, decided by a [`Classifier`], with per-class counts of
//! what was excluded. Hand it to [`write_dump`] alone (what `dumptool
//! filter` does), or combine it with a rule of your own through
//! [`PageSelector::and`] (drop more) or [`PageSelector::or`] (keep more).
//!
//! "Dump level 31 plus my rule": the level's selection, less the first
//! 16 MiB of memory, written zlib-compressed:
//!
//! ```no_run
//! use dumptool::dump::Dump;
//! use dumptool::filter::{Classifier, DumpLevelSelector};
//! use dumptool::kernel::CrashedKernel;
//! use dumptool::write::{
//!     write_dump, Compression, Output, OutputFormat, PageSelector, WriteError, WriteOptions,
//! };
//!
//! let dump = Dump::open("vmcore")?;
//! let kernel = CrashedKernel::open(&dump)?;
//! // What this kernel's BTF lacks switches rules off (their pages are kept).
//! let _problems = kernel.resolve_all();
//! let classifier = Classifier::new(&kernel);
//! let opts = WriteOptions {
//!     format: OutputFormat::Kdump(Compression::Zlib),
//!     dump_level: 31,
//!     exclude_zero: true,
//!     end_pfn: kernel.spanned_end_pfn(),
//!     ..WriteOptions::default()
//! };
//! // My rule: keep every page but those of the first 16 MiB.
//! let low = 16 << 20 >> 12;
//! let mine = move |start: u64, keep: &mut [u64]| -> Result<(), WriteError> {
//!     for (i, word) in keep.iter_mut().enumerate() {
//!         for bit in 0..64 {
//!             if start + 64 * i as u64 + bit >= low {
//!                 *word |= 1 << bit;
//!             }
//!         }
//!     }
//!     Ok(())
//! };
//! let selector = DumpLevelSelector::new(&classifier, &opts).and(mine);
//! let stats = write_dump(&dump, &selector, &opts, Output::Path("dumpfile".into()))?;
//! let by_level = selector.first.counts();
//! println!(
//!     "{} pages written; level 31 excluded {} ({} free)",
//!     stats.pages_written,
//!     by_level.total(),
//!     by_level.get(dumptool::filter::PageClass::Free),
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`write_dump`]: crate::write::write_dump

use super::{ClassCounts, Classifier, PageClass};
use crate::write::{PageSelector, WriteError, WriteOptions};
use std::sync::OnceLock;

/// The pages a dump level keeps, as a [`PageSelector`]: a pfn is kept
/// unless the [`Classifier`] puts it in a class the level excludes (zero
/// pages are the writer's to find, [`WriteOptions::exclude_zero`]). Pfns at
/// or past the end pfn are never kept.
///
/// Each window's excluded counts are kept in a slot of their own (the
/// writers may ask twice for a window; the first answer is counted) and
/// merged by [`DumpLevelSelector::counts`]: no lock is taken while
/// selecting.
pub struct DumpLevelSelector<'c, 'k> {
    classifier: &'c Classifier<'k>,
    level: u32,
    end_pfn: u64,
    /// Pfns per window, as the writer cuts them.
    window: u64,
    /// Excluded counts of window `i`, once it was asked for.
    counts: Vec<OnceLock<ClassCounts>>,
}

impl std::fmt::Debug for DumpLevelSelector<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpLevelSelector")
            .field("level", &self.level)
            .field("end_pfn", &format_args!("{:#x}", self.end_pfn))
            .field("window", &self.window)
            .finish()
    }
}

impl<'c, 'k> DumpLevelSelector<'c, 'k> {
    /// The selector of dump level [`WriteOptions::dump_level`] for a write
    /// with `opts`: its windows ([`WriteOptions::window_pfns`]) and its end
    /// ([`WriteOptions::end_pfn`], else the dump's last pfn) are the ones
    /// the writer will ask for. Use it with those options.
    pub fn new(classifier: &'c Classifier<'k>, opts: &WriteOptions) -> DumpLevelSelector<'c, 'k> {
        let max = classifier.dump().max_pfn();
        let end_pfn = opts.end_pfn.map_or(max, |e| e.min(max));
        let window = opts.window_len();
        DumpLevelSelector {
            classifier,
            level: opts.dump_level,
            end_pfn,
            window,
            counts: (0..end_pfn.div_ceil(window))
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// The dump level.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// One past the last pfn it may keep.
    pub fn end_pfn(&self) -> u64 {
        self.end_pfn
    }

    /// The classifier deciding.
    pub fn classifier(&self) -> &'c Classifier<'k> {
        self.classifier
    }

    /// Pages excluded so far, per class, over every window asked for
    /// (zero pages not included: the writer finds them, see
    /// [`crate::write::WriteStats::zero_pages_excluded`]).
    pub fn counts(&self) -> ClassCounts {
        let mut all = ClassCounts::default();
        for c in self.counts.iter().filter_map(OnceLock::get) {
            all.merge(c);
        }
        all
    }

    /// Windows answered so far.
    pub fn windows_done(&self) -> usize {
        self.counts.iter().filter(|c| c.get().is_some()).count()
    }
}

impl PageSelector for DumpLevelSelector<'_, '_> {
    fn select(&self, start: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        let slot = start
            .is_multiple_of(self.window)
            .then(|| self.counts.get((start / self.window) as usize))
            .flatten()
            .ok_or_else(|| {
                WriteError::selector(format!(
                    "dump level {}: asked for the window at pfn {start:#x}, which is none of the \
                     windows of the options it was made with ({} pfns each, up to pfn {:#x})",
                    self.level, self.window, self.end_pfn
                ))
            })?;
        let n = (keep.len() as u64 * 64).min(self.end_pfn.saturating_sub(start)) as usize;
        let mut classes: Vec<Option<PageClass>> = vec![None; n];
        let counts = self
            .classifier
            .classify(self.level, start, &mut classes)
            .map_err(|e| WriteError::selector_failed(format!("dump level {}", self.level), e))?;
        for (i, c) in classes.iter().enumerate() {
            if c.is_none() {
                keep[i / 64] |= 1 << (i % 64);
            }
        }
        // Asked again (a window not remembered between the writer's
        // passes): the first answer was counted already.
        let _ = slot.set(counts);
        Ok(())
    }
}
