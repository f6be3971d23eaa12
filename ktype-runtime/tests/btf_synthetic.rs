//! The BTF parser against blobs written by the test builder: every kind, both
//! bitfield encodings, both byte orders, the layout section, split BTF, name
//! lookups, member paths, C spellings, sizes, and cyclic type graphs.

mod support;

use ktype_runtime::btf::{
    ArrayInfo, Btf, IntEncoding, IntInfo, Kind, LookupError, Member, MemberLoc, Param, PathError,
    VarSecInfo,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::builder::{m, BtfBuilder};
use support::samples::{self, kitchen_sink, Ids};

fn parse(bytes: Vec<u8>) -> Btf {
    Btf::from_bytes(bytes, "synthetic").expect("valid synthetic BTF")
}

fn sink(big_endian: bool) -> (Btf, Ids) {
    let (b, ids) = kitchen_sink(big_endian);
    (parse(b.build()), ids)
}

fn loc(bit_offset: u64, bitfield_size: u32, type_id: u32) -> MemberLoc {
    MemberLoc {
        bit_offset,
        bitfield_size,
        type_id,
    }
}

fn member(name: &str, type_id: u32, bit_offset: u32, bitfield_size: u32) -> Member<'_> {
    Member {
        name,
        type_id,
        bit_offset,
        bitfield_size,
    }
}

fn members(btf: &Btf, id: u32) -> Vec<Member<'_>> {
    btf.type_by_id(id).unwrap().members().collect()
}

fn enc(signed: bool, char: bool, bool: bool) -> IntEncoding {
    IntEncoding { signed, char, bool }
}

/// `PathErrorKind` is not re-exported by `ktype_runtime::btf`, so the reason
/// is compared through its `Debug` spelling.
fn why(e: &PathError) -> String {
    format!("{:?}", e.why)
}

#[test]
fn every_kind_round_trips() {
    let (btf, ids) = sink(false);
    btf.validate().unwrap();
    assert!(!btf.is_big_endian());
    assert_eq!(btf.start_id(), 1);
    assert_eq!(btf.next_id(), ids.empty_proto + 1);
    assert_eq!(btf.own_type_count(), ids.empty_proto as usize);
    assert!(btf.type_by_id(btf.next_id()).is_none());
    assert!(btf.type_by_id(u32::MAX).is_none());
    assert_eq!(btf.type_by_id(0).unwrap().kind(), Kind::Void);
    assert_eq!(btf.origin(), "synthetic");

    let t = |id| btf.type_by_id(id).unwrap();
    // INT
    let int = t(ids.int);
    assert_eq!((int.kind(), int.name(), int.size()), (Kind::Int, "int", 4));
    assert_eq!(
        int.int_info(),
        IntInfo {
            encoding: enc(true, false, false),
            offset: 0,
            bits: 32
        }
    );
    assert_eq!(t(ids.uint).int_info().encoding, enc(false, false, false));
    assert_eq!(t(ids.char_).int_info().encoding, enc(false, true, false));
    assert_eq!(t(ids.bool_).int_info().encoding, enc(false, false, true));
    assert_eq!(t(ids.long).size(), 8);
    let ob = t(ids.old_bits).int_info();
    assert_eq!((ob.offset, ob.bits), (2, 3));
    // PTR
    assert_eq!(t(ids.void_ptr).kind(), Kind::Ptr);
    assert_eq!(t(ids.void_ptr).ref_type(), Some(0));
    assert_eq!(t(ids.void_ptr).size(), 0);
    assert_eq!(t(ids.list_head_ptr).ref_type(), Some(ids.list_head));
    // ARRAY
    assert_eq!(t(ids.comm).kind(), Kind::Array);
    assert_eq!(
        t(ids.comm).array(),
        ArrayInfo {
            elem_type: ids.char_,
            index_type: ids.uint,
            nelems: 16
        }
    );
    assert_eq!(t(ids.comm).ref_type(), None);
    // STRUCT
    let lh = t(ids.list_head);
    assert_eq!(
        (lh.kind(), lh.name(), lh.size(), lh.vlen()),
        (Kind::Struct, "list_head", 16, 2)
    );
    assert!(!lh.kind_flag());
    assert_eq!(
        members(&btf, ids.list_head),
        vec![
            member("next", ids.list_head_ptr, 0, 0),
            member("prev", ids.list_head_ptr, 64, 0)
        ]
    );
    // UNION
    let u = t(ids.anon_u1);
    assert_eq!((u.kind(), u.name(), u.size()), (Kind::Union, "", 8));
    assert_eq!(
        members(&btf, ids.anon_u1),
        vec![member("", ids.anon_s2, 0, 0), member("u", ids.uint, 0, 0)]
    );
    // ENUM (unsigned and signed)
    let st = t(ids.state);
    assert_eq!(
        (st.kind(), st.name(), st.size(), st.kind_flag()),
        (Kind::Enum, "state", 4, false)
    );
    let vals: Vec<(&str, u64, i128)> = st
        .enum_values()
        .map(|v| (v.name, v.raw, v.value()))
        .collect();
    assert_eq!(
        vals,
        vec![
            ("RUNNING", 0, 0),
            ("STOPPED", 4, 4),
            ("DEAD", 0x8000_0000, 0x8000_0000)
        ]
    );
    let vals: Vec<(&str, i128, bool)> = t(ids.delta)
        .enum_values()
        .map(|v| (v.name, v.value(), v.signed))
        .collect();
    assert_eq!(vals, vec![("NEG", -1, true), ("POS", 1, true)]);
    assert_eq!(t(ids.delta).enum_values().next().unwrap().raw, u64::MAX);
    // ENUM64
    let big = t(ids.big);
    assert_eq!((big.kind(), big.size(), big.vlen()), (Kind::Enum64, 8, 2));
    let vals: Vec<(&str, i128)> = big.enum_values().map(|v| (v.name, v.value())).collect();
    assert_eq!(vals, vec![("HUGE", 0xffff_ffff_0000_0001), ("SMALL", 2)]);
    // FWD
    assert_eq!(t(ids.fwd_file).kind(), Kind::Fwd);
    assert!(!t(ids.fwd_file).kind_flag());
    assert!(t(ids.fwd_sock).kind_flag());
    assert_eq!(t(ids.fwd_sock).name(), "sock");
    // TYPEDEF, CONST, VOLATILE, RESTRICT, TYPE_TAG
    assert_eq!(t(ids.u32_).kind(), Kind::Typedef);
    assert_eq!(t(ids.u32_).ref_type(), Some(ids.uint));
    assert_eq!(t(ids.const_u32).kind(), Kind::Const);
    assert_eq!(t(ids.const_u32).ref_type(), Some(ids.u32_));
    assert_eq!(t(ids.volatile_int).kind(), Kind::Volatile);
    assert_eq!(t(ids.restrict_ptr).kind(), Kind::Restrict);
    assert_eq!(t(ids.restrict_ptr).ref_type(), Some(ids.void_ptr));
    assert_eq!(t(ids.type_tag).kind(), Kind::TypeTag);
    assert_eq!(t(ids.type_tag).name(), "rcu");
    assert_eq!(t(ids.type_tag).ref_type(), Some(ids.list_head));
    // FUNC_PROTO, FUNC
    let p = t(ids.proto);
    assert_eq!(
        (p.kind(), p.ref_type(), p.vlen()),
        (Kind::FuncProto, Some(ids.int), 2)
    );
    let params: Vec<Param<'_>> = p.params().collect();
    assert_eq!(
        (params[0].name, params[0].type_id),
        ("head", ids.list_head_ptr)
    );
    assert_eq!((params[1].name, params[1].type_id), ("", 0));
    assert_eq!(t(ids.empty_proto).params().count(), 0);
    let f = t(ids.func);
    assert_eq!(
        (f.kind(), f.name(), f.ref_type(), f.linkage()),
        (Kind::Func, "do_thing", Some(ids.proto), Some(1))
    );
    // VAR, DATASEC
    let v = t(ids.var);
    assert_eq!(
        (v.kind(), v.name(), v.ref_type(), v.linkage()),
        (Kind::Var, "jiffies", Some(ids.long), Some(1))
    );
    let ds = t(ids.datasec);
    assert_eq!(
        (ds.kind(), ds.name(), ds.size()),
        (Kind::Datasec, ".data", 8)
    );
    assert_eq!(
        ds.datasec_vars().collect::<Vec<_>>(),
        vec![VarSecInfo {
            type_id: ids.var,
            offset: 0,
            size: 8
        }]
    );
    // FLOAT
    let d = t(ids.double);
    assert_eq!((d.kind(), d.name(), d.size()), (Kind::Float, "double", 8));
    // DECL_TAG
    let dt = t(ids.decl_tag);
    assert_eq!(
        (dt.kind(), dt.name(), dt.ref_type(), dt.decl_tag_component()),
        (Kind::DeclTag, "user", Some(ids.list_head), Some(1))
    );
    // Views of the wrong kind are empty.
    assert_eq!(t(ids.int).members().count(), 0);
    assert_eq!(t(ids.list_head).enum_values().count(), 0);
    assert_eq!(t(ids.list_head).params().count(), 0);
    assert_eq!(t(ids.int).array().nelems, 0);
    assert_eq!(t(ids.list_head).int_info().bits, 0);
    assert_eq!(t(ids.int).linkage(), None);
    assert_eq!(t(ids.int).decl_tag_component(), None);
    // Every kind appears exactly where expected, in id order.
    let kinds: Vec<Kind> = btf.own_types().map(|t| t.kind()).collect();
    for k in 1..=19u8 {
        assert!(kinds.contains(&Kind::from_raw(k)), "kind {k} missing");
    }
    assert_eq!(btf.all_types().count(), btf.own_type_count());
}

