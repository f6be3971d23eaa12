//! Resolving one `#[kernel_enum]`: find the enum (or, for anonymous enums,
//! each constant) and store the values.

use super::report::{EnumReport, Problem};
use crate::btf::{BtfSet, EnumValue, Kind, Type};
use crate::registry::EnumDesc;

fn problem(desc: &EnumDesc, member: Option<&str>, why: String) -> Problem {
    Problem {
        module: desc.module.to_string(),
        item: desc.display_name(),
        member: member.map(str::to_string),
        why: super::suggest::without_ids(&why),
        declared_at: desc.declared_at,
    }
}

/// Resolves `desc` and stores its constants' values.
pub(crate) fn resolve_enum(
    set: &BtfSet,
    desc: &'static EnumDesc,
) -> Result<EnumReport, Vec<Problem>> {
    let Some(btf) = set.get(desc.module) else {
        return Err(vec![problem(
            desc,
            None,
            format!("no BTF loaded for module `{}`", desc.module),
        )]);
    };
    // The enum type, for named enums; each constant is then looked up in it.
    let mut enum_type: Option<Type<'_>> = None;
    if !desc.names.is_empty() {
        for &name in desc.names {
            let cands = btf.find(name, Kind::Enum);
            match cands.len() {
                0 => continue,
                1 => enum_type = Some(cands[0]),
                _ => {
                    let fits: Vec<Type<'_>> = cands
                        .into_iter()
                        .filter(|t| {
                            desc.variants.iter().all(|v| {
                                v.optional
                                    || v.names
                                        .iter()
                                        .any(|n| t.enum_values().any(|e| e.name == *n))
                            })
                        })
                        .collect();
                    if fits.len() != 1 {
                        let ids: Vec<String> = fits
                            .iter()
                            .map(|t| format!("({} values)", t.vlen()))
                            .collect();
                        return Err(vec![problem(
                            desc,
                            None,
                            format!(
                                "enum {name} is ambiguous: {} definitions {}",
                                fits.len(),
                                ids.join(", ")
                            ),
                        )]);
                    }
                    enum_type = Some(fits[0]);
                }
            }
            break;
        }
        if enum_type.is_none() && desc.optional {
            for v in desc.variants {
                v.value.set(None);
            }
            return Ok(EnumReport {
                desc,
                values: desc.variants.iter().map(|v| (v.rust_name, None)).collect(),
            });
        }
        if enum_type.is_none() {
            let names = desc
                .names
                .iter()
                .map(|n| format!("enum {n}"))
                .collect::<Vec<_>>()
                .join(" or ");
            return Err(vec![problem(
                desc,
                None,
                format!("no {names} in {}", btf.origin()),
            )]);
        }
    }
    if let Some(t) = enum_type {
        if let Err(e) = btf.check_type(t.id()) {
            return Err(vec![problem(desc, None, e.to_string())]);
        }
    }
    let mut values = Vec::with_capacity(desc.variants.len());
    let mut problems = Vec::new();
    for v in desc.variants {
        let mut found: Option<EnumValue<'_>> = None;
        for &n in v.names {
            let hit = match enum_type {
                Some(t) => t.enum_values().find(|e| e.name == n),
                None => {
                    let all = btf.find_enum_constant(n);
                    let first = all.first().map(|a| a.1);
                    if all
                        .iter()
                        .any(|a| Some(a.1.value()) != first.map(|f| f.value()))
                    {
                        let each: Vec<String> = all
                            .iter()
                            .map(|(t, e)| format!("{} in {t}", e.value()))
                            .collect();
                        problems.push(problem(
                            desc,
                            Some(v.rust_name),
                            format!(
                                "constant {n} has different values in different enums: {}",
                                each.join(", ")
                            ),
                        ));
                    }
                    first
                }
            };
            if hit.is_some() {
                found = hit;
                break;
            }
        }
        match found {
            Some(e) => values.push((v.rust_name, Some(e.raw))),
            None if v.optional => values.push((v.rust_name, None)),
            None => {
                let tried = v.names.join(", ");
                let place = enum_type
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "any enum".into());
                problems.push(problem(
                    desc,
                    Some(v.rust_name),
                    format!("no constant {tried} in {place}"),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    for (v, (_, val)) in desc.variants.iter().zip(&values) {
        v.value.set(*val);
    }
    Ok(EnumReport { desc, values })
}
