//! `dumptool dmesg` against makedumpfile 1.7.8's `--dump-dmesg`, byte for
//! byte, on every fixture kernel and every dump format: the anchor is
//! makedumpfile run on the same file where it can read it (the normalised
//! ELF, kdump-lzo); where it cannot (qemu's raw ELF with its program headers
//! after a section header, qemu's kdump-zlib whose header carries a wrong
//! phys_base, the flattened file) it is makedumpfile's log of the ELF of the
//! same guest. Then on damaged copies: the page filter's bindings missing,
//! printk structs missing from BTF (VMCOREINFO fallback), a kernel that
//! cannot be brought up at all, and log text with bytes makedumpfile escapes.

use dumptool::commands::{dmesg, ErrorReport};
use dumptool::dump::Dump;
use dumptool::kernel::printk::{self, KernelLog, PrintkLayout};
use dumptool::kernel::CrashedKernel;
use ktype_tests::fixtures::{kernel, makedumpfile_sid, repo_root, vmcore};
use ktype_tests::patch::{
    apply, btf_strings, find_all, rename_btf, rename_vmcoreinfo, rename_vmcoreinfo_in, Patch,
};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;

fn work(name: &str) -> PathBuf {
    let d = repo_root().join("target/dmesg-tests");
    std::fs::create_dir_all(&d).expect("mkdir target/dmesg-tests");
    d.join(name)
}

/// `makedumpfile-sid --dump-dmesg PATH OUT`: the log, or why it failed.
fn anchor(path: &Path) -> Result<String, String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("x");
    let out = work(&format!("{name}.{}.mdf-dmesg", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let o = Command::new(makedumpfile_sid())
        .arg("--dump-dmesg")
        .arg(path)
        .arg(&out)
        .output()
        .expect("run makedumpfile");
    let text = std::fs::read_to_string(&out);
    let _ = std::fs::remove_file(&out);
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr)
            .trim()
            .replace('\n', " | "));
    }
    Ok(text.expect("makedumpfile's dmesg output"))
}

