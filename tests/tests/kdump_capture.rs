//! A real kdump on every fixture kernel (`scripts/kdump_run.sh`): the
//! kernel boots in qemu with `crashkernel=`, runs the vmcores workload,
//! loads itself as capture kernel with `kexec -p` and crashes through sysrq;
//! the capture kernel runs, on `/proc/vmcore`, `dumptool info` and, per
//! codec, `dumptool filter -d 31` and makedumpfile 1.7.8 (sid's) with the
//! same options, each under `measure` (wall time, peak RSS and anonymous
//! RSS). The dumptool in the guest is this workspace's release build, made
//! here, so the test checks today's code.
//!
//! Before the crash, the first kernel runs `dumptool info --live` and
//! `dumptool dmesg --live` on itself (`/proc/kcore`, `/proc/kallsyms`,
//! `/sys/kernel/btf`): info must name the guest's `uname -r` and list the
//! modules of its `/proc/modules`, the live log must hold every line of the
//! guest's busybox `dmesg` taken just before, timestamps included.
//!
//! Checked: the capture kernel really ran from the panic and read
//! /proc/vmcore; `dumptool info` names the kernel's release; for each
//! variant (lzo, zlib, and lzo through `-F | makedumpfile -R`) dumptool's
//! output stores the pages makedumpfile's does (on sid's kernel a superset:
//! the kernel-owned pages explained in filter_vs_makedumpfile.rs), byte for
//! byte; the same for the ELF outputs (`-E`); drgn (with the `-dbg`
//! vmlinux) finds the same tasks, modules and log in dumptool's lzo, zlib
//! and ELF outputs as in makedumpfile's; `dumptool dmesg` prints exactly
//! what `makedumpfile --dump-dmesg` writes. The time and memory table (for a pipeline: its whole process tree,
//! `makedumpfile -R` included) is printed and saved to
//! `target/kdump-capture/bench-<suite>.txt` (a record, not asserted).
//!
//! `KDUMP_CRASHKERNEL_MIB` overrides the reserved size (to look for the
//! smallest that works); `KDUMP_MEM_MIB` the guest's memory.

use dumptool::dump::{Dump, PageState};
use ktype_tests::drgn;
use ktype_tests::examples;
use ktype_tests::fixtures::{kernel, repo_root};
use ktype_tests::guest::workload_pid_in;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// One qemu at a time (the tests of this file run in parallel threads).
static QEMU: Mutex<()> = Mutex::new(());

const LEVEL: u32 = 31;
/// The variants compared: a name, the codec flag (makedumpfile's, and
/// dumptool's), and whether the dump goes through the flattened format on a
/// pipe (`-F` to stdout, `makedumpfile -R` reassembling it: kdump-tools'
/// way of sending a dump over ssh).
const VARIANTS: [(&str, char, bool); 3] = [
    ("lzo", 'l', false),
    ("zlib", 'c', false),
    ("lzo-flat", 'l', true),
];
/// Guest memory (MiB).
const MEM_MIB: u32 = 1024;

/// Memory reserved for the capture kernel (MiB), every kernel: enough for
/// the kernel, its initramfs (busybox, modules, dumptool, makedumpfile;
/// ~9 MiB compressed) and the runs. Measured: 128 works on 6.1, 6.12 and
/// 7.2 (20-40 MiB left free before the runs); at 96 the capture kernels of
/// 6.1 and 7.2 run out of memory unpacking the initramfs.
const CRASHKERNEL_MIB: u32 = 160;

