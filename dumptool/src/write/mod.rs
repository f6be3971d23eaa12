//! Dump writers: write the pages of a [`Dump`] that a [`PageSelector`]
//! keeps as a new dump, in the formats makedumpfile writes and crash,
//! drgn, makedumpfile and [`Dump::open`] read:
//!
//! - kdump-compressed (`kdump.rs`, header version 6), each page
//!   uncompressed or compressed with zlib, LZO, snappy or zstd;
//! - ELF64 (`elf.rs`) like `makedumpfile -E`;
//! - either in makedumpfile's flattened format (`flat.rs`,
//!   `makedumpfile -F`), e.g. to standard output.
//!
//! Memory stays bounded whatever the dump's size: pfns are processed in
//! cyclic windows of [`WriteOptions::window_pfns`] (`window.rs`), in two
//! passes (the first sizes the output from per-window counts, the second
//! writes it), pages are read one batch at a time and output goes out
//! through small buffers. A file output is built as an unnamed temporary
//! file beside it and linked into place only when complete (`output.rs`);
//! what an output path may name, and what is refused, is `dest.rs`.
//!
//! ```no_run
//! use dumptool::dump::Dump;
//! use dumptool::write::{write_dump, Compression, KeepAll, Output, OutputFormat, WriteOptions};
//! let src = Dump::open("vmcore")?;
//! let opts = WriteOptions {
//!     format: OutputFormat::Kdump(Compression::Zlib),
//!     exclude_zero: true,
//!     dump_level: 1,
//!     ..WriteOptions::default()
//! };
//! let stats = write_dump(&src, &KeepAll, &opts, Output::Path("dumpfile".into()))?;
//! println!("{} pages written", stats.pages_written);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cleanup;
mod compress;
mod dest;
mod elf;
mod error;
mod flat;
mod kdump;
#[cfg_attr(not(feature = "lzo"), allow(dead_code))]
mod lzo;
mod meta;
mod output;
mod pages;
mod progress;
mod rearrange;
mod window;

pub use error::WriteError;
pub use progress::{Progress, ProgressFn};
pub use rearrange::{rearrange, write_file, Rearranged};

use crate::dump::Dump;
use output::{Sink, Target};
use std::path::PathBuf;

/// How kdump-compressed pages are compressed: the one codec type of the
/// format layer, shared with the reader.
pub use crate::format::Compression;

/// Output format: ELF or kdump-compressed with a codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// ELF64 core, like `makedumpfile -E`.
    Elf,
    /// kdump-compressed with this page compression.
    Kdump(Compression),
}

/// How to write a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// The format.
    pub format: OutputFormat,
    /// makedumpfile `-F`: write the flattened format (the only way to
    /// [`Output::Stdout`]).
    pub flattened: bool,
    /// Dump level bit 1: pages whose content is all zero are excluded
    /// (decided while writing). An ELF output stores no data for them (a
    /// segment's `p_memsz` covers them: they read as zeros); a kdump
    /// output, as makedumpfile does, points their descriptors at its one
    /// shared zero page (they read as zeros) and counts them excluded.
    /// Without it a kdump output points zero pages at the shared zero page
    /// too, counted as written.
    pub exclude_zero: bool,
    /// The dump level recorded in the kdump sub header (makedumpfile's
    /// `-d`; the writer itself only looks at `exclude_zero`).
    pub dump_level: u32,
    /// One past the last pfn of the output (`None`: the source's
    /// [`Dump::max_pfn`]). The filter passes the end of the last memory
    /// section with `struct page`s, as makedumpfile ends its dumps: memory
    /// above it (qemu's firmware ranges, the BIOS ROM) is in no output. A
    /// kdump output's `max_mapnr` and 1st bitmap stop there; an ELF output's
    /// `p_memsz` covers no excluded memory past it.
    pub end_pfn: Option<u64>,
    /// Threads compressing pages (in parallel with rayon when > 1; 0 counts
    /// as 1).
    pub threads: usize,
    /// Pfns per cyclic window (rounded up to a multiple of 64): the unit in
    /// which the selector is asked and bitmaps are built.
    pub window_pfns: u64,
    /// Words of the selector's kept-pfn bitmaps kept from the first pass
    /// for the second; windows past it are asked for twice. 0 always asks
    /// twice.
    pub remember_words: usize,
    /// Erase information to record, in makedumpfile's text form (one
    /// `erase SYMBOL[.member] size N` line per erasure, see
    /// [`crate::filter::erase::Erasures::eraseinfo`]), after whatever the
    /// source already carries: a kdump output keeps it in the sub header
    /// (`offset_eraseinfo`), an ELF output in an `ERASEINFO` note, as
    /// makedumpfile does. Empty by default.
    pub eraseinfo: Vec<u8>,
    /// Whether an existing regular file at an [`Output::Path`] (or at the
    /// target of a symlink there) may be replaced, and a block device
    /// written; `dumptool filter -f`. True by default for library callers;
    /// the command line sets it from `-f`. The source dump itself is never
    /// written, whatever this says.
    pub overwrite: bool,
    /// Told how far the write has come ([`Progress`]: windows sized, then
    /// kept pages written); `None` by default.
    pub progress: Option<ProgressFn>,
}

