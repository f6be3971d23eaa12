//! Printing text that comes from the input (BTF names, and in dumptool a
//! crash dump's VMCOREINFO values, symbol and module names, release
//! strings): control characters are shown escaped, never sent to the
//! terminal as they are. A name holding `ESC ] 0 ;` would otherwise retitle
//! the terminal, a `\r` or `\n` would forge a line of a report.
//!
//! ```
//! use ktype_runtime::text::{escape, Escaped};
//! assert_eq!(escape("a\u{1b}]0;owned\u{7}b"), "a\\x1b]0;owned\\x07b");
//! assert_eq!(escape("line\nforged\r"), "line\\x0aforged\\x0d");
//! assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
//! assert_eq!(format!("[{}]", Escaped("plain ünïcode")), "[plain ünïcode]");
//! ```

use std::borrow::Cow;
use std::fmt;

/// Whether `c` is shown escaped: the C0 controls, DEL and the C1 controls.
fn is_escaped(c: char) -> bool {
    c.is_control()
}

/// `s` with every control character written as `\xNN` (below U+0080) or
/// `\u{NN}` (the C1 controls); borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_escaped) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(Escaped(s).to_string())
}

/// `s` with control characters escaped as lines of a multi-line text are:
/// every control character but `\n` and `\t` (for whole reports, whose line
/// structure is their own).
pub fn escape_keep_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_escaped(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for line in s.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        for part in body.split('\t').enumerate() {
            if part.0 > 0 {
                out.push('\t');
            }
            out.push_str(&escape(part.1));
        }
        out.push_str(nl);
    }
    Cow::Owned(out)
}

/// Displays its text with control characters escaped (see [`escape`]).
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                c if !is_escaped(c) => fmt::Write::write_char(f, c)?,
                c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32)?,
                c => write!(f, "\\u{{{:x}}}", c as u32)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_keep_their_lines() {
        assert_eq!(escape_keep_lines("a\tb\n\u{1b}[2Jc\n"), "a\tb\n\\x1b[2Jc\n");
        assert!(matches!(escape_keep_lines("ok\n"), Cow::Borrowed(_)));
    }
}