fn crashkernel_mib() -> u32 {
    std::env::var("KDUMP_CRASHKERNEL_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CRASHKERNEL_MIB)
}

fn mem_mib() -> u32 {
    std::env::var("KDUMP_MEM_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MEM_MIB)
}

/// The target directory this test binary was built in (`target/debug/deps/..`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// `cargo build --release -p dumptool` in this test's target directory
/// (once per process); the binary.
fn dumptool_release() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let target = target_dir();
        let out = Command::new(&cargo)
            .current_dir(repo_root())
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "dumptool",
                "--target-dir",
            ])
            .arg(&target)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", cargo.to_string_lossy()));
        assert!(
            out.status.success(),
            "cargo build --release -p dumptool failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = target.join("release/dumptool");
        assert!(bin.is_file(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}

/// The capture kernel's runs, one per line: `NAME SHELL-COMMAND`
/// (`scripts/kdump-guest.sh` runs them in order, in its results folder).
fn commands() -> String {
    let mut s =
        String::from("# written by tests/tests/kdump_capture.rs\ninfo dumptool info $VMCORE\n");
    for (codec, flag, flat) in VARIANTS {
        let (ours, theirs) = if flat {
            (
                format!("dumptool filter -d {LEVEL} -{flag} -F $VMCORE | makedumpfile -R dumptool-{codec}.kdump"),
                format!("makedumpfile -{flag} -d {LEVEL} -F $VMCORE | makedumpfile -R makedumpfile-{codec}.kdump"),
            )
        } else {
            (
                format!("dumptool filter -d {LEVEL} -{flag} --report json $VMCORE dumptool-{codec}.kdump"),
                format!("makedumpfile -{flag} -d {LEVEL} $VMCORE makedumpfile-{codec}.kdump"),
            )
        };
        writeln!(s, "dumptool-{codec} {ours}").unwrap();
        writeln!(s, "makedumpfile-{codec} {theirs}").unwrap();
    }
    // ELF output (what crash and drgn read most directly), and the kernel
    // log, which kdump-tools saves before the dump.
    writeln!(
        s,
        "dumptool-elf dumptool filter -d {LEVEL} -E $VMCORE dumptool-elf.elf"
    )
    .unwrap();
    writeln!(
        s,
        "makedumpfile-elf makedumpfile -E -d {LEVEL} $VMCORE makedumpfile-elf.elf"
    )
    .unwrap();
    // kdump-tools' own command lines (Debian's kdump-config: the log, then
    // the dump through -F to a pipe), with dumptool as `makedumpfile`.
    s.push_str("dumptool-kdump-tools-dmesg /opt/dumptool/makedumpfile --dump-dmesg $VMCORE dumptool-kdump-tools-dmesg.txt\n");
    s.push_str("dumptool-kdump-tools /opt/dumptool/makedumpfile -F -c -d 31 $VMCORE | makedumpfile -R dumptool-kdump-tools.kdump\n");
    s.push_str("dumptool-dmesg dumptool dmesg $VMCORE > dumptool-dmesg.txt\n");
    s.push_str("makedumpfile-dmesg makedumpfile --dump-dmesg $VMCORE makedumpfile-dmesg.txt\n");
    s
}

/// The log lines of `text` (busybox `dmesg`, or `dumptool dmesg`) as
/// `(timestamp, text)`: the caller field (`[    T1] `) left out, a
/// continuation line under its record's timestamp, trailing blanks cut.
fn log_lines(text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut ts = String::new();
    for line in text.lines() {
        let rest = match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
            Some((t, rest)) if t.trim().parse::<f64>().is_ok() => {
                ts = t.trim().to_string();
                rest
            }
            _ => line.trim_start(),
        };
        let rest = match rest.strip_prefix('[').and_then(|l| l.split_once("] ")) {
            Some((c, r)) if c.trim().len() > 1 && c.trim()[1..].parse::<u32>().is_ok() => r,
            _ => rest,
        };
        out.insert((ts.clone(), rest.trim_end().to_string()));
    }
    out
}

/// Checks what `dumptool info --live` and `dumptool dmesg --live` printed in
/// the first kernel (`scripts/kdump-guest.sh`, folder `live`) against what
/// the guest itself said: its release (`uname -r`), its modules
/// (`/proc/modules`), its log (busybox `dmesg`, taken just before). A line
/// for the summary.
fn check_live(suite: &str, live: &Path, release: &str) -> String {
    let read = |name: &str| {
        std::fs::read_to_string(live.join(name))
            .unwrap_or_else(|e| panic!("{suite}: live/{name}: {e}"))
    };
    let status = read("status.txt");
    for run in ["info", "dmesg", "ps"] {
        assert!(
            status.lines().any(|l| l == format!("{run}=0")),
            "{suite}: dumptool {run} --live failed ({status}): {}",
            read(&format!("{run}.stderr"))
        );
    }
    let uname = read("uname.txt");
    assert_eq!(uname.trim(), release, "{suite}: the guest's uname -r");
    let info = read("info.stdout");
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or_else(|| panic!("{suite}: dumptool info --live printed no {key}\n{info}"))
    };
    assert_eq!(field("kernel:"), uname.trim(), "{suite}: live info: {info}");
    assert_eq!(
        field("format:"),
        "ELF64 core, /proc/kcore of the running kernel"
    );
    assert!(field("live:").contains("/proc/kallsyms"), "{info}");
    assert!(field("kallsyms:").starts_with("found"), "{info}");
    assert!(field("BTF:").starts_with("found"), "{info}");
    // The module list walked in the running kernel's memory is the one
    // /proc/modules shows.
    let theirs: BTreeSet<String> = read("modules.txt")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let ours: BTreeSet<String> = info
        .lines()
        .skip_while(|l| !l.starts_with("modules:"))
        .skip(1)
        .take_while(|l| l.starts_with("               "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert!(!theirs.is_empty(), "{suite}: the guest lists no modules");
    assert_eq!(
        ours, theirs,
        "{suite}: modules of dumptool info --live vs /proc/modules"
    );
    let modules = ours.len();
    // Every line the guest's own dmesg printed is in the live log, with its
    // timestamp (the live read came later: it may hold more).
    let log = read("dmesg.stdout");
    let ours = log_lines(&log);
    let theirs: Vec<(String, String)> = log_lines(&read("busybox-dmesg.txt"))
        .into_iter()
        .filter(|(_, t)| t.bytes().all(|b| (0x20..0x7f).contains(&b)))
        .collect();
    assert!(
        theirs.len() > 100,
        "{suite}: busybox dmesg printed {} lines",
        theirs.len()
    );
    let missing: Vec<_> = theirs.iter().filter(|l| !ours.contains(*l)).collect();
    assert!(
        missing.is_empty(),
        "{suite}: {} of {} lines of the guest's dmesg are not in dumptool dmesg --live, first {:?}",
        missing.len(),
        theirs.len(),
        missing.first()
    );
    assert!(
        log.contains(&format!("Linux version {release} ")),
        "{suite}: the live log has no banner"
    );
    let ps = check_live_ps(
        suite,
        &read("ps.stdout"),
        [&read("proc-stat.txt"), &read("proc-stat-after.txt")],
        &read("shell-pid.txt"),
    );
    format!(
        "live (first kernel): info names {release}, the {modules} modules of /proc/modules; \
         dmesg holds all {} lines of busybox dmesg ({} lines); {ps}",
        theirs.len(),
        ours.len()
    )
}

/// The processes of `/proc/PID/stat` lines (`PID (COMM) S PPID ...`; the
/// comm may hold spaces and parentheses), without the `cat`s that read them.
fn proc_stat_tasks(suite: &str, text: &str) -> Vec<drgn::Task> {
    text.lines()
        .map(|l| {
            let bad = || -> ! { panic!("{suite}: /proc/PID/stat: unexpected line {l:?}") };
            let (pid, rest) = l.split_once(" (").unwrap_or_else(|| bad());
            let (comm, rest) = rest.rsplit_once(") ").unwrap_or_else(|| bad());
            let mut f = rest.split_whitespace();
            let state = f
                .next()
                .and_then(|s| s.chars().next())
                .unwrap_or_else(|| bad());
            let ppid = f
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| bad());
            drgn::Task {
                pid: pid.parse().unwrap_or_else(|_| bad()),
                ppid,
                state,
                comm: comm.to_string(),
            }
        })
        .filter(|t| t.comm != "cat")
        .collect()
}

/// Checks the examples' `ps /proc/kcore`, run live in the first kernel,
/// against the guest's own `/proc/PID/stat` lines read just before and just
/// after it: every process in both (alive throughout: a kthread such as
/// `ext4lazyinit` may end meanwhile) is in ps's list with its pid, parent and
/// command, and ps finds itself running (`R`) as a child of the guest's
/// shell. /proc names kernel threads more fully than `task->comm` (15
/// bytes): a kworker with its workqueue, a kthread with its whole name
/// (`rcu_tasks_kthread`).
fn check_live_ps(suite: &str, ps: &str, proc_stat: [&str; 2], shell_pid: &str) -> String {
    let ours = examples::parse_ps(ps).unwrap_or_else(|e| panic!("{suite}: live ps: {e}"));
    let after = proc_stat_tasks(suite, proc_stat[1]);
    let theirs: Vec<drgn::Task> = proc_stat_tasks(suite, proc_stat[0])
        .into_iter()
        .filter(|t| after.iter().any(|a| a.pid == t.pid && a.comm == t.comm))
        .collect();
    assert!(
        theirs.len() > 20,
        "{suite}: /proc lists {} processes",
        theirs.len()
    );
    for t in &theirs {
        let found = ours.iter().find(|o| o.pid == t.pid);
        let same = found.is_some_and(|o| {
            let longer = t.comm.starts_with(&o.comm)
                && (o.comm.starts_with("kworker") || o.comm.len() == 15);
            o.ppid == t.ppid && (o.comm == t.comm || longer)
        });
        assert!(same, "{suite}: /proc has {t:?}, live ps has {found:?}");
    }
    let shell: u64 = shell_pid.trim().parse().expect("shell-pid.txt");
    assert!(
        ours.iter()
            .any(|o| o.comm == "ktype-ps" && o.ppid == shell && o.state == 'R'),
        "{suite}: live ps does not list itself running under the shell (pid {shell})"
    );
    format!(
        "live ps lists {} tasks, each of the {} processes /proc showed before and after it with its parent and command, and itself running",
        ours.len(),
        theirs.len()
    )
}

/// drgn's walk of `dump` (`tests/tests/debugger/walk.py`) with tasks and
/// modules sorted, for comparing dumps; or what drgn said when it could not
/// walk it.
fn drgn_walk(dump: &Path, vmlinux: &Path) -> Result<drgn::Walk, String> {
    let mut w = drgn::walk(dump, vmlinux, &[])?;
    w.tasks.sort();
    w.modules.sort();
    Ok(w)
}

/// One line of the guest's results.txt (see scripts/measure.c).
#[derive(Debug)]
struct Measured {
    name: String,
    fields: Vec<(String, i64)>,
}

impl Measured {
    fn get(&self, key: &str) -> i64 {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|&(_, v)| v)
            .unwrap_or_else(|| panic!("run {}: no {key} in results.txt", self.name))
    }
}

