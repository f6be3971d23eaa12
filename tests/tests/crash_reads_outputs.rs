//! crash reads every output as it reads the source: on every fixture
//! kernel, `dumptool filter` writes qemu's ELF dump at `-d 31` in every
//! output format (kdump-compressed with zlib, LZO, snappy and zstd, ELF, and
//! the flattened format) and at `-d 0` as kdump-zlib, then crash 8.0.6 from
//! Debian trixie (`fixtures::crash`, with the `-dbg` package's vmlinux)
//! runs the same commands in batch mode on the source and on each output.
//!
//! What must be equal to the source's answers:
//! - `ps`: every task with its state, `%MEM`, `VSZ` and `RSS` (counters in
//!   kernel memory, not the user pages themselves);
//! - `mod`: every module;
//! - `log`: the whole printk log;
//! - `kmem -i`: crash computes it from the kernel's counters (`vm_stat`,
//!   `totalram_pages`, block device inodes), not by reading the excluded
//!   pages, so free, cached and user memory are reported as in the source;
//! - `bt -a` and `foreach bt`: the backtrace of every task; kernel stacks are
//!   kernel pages, which no dump level excludes;
//! - `sys`, but for its `KERNEL` and `DUMPFILE` lines (the paths, and crash
//!   marks a kdump-compressed file with excluded pages `[PARTIAL DUMP]`).
//!
//! Not compared with the source: the contents of two pages the filter left
//! out (probed with `rd -p`): one that held the workload's anonymous data
//! and one that was all zero. A kdump output at `-d 31` reads the zero page
//! as zeros (the shared zero page) and says the data page is excluded; an
//! ELF output reads both as zeros (`p_memsz` covers excluded memory); at
//! `-d 0` both read as in the source.
//!
//! No output may make crash report a `read error` the source does not. The
//! check bites: the ELF output with each `PT_LOAD`'s `p_memsz` cut back to
//! its `p_filesz` (the layout before excluded memory was covered) makes
//! crash fail with read errors of kernel data.
//!
//! crash 8.0.6 does not know every structure of the newest kernel: when it
//! stops at start-up on the source in its slab (`kmem_cache_init`) or
//! module (`module_init`) set-up, the test turns that part off
//! (`--no_kmem_cache`, `--no_modules`) for the source and every output
//! alike, and says so.
//!
//! Runtime is crash's start-up (about 5 s of CPU per dump with the indexed
//! vmlinux of `fixtures::crash_vmlinux`, 2-3 times that without): 9-11
//! crash runs per kernel, about 5 minutes of CPU for the three kernels.

use dumptool::commands::filter::{run, FilterArgs};
use dumptool::dump::Dump;
use ktype_tests::fixtures::{crash, crash_vmlinux, kernel, repo_root, vmcore, Kernel};
use ktype_tests::guest::{excluded_pages, workload_pid};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn work() -> PathBuf {
    let d = repo_root().join("target/crash-reads");
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
    d
}

/// The outputs: (name, dump level, format flags).
const OUTPUTS: [(&str, &str, &[&str]); 7] = [
    ("d31-zlib", "31", &["-c"]),
    ("d31-lzo", "31", &["-l"]),
    ("d31-snappy", "31", &["-p"]),
    ("d31-zstd", "31", &["-z"]),
    ("d31-elf", "31", &["-E"]),
    ("d31-flat", "31", &["-c", "-F"]),
    ("d0-zlib", "0", &["-c"]),
];

/// crash's commands, each one section of the output (then the probes and
/// `sys`).
const COMMANDS: [&str; 6] = ["ps", "mod", "log", "kmem -i", "bt -a", "foreach bt"];

/// `dumptool filter -f -d LEVEL FLAGS --threads 2 IN OUT`.
fn filter(level: &str, flags: &[&str], input: &Path, output: &Path) {
    let mut words: Vec<OsString> = vec!["-f".into(), "-d".into(), level.into()];
    words.extend(flags.iter().map(OsString::from));
    words.extend(["--threads".into(), "2".into(), input.into(), output.into()]);
    let args = FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}"));
    run(&args).unwrap_or_else(|e| {
        panic!(
            "dumptool filter -d {level} {} {} {}: {e}",
            flags.join(" "),
            input.display(),
            output.display()
        )
    });
}

