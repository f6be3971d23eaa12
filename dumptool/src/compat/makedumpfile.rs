//! makedumpfile's command line (version 1.7.8), translated into dumptool's
//! commands: `dumptool filter` for dumps, `dumptool dmesg` for
//! `--dump-dmesg`, [`crate::write::rearrange`] for `-R`. There is no second
//! filter here, only the translation.
//!
//! Options are parsed as makedumpfile's getopt_long parses them: short
//! options may be clustered (`-cd31`), a long option may be abbreviated to
//! an unambiguous prefix and take its value as `--opt=V` or `--opt V`,
//! options and operands may come in any order, `--` ends the options.
//!
//! | makedumpfile | dumptool |
//! | --- | --- |
//! | `-c` `-l` `-p` `-z` `-E` | `filter -c` / `-l` / `-p` / `-z` / `-E` (the last of them wins; none: kdump-compressed, uncompressed) |
//! | `-d N` | `filter -d N` (0-31) |
//! | `-F` | `filter -F`: flattened format to standard output, one operand |
//! | `-R DUMPFILE` | flattened stream on standard input rearranged into DUMPFILE |
//! | `-f` | `filter -f` (also for `-R` and `--dump-dmesg` outputs) |
//! | `--num-threads N` | `filter --threads N` (capped at the CPUs available) |
//! | `--dump-dmesg VMCORE LOGFILE` | `dmesg VMCORE`, written to LOGFILE |
//! | `--message-level N`, `-D`, `--show-stats` | which messages are printed (bits: 1 progress, 2 common, 4 errors, 8 debug, 16 report) |
//! | `--dry-run` | the filter runs, its output goes to `/dev/null` |
//! | `--check-params` | the command line is checked, nothing is done |
//! | `-x VMLINUX`, `-i VMCOREINFO` | accepted (the file must exist), not read: types come from the dump's BTF, VMCOREINFO from the dump |
//! | `-b N`, `--cyclic-buffer N`, `--splitblock-size N`, `--work-dir DIR`, `--non-mmap`, `-e` | accepted with a note: no meaning for dumptool |
//! | `-h`, `--help`; `-v` | usage; version (exit status 0) |
//! | `--split`, `--reassemble`, `-g`, `-L`, `--config`, `--eppic`, `--partial-dmesg`, `--mem-usage`, `--vtop`, `--diskset`, `-X`, `--xen-*` | refused (exit status 1), naming the option: dumptool does not do these |
//!
//! Exit status, as makedumpfile's: 0 on success, 1 on any failure
//! (including an unknown option or a bad operand count, which also print a
//! usage hint). Messages are dumptool's own words, sent where makedumpfile
//! sends its messages: standard output, or standard error with `-F`
//! (standard output is then the dump); notes and errors on standard error.

use crate::commands::filter::{self, FilterArgs, ReportFormat};
use crate::kernel::printk;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The makedumpfile version whose command line this module takes.
pub const MAKEDUMPFILE_VERSION: &str = "1.7.8";

/// `--message-level` bit: progress indicator.
pub const ML_PROGRESS: u32 = 1;
/// `--message-level` bit: common messages ("the dump is saved to ...").
pub const ML_COMMON: u32 = 2;
/// `--message-level` bit: error messages.
pub const ML_ERROR: u32 = 4;
/// `--message-level` bit: debug messages (`-D`): what the command line was
/// translated into.
pub const ML_DEBUG: u32 = 8;
/// `--message-level` bit: the report (`--show-stats`).
pub const ML_REPORT: u32 = 16;
/// makedumpfile's default message level.
pub const ML_DEFAULT: u32 = ML_PROGRESS | ML_COMMON | ML_ERROR;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Filter `input` into `output` (`None`: flattened to standard output).
    Filter {
        /// VMCORE.
        input: PathBuf,
        /// DUMPFILE.
        output: Option<PathBuf>,
    },
    /// `--dump-dmesg VMCORE LOGFILE`.
    Dmesg {
        /// VMCORE.
        input: PathBuf,
        /// LOGFILE.
        output: PathBuf,
    },
    /// `-R DUMPFILE`: the flattened stream on standard input, rearranged.
    Rearrange {
        /// DUMPFILE.
        output: PathBuf,
    },
    /// `-h`, `--help`.
    Help,
    /// `-v`.
    Version,
}