fn parse_results(path: &Path) -> Vec<Measured> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let mut name = None;
            let mut fields = Vec::new();
            for word in line.split_whitespace() {
                let (k, v) = word
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}: bad word '{word}'", path.display()));
                if k == "name" {
                    name = Some(v.to_string());
                } else {
                    let v = v
                        .parse()
                        .unwrap_or_else(|_| panic!("{}: bad number in '{word}'", path.display()));
                    fields.push((k.to_string(), v));
                }
            }
            Measured {
                name: name.unwrap_or_else(|| panic!("{}: line without name", path.display())),
                fields,
            }
        })
        .collect()
}

/// `key=value` of a file.
fn key_value(path: &Path, key: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
}

/// Pfns below `end` for which `dump` stores no data (at level 31 zero
/// pages are excluded: makedumpfile's kdump points them at its shared zero page).
fn no_data(dump: &Dump, end: u64) -> BTreeSet<u64> {
    (0..end)
        .filter(|&p| match dump.phys().page_state(p) {
            PageState::Excluded | PageState::NotInDump | PageState::Incomplete => true,
            PageState::Zero => LEVEL & 1 != 0,
            PageState::Present => false,
        })
        .collect()
}

/// What comparing two outputs found.
struct Compared {
    ours_without: usize,
    theirs_without: usize,
    equal_pages: u64,
    identical_files: bool,
}

