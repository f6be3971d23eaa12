//! Zero-copy views of type records.

use super::kind::Kind;
use super::Btf;
use std::fmt;

/// A BTF type id (0 is `void`).
pub type TypeId = u32;

/// One type record, read in place.
#[derive(Clone, Copy)]
pub struct Type<'a> {
    btf: &'a Btf,
    id: TypeId,
    /// Offset of the record in the owning blob (unused for void).
    at: usize,
    name_off: u32,
    info: u32,
    size_or_type: u32,
}

/// Encoding bits of an integer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntEncoding {
    /// `BTF_INT_SIGNED`.
    pub signed: bool,
    /// `BTF_INT_CHAR`.
    pub char: bool,
    /// `BTF_INT_BOOL`.
    pub bool: bool,
}

/// The extra word of an integer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntInfo {
    /// Signedness, char, bool.
    pub encoding: IntEncoding,
    /// `BTF_INT_OFFSET`: start bit of the value (old-style bitfields).
    pub offset: u32,
    /// `BTF_INT_BITS`: number of value bits.
    pub bits: u32,
}

/// The extra words of an array type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayInfo {
    /// Element type.
    pub elem_type: TypeId,
    /// Index type.
    pub index_type: TypeId,
    /// Number of elements.
    pub nelems: u32,
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// Name (`""` for anonymous members).
    pub name: &'a str,
    /// The member's type.
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width from a kind_flag struct (0: not a bitfield, or old-style
    /// encoding carried by the int type; see [`Btf::find_member`]).
    pub bitfield_size: u32,
}

/// An enumerator of an `enum` or `enum64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue<'a> {
    /// The constant's string offset.
    pub name_off: u32,
    /// The constant's name.
    pub name: &'a str,
    /// The value's bits, sign-extended to 64 bits when the enum is signed.
    pub raw: u64,
    /// Whether the enum is signed (kind_flag).
    pub signed: bool,
}

impl EnumValue<'_> {
    /// The value as a signed 128-bit number, exact for every encoding.
    pub fn value(&self) -> i128 {
        if self.signed {
            self.raw as i64 as i128
        } else {
            self.raw as i128
        }
    }
}

/// A function prototype parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter's string offset.
    pub name_off: u32,
    /// The parameter's name.
    pub name: &'a str,
    /// Its type.
    pub type_id: TypeId,
}

/// A variable inside a data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecInfo {
    /// The `var` type.
    pub type_id: TypeId,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

impl<'a> Type<'a> {
    pub(crate) fn at(btf: &'a Btf, id: TypeId, at: usize) -> Type<'a> {
        Type {
            btf,
            id,
            at,
            name_off: btf.u32_at(at),
            info: btf.u32_at(at + 4),
            size_or_type: btf.u32_at(at + 8),
        }
    }

    pub(crate) fn void(btf: &'a Btf) -> Type<'a> {
        Type {
            btf,
            id: 0,
            at: 0,
            name_off: 0,
            info: 0,
            size_or_type: 0,
        }
    }

    /// The type id.
    pub fn id(&self) -> TypeId {
        self.id
    }

    /// The BTF blob defining this type (the base's for base types of split BTF).
    pub fn btf(&self) -> &'a Btf {
        self.btf
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        Kind::from_raw(((self.info >> 24) & 0x7f) as u8)
    }

    /// The kind flag (bitfield encoding of structs, signedness of enums, ...).
    pub fn kind_flag(&self) -> bool {
        self.info >> 31 != 0
    }

    /// Number of variable-length elements (members, enumerators, ...).
    pub fn vlen(&self) -> usize {
        (self.info & 0x00ff_ffff) as usize
    }

    /// The name (`""` when anonymous).
    pub fn name(&self) -> &'a str {
        self.btf.str_at(self.name_off)
    }

    /// The name's string offset.
    pub fn name_off(&self) -> u32 {
        self.name_off
    }

    /// Size in bytes for int, enum, struct, union, datasec, float and enum64; 0 otherwise.
    pub fn size(&self) -> u32 {
        if self.kind().has_size() {
            self.size_or_type
        } else {
            0
        }
    }

    /// The referenced type of ptr, typedef, modifiers, func, func_proto (return), var, decl/type tags.
    pub fn ref_type(&self) -> Option<TypeId> {
        self.kind().has_type_ref().then_some(self.size_or_type)
    }

    fn word(&self, i: usize) -> u32 {
        self.btf.u32_at(self.at + 12 + 4 * i)
    }