/// A parsed makedumpfile command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// What to do.
    pub mode: Mode,
    /// `-d`.
    pub level: u32,
    /// `-c`, `-l`, `-p`, `-z` or `-E` (the flag letter), the last given.
    pub format: Option<char>,
    /// `-F`.
    pub flattened: bool,
    /// `-f`.
    pub force: bool,
    /// `--num-threads` (0: not given).
    pub threads: usize,
    /// `--message-level` with `-D` and `--show-stats` added.
    pub message_level: u32,
    /// `--check-params`.
    pub check_params: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// Options accepted without effect, one note each.
    pub notes: Vec<String>,
}

/// A command line makedumpfile would refuse (exit status 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// Not an option of makedumpfile, or used wrongly (a missing value,
    /// a value where none is taken, wrong operands).
    #[error("{0}")]
    Invalid(String),
    /// A makedumpfile option dumptool does not implement.
    #[error("{0}")]
    Unsupported(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    BlockOrder,
    Compress(char),
    Debug,
    DumpLevel,
    ExcludeUnusedVm,
    Elf,
    Flatten,
    Force,
    GenerateVmcoreinfo,
    Help,
    ReadVmcoreinfo,
    SizeLimit,
    Rearrange,
    Version,
    ExcludeXenDom,
    Vmlinux,
    Split,
    Reassemble,
    XenSyms,
    XenVmcoreinfo,
    XenPhysStart,
    MessageLevel,
    Vtop,
    DumpDmesg,
    PartialDmesg,
    Config,
    Diskset,
    CyclicBuffer,
    Eppic,
    NonMmap,
    MemUsage,
    SplitblockSize,
    WorkDir,
    NumThreads,
    CheckParams,
    DryRun,
    ShowStats,
}

/// Short options: letter, option, takes a value.
const SHORT: &[(char, Opt, bool)] = &[
    ('b', Opt::BlockOrder, true),
    ('c', Opt::Compress('c'), false),
    ('D', Opt::Debug, false),
    ('d', Opt::DumpLevel, true),
    ('e', Opt::ExcludeUnusedVm, false),
    ('E', Opt::Elf, false),
    ('F', Opt::Flatten, false),
    ('f', Opt::Force, false),
    ('g', Opt::GenerateVmcoreinfo, true),
    ('h', Opt::Help, false),
    ('i', Opt::ReadVmcoreinfo, true),
    ('l', Opt::Compress('l'), false),
    ('L', Opt::SizeLimit, true),
    ('p', Opt::Compress('p'), false),
    ('R', Opt::Rearrange, false),
    ('v', Opt::Version, false),
    ('X', Opt::ExcludeXenDom, false),
    ('x', Opt::Vmlinux, true),
    ('z', Opt::Compress('z'), false),
];

/// Long options: name, option, takes a value.
const LONG: &[(&str, Opt, bool)] = &[
    ("split", Opt::Split, false),
    ("reassemble", Opt::Reassemble, false),
    ("xen-syms", Opt::XenSyms, true),
    ("xen-vmcoreinfo", Opt::XenVmcoreinfo, true),
    ("xen_phys_start", Opt::XenPhysStart, true),
    ("message-level", Opt::MessageLevel, true),
    ("vtop", Opt::Vtop, true),
    ("dump-dmesg", Opt::DumpDmesg, false),
    ("partial-dmesg", Opt::PartialDmesg, false),
    ("config", Opt::Config, true),
    ("help", Opt::Help, false),
    ("diskset", Opt::Diskset, true),
    ("cyclic-buffer", Opt::CyclicBuffer, true),
    ("eppic", Opt::Eppic, true),
    ("non-mmap", Opt::NonMmap, false),
    ("mem-usage", Opt::MemUsage, false),
    ("splitblock-size", Opt::SplitblockSize, true),
    ("work-dir", Opt::WorkDir, true),
    ("num-threads", Opt::NumThreads, true),
    ("check-params", Opt::CheckParams, false),
    ("dry-run", Opt::DryRun, false),
    ("show-stats", Opt::ShowStats, false),
];

fn invalid(msg: impl Into<String>) -> UsageError {
    UsageError::Invalid(msg.into())
}

/// An option given: which, as written (`-d`, `--num-threads`), its value.
type Given = (Opt, String, Option<OsString>);