/// The default window: 1 Mi pfns (4 GiB of 4 KiB pages; 128 KiB per
/// bitmap).
pub const DEFAULT_WINDOW_PFNS: u64 = 1 << 20;

/// The default [`WriteOptions::remember_words`]: 2 MiB of bitmaps, every
/// window of a dump of up to 64 GiB of 4 KiB pages.
pub const DEFAULT_REMEMBER_WORDS: usize = 1 << 18;

impl Default for WriteOptions {
    /// kdump-compressed with zlib, plain file, nothing excluded, dump level
    /// 0, one thread, the default window and memory for the selector's
    /// answers.
    fn default() -> WriteOptions {
        WriteOptions {
            format: OutputFormat::Kdump(Compression::Zlib),
            flattened: false,
            exclude_zero: false,
            dump_level: 0,
            end_pfn: None,
            threads: 1,
            window_pfns: DEFAULT_WINDOW_PFNS,
            remember_words: DEFAULT_REMEMBER_WORDS,
            eraseinfo: Vec::new(),
            overwrite: true,
            progress: None,
        }
    }
}

impl WriteOptions {
    /// Pfns per cyclic window as the writers cut them: [`WriteOptions::window_pfns`]
    /// rounded up to a multiple of 64 (at least 64). Window `i` starts at pfn
    /// `i * window_len()`.
    ///
    /// ```
    /// use dumptool::write::WriteOptions;
    /// let opts = WriteOptions { window_pfns: 100, ..WriteOptions::default() };
    /// assert_eq!(opts.window_len(), 128);
    /// ```
    pub fn window_len(&self) -> u64 {
        self.window_pfns.max(1).div_ceil(64).saturating_mul(64)
    }
}

/// Decides, one cyclic window at a time, which pfns to keep (before the
/// zero-page check). The writers ask once for every window to size the
/// output; for dumps too large to remember every window's answer they ask
/// again while writing, and expect the same answer.
pub trait PageSelector: Sync {
    /// Sets bit `i` of word `i / 64` of `keep` to keep pfn `start_pfn + i`.
    /// `keep` is cleared on entry and covers the window (its last word may
    /// reach past the window's end; such bits are ignored, as are bits of
    /// pfns the source does not hold).
    fn select(&self, start_pfn: u64, keep: &mut [u64]) -> Result<(), WriteError>;

    /// May rewrite the bytes of kept page `pfn` before they are stored: an
    /// eraser (see [`crate::filter::erase`]). Called for every kept page the
    /// source delivers, before the zero-page check, in both passes of a
    /// writer, so it must give the same bytes each time. Does nothing by
    /// default.
    fn rewrite(&self, _pfn: u64, _page: &mut [u8]) {}

    /// This selector and `other`: a pfn is kept only where both keep it
    /// (e.g. a dump level plus a rule of your own that drops more, see
    /// [`crate::filter::selector`]); kept pages are rewritten by this one,
    /// then by `other`.
    ///
    /// ```
    /// use dumptool::write::{KeepAll, PageSelector, WriteError};
    /// let even = |_: u64, keep: &mut [u64]| -> Result<(), WriteError> {
    ///     keep.fill(0x5555_5555_5555_5555);
    ///     Ok(())
    /// };
    /// let low = |_: u64, keep: &mut [u64]| -> Result<(), WriteError> {
    ///     keep.fill(0xffff_ffff);
    ///     Ok(())
    /// };
    /// let mut keep = [0u64; 1];
    /// even.and(low).select(0, &mut keep)?;
    /// assert_eq!(keep[0], 0x5555_5555);
    /// let mut keep = [0u64; 1];
    /// even.or(KeepAll).select(0, &mut keep)?;
    /// assert_eq!(keep[0], u64::MAX);
    /// # Ok::<(), WriteError>(())
    /// ```
    fn and<S: PageSelector>(self, other: S) -> And<Self, S>
    where
        Self: Sized,
    {
        And {
            first: self,
            second: other,
        }
    }

    /// This selector or `other`: a pfn is kept where either keeps it (e.g.
    /// a dump level, with pages of your own kept whatever the level says);
    /// kept pages are rewritten by this one, then by `other`.
    fn or<S: PageSelector>(self, other: S) -> Or<Self, S>
    where
        Self: Sized,
    {
        Or {
            first: self,
            second: other,
        }
    }
}

/// Two selectors, a pfn kept only where both keep it
/// ([`PageSelector::and`]).
#[derive(Debug, Clone)]
pub struct And<A, B> {
    /// Asked first; rewrites first.
    pub first: A,
    /// Asked second; rewrites second.
    pub second: B,
}

/// Two selectors, a pfn kept where either keeps it ([`PageSelector::or`]).
#[derive(Debug, Clone)]
pub struct Or<A, B> {
    /// Asked first; rewrites first.
    pub first: A,
    /// Asked second; rewrites second.
    pub second: B,
}