/// Asserts `ours == theirs`, showing the first line that differs.
fn same(ours: &str, theirs: &str, what: &str) {
    if ours == theirs {
        return;
    }
    let (a, b): (Vec<_>, Vec<_>) = (ours.lines().collect(), theirs.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    panic!(
        "{what}: dumptool dmesg differs from makedumpfile --dump-dmesg ({} vs {} lines, {} vs {} bytes); first at line {}:\n  ours:   {:?}\n  theirs: {:?}",
        a.len(),
        b.len(),
        ours.len(),
        theirs.len(),
        i + 1,
        a.get(i),
        b.get(i)
    );
}

fn check_formats(suite: &'static str) {
    let v = vmcore(suite);
    let norm = v.normalised_elf();
    let reference = anchor(&norm)
        .unwrap_or_else(|e| panic!("{suite}: makedumpfile cannot read {}: {e}", norm.display()));
    assert!(
        reference.contains(&kernel(suite).release()),
        "{suite}: makedumpfile's log does not name the kernel release"
    );
    for (name, path) in [
        ("qemu ELF", v.elf()),
        ("normalised ELF", norm.clone()),
        ("kdump-lzo", v.kdump_lzo()),
        ("kdump-zlib", v.kdump_zlib()),
        ("flattened kdump-zlib", v.kdump_zlib_flat()),
    ] {
        let t = std::time::Instant::now();
        let log = dmesg::run(&path).unwrap_or_else(|e| panic!("{suite} {name}: {e}"));
        let took = t.elapsed();
        assert!(
            log.kernel_problem.is_none() && log.sources.fallbacks().is_empty(),
            "{suite} {name}: the printk layout should come from BTF: {:?} {:?}",
            log.kernel_problem,
            log.sources
        );
        let what = format!("{suite} {name}");
        match anchor(&path) {
            Ok(theirs) => {
                same(&log.text, &theirs, &what);
                eprintln!(
                    "{what}: {} records in {took:.1?}, equal to makedumpfile's on the same file",
                    log.records
                );
            }
            Err(why) => {
                same(&log.text, &reference, &what);
                eprintln!(
                    "{what}: {} records in {took:.1?}, equal to makedumpfile's of the ELF (it cannot read this file: {why})",
                    log.records
                );
            }
        }
    }
}

#[test]
fn dmesg_equals_makedumpfile_on_6_1() {
    check_formats("bookworm");
}

#[test]
fn dmesg_equals_makedumpfile_on_6_12() {
    check_formats("trixie");
}

#[test]
fn dmesg_equals_makedumpfile_on_the_newest_kernel() {
    check_formats("sid");
}

/// The fallback is right: VMCOREINFO's printk entries give the layout BTF gives.
#[test]
fn vmcoreinfo_printk_layout_equals_btf() {
    for suite in ktype_tests::fixtures::SUITES {
        let v = vmcore(suite);
        let dump = Dump::open(v.kdump_lzo()).unwrap_or_else(|e| panic!("{e}"));
        let k = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
        ktype_runtime::resolution::resolve_descriptors(
            k.bindings(),
            k.btf(),
            &printk::descriptors(),
            &[],
        )
        .unwrap_or_else(|e| panic!("{suite}: printk bindings: {e}"));
        let (btf, sources) =
            PrintkLayout::new(true, dump.vmcoreinfo()).unwrap_or_else(|e| panic!("{e}"));
        assert!(sources.fallbacks().is_empty(), "{suite}: {sources:?}");
        let (vmci, _) =
            PrintkLayout::new(false, dump.vmcoreinfo()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(btf, vmci, "{suite}: BTF and VMCOREINFO printk layouts");
        drop(k);
    }
}

struct Case {
    what: &'static str,
    patches: Vec<Patch>,
    /// Checks on our log beyond equality with makedumpfile's.
    check: fn(&KernelLog, &Path),
}

fn page_bindings_degraded(_: &KernelLog, copy: &Path) {
    let dump = Dump::open(copy).unwrap_or_else(|e| panic!("{e}"));
    let k = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
    let problems = k
        .resolve_all()
        .expect_err("struct page renamed: the filter's bindings must be degraded");
    assert!(
        problems.to_string().contains("page"),
        "the problems name struct page: {problems}"
    );
}

fn printk_from_vmcoreinfo(log: &KernelLog, _: &Path) {
    let f = log.sources.fallbacks().join("; ");
    assert!(
        f.contains("printk_info") && f.contains("prb_desc") && log.kernel_problem.is_none(),
        "printk_info and prb_desc from VMCOREINFO: {f}"
    );
}

fn no_kernel(log: &KernelLog, _: &Path) {
    assert!(
        log.kernel_problem
            .as_deref()
            .is_some_and(|p| p.contains("kallsyms_names")),
        "the kernel cannot be brought up without SYMBOL(kallsyms_names): {:?}",
        log.kernel_problem
    );
}

fn escaped(log: &KernelLog, _: &Path) {
    for s in ["\\xffffffe2", "\\x1b", "\\x7f", "\\x01", "\r"] {
        assert!(log.text.contains(s), "the patched record holds {s:?}");
    }
}

fn check_damaged(suite: &'static str) {
    let v = vmcore(suite);
    let copy = work(&format!("{suite}.elf"));
    std::fs::copy(v.normalised_elf(), &copy).expect("copy the dump");
    let strings = btf_strings(&copy);
    let cases = {
        let bytes = std::fs::read(&copy).expect("read the copy");
        let prefix = b"Command line: ";
        let at = find_all(&bytes, prefix);
        assert!(!at.is_empty(), "{suite}: no 'Command line: ' in the dump");
        // Twelve bytes of the record's text: UTF-8, an escape sequence, CR,
        // DEL, a control byte, a continuation line and a tab.
        let new = b"\xe2\x80\x94\x1b[1m\r\x7f\x01\n\t".to_vec();
        let text: Vec<Patch> = at
            .iter()
            .map(|&a| {
                let off = a + prefix.len();
                (
                    off as u64,
                    new.clone(),
                    bytes[off..off + new.len()].to_vec(),
                )
            })
            .collect();
        vec![
            Case {
                what: "struct page missing from BTF",
                patches: rename_btf(&bytes, strings, "page"),
                check: page_bindings_degraded,
            },
            Case {
                what: "printk_info and prb_desc missing from BTF",
                patches: [
                    rename_btf(&bytes, strings, "printk_info"),
                    rename_btf(&bytes, strings, "prb_desc"),
                ]
                .concat(),
                check: printk_from_vmcoreinfo,
            },
            Case {
                what: "no kallsyms in VMCOREINFO (no kernel, no BTF)",
                patches: rename_vmcoreinfo(&bytes, "SYMBOL(kallsyms_names)="),
                check: no_kernel,
            },
            Case {
                what: "log text makedumpfile escapes",
                patches: text,
                check: escaped,
            },
        ]
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&copy)
        .expect("open the copy");
    for case in &cases {
        apply(&file, &case.patches, false);
        let what = format!("{suite}, {}", case.what);
        let theirs = anchor(&copy).unwrap_or_else(|e| panic!("{what}: makedumpfile: {e}"));
        let log = dmesg::run(&copy).unwrap_or_else(|e| panic!("{what}: {e}"));
        same(&log.text, &theirs, &what);
        (case.check)(&log, &copy);
        eprintln!("{what}: equal to makedumpfile ({} records)", log.records);
        apply(&file, &case.patches, true);
    }
    drop(file);
    std::fs::remove_file(&copy).ok();
}

#[test]
fn dmesg_on_damaged_copies_of_6_1() {
    check_damaged("bookworm");
}

#[test]
fn dmesg_on_damaged_copies_of_6_12() {
    check_damaged("trixie");
}

#[test]
fn dmesg_on_damaged_copies_of_the_newest_kernel() {
    check_damaged("sid");
}

/// A dump whose kernel cannot be brought up (no `SYMBOL(kallsyms_names)`)
/// and whose VMCOREINFO does not locate the ring buffer (`prb`,
/// `printk_rb_static` renamed): makedumpfile cannot read its log either,
/// and dumptool's error is the typed "no ring buffer", naming the dump.
#[test]
fn dmesg_without_a_ring_buffer_is_a_typed_error() {
    let v = vmcore("bookworm");
    let copy = work("no-ring-buffer.elf");
    std::fs::copy(v.normalised_elf(), &copy).expect("copy the dump");
    rename_vmcoreinfo_in(
        &copy,
        &[
            "SYMBOL(kallsyms_names)=",
            "SYMBOL(prb)=",
            "SYMBOL(printk_rb_static)=",
        ],
    );
    assert!(
        anchor(&copy).is_err(),
        "makedumpfile reads a log without SYMBOL(prb)"
    );
    let e = dmesg::run(&copy).expect_err("a log without a ring buffer");
    assert!(
        matches!(
            &e,
            printk::DmesgError::Log {
                path,
                source: printk::LogError::NoRingBuffer,
            } if path == &copy
        ),
        "{e:?}"
    );
    let report = ErrorReport::new(e.kind(), &e);
    assert_eq!(report.kind, "log_no_ring_buffer");
    assert!(
        report.text().starts_with(&*copy.to_string_lossy()),
        "{}",
        report.text()
    );
    std::fs::remove_file(&copy).ok();
}
