//! Member layout: finding members (through anonymous structs and unions),
//! dotted member paths, bitfields in both encodings, and type sizes.

use super::kind::Kind;
use super::types::{Type, TypeId};
use super::Btf;
use std::fmt;

/// How deep typedef chains and anonymous-member nesting may go before the
/// input is taken to be cyclic (corrupt).
const MAX_DEPTH: usize = 64;

/// How many members one member search may look at, anonymous members'
/// members included: anonymous types shared by several members (a DAG)
/// would otherwise make a search exponential in the nesting depth.
const MAX_VISITS: usize = 1 << 16;

/// Where a member lives inside an outer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberLoc {
    /// Offset from the start of the outer type, in bits (a bitfield's first bit).
    pub bit_offset: u64,
    /// Bitfield width in bits; 0 when the member is not a bitfield.
    pub bitfield_size: u32,
    /// The member's declared type.
    pub type_id: TypeId,
}

impl MemberLoc {
    /// Byte offset (of the byte holding the first bit, for bitfields).
    pub fn byte_offset(&self) -> u64 {
        self.bit_offset / 8
    }
}

/// Why a member path did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The whole path asked for.
    pub path: String,
    /// The component that failed.
    pub component: String,
    /// The type it was looked up in, e.g. `struct page [id 12]`.
    pub in_type: String,
    /// What went wrong.
    pub why: PathErrorKind,
}

/// The reason inside a [`PathError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathErrorKind {
    /// No member of that name (not even inside anonymous members).
    NoSuchMember,
    /// The path goes through something that is not a struct or union.
    NotAggregate,
    /// `[N]` on something that is not an array, or past its end.
    BadIndex,
    /// A component is empty or malformed.
    Malformed,
    /// Typedef or nesting chains deeper than any real kernel's: corrupt BTF.
    TooDeep,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.why {
            PathErrorKind::NoSuchMember => "has no member",
            PathErrorKind::NotAggregate => "is not a struct or union, so it has no member",
            PathErrorKind::BadIndex => "cannot be indexed as",
            PathErrorKind::Malformed => "path component is malformed:",
            PathErrorKind::TooDeep => "nests too deeply (corrupt BTF?) looking for",
        };
        write!(
            f,
            "{} {why} `{}` (path `{}`)",
            self.in_type, self.component, self.path
        )
    }
}

impl std::error::Error for PathError {}