#[test]
fn decl_tag_on_whole_declaration() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let tag = b.add_decl_tag("kfunc", int, -1);
    let btf = parse(b.build());
    assert_eq!(btf.type_by_id(tag).unwrap().decl_tag_component(), Some(-1));
    assert_eq!(btf.find_unique("kfunc", Kind::DeclTag).unwrap().id(), tag);
}

/// Everything observable about a type, for comparing two blobs.
fn describe_all(btf: &Btf) -> Vec<String> {
    let mut out = Vec::new();
    for id in 0..btf.next_id() + 1 {
        let Some(t) = btf.type_by_id(id) else {
            out.push(format!("{id}: none"));
            continue;
        };
        out.push(format!(
            "{id}: {t:?} {t} kf={} vlen={} size={} ref={:?} int={:?} arr={:?} link={:?} tag={:?}",
            t.kind_flag(),
            t.vlen(),
            t.size(),
            t.ref_type(),
            t.int_info(),
            t.array(),
            t.linkage(),
            t.decl_tag_component()
        ));
        out.push(format!("  members {:?}", t.members().collect::<Vec<_>>()));
        out.push(format!(
            "  enums {:?}",
            t.enum_values()
                .map(|v| (v.name, v.raw, v.value()))
                .collect::<Vec<_>>()
        ));
        out.push(format!(
            "  params {:?}",
            t.params().map(|p| (p.name, p.type_id)).collect::<Vec<_>>()
        ));
        out.push(format!("  vars {:?}", t.datasec_vars().collect::<Vec<_>>()));
        out.push(format!(
            "  c={:?} size_of={:?} skip={:?}",
            btf.c_decl(id, "v"),
            btf.size_of(id),
            btf.skip_modifiers(id).map(|t| t.id())
        ));
        for mb in t.members().filter(|m| !m.name.is_empty()) {
            out.push(format!(
                "  path {} {:?}",
                mb.name,
                btf.member_path(id, mb.name)
            ));
        }
    }
    for path in [
        "deep",
        "flags.c",
        "old.x",
        "grid[2][3]",
        "comm[5]",
        "tasks.prev",
    ] {
        out.push(format!(
            "{path}: {:?}",
            btf.member_path(samples_task(btf), path)
        ));
    }
    for c in ["STOPPED", "NEG", "HUGE"] {
        out.push(format!(
            "{c}: {:?}",
            btf.find_enum_constant(c)
                .iter()
                .map(|(t, v)| (t.id(), v.value()))
                .collect::<Vec<_>>()
        ));
    }
    out
}

