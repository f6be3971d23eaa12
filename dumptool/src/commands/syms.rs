//! `dumptool syms DUMP [NAME...]`: the crashed kernel's symbols, decoded
//! from the dump (vmlinux kallsyms and loaded modules), System.map style.

use crate::dump::Dump;
use crate::kernel::{CrashedKernel, KernelError};
use ktype_runtime::text::Escaped;
use std::fmt::Write;
use std::path::Path;

/// What `dumptool syms` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbols {
    /// System.map-style lines (`ADDRESS TYPE NAME`, `\t[module]` for module
    /// symbols) of every symbol found.
    pub text: String,
    /// `DUMP: no symbol A, B` when some named symbols are not in the dump.
    pub missing: Option<String>,
}

/// Runs `dumptool syms DUMP [NAME...]`: every symbol, or just the named ones
/// (the names not found are reported in [`Symbols::missing`], beside the
/// lines of those found, like `nm` does).
pub fn run(path: &Path, names: &[String]) -> Result<Symbols, KernelError> {
    let dump = Dump::open(path)?;
    let k = CrashedKernel::open(&dump)?;
    Ok(list(path, &k, names).expect("formatting into a String cannot fail"))
}

fn list(path: &Path, k: &CrashedKernel<'_>, names: &[String]) -> Result<Symbols, std::fmt::Error> {
    let mut s = String::new();
    if names.is_empty() {
        for sym in k.kallsyms().iter() {
            writeln!(s, "{:016x} {} {}", sym.addr, sym.kind, Escaped(&sym.name))?;
        }
        for m in k.modules() {
            for sym in &m.symbols {
                writeln!(
                    s,
                    "{:016x} {} {}\t[{}]",
                    sym.addr,
                    sym.kind,
                    Escaped(&sym.name),
                    Escaped(&m.name)
                )?;
            }
        }
        return Ok(Symbols {
            text: s,
            missing: None,
        });
    }
    let mut unknown = Vec::new();
    for name in names {
        let mut found = false;
        for sym in k.kallsyms().named(name) {
            writeln!(s, "{:016x} {} {}", sym.addr, sym.kind, Escaped(&sym.name))?;
            found = true;
        }
        for m in k.modules() {
            for sym in m.symbols.iter().filter(|sym| &sym.name == name) {
                writeln!(
                    s,
                    "{:016x} {} {}\t[{}]",
                    sym.addr,
                    sym.kind,
                    Escaped(&sym.name),
                    Escaped(&m.name)
                )?;
                found = true;
            }
        }
        if !found {
            unknown.push(name.as_str());
        }
    }
    let missing = (!unknown.is_empty()).then(|| {
        format!(
            "{}: no symbol {}",
            path.display(),
            Escaped(&unknown.join(", "))
        )
    });
    Ok(Symbols { text: s, missing })
}