/// The options and operands of `args` (without argv\[0\]), getopt_long's way.
fn tokenize(args: &[OsString]) -> Result<(Vec<Given>, Vec<OsString>), UsageError> {
    let mut opts = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(s) = arg.to_str() else {
            // Not UTF-8: not an option name, so an operand (a path).
            operands.push(arg.clone());
            continue;
        };
        if s == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = s.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(OsString::from(v))),
                None => (long, None),
            };
            let exact = LONG.iter().find(|(n, _, _)| *n == name);
            let matches: Vec<_> = LONG
                .iter()
                .filter(|(n, _, _)| n.starts_with(name))
                .collect();
            let &(full, opt, takes) = match (exact, matches.as_slice()) {
                (Some(e), _) => e,
                (None, [one]) => one,
                (None, []) => return Err(invalid(format!("unrecognized option '--{name}'"))),
                (None, _) => return Err(invalid(format!("option '--{name}' is ambiguous"))),
            };
            let value = match (takes, inline) {
                (true, Some(v)) => Some(v),
                (true, None) => {
                    let v = args.get(i).ok_or_else(|| {
                        invalid(format!("option '--{full}' requires an argument"))
                    })?;
                    i += 1;
                    Some(v.clone())
                }
                (false, Some(_)) => {
                    return Err(invalid(format!(
                        "option '--{full}' doesn't allow an argument"
                    )))
                }
                (false, None) => None,
            };
            opts.push((opt, format!("--{full}"), value));
            continue;
        }
        if s.len() > 1 && s.starts_with('-') {
            let cluster: Vec<char> = s[1..].chars().collect();
            let mut j = 0;
            while j < cluster.len() {
                let c = cluster[j];
                j += 1;
                let &(_, opt, takes) = SHORT
                    .iter()
                    .find(|(l, _, _)| *l == c)
                    .ok_or_else(|| invalid(format!("invalid option -- '{c}'")))?;
                let value = if takes {
                    if j < cluster.len() {
                        let v: String = cluster[j..].iter().collect();
                        j = cluster.len();
                        Some(OsString::from(v))
                    } else {
                        let v = args.get(i).ok_or_else(|| {
                            invalid(format!("option requires an argument -- '{c}'"))
                        })?;
                        i += 1;
                        Some(v.clone())
                    }
                } else {
                    None
                };
                opts.push((opt, format!("-{c}"), value));
            }
            continue;
        }
        operands.push(arg.clone());
    }
    Ok((opts, operands))
}

fn number(name: &str, v: &OsStr, max: u64) -> Result<u64, UsageError> {
    v.to_str()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&n| n <= max)
        .ok_or_else(|| {
            invalid(format!(
                "{name} {} is invalid: it must be a number from 0 to {max}",
                v.to_string_lossy()
            ))
        })
}

/// A file named by an option that is accepted but not read: it must at
/// least exist, as makedumpfile would open it.
fn existing(name: &str, v: &OsStr, why: &str) -> Result<String, UsageError> {
    let p = Path::new(v);
    std::fs::metadata(p).map_err(|e| invalid(format!("{name} {}: {e}", p.display())))?;
    Ok(format!("{name} {}: not read ({why})", p.display()))
}

