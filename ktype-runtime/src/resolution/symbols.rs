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

/// A symbol table read from text: a `System.map` (`ADDRESS TYPE NAME`
/// lines, vmlinux symbols) or `/proc/kallsyms` (the same, plus
/// `ADDRESS TYPE NAME\t[MODULE]` lines for loaded modules' symbols).
///
/// ```
/// use ktype_runtime::resolution::{SymbolMap, SymbolSource};
///
/// let text = "ffffffff81000000 T _stext\n\
///             ffffffffc0a01000 t nft_do_chain\t[nf_tables]\n";
/// let map = SymbolMap::parse(text, "kallsyms")?;
/// assert_eq!(map.lookup("vmlinux", "_stext"), Some(0xffff_ffff_8100_0000));
/// assert_eq!(map.lookup("nf_tables", "nft_do_chain"), Some(0xffff_ffff_c0a0_1000));
/// assert_eq!(map.lookup("vmlinux", "nft_do_chain"), None);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SymbolMap {
    origin: String,
    symbols: HashMap<String, (u64, char)>,
    modules: HashMap<String, HashMap<String, (u64, char)>>,
}

/// The former name of [`SymbolMap`], which reads `System.map` files and
/// `/proc/kallsyms` alike.
pub type SystemMap = SymbolMap;

impl SymbolMap {
    /// Reads and parses a `System.map` or kallsyms file.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or a line is not a symbol line
    /// (`ErrorKind::InvalidData`, naming the line).
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<SymbolMap> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)?;
        SymbolMap::parse(&text, path.display().to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The running kernel's `/proc/kallsyms` (vmlinux and module symbols).
    ///
    /// # Errors
    ///
    /// As [`SymbolMap::open`]; also when every address reads as zero, which
    /// is what the kernel shows to readers without `CAP_SYSLOG` (or with
    /// `kernel.kptr_restrict` = 2).
    pub fn proc_kallsyms() -> std::io::Result<SymbolMap> {
        let map = SymbolMap::open("/proc/kallsyms")?;
        if !map.is_empty() && map.iter().all(|(_, a, _)| a == 0) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "/proc/kallsyms shows every address as 0: run as root \
                 (CAP_SYSLOG) with kernel.kptr_restrict below 2",
            ));
        }
        Ok(map)
    }

    /// Parses `System.map` or kallsyms text; `origin` names it in errors.
    /// The first of several symbols of one name is kept.
    ///
    /// # Errors
    ///
    /// A line that is not `ADDRESS TYPE NAME` optionally followed by `[MODULE]`.
    pub fn parse(text: &str, origin: impl Into<String>) -> Result<SymbolMap, String> {
        let origin = origin.into();
        let mut map = SymbolMap {
            origin,
            ..SymbolMap::default()
        };
        for (i, line) in text.lines().enumerate() {
            map.parse_line(line)
                .map_err(|why| format!("{}:{}: {why}", map.origin, i + 1))?;
        }
        Ok(map)
    }

    fn parse_line(&mut self, line: &str) -> Result<(), String> {
        let mut it = line.split_whitespace();
        let (Some(addr), Some(ty), Some(name)) = (it.next(), it.next(), it.next()) else {
            return Err("expected `ADDRESS TYPE NAME`".into());
        };
        let module = match (it.next(), it.next()) {
            (None, _) => None,
            (Some(m), None) if m.len() > 2 && m.starts_with('[') && m.ends_with(']') => {
                Some(&m[1..m.len() - 1])
            }
            _ => return Err("expected `ADDRESS TYPE NAME` or `... [MODULE]`".into()),
        };
        let addr = u64::from_str_radix(addr, 16).map_err(|_| format!("bad address `{addr}`"))?;
        let mut tys = ty.chars();
        let (Some(ty), None) = (tys.next(), tys.next()) else {
            return Err(format!("bad symbol type `{ty}`"));
        };
        let table = match module {
            None => &mut self.symbols,
            Some(m) => self.modules.entry(m.to_string()).or_default(),
        };
        table.entry(name.to_string()).or_insert((addr, ty));
        Ok(())
    }

    /// Every vmlinux `(name, address, type)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64, char)> {
        self.symbols.iter().map(|(n, &(a, t))| (n.as_str(), a, t))
    }

    /// Every `(name, address, type)` of module `module` (`"vmlinux"`: as [`SymbolMap::iter`]).
    pub fn module_symbols(&self, module: &str) -> impl Iterator<Item = (&str, u64, char)> {
        let table = if module == "vmlinux" {
            Some(&self.symbols)
        } else {
            self.modules.get(module)
        };
        table
            .into_iter()
            .flatten()
            .map(|(n, &(a, t))| (n.as_str(), a, t))
    }

    /// The modules that have symbols here (kallsyms only).
    pub fn module_names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// Number of distinct vmlinux symbol names.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// Whether there is no vmlinux symbol.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

impl SymbolSource for SymbolMap {
    fn lookup(&self, module: &str, name: &str) -> Option<u64> {
        let table = if module == "vmlinux" {
            &self.symbols
        } else {
            self.modules.get(module)?
        };
        table.get(name).map(|s| s.0)
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
