//! Corrupt and truncated BTF: whatever the bytes, parsing returns `Ok` or
//! `Err` (never panics), and a blob that loads can be navigated everywhere
//! without panicking or hanging. Deterministic: truncations, extreme header
//! values, targeted record corruptions, and seeded random mutations of the
//! synthetic samples and of a real kernel's BTF (when its fixture exists),
//! plus replay of the committed corpus in `tests/corpus/`.

mod support;

use ktype_runtime::btf::{Btf, BtfError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::builder::{self, get_u32, hdr, info, put_u32, BtfBuilder};
use support::navigate::{navigate, navigate_ids};
use support::samples::{self, kitchen_sink};
use support::XorShift;

const ORIGIN: &str = "corrupt-test";

/// Parses `bytes`; when they load, navigates everything. Returns the error
/// message on failure.
fn check(bytes: Vec<u8>) -> Result<(), String> {
    match Btf::from_bytes(bytes, ORIGIN) {
        Ok(btf) => {
            consistent(&btf);
            navigate(&btf);
            Ok(())
        }
        Err(e) => Err(message(e)),
    }
}

/// Like [`check`] for split BTF on `base`.
fn check_split(bytes: Vec<u8>, base: &Arc<Btf>) -> Result<(), String> {
    match Btf::from_bytes_split(bytes, ORIGIN, base.clone()) {
        Ok(btf) => {
            consistent(&btf);
            navigate(&btf);
            Ok(())
        }
        Err(e) => Err(message(e)),
    }
}

/// Every error names its input.
fn message(e: BtfError) -> String {
    let msg = e.to_string();
    assert!(
        msg.starts_with(ORIGIN),
        "error does not name its origin: {msg}"
    );
    msg
}

/// `validate()` succeeds exactly when every own type passes `check_type`,
/// the strings are UTF-8 and no type contains itself by value.
fn consistent(btf: &Btf) {
    let all_ok = (btf.start_id()..btf.next_id()).all(|id| btf.check_type(id).is_ok());
    match btf.validate() {
        Ok(()) => assert!(all_ok, "validate() passed but a check_type failed"),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with(ORIGIN), "{msg}");
            assert!(
                !all_ok || msg.contains("not valid UTF-8") || btf.check_containment().is_err(),
                "{msg}"
            );
        }
    }
}

fn expect_err(bytes: Vec<u8>, needles: &[&str]) -> String {
    let msg = check(bytes).expect_err("corrupt blob loaded");
    for n in needles {
        assert!(msg.contains(n), "error {msg:?} does not mention {n:?}");
    }
    msg
}

/// Loads (must succeed) and returns the message of `validate()` (must fail).
fn expect_invalid(bytes: Vec<u8>, needles: &[&str]) -> String {
    let btf = Btf::from_bytes(bytes, ORIGIN).expect("record corruption should load");
    navigate(&btf);
    let msg = btf
        .validate()
        .expect_err("corrupt record validated")
        .to_string();
    for n in needles {
        assert!(msg.contains(n), "error {msg:?} does not mention {n:?}");
    }
    msg
}

fn sample_blobs() -> Vec<(&'static str, Vec<u8>)> {
    samples::all()
        .into_iter()
        .filter(|(n, _)| *n != "split_module")
        .collect()
}

fn split_base() -> Arc<Btf> {
    Arc::new(Btf::from_bytes(samples::split_pair().0, "base").unwrap())
}

#[test]
fn truncation_at_every_length() {
    for (name, bytes) in sample_blobs() {
        assert!(check(bytes.clone()).is_ok(), "{name} should load");
        for len in 0..bytes.len() {
            let msg = check(bytes[..len].to_vec()).expect_err("truncated blob loaded");
            if len < 2 {
                assert!(msg.contains("not BTF"), "{name}[..{len}]: {msg}");
            } else if len < 24 {
                assert!(msg.contains("shorter than"), "{name}[..{len}]: {msg}");
                assert!(msg.contains(&format!("only {len} bytes")), "{msg}");
            }
        }
    }
    let base = split_base();
    let split = samples::split_pair().1;
    assert!(check_split(split.clone(), &base).is_ok());
    for len in 0..split.len() {
        assert!(check_split(split[..len].to_vec(), &base).is_err());
    }
}