    /// The int encoding word (all zero for other kinds).
    pub fn int_info(&self) -> IntInfo {
        if self.kind() != Kind::Int {
            return IntInfo {
                encoding: IntEncoding {
                    signed: false,
                    char: false,
                    bool: false,
                },
                offset: 0,
                bits: 0,
            };
        }
        let w = self.word(0);
        let enc = (w >> 24) & 0xf;
        IntInfo {
            encoding: IntEncoding {
                signed: enc & 1 != 0,
                char: enc & 2 != 0,
                bool: enc & 4 != 0,
            },
            offset: (w >> 16) & 0xff,
            bits: w & 0xff,
        }
    }

    /// The array words (zero for other kinds).
    pub fn array(&self) -> ArrayInfo {
        if self.kind() != Kind::Array {
            return ArrayInfo {
                elem_type: 0,
                index_type: 0,
                nelems: 0,
            };
        }
        ArrayInfo {
            elem_type: self.word(0),
            index_type: self.word(1),
            nelems: self.word(2),
        }
    }

    fn elems(&self, kinds: &[Kind], elem_sz: usize) -> impl Iterator<Item = usize> + 'a {
        let n = if kinds.contains(&self.kind()) {
            self.vlen()
        } else {
            0
        };
        let start = self.at + 12;
        (0..n).map(move |i| start + i * elem_sz)
    }

    /// `(name_off, type, offset word)` of each member of a struct or union.
    pub(crate) fn raw_members(&self) -> impl Iterator<Item = (u32, u32, u32)> + 'a {
        let btf = self.btf;
        self.elems(&[Kind::Struct, Kind::Union], 12)
            .map(move |o| (btf.u32_at(o), btf.u32_at(o + 4), btf.u32_at(o + 8)))
    }

    /// Members of a struct or union (empty for other kinds).
    pub fn members(&self) -> impl Iterator<Item = Member<'a>> + 'a {
        let btf = self.btf;
        let kflag = self.kind_flag();
        self.raw_members().map(move |(name_off, type_id, off)| {
            let (bit_offset, bitfield_size) = if kflag {
                (off & 0x00ff_ffff, off >> 24)
            } else {
                (off, 0)
            };
            Member {
                name: btf.str_at(name_off),
                type_id,
                bit_offset,
                bitfield_size,
            }
        })
    }

    /// Enumerators of an enum or enum64 (empty for other kinds).
    pub fn enum_values(&self) -> impl Iterator<Item = EnumValue<'a>> + 'a {
        let btf = self.btf;
        let signed = self.kind_flag();
        let it32 = self.elems(&[Kind::Enum], 8).map(move |o| {
            let v = btf.u32_at(o + 4);
            let raw = if signed {
                v as i32 as i64 as u64
            } else {
                v as u64
            };
            (o, raw)
        });
        let it64 = self.elems(&[Kind::Enum64], 12).map(move |o| {
            let raw = btf.u32_at(o + 4) as u64 | (btf.u32_at(o + 8) as u64) << 32;
            (o, raw)
        });
        it32.chain(it64).map(move |(o, raw)| {
            let name_off = btf.u32_at(o);
            EnumValue {
                name_off,
                name: btf.str_at(name_off),
                raw,
                signed,
            }
        })
    }

    /// Parameters of a func_proto (empty for other kinds).
    pub fn params(&self) -> impl Iterator<Item = Param<'a>> + 'a {
        let btf = self.btf;
        self.elems(&[Kind::FuncProto], 8).map(move |o| {
            let name_off = btf.u32_at(o);
            Param {
                name_off,
                name: btf.str_at(name_off),
                type_id: btf.u32_at(o + 4),
            }
        })
    }

    /// Variables of a datasec (empty for other kinds).
    pub fn datasec_vars(&self) -> impl Iterator<Item = VarSecInfo> + 'a {
        let btf = self.btf;
        self.elems(&[Kind::Datasec], 12).map(move |o| VarSecInfo {
            type_id: btf.u32_at(o),
            offset: btf.u32_at(o + 4),
            size: btf.u32_at(o + 8),
        })
    }

    /// Linkage of a var (0 static, 1 global, 2 extern) or func (vlen); `None` otherwise.
    pub fn linkage(&self) -> Option<u32> {
        match self.kind() {
            Kind::Var => Some(self.word(0)),
            Kind::Func => Some(self.vlen() as u32),
            _ => None,
        }
    }

    /// Component index of a decl_tag (-1: the whole declaration); `None` otherwise.
    pub fn decl_tag_component(&self) -> Option<i32> {
        (self.kind() == Kind::DeclTag).then(|| self.word(0) as i32)
    }
}

impl fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {} '{}'", self.id, self.kind(), self.name())
    }
}

impl fmt::Display for Type<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match (self.kind(), name.is_empty()) {
            (Kind::Void, _) => f.write_str("void"),
            (k, true) => write!(f, "{k} (anon) [id {}]", self.id),
            (k @ (Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd), false) => {
                write!(f, "{} {name} [id {}]", k.name(), self.id)
            }
            (_, false) => write!(f, "{name} [id {}]", self.id),
        }
    }
}
