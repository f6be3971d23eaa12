//! `dumptool filter`: makedumpfile's main job. Classify every page of a dump
//! through BTF bindings, drop the classes the dump level names, write ELF or
//! kdump-compressed (optionally flattened to stdout).

use super::ErrorReport;
use crate::dump::{Dump, DumpError};
use crate::filter::erase::{Erasure, Erasures};
use crate::filter::rules::Degraded;
use crate::filter::{ClassCounts, Classifier, DumpLevelSelector, FilterError, PageClass};
use crate::kernel::{CrashedKernel, KernelError};
use crate::write::{
    write_dump, Compression, Output, OutputFormat, PageSelector, Progress, ProgressFn, WriteError,
    WriteOptions, WriteStats,
};
use clap::{ArgGroup, Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `dumptool filter`, with makedumpfile's meaning.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("format").args(["elf", "zlib", "lzo", "snappy", "zstd"])))]
pub struct FilterArgs {
    /// Dump level 0-31: 1 zero pages, 2 cache without private, 4 cache with
    /// private, 8 user data, 16 free pages (sum the ones to exclude).
    #[arg(short = 'd', long = "dump-level", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=31))]
    pub level: u32,
    /// Write an ELF core instead of kdump-compressed.
    #[arg(short = 'E')]
    pub elf: bool,
    /// kdump-compressed, zlib.
    #[arg(short = 'c')]
    pub zlib: bool,
    /// kdump-compressed, LZO.
    #[arg(short = 'l')]
    pub lzo: bool,
    /// kdump-compressed, snappy.
    #[arg(short = 'p')]
    pub snappy: bool,
    /// kdump-compressed, zstd.
    #[arg(short = 'z')]
    pub zstd: bool,
    /// Write makedumpfile's flattened format to standard output (OUT omitted).
    #[arg(short = 'F')]
    pub flattened: bool,
    /// Threads for reading and compressing pages (also those that decompress
    /// a kdump-compressed input's BTF and kallsyms at start-up).
    #[arg(long, alias = "num-threads", default_value_t = 1)]
    pub threads: usize,
    /// Print a report of per-class page counts, rule sources and timings.
    #[arg(long, value_enum)]
    pub report: Option<ReportFormat>,
    /// Overwrite a kernel variable with 'X' in the output: SYMBOL:SIZE,
    /// SYMBOL:TYPE or SYMBOL:TYPE.member.path (e.g.
    /// `init_task:task_struct.comm`); may be repeated.
    #[arg(long = "erase", value_name = "SPEC")]
    pub erase: Vec<String>,
    /// Overwrite an existing output file (or the file a symlink output
    /// points to; a block device output needs it too), like makedumpfile -f.
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// The dump to filter (ELF, kdump-compressed, flattened).
    pub input: PathBuf,
    /// Where to write (a temporary file linked into place on success; a
    /// device or FIFO is written in place; never the input).
    pub output: Option<PathBuf>,
}

impl FilterArgs {
    /// Parses the words after `dumptool filter`, as the command line would:
    /// the way for a program (or a test) to run the filter with the very
    /// options a user types.
    ///
    /// ```
    /// use dumptool::commands::filter::FilterArgs;
    /// let args = FilterArgs::from_words(["-d", "31", "-c", "--erase", "jiffies_64:8", "vmcore", "out"])?;
    /// assert_eq!((args.level, args.zlib, args.erase.len()), (31, true, 1));
    /// assert!(FilterArgs::from_words(["-d", "32", "vmcore", "out"]).is_err());
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn from_words<I, S>(words: I) -> Result<FilterArgs, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        use clap::FromArgMatches;
        let cmd = FilterArgs::augment_args(clap::Command::new("dumptool filter"));
        let argv = std::iter::once(std::ffi::OsString::from("filter"))
            .chain(words.into_iter().map(Into::into));
        let matches = cmd.try_get_matches_from(argv)?;
        FilterArgs::from_arg_matches(&matches)
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// makedumpfile-style text.
    Text,
    /// JSON.
    Json,
}

/// What `dumptool filter` did.
#[derive(Debug, Clone)]
pub struct FilterSummary {
    /// The dump level.
    pub level: u32,
    /// Pages of the dump (below the end of the nodes' memory sections).
    pub total_pages: u64,
    /// One past the last pfn considered (memory above, e.g. firmware, is left out).
    pub end_pfn: u64,
    /// Excluded pages per class (zero pages included).
    pub counts: ClassCounts,
    /// What the writer did.
    pub stats: WriteStats,
    /// `(rule, source)` of every classification rule.
    pub sources: Vec<(String, String)>,
    /// BTF/VMCOREINFO disagreements, rules that work with less.
    pub warnings: Vec<String>,
    /// Rules switched off on this kernel (their pages were kept).
    pub degraded: Vec<Degraded>,
    /// What the kernel's BTF lacks of dumptool's bindings (every problem the
    /// resolver found), or why the kernel could not be read at all.
    pub binding_problems: Vec<String>,
    /// Why the kernel could not be read from the dump (every page was then
    /// kept but zero pages), with the error's kind and source chain.
    pub kernel_error: Option<ErrorReport>,
    /// What `--erase` overwrote.
    pub erased: Vec<Erasure>,
    /// Kernel bootstrap (kallsyms, BTF, bindings).
    pub bootstrap: Duration,
    /// Classification and writing.
    pub filter: Duration,
}

impl FilterSummary {
    /// Pages the output holds: every page not excluded, less those the
    /// source could not deliver (what is really written, not what was
    /// meant to be).
    pub fn remaining(&self) -> u64 {
        self.total_pages
            .saturating_sub(self.counts.total())
            .saturating_sub(self.stats.unreadable)
    }
}

/// Why `dumptool filter` wrote nothing. Each variant keeps the error it
/// comes from as its [`std::error::Error::source`]; [`RunError::kind`]
/// names the variant for reports, [`ErrorReport`] carries the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Neither an output file nor `-F`.
    #[error("an output file is needed (or -F to write the flattened format to standard output)")]
    NoOutput,
    /// The input dump could not be opened or read.
    #[error(transparent)]
    Dump(#[from] DumpError),
    /// `--erase` was asked for but the dump's kernel could not be read, so
    /// nothing can be erased: no output is written without it.
    #[error(
        "{}: --erase cannot be done, so no output was written: the kernel could not be read \
         from the dump",
        path.display()
    )]
    EraseWithoutKernel {
        /// The input dump.
        path: PathBuf,
        /// Why the kernel could not be read.
        #[source]
        source: Box<KernelError>,
    },
    /// An `--erase` spec names nothing erasable on this kernel.
    #[error(transparent)]
    Erase(#[from] FilterError),
    /// The output could not be written (or may not be).
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl RunError {
    /// A short name of the variant (`no_output`, `dump`,
    /// `erase_without_kernel`, `erase`, `write`), as `--report json` gives it.
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::NoOutput => "no_output",
            RunError::Dump(_) => "dump",
            RunError::EraseWithoutKernel { .. } => "erase_without_kernel",
            RunError::Erase(_) => "erase",
            RunError::Write(_) => "write",
        }
    }

    /// [`RunError::kind`], then the kind of the error it wraps, if any
    /// (`dump.unknown_format`, `write.same_file`, `erase.bad_erase`, ...):
    /// the `kind` of `--report json`'s error.
    pub fn full_kind(&self) -> String {
        let inner = match self {
            RunError::NoOutput => None,
            RunError::Dump(e) => Some(e.kind()),
            RunError::EraseWithoutKernel { source, .. } => Some(source.kind()),
            RunError::Erase(e) => Some(e.kind()),
            RunError::Write(e) => Some(e.kind()),
        };
        match inner {
            Some(i) => format!("{}.{i}", self.kind()),
            None => self.kind().to_string(),
        }
    }
}