fn samples_task(btf: &Btf) -> u32 {
    btf.find_unique("task_struct", Kind::Struct).unwrap().id()
}

#[test]
fn big_endian_gives_the_same_answers() {
    let (le, _) = sink(false);
    let (be, _) = sink(true);
    assert!(be.is_big_endian());
    assert_eq!(&be.bytes()[..2], &[0xeb, 0x9f]);
    assert_eq!(&le.bytes()[..2], &[0x9f, 0xeb]);
    be.validate().unwrap();
    let (a, b) = (describe_all(&le), describe_all(&be));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

#[test]
fn layout_section_header_gives_the_same_answers() {
    let (le, _) = sink(false);
    for big_endian in [false, true] {
        let (b, _) = kitchen_sink(big_endian);
        let bytes = b.with_layout(&[]).build();
        assert_eq!(bytes[4], if big_endian { 0 } else { 32 });
        let with_layout = parse(bytes);
        with_layout.validate().unwrap();
        assert_eq!(describe_all(&le), describe_all(&with_layout));
    }
}

#[test]
fn kind_flag_bitfields() {
    let (btf, ids) = sink(false);
    assert!(btf.type_by_id(ids.flags).unwrap().kind_flag());
    assert_eq!(
        members(&btf, ids.flags),
        vec![
            member("a", ids.int, 0, 1),
            member("b", ids.uint, 1, 3),
            member("c", ids.uint, 4, 28)
        ]
    );
    assert_eq!(
        btf.member_path(ids.flags, "b").unwrap(),
        loc(1, 3, ids.uint)
    );
    assert_eq!(btf.find_member(ids.flags, "c"), Some(loc(4, 28, ids.uint)));
    assert_eq!(
        btf.member_path(ids.task, "flags.c").unwrap(),
        loc(36, 28, ids.uint)
    );
    assert_eq!(
        btf.member_path(ids.task, "flags.a").unwrap().byte_offset(),
        4
    );
    // The struct holding the bitfields is not itself a bitfield.
    assert_eq!(
        btf.member_path(ids.task, "flags").unwrap(),
        loc(32, 0, ids.flags)
    );
}

#[test]
fn kind_flag_large_bit_offsets() {
    // kind_flag offsets have 24 bits: 0xff_fff8 is the largest multiple of 8.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let s = b.add_struct(
        "huge",
        0x20_0000,
        &[
            support::builder::bf("lo", int, 0xff_fff8, 5),
            m("plain", int, 64),
        ],
    );
    let btf = parse(b.build());
    assert_eq!(btf.member_path(s, "lo").unwrap(), loc(0xff_fff8, 5, int));
    assert_eq!(btf.member_path(s, "plain").unwrap(), loc(64, 0, int));
}

#[test]
fn old_style_int_bitfields() {
    let (btf, ids) = sink(false);
    // The member itself carries no bitfield size: the int type does.
    assert_eq!(
        members(&btf, ids.old_style),
        vec![member("y", ids.int, 0, 0), member("x", ids.old_bits, 32, 0)]
    );
    assert_eq!(
        btf.member_path(ids.old_style, "x").unwrap(),
        loc(34, 3, ids.old_bits)
    );
    assert_eq!(
        btf.member_path(ids.old_style, "y").unwrap(),
        loc(0, 0, ids.int)
    );
    assert_eq!(
        btf.member_path(ids.task, "old.x").unwrap(),
        loc(448 + 34, 3, ids.old_bits)
    );
    assert_eq!(
        btf.find_member(ids.old_style, "x"),
        Some(loc(34, 3, ids.old_bits))
    );

    // Through a typedef and const, and an int using fewer bits at offset 0.
    let mut b = BtfBuilder::new();
    let bits5 = b.add_int_raw("u5", 1, 0, 0, 5);
    let td = b.add_typedef("u5_t", bits5);
    let c = b.add_const(td);
    let s = b.add_struct("s", 4, &[m("f", c, 8), m("g", bits5, 16)]);
    let btf = parse(b.build());
    assert_eq!(btf.member_path(s, "f").unwrap(), loc(8, 5, c));
    assert_eq!(btf.member_path(s, "g").unwrap(), loc(16, 5, bits5));
}

#[test]
fn anonymous_members_three_deep() {
    let (btf, ids) = sink(false);
    assert_eq!(
        btf.member_path(ids.task, "deep").unwrap(),
        loc(384 + 32, 0, ids.int)
    );
    assert_eq!(
        btf.member_path(ids.task, "b").unwrap(),
        loc(384, 0, ids.int)
    );
    assert_eq!(
        btf.member_path(ids.task, "u").unwrap(),
        loc(384, 0, ids.uint)
    );
    assert_eq!(
        btf.find_member(ids.task, "deep"),
        Some(loc(416, 0, ids.int))
    );
    assert_eq!(
        btf.find_member(ids.anon_u1, "deep"),
        Some(loc(32, 0, ids.int))
    );
    assert_eq!(btf.find_member(ids.task, "nothere"), None);
    // Anonymous members are not reachable by the empty name.
    assert!(btf.member_path(ids.task, "").is_err());

    // Anonymous through a typedef, and in a union inside a union.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let s3 = b.add_struct("", 4, &[m("leaf", int, 0)]);
    let td = b.add_typedef("anon_t", s3);
    let u2 = b.add_union("", 8, &[m("", td, 32)]);
    let u1 = b.add_union("", 16, &[m("x", int, 0), m("", u2, 64)]);
    let outer = b.add_struct("outer", 32, &[m("a", int, 0), m("", u1, 128)]);
    let btf = parse(b.build());
    assert_eq!(
        btf.member_path(outer, "leaf").unwrap(),
        loc(128 + 64 + 32, 0, int)
    );
    assert_eq!(btf.member_path(outer, "x").unwrap(), loc(128, 0, int));
}

