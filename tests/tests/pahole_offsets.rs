//! Offsets, sizes and bitfield positions computed by our BTF engine equal
//! pahole's for the same BTF (Debian's dwarves, run here, not pasted).

use ktype_runtime::btf::{Btf, Kind};
use ktype_tests::fixtures::{kernels, run_tool, Kernel};
use ktype_tests::pahole::{self, PaholeStruct};
use std::collections::BTreeMap;

/// Structs a crash-dump tool reads, plus a spread of others.
const STRUCTS: &[&str] = &[
    "page",
    "folio",
    "task_struct",
    "mm_struct",
    "vm_area_struct",
    "zone",
    "pglist_data",
    "address_space",
    "inode",
    "file",
    "super_block",
    "dentry",
    "list_head",
    "hlist_node",
    "sk_buff",
    "net_device",
    "module",
    "kobject",
    "cred",
    "signal_struct",
    "files_struct",
    "fs_struct",
    "kmem_cache",
    "slab",
    "free_area",
    "per_cpu_pages",
    "pid",
    "mutex",
    "rb_node",
    "timer_list",
    "hrtimer",
    "work_struct",
    "wait_queue_head",
    "vm_struct",
    "vmap_area",
    "mem_section",
    "printk_ringbuffer",
    "prb_desc_ring",
    "printk_info",
    "uts_namespace",
    "new_utsname",
    "sched_entity",
    "qstr",
    "path",
    "vfsmount",
    "kref",
    "refcount_struct",
    "atomic_t",
    "xarray",
    "lruvec",
    "btf",
    "bpf_prog",
    "irq_desc",
    "device",
    "kset",
    "idr",
    "upid",
];

struct Outcome {
    checked: usize,
    nested: usize,
    bitfields: usize,
    dotted: usize,
    mismatches: Vec<String>,
}

fn compare(btf: &Btf, structs: &BTreeMap<String, PaholeStruct>) -> Outcome {
    let mut o = Outcome {
        checked: 0,
        nested: 0,
        bitfields: 0,
        dotted: 0,
        mismatches: Vec::new(),
    };
    for (name, ps) in structs {
        let kind = if ps.keyword == "union" {
            Kind::Union
        } else {
            Kind::Struct
        };
        let t = btf.find_unique(name, kind).expect("unique struct");
        if t.size() as u64 != ps.size {
            o.mismatches
                .push(format!("{name}: size {} vs pahole {}", t.size(), ps.size));
        }
        let mut expect: Vec<(String, u64, u32, u64, bool)> = ps
            .members
            .iter()
            .map(|m| (m.path.clone(), m.bit_offset, m.bitfield_bits, m.size, false))
            .collect();
        // Dotted paths through named struct members, composed from pahole's own numbers.
        for m in &ps.members {
            let ty = m.decl.trim_end_matches(&m.path).trim();
            let inner = ty
                .strip_prefix("struct ")
                .and_then(|n| structs.get(n.trim()));
            if m.bitfield_bits == 0 && !m.decl.contains('[') && !m.decl.contains('*') {
                if let Some(inner) = inner {
                    for im in &inner.members {
                        expect.push((
                            format!("{}.{}", m.path, im.path),
                            m.bit_offset + im.bit_offset,
                            im.bitfield_bits,
                            im.size,
                            true,
                        ));
                    }
                }
            }
        }
        for m in &ps.members {
            o.nested += usize::from(m.nesting > 0);
        }
        for (path, bit, bits, size, dotted) in expect {
            let what = format!("{name}.{path}");
            match btf.member_path(t.id(), &path) {
                Ok(loc) => {
                    let our_size = btf.size_of(loc.type_id).unwrap_or(u64::MAX);
                    if loc.bit_offset != bit || loc.bitfield_size != bits || our_size != size {
                        o.mismatches.push(format!("{what}: ours bit {} :{} size {our_size}, pahole bit {bit} :{bits} size {size}", loc.bit_offset, loc.bitfield_size));
                    }
                    o.checked += 1;
                    o.bitfields += usize::from(bits > 0);
                    o.dotted += usize::from(dotted);
                }
                Err(e) => o.mismatches.push(format!("{what}: {e}")),
            }
        }
    }
    o
}

fn check_kernel(k: &Kernel) {
    check_btf_file(k.suite, &k.vmlinux());
}

fn check_btf_file(label: &str, path: &std::path::Path) {
    let k = Label { suite: label, path };
    let btf = Btf::open(path).unwrap_or_else(|e| panic!("{e}"));
    let unique: Vec<&str> = STRUCTS
        .iter()
        .copied()
        .filter(|n| btf.find(n, Kind::Struct).len() == 1)
        .collect();
    assert!(
        unique.len() >= 45,
        "{}: only {} of the structs are unique",
        k.suite,
        unique.len()
    );
    let out = run_tool(
        "pahole",
        &[
            "-C",
            &unique.join(","),
            k.path.to_str().expect("utf-8 path"),
        ],
    );
    let parsed = pahole::parse(&out);
    assert!(
        parsed.len() >= unique.len() - 2,
        "{}: pahole printed {} of {} structs",
        k.suite,
        parsed.len(),
        unique.len()
    );
    let o = compare(&btf, &parsed);
    assert!(
        o.mismatches.is_empty(),
        "{}: {} mismatches against pahole:\n{}",
        k.suite,
        o.mismatches.len(),
        o.mismatches.join("\n")
    );
    eprintln!("{}: {} struct.member pairs equal pahole's ({} inside anonymous members, {} bitfields, {} dotted paths)", k.suite, o.checked, o.nested, o.bitfields, o.dotted);
    assert!(
        o.checked >= 300,
        "{}: only {} pairs checked",
        k.suite,
        o.checked
    );
    assert!(
        o.nested >= 50 && o.bitfields >= 20 && o.dotted >= 50,
        "{}: too few nested/bitfield/dotted pairs",
        k.suite
    );
}

struct Label<'a> {
    suite: &'a str,
    path: &'a std::path::Path,
}

#[test]
fn offsets_sizes_and_bitfields_equal_pahole_on_debian_kernels() {
    for k in kernels() {
        check_kernel(&k);
    }
}

/// Extra coverage where the machine exposes its own kernel's BTF; the
/// Debian fixtures above are what the suite relies on.
#[test]
fn offsets_equal_pahole_on_the_running_kernel_when_it_has_btf() {
    let host = std::path::Path::new("/sys/kernel/btf/vmlinux");
    if host.exists() {
        check_btf_file("host", host);
    } else {
        eprintln!(
            "no /sys/kernel/btf/vmlinux on this machine: only the Debian kernels were checked"
        );
    }
}
