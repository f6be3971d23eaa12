//! Resolving one `#[kernel_struct]`: pick the kernel type, find each member,
//! check its shape, then store the layouts.

use super::compat::check_member;
use super::report::{FieldReport, Problem, StructReport};
use super::suggest::{did_you_mean, without_ids};
use crate::btf::{Btf, BtfSet, Kind, Type};
use crate::registry::{AggregateKind, FieldDesc, FieldLayout, Shape, StructDesc};

/// A problem of the whole struct, pointing at its declaration.
fn problem(desc: &StructDesc, why: String) -> Problem {
    Problem {
        module: desc.module.to_string(),
        item: desc.display_name(),
        member: None,
        why: without_ids(&why),
        declared_at: desc.declared_at,
    }
}

/// A problem of one field, pointing at the field's declaration.
fn field_problem(desc: &StructDesc, f: &FieldDesc, why: String) -> Problem {
    Problem {
        member: Some(f.rust_name.to_string()),
        declared_at: f.declared_at,
        ..problem(desc, why)
    }
}

/// One candidate type's member layouts, or why it does not fit.
type Fit = Result<Vec<(Option<&'static str>, Option<FieldLayout>)>, Vec<Problem>>;

fn fit(btf: &Btf, desc: &StructDesc, t: &Type<'_>) -> Fit {
    if let Err(e) = btf.check_type(t.id()) {
        return Err(vec![problem(desc, e.to_string())]);
    }
    let size_bits = t.size() as u64 * 8;
    let mut out = Vec::with_capacity(desc.fields.len());
    let mut problems = Vec::new();
    for f in desc.fields {
        let shape: Shape = (f.shape)();
        let mut last_err = None;
        let mut hint = None;
        let mut found = None;
        for &p in f.paths {
            match btf.member_path(t.id(), p) {
                Ok(loc) => {
                    found = Some((p, loc));
                    break;
                }
                Err(e) => {
                    hint = hint.or_else(|| did_you_mean(btf, t.id(), &e));
                    last_err = Some(e);
                }
            }
        }
        let Some((path, loc)) = found else {
            if f.optional {
                out.push((None, None));
            } else {
                let tried = f
                    .paths
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let why = last_err.map(|e| e.to_string()).unwrap_or_default();
                let hint = hint.map(|h| format!("; {h}")).unwrap_or_default();
                problems.push(field_problem(
                    desc,
                    f,
                    format!("no member {tried} in this kernel: {why}{hint}"),
                ));
            }
            continue;
        };
        match check_member(btf, &loc, &shape) {
            Ok(layout) => {
                let width = if loc.bitfield_size > 0 {
                    Some(loc.bitfield_size as u64)
                } else {
                    btf.size_of(loc.type_id).map(|s| s * 8)
                };
                match width {
                    Some(w) if loc.bit_offset + w <= size_bits => {
                        out.push((Some(path), Some(layout)))
                    }
                    _ => problems.push(field_problem(
                        desc,
                        f,
                        format!(
                            "member `{path}` at bit {} lies outside the {}-byte {} (corrupt BTF?)",
                            loc.bit_offset,
                            t.size(),
                            t
                        ),
                    )),
                }
            }
            Err(why) => problems.push(field_problem(
                desc,
                f,
                format!("`{path}` ({}): {why}", btf.c_decl(loc.type_id, path)),
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Resolves `desc` and stores its size and member layouts.
pub(crate) fn resolve_struct(
    set: &BtfSet,
    desc: &'static StructDesc,
) -> Result<StructReport, Vec<Problem>> {
    let absent = || StructReport {
        desc,
        type_id: None,
        name: None,
        size: None,
        fields: Vec::new(),
    };
    let Some(btf) = set.get(desc.module) else {
        if desc.optional {
            desc.size.set(None);
            return Ok(absent());
        }
        return Err(vec![problem(
            desc,
            format!("no BTF loaded for module `{}`", desc.module),
        )]);
    };
    let kind = match desc.kind {
        AggregateKind::Struct => Kind::Struct,
        AggregateKind::Union => Kind::Union,
    };
    for &name in desc.names {
        let cands = btf.find(name, kind);
        if cands.is_empty() {
            continue;
        }
        let fits: Vec<(Type<'_>, Fit)> = cands.iter().map(|t| (*t, fit(btf, desc, t))).collect();
        let ok: Vec<&(Type<'_>, Fit)> = fits.iter().filter(|f| f.1.is_ok()).collect();
        let chosen = match ok.len() {
            0 if fits.len() == 1 => {
                return Err(fits
                    .into_iter()
                    .next()
                    .and_then(|f| f.1.err())
                    .unwrap_or_default())
            }
            0 => {
                let each: Vec<String> = fits
                    .iter()
                    .enumerate()
                    .map(|(i, (t, f))| {
                        format!(
                            "[#{} of {}, size {}: {}]",
                            i + 1,
                            fits.len(),
                            t.size(),
                            f.as_ref()
                                .err()
                                .map(|p| p
                                    .iter()
                                    .map(|p| p.why.clone())
                                    .collect::<Vec<_>>()
                                    .join("; "))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                return Err(vec![problem(
                    desc,
                    format!(
                        "none of the {} definitions of {} {name} fits: {}",
                        fits.len(),
                        kind.name(),
                        each.join(" ")
                    ),
                )]);
            }
            1 => ok[0],
            _ => {
                let first = ok[0];
                let same = ok.iter().all(|o| {
                    o.0.size() == first.0.size() && o.1.as_ref().ok() == first.1.as_ref().ok()
                });
                if !same {
                    let ids: Vec<String> =
                        ok.iter().map(|o| format!("size {}", o.0.size())).collect();
                    return Err(vec![problem(desc, format!("{} {name} is ambiguous: {} different definitions fit the declared members: {}; declare a member that tells them apart", kind.name(), ok.len(), ids.join(", ")))]);
                }
                first
            }
        };
        let (t, layouts) = (chosen.0, chosen.1.as_ref().map_err(Clone::clone)?);
        desc.size.set(Some(t.size() as u64));
        let mut fields = Vec::with_capacity(layouts.len());
        for (f, (path, layout)) in desc.fields.iter().zip(layouts) {
            f.slot.set(*layout);
            fields.push(FieldReport {
                rust_name: f.rust_name,
                path: *path,
                layout: *layout,
            });
        }
        return Ok(StructReport {
            desc,
            type_id: Some(t.id()),
            name: Some(name),
            size: Some(t.size() as u64),
            fields,
        });
    }
    if desc.optional {
        desc.size.set(None);
        for f in desc.fields {
            f.slot.set(None);
        }
        return Ok(absent());
    }
    let names = desc
        .names
        .iter()
        .map(|n| format!("{} {n}", kind.name()))
        .collect::<Vec<_>>()
        .join(" or ");
    let hint = desc
        .names
        .first()
        .and_then(|n| {
            let all = btf.all_types();
            let names: Vec<&str> = all
                .filter(|t| t.kind() == kind && !t.name().is_empty())
                .map(|t| t.name())
                .collect();
            super::suggest::nearest(n, names)
                .map(|s| format!("; did you mean {} {s}?", kind.name()))
        })
        .unwrap_or_default();
    Err(vec![problem(
        desc,
        format!("no {names} in {}{hint}", btf.origin()),
    )])
}

/// A nested `#[kernel_struct]` field is read through the nested type's own
/// layout, so that type must be resolved, with the member's exact size.
pub(crate) fn check_nested_sizes(set: &BtfSet, report: &super::Report) -> Vec<Problem> {
    let mut problems = Vec::new();
    for s in &report.structs {
        let (Some(btf), Some(id)) = (set.get(s.desc.module), s.type_id) else {
            continue;
        };
        for (f, r) in s.desc.fields.iter().zip(&s.fields) {
            let (Shape::Struct(inner), Some(path)) = ((f.shape)(), r.path) else {
                continue;
            };
            let member_size = btf
                .member_path(id, path)
                .ok()
                .and_then(|l| btf.size_of(l.type_id));
            match (inner.try_size(), member_size) {
                (Ok(a), Some(b)) if a as u64 == b => {}
                (Ok(a), b) => {
                    f.slot.clear();
                    problems.push(field_problem(
                        s.desc,
                        f,
                        format!(
                            "nested {} resolved to {a} bytes but the member is {} bytes",
                            inner.display_name(),
                            b.unwrap_or(0)
                        ),
                    ));
                }
                (Err(_), _) => {
                    f.slot.clear();
                    problems.push(field_problem(
                        s.desc,
                        f,
                        format!(
                            "nested {} is not resolved (resolve it in the same call)",
                            inner.display_name()
                        ),
                    ));
                }
            }
        }
    }
    problems
}