/// Parses makedumpfile's command line (`args` without argv\[0\]).
///
/// ```
/// use dumptool::compat::makedumpfile::{parse, Mode};
/// let inv = parse(&["-F".into(), "-cd31".into(), "--num-threads=2".into(), "/proc/vmcore".into()])?;
/// assert_eq!((inv.level, inv.format, inv.flattened, inv.threads), (31, Some('c'), true, 2));
/// assert_eq!(inv.mode, Mode::Filter { input: "/proc/vmcore".into(), output: None });
/// assert!(parse(&["--bogus".into(), "a".into(), "b".into()]).is_err());
/// assert!(parse(&["-d".into(), "32".into(), "a".into(), "b".into()]).is_err());
/// # Ok::<(), dumptool::compat::makedumpfile::UsageError>(())
/// ```
pub fn parse(args: &[OsString]) -> Result<Invocation, UsageError> {
    let (opts, operands) = tokenize(args)?;
    let mut inv = Invocation {
        mode: Mode::Help,
        level: 0,
        format: None,
        flattened: false,
        force: false,
        threads: 0,
        message_level: ML_DEFAULT,
        check_params: false,
        dry_run: false,
        notes: Vec::new(),
    };
    let (mut help, mut version, mut dmesg, mut rearrange) = (false, false, false, false);
    let (mut debug, mut stats) = (false, false);
    for (opt, name, value) in opts {
        let v = value.unwrap_or_default();
        let unsupported = |what: &str| {
            Err(UsageError::Unsupported(format!(
                "{name}: {what} is not supported by dumptool"
            )))
        };
        match opt {
            Opt::Compress(c) => inv.format = Some(c),
            Opt::Elf => inv.format = Some('E'),
            Opt::DumpLevel => inv.level = number("dump level", &v, 31)? as u32,
            Opt::Flatten => inv.flattened = true,
            Opt::Force => inv.force = true,
            Opt::Rearrange => rearrange = true,
            Opt::DumpDmesg => dmesg = true,
            Opt::Help => help = true,
            Opt::Version => version = true,
            Opt::Debug => debug = true,
            Opt::ShowStats => stats = true,
            Opt::CheckParams => inv.check_params = true,
            Opt::DryRun => inv.dry_run = true,
            Opt::MessageLevel => inv.message_level = number("message level", &v, 31)? as u32,
            Opt::NumThreads => {
                inv.threads = number("thread count", &v, u32::MAX as u64)? as usize;
            }
            Opt::Vmlinux => inv.notes.push(existing(
                &name,
                &v,
                "the kernel's types come from the dump's own BTF",
            )?),
            Opt::ReadVmcoreinfo => inv.notes.push(existing(
                &name,
                &v,
                "VMCOREINFO is read from the dump itself",
            )?),
            Opt::BlockOrder | Opt::CyclicBuffer | Opt::SplitblockSize => {
                number(&name, &v, u32::MAX as u64)?;
                inv.notes.push(format!(
                    "{name} {}: ignored (dumptool sizes its own buffers and windows)",
                    v.to_string_lossy()
                ));
            }
            Opt::WorkDir => inv.notes.push(format!(
                "{name} {}: ignored (dumptool keeps its bitmaps in memory, bounded per window)",
                Path::new(&v).display()
            )),
            Opt::NonMmap => inv.notes.push(format!(
                "{name}: ignored (dumptool chooses how to read the dump)"
            )),
            Opt::ExcludeUnusedVm => inv.notes.push(format!(
                "{name}: ignored (unused vmemmap pages are kept; the output may be larger)"
            )),
            Opt::Split => return unsupported("writing split dump files"),
            Opt::Reassemble => return unsupported("reassembling split dump files"),
            Opt::GenerateVmcoreinfo => {
                return unsupported("generating VMCOREINFO from a vmlinux's debug info")
            }
            Opt::SizeLimit => return unsupported("a size limit for the output"),
            Opt::Config | Opt::Eppic => {
                return unsupported(
                    "erasing through a filter configuration (dumptool filter --erase \
                     SYMBOL:TYPE does it from BTF)",
                )
            }
            Opt::PartialDmesg => return unsupported("the log since the last clear"),
            Opt::MemUsage => return unsupported("the memory usage of the running system"),
            Opt::Vtop => return unsupported("translating an address"),
            Opt::Diskset => return unsupported("reading sadump disk sets"),
            Opt::ExcludeXenDom | Opt::XenSyms | Opt::XenVmcoreinfo | Opt::XenPhysStart => {
                return unsupported("Xen")
            }
        }
    }
    if debug {
        inv.message_level |= ML_DEBUG;
    }
    if stats {
        inv.message_level |= ML_REPORT;
    }
    if help {
        return Ok(inv);
    }
    if version {
        inv.mode = Mode::Version;
        return Ok(inv);
    }
    let path = |o: &OsString| PathBuf::from(o);
    let operands_are = |expected: &str| {
        invalid(format!(
            "{} operand{} given, expected {expected}",
            operands.len(),
            if operands.len() == 1 { "" } else { "s" }
        ))
    };
    inv.mode = if rearrange {
        match operands.as_slice() {
            [out] => Mode::Rearrange { output: path(out) },
            _ => return Err(operands_are("-R DUMPFILE")),
        }
    } else if dmesg {
        match operands.as_slice() {
            [input, out] => Mode::Dmesg {
                input: path(input),
                output: path(out),
            },
            _ => return Err(operands_are("--dump-dmesg VMCORE LOGFILE")),
        }
    } else if inv.flattened {
        match operands.as_slice() {
            [input] => Mode::Filter {
                input: path(input),
                output: None,
            },
            _ => return Err(operands_are("-F VMCORE (the dump goes to standard output)")),
        }
    } else {
        match operands.as_slice() {
            [input, out] => Mode::Filter {
                input: path(input),
                output: Some(path(out)),
            },
            _ => return Err(operands_are("VMCORE DUMPFILE")),
        }
    };
    Ok(inv)
}