#[test]
fn header_fields_at_extreme_values() {
    for (name, bytes) in sample_blobs() {
        let be = bytes[0] == 0xeb;
        let hdr_len = get_u32(&bytes, hdr::HDR_LEN, be) as usize;
        let mut fields = vec![
            hdr::HDR_LEN,
            hdr::TYPE_OFF,
            hdr::TYPE_LEN,
            hdr::STR_OFF,
            hdr::STR_LEN,
        ];
        if hdr_len == 32 {
            fields.extend([hdr::LAYOUT_OFF, hdr::LAYOUT_LEN]);
        }
        let len = bytes.len() as u32;
        for &f in &fields {
            let orig = get_u32(&bytes, f, be);
            let values = [
                0,
                1,
                2,
                3,
                4,
                24,
                28,
                32,
                0x7fff_ffff,
                0x8000_0000,
                0xffff_fffc,
                0xffff_ffff,
                len - 1,
                len,
                len + 1,
                orig.wrapping_add(1),
                orig.wrapping_sub(1),
                orig.wrapping_add(4),
                orig.wrapping_sub(4),
                orig.swap_bytes(),
            ];
            for v in values {
                let mut b = bytes.clone();
                put_u32(&mut b, f, v, be);
                let _ = check(b);
            }
        }
        for (at, v) in [(2usize, 0u8), (2, 2), (2, 255), (3, 1), (3, 0x80)] {
            let mut b = bytes.clone();
            b[at] = v;
            let msg = check(b).expect_err("bad version/flags loaded");
            let want = if at == 2 {
                format!("unsupported BTF version {v}")
            } else {
                format!("unsupported header flags {v:#x}")
            };
            assert!(msg.contains(&want), "{name}: {msg}");
        }
        for magic in [[0u8, 0], [0x9f, 0x9f], [0xeb, 0xeb], [0x7f, b'E']] {
            let mut b = bytes.clone();
            b[..2].copy_from_slice(&magic);
            expect_err(b, &["not BTF"]);
        }
    }
}

/// A header field of the little-endian kitchen sink set to `v`.
fn with_field(field: usize, v: u32) -> Vec<u8> {
    let mut b = kitchen_sink(false).0.build();
    put_u32(&mut b, field, v, false);
    b
}

#[test]
fn header_errors_say_what_is_wrong() {
    let good = kitchen_sink(false).0.build();
    let body = good.len() - 24;
    let type_len = get_u32(&good, hdr::TYPE_LEN, false) as usize;
    let str_len = get_u32(&good, hdr::STR_LEN, false);

    expect_err(
        with_field(hdr::HDR_LEN, 0xffff_ffff),
        &["header length 4294967295 outside 24..="],
    );
    expect_err(with_field(hdr::HDR_LEN, 8), &["header length 8"]);
    // A 28-byte header whose extra word (the first type's name) is not zero.
    expect_err(
        with_field(hdr::HDR_LEN, 28),
        &["unknown non-zero header field (28-byte header)"],
    );
    expect_err(
        with_field(hdr::TYPE_LEN, 0xffff_ffff),
        &[&format!(
            "type section 0x0+0xffffffff runs past the end ({body:#x} bytes after the header)"
        )],
    );
    expect_err(
        with_field(hdr::STR_OFF, 0xffff_fff0),
        &["string section 0xfffffff0+"],
    );
    expect_err(
        with_field(hdr::STR_LEN, str_len + 1),
        &["string section", "runs past the end"],
    );
    expect_err(
        with_field(hdr::TYPE_OFF, 2),
        &["type section is not 4-byte aligned"],
    );
    expect_err(
        with_field(hdr::STR_OFF, 4),
        &["type and string sections overlap"],
    );
    expect_err(
        with_field(hdr::STR_LEN, 0),
        &["string section does not start with an empty string"],
    );
    expect_err(
        with_field(hdr::STR_LEN, str_len - 1),
        &["string section is not NUL-terminated"],
    );
    // A type section cut inside a record.
    expect_err(
        with_field(hdr::TYPE_LEN, type_len as u32 - 4),
        &["is truncated (8 bytes left)"],
    );
    expect_err(
        with_field(hdr::TYPE_LEN, 20),
        &["type id 2 is truncated (4 bytes left)"],
    );
    // Five ints (16 bytes each), a ptr (12), then 20 of the array's 24.
    expect_err(
        with_field(hdr::TYPE_LEN, 112),
        &["type id 7 (array, vlen 0) runs past the type section"],
    );
    // No types at all is fine.
    assert!(check(with_field(hdr::TYPE_LEN, 0)).is_ok());

    // Layout section: misaligned length, overlap, past the end.
    let lay = kitchen_sink(false).0.with_layout(&[]).build();
    let set = |f: usize, v: u32| {
        let mut b = lay.clone();
        put_u32(&mut b, f, v, false);
        b
    };
    expect_err(
        set(hdr::LAYOUT_LEN, 78),
        &["layout section length 78 is not a multiple of 4"],
    );
    expect_err(
        set(hdr::LAYOUT_OFF, 8),
        &["layout section overlaps another section"],
    );
    expect_err(
        set(hdr::LAYOUT_LEN, 0xffff_fff0),
        &["layout section", "runs past the end"],
    );
    // layout_len 0: no layout section, every kind is known anyway.
    assert!(check(set(hdr::LAYOUT_LEN, 0)).is_ok());
    // A non-zero byte in the header past the known 32 bytes.
    let mut b = BtfBuilder::new().build();
    b.splice(24..24, [0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0]);
    b[4] = 36;
    expect_err(b, &["unknown non-zero header field (36-byte header)"]);

    // Not BTF at all, and ELF without a .BTF section.
    expect_err(b"hello world".to_vec(), &["not BTF (no 0xeB9F magic"]);
    let mut elf = b"\x7fELF".to_vec();
    elf.resize(64, 0);
    expect_err(elf, &["unreadable ELF"]);
    expect_err(
        b"\xfd7zXZ\x00garbage".to_vec(),
        &["xz decompression failed"],
    );
}

