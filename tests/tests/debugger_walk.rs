//! A debugger reads our filtered dumps as it reads the source: on every
//! fixture kernel, `dumptool filter -d 31` of qemu's ELF dump into kdump
//! (zlib, zstd) and ELF outputs, then drgn (`tests/tests/debugger/walk.py`,
//! with the `-dbg` package's vmlinux) lists every task, every module and
//! the whole printk log of the source and of each output: the outputs must
//! give exactly the source's answers. The answers are real facts too: pid 1,
//! the guest's `workload` process with the pid it printed on the console,
//! the modules `guest-init.sh` loaded and `Linux version <release>` in the
//! log.
//!
//! Pages the filter left out are probed as well: one that held user data
//! and one that was all zero. A kdump output reads the zero page as zeros
//! and faults on the excluded one; an ELF output reads both as zeros (its
//! `PT_LOAD`s cover excluded memory with `p_memsz` beyond `p_filesz`, as
//! makedumpfile's do).
//!
//! The arm64 dumps get the same walk, drgn on this x86_64 host with the arm64
//! `-dbg` vmlinux (no kallsyms needed), the no-LPA2 dumps included. qemu's
//! own arm64 kdump files are not walked: they name the machine `Unknown`,
//! which libkdumpfile refuses (`KDUMP_ATTR_ARCH_NAME`); ours say `aarch64`.

use dumptool::commands::filter::{run, FilterArgs};
use dumptool::dump::Dump;
use ktype_tests::drgn::{walk, Walk};
use ktype_tests::fixtures::{
    arm64_vmlinux_dbg, fixtures_dir, kernel, repo_root, vmcore, vmcore_arm64,
    vmcore_arm64_without_lpa2, Vmcore, ARM64_SUITES,
};
use ktype_tests::guest::{excluded_pages, workload_pid};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn work() -> PathBuf {
    let d = repo_root().join("target/debugger-walk");
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
    d
}

/// drgn's walk of `dump`; a walk that fails fails the test.
fn drgn_walk(dump: &Path, vmlinux: &Path, probes: &[u64]) -> Walk {
    walk(dump, vmlinux, probes).unwrap_or_else(|e| panic!("{e}"))
}

/// `dumptool filter -f -d 31 -FLAG --threads 2 IN OUT`.
fn filter(flag: char, input: &Path, output: &Path) {
    let words: [OsString; 8] = [
        "-f".into(),
        "-d".into(),
        "31".into(),
        format!("-{flag}").into(),
        "--threads".into(),
        "2".into(),
        input.into(),
        output.into(),
    ];
    let args = FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}"));
    run(&args).unwrap_or_else(|e| {
        panic!(
            "dumptool filter -d 31 -{flag} {} {}: {e}",
            input.display(),
            output.display()
        )
    });
}

