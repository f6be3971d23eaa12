//! Symbol sources and resolution of `kernel_symbols!` declarations.

use super::report::{Problem, SymbolReport};
use crate::registry::SymbolDesc;
use std::collections::HashMap;
use std::path::Path;

/// Something that knows kernel symbol addresses (kallsyms from a dump, a
/// `System.map`, ...).
pub trait SymbolSource {
    /// The address of `name` in `module` (`"vmlinux"` for the kernel image).
    fn lookup(&self, module: &str, name: &str) -> Option<u64>;
    /// What the source is, for error messages.
    fn describe(&self) -> String;
}

/// A parsed `System.map` (`ADDRESS TYPE NAME` lines), vmlinux symbols only.
#[derive(Debug, Clone, Default)]
pub struct SystemMap {
    origin: String,
    symbols: HashMap<String, (u64, char)>,
}

impl SystemMap {
    /// Reads and parses a `System.map` file.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<SystemMap> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)?;
        SystemMap::parse(&text, path.display().to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Parses `System.map` text; `origin` names it in errors.
    pub fn parse(text: &str, origin: impl Into<String>) -> Result<SystemMap, String> {
        let origin = origin.into();
        let mut symbols = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let mut it = line.split_whitespace();
            let (Some(addr), Some(ty), Some(name), None) =
                (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(format!("{origin}:{}: expected `ADDRESS TYPE NAME`", i + 1));
            };
            let addr = u64::from_str_radix(addr, 16)
                .map_err(|_| format!("{origin}:{}: bad address `{addr}`", i + 1))?;
            let ty = ty.chars().next().unwrap_or('?');
            symbols.entry(name.to_string()).or_insert((addr, ty));
        }
        Ok(SystemMap { origin, symbols })
    }

    /// Every `(name, address, type)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64, char)> {
        self.symbols.iter().map(|(n, &(a, t))| (n.as_str(), a, t))
    }

    /// Number of distinct symbol names.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

impl SymbolSource for SystemMap {
    fn lookup(&self, module: &str, name: &str) -> Option<u64> {
        (module == "vmlinux")
            .then(|| self.symbols.get(name).map(|s| s.0))
            .flatten()
    }
    fn describe(&self) -> String {
        self.origin.clone()
    }
}

pub(crate) fn resolve(
    source: &dyn SymbolSource,
    syms: &[&'static SymbolDesc],
) -> (Vec<SymbolReport>, Vec<Problem>) {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for &d in syms {
        d.address.clear();
        let addr = d.names.iter().find_map(|n| source.lookup(d.module, n));
        if addr.is_some() || d.optional {
            d.address.set(addr);
            reports.push(SymbolReport {
                desc: d,
                address: addr,
            });
        } else {
            problems.push(Problem {
                module: d.module.to_string(),
                item: format!("symbol {}", d.names.join(" or ")),
                member: None,
                why: format!("not found in {}", source.describe()),
                declared_at: d.declared_at,
            });
        }
    }
    (reports, problems)
}