/// Asks `first`, then `second` into a scratch bitmap, and folds the second
/// answer into the first word by word with `fold` (the body of [`And`] and [`Or`]).
fn select_both(
    first: &impl PageSelector,
    second: &impl PageSelector,
    start_pfn: u64,
    keep: &mut [u64],
    fold: fn(&mut u64, u64),
) -> Result<(), WriteError> {
    first.select(start_pfn, keep)?;
    let mut other = vec![0u64; keep.len()];
    second.select(start_pfn, &mut other)?;
    for (k, o) in keep.iter_mut().zip(other) {
        fold(k, o);
    }
    Ok(())
}

impl<A: PageSelector, B: PageSelector> PageSelector for And<A, B> {
    fn select(&self, start_pfn: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        select_both(&self.first, &self.second, start_pfn, keep, |k, o| *k &= o)
    }

    fn rewrite(&self, pfn: u64, page: &mut [u8]) {
        self.first.rewrite(pfn, page);
        self.second.rewrite(pfn, page);
    }
}

impl<A: PageSelector, B: PageSelector> PageSelector for Or<A, B> {
    fn select(&self, start_pfn: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        select_both(&self.first, &self.second, start_pfn, keep, |k, o| *k |= o)
    }

    fn rewrite(&self, pfn: u64, page: &mut [u8]) {
        self.first.rewrite(pfn, page);
        self.second.rewrite(pfn, page);
    }
}

/// Keeps every page the source holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepAll;

impl PageSelector for KeepAll {
    fn select(&self, _start_pfn: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        keep.fill(u64::MAX);
        Ok(())
    }
}

impl<F> PageSelector for F
where
    F: Fn(u64, &mut [u64]) -> Result<(), WriteError> + Sync,
{
    fn select(&self, start_pfn: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        self(start_pfn, keep)
    }
}

/// What [`write_dump`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Pages the output holds (readable from it), shared zero pages
    /// included.
    pub pages_written: u64,
    /// Kept pages found all zero with `exclude_zero`: no data in an ELF
    /// output (`p_memsz` covers them); in a kdump output they point at the shared zero page and are
    /// not counted in `pages_written`.
    pub zero_pages_excluded: u64,
    /// kdump: zero pages written as the one shared zero page (without
    /// `exclude_zero`); included in `pages_written`.
    pub zero_pages_shared: u64,
    /// Pages selected but not readable from the source. A kdump output is
    /// then marked incomplete (`DUMP_DH_COMPRESSED_INCOMPLETE`, descriptors
    /// with offset 0); an ELF output just lacks them (in no segment's memory:
    /// they do not read as zeros).
    pub unreadable: u64,
    /// Size of the output in bytes (of the flattened stream when
    /// flattened).
    pub bytes_written: u64,
    /// ELF: `PT_LOAD` segments written.
    pub elf_segments: usize,
}

/// Where the dump goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A file, written as a temporary file in its directory and linked
    /// into place on success (an existing file is replaced only with
    /// [`WriteOptions::overwrite`]; a symlink's target file is written, never
    /// the link; a device or FIFO is written in place; the source dump is
    /// refused).
    Path(PathBuf),
    /// Standard output; only with [`WriteOptions::flattened`].
    Stdout,
}

/// Checks, before any work, that `output` may be written with `input` as
/// the source dump: not the input itself (by device and inode, through any
/// path), not an existing file unless `overwrite`, nothing a dump must not
/// replace (see [`Output::Path`]). [`write_dump`] checks again when it
/// opens the output.
pub fn check_output(
    input: &std::path::Path,
    output: &std::path::Path,
    overwrite: bool,
) -> Result<(), WriteError> {
    dest::resolve(Some(input), output, overwrite).map(|_| ())
}

/// Writes the pages of `src` that `selector` keeps to `out` as `opts`
/// say. On error nothing is left behind (no output file, no temporary
/// file).
pub fn write_dump(
    src: &Dump,
    selector: &dyn PageSelector,
    opts: &WriteOptions,
    out: Output,
) -> Result<WriteStats, WriteError> {
    if opts.window_pfns == 0 {
        return Err(WriteError::Options("window_pfns must not be 0".into()));
    }
    if let OutputFormat::Kdump(c) = opts.format {
        if !c.available() {
            return Err(WriteError::Options(format!(
                "{} compression needs the `lzo` cargo feature, which this build lacks",
                c.name()
            )));
        }
        if u32::try_from(src.page_size()).is_err() {
            return Err(WriteError::Unsupported(format!(
                "page size {} does not fit a kdump block size",
                src.page_size()
            )));
        }
    }
    // The progress counts are this write's own.
    let fresh;
    let opts = match &opts.progress {
        Some(p) => {
            fresh = WriteOptions {
                progress: Some(p.fresh()),
                ..opts.clone()
            };
            &fresh
        }
        None => opts,
    };
    let mut target = Target::open(&out, opts.flattened, Some(src.path()), opts.overwrite)?;
    let sink: &mut dyn Sink = &mut target;
    let mut stats = match opts.format {
        OutputFormat::Kdump(c) => kdump::write(src, selector, opts, c, sink)?,
        OutputFormat::Elf => elf::write(src, selector, opts, sink)?,
    };
    stats.bytes_written = target.finish()?;
    Ok(stats)
}
