//! How far a write has come, told to a callback of the caller's
//! ([`WriteOptions::progress`]): the first pass sizes the output window by
//! window (the selector classifies), the second writes the kept pages, and
//! the count of pages written moves as each one is stored, so a bar over
//! [`Progress::written`] of [`Progress::total`] is full only when the last
//! page is in the output.
//!
//! [`WriteOptions::progress`]: super::WriteOptions::progress

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One report of a write's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Windows the first pass has sized (asked the selector for).
    pub windows_sized: u64,
    /// Windows of the dump.
    pub windows: u64,
    /// Kept pages the second pass has written so far (stored, pointed at
    /// the shared zero page, left out as zero, or found unreadable): 0
    /// until the first pass is done.
    pub written: u64,
    /// Pages the selector keeps, over the windows sized so far: final once
    /// `windows_sized == windows`.
    pub total: u64,
}

impl Progress {
    /// Whether the first pass is over (`total` is final).
    pub fn sized(&self) -> bool {
        self.windows_sized == self.windows
    }

    /// Whether every kept page is written.
    pub fn done(&self) -> bool {
        self.sized() && self.written == self.total
    }
}

/// Pages written between two reports of the second pass.
const REPORT_EVERY: u64 = 256;

/// A callback told of a write's [`Progress`]: after each window of the
/// first pass, every few hundred pages of the second and after its last
/// page. Called on the writing thread; keep it cheap. Compared by identity.
///
/// ```
/// use dumptool::write::{Progress, ProgressFn, WriteOptions};
/// let opts = WriteOptions {
///     progress: Some(ProgressFn::new(|p: Progress| {
///         if p.sized() {
///             eprint!("\r{}/{} pages written", p.written, p.total);
///         }
///     })),
///     ..WriteOptions::default()
/// };
/// assert!(opts.progress.is_some());
/// ```
#[derive(Clone)]
pub struct ProgressFn {
    f: Arc<dyn Fn(Progress) + Send + Sync>,
    state: Arc<State>,
}

/// The counts of one write.
#[derive(Default)]
struct State {
    windows: AtomicU64,
    sized: AtomicU64,
    total: AtomicU64,
    written: AtomicU64,
}

impl ProgressFn {
    /// A progress callback.
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> ProgressFn {
        ProgressFn {
            f: Arc::new(f),
            state: Arc::default(),
        }
    }

    /// The same callback with counts of its own (one write's).
    pub(crate) fn fresh(&self) -> ProgressFn {
        ProgressFn {
            f: Arc::clone(&self.f),
            state: Arc::default(),
        }
    }

    fn now(&self) -> Progress {
        let s = &self.state;
        Progress {
            windows_sized: s.sized.load(Ordering::Relaxed),
            windows: s.windows.load(Ordering::Relaxed),
            written: s.written.load(Ordering::Relaxed),
            total: s.total.load(Ordering::Relaxed),
        }
    }

    /// The write has `windows` windows.
    pub(crate) fn start(&self, windows: u64) {
        self.state.windows.store(windows, Ordering::Relaxed);
    }

    /// The first pass sized one more window, which keeps `kept` pages.
    pub(crate) fn sized(&self, kept: u64) {
        self.state.sized.fetch_add(1, Ordering::Relaxed);
        self.state.total.fetch_add(kept, Ordering::Relaxed);
        (self.f)(self.now());
    }

    /// The second pass wrote one more page.
    pub(crate) fn written(&self) {
        let n = self.state.written.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(REPORT_EVERY) || n == self.state.total.load(Ordering::Relaxed) {
            (self.f)(self.now());
        }
    }

    /// The second pass finished a run of pages: report where it is.
    pub(crate) fn flush(&self) {
        (self.f)(self.now());
    }
}

impl std::fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressFn")
            .field("now", &self.now())
            .finish()
    }
}

impl PartialEq for ProgressFn {
    fn eq(&self, other: &ProgressFn) -> bool {
        Arc::ptr_eq(&self.f, &other.f)
    }
}

impl Eq for ProgressFn {}
