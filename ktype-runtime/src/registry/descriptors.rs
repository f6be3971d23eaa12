//! Descriptor types: what a declaration asks of the kernel, plus its slots.
//!
//! The macros build these as `static`s; their fields are public so that the
//! generated code can use struct literals, but only the resolver writes slots.

use super::field::Shape;
use super::slots::{FieldLayout, FieldSlot, NotResolved, ValueSlot};
use super::view::ViewError;

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
    /// Where it is declared: `module_path!()` of the declaration (its first
    /// segment is the defining crate), for scoped resolution.
    pub defined_in: &'static str,
    /// The `group = "..."` it was declared with; empty for the crate's default group.
    pub group: &'static str,
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
    /// `file:line` of the field's declaration, for reports.
    pub declared_at: &'static str,
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

    /// The resolved size for reading a value: [`ViewError::NotResolved`]
    /// before resolution, [`ViewError::Absent`] for an absent optional type.
    pub fn view_size(&self) -> Result<usize, ViewError> {
        match self.size.get() {
            Ok(Some(s)) => Ok(s as usize),
            Ok(None) => Err(ViewError::Absent {
                what: self.display_name(),
            }),
            Err(()) => Err(ViewError::NotResolved(self.not_resolved(None))),
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

    /// The layout of required field `index`.
    ///
    /// # Panics
    ///
    /// Before resolution, or when the field is absent, naming the struct and the field.
    #[inline]
    pub fn required_layout(&self, index: usize) -> FieldLayout {
        match self.try_required_layout(index) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        }
    }

    /// The layout of required field `index`, or why it is not usable.
    #[inline]
    pub fn try_required_layout(&self, index: usize) -> Result<FieldLayout, NotResolved> {
        match self.field_layout(index)? {
            Some(l) => Ok(l),
            None => Err(NotResolved {
                absent: true,
                ..self.not_resolved(Some(self.fields[index].rust_name))
            }),
        }
    }

    /// The layout of optional field `index`; `None` when absent (or unresolved).
    #[inline]
    pub fn optional_layout(&self, index: usize) -> Option<FieldLayout> {
        self.field_layout(index).ok().flatten()
    }

    /// The layout of optional field `index`; `None` when absent.
    ///
    /// # Panics
    ///
    /// Before resolution.
    #[inline]
    pub fn optional_layout_or_panic(&self, index: usize) -> Option<FieldLayout> {
        match self.field_layout(index) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        }
    }

    /// Width in bits of field `index`: a bitfield's width, else the member's
    /// size × 8; `Ok(None)` for an absent optional member.
    pub fn field_bits(&self, index: usize) -> Result<Option<u32>, NotResolved> {
        let Some(l) = self.field_layout(index)? else {
            return Ok(None);
        };
        if l.bitfield_bits != 0 {
            return Ok(Some(l.bitfield_bits as u32));
        }
        Ok(Some(
            (self.fields[index].shape)()
                .static_size()
                .map_or(0, |s| (s * 8) as u32),
        ))
    }

    /// [`StructDesc::field_bits`] of a required field.
    ///
    /// # Panics
    ///
    /// Before resolution, or when the field is absent.
    pub fn required_bits(&self, index: usize) -> u32 {
        let _ = self.required_layout(index);
        self.field_bits(index).ok().flatten().unwrap_or(0)
    }

    /// [`StructDesc::field_bits`] of an optional field.
    ///
    /// # Panics
    ///
    /// Before resolution.
    pub fn field_bits_or_panic(&self, index: usize) -> Option<u32> {
        match self.field_bits(index) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    /// The size, checked against `len` bytes at hand: what a view or an owned
    /// value of this struct uses.
    ///
    /// # Errors
    ///
    /// Not resolved, absent, or `len` shorter than the struct.
    pub fn check_len(&self, len: usize) -> Result<usize, ViewError> {
        let need = self.view_size()?;
        if len < need {
            return Err(ViewError::TooShort {
                what: self.display_name(),
                need,
                got: len,
            });
        }
        Ok(need)
    }

    /// The resolved size.
    ///
    /// # Panics
    ///
    /// Before resolution, or when this optional type is absent.
    pub fn size_or_panic(&self) -> usize {
        match self.size.get() {
            Ok(Some(v)) => v as usize,
            Ok(None) => panic!(
                "ktype: optional {} is absent from this kernel; check is_present() first",
                self.display_name()
            ),
            Err(()) => panic!("{}", self.not_resolved(None)),
        }
    }

    /// Panics for a member read outside a view (only possible if a binding
    /// changed after the view was made).
    #[cold]
    pub fn outside_view(&self, index: usize, len: usize) -> ! {
        panic!(
            "ktype: {}.{} lies outside the {len} bytes of the view",
            self.display_name(),
            self.fields[index].rust_name
        )
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
    /// `module_path!()` of the declaration, for scoped resolution.
    pub defined_in: &'static str,
    /// The `group = "..."` it was declared with; empty for the crate's default group.
    pub group: &'static str,
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
    /// `module_path!()` of the declaration, for scoped resolution.
    pub defined_in: &'static str,
    /// The `group = "..."` it was declared with; empty for the crate's default group.
    pub group: &'static str,
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
