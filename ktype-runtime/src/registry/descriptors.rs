//! Descriptor types: what a declaration asks of the kernel, plus its slots.
//!
//! The macros build these as `static`s; their fields are public so that the
//! generated code can use struct literals, but only the resolver writes slots.

use super::field::Shape;
use super::slots::{FieldLayout, FieldSlot, NotResolved, ValueSlot};

/// Which BTF kinds a `#[kernel_struct]` may bind to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKind {
    /// `struct NAME`.
    Struct,
    /// `union NAME`.
    Union,
}

/// A `#[kernel_struct]` declaration.
#[derive(Debug)]
pub struct StructDesc {
    /// The Rust type's name.
    pub rust_name: &'static str,
    /// The module whose BTF holds the type (`"vmlinux"` or a module name).
    pub module: &'static str,
    /// Kernel type names to try, in order.
    pub names: &'static [&'static str],
    /// Struct or union.
    pub kind: AggregateKind,
    /// Whether a kernel lacking the type is acceptable.
    pub optional: bool,
    /// The declared members.
    pub fields: &'static [FieldDesc],
    /// `file:line` of the declaration, for reports.
    pub declared_at: &'static str,
    /// The resolved size in bytes.
    pub size: ValueSlot,
}

/// One member of a `#[kernel_struct]`.
#[derive(Debug)]
pub struct FieldDesc {
    /// The Rust field name.
    pub rust_name: &'static str,
    /// Member paths to try, in order (dotted through nested members;
    /// anonymous struct/union members are searched implicitly).
    pub paths: &'static [&'static str],
    /// Whether a kernel lacking the member is acceptable.
    pub optional: bool,
    /// What the Rust type expects of the member.
    pub shape: fn() -> Shape,
    /// Where resolution found it.
    pub slot: FieldSlot,
}

impl StructDesc {
    /// A human-readable name, e.g. `struct page (Page)`.
    pub fn display_name(&self) -> String {
        let kw = match self.kind {
            AggregateKind::Struct => "struct",
            AggregateKind::Union => "union",
        };
        format!("{kw} {} ({})", self.names.join("|"), self.rust_name)
    }

    /// The resolved size, or [`NotResolved`].
    pub fn try_size(&self) -> Result<usize, NotResolved> {
        match self.size.get() {
            Ok(Some(s)) => Ok(s as usize),
            Ok(None) => Err(NotResolved {
                absent: true,
                ..self.not_resolved(None)
            }),
            Err(()) => Err(self.not_resolved(None)),
        }
    }

    /// Whether the type was found in the kernel (false before resolution).
    pub fn is_present(&self) -> bool {
        matches!(self.size.get(), Ok(Some(_)))
    }

    /// The resolved layout of field `index`; `Ok(None)` for an absent optional member.
    #[inline]
    pub fn field_layout(&self, index: usize) -> Result<Option<FieldLayout>, NotResolved> {
        let f = &self.fields[index];
        f.slot
            .get()
            .map_err(|()| self.not_resolved(Some(f.rust_name)))
    }

    /// The error for using this struct (or one of its fields) unresolved.
    pub fn not_resolved(&self, field: Option<&str>) -> NotResolved {
        let what = match field {
            Some(f) => format!("{}.{}", self.display_name(), f),
            None => self.display_name(),
        };
        NotResolved {
            what,
            absent: false,
        }
    }

    /// Forgets every resolved value of this struct.
    pub fn clear(&self) {
        self.size.clear();
        for f in self.fields {
            f.slot.clear();
        }
    }
}

/// A `#[kernel_enum]` declaration.
#[derive(Debug)]
pub struct EnumDesc {
    /// The Rust enum's name.
    pub rust_name: &'static str,
    /// The module whose BTF holds the enum.
    pub module: &'static str,
    /// Kernel enum type names to try; empty: search the constants of every enum
    /// (for constants declared in anonymous enums).
    pub names: &'static [&'static str],
    /// The declared constants, in Rust declaration order.
    pub variants: &'static [VariantDesc],
    /// Whether a kernel lacking the whole enum is acceptable (every constant
    /// is then absent).
    pub optional: bool,
    /// `file:line` of the declaration.
    pub declared_at: &'static str,
}

/// One constant of a `#[kernel_enum]`.
#[derive(Debug)]
pub struct VariantDesc {
    /// The Rust variant name.
    pub rust_name: &'static str,
    /// Kernel constant names to try, in order.
    pub names: &'static [&'static str],
    /// Whether a kernel lacking the constant is acceptable.
    pub optional: bool,
    /// The resolved value (two's complement for negative values).
    pub value: ValueSlot,
}

impl EnumDesc {
    /// A human-readable name, e.g. `enum pageflags (PageFlags)`.
    pub fn display_name(&self) -> String {
        if self.names.is_empty() {
            format!("enum constants ({})", self.rust_name)
        } else {
            format!("enum {} ({})", self.names.join("|"), self.rust_name)
        }
    }

    /// The value of variant `index`: `Ok(None)` for an absent optional constant.
    #[inline]
    pub fn variant_value(&self, index: usize) -> Result<Option<u64>, NotResolved> {
        let v = &self.variants[index];
        v.value.get().map_err(|()| NotResolved {
            what: format!("{}::{}", self.display_name(), v.rust_name),
            absent: false,
        })
    }

    /// Forgets every resolved value of this enum.
    pub fn clear(&self) {
        for v in self.variants {
            v.value.clear();
        }
    }
}

/// A kernel symbol declared with `kernel_symbols!`; filled from kallsyms or a
/// symbol table by [`crate::resolve_symbols`].
#[derive(Debug)]
pub struct SymbolDesc {
    /// The Rust static's name.
    pub rust_name: &'static str,
    /// The module defining the symbol (`"vmlinux"` for the kernel image).
    pub module: &'static str,
    /// Symbol names to try, in order.
    pub names: &'static [&'static str],
    /// Whether a kernel lacking the symbol is acceptable.
    pub optional: bool,
    /// `file:line` of the declaration.
    pub declared_at: &'static str,
    /// The resolved address.
    pub address: ValueSlot,
}

impl SymbolDesc {
    /// The symbol's address; panics with a clear message when unresolved or absent.
    ///
    /// Use [`SymbolDesc::try_address`] where absence is expected.
    pub fn address(&self) -> u64 {
        match self.try_address() {
            Ok(Some(a)) => a,
            Ok(None) => panic!(
                "ktype: optional symbol {} ({}) is absent from this kernel; use try_address()",
                self.names.join("|"),
                self.rust_name
            ),
            Err(e) => panic!("{e}"),
        }
    }

    /// `Ok(None)` when an optional symbol is absent; `Err` before resolution.
    pub fn try_address(&self) -> Result<Option<u64>, NotResolved> {
        self.address.get().map_err(|()| NotResolved {
            what: format!("symbol {} ({})", self.names.join("|"), self.rust_name),
            absent: false,
        })
    }
}
