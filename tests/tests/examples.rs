//! The example tools of `examples/` (a crate outside the workspace, written
//! only with ktype's and dumptool's public API) run on every fixture dump,
//! and what they print is checked against facts nobody here computed:
//!
//! - `ps` lists exactly the tasks drgn lists (pid, parent pid, state letter,
//!   command; drgn's `for_each_task` with the `-dbg` vmlinux), from the ELF
//!   and the kdump-compressed dump alike, the guest's `workload` among them
//!   with the pid it printed on its console;
//! - `peek` reads the workload's memory through its own page tables: the
//!   pages at the address it printed hold the `KTYPE-ANON page=N` tags it
//!   wrote there;
//! - `drop_process` (dump level 0 plus "drop the workload's memory") writes
//!   a dump in which every page the workload tagged is excluded, and at least
//!   as many pages are dropped as the workload said it filled.
//!
//! The arm64 dumps get the same runs, with the guest's console instead of
//! drgn for `ps` (no arm64 `-dbg` vmlinux here).

use dumptool::dump::{Dump, PageState};
use ktype_tests::drgn;
use ktype_tests::examples;
use ktype_tests::fixtures::{
    kernel, repo_root, vmcore, vmcore_arm64, vmcore_arm64_without_lpa2, Vmcore,
};
use ktype_tests::guest::workload_pid;
use std::path::Path;
use std::process::Command;

/// Runs example `name` with `args`; its standard output.
fn run(name: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let bin = examples::program(name);
    let out = Command::new(&bin)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{name} {:?} failed: {}\n{}",
        args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the examples print UTF-8")
}

/// `ps DUMP` as drgn's task records, sorted.
fn ps(dump: &Path) -> Vec<drgn::Task> {
    examples::parse_ps(&run("ps", &[&dump]))
        .unwrap_or_else(|e| panic!("ps {}: {e}", dump.display()))
}