/// Byte offset of type `id`'s record in the LE kitchen sink, and the blob.
fn sink_with_record(id: u32) -> (Vec<u8>, usize) {
    let (b, _) = kitchen_sink(false);
    (b.build(), b.record_offset(id))
}

#[test]
fn record_errors_say_what_is_wrong() {
    let (b, ids) = kitchen_sink(false);
    let next = b.next_id();
    let strs_len = b.build().len() - b.strings_offset();
    let set = |id: u32, word: usize, v: u32| {
        let (mut bytes, at) = sink_with_record(id);
        put_u32(&mut bytes, at + 4 * word, v, false);
        bytes
    };

    // Structure, found at load.
    let lh = ids.list_head;
    expect_err(
        set(lh, 1, info(4, 0xff_ffff, false)),
        &[&format!(
            "type id {lh} (struct, vlen 16777215) runs past the type section"
        )],
    );
    expect_err(
        set(lh, 1, info(0, 0, false)),
        &[&format!("type id {lh}: void and no layout section")],
    );
    expect_err(
        set(lh, 1, info(31, 0, false)),
        &[&format!(
            "type id {lh}: unknown kind 31 and no layout section to skip it"
        )],
    );
    expect_err(set(lh, 1, info(127, 2, true)), &["unknown kind 127"]);
    expect_err(
        set(lh, 0, strs_len as u32),
        &[&format!(
            "type id {lh}: name offset {strs_len:#x} is past the string section"
        )],
    );
    expect_err(set(lh, 0, u32::MAX), &["name offset 0xffffffff"]);

    // References and encodings, found by validate().
    let p = ids.list_head_ptr;
    let msg = expect_invalid(
        set(p, 2, next),
        &[&format!("type id {p} (ptr): refers to type id {next}")],
    );
    assert!(
        msg.contains(&format!("(last type id is {})", next - 1)),
        "{msg}"
    );
    expect_invalid(
        set(ids.u32_, 2, u32::MAX),
        &["(typedef): refers to type id 4294967295"],
    );
    expect_invalid(
        set(lh, 4, next + 5),
        &[&format!("element 0 refers to type id {}", next + 5)],
    );
    expect_invalid(
        set(lh, 3, strs_len as u32 + 3),
        &["element 0 has name offset"],
    );
    expect_invalid(set(ids.comm, 3, next), &["array refers to type ids"]);
    expect_invalid(
        set(ids.comm, 4, 0xdead),
        &["array refers to type ids", "57005"],
    );
    expect_invalid(
        set(ids.proto, 4, next),
        &["(func_proto): element 0 refers to type id"],
    );
    expect_invalid(
        set(ids.proto, 2, next),
        &["(func_proto): refers to type id"],
    );
    expect_invalid(
        set(ids.state, 3, strs_len as u32),
        &["(enum): element 0 has name offset"],
    );
    expect_invalid(
        set(ids.big, 3, u32::MAX),
        &["(enum64): element 0 has name offset"],
    );
    expect_invalid(
        set(ids.datasec, 3, next),
        &["(datasec): element 0 refers to type id"],
    );
    expect_invalid(set(ids.var, 2, next), &["(var): refers to type id"]);
    expect_invalid(
        set(ids.decl_tag, 2, next),
        &["(decl_tag): refers to type id"],
    );
    // INT encodings: 0 bits, 200 bits, bits past the size, odd sizes.
    let int = ids.int;
    expect_invalid(
        set(int, 3, 0x0100_0000),
        &[&format!(
            "type id {int} (int): int of size 4 with 0 bits at offset 0"
        )],
    );
    expect_invalid(set(int, 3, 200), &["int of size 4 with 200 bits"]);
    expect_invalid(
        set(int, 3, (30 << 16) | 8),
        &["int of size 4 with 8 bits at offset 30"],
    );
    expect_invalid(set(int, 2, 3), &["int of size 3 with 32 bits"]);
    expect_invalid(set(int, 2, 0), &["int of size 0"]);

    // check_type() reports just that type.
    let btf = Btf::from_bytes(set(p, 2, next), ORIGIN).unwrap();
    assert!(btf
        .check_type(p)
        .unwrap_err()
        .to_string()
        .contains(&format!("type id {p}")));
    assert!(btf.check_type(ids.int).is_ok());
    assert!(btf.check_type(0).is_ok());
    let e = btf.check_type(next).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "type id {next} does not exist (last is {})",
            next - 1
        )),
        "{e}"
    );
    // Dangling references are None when navigated, never a panic.
    assert_eq!(btf.type_by_id(p).unwrap().ref_type(), Some(next));
    assert!(btf.type_by_id(next).is_none());
    assert_eq!(btf.c_decl(p, "x"), "<bad type> *x");
    assert_eq!(btf.size_of(p), Some(8));
}