/// Runs `dumptool filter`; returns the summary and the report text.
pub fn run(args: &FilterArgs) -> Result<(FilterSummary, String), RunError> {
    let format = if args.elf {
        OutputFormat::Elf
    } else if args.zlib {
        OutputFormat::Kdump(Compression::Zlib)
    } else if args.lzo {
        OutputFormat::Kdump(Compression::Lzo)
    } else if args.snappy {
        OutputFormat::Kdump(Compression::Snappy)
    } else if args.zstd {
        OutputFormat::Kdump(Compression::Zstd)
    } else {
        OutputFormat::Kdump(Compression::None)
    };
    let output = match (&args.output, args.flattened) {
        (Some(p), _) => Output::Path(p.clone()),
        (None, true) => Output::Stdout,
        (None, false) => return Err(RunError::NoOutput),
    };
    if let Output::Path(p) = &output {
        crate::write::check_output(&args.input, p, args.force)?;
    }
    let t0 = Instant::now();
    // Only an unreadable dump is an error: whatever the kernel's BTF,
    // kallsyms or VMCOREINFO lack switches rules off and keeps their pages.
    let dump = Dump::open(&args.input)?;
    let mut binding_problems = Vec::new();
    let mut kernel_error = None;
    let kernel = CrashedKernel::open(&dump);
    match &kernel {
        Ok(k) => {
            if let Err(e) = k.resolve_all() {
                binding_problems = e.problems.iter().map(|p| p.to_string()).collect();
            }
        }
        Err(e) => {
            let report = ErrorReport::new(e.kind(), e);
            binding_problems.push(format!(
                "the kernel could not be read from the dump: {}",
                report.text()
            ));
            kernel_error = Some(report);
        }
    }
    let (classifier, erasures) = match &kernel {
        Ok(k) => (Classifier::new(k), Erasures::resolve(k, &args.erase)?),
        // Erasing is a request to keep secrets out of the output: never written without it.
        Err(_) if !args.erase.is_empty() => {
            let Err(source) = kernel else { unreachable!() };
            return Err(RunError::EraseWithoutKernel {
                path: args.input.clone(),
                source: Box::new(source),
            });
        }
        Err(_) => (
            Classifier::without_kernel(&dump, &binding_problems[0]),
            Erasures::default(),
        ),
    };
    let end_pfn = kernel
        .as_ref()
        .ok()
        .and_then(|k| k.spanned_end_pfn())
        .unwrap_or(dump.max_pfn())
        .min(dump.max_pfn());
    let bootstrap = t0.elapsed();
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| progress_bar(args.level));
    let opts = WriteOptions {
        format,
        flattened: args.flattened,
        exclude_zero: args.level & 1 != 0,
        dump_level: args.level,
        threads: args.threads.max(1),
        eraseinfo: erasures.eraseinfo().into_bytes(),
        overwrite: args.force,
        // Like makedumpfile: the output ends where the nodes' struct pages end.
        end_pfn: Some(end_pfn),
        progress: bar.as_ref().map(|bar| progress_to(bar.clone(), args.level)),
        ..WriteOptions::default()
    };
    // The dump level's selection, then the erasers over the kept pages.
    let selector = DumpLevelSelector::new(&classifier, &opts).and(erasures);
    let t1 = Instant::now();
    let stats = write_dump(&dump, &selector, &opts, output)?;
    if let Some(p) = &bar {
        p.finish_and_clear();
    }
    let mut counts = selector.first.counts();
    counts.add(PageClass::Zero, stats.zero_pages_excluded);
    let total_pages = (0..end_pfn)
        .filter(|&p| dump.phys().page_state(p).is_readable())
        .count() as u64;
    let summary = FilterSummary {
        level: args.level,
        total_pages,
        end_pfn,
        counts,
        stats,
        sources: classifier.rules().sources.clone(),
        warnings: classifier.rules().warnings.clone(),
        degraded: classifier.rules().degraded.clone(),
        binding_problems,
        kernel_error,
        erased: selector.second.list().to_vec(),
        bootstrap,
        filter: t1.elapsed(),
    };
    let text = match args.report {
        Some(ReportFormat::Json) => report_json(&summary, args),
        Some(ReportFormat::Text) => report_text(&summary),
        None => String::new(),
    };
    Ok((summary, text))
}