/// Asserts that `ours` stores the pages `theirs` does (exactly, or on sid's
/// kernel a superset) with the same bytes, and that both carry `release`.
/// Opens an output of the capture kernel's runs; it must carry `release`'s
/// VMCOREINFO.
fn open_output(suite: &str, path: &Path, release: &str) -> Dump {
    let d = Dump::open(path).unwrap_or_else(|e| panic!("{suite}: {e}"));
    assert_eq!(
        d.vmcoreinfo().and_then(|i| i.get("OSRELEASE")),
        Some(release),
        "{suite}: {} carries another kernel's VMCOREINFO",
        d.path().display()
    );
    d
}

/// Asserts that the pages below `end` that both `a` and `b` store are
/// byte-identical; returns how many there are.
fn equal_stored_pages(suite: &str, what: &str, a: &Dump, b: &Dump, end: u64) -> u64 {
    let ps = a.page_size();
    assert_eq!(ps, b.page_size(), "{suite} {what}: page sizes differ");
    let (mut x, mut y) = (vec![0u8; ps as usize], vec![0u8; ps as usize]);
    let mut equal_pages = 0;
    for p in 0..end {
        if a.phys().page_state(p).is_readable() && b.phys().page_state(p).is_readable() {
            a.phys()
                .read_phys(p * ps, &mut x)
                .unwrap_or_else(|e| panic!("{suite} {what}: {e}"));
            b.phys()
                .read_phys(p * ps, &mut y)
                .unwrap_or_else(|e| panic!("{suite} {what}: {e}"));
            assert!(x == y, "{suite} {what}: pfn {p:#x} differs");
            equal_pages += 1;
        }
    }
    equal_pages
}

