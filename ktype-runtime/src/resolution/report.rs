//! What resolution found, and the all-at-once error when something required
//! is missing or does not match.

use crate::btf::TypeId;
use crate::registry::{EnumDesc, FieldLayout, StructDesc, SymbolDesc};
use std::fmt;

/// One thing that could not be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The module whose BTF (or symbols) was searched.
    pub module: String,
    /// The declaration, e.g. `struct page (Page)`.
    pub item: String,
    /// The member or constant, when the problem is about one.
    pub member: Option<String>,
    /// What is wrong.
    pub why: String,
    /// Where the declaration is (`file:line`).
    pub declared_at: &'static str,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.module, self.item)?;
        if let Some(m) = &self.member {
            write!(f, ".{m}")?;
        }
        write!(f, ": {} (declared at {})", self.why, self.declared_at)
    }
}

/// Resolution failed: every required item that is missing or incompatible.
#[derive(Debug)]
pub struct ResolveError {
    /// All problems found, in registry order.
    pub problems: Vec<Problem>,
    /// What did resolve (those bindings are usable).
    pub report: Report,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} kernel binding{} could not be resolved:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ResolveError {}

/// How one declared member resolved.
#[derive(Debug, Clone)]
pub struct FieldReport {
    /// The Rust field.
    pub rust_name: &'static str,
    /// The member path that matched (`None`: absent optional member).
    pub path: Option<&'static str>,
    /// Its layout (`None`: absent optional member).
    pub layout: Option<FieldLayout>,
}

/// How one `#[kernel_struct]` resolved.
#[derive(Debug, Clone)]
pub struct StructReport {
    /// The declaration.
    pub desc: &'static StructDesc,
    /// The BTF type bound (`None`: absent optional struct).
    pub type_id: Option<TypeId>,
    /// The kernel name that matched.
    pub name: Option<&'static str>,
    /// The kernel's size of the type.
    pub size: Option<u64>,
    /// Each member.
    pub fields: Vec<FieldReport>,
}

/// How one `#[kernel_enum]` resolved.
#[derive(Debug, Clone)]
pub struct EnumReport {
    /// The declaration.
    pub desc: &'static EnumDesc,
    /// `(variant, value)`; `None` for absent optional constants.
    pub values: Vec<(&'static str, Option<u64>)>,
}

/// How one symbol resolved.
#[derive(Debug, Clone)]
pub struct SymbolReport {
    /// The declaration.
    pub desc: &'static SymbolDesc,
    /// The address (`None`: absent optional symbol).
    pub address: Option<u64>,
}

/// Everything resolution bound.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Structs, in registry order.
    pub structs: Vec<StructReport>,
    /// Enums, in registry order.
    pub enums: Vec<EnumReport>,
    /// Symbols, in registry order.
    pub symbols: Vec<SymbolReport>,
}

impl Report {
    /// Number of members and constants bound (present ones).
    pub fn bound_count(&self) -> usize {
        let f: usize = self
            .structs
            .iter()
            .map(|s| s.fields.iter().filter(|f| f.layout.is_some()).count())
            .sum();
        let e: usize = self
            .enums
            .iter()
            .map(|e| e.values.iter().filter(|v| v.1.is_some()).count())
            .sum();
        f + e + self.symbols.iter().filter(|s| s.address.is_some()).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.structs {
            match (s.name, s.size) {
                (Some(n), Some(size)) => writeln!(
                    f,
                    "{} {n} ({}) size {size}",
                    s.desc.module, s.desc.rust_name
                )?,
                _ => writeln!(
                    f,
                    "{} {} absent (optional)",
                    s.desc.module,
                    s.desc.display_name()
                )?,
            }
            for m in &s.fields {
                match (m.path, m.layout) {
                    (Some(p), Some(l)) if l.is_bitfield() => writeln!(
                        f,
                        "  {:<24} {p} @ bit {} :{}",
                        m.rust_name, l.bit_offset, l.bitfield_bits
                    )?,
                    (Some(p), Some(l)) => {
                        writeln!(f, "  {:<24} {p} @ {}", m.rust_name, l.byte_offset())?
                    }
                    _ => writeln!(f, "  {:<24} absent (optional)", m.rust_name)?,
                }
            }
        }
        for e in &self.enums {
            writeln!(f, "{} {}", e.desc.module, e.desc.display_name())?;
            for (n, v) in &e.values {
                match v {
                    Some(v) => writeln!(f, "  {n:<24} = {}", *v as i64)?,
                    None => writeln!(f, "  {n:<24} absent (optional)")?,
                }
            }
        }
        for s in &self.symbols {
            match s.address {
                Some(a) => writeln!(f, "{} {} = {a:#x}", s.desc.module, s.desc.names.join("|"))?,
                None => writeln!(
                    f,
                    "{} {} absent (optional)",
                    s.desc.module,
                    s.desc.names.join("|")
                )?,
            }
        }
        Ok(())
    }
}
