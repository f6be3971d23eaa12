//! Name lookups: an index from type name to ids, built once per blob, and a
//! lazily built index of enum constants.

use super::kind::Kind;
use super::types::{Type, TypeId};
use super::{rd32, Btf};
use hashbrown::HashTable;
use std::fmt;
use std::hash::BuildHasher;

fn hash_name(name: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x006b_7479_7065).hash_one(name)
}

/// Whether a kind is indexed with the declarations (functions, variables,
/// sections, tags) rather than with the data types. Kernels have far more
/// functions than types, so the two indexes are built separately, on demand.
pub(crate) fn is_decl(kind: u32) -> bool {
    matches!(
        Kind::from_raw(kind as u8),
        Kind::Func | Kind::Var | Kind::Datasec | Kind::DeclTag
    )
}

/// `name -> ids` of one blob's own types of one class. Every id is kept:
/// kernels really define some names twice (two different `struct console`).
pub(crate) struct NameIndex {
    table: HashTable<(u64, TypeId)>,
}

impl NameIndex {
    fn build(btf: &Btf, decls: bool) -> NameIndex {
        let b = btf.bytes();
        let strs = &b[btf.strs.clone()];
        let types = &b[btf.types.clone()];
        let start = btf.start_id;
        let wanted = &btf.named[usize::from(decls)];
        let mut table = HashTable::with_capacity(wanted.len());
        for &id in wanted {
            let rel = btf.type_offs[(id - start) as usize] as usize;
            let name_off = rd32(types, rel, btf.big_endian);
            let name = match name_off
                .checked_sub(btf.start_str)
                .and_then(|o| strs.get(o as usize..))
            {
                Some(tail) => &tail[..tail.iter().position(|&c| c == 0).unwrap_or(tail.len())],
                None => btf.str_at(name_off).as_bytes(),
            };
            let h = hash_name(name);
            table.insert_unique(h, (h, id), |e: &(u64, TypeId)| e.0);
        }
        NameIndex { table }
    }

    /// Own types named `name`, in id order.
    fn ids<'a>(&'a self, btf: &'a Btf, name: &'a str) -> Vec<TypeId> {
        let h = hash_name(name.as_bytes());
        let mut ids: Vec<TypeId> = self
            .table
            .iter_hash(h)
            .filter(|e| e.0 == h && btf.type_by_id(e.1).is_some_and(|t| t.name() == name))
            .map(|e| e.1)
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Where each enum constant is defined.
pub(crate) struct ConstIndex {
    /// `(hash, enum type id, enumerator index)`.
    table: HashTable<(u64, TypeId, u32)>,
}

impl ConstIndex {
    fn build(btf: &Btf) -> ConstIndex {
        let mut table = HashTable::new();
        for t in btf.own_types() {
            if matches!(t.kind(), Kind::Enum | Kind::Enum64) {
                for (i, v) in t.enum_values().enumerate() {
                    let h = hash_name(v.name.as_bytes());
                    table.insert_unique(h, (h, t.id(), i as u32), |e: &(u64, TypeId, u32)| e.0);
                }
            }
        }
        ConstIndex { table }
    }
}

/// A failed name lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No type of that name and kind.
    NotFound {
        /// The BTF searched.
        origin: String,
        /// What was looked for, e.g. `struct page`.
        what: String,
    },
    /// Several different types match; the caller must disambiguate.
    Ambiguous {
        /// The BTF searched.
        origin: String,
        /// What was looked for.
        what: String,
        /// Each candidate, e.g. `struct console [id 1234] size 64`.
        candidates: Vec<String>,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound { origin, what } => write!(f, "{origin}: no {what}"),
            LookupError::Ambiguous {
                origin,
                what,
                candidates,
            } => {
                write!(
                    f,
                    "{origin}: {what} is ambiguous, {} definitions: {}",
                    candidates.len(),
                    candidates.join("; ")
                )
            }
        }
    }
}

impl std::error::Error for LookupError {}

/// Whether a type of kind `have` answers a lookup for kind `want`.
fn kind_matches(want: Kind, have: Kind) -> bool {
    want == have || (want == Kind::Enum && have == Kind::Enum64)
}

fn describe(what: &str, t: &Type<'_>) -> String {
    match t.kind() {
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Int | Kind::Float => {
            format!("{what} [id {}] size {}", t.id(), t.size())
        }
        _ => format!("{what} [id {}]", t.id()),
    }
}

impl Btf {
    /// Every type named `name`, of any kind: the base's first, then this blob's.
    pub fn find_all(&self, name: &str) -> Vec<Type<'_>> {
        let mut out = self.find_class(name, false);
        out.extend(self.find_class(name, true));
        out.sort_by_key(|t| t.id());
        out
    }

    fn find_class(&self, name: &str, decls: bool) -> Vec<Type<'_>> {
        let mut out = match &self.base {
            Some(b) => b.find_class(name, decls),
            None => Vec::new(),
        };
        let cell = if decls {
            &self.decl_index
        } else {
            &self.type_index
        };
        let index = cell.get_or_init(|| NameIndex::build(self, decls));
        out.extend(
            index
                .ids(self, name)
                .into_iter()
                .filter_map(|id| self.type_by_id(id)),
        );
        out
    }

    /// Every type named `name` of kind `kind` (`Kind::Enum` also finds enum64).
    pub fn find(&self, name: &str, kind: Kind) -> Vec<Type<'_>> {
        let mut v = self.find_class(name, is_decl(kind.raw() as u32));
        v.retain(|t| kind_matches(kind, t.kind()));
        v
    }

    /// The one type named `name` of kind `kind`; an error naming every
    /// candidate when there are several.
    pub fn find_unique(&self, name: &str, kind: Kind) -> Result<Type<'_>, LookupError> {
        let what = if kind == Kind::Typedef || kind == Kind::Func || kind == Kind::Var {
            format!("{kind} {name}")
        } else {
            format!("{} {name}", kind.name())
        };
        let mut found = self.find(name, kind);
        match found.len() {
            0 => Err(LookupError::NotFound {
                origin: self.origin.clone(),
                what,
            }),
            1 => Ok(found.remove(0)),
            _ => Err(LookupError::Ambiguous {
                origin: self.origin.clone(),
                candidates: found.iter().map(|t| describe(&what, t)).collect(),
                what,
            }),
        }
    }

    /// Every enum (or enum64) constant named `name`: `(enum type, enumerator)`.
    pub fn find_enum_constant(&self, name: &str) -> Vec<(Type<'_>, super::EnumValue<'_>)> {
        let mut out = match &self.base {
            Some(b) => b.find_enum_constant(name),
            None => Vec::new(),
        };
        let idx = self.constants.get_or_init(|| ConstIndex::build(self));
        let h = hash_name(name.as_bytes());
        let mut hits: Vec<(TypeId, u32)> = idx
            .table
            .iter_hash(h)
            .filter(|e| e.0 == h)
            .map(|e| (e.1, e.2))
            .collect();
        hits.sort_unstable();
        for (id, i) in hits {
            if let Some(t) = self.type_by_id(id) {
                if let Some(v) = t.enum_values().nth(i as usize).filter(|v| v.name == name) {
                    out.push((t, v));
                }
            }
        }
        out
    }
}