fn compare(suite: &str, what: &str, ours: &Path, theirs: &Path, release: &str) -> Compared {
    let a = open_output(suite, ours, release);
    let b = open_output(suite, theirs, release);
    let end = a.max_pfn().min(b.max_pfn());
    let (na, nb) = (no_data(&a, end), no_data(&b, end));
    let only_a: Vec<u64> = na.difference(&nb).take(8).copied().collect();
    let only_b: Vec<u64> = nb.difference(&na).take(8).copied().collect();
    if suite == "sid" {
        // makedumpfile drops kernel-owned pages we keep (explained pfn by
        // pfn in filter_vs_makedumpfile.rs); it never keeps one we drop.
        assert!(
            na.is_subset(&nb),
            "{suite} {what}: dumptool drops pages makedumpfile keeps, e.g. {only_a:#x?}"
        );
    } else {
        assert!(
            na == nb,
            "{suite} {what}: pages without data differ: dumptool {} makedumpfile {}; only dumptool's e.g. {only_a:#x?}; only makedumpfile's e.g. {only_b:#x?}",
            na.len(),
            nb.len()
        );
    }
    let equal_pages = equal_stored_pages(suite, what, &a, &b, end);
    assert!(equal_pages > 0, "{suite} {what}: no page stored in both");
    let identical_files =
        std::fs::read(ours).expect("read") == std::fs::read(theirs).expect("read");
    Compared {
        ours_without: na.len(),
        theirs_without: nb.len(),
        equal_pages,
        identical_files,
    }
}