#[test]
fn bad_strings() {
    let (b, ids) = kitchen_sink(false);
    let bytes = b.build();
    let so = b.strings_offset();
    // Not NUL-terminated at the end.
    let mut t = bytes.clone();
    *t.last_mut().unwrap() = b'x';
    expect_err(t, &["string section is not NUL-terminated"]);
    // Invalid UTF-8 inside the name "list_head": loads, the name reads as "",
    // validate() says where.
    let at = so
        + bytes[so..]
            .windows(9)
            .position(|w| w == b"list_head")
            .unwrap();
    let mut t = bytes.clone();
    t[at + 2] = 0xff;
    let btf = Btf::from_bytes(t.clone(), ORIGIN).unwrap();
    assert_eq!(btf.type_by_id(ids.list_head).unwrap().name(), "");
    assert!(btf
        .find("list_head", ktype_runtime::btf::Kind::Struct)
        .is_empty());
    let msg = btf.validate().unwrap_err().to_string();
    assert!(msg.contains("string section is not valid UTF-8"), "{msg}");
    assert!(msg.contains(&format!("at byte {:#x}", at + 2)), "{msg}");
    navigate(&btf);
    // A name offset pointing into the middle of a string is allowed (suffix).
    let mut t = bytes.clone();
    let name_at = b.record_offset(ids.list_head);
    let off = get_u32(&t, name_at, false);
    put_u32(&mut t, name_at, off + 5, false);
    let btf = Btf::from_bytes(t, ORIGIN).unwrap();
    assert_eq!(btf.type_by_id(ids.list_head).unwrap().name(), "head");
    // Invalid UTF-8 written by the builder as a member name.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let bad = b.raw_str(b"\xc3\x28");
    let s = b.add_composite(false, "s", 4, false, &[builder::m("x", int, 0)]);
    let mut bytes = b.build();
    put_u32(&mut bytes, b.record_offset(s) + 12, bad, false);
    let btf = Btf::from_bytes(bytes, ORIGIN).unwrap();
    assert_eq!(
        btf.type_by_id(s).unwrap().members().next().unwrap().name,
        ""
    );
    assert!(btf.validate().is_err());
    navigate(&btf);
}

/// Values worth writing into any u32 of a blob.
fn interesting(next_id: u32, str_len: u32, len: u32) -> Vec<u32> {
    let mut v = vec![
        0,
        1,
        2,
        3,
        4,
        7,
        8,
        16,
        31,
        32,
        64,
        0x7f,
        0x80,
        0xff,
        0x100,
        0xffff,
        0x1_0000,
        0xff_ffff,
        0x100_0000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffe,
        0xffff_ffff,
        next_id,
        next_id - 1,
        next_id + 1,
        str_len,
        str_len - 1,
        len,
        len + 1,
    ];
    for k in [0, 1, 3, 4, 5, 6, 12, 13, 15, 17, 19, 20, 25, 31, 127] {
        for (vlen, kf) in [(0, false), (1, true), (3, false), (0xff_ffff, true)] {
            v.push(info(k, vlen, kf));
        }
    }
    v
}

#[test]
fn every_record_word_at_every_interesting_value() {
    for big_endian in [false, true] {
        let (b, _) = kitchen_sink(big_endian);
        let bytes = b.build();
        let so = b.strings_offset();
        let vals = interesting(b.next_id(), (bytes.len() - so) as u32, bytes.len() as u32);
        let (mut ok, mut err) = (0, 0);
        for at in (24..so).step_by(4) {
            for &v in &vals {
                let mut t = bytes.clone();
                put_u32(&mut t, at, v, big_endian);
                match check(t) {
                    Ok(()) => ok += 1,
                    Err(_) => err += 1,
                }
            }
        }
        assert!(ok > 100 && err > 100, "ok {ok} err {err}");
    }
}