/// Filters `v`'s ELF dump with `-d 31` into each of `formats` (the first a
/// kdump one) and checks drgn's walks with `vmlinux` (of kernel `release`).
fn check(v: &Vmcore, vmlinux: &Path, release: &str, formats: [char; 3]) {
    let outputs: Vec<(char, PathBuf)> = formats
        .into_iter()
        .map(|flag| (flag, work().join(format!("{}-d31-{flag}", v.suite))))
        .collect();
    for (flag, out) in &outputs {
        filter(*flag, &v.elf(), out);
    }
    let src_dump = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let kdump = Dump::open(&outputs[0].1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kdump.machine(), src_dump.machine(), "{}", v.suite);
    let (user_page, zero_page) = excluded_pages(&src_dump, &kdump);
    let probes = [user_page, zero_page];

    let src = drgn_walk(&v.elf(), vmlinux, &probes);
    let src_path = v.elf();
    let name = src_path.display();
    // Real facts of the source.
    assert!(
        src.tasks.iter().any(|t| t.pid == 1 && t.comm == "init"),
        "{name}: no pid 1 `init` among {:?}",
        src.tasks
    );
    let pid = workload_pid(v);
    assert!(
        src.tasks
            .iter()
            .any(|t| t.pid == pid && t.ppid == 1 && t.comm == "workload"),
        "{name}: no `workload` task with pid {pid} (console.log), child of init, among {:?}",
        src.tasks
    );
    let pids: BTreeSet<u64> = src.tasks.iter().map(|t| t.pid).collect();
    assert_eq!(pids.len(), src.tasks.len(), "{name}: a pid listed twice");
    for m in ["ext4", "virtio_blk", "qemu_fw_cfg"] {
        assert!(
            src.modules.iter().any(|n| n == m),
            "{name}: module {m} (loaded by guest-init.sh) missing from {:?}",
            src.modules
        );
    }
    // arm64 logs "Booting Linux on physical CPU ..." before the banner.
    let banner = format!("Linux version {} ", release.trim());
    assert!(
        src.log.iter().take(3).any(|l| l.1.starts_with(&banner)),
        "{name}: no {banner:?} among the first log records: {:?}",
        &src.log[..src.log.len().min(3)]
    );
    assert!(
        src.log.len() > 100,
        "{name}: only {} log records",
        src.log.len()
    );
    assert_eq!(
        src.probes,
        [
            (user_page, "data".to_string()),
            (zero_page, "zero".to_string())
        ],
        "{name}: the probed pages as the source holds them"
    );

    for (flag, out) in &outputs {
        let got = drgn_walk(out, vmlinux, &probes);
        let o = out.display();
        assert_eq!(got.tasks, src.tasks, "{o}: tasks differ from {name}'s");
        assert_eq!(
            got.modules, src.modules,
            "{o}: modules differ from {name}'s"
        );
        assert_eq!(got.log, src.log, "{o}: printk log differs from {name}'s");
        // Excluded memory: a kdump output reads its excluded zero page as
        // zeros (the shared zero page) and faults on the excluded user page;
        // an ELF output covers both with p_memsz and reads them as zeros.
        let user = if *flag == 'E' { "zero" } else { "fault" };
        assert_eq!(
            got.probes,
            [
                (user_page, user.to_string()),
                (zero_page, "zero".to_string())
            ],
            "{o}: excluded pages as drgn reads them"
        );
        eprintln!(
            "{} -d 31 -{flag}: {} tasks (workload pid {pid}), {} modules, {} log records equal to the source's; excluded user page {user_page:#x} reads {user}",
            v.suite,
            got.tasks.len(),
            got.modules.len(),
            got.log.len()
        );
        std::fs::remove_file(out).ok();
    }
}

/// An x86_64 fixture kernel: kdump zlib and zstd, and ELF.
fn check_x86_64(suite: &'static str) {
    let k = kernel(suite);
    check(
        &vmcore(suite),
        &k.vmlinux_dbg(),
        &k.release(),
        ['c', 'z', 'E'],
    );
}

/// An arm64 fixture dump of `suite`'s kernel: kdump lzo and zlib, and ELF.
fn check_arm64(suite: &'static str, v: Vmcore) {
    let release_file = fixtures_dir().join(format!("kernels/{suite}-arm64/release"));
    let release = std::fs::read_to_string(&release_file)
        .unwrap_or_else(|e| panic!("{}: {e}", release_file.display()));
    check(&v, &arm64_vmlinux_dbg(suite), &release, ['l', 'c', 'E']);
}

#[test]
fn drgn_walks_filtered_6_1() {
    check_x86_64("bookworm");
}

#[test]
fn drgn_walks_filtered_6_12() {
    check_x86_64("trixie");
}

#[test]
fn drgn_walks_filtered_newest() {
    check_x86_64("sid");
}

#[test]
fn drgn_walks_filtered_arm64_6_1() {
    check_arm64("bookworm", vmcore_arm64("bookworm"));
}

#[test]
fn drgn_walks_filtered_arm64_6_12() {
    check_arm64("trixie", vmcore_arm64("trixie"));
}

#[test]
fn drgn_walks_filtered_arm64_newest() {
    check_arm64("sid", vmcore_arm64("sid"));
}

/// The LPA2 kernels on a CPU without FEAT_LPA2 (48 bits at run time).
#[test]
fn drgn_walks_filtered_arm64_without_lpa2() {
    for suite in ARM64_SUITES {
        if let Some(v) = vmcore_arm64_without_lpa2(suite) {
            check_arm64(suite, v);
        }
    }
}
