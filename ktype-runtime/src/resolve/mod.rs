//! Resolution: fill every registered descriptor from a kernel's BTF.
//!
//! [`resolve`] binds each `#[kernel_struct]` and `#[kernel_enum]` linked into
//! the program; [`resolve_symbols`] binds `kernel_symbols!` declarations from
//! a symbol source (kallsyms, `System.map`). Both check everything before
//! reporting, so one run lists every missing or mismatched item.

mod compat;
mod enums;
mod report;
mod structs;
mod symbols;

pub use report::{
    EnumReport, FieldReport, Problem, Report, ResolveError, StructReport, SymbolReport,
};
pub use symbols::{SymbolSource, SystemMap};

use crate::btf::BtfSet;
use crate::registry::{
    EnumDesc, StructDesc, SymbolDesc, KERNEL_ENUMS, KERNEL_STRUCTS, KERNEL_SYMBOLS,
};

/// Resolves every `#[kernel_struct]` and `#[kernel_enum]` linked into the
/// program against `set`.
///
/// On success every binding is usable. If any *required* item is missing or
/// incompatible, the error lists all such items at once; the bindings that
/// did resolve are usable, the others report [`crate::NotResolved`].
pub fn resolve(set: &BtfSet) -> Result<Report, ResolveError> {
    resolve_descriptors(set, &KERNEL_STRUCTS, &KERNEL_ENUMS)
}

/// Like [`resolve`] for a chosen set of declarations (tests, tools that bind
/// only some types). Nested `#[kernel_struct]` types must be in `structs` too.
pub fn resolve_descriptors(
    set: &BtfSet,
    structs: &[&'static StructDesc],
    enums: &[&'static EnumDesc],
) -> Result<Report, ResolveError> {
    let mut problems = Vec::new();
    let mut report = Report::default();
    for d in structs {
        d.clear();
    }
    for d in enums {
        d.clear();
    }
    for &d in structs {
        match structs::resolve_struct(set, d) {
            Ok(r) => report.structs.push(r),
            Err(p) => problems.extend(p),
        }
    }
    problems.extend(structs::check_nested_sizes(set, &report));
    for &d in enums {
        match enums::resolve_enum(set, d) {
            Ok(r) => report.enums.push(r),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(ResolveError { problems, report })
    }
}

/// Fills every `kernel_symbols!` declaration from `source`; lists all
/// required symbols it lacks at once.
pub fn resolve_symbols(source: &dyn SymbolSource) -> Result<Report, ResolveError> {
    resolve_symbol_descriptors(source, &KERNEL_SYMBOLS)
}

/// Like [`resolve_symbols`] for a chosen set of declarations.
pub fn resolve_symbol_descriptors(
    source: &dyn SymbolSource,
    syms: &[&'static SymbolDesc],
) -> Result<Report, ResolveError> {
    let (reports, problems) = symbols::resolve(source, syms);
    let report = Report {
        symbols: reports,
        ..Report::default()
    };
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(ResolveError { problems, report })
    }
}

/// Modules whose BTF the linked-in declarations need (`"vmlinux"` excluded).
pub fn required_modules() -> Vec<&'static str> {
    let mut m: Vec<&'static str> = KERNEL_STRUCTS
        .iter()
        .map(|d| d.module)
        .chain(KERNEL_ENUMS.iter().map(|d| d.module))
        .filter(|m| *m != "vmlinux")
        .collect();
    m.sort_unstable();
    m.dedup();
    m
}
