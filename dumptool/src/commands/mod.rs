//! One module per `dumptool` subcommand; each returns its output as text.
//! Errors reach the user as [`ErrorReport`]s: a kind to match on, the
//! message, and the chain of errors that caused it.

pub mod btf;
pub mod dmesg;
pub mod filter;
pub mod info;
pub mod syms;

use crate::dump::DumpError;
use crate::filter::erase::{EraseError, SpecError};
use crate::filter::FilterError;
use crate::kernel::printk::{DmesgError, LogError};
use crate::kernel::KernelError;
use crate::write::WriteError;
use std::error::Error;
use std::path::PathBuf;

/// An error as a report carries it: what kind it is, its message and the
/// chain of errors that caused it ([`Error::source`]), outermost first.
///
/// ```
/// use dumptool::commands::ErrorReport;
/// #[derive(Debug, thiserror::Error)]
/// #[error("vmcore: cannot read the header")]
/// struct Outer(#[source] std::io::Error);
/// let e = Outer(std::io::Error::other("disk on fire"));
/// let r = ErrorReport::new("dump", &e);
/// assert_eq!(r.sources[0].message, "disk on fire");
/// assert_eq!(r.text(), "vmcore: cannot read the header: disk on fire");
/// assert_eq!(r.json()["kind"], "dump");
/// assert_eq!(r.json()["sources"][0]["message"], "disk on fire");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// A short name of the error's variant (e.g. `dump`, `write`, `erase`).
    pub kind: String,
    /// The error's own message.
    pub message: String,
    /// Its causes, outermost first.
    pub sources: Vec<Cause>,
}

/// One cause in an [`ErrorReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The variant's short name, for dumptool's own error types.
    pub kind: Option<&'static str>,
    /// Its message.
    pub message: String,
    /// Whether the message of the error it caused already ends with this
    /// one's (the error quotes its cause): [`ErrorReport::text`] leaves it
    /// out.
    pub quoted: bool,
}

/// The short name of `e`'s variant, when it is one of dumptool's errors.
pub fn kind_of(e: &(dyn Error + 'static)) -> Option<&'static str> {
    if let Some(e) = e.downcast_ref::<DumpError>() {
        return Some(e.kind());
    }
    if let Some(e) = e.downcast_ref::<WriteError>() {
        return Some(e.kind());
    }
    if let Some(e) = e.downcast_ref::<FilterError>() {
        return Some(e.kind());
    }
    if let Some(e) = e.downcast_ref::<EraseError>() {
        return Some(e.kind());
    }
    if e.is::<SpecError>() {
        return Some("bad_erase");
    }
    if let Some(e) = e.downcast_ref::<KernelError>() {
        return Some(e.kind());
    }
    if let Some(e) = e.downcast_ref::<filter::RunError>() {
        return Some(e.kind());
    }
    if let Some(e) = e.downcast_ref::<DmesgError>() {
        return Some(e.kind());
    }
    if let Some(e) = e.downcast_ref::<LogError>() {
        return Some(e.kind());
    }
    None
}

impl ErrorReport {
    /// The report of `e`, of kind `kind`.
    pub fn new(kind: &str, e: &(dyn Error + 'static)) -> ErrorReport {
        let message = e.to_string();
        let mut sources = Vec::new();
        let mut last = message.clone();
        let mut next = e.source();
        while let Some(s) = next {
            let text = s.to_string();
            // A dump error quoted by another about the same file is quoted
            // without its path.
            let bare = s
                .downcast_ref::<DumpError>()
                .map(|d| d.message().to_string());
            let quoted =
                last.ends_with(&text) || bare.as_ref().is_some_and(|b| last.ends_with(b.as_str()));
            sources.push(Cause {
                kind: kind_of(s),
                message: text.clone(),
                quoted,
            });
            last = text;
            next = s.source();
        }
        ErrorReport {
            kind: kind.to_string(),
            message,
            sources,
        }
    }

    /// The message and the causes it does not quote, on one line, joined
    /// by `: `.
    pub fn text(&self) -> String {
        std::iter::once(self.message.as_str())
            .chain(
                self.sources
                    .iter()
                    .filter(|c| !c.quoted)
                    .map(|c| c.message.as_str()),
            )
            .collect::<Vec<_>>()
            .join(": ")
    }

    /// `{"kind": ..., "message": ..., "sources": [{"kind": ..., "message":
    /// ...}, ...]}` (a cause's kind is `null` when it is not one of
    /// dumptool's errors).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "message": self.message,
            "sources": self.sources.iter().map(|c| serde_json::json!({
                "kind": c.kind,
                "message": c.message,
            })).collect::<Vec<_>>(),
        })
    }
}

/// `e` and its causes on one line ([`ErrorReport::text`]): what the
/// command line prints.
pub fn error_text(e: &(dyn Error + 'static)) -> String {
    ErrorReport::new("", e).text()
}

/// The dump a command reads, or the running kernel (`--live`).
#[derive(Debug, Clone, clap::Args)]
pub struct DumpOrLive {
    /// The dump (ELF, kdump-compressed, or flattened); /proc/kcore is the running kernel.
    #[arg(required_unless_present = "live")]
    pub dump: Option<PathBuf>,
    /// Read the running kernel instead: /proc/kcore, /proc/kallsyms and /sys/kernel/btf (as root).
    #[arg(long, conflicts_with = "dump")]
    pub live: bool,
}

impl DumpOrLive {
    /// The file to read: the dump, or `/proc/kcore` for `--live`.
    pub fn path(&self) -> PathBuf {
        match &self.dump {
            Some(p) if !self.live => p.clone(),
            _ => PathBuf::from(crate::kernel::live::KCORE),
        }
    }
}