/// A bar of pages written; it says `classifying` until the first pass
/// knows how many pages are kept (its length).
fn progress_bar(level: u32) -> indicatif::ProgressBar {
    // Length 1 until the pages kept are known: an empty bar, not a full 0 of 0.
    let p = indicatif::ProgressBar::new(1);
    p.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} pages")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    p.set_message(format!("classifying -d {level}"));
    p
}

/// The writer's progress shown on `bar`: which window is classified (in
/// its message, the bar empty), then pages written of those kept.
fn progress_to(bar: indicatif::ProgressBar, level: u32) -> ProgressFn {
    ProgressFn::new(move |p: Progress| {
        if !p.sized() {
            // The bar is of pages written: empty while windows are classified.
            bar.set_message(format!(
                "classifying -d {level}, window {} of {}",
                p.windows_sized + 1,
                p.windows
            ));
            return;
        }
        if bar.length() != Some(p.total) {
            bar.set_length(p.total);
            bar.set_message(format!("writing -d {level}"));
        }
        bar.set_position(p.written);
    })
}

/// What `--report json` prints when the filter failed: the input, output
/// and level, and `"error": {kind, message, sources}` (an
/// [`ErrorReport`]). `None` without `--report json`.
pub fn failure_report(args: &FilterArgs, e: &RunError) -> Option<String> {
    (args.report == Some(ReportFormat::Json)).then(|| {
        let v = serde_json::json!({
            "input": args.input.display().to_string(),
            "output": args.output.as_ref().map(|p| p.display().to_string()),
            "dump_level": args.level,
            "error": ErrorReport::new(&e.full_kind(), e).json(),
        });
        format!("{v:#}\n")
    })
}

