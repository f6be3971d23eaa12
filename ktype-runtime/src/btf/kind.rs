//! BTF type kinds and the fixed part of each kind's record.

use std::fmt;

/// A BTF type kind (7 bits of `btf_type.info` since the 2026 format extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `void` (type id 0 only).
    Void,
    /// An integer (`BTF_KIND_INT`).
    Int,
    /// A pointer.
    Ptr,
    /// An array.
    Array,
    /// A struct.
    Struct,
    /// A union.
    Union,
    /// A 32-bit enum.
    Enum,
    /// A forward declaration.
    Fwd,
    /// A typedef.
    Typedef,
    /// `volatile`.
    Volatile,
    /// `const`.
    Const,
    /// `restrict`.
    Restrict,
    /// A function.
    Func,
    /// A function prototype.
    FuncProto,
    /// A variable.
    Var,
    /// A data section.
    Datasec,
    /// A floating-point type.
    Float,
    /// A declaration tag.
    DeclTag,
    /// A type tag.
    TypeTag,
    /// A 64-bit enum.
    Enum64,
    /// A kind this parser does not know; skipped using the layout section.
    Unknown(u8),
}

impl Kind {
    /// The kind for a raw kind number.
    pub fn from_raw(k: u8) -> Kind {
        use Kind::*;
        match k {
            0 => Void,
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            other => Unknown(other),
        }
    }

    /// The raw kind number.
    pub fn raw(self) -> u8 {
        use Kind::*;
        match self {
            Void => 0,
            Int => 1,
            Ptr => 2,
            Array => 3,
            Struct => 4,
            Union => 5,
            Enum => 6,
            Fwd => 7,
            Typedef => 8,
            Volatile => 9,
            Const => 10,
            Restrict => 11,
            Func => 12,
            FuncProto => 13,
            Var => 14,
            Datasec => 15,
            Float => 16,
            DeclTag => 17,
            TypeTag => 18,
            Enum64 => 19,
            Unknown(k) => k,
        }
    }

    /// `(bytes after the 12-byte header, bytes per vlen element)` of a known kind.
    pub(crate) fn record_shape(self) -> Option<(usize, usize)> {
        use Kind::*;
        Some(match self {
            Int | Var | DeclTag => (4, 0),
            Array => (12, 0),
            Struct | Union | Datasec | Enum64 => (0, 12),
            Enum | FuncProto => (0, 8),
            Ptr | Fwd | Typedef | Volatile | Const | Restrict | Func | Float | TypeTag => (0, 0),
            Void | Unknown(_) => return None,
        })
    }

    /// Whether `size_or_type` is a size (else it refers to a type id).
    pub(crate) fn has_size(self) -> bool {
        use Kind::*;
        matches!(self, Int | Enum | Struct | Union | Datasec | Float | Enum64)
    }

    /// Whether `size_or_type` refers to another type.
    pub(crate) fn has_type_ref(self) -> bool {
        use Kind::*;
        matches!(
            self,
            Ptr | Typedef
                | Volatile
                | Const
                | Restrict
                | Func
                | FuncProto
                | Var
                | DeclTag
                | TypeTag
        )
    }

    /// The keyword pahole/bpftool print for the kind.
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            Void => "void",
            Int => "int",
            Ptr => "ptr",
            Array => "array",
            Struct => "struct",
            Union => "union",
            Enum => "enum",
            Fwd => "fwd",
            Typedef => "typedef",
            Volatile => "volatile",
            Const => "const",
            Restrict => "restrict",
            Func => "func",
            FuncProto => "func_proto",
            Var => "var",
            Datasec => "datasec",
            Float => "float",
            DeclTag => "decl_tag",
            TypeTag => "type_tag",
            Enum64 => "enum64",
            Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Unknown(k) => write!(f, "unknown kind {k}"),
            k => f.write_str(k.name()),
        }
    }
}
