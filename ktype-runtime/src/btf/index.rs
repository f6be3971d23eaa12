//! Name lookups: an index from type name to ids, built once per blob, and a
//! lazily built index of enum constants.

use super::kind::Kind;
use super::types::{Type, TypeId};
use super::{rd32, Btf};
use crate::text::Escaped;
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

/// Values grouped by name hash, each group in insertion order: one table
/// slot per distinct hash, holding the group's first value, and a "next of
/// the same hash" link per value. Built in one pass without sorting;
/// inserting and finding cost the same whether names repeat or not (a hash
/// table holding a million equal hashes would probe quadratically).
struct Groups<T> {
    /// Each value with the index of the next value of its hash ([`NONE`]: last).
    values: Vec<(T, u32)>,
    /// `(hash, index of the group's first value)`.
    heads: HashTable<(u64, u32)>,
}

/// End of a group's chain.
const NONE: u32 = u32::MAX;

impl<T: Copy> Groups<T> {
    fn new(entries: Vec<(u64, T)>) -> Groups<T> {
        let n = entries.len();
        Groups::from_last_to_first(n, entries.into_iter().rev())
    }

    /// Groups of `n` entries given last to first (each value is put in
    /// front of its group, so the groups come out in insertion order).
    fn from_last_to_first(n: usize, entries: impl Iterator<Item = (u64, T)>) -> Groups<T> {
        let mut values = Vec::with_capacity(n);
        let mut heads: HashTable<(u64, u32)> = HashTable::with_capacity(n);
        for (h, v) in entries {
            let at = values.len() as u32;
            match heads.find_mut(h, |e| e.0 == h) {
                Some(head) => {
                    values.push((v, head.1));
                    head.1 = at;
                }
                None => {
                    values.push((v, NONE));
                    heads.insert_unique(h, (h, at), |e| e.0);
                }
            }
        }
        Groups { values, heads }
    }

    /// The values whose name hashes to `h`, in insertion order.
    fn get(&self, h: u64) -> impl Iterator<Item = T> + '_ {
        let mut at = self.heads.find(h, |e| e.0 == h).map_or(NONE, |e| e.1);
        std::iter::from_fn(move || {
            let (v, next) = *self.values.get(at as usize)?;
            at = next;
            Some(v)
        })
    }
}

/// `name -> ids` of one blob's own types of one class. Every id is kept:
/// kernels really define some names twice (two different `struct console`).
pub(crate) struct NameIndex {
    groups: Groups<TypeId>,
}

impl NameIndex {
    fn build(btf: &Btf, decls: bool) -> NameIndex {
        let b = btf.bytes();
        let strs = &b[btf.strs.clone()];
        let types = &b[btf.types.clone()];
        let start = btf.start_id;
        let wanted = &btf.named[usize::from(decls)];
        let hashed = wanted.iter().rev().map(|&id| {
            let rel = btf.type_offs[(id - start) as usize] as usize;
            let name_off = rd32(types, rel, btf.big_endian);
            let name = match name_off
                .checked_sub(btf.start_str)
                .and_then(|o| strs.get(o as usize..))
            {
                Some(tail) => &tail[..memchr::memchr(0, tail).unwrap_or(tail.len())],
                None => btf.str_at(name_off).as_bytes(),
            };
            (hash_name(name), id)
        });
        NameIndex {
            groups: Groups::from_last_to_first(wanted.len(), hashed),
        }
    }

    /// Own types named `name`, in id order.
    fn ids<'a>(&'a self, btf: &'a Btf, name: &'a str) -> Vec<TypeId> {
        self.groups
            .get(hash_name(name.as_bytes()))
            .filter(|&id| btf.type_by_id(id).is_some_and(|t| t.name() == name))
            .collect()
    }
}

/// Where each enum constant is defined.
pub(crate) struct ConstIndex {
    /// `(enum type id, enumerator index)` by constant name hash.
    groups: Groups<(TypeId, u32)>,
}

impl ConstIndex {
    fn build(btf: &Btf) -> ConstIndex {
        let mut entries = Vec::new();
        for t in btf.own_types() {
            if matches!(t.kind(), Kind::Enum | Kind::Enum64) {
                for (i, v) in t.enum_values().enumerate() {
                    entries.push((hash_name(v.name.as_bytes()), (t.id(), i as u32)));
                }
            }
        }
        ConstIndex {
            groups: Groups::new(entries),
        }
    }
}

/// At most this many candidates of an ambiguous lookup are kept and shown.
pub const MAX_CANDIDATES: usize = 5;

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
        /// The first candidates (at most [`MAX_CANDIDATES`]), e.g.
        /// `struct console [id 1234] size 64`.
        candidates: Vec<String>,
        /// How many candidates there are in all.
        total: usize,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound { origin, what } => {
                write!(f, "{origin}: no {}", Escaped(what))
            }
            LookupError::Ambiguous {
                origin,
                what,
                candidates,
                total,
            } => {
                write!(
                    f,
                    "{origin}: {} is ambiguous, {total} definitions: ",
                    Escaped(what)
                )?;
                for (i, c) in candidates.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{}", Escaped(c))?;
                }
                if *total > candidates.len() {
                    write!(f, "; and {} more", total - candidates.len())?;
                }
                Ok(())
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
            total => Err(LookupError::Ambiguous {
                origin: self.origin.clone(),
                candidates: found
                    .iter()
                    .take(MAX_CANDIDATES)
                    .map(|t| describe(&what, t))
                    .collect(),
                total,
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
        for (id, i) in idx.groups.get(hash_name(name.as_bytes())) {
            if let Some(t) = self.type_by_id(id) {
                if let Some(v) = t.enum_values().nth(i as usize).filter(|v| v.name == name) {
                    out.push((t, v));
                }
            }
        }
        out
    }
}