/// One random edit of `b`.
fn mutate(rng: &mut XorShift, b: &mut Vec<u8>, vals: &[u32], shifting: bool) {
    if b.is_empty() {
        b.push(rng.next_u64() as u8);
        return;
    }
    let n = b.len();
    let op = rng.below(if shifting { 9 } else { 6 });
    match op {
        0 => {
            let i = rng.below(n);
            b[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = rng.below(n);
            b[i] = rng.next_u64() as u8;
        }
        2 | 3 if n >= 4 => {
            let i = if op == 2 {
                rng.below(n / 4) * 4
            } else {
                rng.below(n - 3)
            };
            let v = vals[rng.below(vals.len())];
            let be = rng.below(2) == 0;
            put_u32(b, i, v, be);
        }
        4 if n >= 4 => {
            let i = rng.below(n / 4) * 4;
            let v = get_u32(b, i, false)
                .wrapping_add(rng.below(9) as u32)
                .wrapping_sub(4);
            put_u32(b, i, v, false);
        }
        5 => {
            // Copy a chunk over another place.
            let len = 1 + rng.below(16.min(n));
            let (from, to) = (rng.below(n - len + 1), rng.below(n - len + 1));
            b.copy_within(from..from + len, to);
        }
        6 => {
            let i = rng.below(n);
            let len = 1 + rng.below(8.min(n - i));
            b.drain(i..i + len);
        }
        7 => {
            let i = rng.below(n + 1);
            let extra: Vec<u8> = (0..1 + rng.below(8))
                .map(|_| rng.next_u64() as u8)
                .collect();
            b.splice(i..i, extra);
        }
        _ => {
            let len = rng.below(n);
            b.truncate(len);
        }
    }
}

#[test]
fn random_mutations_of_samples() {
    let start = Instant::now();
    let mut rng = XorShift::new(0x6b74_7970_6521);
    let mut stats = (0usize, 0usize);
    let mut seen_msgs = std::collections::BTreeSet::new();
    for (name, bytes) in sample_blobs() {
        let so = bytes.len() as u32;
        let vals = interesting(64, so / 4, so);
        for i in 0..1500 {
            let mut t = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, &mut t, &vals, i % 4 == 0);
            }
            match check(t) {
                Ok(()) => stats.0 += 1,
                Err(m) => {
                    stats.1 += 1;
                    let what = m.split(": ").last().unwrap_or("").to_string();
                    seen_msgs.insert(what.split(' ').take(3).collect::<Vec<_>>().join(" "));
                }
            }
        }
        let _ = name;
    }
    // Split BTF: mutate the module on a fixed base.
    let base = split_base();
    let split = samples::split_pair().1;
    let vals = interesting(8, 64, split.len() as u32);
    for i in 0..1500 {
        let mut t = split.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut t, &vals, i % 4 == 0);
        }
        match check_split(t, &base) {
            Ok(()) => stats.0 += 1,
            Err(_) => stats.1 += 1,
        }
    }
    assert!(stats.0 > 1000 && stats.1 > 1000, "ok/err {stats:?}");
    assert!(seen_msgs.len() > 10, "{seen_msgs:?}");
    eprintln!(
        "random_mutations_of_samples: {} ok, {} err, {} distinct errors, {:?}",
        stats.0,
        stats.1,
        seen_msgs.len(),
        start.elapsed()
    );
}

/// The repository root.
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ktype-runtime/ has a parent")
}

/// A file of the bookworm kernel fixture (`scripts/fixtures.sh kernels`),
/// made by the script when missing; panics when it cannot be had.
fn fixture(rel: &str) -> PathBuf {
    static MADE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // The same default as scripts/fixtures.sh (this crate cannot use ktype-tests).
    let dir = std::env::var_os("FIXTURES_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("ktype-fixtures"))
        })
        .expect("neither FIXTURES_DIR, XDG_CACHE_HOME nor HOME is set")
        .join("kernels/bookworm");
    let _made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join(".complete").exists() {
        let script = repo_root().join("scripts/fixtures.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .args(["kernels", "bookworm"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} kernels bookworm failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let p = dir.join(rel);
    assert!(p.exists(), "{} is not in the kernel fixture", p.display());
    p
}

/// Offsets (in the blob) of each type record of a valid little-endian blob.
fn record_offsets(b: &[u8]) -> Vec<usize> {
    let hdr_len = get_u32(b, 4, false) as usize;
    let start = hdr_len + get_u32(b, hdr::TYPE_OFF, false) as usize;
    let end = start + get_u32(b, hdr::TYPE_LEN, false) as usize;
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        out.push(at);
        let i = get_u32(b, at + 4, false);
        let vlen = (i & 0xff_ffff) as usize;
        at += 12
            + match (i >> 24) & 0x7f {
                1 | 14 | 17 => 4,
                3 => 12,
                4 | 5 | 15 | 19 => 12 * vlen,
                6 | 13 => 8 * vlen,
                _ => 0,
            };
    }
    out
}

/// How often a kernel mutation also runs name lookups (each builds the
/// name index of the whole mutated blob).
const LOOKUP_EVERY: usize = 20;