#[test]
fn dotted_paths_and_indices() {
    let (btf, ids) = sink(false);
    let p = |path: &str| btf.member_path(ids.task, path);
    assert_eq!(p("tasks.prev").unwrap(), loc(128, 0, ids.list_head_ptr));
    assert_eq!(p("comm").unwrap(), loc(192, 0, ids.comm));
    assert_eq!(p("comm[3]").unwrap(), loc(192 + 24, 0, ids.char_));
    assert_eq!(p("comm[15]").unwrap().byte_offset(), 24 + 15);
    let row = btf.type_by_id(ids.grid).unwrap().array().elem_type;
    assert_eq!(p("grid[1]").unwrap(), loc(512 + 128, 0, row));
    assert_eq!(
        p("grid[2][3]").unwrap(),
        loc(512 + 2 * 128 + 3 * 32, 0, ids.int)
    );
    assert_eq!(p("cnt").unwrap(), loc(896, 0, ids.const_u32));
    // Through the typedef of the outer type.
    assert_eq!(
        btf.member_path(ids.task_t, "tasks.next").unwrap(),
        loc(64, 0, ids.list_head_ptr)
    );
    assert_eq!(btf.member_path(ids.task_t, "deep").unwrap().bit_offset, 416);

    let e = p("grid[3]").unwrap_err();
    assert_eq!(
        (why(&e), e.component.as_str()),
        ("BadIndex".into(), "grid[3]")
    );
    assert_eq!(why(&p("comm[16]").unwrap_err()), "BadIndex");
    assert_eq!(why(&p("grid[0][4]").unwrap_err()), "BadIndex");
    assert_eq!(why(&p("tasks[0]").unwrap_err()), "BadIndex");
    assert_eq!(why(&p("state.x").unwrap_err()), "NotAggregate");
    assert_eq!(why(&p("comm.x").unwrap_err()), "NotAggregate");
    let e = p("tasks.nope").unwrap_err();
    assert_eq!(why(&e), "NoSuchMember");
    assert_eq!(e.component, "nope");
    assert_eq!(e.path, "tasks.nope");
    assert!(e.in_type.contains("list_head"), "{e}");
    assert!(e.to_string().contains("`nope`"), "{e}");
    for bad in [
        "tasks..next",
        "comm[x]",
        "comm[1",
        "comm]",
        "[1]",
        "a b",
        "comm[-1]",
    ] {
        assert_eq!(why(&p(bad).unwrap_err()), "Malformed", "{bad}");
    }
    // Paths in a non-aggregate.
    assert_eq!(
        why(&btf.member_path(ids.int, "x").unwrap_err()),
        "NotAggregate"
    );
    assert!(btf.member_path(9999, "x").is_err());
}

#[test]
fn typedef_and_const_chains() {
    let (btf, ids) = sink(false);
    assert_eq!(btf.skip_modifiers(ids.const_u32).unwrap().id(), ids.uint);
    assert_eq!(btf.skip_modifiers(ids.volatile_int).unwrap().id(), ids.int);
    assert_eq!(btf.skip_modifiers(ids.task_t).unwrap().id(), ids.task);
    assert_eq!(
        btf.skip_modifiers(ids.type_tag).unwrap().id(),
        ids.list_head
    );
    assert_eq!(btf.skip_modifiers(ids.int).unwrap().id(), ids.int);
    // Pointers are not modifiers.
    assert_eq!(
        btf.skip_modifiers(ids.restrict_ptr).unwrap().id(),
        ids.void_ptr
    );
    assert_eq!(btf.size_of(ids.const_u32), Some(4));

    // A long chain: typedef → const → volatile → typedef → restrict → int.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let r = b.add_restrict(int);
    let t1 = b.add_typedef("t1", r);
    let v = b.add_volatile(t1);
    let c = b.add_const(v);
    let t2 = b.add_typedef("t2", c);
    let tt = b.add_type_tag("tag", t2);
    let btf = parse(b.build());
    assert_eq!(btf.skip_modifiers(tt).unwrap().id(), int);
    assert_eq!(btf.size_of(tt), Some(4));
    assert_eq!(btf.c_decl(t2, "x"), "t2 x");
    assert_eq!(btf.c_decl(c, "x"), "const volatile t1 x");
}