/// What crash printed for one dump, by section (a command, `sys`, or
/// `probe ADDR`).
#[derive(Debug)]
struct CrashRun {
    sections: BTreeMap<String, Vec<String>>,
    /// Every line of crash's stdout and stderr (errors, warnings).
    all: Vec<String>,
    /// Whether crash got through its start-up and every command.
    finished: bool,
}

/// Runs crash in batch mode on `dump` with `flags`, the commands and one
/// `rd -p` of each probe address. Each command's output is redirected to a
/// file of its own (crash's `> FILE`): on its stdout, output of different
/// commands can interleave.
fn crash_run(vmlinux: &Path, dump: &Path, flags: &[&str], probes: &[u64]) -> CrashRun {
    // Named after the dump's folder too: the kernels' tests run at once,
    // and their source dumps are all called vmcore.elf.
    let folder = dump
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = work().join(format!(
        "{folder}-{}.{}.crash",
        dump.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let mut names = Vec::new();
    let mut script = String::new();
    let mut add = |name: String, cmd: &str| {
        script.push_str(&format!("{cmd} > {}/{}\n", dir.display(), names.len()));
        names.push(name);
    };
    for c in COMMANDS {
        add(c.to_string(), c);
    }
    for p in probes {
        add(format!("probe {p:#x}"), &format!("rd -p -64 {p:#x} 512"));
    }
    add("sys".into(), "sys");
    script.push_str("quit\n");
    let cmdfile = dir.join("commands");
    std::fs::write(&cmdfile, script).unwrap_or_else(|e| panic!("{}: {e}", cmdfile.display()));
    let out = Command::new(crash())
        .args(["-s", "--no_crashrc", "--no_scroll"])
        .args(flags)
        .arg(vmlinux)
        .arg(dump)
        .arg("-i")
        .arg(&cmdfile)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run crash: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut sections = BTreeMap::new();
    for (i, name) in names.into_iter().enumerate() {
        if let Ok(text) = std::fs::read_to_string(dir.join(i.to_string())) {
            sections.insert(name, text.lines().map(str::to_string).collect());
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    // The last command ran: crash got through.
    let finished = sections.contains_key("sys");
    CrashRun {
        sections,
        all: stdout
            .lines()
            .chain(stderr.lines())
            .map(str::to_string)
            .collect(),
        finished,
    }
}

impl CrashRun {
    fn section(&self, name: &str) -> &[String] {
        self.sections.get(name).map_or(&[], Vec::as_slice)
    }

    fn read_errors(&self) -> Vec<&String> {
        self.all
            .iter()
            .filter(|l| l.contains("read error"))
            .collect()
    }

    /// How crash read a probed page: `zero`, `data`, `excluded` or the
    /// error it printed.
    fn probe(&self, paddr: u64) -> String {
        let lines = self.section(&format!("probe {paddr:#x}"));
        // crash's error messages may go to its stdout instead of the file.
        let hex = format!("{paddr:x}");
        let said: Vec<&String> = self.all.iter().filter(|l| l.contains(&hex)).collect();
        if lines
            .iter()
            .chain(said.iter().copied())
            .any(|l| l.contains("page excluded"))
        {
            return "excluded".into();
        }
        let mut words = 0;
        let mut nonzero = false;
        for l in lines {
            let Some((addr, rest)) = l.split_once(":  ") else {
                return format!("error: {l}");
            };
            if u64::from_str_radix(addr.trim(), 16).is_err() {
                return format!("error: {l}");
            }
            for w in rest.split_whitespace().take(2) {
                let v = u64::from_str_radix(w, 16).unwrap_or_else(|e| panic!("rd line {l:?}: {e}"));
                nonzero |= v != 0;
                words += 1;
            }
        }
        match (words, nonzero) {
            (512, true) => "data".into(),
            (512, false) => "zero".into(),
            _ => format!("{words} words read: {lines:?}, crash said {said:?}"),
        }
    }

    /// `sys` without the lines naming the files.
    fn sys(&self) -> Vec<&String> {
        self.section("sys")
            .iter()
            .filter(|l| {
                let l = l.trim_start();
                !l.starts_with("KERNEL:") && !l.starts_with("DUMPFILE:")
            })
            .collect()
    }
}

/// The crash options that get it through its start-up on the source: none,
/// or those turning off the set-up it stopped in (crash's limitation on a
/// kernel newer than it knows).
fn crash_flags(vmlinux: &Path, src: &Path, probes: &[u64]) -> (Vec<&'static str>, CrashRun) {
    let mut flags = Vec::new();
    loop {
        let r = crash_run(vmlinux, src, &flags, probes);
        if r.finished {
            return (flags, r);
        }
        let stopped_in = |f: &str| {
            r.all
                .iter()
                .any(|l| l.contains(&format!("FUNCTION: {f}()")))
        };
        let off = if stopped_in("kmem_cache_init") {
            "--no_kmem_cache"
        } else if stopped_in("module_init") {
            "--no_modules"
        } else {
            ""
        };
        assert!(
            !off.is_empty() && !flags.contains(&off),
            "crash {flags:?} cannot read the source {}:\n{}",
            src.display(),
            r.all.join("\n")
        );
        eprintln!(
            "{}: crash stops in its start-up ({}); running it with {off}",
            src.display(),
            r.all
                .iter()
                .find(|l| l.contains("invalid") || l.contains("cannot"))
                .map_or("?", |l| l.trim())
        );
        flags.push(off);
    }
}

/// Sets each `PT_LOAD`'s `p_memsz` to its `p_filesz` in the ELF file `path`
/// (in place); returns how many it changed.
fn cut_memsz_to_filesz(path: &Path) -> usize {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ehdr = [0u8; 64];
    f.read_exact_at(&mut ehdr, 0).expect("read the ELF header");
    let phoff = u64::from_le_bytes(ehdr[32..40].try_into().unwrap());
    let phnum = u16::from_le_bytes(ehdr[56..58].try_into().unwrap());
    assert_ne!(
        phnum,
        0xffff,
        "{}: PN_XNUM not handled here",
        path.display()
    );
    let mut cut = 0;
    for i in 0..u64::from(phnum) {
        let at = phoff + i * 56;
        let mut p = [0u8; 56];
        f.read_exact_at(&mut p, at).expect("read a program header");
        let filesz = &p[32..40];
        if u32::from_le_bytes(p[..4].try_into().unwrap()) == 1 && p[40..48] != *filesz {
            let filesz: [u8; 8] = filesz.try_into().unwrap();
            f.write_all_at(&filesz, at + 40).expect("write p_memsz");
            cut += 1;
        }
    }
    cut
}

fn check(suite: &'static str) {
    let t0 = Instant::now();
    let k: Kernel = kernel(suite);
    let v = vmcore(suite);
    let vmlinux = crash_vmlinux(&k);
    let src_path = v.elf();
    let name = src_path.display();

    // The probed pages: left out by the -d 31 kdump output.
    let outputs: Vec<(&str, &str, PathBuf)> = OUTPUTS
        .iter()
        .map(|&(n, level, flags)| {
            let out = work().join(format!("{suite}-{n}"));
            filter(level, flags, &src_path, &out);
            (n, level, out)
        })
        .collect();
    let src_dump = Dump::open(&src_path).unwrap_or_else(|e| panic!("{e}"));
    let kdump = Dump::open(&outputs[0].2).unwrap_or_else(|e| panic!("{e}"));
    let (user_page, zero_page) = excluded_pages(&src_dump, &kdump);
    drop((src_dump, kdump));
    let probes = [user_page, zero_page];
    eprintln!(
        "{suite}: {} outputs written, {:.1} s",
        outputs.len(),
        t0.elapsed().as_secs_f64()
    );

    // The source, and real facts of it.
    let t = Instant::now();
    let (flags, src) = crash_flags(&vmlinux, &src_path, &probes);
    eprintln!(
        "{suite}: crash {flags:?} on the source: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let release = format!("RELEASE: {}", k.release());
    assert!(
        src.sys().iter().any(|l| l.trim() == release),
        "{name}: crash's sys lacks {release:?}: {:?}",
        src.sys()
    );
    let pid = workload_pid(&v);
    assert!(
        src.section("ps").iter().any(|l| {
            let f: Vec<&str> = l.trim_start_matches('>').split_whitespace().collect();
            f.first() == Some(&pid.to_string().as_str()) && f.last() == Some(&"workload")
        }),
        "{name}: crash's ps lacks `workload` with pid {pid} (console.log): {:?}",
        src.section("ps")
    );
    if !flags.contains(&"--no_modules") {
        for m in ["ext4", "virtio_blk", "qemu_fw_cfg"] {
            assert!(
                src.section("mod")
                    .iter()
                    .any(|l| l.split_whitespace().nth(1) == Some(m)),
                "{name}: crash's mod lacks {m} (loaded by guest-init.sh): {:?}",
                src.section("mod")
            );
        }
    }
    let banner = format!("Linux version {} ", k.release());
    assert!(
        src.section("log")
            .first()
            .is_some_and(|l| l.contains(&banner)),
        "{name}: crash's log does not start with {banner:?}: {:?}",
        src.section("log").first()
    );
    assert!(
        src.section("bt -a").iter().any(|l| l.starts_with("PID: ")),
        "{name}: crash's bt -a shows no task: {:?}",
        src.section("bt -a")
    );
    assert!(
        src.section("kmem -i")
            .iter()
            .any(|l| l.contains("TOTAL MEM")),
        "{name}: crash's kmem -i lacks TOTAL MEM: {:?}",
        src.section("kmem -i")
    );
    assert_eq!(
        [src.probe(user_page), src.probe(zero_page)],
        ["data", "zero"],
        "{name}: the probed pages as crash reads them from the source"
    );

    for (n, level, out) in &outputs {
        let t = Instant::now();
        let got = crash_run(&vmlinux, out, &flags, &probes);
        let o = out.display();
        assert!(
            got.finished,
            "{o}: crash {flags:?} did not get through (the source does):\n{}",
            got.all.join("\n")
        );
        let new_errors: Vec<_> = got
            .read_errors()
            .into_iter()
            .filter(|l| !src.read_errors().contains(l))
            .collect();
        assert!(
            new_errors.is_empty(),
            "{o}: crash reports read errors the source does not: {new_errors:?}"
        );
        for c in COMMANDS {
            assert_eq!(
                got.section(c),
                src.section(c),
                "{o}: crash's `{c}` differs from the source's"
            );
        }
        assert_eq!(got.sys(), src.sys(), "{o}: crash's `sys` differs");
        let user = match (*level, *n == "d31-elf") {
            ("0", _) => "data",
            (_, true) => "zero",
            _ => "excluded",
        };
        assert_eq!(
            [got.probe(user_page), got.probe(zero_page)],
            [user, "zero"],
            "{o}: excluded pages {user_page:#x} (user data) and {zero_page:#x} (zeros) as crash reads them"
        );
        eprintln!(
            "{suite} {n}: crash gives the source's {} ps, {} mod, {} log, {} kmem -i, {} bt -a, {} foreach bt lines and sys; user page reads {user}: {:.1} s",
            got.section("ps").len(),
            got.section("mod").len(),
            got.section("log").len(),
            got.section("kmem -i").len(),
            got.section("bt -a").len(),
            got.section("foreach bt").len(),
            t.elapsed().as_secs_f64()
        );
        if *n == "d31-elf" {
            // The check bites: without p_memsz over excluded memory crash
            // cannot read kernel data that sits in an all-zero page.
            let cut = cut_memsz_to_filesz(out);
            let r = crash_run(&vmlinux, out, &flags, &probes);
            assert!(
                cut > 0 && !r.read_errors().is_empty(),
                "{o} with {cut} p_memsz cut to p_filesz: crash reports no read error"
            );
            eprintln!(
                "{suite} {n} with p_memsz = p_filesz in {cut} PT_LOADs: crash fails: {}",
                r.read_errors()[0].trim()
            );
        }
        std::fs::remove_file(out).ok();
    }
    eprintln!("{suite}: {:.1} s in all", t0.elapsed().as_secs_f64());
}

#[test]
fn crash_reads_outputs_6_1() {
    check("bookworm");
}

#[test]
fn crash_reads_outputs_6_12() {
    check("trixie");
}

#[test]
fn crash_reads_outputs_newest() {
    check("sid");
}

/// One test per fixture suite: a suite added to `SUITES` needs one here.
#[test]
fn every_suite_is_read_by_crash() {
    assert_eq!(
        ktype_tests::fixtures::SUITES,
        ["bookworm", "trixie", "sid"],
        "add a crash_reads_outputs_* test for the new suite"
    );
}