fn mib(kb: i64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn check(suite: &'static str) {
    let k = kernel(suite);
    let release = k.release();
    assert!(!release.is_empty(), "{}: no release file", k.dir.display());
    let bin = dumptool_release();
    let base = target_dir().join("kdump-capture");
    std::fs::create_dir_all(&base).expect("mkdir target/kdump-capture");
    let cmds = base.join(format!("{suite}.commands"));
    std::fs::write(&cmds, commands()).expect("write the commands file");
    let out = base.join(suite);
    // This test's own folder: an earlier run's results go.
    if out.exists() {
        std::fs::remove_dir_all(&out).unwrap_or_else(|e| panic!("remove {}: {e}", out.display()));
    }
    let (mem, ck) = (mem_mib(), crashkernel_mib());

    let _qemu = QEMU.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = std::time::Instant::now();
    let o = Command::new("bash")
        .arg(repo_root().join("scripts/kdump_run.sh"))
        .args(["--suite", suite, "--dumptool"])
        .arg(&bin)
        .arg("--commands")
        .arg(&cmds)
        .arg("--tool")
        .arg(format!("ktype-ps={}", examples::program("ps").display()))
        .arg("--out")
        .arg(&out)
        .args(["--mem", &mem.to_string(), "--crashkernel", &ck.to_string()])
        // About 2 min per kernel under TCG; a hung guest fails the test.
        .args(["--timeout", "600"])
        .output()
        .expect("run bash scripts/kdump_run.sh");
    let host_s = t0.elapsed().as_secs_f64();
    drop(_qemu);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{suite}: scripts/kdump_run.sh failed ({}):\n{stderr}",
        o.status
    );
    eprintln!("{stderr}");
    let res = out.join("results");

    // The capture kernel ran from the panic and read /proc/vmcore.
    let console = std::fs::read(out.join("console.log")).expect("console.log");
    let console = String::from_utf8_lossy(&console);
    let banner = format!("Linux version {release} ");
    let boots = console.matches(&banner).count();
    assert_eq!(
        boots, 2,
        "{suite}: console shows {boots} boots of {release}, not the first and the capture kernel"
    );
    let crash = console
        .find("Kernel panic - not syncing: sysrq triggered crash")
        .unwrap_or_else(|| panic!("{suite}: no sysrq panic on the console"));
    let second_boot = console.rfind(&banner).expect("banner");
    assert!(
        crash < second_boot,
        "{suite}: the capture kernel did not boot after the panic"
    );
    assert!(
        console.contains("KTYPE-KDUMP-DONE"),
        "{suite}: the capture kernel did not finish its runs"
    );
    let capture = res.join("capture.txt");
    assert_eq!(
        key_value(&capture, "release").as_deref(),
        Some(release.as_str())
    );
    let cmdline = key_value(&capture, "cmdline").unwrap_or_default();
    assert!(
        cmdline.contains("elfcorehdr="),
        "{suite}: the capture kernel's command line has no elfcorehdr= (not a kdump boot): {cmdline}"
    );
    let vmcore_bytes: u64 = key_value(&capture, "vmcore_bytes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(vmcore_bytes > 0, "{suite}: /proc/vmcore was empty");

    // Every run exited 0.
    let runs = parse_results(&res.join("results.txt"));
    let cmds_text = commands();
    let names: Vec<&str> = cmds_text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        names,
        "{suite}: results.txt lacks runs"
    );
    for r in &runs {
        let err =
            std::fs::read_to_string(res.join(format!("{}.stderr", r.name))).unwrap_or_default();
        assert_eq!(r.get("status"), 0, "{suite}: run {} failed: {err}", r.name);
    }

    // dumptool info on /proc/vmcore names the kernel.
    let info = std::fs::read_to_string(res.join("info.stdout")).expect("info.stdout");
    let kernel_line = info
        .lines()
        .find(|l| l.starts_with("kernel:"))
        .unwrap_or_else(|| panic!("{suite}: dumptool info printed no kernel line:\n{info}"));
    assert_eq!(
        kernel_line.split_whitespace().nth(1),
        Some(release.as_str()),
        "{suite}: {kernel_line}"
    );
    assert!(
        info.contains("dump:          /proc/vmcore"),
        "{suite}: {info}"
    );

    // The first kernel, read live before the crash.
    let live_note = check_live(suite, &res.join("live"), &release);

    // Same codec and level: the same pages, byte for byte.
    let mut notes = format!("{live_note}\n");
    for (codec, _, _) in VARIANTS {
        let what = format!("-d {LEVEL} {codec}");
        let c = compare(
            suite,
            &what,
            &res.join(format!("dumptool-{codec}.kdump")),
            &res.join(format!("makedumpfile-{codec}.kdump")),
            &release,
        );
        writeln!(
            notes,
            "{what}: {} pages stored by both, equal; without data: dumptool {}, makedumpfile {}; files {}",
            c.equal_pages,
            c.ours_without,
            c.theirs_without,
            if c.identical_files { "byte-identical" } else { "differ (same pages)" }
        )
        .unwrap();
    }
    // The ELF outputs (the capture kernel's /proc/vmcore has several memory
    // ranges and a second segment for the kernel image, unlike qemu's
    // dumps). makedumpfile's ELF writer stores the pages of a short
    // excluded run (under 256 pages) anyway, to save program headers, so
    // its ELF holds more pages than its own kdump output; dumptool's ELF
    // stores exactly the pages its kdump output does. Pages stored by both
    // are byte-identical; every page only makedumpfile's ELF stores is one
    // its own kdump output excludes.
    let (ours_elf, theirs_elf) = (
        open_output(suite, &res.join("dumptool-elf.elf"), &release),
        open_output(suite, &res.join("makedumpfile-elf.elf"), &release),
    );
    let (ours_kdump, theirs_kdump) = (
        open_output(suite, &res.join("dumptool-lzo.kdump"), &release),
        open_output(suite, &res.join("makedumpfile-lzo.kdump"), &release),
    );
    let end = ours_elf.max_pfn().min(theirs_elf.max_pfn());
    let ours_elf_none = no_data(&ours_elf, end);
    assert!(
        ours_elf_none == no_data(&ours_kdump, end),
        "{suite}: dumptool's ELF and kdump outputs store different pages"
    );
    let theirs_elf_none = no_data(&theirs_elf, end);
    let theirs_kdump_none = no_data(&theirs_kdump, end);
    let unexplained: Vec<u64> = ours_elf_none
        .difference(&theirs_elf_none)
        .filter(|p| !theirs_kdump_none.contains(p))
        .take(8)
        .copied()
        .collect();
    assert!(
        unexplained.is_empty(),
        "{suite}: makedumpfile's ELF stores pages dumptool's does not, which its own kdump output keeps too: {unexplained:#x?}"
    );
    let equal = equal_stored_pages(suite, "-d 31 ELF", &ours_elf, &theirs_elf, end);
    writeln!(
        notes,
        "-d {LEVEL} ELF: {equal} pages stored by both, equal; makedumpfile's ELF also stores {} pages its kdump output excludes",
        ours_elf_none.difference(&theirs_elf_none).count()
    )
    .unwrap();

    // drgn walks dumptool's outputs: they agree with each other, hold the
    // workload's task, and equal what drgn finds in makedumpfile's output.
    // On 7.x makedumpfile drops slab pages (their page type says slab; see
    // filter_vs_makedumpfile.rs) that drgn needs for the pid radix tree:
    // there drgn cannot walk makedumpfile's output, and says so.
    let vmlinux = k.vmlinux_dbg();
    let ours: Vec<(&str, drgn::Walk)> = [
        "dumptool-lzo.kdump",
        "dumptool-zlib.kdump",
        "dumptool-elf.elf",
    ]
    .into_iter()
    .map(|name| {
        let f = drgn_walk(&res.join(name), &vmlinux).unwrap_or_else(|e| panic!("{suite}: {e}"));
        (name, f)
    })
    .collect();
    let first = &ours[0].1;
    for (name, f) in &ours[1..] {
        assert_eq!(
            f, first,
            "{suite}: drgn finds other tasks, modules or log in {name} than in {}",
            ours[0].0
        );
    }
    let pid = workload_pid_in(&console)
        .unwrap_or_else(|| panic!("{suite}: no workload pid on the console"));
    assert!(
        first.tasks.iter().any(|t| t.pid == pid),
        "{suite}: drgn does not find the workload (pid {pid}) in dumptool's outputs"
    );
    assert!(
        first
            .log
            .iter()
            .any(|(_, l)| l.contains(&format!("Linux version {release}"))),
        "{suite}: drgn finds no banner in the log of dumptool's outputs"
    );
    let theirs = drgn_walk(&res.join("makedumpfile-lzo.kdump"), &vmlinux);
    let reference = match &theirs {
        Ok(f) => {
            assert_eq!(
                f, first,
                "{suite}: drgn finds other facts in makedumpfile's output"
            );
            "as in makedumpfile's"
        }
        Err(e) if suite == "sid" && e.contains("Excluded page") => {
            "makedumpfile's output cannot be walked (drgn: a page it needs was excluded)"
        }
        Err(e) => panic!("{suite}: {e}"),
    };
    writeln!(
        notes,
        "drgn: {} tasks (the workload's pid {pid} among them), {} modules, {} log records in dumptool's lzo, zlib and ELF outputs; {reference}",
        first.tasks.len(),
        first.modules.len(),
        first.log.len()
    )
    .unwrap();

    // The kernel log, as makedumpfile --dump-dmesg writes it.
    let ours = std::fs::read(res.join("dumptool-dmesg.txt")).expect("dumptool-dmesg.txt");
    let theirs = std::fs::read(res.join("makedumpfile-dmesg.txt")).expect("makedumpfile-dmesg.txt");
    assert!(
        String::from_utf8_lossy(&theirs).contains(&format!("Linux version {release}")),
        "{suite}: makedumpfile's log lacks the banner"
    );
    assert!(
        ours == theirs,
        "{suite}: dumptool dmesg on /proc/vmcore differs from makedumpfile --dump-dmesg ({} vs {} bytes)",
        ours.len(),
        theirs.len()
    );
    let via_name = std::fs::read(res.join("dumptool-kdump-tools-dmesg.txt"))
        .expect("dumptool-kdump-tools-dmesg.txt");
    assert!(
        via_name == theirs,
        "{suite}: dumptool run as makedumpfile --dump-dmesg wrote another log"
    );
    writeln!(
        notes,
        "dmesg: identical to makedumpfile --dump-dmesg ({} bytes), also run as `makedumpfile --dump-dmesg`",
        ours.len()
    )
    .unwrap();
    // Debian kdump-tools' dump command (`makedumpfile -F -c -d 31 | ...`)
    // run with dumptool as makedumpfile: the pages of dumptool's own -c run.
    let c = compare(
        suite,
        "kdump-tools -F -c -d 31",
        &res.join("dumptool-kdump-tools.kdump"),
        &res.join("dumptool-zlib.kdump"),
        &release,
    );
    assert!(
        c.ours_without == c.theirs_without,
        "{suite}: kdump-tools' command line through dumptool-as-makedumpfile stores other pages than dumptool filter -c"
    );
    writeln!(
        notes,
        "kdump-tools' `makedumpfile -F -c -d 31 /proc/vmcore | makedumpfile -R` with dumptool as makedumpfile: {} pages, as dumptool filter -c",
        c.equal_pages
    )
    .unwrap();

    // dumptool's JSON report parses as far as this test needs: it is JSON text.
    let report = std::fs::read_to_string(res.join("dumptool-lzo.stdout")).unwrap_or_default();
    assert!(
        report.trim_start().starts_with('{'),
        "{suite}: --report json printed: {report}"
    );

    // The record: time and peak memory per run.
    let run_txt = out.join("run.txt");
    let rv = |k: &str| key_value(&run_txt, k).unwrap_or_default();
    let mut table = String::new();
    writeln!(
        table,
        "kdump {suite} ({release}): guest {mem} MiB, crashkernel={ck}M, /proc/vmcore {} MiB; capture initramfs {} MiB",
        vmcore_bytes >> 20,
        rv("capture_initrd_bytes").parse::<u64>().unwrap_or(0) >> 20
    )
    .unwrap();
    writeln!(
        table,
        "qemu (TCG): workload ready {} s, crash {} s, capture /init {} s, total {} s; host total {host_s:.0} s",
        rv("workload_ready_s"),
        rv("crash_s"),
        rv("capture_init_s"),
        rv("qemu_total_s")
    )
    .unwrap();
    writeln!(
        table,
        "{:<22} {:>8} {:>12} {:>12} {:>13} {:>8}",
        "run", "wall s", "maxrss MiB", "peak RSS MiB", "peak anon MiB", "out MiB"
    )
    .unwrap();
    for r in &runs {
        let size = ["kdump", "elf", "txt"]
            .iter()
            .find_map(|ext| std::fs::metadata(res.join(format!("{}.{ext}", r.name))).ok())
            // File length (an ELF output's excluded memory after its last
            // data is a hole: the copy debugfs makes is not sparse).
            .map(|m| format!("{:.1}", m.len() as f64 / (1 << 20) as f64))
            .unwrap_or_else(|| "-".into());
        writeln!(
            table,
            "{:<22} {:>8.2} {:>12} {:>12} {:>13} {:>8}",
            r.name,
            r.get("wall_ms") as f64 / 1000.0,
            mib(r.get("maxrss_kb")),
            mib(r.get("peak_rss_kb")),
            mib(r.get("peak_anon_kb")),
            size
        )
        .unwrap();
    }
    table.push_str(&notes);
    println!("{table}");
    std::fs::write(base.join(format!("bench-{suite}.txt")), &table).expect("write the table");
}

#[test]
fn kdump_6_1() {
    check("bookworm");
}

#[test]
fn kdump_6_12() {
    check("trixie");
}

#[test]
fn kdump_newest_kernel() {
    check("sid");
}