/// Random in-place mutations of real kernel BTF, each navigated around the
/// types it touched. Bounded in count and time (debug builds are slow).
#[test]
fn random_mutations_of_kernel_btf() {
    let path = fixture("vmlinux");
    let t0 = Instant::now();
    let btf = Btf::open(&path).unwrap();
    let bytes = btf.bytes().to_vec();
    assert!(!btf.is_big_endian());
    let offs = record_offsets(&bytes);
    assert_eq!(offs.len(), btf.own_type_count());
    let next = btf.next_id();
    let str_len = get_u32(&bytes, hdr::STR_LEN, false);
    let vals = interesting(next, str_len, bytes.len() as u32);
    let types_end = 24
        + get_u32(&bytes, hdr::TYPE_OFF, false) as usize
        + get_u32(&bytes, hdr::TYPE_LEN, false) as usize;
    drop(btf);
    let load = t0.elapsed();

    let budget = Duration::from_secs(12);
    let max = 2000;
    let mut rng = XorShift::new(0xb7f_5eed);
    let (mut ok, mut err, mut n) = (0, 0, 0);
    let t1 = Instant::now();
    let mut slowest = (Duration::ZERO, 0);
    while n < max && t1.elapsed() < budget {
        n += 1;
        let it = Instant::now();
        let mut t = bytes.clone();
        // Mostly inside type records, sometimes in the header or strings.
        let at = match rng.below(10) {
            0 => rng.below(24),
            1 => types_end + rng.below(bytes.len() - types_end),
            _ => offs[rng.below(offs.len())] + rng.below(16),
        };
        let v = vals[rng.below(vals.len())];
        match rng.below(3) {
            0 => t[at] ^= 1 << rng.below(8),
            1 => put_u32(&mut t, (at & !3).min(bytes.len() - 4), v, false),
            _ => t[at] = rng.next_u64() as u8,
        }
        let Ok(m) = Btf::from_bytes(t, ORIGIN) else {
            err += 1;
            continue;
        };
        ok += 1;
        let id = match offs.binary_search(&at) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        } as u32
            + 1;
        navigate_ids(&m, id.saturating_sub(2)..id + 3, n % LOOKUP_EVERY == 0);
        let _ = m.check_type(id);
        if n % 200 == 0 {
            // Occasionally the whole-blob checks too.
            let _ = m.validate();
        }
        drop(m);
        if it.elapsed() > slowest.0 {
            slowest = (it.elapsed(), n);
        }
    }
    eprintln!("slowest mutation: {slowest:?}");
    eprintln!(
        "kernel BTF: {} bytes, {} types, loaded in {load:?}; {n} mutations ({ok} ok, {err} err) in {:?}",
        bytes.len(),
        offs.len(),
        t1.elapsed()
    );
    assert!(n >= 100, "too few mutations in the time budget: {n}");
}

/// Split module BTF of a real kernel, corrupted on an intact vmlinux base.
#[test]
fn random_mutations_of_kernel_module_btf() {
    let (vmlinux, ko) = (fixture("vmlinux"), fixture("modules/crc16.ko"));
    let base = Arc::new(Btf::open(vmlinux).unwrap());
    let module = Btf::open_split(&ko, base.clone()).unwrap();
    module.validate().unwrap();
    let bytes = module.bytes().to_vec();
    let vals = interesting(module.next_id(), 64, bytes.len() as u32);
    let mut rng = XorShift::new(0x5711_7001);
    let t = Instant::now();
    let mut n = 0;
    while n < 1000 && t.elapsed() < Duration::from_secs(5) {
        n += 1;
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut b, &vals, false);
        }
        if let Ok(m) = Btf::from_bytes_split(b, ORIGIN, base.clone()) {
            let _ = m.validate();
            navigate_ids(&m, m.start_id().saturating_sub(1)..m.next_id() + 1, true);
        }
    }
    eprintln!("module BTF: {n} mutations in {:?}", t.elapsed());
}

/// Replays `tests/corpus/`: each `*.btf` must load or fail as
/// `expected.txt` says (`name: ok` or `name: err <substring>`), and navigate
/// without panicking when it loads. Split inputs (`*.split.btf`) load on the
/// sample split base.
#[test]
fn corpus_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
    let base = split_base();
    let mut replayed = 0;
    for line in expected
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (file, want) = line.split_once(": ").expect("`file: ok|err <text>`");
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = if file.ends_with(".split.btf") {
            check_split(bytes, &base)
        } else {
            check(bytes)
        };
        match (want.strip_prefix("err "), got) {
            (None, Ok(())) => assert_eq!(want, "ok", "{file}"),
            (Some(text), Err(msg)) => assert!(msg.contains(text), "{file}: {msg:?} lacks {text:?}"),
            (_, got) => panic!("{file}: expected {want}, got {got:?}"),
        }
        replayed += 1;
    }
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "btf")
        })
        .count();
    assert_eq!(
        replayed, files,
        "every corpus file is listed in expected.txt"
    );
}

/// Inputs that hang (exponential work) until the parser bugs reported with
/// them are fixed: `tests/corpus/pending/*.btf`, each given 10 s.
#[test]
fn corpus_pending_terminates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/pending");
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = check(bytes);
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{} does not finish in 10 s", path.display()));
    }
}

