//! Snapshots of `dumptool info`, `syms` and `btf --dump` on the real dumps.
//! Values that change with every boot or kernel point release (KASLR offsets,
//! bases, addresses, the release string, counts) are masked; the rest (format,
//! memory map, what was found, module names, layouts) is asserted.

use dumptool::commands::btf::{run as btf_run, BtfArgs, BtfCommand};
use dumptool::commands::{info, syms};
use ktype_tests::fixtures::{kernel, vmcore, SUITES};

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        filters => vec![
            (r"\b[0-9a-f]{16}\b", "[addr]"),
            (r"(KASLR offset:\s+)0x[0-9a-f]+", "$1[kaslr]"),
            (r"(phys_base:\s+)0x[0-9a-f]+", "$1[phys_base]"),
            (r"0x[0-9a-f]{16}", "[addr]"),
            (r"(kernel:\s+)\S+", "$1[release]"),
            (r"\d+ symbols", "[n] symbols"),
            (r"\d+ bytes, \d+ types", "[n] bytes, [n] types"),
            (r"/\S*/ktype-fixtures/", "<fixtures>/"),
            (r"\bid \d+", "id [id]"),
        ],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn info_of_every_format() {
    for suite in SUITES {
        let v = vmcore(suite);
        for (fmt, path) in [
            ("elf", v.elf()),
            ("kdump_zlib", v.kdump_zlib()),
            ("flat", v.kdump_zlib_flat()),
            ("kdump_lzo", v.kdump_lzo()),
        ] {
            let out = info::run(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                out.contains(&format!("kernel:        {}", kernel(suite).release())),
                "{out}"
            );
            assert!(
                out.contains("kallsyms:      found")
                    && out.contains("BTF:           found")
                    && out.contains("qemu_fw_cfg"),
                "{out}"
            );
            snapshot(&format!("info_{suite}_{fmt}"), &out);
        }
    }
}

#[test]
fn syms_named_and_errors() {
    let v = vmcore("trixie");
    let out = syms::run(
        &v.elf(),
        &[
            "init_task".into(),
            "_stext".into(),
            "fw_cfg_sysfs_attr_show".into(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.missing, None);
    let out = out.text;
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines().last().unwrap_or("").ends_with("[qemu_fw_cfg]"),
        "module symbols are tagged: {out}"
    );
    snapshot("syms_named_trixie", &out);
    // An unknown name is reported; the names found are still listed.
    let some = syms::run(
        &v.elf(),
        &["ktype_no_such_symbol".into(), "init_task".into()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(some.text, out.lines().next().unwrap().to_string() + "\n");
    snapshot(
        "syms_unknown_trixie",
        &some.missing.expect("an unknown symbol is reported"),
    );
    let all = syms::run(&v.elf(), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.missing, None);
    assert!(all.text.lines().count() > 150_000, "every symbol listed");
}

#[test]
fn btf_inspection_from_a_dump() {
    for suite in SUITES {
        let args = |module: Option<&str>, command| BtfArgs {
            btf: "/nonexistent".into(),
            split: None,
            dump: Some(vmcore(suite).kdump_zlib()),
            module: module.map(String::from),
            command,
        };
        let page = btf_run(&args(
            None,
            BtfCommand::Show {
                kind: "struct".into(),
                name: "list_head".into(),
                id: None,
            },
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        snapshot(&format!("btf_dump_list_head_{suite}"), &page);
        let off = btf_run(&args(
            None,
            BtfCommand::Offsetof {
                path: "page._refcount.counter".into(),
            },
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let file_btf = ktype_runtime::btf::Btf::open(kernel(suite).vmlinux())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            off,
            dumptool::commands::btf::offsetof(&file_btf, "page._refcount.counter")
                .expect("offsetof"),
            "same answer from the dump and from vmlinux"
        );
        let module = btf_run(&args(
            Some("qemu_fw_cfg"),
            BtfCommand::Show {
                kind: "struct".into(),
                name: "fw_cfg_sysfs_entry".into(),
                id: None,
            },
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        snapshot(&format!("btf_dump_module_struct_{suite}"), &module);
        let err =
            btf_run(&args(Some("ktype_nomod"), BtfCommand::Check)).expect_err("no such module");
        assert!(
            err.to_string().contains("no BTF for module `ktype_nomod`")
                && err.to_string().contains("qemu_fw_cfg"),
            "{err}"
        );
    }
}
