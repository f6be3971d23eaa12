//! Resolution: fill registered descriptors from a kernel's BTF and symbols.
//!
//! # Scopes: whose declarations a call resolves
//!
//! Every crate linked into a program adds its declarations to one registry,
//! so resolving "everything" would make a program's resolution depend on
//! what its libraries declare: linking dumptool would make a tool fail on a
//! kernel without `struct btf_module`, although the tool never reads one.
//! Resolution is therefore scoped ([`Scope`]):
//!
//! - each declaration belongs to the crate that declares it (the first
//!   segment of its `module_path!()`), and [`this_crate!`](crate::this_crate)
//!   names the calling crate: `resolve(&bindings, &set, this_crate!())`
//!   resolves exactly what the caller declared;
//! - `#[kernel_struct(group = "name")]` (also on `#[kernel_enum]` and
//!   `kernel_symbols!` items) puts a declaration in a named group instead,
//!   resolved only by [`Scope::Group`]: a library keeps bindings that it
//!   needs only sometimes, or that must fail separately, apart from its
//!   other ones (prefix group names with the crate's, they are global);
//! - [`Scope::All`] resolves everything linked in.
//!
//! A struct embedded by value in a resolved one (a field whose type is
//! another `#[kernel_struct]`) is resolved with it, whatever its scope.
//! Each call still reports every problem of its scope at once.
//!
//! # The bindings lock
//!
//! Resolved values live in process-global slots, so one kernel at a time
//! may own them: every function here takes the [`BindingsGuard`] that
//! [`lock_bindings`](crate::registry::lock_bindings) returns, and resolution
//! without holding it does not compile. Keep the guard while you use the
//! bindings.
//!
//! ```no_run
//! use ktype_runtime::{kernel_struct, lock_bindings, resolve, this_crate, BtfSet};
//!
//! #[kernel_struct(name = "task_struct")]
//! pub struct Task { pub pid: i32 }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bindings = lock_bindings();
//! let set = BtfSet::open("/sys/kernel/btf/vmlinux")?;
//! resolve(&bindings, &set, this_crate!())?; // this crate's declarations only
//! println!("pid at {}", Task::pid_offset());
//! # Ok(()) }
//! ```

mod compat;
mod enums;
mod report;
mod structs;
mod suggest;
mod symbols;

pub use report::{
    EnumReport, FieldReport, Problem, Report, ResolveError, StructReport, SymbolReport,
};
pub use symbols::{SymbolMap, SymbolSource, SystemMap};

use crate::btf::BtfSet;
use crate::registry::{
    BindingsGuard, EnumDesc, Shape, StructDesc, SymbolDesc, KERNEL_ENUMS, KERNEL_STRUCTS,
    KERNEL_SYMBOLS,
};