/// The hand-made corpus files (paths under `tests/corpus/`), as this code
/// makes them today; the fuzz-found ones are kept as they are.
fn hand_made_corpus() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut w = |name: &str, b: Vec<u8>| files.push((name.to_string(), b));
    for (name, bytes) in samples::all() {
        let file = if name == "split_module" {
            "sample_split_module.split.btf".to_string()
        } else {
            format!("sample_{name}.btf")
        };
        w(&file, bytes);
    }
    w(
        "truncated_header.btf",
        kitchen_sink(false).0.build()[..20].to_vec(),
    );
    w(
        "unknown_kind_no_layout.btf",
        samples::with_unknown_kind(false),
    );
    w("huge_vlen.btf", {
        let (mut t, at) = sink_with_record(2);
        put_u32(&mut t, at + 4, info(4, 0xff_ffff, false), false);
        t
    });
    w("be_header_len_max.btf", {
        let mut t = kitchen_sink(true).0.build();
        put_u32(&mut t, hdr::HDR_LEN, u32::MAX, true);
        t
    });
    // Found by the random mutations (both panicked with arithmetic overflow
    // in debug builds before layout.rs used u64/checked arithmetic):
    // an int of 2^29 bytes used as a member (size * 8 overflowed a u32)...
    let mut b = BtfBuilder::new();
    let big = b.add_int_raw("big", 0x2000_0000, 0, 0, 32);
    b.add_struct("s", 8, &[builder::m("f", big, 0)]);
    w("int_size_overflow.btf", b.build());
    // ...and an index whose bit offset does not fit in a u64.
    let mut b = BtfBuilder::new();
    let byte = b.add_int("unsigned char", 1, false);
    let row = b.add_array(byte, byte, u32::MAX);
    let rows = b.add_array(row, byte, u32::MAX);
    b.add_struct("s", 8, &[builder::m("a", rows, 64)]);
    w("index_overflow.btf", b.build());
    // Once exponential work (a prototype whose parameters are itself, a DAG
    // of anonymous members); `corpus_pending_terminates` times them.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let p = b.next_id();
    b.add_func_proto(int, &[("a", p), ("b", p)]);
    w("pending/self_proto.btf", b.build());
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let mut inner = b.add_struct("", 4, &[builder::m("leaf", int, 0)]);
    for _ in 0..60 {
        inner = b.add_struct("", 4, &[builder::m("", inner, 0), builder::m("", inner, 0)]);
    }
    b.add_struct(
        "top",
        4,
        &[builder::m("", inner, 0), builder::m("x", int, 0)],
    );
    w("pending/anon_dag.btf", b.build());
    files
}

/// The committed hand-made corpus is what [`hand_made_corpus`] makes, so a
/// change to the samples cannot leave stale files behind. After changing the
/// samples on purpose, rewrite the files with `KTYPE_WRITE_CORPUS=1`.
#[test]
fn hand_made_corpus_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let write = std::env::var_os("KTYPE_WRITE_CORPUS").is_some();
    for (name, bytes) in hand_made_corpus() {
        let path = dir.join(&name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let stored = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            stored == bytes,
            "{name} differs from what the samples make now (rerun with KTYPE_WRITE_CORPUS=1 if the change is meant)"
        );
    }
}

/// Array indices whose bit offset does not fit in 64 bits.
#[test]
fn member_path_index_overflow() {
    let mut b = BtfBuilder::new();
    let byte = b.add_int("unsigned char", 1, false);
    let row = b.add_array(byte, byte, u32::MAX);
    let rows = b.add_array(row, byte, u32::MAX);
    let s = b.add_struct(
        "s",
        8,
        &[builder::m("a", rows, 64), builder::m("r", row, 0)],
    );
    let btf = Btf::from_bytes(b.build(), ORIGIN).unwrap();
    btf.validate().unwrap();
    assert_eq!(
        btf.member_path(s, "r[4294967294]").unwrap().bit_offset,
        8 * 4_294_967_294
    );
    assert!(btf.member_path(s, "a[1]").is_ok());
    // (2^32 - 2) * (2^32 - 1) * 8 bits does not fit in a u64.
    assert!(btf.member_path(s, "a[4294967294]").is_err());
    assert!(btf.member_path(s, "a[2147483648]").is_err());
    navigate(&btf);
}