#[test]
fn split_btf_continues_ids_and_strings() {
    let (base_bytes, split_bytes) = samples::split_pair();
    let base_str_len = {
        let b = &base_bytes;
        u32::from_le_bytes([b[20], b[21], b[22], b[23]])
    };
    let base = Arc::new(Btf::from_bytes(base_bytes, "vmlinux").unwrap());
    let split = Btf::from_bytes_split(split_bytes, "mod.ko", base.clone()).unwrap();
    split.validate().unwrap();
    assert_eq!(base.next_id(), 4);
    assert_eq!(split.start_id(), 4);
    assert_eq!(split.next_id(), 7);
    assert_eq!(split.own_type_count(), 3);
    assert!(Arc::ptr_eq(split.base().unwrap(), &base));
    assert_eq!(split.all_types().count(), 6);
    assert_eq!(
        split.own_types().map(|t| t.id()).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );

    let obj = split.find_unique("mod_obj", Kind::Struct).unwrap();
    assert_eq!(obj.id(), 5);
    assert!(
        obj.name_off() >= base_str_len,
        "split strings continue after the base's"
    );
    assert!(std::ptr::eq(obj.btf(), &split));
    // The base's types, seen from the split BTF.
    let lh = split.find_unique("list_head", Kind::Struct).unwrap();
    assert_eq!(lh.id(), 2);
    assert!(std::ptr::eq(lh.btf(), &*base));
    assert_eq!(split.type_by_id(1).unwrap().name(), "int");
    assert_eq!(split.member_path(5, "link.prev").unwrap(), loc(64, 0, 3));
    assert_eq!(
        split.member_path(5, "vals[1]").unwrap(),
        loc(128 + 32, 0, 1)
    );
    assert_eq!(split.member_path(5, "int").unwrap(), loc(192, 0, 1));
    assert_eq!(split.c_decl(4, "v"), "int v[2]");
    assert_eq!(split.type_name(3), "struct list_head *");
    assert_eq!(split.size_of(5), Some(32));
    let (t, v) = split.find_enum_constant("MOD_GOING").remove(0);
    assert_eq!((t.id(), v.value()), (6, 2));
    assert!(split.check_type(2).is_ok());
    assert!(split.check_type(6).is_ok());
    let e = split.check_type(7).unwrap_err().to_string();
    assert!(e.contains("type id 7") && e.contains("mod.ko"), "{e}");
    // The base knows nothing of the module.
    assert!(base.find("mod_obj", Kind::Struct).is_empty());
    assert!(base.type_by_id(5).is_none());
    assert!(base.find_enum_constant("MOD_GOING").is_empty());
    assert_eq!(
        split.find_all("int").len(),
        1,
        "member names are not type names"
    );
}

#[test]
fn split_btf_uses_base_strings_and_dangling_ids() {
    let mut base = BtfBuilder::new();
    let int = base.add_int("int", 4, true);
    let int_name = base.str_off("int");
    let base_strs = base.str_end();
    let mut split = BtfBuilder::split_on(&base);
    // A typedef in the module named with the base's string "int".
    let td = split.add_raw(int_name, support::builder::info(8, 0, false), int, &[]);
    let base = Arc::new(Btf::from_bytes(base.build(), "vmlinux").unwrap());
    let btf = Btf::from_bytes_split(split.build(), "m", base.clone()).unwrap();
    btf.validate().unwrap();
    assert_eq!(btf.type_by_id(td).unwrap().name(), "int");
    assert_eq!(btf.find("int", Kind::Typedef).len(), 1);
    assert_eq!(btf.find("int", Kind::Int).len(), 1);
    assert_eq!(btf.find_all("int").len(), 2);

    // A module type referring past its own last id.
    let mut split = BtfBuilder::split(2, base_strs);
    split.add_ptr(40);
    let btf = Btf::from_bytes_split(split.build(), "m2", base).unwrap();
    let e = btf.validate().unwrap_err().to_string();
    assert!(e.contains("m2") && e.contains("type id 40"), "{e}");
}

#[test]
fn unknown_kind_is_skipped_with_a_layout_section() {
    let btf = parse(samples::with_unknown_kind(true));
    btf.validate().unwrap();
    let t = btf.type_by_id(2).unwrap();
    assert_eq!(t.kind(), Kind::Unknown(25));
    assert_eq!(
        (t.name(), t.vlen(), t.size(), t.ref_type()),
        ("mystery", 2, 0, None)
    );
    assert_eq!(t.kind().to_string(), "unknown kind 25");
    assert_eq!(btf.c_decl(2, "x"), "<kind 25> x");
    assert_eq!(btf.size_of(2), None);
    // The record after it is where it should be.
    let after = btf.find_unique("after", Kind::Struct).unwrap();
    assert_eq!(after.id(), 3);
    assert_eq!(btf.member_path(3, "v").unwrap(), loc(0, 0, 1));
    assert_eq!(btf.find("mystery", Kind::Unknown(25)).len(), 1);
}

#[test]
fn unknown_kind_without_layout_is_rejected() {
    let e = Btf::from_bytes(samples::with_unknown_kind(false), "nolayout.btf").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("unknown kind 25"), "{msg}");
    assert!(msg.contains("type id 2"), "{msg}");
    assert!(msg.contains("nolayout.btf"), "{msg}");

    // A layout section too short to describe kind 25 is no better.
    let mut b = BtfBuilder::new().with_layout(&[]);
    b.add_raw_kind(25, 0, "x", 0, &[]);
    let msg = Btf::from_bytes(b.build(), "short").unwrap_err().to_string();
    assert!(msg.contains("unknown kind 25"), "{msg}");

    // Kind 127 (the largest 7-bit kind) with a layout entry.
    let mut b = BtfBuilder::new().with_layout(&[(127, 0, 4)]);
    let int = b.add_int("int", 4, true);
    b.add_raw_kind(127, 3, "k127", 0, &[0; 12]);
    b.add_ptr(int);
    let btf = parse(b.build());
    assert_eq!(btf.type_by_id(2).unwrap().kind(), Kind::Unknown(127));
    assert_eq!(btf.type_by_id(3).unwrap().ref_type(), Some(1));
}

