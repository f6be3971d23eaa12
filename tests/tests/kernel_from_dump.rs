//! The crashed kernel brought up from its dump alone: kallsyms equal the
//! package's System.map plus the dump's KASLR offset, the BTF read from dump
//! memory is byte-identical to vmlinux's `.BTF` section, module symbols and
//! module BTF are found and resolve.

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use ktype_runtime::btf::{Btf, Kind};
use ktype_runtime::resolution::SystemMap;
use ktype_tests::fixtures::{kernel, vmcore, SUITES};
use std::collections::HashMap;

ktype_runtime::kernel_symbols! {
    /// Filled from the dump's kallsyms.
    static INIT_TASK = "init_task";
    static JIFFIES = any("jiffies_64", "jiffies");
    #[kernel(module = "qemu_fw_cfg")]
    static FW_CFG_SHOW = "fw_cfg_sysfs_attr_show";
    #[kernel(optional)]
    static ABSENT = "ktype_no_such_symbol";
}

#[test]
fn kallsyms_equal_system_map_plus_kaslr_offset() {
    for suite in SUITES {
        let dump = Dump::open(vmcore(suite).elf()).unwrap_or_else(|e| panic!("{e}"));
        let k = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
        let offset = u64::from_str_radix(
            dump.vmcoreinfo()
                .expect("vmcoreinfo")
                .get("KERNELOFFSET")
                .expect("KERNELOFFSET"),
            16,
        )
        .expect("hex");
        let map = SystemMap::open(kernel(suite).system_map()).unwrap_or_else(|e| panic!("{e}"));
        let mut ours: HashMap<String, Vec<u64>> = HashMap::new();
        for s in k.kallsyms().iter() {
            ours.entry(s.name).or_default().push(s.addr);
        }
        for (name, addrs) in ours.iter().take(2000) {
            assert_eq!(
                &k.kallsyms().lookup_all(name),
                addrs,
                "indexed lookup of {name} equals the full decode"
            );
        }
        let (mut checked, mut missing, mut wrong) = (0usize, Vec::new(), Vec::new());
        for (name, addr, kind) in map.iter() {
            if !"TtDdBbRr".contains(kind) {
                continue;
            }
            // Per-cpu variables are offsets into the per-cpu area: KASLR does not move them.
            let want = if addr < 0xffff_0000_0000_0000 {
                addr
            } else {
                addr + offset
            };
            match ours.get(name) {
                Some(addrs) if addrs.contains(&want) => checked += 1,
                Some(addrs) => wrong.push(format!(
                    "{name}: System.map+offset {want:#x}, kallsyms {addrs:x?}"
                )),
                None => missing.push(name.to_string()),
            }
        }
        assert!(
            wrong.is_empty(),
            "{suite}: {} symbols at wrong addresses, e.g. {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        );
        assert!(checked > 50_000, "{suite}: only {checked} symbols compared");
        // kallsyms leaves out a few linker-generated names; nothing more.
        assert!(
            missing.len() * 200 < checked,
            "{suite}: {} System.map symbols missing from kallsyms, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        eprintln!("{suite}: {checked} System.map text/data symbols equal kallsyms-from-dump (KASLR offset {offset:#x}, encoding {}, {} not in kallsyms); {} kallsyms in all", k.kallsyms().encoding(), missing.len(), k.kallsyms().len());
    }
}

#[test]
fn btf_from_dump_memory_equals_vmlinux_btf_section() {
    for suite in SUITES {
        let dump = Dump::open(vmcore(suite).elf()).unwrap_or_else(|e| panic!("{e}"));
        let k = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
        let file = Btf::open(kernel(suite).vmlinux()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            k.vmlinux_btf().bytes(),
            file.bytes(),
            "{suite}: BTF bytes from dump memory"
        );
        let m = k
            .modules()
            .iter()
            .find(|m| m.name == "qemu_fw_cfg")
            .unwrap_or_else(|| panic!("{suite}: qemu_fw_cfg loaded in the guest"));
        assert!(m.has_btf, "{suite}: qemu_fw_cfg has BTF in btf_modules");
        assert!(
            m.symbols
                .iter()
                .any(|s| s.name == "fw_cfg_sysfs_attr_show" || s.name.starts_with("fw_cfg")),
            "{suite}: module symbols decoded"
        );
        let module_btf = k.btf().get("qemu_fw_cfg").expect("module BTF in the set");
        let entry = module_btf
            .find_unique("fw_cfg_sysfs_entry", Kind::Struct)
            .unwrap_or_else(|e| panic!("{e}"));
        let ko = Btf::open_split(
            kernel(suite).module("qemu_fw_cfg"),
            std::sync::Arc::new(file),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ko_entry = ko
            .find_unique("fw_cfg_sysfs_entry", Kind::Struct)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry.size(), ko_entry.size());
        let offs = |b: &Btf, id| b.member_path(id, "list").map(|l| l.bit_offset).ok();
        assert_eq!(
            offs(module_btf, entry.id()),
            offs(&ko, ko_entry.id()),
            "{suite}: module struct layout from dump equals the .ko's"
        );
        eprintln!("{suite}: vmlinux BTF from dump equals .BTF ({} bytes); {} modules, {} with BTF; timings {:?}", file_len(&k), k.modules().len(), k.modules().iter().filter(|m| m.has_btf).count(), k.timings());
    }
}

fn file_len(k: &CrashedKernel<'_>) -> usize {
    k.vmlinux_btf().bytes().len()
}

#[test]
fn declared_symbols_are_filled_from_the_dump() {
    for suite in SUITES {
        let dump = Dump::open(vmcore(suite).elf()).unwrap_or_else(|e| panic!("{e}"));
        let k = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
        k.resolve_all().unwrap_or_else(|e| panic!("{suite}: {e}"));
        // This test's own declarations: resolution is per crate.
        k.resolve(ktype_runtime::this_crate!())
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
        let offset = u64::from_str_radix(
            dump.vmcoreinfo()
                .expect("vmcoreinfo")
                .get("KERNELOFFSET")
                .expect("KERNELOFFSET"),
            16,
        )
        .expect("hex");
        let map = SystemMap::open(kernel(suite).system_map()).unwrap_or_else(|e| panic!("{e}"));
        let want = |n: &str| {
            map.iter()
                .find(|s| s.0 == n)
                .map(|s| s.1 + offset)
                .expect("in System.map")
        };
        assert_eq!(INIT_TASK.address(), want("init_task"), "{suite}");
        assert_eq!(JIFFIES.address(), want("jiffies_64"), "{suite}");
        let m = k
            .modules()
            .iter()
            .find(|m| m.name == "qemu_fw_cfg")
            .expect("module loaded");
        let ours = m
            .symbols
            .iter()
            .find(|s| s.name == "fw_cfg_sysfs_attr_show")
            .expect("module symbol")
            .addr;
        assert_eq!(FW_CFG_SHOW.address(), ours);
        assert!(
            ours > 0xffff_ffff_0000_0000 && ours != INIT_TASK.address(),
            "module text address"
        );
        assert_eq!(ABSENT.try_address(), Ok(None));
    }
}
