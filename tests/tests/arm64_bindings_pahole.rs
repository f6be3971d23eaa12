//! dumptool's own bindings on Debian's arm64 kernels, resolved from each
//! dump alone (`CrashedKernel::open` and `resolve_all`: the BTF found in
//! the dumped memory), equal what pahole reads from the DWARF of the same
//! kernel's `-dbg` vmlinux (`pahole -F dwarf`, Debian's dwarves, run here;
//! the host is x86_64, the vmlinux aarch64):
//! - every bound struct's size;
//! - every bound member's bit offset, bitfield width and size, dotted paths
//!   through typedefs included (`pahole -E` expands them);
//! - every bound enum constant's value;
//! - what resolution found absent (optional members, constants, enums) is
//!   absent from pahole's output too.
//!
//! Beyond the bindings, every member pahole prints for the bound structs
//! (expanded, outside arrays) sits where the dump's BTF puts it.

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use ktype_runtime::btf::Btf;
use ktype_tests::fixtures::{arm64_vmlinux_dbg, vmcore_arm64};
use ktype_tests::pahole::{self, PaholeStruct};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// `pahole -F dwarf [-E] -C NAME VMLINUX`: what it printed, or `None` when
/// pahole says there is no such type.
fn pahole_dwarf(vmlinux: &Path, name: &str, expand: bool) -> Option<String> {
    let mut cmd = Command::new("pahole");
    cmd.args(["-F", "dwarf"]);
    if expand {
        cmd.arg("-E");
    }
    let out = cmd
        .args(["-C", name])
        .arg(vmlinux)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pahole (scripts/fixtures.sh tools): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.stdout.is_empty() && stderr.contains(&format!("type '{name}' not found")) {
        return None;
    }
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "pahole -F dwarf -C {name} {}: {}\n{stderr}",
        vmlinux.display(),
        out.status
    );
    Some(String::from_utf8(out.stdout).expect("pahole prints UTF-8"))
}

#[derive(Default)]
struct Count {
    structs: usize,
    members: usize,
    dotted: usize,
    absent_members: usize,
    constants: usize,
    absent_constants: usize,
    all_members: usize,
}

/// Every member pahole prints for `name` (outside arrays) against the
/// dump's BTF: bit offset, bitfield width, size. Returns how many.
fn all_members_equal(
    btf: &Btf,
    id: ktype_runtime::btf::TypeId,
    ps: &PaholeStruct,
    what: &str,
) -> usize {
    let mut n = 0;
    for m in ps.members.iter().filter(|m| !m.path.contains('[')) {
        let loc = btf.member_path(id, &m.path).unwrap_or_else(|e| {
            panic!(
                "{what}.{}: in pahole's DWARF, not in the dump's BTF: {e}",
                m.path
            )
        });
        let size = btf.size_of(loc.type_id);
        assert_eq!(
            (loc.bit_offset, loc.bitfield_size, size),
            (m.bit_offset, m.bitfield_bits, Some(m.size)),
            "{what}.{}: dump's BTF (bit offset, bitfield width, size) vs pahole's DWARF",
            m.path
        );
        n += 1;
    }
    n
}