#[test]
fn duplicate_names_are_ambiguous() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let c1 = b.add_struct("console", 64, &[m("index", int, 0)]);
    let c2 = b.add_struct("console", 128, &[m("flags", int, 32)]);
    let td = b.add_typedef("console", c1);
    let btf = parse(b.build());
    assert_eq!(
        btf.find("console", Kind::Struct)
            .iter()
            .map(|t| t.id())
            .collect::<Vec<_>>(),
        vec![c1, c2]
    );
    match btf.find_unique("console", Kind::Struct).unwrap_err() {
        LookupError::Ambiguous {
            origin,
            what,
            candidates,
            total,
        } => {
            assert_eq!(total, 2);
            assert_eq!(origin, "synthetic");
            assert_eq!(what, "struct console");
            assert_eq!(
                candidates,
                vec![
                    format!("struct console [id {c1}] size 64"),
                    format!("struct console [id {c2}] size 128")
                ]
            );
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    let msg = btf
        .find_unique("console", Kind::Struct)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&format!("[id {c1}]")) && msg.contains(&format!("[id {c2}]")),
        "{msg}"
    );
    assert!(msg.contains("2 definitions"), "{msg}");
    // Other kinds of the same name are separate.
    assert_eq!(btf.find_unique("console", Kind::Typedef).unwrap().id(), td);
    assert_eq!(btf.find_all("console").len(), 3);
    let e = btf.find_unique("console", Kind::Union).unwrap_err();
    assert_eq!(
        e,
        LookupError::NotFound {
            origin: "synthetic".into(),
            what: "union console".into()
        }
    );
    assert_eq!(e.to_string(), "synthetic: no union console");
    assert!(btf.find("", Kind::Struct).is_empty());
}

#[test]
fn find_enum_finds_enum64() {
    let (btf, ids) = sink(false);
    let found: Vec<u32> = btf.find("big", Kind::Enum).iter().map(|t| t.id()).collect();
    assert_eq!(found, vec![ids.big]);
    assert_eq!(
        btf.find_unique("big", Kind::Enum).unwrap().kind(),
        Kind::Enum64
    );
    assert_eq!(btf.find_unique("big", Kind::Enum64).unwrap().id(), ids.big);
    assert!(btf.find("state", Kind::Enum64).is_empty());
    assert_eq!(
        btf.find_unique("state", Kind::Enum).unwrap().id(),
        ids.state
    );
    // Declarations and data types are looked up by kind.
    assert_eq!(
        btf.find_unique("do_thing", Kind::Func).unwrap().id(),
        ids.func
    );
    assert_eq!(btf.find_unique("jiffies", Kind::Var).unwrap().id(), ids.var);
    assert_eq!(
        btf.find_unique(".data", Kind::Datasec).unwrap().id(),
        ids.datasec
    );
    assert_eq!(
        btf.find_unique("file", Kind::Fwd).unwrap().id(),
        ids.fwd_file
    );
    assert_eq!(
        btf.find_unique("double", Kind::Float).unwrap().id(),
        ids.double
    );
    assert_eq!(
        btf.find_unique("rcu", Kind::TypeTag).unwrap().id(),
        ids.type_tag
    );
    assert_eq!(
        btf.find_unique("u32", Kind::Typedef).unwrap().id(),
        ids.u32_
    );
    assert_eq!(btf.find_unique("char", Kind::Int).unwrap().id(), ids.char_);
    assert!(btf.find("do_thing", Kind::Struct).is_empty());
    assert!(btf.find("task_struct", Kind::Func).is_empty());
    assert_eq!(
        btf.find_unique("task_struct", Kind::Func)
            .unwrap_err()
            .to_string(),
        "synthetic: no func task_struct"
    );
}

#[test]
fn enum_constants() {
    let (btf, ids) = sink(false);
    let one = |name: &str| {
        let v = btf.find_enum_constant(name);
        assert_eq!(v.len(), 1, "{name}");
        (v[0].0.id(), v[0].1.raw, v[0].1.value())
    };
    assert_eq!(one("STOPPED"), (ids.state, 4, 4));
    assert_eq!(one("DEAD"), (ids.state, 0x8000_0000, 0x8000_0000));
    assert_eq!(one("NEG"), (ids.delta, u64::MAX, -1));
    assert_eq!(
        one("HUGE"),
        (ids.big, 0xffff_ffff_0000_0001, 0xffff_ffff_0000_0001)
    );
    assert!(btf.find_enum_constant("NOPE").is_empty());
    assert!(btf.find_enum_constant("").is_empty());

    // The same constant name in two enums (and an enum64 with the sign bit).
    let mut b = BtfBuilder::new();
    let e1 = b.add_enum("a", 4, false, &[("X", 1)]);
    let e2 = b.add_enum64("b", 8, true, &[("X", u64::MAX - 1)]);
    let btf = parse(b.build());
    let found: Vec<(u32, i128)> = btf
        .find_enum_constant("X")
        .iter()
        .map(|(t, v)| (t.id(), v.value()))
        .collect();
    assert_eq!(found, vec![(e1, 1), (e2, -2)]);
}