/// makedumpfile's summary table, plus where each rule came from.
pub fn report_text(s: &FilterSummary) -> String {
    let mut out = format!(
        "Original pages  : {:#018x}\n  Excluded pages   : {:#018x}\n",
        s.total_pages,
        s.counts.total()
    );
    for c in PageClass::ALL {
        out.push_str(&format!(
            "    {:<24}: {:#018x}\n",
            c.label(),
            s.counts.get(c)
        ));
    }
    if s.stats.unreadable > 0 {
        out.push_str(&format!(
            "  Unreadable pages : {:#018x}\n",
            s.stats.unreadable
        ));
    }
    out.push_str(&format!("  Remaining pages  : {:#018x}\n", s.remaining()));
    out.push_str("Classification rules:\n");
    for (rule, source) in &s.sources {
        out.push_str(&format!("  {rule:<26} {source}\n"));
    }
    for e in &s.erased {
        out.push_str(&format!(
            "Erased: {} ({} bytes at {:#x})\n",
            e.spec, e.len, e.vaddr
        ));
    }
    for w in &s.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    if !s.degraded.is_empty() {
        out.push_str(
            "Switched off (their pages were kept: the output is larger than the level asks):\n",
        );
        for d in &s.degraded {
            out.push_str(&format!("  {}: {}\n", d.rule, d.missing));
        }
    }
    out.push_str(&format!(
        "Time: bootstrap {:.1} ms, filter {:.1} ms\n",
        s.bootstrap.as_secs_f64() * 1e3,
        s.filter.as_secs_f64() * 1e3
    ));
    out
}

/// The summary as JSON.
pub fn report_json(s: &FilterSummary, args: &FilterArgs) -> String {
    let mut classes = serde_json::Map::new();
    for c in PageClass::ALL {
        classes.insert(c.key().into(), s.counts.get(c).into());
    }
    let sources: serde_json::Map<String, serde_json::Value> = s
        .sources
        .iter()
        .map(|(r, src)| (r.clone(), src.clone().into()))
        .collect();
    let v = serde_json::json!({
        "input": args.input.display().to_string(),
        "output": args.output.as_ref().map(|p| p.display().to_string()),
        "dump_level": s.level,
        "pages": { "total": s.total_pages, "excluded": s.counts.total(), "remaining": s.remaining(), "written": s.stats.pages_written, "unreadable": s.stats.unreadable },
        "excluded": classes,
        "bytes_written": s.stats.bytes_written,
        "rules": sources,
        "warnings": s.warnings,
        "degraded": s.degraded.iter().map(|d| serde_json::json!({ "rule": d.rule, "level_bit": d.level_bit, "missing": d.missing })).collect::<Vec<_>>(),
        "binding_problems": s.binding_problems,
        "kernel_error": s.kernel_error.as_ref().map(ErrorReport::json),
        "erased": s.erased.iter().map(|e| serde_json::json!({ "spec": e.spec, "vaddr": e.vaddr, "bytes": e.len })).collect::<Vec<_>>(),
        "timings_ms": { "bootstrap": s.bootstrap.as_secs_f64() * 1e3, "filter": s.filter.as_secs_f64() * 1e3 },
    });
    format!("{v:#}\n")
}

/// Caps `--threads` at the CPUs this process may use (the note for stderr
/// is returned) and starts rayon's global pool with that many threads; a
/// thread that cannot start is an error. Call once, before [`run`].
pub fn start_threads(args: &mut FilterArgs) -> Result<Option<String>, String> {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut note = None;
    if args.threads > available {
        note = Some(format!(
            "note: --threads {} capped at {available}, the CPUs available",
            args.threads
        ));
        args.threads = available;
    }
    // Large reads of a kdump-compressed input decompress on rayon's global
    // pool: as many threads as the filter may use.
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.max(1))
        .build_global()
        .map_err(|e| format!("cannot start {} threads: {e}", args.threads.max(1)))?;
    Ok(note)
}

/// What `dumptool filter` must say on stderr besides its report (one line
/// each, `warning: ...`): rules of the asked level switched off on this
/// kernel, and pages of the input that could not be read (makedumpfile
/// announces them too).
pub fn warnings(args: &FilterArgs, summary: &FilterSummary) -> Vec<String> {
    let mut out = Vec::new();
    // Rules of the asked dump level that this kernel cannot honour: their
    // pages were kept, and the user must know why the dump is larger.
    let relevant: Vec<_> = summary
        .degraded
        .iter()
        .filter(|d| args.level & d.level_bit != 0)
        .collect();
    for d in &relevant {
        out.push(format!(
            "warning: {} switched off, its pages are kept: {}",
            d.rule, d.missing
        ));
    }
    if !relevant.is_empty() {
        for p in &summary.binding_problems {
            out.push(format!("warning: {p}"));
        }
    }
    let n = summary.stats.unreadable;
    if n > 0 {
        let what = if args.elf {
            "the ELF output lacks them"
        } else {
            "the output marks them incomplete"
        };
        out.push(format!(
            "warning: {n} page{} of {} could not be read (the dump is cut short or \
             damaged there); {what}",
            if n == 1 { "" } else { "s" },
            args.input.display()
        ));
    }
    out
}