/// The workload's `anon N MiB at 0xADDR` from the guest's console.
fn workload_anon(v: &Vmcore) -> (u64, u64) {
    let console = std::fs::read_to_string(v.dir.join("console.log")).expect("console.log");
    let line = console
        .lines()
        .find(|l| l.starts_with("workload: anon"))
        .expect("a `workload: anon` line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let mib: u64 = words[2].parse().expect("anon MiB");
    let addr = u64::from_str_radix(words[5].trim_start_matches("0x").trim_end_matches(','), 16)
        .expect("anon address");
    (mib, addr)
}

fn check(suite: &'static str) {
    let v = vmcore(suite);
    let k = kernel(suite);
    // ps: drgn's tasks, from the ELF dump and from the kdump-compressed one.
    let walk = drgn::walk(&v.elf(), &k.vmlinux_dbg(), &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut theirs = walk.tasks.clone();
    theirs.sort();
    let pid = workload_pid(&v);
    for dump in [v.elf(), v.kdump_lzo()] {
        let ours = ps(&dump);
        assert_eq!(ours, theirs, "{}: ps differs from drgn", dump.display());
        assert!(
            ours.iter()
                .any(|t| t.pid == pid && t.comm == "workload" && t.ppid == 1),
            "{}: no workload with pid {pid}",
            dump.display()
        );
    }
    user_memory(&v, pid);
    eprintln!("{suite}: ps = drgn ({} tasks)", theirs.len());
}

/// `peek` and `drop_process` on the workload (pid `pid`) of `v`'s ELF dump.
fn user_memory(v: &Vmcore, pid: u64) {
    let suite = v.suite;
    // peek: the tags the workload wrote, read through its page tables.
    let (anon_mib, anon) = workload_anon(v);
    let src = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let page = src.page_size();
    let pages = (anon_mib << 20) / page;
    for n in [0, 1, pages / 2, pages - 1] {
        let out = run(
            "peek",
            &[
                &v.elf(),
                &pid.to_string(),
                &format!("{:#x}", anon + n * page),
                &"16",
            ],
        );
        assert!(
            out.ends_with(" KTYPE-ANON page=\n"),
            "{suite}: peek of the workload's page {n}: {out}"
        );
        let tag = run(
            "peek",
            &[
                &v.elf(),
                &pid.to_string(),
                &format!("{:#x}", anon + n * page + 16),
                &"16",
            ],
        );
        let digits = n.to_string();
        assert!(
            tag.split("  ")
                .last()
                .is_some_and(|t| t.starts_with(&digits)),
            "{suite}: page {n}'s tag reads {tag}"
        );
    }
    // drop_process: level 0 plus the workload's memory dropped.
    let out = repo_root().join(format!("target/examples-{suite}.kdump"));
    let report = run("drop_process", &[&v.elf(), &out, &"workload", &"0"]);
    let dropped: u64 = report
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{suite}: drop_process printed {report}"));
    assert!(
        dropped >= pages,
        "{suite}: {dropped} pages dropped, but the workload filled {pages}"
    );
    let filtered = Dump::open(&out).unwrap_or_else(|e| panic!("{e}"));
    let mut buf = vec![0u8; page as usize];
    let (mut tagged, mut excluded) = (0u64, 0u64);
    for pfn in 0..src.max_pfn() {
        if filtered.phys().page_state(pfn) == PageState::Excluded {
            excluded += 1;
        }
        if src.phys().read_phys(pfn * page, &mut buf).is_ok()
            && buf.starts_with(b"KTYPE-ANON page=")
        {
            tagged += 1;
            assert_eq!(
                filtered.phys().page_state(pfn),
                PageState::Excluded,
                "{suite}: the workload's page at pfn {pfn:#x} is still in the output"
            );
        }
    }
    assert_eq!(tagged, pages, "{suite}: tagged pages in the source");
    assert_eq!(excluded, dropped, "{suite}: excluded pages in the output");
    std::fs::remove_file(&out).ok();
    eprintln!(
        "{suite}: peek reads the workload's tags; drop_process dropped {dropped} pages ({tagged} tagged)"
    );
}

#[test]
fn examples_on_6_1() {
    check("bookworm");
}

#[test]
fn examples_on_6_12() {
    check("trixie");
}

#[test]
fn examples_on_newest() {
    check("sid");
}

/// arm64 dumps: no `-dbg` vmlinux here for drgn, so `ps` is checked against
/// the guest's console (pid 1 `init`, the `workload` with the pid it
/// printed, child of init), then the workload's memory as on x86_64.
fn check_arm64(v: Vmcore) {
    let pid = workload_pid(&v);
    let tasks = ps(&v.elf());
    assert!(
        tasks.iter().any(|t| t.pid == 1 && t.comm == "init"),
        "{}: no init in {tasks:?}",
        v.suite
    );
    assert!(
        tasks
            .iter()
            .any(|t| t.pid == pid && t.ppid == 1 && t.comm == "workload"),
        "{}: no workload with pid {pid} in {tasks:?}",
        v.suite
    );
    user_memory(&v, pid);
}

#[test]
fn examples_on_arm64_6_12() {
    check_arm64(vmcore_arm64("trixie"));
}

#[test]
fn examples_on_arm64_newest() {
    check_arm64(vmcore_arm64("sid"));
}

/// The LPA2 kernels on a CPU without FEAT_LPA2 (48 bits, classic entries).
#[test]
fn examples_on_arm64_without_lpa2() {
    for s in ["trixie", "sid"] {
        if let Some(v) = vmcore_arm64_without_lpa2(s) {
            check_arm64(v);
        }
    }
}

/// Debian's 6.1 arm64 kernel has no `CONFIG_KALLSYMS_ALL`: its kallsyms
/// holds text symbols only, so `init_task`, the head of the task list, has
/// no address; `ps` says so (naming the symbol and the dump) instead of
/// printing a partial list.
#[test]
fn ps_on_arm64_6_1_names_the_missing_symbol() {
    let v = vmcore_arm64("bookworm");
    let bin = examples::program("ps");
    let out = Command::new(&bin)
        .arg(v.elf())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ps on {} succeeded", v.suite);
    assert!(
        err.contains("init_task") && err.contains(&*v.elf().to_string_lossy()),
        "ps on {}: {err}",
        v.suite
    );
}
