//! One module per `dumptool` subcommand; each returns its output as text.
//! Errors reach the user as [`ErrorReport`]s: a kind to match on, the
//! message, and the chain of errors that caused it.

pub mod btf;
pub mod dmesg;
pub mod filter;
pub mod info;
pub mod syms;

use std::error::Error;

/// An error as a report carries it: what kind it is, its message and the
/// messages of its [`Error::source`] chain, outermost first. A source whose
/// message its parent already ends with (an error that quotes its cause)
/// is not repeated.
///
/// ```
/// use dumptool::commands::ErrorReport;
/// #[derive(Debug, thiserror::Error)]
/// #[error("vmcore: cannot read the header")]
/// struct Outer(#[source] std::io::Error);
/// let e = Outer(std::io::Error::other("disk on fire"));
/// let r = ErrorReport::new("dump", &e);
/// assert_eq!(r.sources, ["disk on fire"]);
/// assert_eq!(r.text(), "vmcore: cannot read the header: disk on fire");
/// assert_eq!(r.json()["kind"], "dump");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// A short name of the error's variant (e.g. `dump`, `write`, `erase`).
    pub kind: String,
    /// The error's own message.
    pub message: String,
    /// Its causes' messages, outermost first.
    pub sources: Vec<String>,
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
            if !last.ends_with(&text) {
                sources.push(text.clone());
            }
            last = text;
            next = s.source();
        }
        ErrorReport {
            kind: kind.to_string(),
            message,
            sources,
        }
    }

    /// The message and its causes on one line, joined by `: `.
    pub fn text(&self) -> String {
        std::iter::once(self.message.as_str())
            .chain(self.sources.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(": ")
    }

    /// `{"kind": ..., "message": ..., "sources": [...]}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "message": self.message,
            "sources": self.sources,
        })
    }
}

/// `e` and its causes on one line ([`ErrorReport::text`]): what the
/// command line prints.
pub fn error_text(e: &(dyn Error + 'static)) -> String {
    ErrorReport::new("", e).text()
}