impl Btf {
    /// Follows typedefs and const/volatile/restrict/type-tag modifiers.
    pub fn skip_modifiers(&self, id: TypeId) -> Option<Type<'_>> {
        let mut t = self.type_by_id(id)?;
        for _ in 0..MAX_DEPTH {
            match t.kind() {
                Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                    t = self.type_by_id(t.ref_type()?)?
                }
                _ => return Some(t),
            }
        }
        None
    }

    /// Pointer size of the target, from the size of `long`.
    pub fn pointer_size(&self) -> u32 {
        self.find("long int", Kind::Int)
            .first()
            .map(|t| t.size())
            .unwrap_or(8)
    }

    /// Size in bytes of any sized type (`None` for void, functions, cycles, overflow).
    pub fn size_of(&self, id: TypeId) -> Option<u64> {
        let mut mult: u64 = 1;
        let mut t = self.type_by_id(id)?;
        for _ in 0..MAX_DEPTH {
            match t.kind() {
                Kind::Int
                | Kind::Enum
                | Kind::Enum64
                | Kind::Struct
                | Kind::Union
                | Kind::Float
                | Kind::Datasec => {
                    return mult.checked_mul(t.size() as u64);
                }
                Kind::Ptr => return mult.checked_mul(self.pointer_size() as u64),
                Kind::Array => {
                    let a = t.array();
                    mult = mult.checked_mul(a.nelems as u64)?;
                    t = self.type_by_id(a.elem_type)?;
                }
                Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::TypeTag
                | Kind::Var => t = self.type_by_id(t.ref_type()?)?,
                _ => return None,
            }
        }
        None
    }

    /// Finds member `name` of struct/union `id`, descending into anonymous
    /// struct and union members; bitfields of both encodings are decoded.
    pub fn find_member(&self, id: TypeId, name: &str) -> Option<MemberLoc> {
        let mut visits = MAX_VISITS;
        self.find_member_in(id, name, 0, 0, &mut visits)
            .ok()
            .flatten()
    }

    fn find_member_in(
        &self,
        id: TypeId,
        name: &str,
        base: u64,
        depth: usize,
        visits: &mut usize,
    ) -> Result<Option<MemberLoc>, ()> {
        if depth > MAX_DEPTH {
            return Err(());
        }
        let Some(t) = self.skip_modifiers(id) else {
            return Ok(None);
        };
        for m in t.members() {
            *visits = visits.checked_sub(1).ok_or(())?;
            let off = base + m.bit_offset as u64;
            if m.name == name {
                return Ok(Some(self.member_loc(off, m.bitfield_size, m.type_id)));
            }
            if m.name.is_empty() {
                if let Some(inner) = self.skip_modifiers(m.type_id) {
                    if matches!(inner.kind(), Kind::Struct | Kind::Union) {
                        if let Some(found) =
                            self.find_member_in(m.type_id, name, off, depth + 1, visits)?
                        {
                            return Ok(Some(found));
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Decodes a member's location; old-style bitfields carry their width and
    /// extra bit offset in the int type (`BTF_INT_OFFSET`/`BTF_INT_BITS`).
    fn member_loc(&self, bit_offset: u64, bitfield_size: u32, type_id: TypeId) -> MemberLoc {
        if bitfield_size == 0 {
            if let Some(t) = self.skip_modifiers(type_id) {
                let ii = t.int_info();
                if t.kind() == Kind::Int
                    && (ii.offset != 0 || ii.bits as u64 != t.size() as u64 * 8)
                {
                    return MemberLoc {
                        bit_offset: bit_offset + ii.offset as u64,
                        bitfield_size: ii.bits,
                        type_id,
                    };
                }
            }
        }
        MemberLoc {
            bit_offset,
            bitfield_size,
            type_id,
        }
    }

    /// Resolves a dotted member path such as `_refcount.counter` or
    /// `zone_pgdat.node_zones[1].name` inside type `id`.
    pub fn member_path(&self, id: TypeId, path: &str) -> Result<MemberLoc, PathError> {
        let mut cur = MemberLoc {
            bit_offset: 0,
            bitfield_size: 0,
            type_id: id,
        };
        for comp in path.split('.') {
            let err = |why, on: TypeId| PathError {
                path: path.to_string(),
                component: comp.to_string(),
                in_type: self
                    .type_by_id(on)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| format!("type id {on}")),
                why,
            };
            let (name, index) =
                parse_component(comp).ok_or_else(|| err(PathErrorKind::Malformed, cur.type_id))?;
            let outer = self
                .skip_modifiers(cur.type_id)
                .ok_or_else(|| err(PathErrorKind::TooDeep, cur.type_id))?;
            if !matches!(outer.kind(), Kind::Struct | Kind::Union) {
                return Err(err(PathErrorKind::NotAggregate, cur.type_id));
            }
            let mut visits = MAX_VISITS;
            let m = match self.find_member_in(outer.id(), name, 0, 0, &mut visits) {
                Ok(Some(m)) => m,
                Ok(None) => return Err(err(PathErrorKind::NoSuchMember, outer.id())),
                Err(()) => return Err(err(PathErrorKind::TooDeep, outer.id())),
            };
            cur = MemberLoc {
                bit_offset: cur
                    .bit_offset
                    .checked_add(m.bit_offset)
                    .ok_or_else(|| err(PathErrorKind::BadIndex, outer.id()))?,
                ..m
            };
            for i in index {
                let arr = self
                    .skip_modifiers(cur.type_id)
                    .filter(|t| t.kind() == Kind::Array)
                    .map(|t| t.array());
                let Some(a) = arr.filter(|a| i < a.nelems as u64) else {
                    return Err(err(PathErrorKind::BadIndex, cur.type_id));
                };
                let elem = self
                    .size_of(a.elem_type)
                    .ok_or_else(|| err(PathErrorKind::BadIndex, cur.type_id))?;
                let bit_offset = i
                    .checked_mul(elem)
                    .and_then(|b| b.checked_mul(8))
                    .and_then(|b| b.checked_add(cur.bit_offset))
                    .ok_or_else(|| err(PathErrorKind::BadIndex, cur.type_id))?;
                cur = MemberLoc {
                    bit_offset,
                    bitfield_size: 0,
                    type_id: a.elem_type,
                };
            }
        }
        Ok(cur)
    }
}

/// Splits `name[1][2]` into the name and its indices.
fn parse_component(comp: &str) -> Option<(&str, Vec<u64>)> {
    let (name, mut rest) = match comp.find('[') {
        Some(i) => (&comp[..i], &comp[i..]),
        None => (comp, ""),
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let mut idx = Vec::new();
    while !rest.is_empty() {
        let close = rest.find(']')?;
        if !rest.starts_with('[') {
            return None;
        }
        idx.push(rest[1..close].parse().ok()?);
        rest = &rest[close + 1..];
    }
    Some((name, idx))
}

#[cfg(test)]
mod tests {
    use super::parse_component;

    #[test]
    fn parses_path_components() {
        assert_eq!(parse_component("flags"), Some(("flags", vec![])));
        assert_eq!(
            parse_component("node_zones[1][2]"),
            Some(("node_zones", vec![1, 2]))
        );
        assert_eq!(parse_component(""), None);
        assert_eq!(parse_component("a[x]"), None);
        assert_eq!(parse_component("a[1"), None);
        assert_eq!(parse_component("a b"), None);
    }
}
