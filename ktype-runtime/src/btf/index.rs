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

/// Entries grouped by name hash: `entries` sorted by hash (then by value),
/// and one table slot per distinct hash pointing at its run. Inserting and
/// finding cost the same whether names repeat or not (a hash table holding
/// a million equal hashes probes quadratically).
struct Groups<T> {
    entries: Vec<(u64, T)>,
    /// `(hash, start, len)` of each run of `entries`.
    table: HashTable<(u64, usize, usize)>,
}

impl<T: Ord + Copy> Groups<T> {
    fn new(mut entries: Vec<(u64, T)>) -> Groups<T> {
        entries.sort_unstable();
        let mut table = HashTable::new();
        let mut start = 0;
        while start < entries.len() {
            let h = entries[start].0;
            let len = entries[start..].partition_point(|e| e.0 == h);
            table.insert_unique(h, (h, start, len), |e: &(u64, usize, usize)| e.0);
            start += len;
        }
        Groups { entries, table }
    }

    /// The values whose name hashes to `h`, in order.
    fn get(&self, h: u64) -> impl Iterator<Item = T> + '_ {
        let run = self
            .table
            .find(h, |e| e.0 == h)
            .map_or(0..0, |&(_, start, len)| start..start + len);
        self.entries[run].iter().map(|e| e.1)
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
        let mut entries = Vec::with_capacity(wanted.len());
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
            entries.push((hash_name(name), id));
        }
        NameIndex {
            groups: Groups::new(entries),
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
