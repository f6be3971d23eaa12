//! Every type our parser reads equals what libbpf reads (through bpftool's
//! raw dump) for the same BTF: kinds, names, sizes, references, members with
//! bit offsets and bitfield sizes, enumerator values (pageflags, pagetype,
//! every other enum), parameters and data sections. vmlinux and split module
//! BTF of both Debian kernels.

use ktype_runtime::btf::{Btf, Kind, Type};
use ktype_tests::bpftool::{self, RawType};
use ktype_tests::fixtures::{kernels, run_tool};
use std::sync::Arc;

fn kind_word(k: Kind) -> String {
    k.name().to_uppercase()
}

/// Differences between bpftool's view of one type and ours.
fn diff(raw: &RawType, t: &Type<'_>) -> Vec<String> {
    let mut d = Vec::new();
    let mut eq = |what: &str, theirs: Option<&str>, ours: String| {
        if let Some(theirs) = theirs {
            if theirs != ours {
                d.push(format!(
                    "[{}] {what}: bpftool {theirs}, ours {ours}",
                    raw.id
                ));
            }
        }
    };
    eq("kind", Some(raw.kind.as_str()), kind_word(t.kind()));
    eq("name", Some(raw.name.as_str()), t.name().to_string());
    eq("size", raw.attr("size"), t.size().to_string());
    eq("vlen", raw.attr("vlen"), t.vlen().to_string());
    if let Some(r) = t.ref_type() {
        eq("type_id", raw.attr("type_id"), r.to_string());
        eq("ret_type_id", raw.attr("ret_type_id"), r.to_string());
    }
    let ii = t.int_info();
    if t.kind() == Kind::Int {
        eq("nr_bits", raw.attr("nr_bits"), ii.bits.to_string());
        eq(
            "bits_offset",
            raw.attr("bits_offset"),
            ii.offset.to_string(),
        );
        let enc = if ii.encoding.bool {
            "BOOL"
        } else if ii.encoding.char {
            "CHAR"
        } else if ii.encoding.signed {
            "SIGNED"
        } else {
            "(none)"
        };
        eq("encoding", raw.attr("encoding"), enc.to_string());
    }
    if matches!(t.kind(), Kind::Enum | Kind::Enum64) {
        eq(
            "encoding",
            raw.attr("encoding"),
            if t.kind_flag() { "SIGNED" } else { "UNSIGNED" }.to_string(),
        );
    }
    if t.kind() == Kind::Array {
        let a = t.array();
        eq("type_id", raw.attr("type_id"), a.elem_type.to_string());
        eq(
            "index_type_id",
            raw.attr("index_type_id"),
            a.index_type.to_string(),
        );
        eq("nr_elems", raw.attr("nr_elems"), a.nelems.to_string());
    }
    if let Some(c) = t.decl_tag_component() {
        eq("component_idx", raw.attr("component_idx"), c.to_string());
    }
    let elems: Vec<(Option<String>, bpftool::Attrs)> = match t.kind() {
        Kind::Struct | Kind::Union => t
            .members()
            .map(|m| {
                let mut a = vec![
                    ("type_id".into(), m.type_id.to_string()),
                    ("bits_offset".into(), m.bit_offset.to_string()),
                ];
                if m.bitfield_size > 0 {
                    a.push(("bitfield_size".into(), m.bitfield_size.to_string()));
                }
                (Some(m.name.to_string()), a)
            })
            .collect(),
        Kind::Enum | Kind::Enum64 => t
            .enum_values()
            .map(|v| {
                (
                    Some(v.name.to_string()),
                    vec![("val".into(), v.value().to_string())],
                )
            })
            .collect(),
        Kind::FuncProto => t
            .params()
            .map(|p| {
                (
                    Some(p.name.to_string()),
                    vec![("type_id".into(), p.type_id.to_string())],
                )
            })
            .collect(),
        Kind::Datasec => t
            .datasec_vars()
            .map(|v| {
                (
                    None,
                    vec![
                        ("type_id".into(), v.type_id.to_string()),
                        ("offset".into(), v.offset.to_string()),
                        ("size".into(), v.size.to_string()),
                    ],
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    if elems.len() != raw.elems.len() {
        d.push(format!(
            "[{}] {} elements, bpftool {}",
            raw.id,
            elems.len(),
            raw.elems.len()
        ));
    }
    for (i, ((on, oa), (tn, ta))) in elems.iter().zip(&raw.elems).enumerate() {
        if on != tn {
            d.push(format!(
                "[{}] element {i} name: bpftool {tn:?}, ours {on:?}",
                raw.id
            ));
        }
        for (k, v) in oa {
            // bpftool omits bitfield_size=0; compare every key both sides print.
            if let Some((_, tv)) = ta.iter().find(|(tk, _)| tk == k) {
                if tv != v {
                    d.push(format!(
                        "[{}] element {i} {k}: bpftool {tv}, ours {v}",
                        raw.id
                    ));
                }
            } else if k == "bitfield_size" {
                d.push(format!(
                    "[{}] element {i}: ours has bitfield_size {v}, bpftool none",
                    raw.id
                ));
            }
        }
    }
    d
}

fn compare(btf: &Btf, raw: &[RawType]) -> (usize, usize) {
    let mut problems = Vec::new();
    let mut elems = 0;
    let own: Vec<Type<'_>> = btf.own_types().collect();
    assert_eq!(
        own.len(),
        raw.len(),
        "{}: {} types, bpftool {}",
        btf.origin(),
        own.len(),
        raw.len()
    );
    for (t, r) in own.iter().zip(raw) {
        assert_eq!(t.id(), r.id, "{}: id order", btf.origin());
        problems.extend(diff(r, t));
        elems += r.elems.len();
    }
    assert!(
        problems.is_empty(),
        "{}: {} differences from bpftool, first 30:\n{}",
        btf.origin(),
        problems.len(),
        problems[..problems.len().min(30)].join("\n")
    );
    (own.len(), elems)
}

#[test]
fn every_type_equals_bpftool_raw_dump_for_vmlinux_and_modules() {
    for k in kernels() {
        let vmlinux = k.vmlinux();
        let path = vmlinux.to_str().expect("utf-8 path");
        let btf = Arc::new(Btf::open(&vmlinux).unwrap_or_else(|e| panic!("{e}")));
        let raw = bpftool::parse(&run_tool(
            "bpftool",
            &["btf", "dump", "file", path, "format", "raw"],
        ));
        let (types, elems) = compare(&btf, &raw);
        let pageflags = raw
            .iter()
            .find(|r| r.kind == "ENUM" && r.name == "pageflags")
            .expect("bpftool shows enum pageflags");
        assert!(pageflags.elems.len() > 20);
        eprintln!(
            "{}: vmlinux {types} types, {elems} members/enumerators/params equal bpftool's",
            k.suite
        );
        for m in ["qemu_fw_cfg", "ext4", "nf_tables", "virtio_net"] {
            let ko = k.module(m);
            let split = Btf::open_split(&ko, btf.clone()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                split.start_id(),
                btf.next_id(),
                "module ids continue after vmlinux's"
            );
            let raw = bpftool::parse(&run_tool(
                "bpftool",
                &[
                    "-B",
                    path,
                    "btf",
                    "dump",
                    "file",
                    ko.to_str().expect("utf-8"),
                    "format",
                    "raw",
                ],
            ));
            // bpftool dumps base types too when given -B on older versions; keep the module's own.
            let raw: Vec<RawType> = raw
                .into_iter()
                .filter(|r| r.id >= split.start_id())
                .collect();
            let (types, _) = compare(&split, &raw);
            split.validate().unwrap_or_else(|e| panic!("{e}"));
            eprintln!(
                "{}: module {m}: {types} split types equal bpftool's",
                k.suite
            );
            if let Some(xz) = k.module_xz(m) {
                let from_xz = Btf::open_split(&xz, btf.clone()).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    from_xz.bytes(),
                    split.bytes(),
                    "{m}.ko.xz carries the same BTF as {m}.ko"
                );
            }
        }
    }
}

#[test]
fn pageflags_and_pagetype_values_equal_bpftool() {
    for k in kernels() {
        let path = k.vmlinux();
        let btf = Btf::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let raw = bpftool::parse(&run_tool(
            "bpftool",
            &[
                "btf",
                "dump",
                "file",
                path.to_str().expect("utf-8"),
                "format",
                "raw",
            ],
        ));
        for name in ["pageflags", "pagetype", "zone_type", "migratetype"] {
            let theirs: Vec<(String, String)> = raw
                .iter()
                .filter(|r| r.kind.starts_with("ENUM") && r.name == name)
                .flat_map(|r| {
                    r.elems
                        .iter()
                        .map(|(n, a)| (n.clone().unwrap_or_default(), a[0].1.clone()))
                })
                .collect();
            let ours: Vec<(String, String)> = btf
                .find(name, Kind::Enum)
                .iter()
                .flat_map(|t| {
                    t.enum_values()
                        .map(|v| (v.name.to_string(), v.value().to_string()))
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(ours, theirs, "{}: enum {name}", k.suite);
            if name == "pagetype" && k.suite == "bookworm" {
                assert!(ours.is_empty(), "6.1 has no enum pagetype");
            } else {
                assert!(!ours.is_empty(), "{}: enum {name} present", k.suite);
            }
        }
    }
}