#[test]
fn c_declarations() {
    let (btf, ids) = sink(false);
    assert_eq!(btf.c_decl(ids.comm_ptr, "p"), "char (*p)[16]");
    assert_eq!(btf.type_name(ids.comm_ptr), "char (*)[16]");
    assert_eq!(
        btf.c_decl(ids.proto_ptr, "fn"),
        "int (*fn)(struct list_head *, ...)"
    );
    assert_eq!(
        btf.type_name(ids.proto_ptr),
        "int (*)(struct list_head *, ...)"
    );
    assert_eq!(btf.c_decl(ids.grid, "grid"), "int grid[3][4]");
    assert_eq!(btf.c_decl(ids.comm, "comm"), "char comm[16]");
    assert_eq!(btf.c_decl(ids.volatile_int, "state"), "volatile int state");
    assert_eq!(btf.c_decl(ids.const_u32, "cnt"), "const u32 cnt");
    assert_eq!(
        btf.c_decl(ids.list_head_ptr, "next"),
        "struct list_head *next"
    );
    assert_eq!(btf.c_decl(ids.tagged_ptr, "p"), "struct list_head *p");
    assert_eq!(btf.c_decl(ids.void_ptr, ""), "void *");
    assert_eq!(btf.type_name(ids.fwd_sock), "union sock");
    assert_eq!(btf.type_name(ids.fwd_file), "struct file");
    assert_eq!(btf.type_name(ids.anon_u1), "union {...}");
    assert_eq!(btf.type_name(ids.anon_s3), "struct {...}");
    assert_eq!(btf.type_name(ids.big), "enum big");
    assert_eq!(btf.type_name(ids.state), "enum state");
    assert_eq!(btf.type_name(ids.double), "double");
    assert_eq!(btf.type_name(ids.task_t), "task_t");
    assert_eq!(btf.type_name(ids.func), "func do_thing");
    assert_eq!(btf.type_name(ids.datasec), "section .data");
    assert_eq!(btf.c_decl(ids.var, "jiffies"), "long int jiffies");
    assert_eq!(btf.type_name(ids.empty_proto), "void (void)");
    assert_eq!(btf.type_name(0), "void");
    assert_eq!(btf.c_decl(9999, "x"), "<bad type> x");

    // Arrays of pointers vs pointers to arrays, and a function returning a pointer.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let ip = b.add_ptr(int);
    let arr_of_ptr = b.add_array(ip, int, 4);
    let arr = b.add_array(int, int, 4);
    let ptr_to_arr = b.add_ptr(arr);
    let ptr_ptr_arr = b.add_ptr(ptr_to_arr);
    let ret_ptr = b.add_func_proto(ip, &[("a", int), ("b", ptr_to_arr)]);
    let fp = b.add_ptr(ret_ptr);
    let fp_arr = b.add_array(fp, int, 2);
    let btf = parse(b.build());
    assert_eq!(btf.c_decl(arr_of_ptr, "a"), "int *a[4]");
    assert_eq!(btf.c_decl(ptr_to_arr, "p"), "int (*p)[4]");
    assert_eq!(btf.c_decl(ptr_ptr_arr, "pp"), "int (**pp)[4]");
    assert_eq!(btf.c_decl(fp, "f"), "int *(*f)(int, int (*)[4])");
    assert_eq!(btf.c_decl(fp_arr, "tbl"), "int *(*tbl[2])(int, int (*)[4])");
}

/// `c_decl` spells a const (volatile, restrict) *pointer* as a pointer to a
/// const target: `CONST -> PTR -> INT` comes out as `const int *p`, the
/// spelling of `PTR -> CONST -> INT`. See the report for the fix in
/// `format.rs`.
#[test]
fn c_declarations_of_qualified_pointers() {
    let (btf, ids) = sink(false);
    assert_eq!(btf.c_decl(ids.const_int_ptr, "p"), "int *const p");
    assert_eq!(btf.c_decl(ids.restrict_ptr, "p"), "void *restrict p");
    assert_eq!(btf.type_name(ids.const_int_ptr), "int *const");
}

/// A pointer to a type-tagged function prototype or array (e.g. an `__rcu`
/// function pointer) loses its parentheses: `Ptr` decides whether to wrap
/// `(*name)` from its direct target only, which is the type tag. See the
/// report for the fix in `format.rs`.
#[test]
fn c_decl_pointer_through_type_tag() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let proto = b.add_func_proto(int, &[]);
    let tagged_proto = b.add_type_tag("rcu", proto);
    let fp = b.add_ptr(tagged_proto);
    let arr = b.add_array(int, int, 4);
    let tagged_arr = b.add_type_tag("rcu", arr);
    let ap = b.add_ptr(tagged_arr);
    let btf = parse(b.build());
    assert_eq!(btf.c_decl(fp, "f"), "int (*f)(void)");
    assert_eq!(btf.c_decl(ap, "a"), "int (*a)[4]");
}

#[test]
fn pointer_to_const_is_spelled_as_such() {
    let mut b = BtfBuilder::new();
    let char_ = b.add_int_raw("char", 1, support::builder::INT_CHAR, 0, 8);
    let cc = b.add_const(char_);
    let p = b.add_ptr(cc);
    let btf = parse(b.build());
    assert_eq!(btf.c_decl(p, "name"), "const char *name");
}

#[test]
fn sizes() {
    let (btf, ids) = sink(false);
    assert_eq!(btf.size_of(ids.grid), Some(48));
    assert_eq!(btf.size_of(ids.comm), Some(16));
    assert_eq!(btf.size_of(ids.task_t), Some(128));
    assert_eq!(btf.size_of(ids.task), Some(128));
    assert_eq!(btf.size_of(ids.const_u32), Some(4));
    assert_eq!(btf.size_of(ids.void_ptr), Some(8));
    assert_eq!(btf.size_of(ids.restrict_ptr), Some(8));
    assert_eq!(btf.size_of(ids.big), Some(8));
    assert_eq!(btf.size_of(ids.double), Some(8));
    assert_eq!(btf.size_of(ids.var), Some(8));
    assert_eq!(btf.size_of(ids.datasec), Some(8));
    assert_eq!(btf.size_of(ids.proto), None);
    assert_eq!(btf.size_of(ids.func), None);
    assert_eq!(btf.size_of(ids.fwd_file), None);
    assert_eq!(btf.size_of(0), None);
    assert_eq!(btf.size_of(9999), None);
    assert_eq!(btf.pointer_size(), 8);

    // 32-bit target: pointers are as wide as `long int`; arrays of typedefs;
    // overflowing sizes are None.
    let mut b = BtfBuilder::new();
    let long = b.add_int("long int", 4, true);
    let p = b.add_ptr(long);
    let pa = b.add_array(p, long, 10);
    let td = b.add_typedef("pa_t", pa);
    let tda = b.add_array(td, long, 3);
    let byte = b.add_int("unsigned char", 1, false);
    let big = b.add_array(byte, long, u32::MAX);
    let bigger = b.add_array(big, long, u32::MAX);
    let biggest = b.add_array(bigger, long, u32::MAX);
    let empty = b.add_array(long, long, 0);
    let btf = parse(b.build());
    assert_eq!(btf.pointer_size(), 4);
    assert_eq!(btf.size_of(p), Some(4));
    assert_eq!(btf.size_of(pa), Some(40));
    assert_eq!(btf.size_of(tda), Some(120));
    assert_eq!(btf.size_of(big), Some(u32::MAX as u64));
    assert_eq!(btf.size_of(bigger), Some(u32::MAX as u64 * u32::MAX as u64));
    assert_eq!(btf.size_of(biggest), None);
    assert_eq!(btf.size_of(empty), Some(0));
}