/// A valid little-endian blob made of kernel type records `first..end` (by
/// id) of `b`: ids are renumbered from 1 (references outside the window
/// become `void`) and the string table holds only the names used.
fn kernel_slice(b: &[u8], first: u32, end: u32) -> Vec<u8> {
    let offs = record_offsets(b);
    let strs = 24 + get_u32(b, hdr::STR_OFF, false) as usize;
    let name = |off: u32| {
        let s = &b[strs + off as usize..];
        &s[..s.iter().position(|&c| c == 0).unwrap()]
    };
    let map = |id: u32| {
        if id >= first && id < end {
            id - first + 1
        } else {
            0
        }
    };
    let mut out = BtfBuilder::new();
    let mut raw: Vec<(u32, u32, u32, Vec<u32>)> = Vec::new();
    for id in first..end {
        let at = offs[id as usize - 1];
        let next = offs
            .get(id as usize)
            .copied()
            .unwrap_or(24 + get_u32(b, hdr::TYPE_LEN, false) as usize);
        let w = |i: usize| get_u32(b, at + 4 * i, false);
        let (inf, sot) = (w(1), w(2));
        let kind = (inf >> 24) & 0x7f;
        let mut extra: Vec<u32> = (3..(next - at) / 4).map(w).collect();
        let sot = if matches!(kind, 2 | 8..=14 | 17 | 18) {
            map(sot)
        } else {
            sot
        };
        // (elements' name word, type words) per kind.
        let (elem, names, types): (usize, &[usize], &[usize]) = match kind {
            3 => (3, &[], &[0, 1]),
            4 | 5 => (3, &[0], &[1]),
            6 => (2, &[0], &[]),
            19 => (3, &[0], &[]),
            13 => (2, &[0], &[1]),
            15 => (3, &[], &[0]),
            _ => (1, &[], &[]),
        };
        if kind != 1 && kind != 14 && kind != 17 {
            for chunk in extra.chunks_mut(elem) {
                for &i in names {
                    chunk[i] = out.raw_str(name(chunk[i]));
                }
                for &i in types {
                    chunk[i] = map(chunk[i]);
                }
            }
        }
        raw.push((out.raw_str(name(w(0))), inf, sot, extra));
    }
    for (n, inf, sot, extra) in raw {
        out.add_raw(n, inf, sot, &extra);
    }
    out.build()
}

/// Writes the fuzzers' seed corpora (`target/fuzz-corpus/<target>/`, see
/// `fuzz/README.md`): the samples, slices of the kernel fixture's BTF (each
/// must load and validate as a blob of its own), and the whole kernel BTF (in
/// `kernel/`, for a separate run with a large `-max_len`).
#[test]
fn fuzz_seeds_load_and_are_written() {
    let root = repo_root().join("target/fuzz-corpus");
    let (parse_dir, split_dir) = (root.join("btf_parse"), root.join("btf_split"));
    for d in [&parse_dir, &split_dir] {
        std::fs::create_dir_all(d).unwrap();
    }
    let with_cut = |base: &[u8], split: &[u8]| {
        let mut v = (base.len() as u16).to_le_bytes().to_vec();
        v.extend_from_slice(base);
        v.extend_from_slice(split);
        v
    };
    for (name, bytes) in samples::all() {
        std::fs::write(parse_dir.join(format!("sample_{name}")), &bytes).unwrap();
    }
    let (base, split) = samples::split_pair();
    std::fs::write(split_dir.join("sample_pair"), with_cut(&base, &split)).unwrap();
    std::fs::write(split_dir.join("sample_fixed_base"), with_cut(&[], &split)).unwrap();
    let path = fixture("vmlinux");
    let btf = Btf::open(path).unwrap();
    let bytes = btf.bytes().to_vec();
    std::fs::create_dir_all(root.join("kernel")).unwrap();
    std::fs::write(root.join("kernel/vmlinux.btf"), &bytes).unwrap();
    let mut windows = vec![(1, 200)];
    for (n, k) in [
        ("task_struct", ktype_runtime::btf::Kind::Struct),
        ("page", ktype_runtime::btf::Kind::Struct),
        ("sk_buff", ktype_runtime::btf::Kind::Struct),
        ("bpf_prog", ktype_runtime::btf::Kind::Struct),
        ("schedule", ktype_runtime::btf::Kind::Func),
    ] {
        let id = btf.find(n, k)[0].id();
        windows.push((id.saturating_sub(60).max(1), id + 20));
    }
    let last = btf.next_id();
    windows.push((last - 150, last));
    for (i, &(a, e)) in windows.iter().enumerate() {
        let slice = kernel_slice(&bytes, a, e);
        let s = Btf::from_bytes(slice.clone(), "slice").unwrap();
        s.validate().unwrap();
        std::fs::write(parse_dir.join(format!("kernel_slice_{i}_{a}_{e}")), &slice).unwrap();
        if i < 2 {
            let mut sp = BtfBuilder::split(s.next_id(), get_u32(&slice, hdr::STR_LEN, false));
            let int = sp.add_int("int", 4, true);
            sp.add_struct(
                "m",
                16,
                &[builder::m("first", 1, 0), builder::m("i", int, 64)],
            );
            std::fs::write(
                split_dir.join(format!("kernel_slice_{i}")),
                with_cut(&slice, &sp.build()),
            )
            .unwrap();
        }
    }
}
