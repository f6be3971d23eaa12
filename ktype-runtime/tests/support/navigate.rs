//! "Navigate everything": calls every read-only query of a loaded [`Btf`] on
//! every type, member, enumerator and name. Used by the corruption tests and
//! the fuzz targets (which include this file by path): whatever the input,
//! none of it may panic or hang.

use ktype_runtime::btf::{Btf, Kind, Type, TypeId};
use std::ops::Range;

/// Members per type whose paths are followed.
pub const MAX_PATHS_PER_TYPE: usize = 64;

/// Every kind a lookup can ask for (plus one unknown kind).
pub const LOOKUP_KINDS: [Kind; 21] = [
    Kind::Void,
    Kind::Int,
    Kind::Ptr,
    Kind::Array,
    Kind::Struct,
    Kind::Union,
    Kind::Enum,
    Kind::Fwd,
    Kind::Typedef,
    Kind::Volatile,
    Kind::Const,
    Kind::Restrict,
    Kind::Func,
    Kind::FuncProto,
    Kind::Var,
    Kind::Datasec,
    Kind::Float,
    Kind::DeclTag,
    Kind::TypeTag,
    Kind::Enum64,
    Kind::Unknown(25),
];

/// Navigates every type visible from `btf` (its base's too, for split BTF)
/// and one id past the end. Returns a value derived from everything read.
pub fn navigate(btf: &Btf) -> u64 {
    let mut acc = btf.validate().is_ok() as u64;
    acc = acc.wrapping_add(btf.all_types().count() as u64);
    acc = acc.wrapping_add(btf.own_types().map(|t| t.id() as u64).sum::<u64>());
    acc = acc.wrapping_add(navigate_ids(btf, 0..btf.next_id().saturating_add(2), true));
    acc
}

/// Navigates the types with ids in `ids` (ids past the end included: they
/// must be `None`, not a panic), and, with `lookups`, looks up each of their
/// names and enum constants (which builds the name indexes of the blob).
pub fn navigate_ids(btf: &Btf, ids: Range<TypeId>, lookups: bool) -> u64 {
    let mut acc = 0u64;
    let mut names: Vec<String> = Vec::new();
    let mut consts: Vec<String> = Vec::new();
    for id in ids {
        acc = acc.wrapping_add(btf.check_type(id).is_ok() as u64);
        acc = acc.wrapping_add(btf.size_of(id).unwrap_or(0));
        acc = acc.wrapping_add(btf.c_decl(id, "x").len() as u64);
        acc = acc.wrapping_add(btf.type_name(id).len() as u64);
        acc = acc.wrapping_add(btf.skip_modifiers(id).map_or(0, |t| t.id()) as u64);
        acc = acc.wrapping_add(btf.find_member(id, "x").map_or(0, |m| m.bit_offset));
        let _ = btf.member_path(id, "x.y[1]");
        let Some(t) = btf.type_by_id(id) else {
            continue;
        };
        acc = acc.wrapping_add(touch_type(btf, &t, &mut consts));
        if !t.name().is_empty() {
            names.push(t.name().to_string());
        }
    }
    if !lookups {
        return acc;
    }
    names.sort();
    names.dedup();
    for n in &names {
        for k in LOOKUP_KINDS {
            acc = acc.wrapping_add(btf.find(n, k).len() as u64);
            acc = acc.wrapping_add(
                btf.find_unique(n, k)
                    .map_or_else(|e| e.to_string().len(), |t| t.id() as usize)
                    as u64,
            );
        }
        acc = acc.wrapping_add(btf.find_all(n).len() as u64);
    }
    consts.sort();
    consts.dedup();
    for c in &consts {
        for (t, v) in btf.find_enum_constant(c) {
            acc = acc.wrapping_add(t.id() as u64 ^ v.raw);
        }
    }
    acc = acc.wrapping_add(btf.pointer_size() as u64);
    acc
}

/// Reads every field of one type and follows its members' paths.
fn touch_type(btf: &Btf, t: &Type<'_>, consts: &mut Vec<String>) -> u64 {
    let mut acc = t.id() as u64;
    acc = acc.wrapping_add(t.kind().raw() as u64 + t.kind_flag() as u64 + t.vlen() as u64);
    acc = acc.wrapping_add(t.name().len() as u64 + t.name_off() as u64 + t.size() as u64);
    acc = acc.wrapping_add(t.ref_type().unwrap_or(0) as u64);
    acc = acc.wrapping_add(t.btf().own_type_count() as u64);
    acc = acc.wrapping_add(t.to_string().len() as u64 + format!("{t:?}").len() as u64);
    let ii = t.int_info();
    acc = acc.wrapping_add((ii.bits + ii.offset) as u64 + ii.encoding.signed as u64);
    let a = t.array();
    acc = acc.wrapping_add((a.elem_type ^ a.index_type ^ a.nelems) as u64);
    acc = acc
        .wrapping_add(t.linkage().unwrap_or(0) as u64 + t.decl_tag_component().unwrap_or(0) as u64);
    for p in t.params() {
        acc = acc.wrapping_add(p.name.len() as u64 + p.type_id as u64 + p.name_off as u64);
    }
    for v in t.datasec_vars() {
        acc = acc.wrapping_add((v.type_id ^ v.offset ^ v.size) as u64);
    }
    for v in t.enum_values() {
        acc = acc.wrapping_add(v.value() as u64 ^ v.name_off as u64);
        if !v.name.is_empty() {
            consts.push(v.name.to_string());
        }
    }
    for (i, mb) in t.members().enumerate() {
        acc = acc.wrapping_add(mb.bit_offset as u64 + mb.bitfield_size as u64 + mb.type_id as u64);
        // A path lookup scans the members: follow the paths of the first
        // few only, or a corrupt vlen makes this quadratic.
        if mb.name.is_empty() || i >= MAX_PATHS_PER_TYPE {
            continue;
        }
        acc = acc.wrapping_add(path(btf, t.id(), mb.name));
        acc = acc.wrapping_add(btf.find_member(t.id(), mb.name).map_or(0, |l| l.bit_offset));
        let Some(inner) = btf.skip_modifiers(mb.type_id) else {
            continue;
        };
        match inner.kind() {
            Kind::Array => {
                let n = inner.array().nelems as u64;
                for i in [0, n.saturating_sub(1), n, u64::MAX] {
                    acc = acc.wrapping_add(path(btf, t.id(), &format!("{}[{i}]", mb.name)));
                }
                acc = acc.wrapping_add(path(btf, t.id(), &format!("{}[0][1]", mb.name)));
            }
            Kind::Struct | Kind::Union => {
                if let Some(first) = inner.members().find(|m| !m.name.is_empty()) {
                    let p = format!("{}.{}", mb.name, first.name);
                    acc = acc.wrapping_add(path(btf, t.id(), &p));
                }
            }
            _ => {}
        }
    }
    for bad in ["", ".", "a..b", "[0]", "a[", "a[-1]", "a]"] {
        let _ = btf.member_path(t.id(), bad);
    }
    acc
}

fn path(btf: &Btf, id: TypeId, p: &str) -> u64 {
    match btf.member_path(id, p) {
        Ok(l) => {
            l.bit_offset.wrapping_add(l.byte_offset()) ^ l.bitfield_size as u64 ^ l.type_id as u64
        }
        Err(e) => e.to_string().len() as u64,
    }
}
