//! Snapshots of `dumptool btf` output on real Debian kernel BTF. Type ids
//! change between point releases, so they are masked; layouts are not.

use dumptool::commands::btf::{check, find, offsetof, show};
use ktype_runtime::btf::Btf;
use ktype_tests::fixtures::{kernel, SUITES};
use std::sync::Arc;

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        filters => vec![(r"\bid \d+", "id [id]"), (r"(?m)^\[\d+\]", "[id]"), (r"/\S*/ktype-fixtures/", "<fixtures>/")],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn show_struct_layouts() {
    for suite in SUITES {
        let btf = Btf::open(kernel(suite).vmlinux()).unwrap_or_else(|e| panic!("{e}"));
        for ty in ["list_head", "page", "free_area"] {
            snapshot(
                &format!("show_struct_{ty}_{suite}"),
                &show(&btf, "struct", ty, None).expect("show"),
            );
        }
        snapshot(
            &format!("show_enum_pageflags_{suite}"),
            &show(&btf, "enum", "pageflags", None).expect("show"),
        );
    }
}

#[test]
fn offsetof_paths_and_bitfields() {
    for suite in SUITES {
        let btf = Btf::open(kernel(suite).vmlinux()).unwrap_or_else(|e| panic!("{e}"));
        let mut out = String::new();
        for p in [
            "page.flags",
            "page._mapcount",
            "page._refcount.counter",
            "page.lru.next",
            "task_struct.se.vruntime",
            "task_struct.sched_reset_on_fork",
            "task_struct.comm",
            "pglist_data.node_zones[1].name",
            "union bpf_attr.map_type",
        ] {
            out.push_str(&offsetof(&btf, p).unwrap_or_else(|e| format!("{p}: error: {e}\n")));
        }
        snapshot(&format!("offsetof_{suite}"), &out);
    }
}

#[test]
fn find_duplicates_and_errors() {
    let btf = Btf::open(kernel("trixie").vmlinux()).unwrap_or_else(|e| panic!("{e}"));
    snapshot("find_console_trixie", &find(&btf, "console"));
    let ambiguous = show(&btf, "struct", "console", None).expect_err("two struct console in 6.12");
    snapshot("show_ambiguous_console_trixie", &ambiguous.to_string());
    let missing = offsetof(&btf, "page.ktype_nope").expect_err("no such member");
    snapshot("offsetof_missing_member_trixie", &missing.to_string());
}

#[test]
fn split_module_btf_and_check() {
    let k = kernel("trixie");
    let base = Arc::new(Btf::open(k.vmlinux()).unwrap_or_else(|e| panic!("{e}")));
    let ko = k.module_xz("qemu_fw_cfg").expect("trixie ships .ko.xz");
    let split = Btf::open_split(&ko, base.clone()).unwrap_or_else(|e| panic!("{e}"));
    snapshot(
        "show_struct_fw_cfg_sysfs_entry_trixie",
        &show(&split, "struct", "fw_cfg_sysfs_entry", None).expect("show"),
    );
    let report = check(&split).expect("valid");
    assert!(
        report.contains("valid BTF") && report.contains(", split"),
        "{report}"
    );
    let report = check(&base).expect("vmlinux validates");
    let structs: usize = report
        .lines()
        .find(|l| l.trim_start().starts_with("struct "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("struct count");
    assert!(structs > 5000, "{report}");
}

/// The byte offset `dumptool btf offsetof` prints (`...: offset N ...`).
fn printed_offset(line: &str) -> u64 {
    line.split_once(": offset ")
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {line:?}"))
}

/// `offsetof` starts from a union or a typedef as C's `offsetof` does
/// (`fpregs_state` is a union, `atomic_t` a typedef of an anonymous
/// struct): offsets equal pahole's on every fixture kernel.
#[test]
fn offsetof_unions_and_typedefs_equal_pahole() {
    for suite in ktype_tests::fixtures::SUITES {
        let vmlinux = kernel(suite).vmlinux();
        let btf = Btf::open(&vmlinux).unwrap_or_else(|e| panic!("{e}"));
        let text = ktype_tests::fixtures::run_tool(
            "pahole",
            &["-C", "fpregs_state,xregs_state", &vmlinux.to_string_lossy()],
        );
        let structs = ktype_tests::pahole::parse(&text);
        for (spec, name, path) in [
            ("fpregs_state.__padding", "fpregs_state", "__padding"),
            ("fpregs_state.xsave", "fpregs_state", "xsave"),
            ("fpregs_state.xsave.header", "fpregs_state", "xsave.header"),
            ("union fpregs_state.fxsave", "fpregs_state", "fxsave"),
            ("xregs_state.header", "xregs_state", "header"),
        ] {
            let line = offsetof(&btf, spec)
                .unwrap_or_else(|e| panic!("{}: offsetof {spec}: {e}", vmlinux.display()));
            let (bits, _) = ktype_tests::pahole::offset_of(&structs, name, path)
                .unwrap_or_else(|| panic!("pahole -C {name} {}: no {path}", vmlinux.display()));
            assert_eq!(
                printed_offset(&line) * 8,
                bits,
                "{}: offsetof {spec}: {line:?} vs pahole",
                vmlinux.display()
            );
            let kind = if name == "fpregs_state" {
                "union"
            } else {
                "struct"
            };
            assert!(
                line.starts_with(&format!("{kind} ")),
                "{}: {line:?} names the wrong kind",
                vmlinux.display()
            );
        }
        // A union's members all start at 0, whatever the kernel.
        let line = offsetof(&btf, "fpregs_state.__padding").expect("checked above");
        assert_eq!(
            line,
            "union fpregs_state.__padding: offset 0 size 4096 type u8 [4096]\n",
            "{}",
            vmlinux.display()
        );
        let line = offsetof(&btf, "atomic_t.counter")
            .unwrap_or_else(|e| panic!("{}: offsetof atomic_t.counter: {e}", vmlinux.display()));
        assert_eq!(
            line,
            "typedef atomic_t.counter: offset 0 size 4 type int\n",
            "{}",
            vmlinux.display()
        );
        let err = offsetof(&btf, "ktype_nope.x").expect_err("no such type");
        assert!(
            err.to_string()
                .contains("struct, union or typedef of one named ktype_nope"),
            "{}: {err}",
            vmlinux.display()
        );
        // `struct ` in front still means only a struct.
        let err = offsetof(&btf, "struct fpregs_state.xsave").expect_err("a union");
        assert!(
            err.to_string().contains("struct fpregs_state"),
            "{}: {err}",
            vmlinux.display()
        );
    }
}