impl Invocation {
    /// The `dumptool filter` command line this invocation runs (for
    /// [`Mode::Filter`]): the very words `dumptool filter` takes.
    pub fn filter_words(&self) -> Option<Vec<OsString>> {
        let Mode::Filter { input, output } = &self.mode else {
            return None;
        };
        let mut w: Vec<OsString> = vec!["-d".into(), self.level.to_string().into()];
        if let Some(f) = self.format {
            w.push(format!("-{f}").into());
        }
        if self.flattened {
            w.push("-F".into());
        }
        if self.force {
            w.push("-f".into());
        }
        if self.threads > 0 {
            w.push("--threads".into());
            w.push(self.threads.to_string().into());
        }
        if self.message_level & ML_REPORT != 0 {
            w.push("--report".into());
            w.push("text".into());
        }
        w.push("--".into());
        w.push(input.into());
        match (output, self.dry_run) {
            (_, true) => w.push("/dev/null".into()),
            (Some(o), _) => w.push(o.into()),
            (None, _) => {}
        }
        Some(w)
    }
}

/// Where messages go: standard output, or standard error when standard
/// output carries the dump.
struct Messages {
    level: u32,
    to_stderr: bool,
}

impl Messages {
    fn common(&self, text: &str) {
        if self.level & ML_COMMON != 0 {
            self.say(text);
        }
    }
    fn report(&self, text: &str) {
        if self.level & ML_REPORT != 0 {
            self.say(text);
        }
    }
    fn debug(&self, text: &str) {
        if self.level & ML_DEBUG != 0 {
            eprintln!("makedumpfile (dumptool): debug: {text}");
        }
    }
    fn error(&self, text: &str) {
        if self.level & ML_ERROR != 0 {
            eprintln!("makedumpfile (dumptool): {text}");
        }
    }
    fn note(&self, text: &str) {
        if self.level & (ML_COMMON | ML_ERROR) != 0 {
            eprintln!("makedumpfile (dumptool): note: {text}");
        }
    }
    fn say(&self, text: &str) {
        let text = ktype_runtime::text::escape_keep_lines(text);
        let _ = if self.to_stderr {
            std::io::stderr().write_all(text.as_bytes())
        } else {
            std::io::stdout().write_all(text.as_bytes())
        };
    }
}

/// What `makedumpfile -h` prints.
pub fn usage() -> String {
    format!(
        "dumptool {dt}, running as makedumpfile (command line of makedumpfile {MAKEDUMPFILE_VERSION})

  makedumpfile [-c|-l|-p|-z|-E] [-d LEVEL] [-f] [--num-threads N] VMCORE DUMPFILE
  makedumpfile -F [-c|-l|-p|-z|-E] [-d LEVEL] VMCORE > STREAM
  makedumpfile -R DUMPFILE < STREAM
  makedumpfile --dump-dmesg [-f] VMCORE LOGFILE
  makedumpfile --check-params OPTIONS... OPERANDS...
  makedumpfile -v | -h

  -c -l -p -z   kdump-compressed with zlib, LZO, snappy, zstd (default: uncompressed)
  -E            ELF output
  -d LEVEL      dump level 0-31: 1 zero pages, 2 cache, 4 private cache, 8 user data, 16 free pages
  -F            flattened format to standard output; -R rearranges it into DUMPFILE
  -f            overwrite an existing DUMPFILE or LOGFILE
  --num-threads N    threads reading and compressing pages
  --message-level N  1 progress, 2 messages, 4 errors, 8 debug (-D), 16 report (--show-stats)
  --dry-run     filter without writing a dump
  --check-params     check the command line only
  Accepted, without effect (a note says so): -x VMLINUX, -i VMCOREINFO, -b N,
  --cyclic-buffer N, --splitblock-size N, --work-dir DIR, --non-mmap, -e
  Refused: --split, --reassemble, -g, -L, --config, --eppic, --partial-dmesg,
  --mem-usage, --vtop, --diskset, -X, --xen-*

Exit status: 0 on success, 1 on failure. Page classes come from the dump's own BTF;
`dumptool --help` lists dumptool's own commands.
",
        dt = env!("CARGO_PKG_VERSION")
    )
}