/// Which declarations a resolution call binds (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The declarations of one crate outside any named group. The string is
    /// a crate name as `module_path!()` spells it (`my_tool`), or any module
    /// path inside the crate; [`this_crate!`](crate::this_crate) gives the caller's.
    Crate(&'static str),
    /// The declarations made with `group = "NAME"`, in any crate.
    Group(&'static str),
    /// Every declaration linked into the program.
    All,
}

/// The crate part of a module path.
fn crate_of(path: &str) -> &str {
    path.split("::").next().unwrap_or(path)
}

impl Scope {
    /// Whether a declaration made in module `defined_in` with group `group`
    /// (empty: none) is in this scope.
    pub fn contains(&self, defined_in: &str, group: &str) -> bool {
        match *self {
            Scope::Crate(c) => group.is_empty() && crate_of(defined_in) == crate_of(c),
            Scope::Group(g) => group == g,
            Scope::All => true,
        }
    }

    /// The `#[kernel_struct]` declarations in this scope, plus the structs
    /// they embed by value (transitively), in registry order.
    pub fn structs(&self) -> Vec<&'static StructDesc> {
        let mut out: Vec<&'static StructDesc> = KERNEL_STRUCTS
            .iter()
            .copied()
            .filter(|d| self.contains(d.defined_in, d.group))
            .collect();
        let mut i = 0;
        while i < out.len() {
            for f in out[i].fields {
                if let Some(inner) = embedded((f.shape)()) {
                    if !out.iter().any(|d| std::ptr::eq(*d, inner)) {
                        out.push(inner);
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// The `#[kernel_enum]` declarations in this scope.
    pub fn enums(&self) -> Vec<&'static EnumDesc> {
        KERNEL_ENUMS
            .iter()
            .copied()
            .filter(|d| self.contains(d.defined_in, d.group))
            .collect()
    }

    /// The `kernel_symbols!` declarations in this scope.
    pub fn symbols(&self) -> Vec<&'static SymbolDesc> {
        KERNEL_SYMBOLS
            .iter()
            .copied()
            .filter(|d| self.contains(d.defined_in, d.group))
            .collect()
    }
}

/// The struct a field of this shape embeds by value, if any.
fn embedded(shape: Shape) -> Option<&'static StructDesc> {
    match shape {
        Shape::Struct(d) => Some(d),
        Shape::Array { elem, .. } => embedded(elem()),
        _ => None,
    }
}

/// The calling crate's [`Scope`]: `Scope::Crate(module_path!())`.
///
/// ```
/// use ktype_runtime::{this_crate, resolution::Scope};
/// assert_eq!(this_crate!(), Scope::Crate(module_path!()));
/// assert!(this_crate!().contains(module_path!(), ""));
/// assert!(!this_crate!().contains("some_other_crate::bindings", ""));
/// assert!(!this_crate!().contains(module_path!(), "a_named_group"));
/// ```
#[macro_export]
macro_rules! this_crate {
    () => {
        $crate::resolution::Scope::Crate(::core::module_path!())
    };
}

/// Resolves the `#[kernel_struct]` and `#[kernel_enum]` declarations of
/// `scope` against `set`.
///
/// On success every binding of the scope is usable. If any *required* item
/// is missing or incompatible, the error lists all such items at once; the
/// bindings that did resolve are usable, the others report
/// [`NotResolved`](crate::NotResolved).
///
/// # Errors
///
/// [`ResolveError`], listing every problem.
pub fn resolve(
    bindings: &BindingsGuard,
    set: &BtfSet,
    scope: Scope,
) -> Result<Report, ResolveError> {
    resolve_descriptors(bindings, set, &scope.structs(), &scope.enums())
}

/// Like [`resolve`] for a chosen list of declarations (tests, tools that
/// bind some types before others). Nested `#[kernel_struct]` types must be
/// in `structs` too, or resolved before.
///
/// # Errors
///
/// [`ResolveError`], listing every problem.
pub fn resolve_descriptors(
    _bindings: &BindingsGuard,
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

/// Fills the `kernel_symbols!` declarations of `scope` from `source`; lists
/// all required symbols it lacks at once.
///
/// # Errors
///
/// [`ResolveError`], listing every missing symbol.
pub fn resolve_symbols(
    bindings: &BindingsGuard,
    source: &dyn SymbolSource,
    scope: Scope,
) -> Result<Report, ResolveError> {
    resolve_symbol_descriptors(bindings, source, &scope.symbols())
}

/// Like [`resolve_symbols`] for a chosen list of declarations.
///
/// # Errors
///
/// [`ResolveError`], listing every missing symbol.
pub fn resolve_symbol_descriptors(
    _bindings: &BindingsGuard,
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

/// Modules whose BTF the declarations of `scope` need (`"vmlinux"` excluded).
pub fn required_modules(scope: Scope) -> Vec<&'static str> {
    let mut m: Vec<&'static str> = scope
        .structs()
        .iter()
        .map(|d| d.module)
        .chain(scope.enums().iter().map(|d| d.module))
        .filter(|m| *m != "vmlinux")
        .collect();
    m.sort_unstable();
    m.dedup();
    m
}