fn check(suite: &'static str) -> Count {
    let v = vmcore_arm64(suite);
    let vmlinux = arm64_vmlinux_dbg(suite);
    let dump = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{suite}-arm64: {e}"));
    let report = kernel
        .resolve_all()
        .unwrap_or_else(|e| panic!("{suite}-arm64: {e}"));
    let btf = kernel.vmlinux_btf();
    let mut c = Count::default();
    assert!(!report.structs.is_empty(), "{suite}-arm64: no struct bound");
    for s in &report.structs {
        let d = s.desc;
        assert_eq!(d.module, "vmlinux", "{}: a module's type", d.display_name());
        let (Some(name), Some(id)) = (s.name, s.type_id) else {
            for n in d.names {
                assert!(
                    pahole_dwarf(&vmlinux, n, false).is_none(),
                    "{suite}-arm64: {} absent from the dump's BTF, but pahole has struct {n}",
                    d.display_name()
                );
            }
            continue;
        };
        let what = format!("{suite}-arm64 {name}");
        let text = pahole_dwarf(&vmlinux, name, true).unwrap_or_else(|| {
            panic!("{what}: bound in the dump, not in the -dbg vmlinux's DWARF")
        });
        let parsed = pahole::parse_expanded(&text);
        let ps = parsed
            .get(name)
            .unwrap_or_else(|| panic!("{what}: pahole printed no struct {name}:\n{text}"));
        assert_eq!(s.size, Some(ps.size), "{what}: size, dump vs pahole");
        assert_eq!(
            s.size,
            Some(d.size_or_panic() as u64),
            "{what}: the binding's size"
        );
        for f in &s.fields {
            let fd = d
                .fields
                .iter()
                .find(|fd| fd.rust_name == f.rust_name)
                .expect("a declared field");
            match (f.path, f.layout) {
                (Some(path), Some(l)) => {
                    let m = ps
                        .members
                        .iter()
                        .find(|m| m.path == path)
                        .unwrap_or_else(|| {
                            panic!("{what}.{path}: bound, but pahole has no such member")
                        });
                    let loc = btf.member_path(id, path).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(
                        (
                            l.bit_offset,
                            u32::from(l.bitfield_bits),
                            btf.size_of(loc.type_id)
                        ),
                        (m.bit_offset, m.bitfield_bits, Some(m.size)),
                        "{what}.{path} ({}): binding (bit offset, bitfield width, size) vs pahole",
                        f.rust_name
                    );
                    c.members += 1;
                    c.dotted += usize::from(path.contains('.'));
                }
                _ => {
                    assert!(fd.optional, "{what}: required {} unbound", f.rust_name);
                    for p in fd.paths {
                        assert!(
                            !ps.members.iter().any(|m| m.path == *p),
                            "{what}.{p}: absent from the dump's BTF, present in pahole's DWARF"
                        );
                    }
                    c.absent_members += 1;
                }
            }
        }
        c.all_members += all_members_equal(btf, id, ps, &what);
        c.structs += 1;
    }
    for e in &report.enums {
        let d = e.desc;
        // The kernel enum pahole has, of the names the binding tries.
        let consts = d
            .names
            .iter()
            .find_map(|n| pahole_dwarf(&vmlinux, n, false))
            .map(|t| pahole::parse_enum(&t))
            .unwrap_or_default();
        for (&(rust, value), vd) in e.values.iter().zip(d.variants) {
            assert_eq!(rust, vd.rust_name);
            let want = vd
                .names
                .iter()
                .find_map(|n| consts.iter().find(|(c, _)| c == n))
                .map(|&(_, v)| v as u64);
            assert_eq!(
                value,
                want,
                "{suite}-arm64 {}::{rust}: dump's BTF vs pahole's DWARF",
                d.display_name()
            );
            match value {
                Some(_) => c.constants += 1,
                None => c.absent_constants += 1,
            }
        }
    }
    assert!(
        c.members > 0 && c.constants > 0,
        "{suite}-arm64: nothing compared"
    );
    c
}

/// Compares one arm64 kernel and says what was compared.
fn check_and_report(suite: &'static str) {
    let t = Instant::now();
    let c = check(suite);
    eprintln!(
        "{suite}-arm64: {} structs, {} bound members ({} dotted) and {} enum constants equal pahole's DWARF; {} optional members and {} constants absent from both; {} struct.member pairs of pahole -E equal the dump's BTF ({:.1} s)",
        c.structs,
        c.members,
        c.dotted,
        c.constants,
        c.absent_members,
        c.absent_constants,
        c.all_members,
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn arm64_bindings_equal_pahole_on_6_1() {
    check_and_report("bookworm");
}

#[test]
fn arm64_bindings_equal_pahole_on_6_12() {
    check_and_report("trixie");
}

#[test]
fn arm64_bindings_equal_pahole_on_the_newest_kernel() {
    check_and_report("sid");
}