/// What `makedumpfile -v` prints.
pub fn version() -> String {
    let on = |b: bool| if b { "enabled" } else { "disabled" };
    format!(
        "makedumpfile: dumptool {} (command line of makedumpfile {MAKEDUMPFILE_VERSION})\nlzo\t{}\nsnappy\t{}\nzstd\t{}\n",
        env!("CARGO_PKG_VERSION"),
        on(crate::write::Compression::Lzo.available()),
        on(crate::write::Compression::Snappy.available()),
        on(crate::write::Compression::Zstd.available()),
    )
}

/// Runs the program as makedumpfile: `args` without argv\[0\]. Returns
/// makedumpfile's exit status.
pub fn main(args: &[OsString]) -> ExitCode {
    let inv = match parse(args) {
        Ok(inv) => inv,
        Err(e) => {
            // Errors before the message level is known are always printed.
            eprintln!("makedumpfile (dumptool): {e}");
            if matches!(e, UsageError::Invalid(_)) {
                eprintln!("makedumpfile (dumptool): see `makedumpfile --help`");
            }
            return ExitCode::FAILURE;
        }
    };
    let msg = Messages {
        level: inv.message_level,
        to_stderr: inv.flattened,
    };
    match &inv.mode {
        Mode::Help => {
            let _ = std::io::stdout().write_all(usage().as_bytes());
            return ExitCode::SUCCESS;
        }
        Mode::Version => {
            let _ = std::io::stdout().write_all(version().as_bytes());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    for n in &inv.notes {
        msg.note(n);
    }
    if inv.check_params {
        msg.debug("--check-params: the command line is valid");
        return ExitCode::SUCCESS;
    }
    match run(&inv, &msg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            msg.error(&e);
            ExitCode::FAILURE
        }
    }
}

fn run(inv: &Invocation, msg: &Messages) -> Result<(), String> {
    match &inv.mode {
        Mode::Filter { .. } => {
            let words = inv.filter_words().unwrap_or_default();
            msg.debug(&format!(
                "running: dumptool filter {}",
                words
                    .iter()
                    .map(|w| w.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            let mut args = FilterArgs::from_words(&words).map_err(|e| e.to_string())?;
            if let Some(note) = filter::start_threads(&mut args)? {
                msg.note(note.trim_start_matches("note: "));
            }
            let (summary, report) =
                filter::run(&args).map_err(|e| crate::commands::error_text(&e))?;
            for w in filter::warnings(&args, &summary) {
                // Switched-off rules and unreadable pages: always said.
                eprintln!("makedumpfile (dumptool): {w}");
            }
            if args.report == Some(ReportFormat::Text) {
                msg.report(&report);
            }
            match (&args.output, inv.dry_run) {
                (_, true) => msg.common("dry run: the filtered dump was not written\n"),
                (Some(o), false) => msg.common(&format!("the dump is saved to {}\n", o.display())),
                (None, false) => {}
            }
            Ok(())
        }
        Mode::Dmesg { input, output } => {
            let log = printk::read_log_at(input).map_err(|e| e.to_string())?;
            if let Some(p) = &log.kernel_problem {
                msg.debug(&format!("read with VMCOREINFO alone: {p}"));
            }
            for f in log.sources.fallbacks() {
                msg.debug(&format!("printk layout of {f}"));
            }
            crate::write::write_file(Some(input), output, inv.force, log.text.as_bytes())
                .map_err(|e| e.to_string())?;
            msg.common(&format!(
                "the kernel log is saved to {}\n",
                output.display()
            ));
            Ok(())
        }
        Mode::Rearrange { output } => {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            let r = crate::write::rearrange(&mut lock, Path::new("<stdin>"), output, inv.force)
                .map_err(|e| e.to_string())?;
            msg.debug(&format!(
                "{} records, {} data bytes, a file of {} bytes",
                r.records, r.data_bytes, r.file_len
            ));
            msg.common(&format!("the dump is saved to {}\n", output.display()));
            Ok(())
        }
        Mode::Help | Mode::Version => Ok(()),
    }
}

/// Whether a program invoked as `argv0` should take makedumpfile's command
/// line: its file name is `makedumpfile`.
pub fn invoked_as_makedumpfile(argv0: &OsStr) -> bool {
    Path::new(argv0).file_name() == Some(OsStr::new("makedumpfile"))
}