#[test]
fn empty_btf() {
    let btf = parse(BtfBuilder::new().build());
    btf.validate().unwrap();
    assert_eq!(
        (btf.start_id(), btf.next_id(), btf.own_type_count()),
        (1, 1, 0)
    );
    assert!(btf.type_by_id(1).is_none());
    assert!(btf.find("x", Kind::Struct).is_empty());
    assert_eq!(btf.pointer_size(), 8);
    let btf = parse(BtfBuilder::new().big_endian(true).with_layout(&[]).build());
    assert_eq!(btf.own_type_count(), 0);
}

/// Runs `f` on a thread and fails if it does not finish within `secs`.
fn finishes_within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("did not finish in time: a hang on a cyclic or exponential type graph")
}

#[test]
fn typedef_cycles_terminate() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let a = b.add_typedef("A", 0);
    let bb = b.add_typedef("B", a);
    b.set_ref(a, bb);
    let c1 = b.add_const(0);
    let c2 = b.add_volatile(c1);
    b.set_ref(c1, c2);
    let arr = b.add_array(0, int, 2);
    let self_ptr = b.add_ptr(0);
    b.set_ref(self_ptr, self_ptr);
    let holder = b.add_struct(
        "holder",
        8,
        &[m("a", a, 0), m("c", c1, 32), m("arr", arr, 0)],
    );
    let bytes = {
        let mut v = b.build();
        // Make the array its own element type.
        let at = b.record_offset(arr) + 12;
        v[at..at + 4].copy_from_slice(&arr.to_le_bytes());
        v
    };
    let start = Instant::now();
    let (a2, c12, arr2, sp, h) = (a, c1, arr, self_ptr, holder);
    finishes_within(10, move || {
        let btf = parse(bytes);
        // Every id exists, yet validation reports the first cycle (no C
        // type contains itself by value); navigation still terminates.
        let e = btf.validate().unwrap_err().to_string();
        assert!(
            e.contains("typedef cycle: typedef A [id 2] -> typedef B [id 3] -> typedef A [id 2]"),
            "{e}"
        );
        assert!(btf.skip_modifiers(a2).is_none());
        assert!(btf.skip_modifiers(c12).is_none());
        assert_eq!(btf.size_of(a2), None);
        assert_eq!(btf.size_of(c12), None);
        assert_eq!(btf.size_of(arr2), None);
        assert_eq!(btf.size_of(sp), Some(8));
        assert_eq!(btf.c_decl(a2, "x"), "A x");
        assert!(btf.c_decl(c12, "x").contains("<bad type>"));
        assert!(btf.c_decl(arr2, "x").contains("<bad type>"));
        assert!(btf.c_decl(sp, "x").contains("<bad type>"));
        let e = btf.member_path(a2, "x").unwrap_err();
        assert_eq!(why(&e), "TooDeep");
        assert!(btf.find_member(a2, "x").is_none());
        assert_eq!(why(&btf.member_path(h, "a.x").unwrap_err()), "TooDeep");
        assert_eq!(why(&btf.member_path(h, "arr[1]").unwrap_err()), "BadIndex");
        support::navigate::navigate(&btf);
    });
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn anonymous_member_cycles_terminate() {
    // A struct whose anonymous member is itself (and a pair doing it in turn).
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let s = b.next_id();
    b.add_struct("loop", 8, &[m("", s, 0), m("", s, 32), m("v", int, 0)]);
    let p = b.next_id();
    b.add_struct("", 4, &[m("", p + 1, 0)]);
    b.add_union("", 4, &[m("", p, 0), m("w", int, 0)]);
    let bytes = b.build();
    finishes_within(10, move || {
        let btf = parse(bytes);
        assert_eq!(why(&btf.member_path(s, "v").unwrap_err()), "TooDeep");
        assert_eq!(btf.find_member(s, "v"), None);
        assert_eq!(why(&btf.member_path(p, "w").unwrap_err()), "TooDeep");
        support::navigate::navigate(&btf);
    });
}

/// A function prototype whose two parameters are the prototype itself:
/// `c_decl` recurses into every parameter up to its depth limit of 32, so it
/// does 2^32 steps and builds an exponentially long string. See the report
/// for the fix (a step budget in `format.rs`).
#[test]
fn c_decl_of_self_referencing_proto_terminates() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let p = b.next_id();
    b.add_func_proto(int, &[("a", p), ("b", p)]);
    let bytes = b.build();
    finishes_within(10, move || {
        let btf = parse(bytes);
        btf.c_decl(p, "f").len()
    });
}

/// Anonymous members sharing types (a DAG, not a cycle): a search for a
/// missing member visits 2^depth structs. See the report for the fix (a
/// visit budget in `layout.rs`).
#[test]
fn anonymous_member_dag_search_terminates() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let mut inner = b.add_struct("", 4, &[m("leaf", int, 0)]);
    for _ in 0..60 {
        inner = b.add_struct("", 4, &[m("", inner, 0), m("", inner, 0)]);
    }
    let top = inner;
    let bytes = b.build();
    finishes_within(10, move || {
        let btf = parse(bytes);
        btf.member_path(top, "missing").is_err()
    });
}

#[test]
fn sample_blobs_all_navigate() {
    for (name, bytes) in samples::all() {
        if name == "split_module" {
            continue;
        }
        let btf = Btf::from_bytes(bytes, name).unwrap();
        btf.validate().unwrap();
        assert!(support::navigate::navigate(&btf) > 0);
    }
    let (base, split) = samples::split_pair();
    let base = Arc::new(parse(base));
    let split = Btf::from_bytes_split(split, "split", base).unwrap();
    support::navigate::navigate(&split);
}
