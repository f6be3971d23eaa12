//! Hostile BTF: a million types of one name (lookups stay linear, errors
//! stay short), names holding terminal escapes (printed escaped), and types
//! that contain themselves by value (typedef cycles, self-containing
//! structs) reported by validation.

mod support;

use ktype_runtime::btf::{Btf, Kind, LookupError, MAX_CANDIDATES};
use std::time::{Duration, Instant};
use support::builder::{m, BtfBuilder};

fn parse(bytes: Vec<u8>) -> Btf {
    Btf::from_bytes(bytes, "hostile").expect("structurally valid BTF")
}

#[test]
fn a_million_same_named_types_cost_linear_time_and_a_short_error() {
    const N: usize = 1_000_000;
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    for _ in 0..N {
        b.add_struct("dup", 4, &[m("x", int, 0)]);
    }
    // The same name as enum constants, in 100 000 enums.
    for _ in 0..100_000 {
        b.add_enum("e", 4, false, &[("DUP", 1)]);
    }
    let btf = parse(b.build());
    let t = Instant::now();
    let e = btf.find_unique("dup", Kind::Struct).unwrap_err();
    let found = btf.find_enum_constant("DUP").len();
    let took = t.elapsed();
    assert_eq!(found, 100_000);
    match &e {
        LookupError::Ambiguous {
            total, candidates, ..
        } => {
            assert_eq!(*total, N);
            assert_eq!(candidates.len(), MAX_CANDIDATES);
            assert_eq!(candidates[0], "struct dup [id 2] size 4");
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.len() < 400, "{} bytes: {msg}", msg.len());
    assert!(
        msg.starts_with(
            "hostile: struct dup is ambiguous, 1000000 definitions: struct dup [id 2] size 4; "
        ) && msg.ends_with(&format!("; and {} more", N - MAX_CANDIDATES)),
        "{msg}"
    );
    // Was 25 s (quadratic probing of a million equal hashes).
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn names_with_control_characters_are_printed_escaped() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let evil = "\u{1b}]0;owned\u{7}\ncore";
    b.add_struct(evil, 4, &[m("x", int, 0)]);
    b.add_struct(evil, 8, &[m("x", int, 0)]);
    let btf = parse(b.build());
    let msg = btf.find_unique(evil, Kind::Struct).unwrap_err().to_string();
    assert!(!msg.chars().any(char::is_control), "{msg:?}");
    assert!(
        msg.contains("struct \\x1b]0;owned\\x07\\x0acore [id 2] size 4"),
        "{msg}"
    );
    let msg = btf
        .find_unique("\u{9b}x", Kind::Union)
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "hostile: no union \\u{9b}x");
}

#[test]
fn typedef_cycles_are_invalid() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let a = b.add_typedef("a_t", 0);
    let c = b.add_const(0);
    let bt = b.add_typedef("b_t", a);
    b.set_ref(a, c);
    b.set_ref(c, bt);
    let _ = int;
    let btf = parse(b.build());
    let msg = btf.validate().unwrap_err().to_string();
    assert!(
        msg.contains("typedef cycle: typedef a_t [id 2] -> const (anon) [id 3] -> typedef b_t [id 4] -> typedef a_t [id 2]"),
        "{msg}"
    );
}

#[test]
fn self_containing_structs_are_invalid() {
    // Directly.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let s = b.add_struct("selfish", 8, &[m("i", int, 0), m("me", 0, 32)]);
    // Member `me` (the second: 12-byte header, 12 bytes per member, its
    // type word 4 bytes in) becomes struct selfish itself.
    let mut bytes = b.build();
    let at = b.record_offset(s) + 12 + 12 + 4;
    bytes[at..at + 4].copy_from_slice(&s.to_le_bytes());
    let btf = parse(bytes);
    let msg = btf.validate().unwrap_err().to_string();
    assert!(
        msg.contains(
            "a type contains itself by value: struct selfish [id 2] -> struct selfish [id 2]"
        ),
        "{msg}"
    );

    // Through a typedef of an array of a union holding it; a pointer to
    // itself is fine.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let outer = b.add_struct("outer", 16, &[m("i", int, 0)]);
    let ptr = b.add_ptr(outer);
    let u = b.add_union("inner", 8, &[m("o", outer, 0), m("p", ptr, 0)]);
    let arr = b.add_array(u, int, 2);
    let td = b.add_typedef("pair_t", arr);
    let ok = b.add_struct("fine", 8, &[m("next", ptr, 0)]);
    let _ = ok;
    let fixed = {
        let mut bytes = b.build();
        // outer's member `i` becomes a `pair_t`.
        let at = b.record_offset(outer) + 12 + 4;
        bytes[at..at + 4].copy_from_slice(&td.to_le_bytes());
        bytes
    };
    let btf = parse(fixed);
    let msg = btf.validate().unwrap_err().to_string();
    assert!(
        msg.contains("a type contains itself by value: struct outer [id 2] -> typedef pair_t [id 6] -> array (anon) [id 5] -> union inner [id 4] -> struct outer [id 2]"),
        "{msg}"
    );
    // Without the loop, the same types validate.
    let btf = parse(b.build());
    btf.validate().unwrap();
}
