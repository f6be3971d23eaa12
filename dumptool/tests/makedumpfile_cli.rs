//! The dumptool binary run as `makedumpfile` (a symlink of that name) with
//! the command lines Debian's kdump-tools (`kdump-config`) and Fedora's
//! kdump scripts (`kdumpctl`, the dracut module's `kdump.sh`, `mkdumprd`)
//! build, on a real dump (the bookworm fixture, on which dumptool's page
//! sets equal makedumpfile's): outputs readable, page sets equal to
//! `dumptool filter`'s with the same options and to makedumpfile-sid's,
//! `-F | -R` streams interchangeable with makedumpfile-sid's, the kernel
//! log equal to makedumpfile-sid's on every kernel, and exit statuses equal
//! makedumpfile-sid's for successes and failures. (In the dumptool package
//! because it needs the binary; the fixture helpers are included by path.)

#[path = "../../tests/src/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use dumptool::dump::{Dump, PageState};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh scratch directory holding a `makedumpfile` symlink to dumptool.
fn scratch(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let target = exe.ancestors().nth(3).expect("target dir").to_path_buf();
    let d = target.join("makedumpfile-cli").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir scratch");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_dumptool"), d.join("makedumpfile"))
        .expect("symlink makedumpfile -> dumptool");
    d
}

fn ours(dir: &Path) -> Command {
    let mut c = Command::new(dir.join("makedumpfile"));
    c.current_dir(dir);
    c
}

fn theirs(dir: &Path) -> Command {
    let mut c = Command::new(fixtures::makedumpfile_sid());
    c.current_dir(dir);
    c
}

fn run(mut c: Command, args: &[&str]) -> Output {
    c.args(args).output().expect("run makedumpfile")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
}

fn input() -> String {
    let p = fixtures::vmcore("bookworm").kdump_lzo();
    p.to_str().expect("UTF-8 path").to_string()
}

/// Page states of every pfn of the dump at `path`.
fn states(path: &Path) -> Vec<PageState> {
    let d = Dump::open(path).unwrap_or_else(|e| panic!("{e}"));
    (0..d.max_pfn()).map(|p| d.phys().page_state(p)).collect()
}

/// Pfns below `end` without data (excluded zero pages count as without data
/// at levels with bit 1, as makedumpfile's shared zero page).
fn no_data(s: &[PageState], end: usize, level: u32) -> Vec<usize> {
    (0..end.min(s.len()))
        .filter(|&p| match s[p] {
            PageState::Excluded | PageState::NotInDump => true,
            PageState::Zero => level & 1 != 0,
            _ => false,
        })
        .collect()
}

/// `dumptool filter WORDS INPUT` as a reference output.
fn reference(dir: &Path, name: &str, words: &[&str], input: &str) -> PathBuf {
    let out = dir.join(name);
    let o = Command::new(env!("CARGO_BIN_EXE_dumptool"))
        .arg("filter")
        .args(words)
        .arg(input)
        .arg(&out)
        .output()
        .expect("run dumptool filter");
    ok(&o, "dumptool filter");
    out
}

/// Our output has the page states of `dumptool filter`'s and the same
/// pages without data as makedumpfile-sid's.
fn same_pages(ours_out: &Path, filter_out: &Path, mdf_out: &Path, level: u32, what: &str) {
    let (a, b, c) = (states(ours_out), states(filter_out), states(mdf_out));
    assert!(a == b, "{what}: page states differ from dumptool filter's");
    let end = a.len().min(c.len());
    let (x, y) = (no_data(&a, end, level), no_data(&c, end, level));
    assert!(
        x == y,
        "{what}: {} pages without data, makedumpfile-sid {}",
        x.len(),
        y.len()
    );
    eprintln!(
        "{what}: {} pfns, {} without data, equal to dumptool filter's and makedumpfile-sid's",
        a.len(),
        x.len()
    );
}

/// Debian kdump-tools: `makedumpfile -F -c -d 31 /proc/vmcore | compress >
/// file`, and Fedora's raw/ssh targets: `-F ... | dd`, restored with
/// `makedumpfile -R vmcore < stream`. Our stream and makedumpfile-sid's
/// are rearranged by either tool into byte-identical files.
#[test]
fn flattened_pipeline_of_kdump_tools() {
    let dir = scratch("flattened");
    let vmcore = input();
    let stream = |mut c: Command, path: &Path| {
        let f = std::fs::File::create(path).expect("create stream file");
        let o = c
            .args(["-F", "-c", "-d", "31", &vmcore])
            .stdout(Stdio::from(f))
            .output()
            .expect("run -F");
        ok(&o, "-F -c -d 31");
    };
    stream(ours(&dir), &dir.join("ours.flat"));
    stream(theirs(&dir), &dir.join("theirs.flat"));
    let rearrange = |mut c: Command, flat: &str, out: &str| {
        let f = std::fs::File::open(dir.join(flat)).expect("open stream");
        let o = c
            .args(["-R", out])
            .stdin(Stdio::from(f))
            .output()
            .expect("run -R");
        ok(&o, &format!("-R {out} < {flat}"));
        std::fs::read(dir.join(out)).expect("read the rearranged file")
    };
    let ours_by_ours = rearrange(ours(&dir), "ours.flat", "ours-by-ours");
    let ours_by_theirs = rearrange(theirs(&dir), "ours.flat", "ours-by-theirs");
    let theirs_by_ours = rearrange(ours(&dir), "theirs.flat", "theirs-by-ours");
    let theirs_by_theirs = rearrange(theirs(&dir), "theirs.flat", "theirs-by-theirs");
    assert!(
        ours_by_ours == ours_by_theirs,
        "our stream: -R by us and by makedumpfile differ"
    );
    assert!(
        theirs_by_ours == theirs_by_theirs,
        "makedumpfile's stream: -R by us and by makedumpfile differ"
    );
    let filter = reference(&dir, "filter", &["-c", "-d", "31"], &vmcore);
    same_pages(
        &dir.join("ours-by-ours"),
        &filter,
        &dir.join("theirs-by-theirs"),
        31,
        "-F -c -d 31 | -R",
    );
    // The shell pipeline itself, as kdump-config writes it.
    let o = Command::new("sh")
        .current_dir(&dir)
        .arg("-c")
        .arg(format!(
            "./makedumpfile -F -c -d 31 '{vmcore}' | ./makedumpfile -R piped"
        ))
        .output()
        .expect("run sh");
    ok(&o, "sh -c 'makedumpfile -F ... | makedumpfile -R piped'");
    assert!(std::fs::read(dir.join("piped")).expect("piped") == ours_by_ours);
    // A stream cut short, and one that is not flattened at all (kdumpctl
    // probes a raw device that way), are refused with 1 (makedumpfile's
    // failure status), leaving nothing. makedumpfile-sid is not asked: on
    // such input it mostly never finishes (it spins at the end of its
    // input, from a pipe or a file). Streams come through a pipe, as in
    // the scripts.
    let bytes = std::fs::read(dir.join("ours.flat")).expect("stream");
    let cut = bytes[..bytes.len() / 2].to_vec();
    let garbage = b"no flattened dump here\n".to_vec();
    for (input, name) in [(cut, "cut"), (garbage, "not flattened")] {
        let status = |mut c: Command, out: &str| {
            let mut child = c
                .args(["-R", out])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run -R");
            let mut stdin = child.stdin.take().expect("stdin");
            // The reader may stop early: a broken pipe is not an error here.
            let _ = std::io::Write::write_all(&mut stdin, &input);
            drop(stdin);
            let t = std::time::Instant::now();
            loop {
                if let Some(st) = child.try_wait().expect("wait") {
                    let mut err = String::new();
                    let _ = std::io::Read::read_to_string(
                        &mut child.stderr.take().expect("stderr"),
                        &mut err,
                    );
                    return (st, err);
                }
                if t.elapsed() > std::time::Duration::from_secs(60) {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("-R of a {name} stream: still running after a minute");
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        };
        let (a, err) = status(ours(&dir), "ours-bad");
        assert_eq!(a.code(), Some(1), "-R of a {name} stream fails");
        assert!(err.contains("<stdin>"), "-R of a {name} stream: {err}");
        assert!(
            !dir.join("ours-bad").exists(),
            "-R of a {name} stream left a file"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Fedora's default core collector (`kdump.sh`):
/// `makedumpfile -l --message-level 7 -d 31 --num-threads=N /proc/vmcore
/// vmcore-incomplete`, and Debian's file target `-c -d 31`, `-E`, `-f`,
/// with the options that mean nothing to dumptool.
#[test]
fn file_outputs_of_kdump_scripts() {
    let dir = scratch("files");
    let kdump = input();
    // makedumpfile writes ELF only from an ELF input (dumptool from any).
    let elf = fixtures::vmcore("bookworm").normalised_elf();
    let elf = elf.to_str().expect("UTF-8").to_string();
    for (args, level, reference_words) in [
        (
            vec!["-l", "--message-level", "7", "-d", "31", "--num-threads=2"],
            31,
            vec!["-l", "-d", "31"],
        ),
        (vec!["-c", "-d", "31"], 31, vec!["-c", "-d", "31"]),
        (vec!["-E", "-d", "30"], 30, vec!["-E", "-d", "30"]),
        (
            vec![
                "-c",
                "-d",
                "17",
                "--cyclic-buffer",
                "1024",
                "--non-mmap",
                "-b",
                "8",
            ],
            17,
            vec!["-c", "-d", "17"],
        ),
    ] {
        let what = args.join(" ");
        let vmcore = if level == 30 { &elf } else { &kdump };
        let mut full = args.clone();
        full.extend([vmcore.as_str(), "out"]);
        let o = run(ours(&dir), &full);
        ok(&o, &what);
        let mut tfull = args.clone();
        tfull.extend([vmcore.as_str(), "theirs"]);
        let t = run(theirs(&dir), &tfull);
        ok(&t, &format!("makedumpfile-sid {what}"));
        let filter = reference(
            &dir,
            "filter",
            &[&["-f"][..], &reference_words].concat(),
            vmcore,
        );
        if level == 30 {
            // ELF: makedumpfile keeps short excluded runs and copies
            // firmware ranges (see filter_end_to_end.rs); the page states
            // equal dumptool filter's.
            assert!(states(&dir.join("out")) == states(&filter), "{what}");
        } else {
            same_pages(&dir.join("out"), &filter, &dir.join("theirs"), level, &what);
        }
        // Without -f an existing output is refused by both, with 1.
        let again = run(ours(&dir), &full);
        let tagain = run(theirs(&dir), &tfull);
        assert_eq!(again.status.code(), Some(1), "{what} over an existing file");
        assert_eq!(
            again.status.code(),
            tagain.status.code(),
            "{what} over an existing file"
        );
        // With -f both overwrite it.
        let mut forced = vec!["-f"];
        forced.extend(&full);
        let o = run(ours(&dir), &forced);
        ok(&o, &format!("-f {what}"));
        assert!(states(&dir.join("out")) == states(&filter), "-f {what}");
        for f in ["out", "theirs", "filter"] {
            std::fs::remove_file(dir.join(f)).ok();
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `--message-level 1` (progress only) prints nothing on standard output,
/// like makedumpfile; the default level says where the dump went; options
/// without meaning for dumptool get a one-line note on stderr.
#[test]
fn message_levels_and_notes() {
    let dir = scratch("messages");
    let vmcore = input();
    let o = run(
        ours(&dir),
        &["--message-level", "1", "-c", "-d", "31", &vmcore, "q"],
    );
    let t = run(
        theirs(&dir),
        &["--message-level", "1", "-c", "-d", "31", &vmcore, "tq"],
    );
    ok(&o, "--message-level 1");
    ok(&t, "makedumpfile-sid --message-level 1");
    assert!(
        o.stdout.is_empty() && t.stdout.is_empty(),
        "stdout at level 1: {:?}",
        text(&o.stdout)
    );
    let o = run(
        ours(&dir),
        &["-c", "-d", "31", "--work-dir", "/tmp", &vmcore, "d"],
    );
    ok(&o, "default level");
    assert!(
        text(&o.stdout).contains("saved to d"),
        "{}",
        text(&o.stdout)
    );
    let err = text(&o.stderr);
    assert_eq!(
        err.lines().filter(|l| l.contains("--work-dir")).count(),
        1,
        "{err}"
    );
    // -D shows what the command line became.
    let o = run(ours(&dir), &["-D", "-f", "-c", "-d", "31", &vmcore, "d"]);
    ok(&o, "-D");
    assert!(
        text(&o.stderr).contains("dumptool filter -d 31 -c -f"),
        "{}",
        text(&o.stderr)
    );
    // --show-stats prints the report.
    let o = run(
        ours(&dir),
        &["--show-stats", "-f", "-c", "-d", "31", &vmcore, "d"],
    );
    ok(&o, "--show-stats");
    assert!(
        text(&o.stdout).contains("Excluded pages"),
        "{}",
        text(&o.stdout)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `makedumpfile --dump-dmesg VMCORE LOGFILE` (kdump-config's dump_dmesg)
/// writes makedumpfile-sid's very log, on every kernel.
#[test]
fn dump_dmesg_equals_makedumpfile_on_every_kernel() {
    let dir = scratch("dmesg");
    for suite in fixtures::SUITES {
        let v = fixtures::vmcore(suite).kdump_lzo();
        let v = v.to_str().expect("UTF-8");
        let o = run(ours(&dir), &["--dump-dmesg", v, "ours.log"]);
        let t = run(theirs(&dir), &["--dump-dmesg", v, "theirs.log"]);
        ok(&o, &format!("{suite} --dump-dmesg"));
        ok(&t, &format!("{suite} makedumpfile-sid --dump-dmesg"));
        let a = std::fs::read(dir.join("ours.log")).expect("our log");
        let b = std::fs::read(dir.join("theirs.log")).expect("their log");
        assert!(a == b, "{suite}: the logs differ");
        // An existing log file is refused by both (1), replaced with -f.
        let again = run(ours(&dir), &["--dump-dmesg", v, "ours.log"]);
        let tagain = run(theirs(&dir), &["--dump-dmesg", v, "theirs.log"]);
        assert_eq!(again.status.code(), Some(1), "{suite}: existing log");
        assert_eq!(
            again.status.code(),
            tagain.status.code(),
            "{suite}: existing log"
        );
        ok(
            &run(ours(&dir), &["-f", "--dump-dmesg", v, "ours.log"]),
            "-f --dump-dmesg",
        );
        eprintln!(
            "{suite}: --dump-dmesg equal to makedumpfile-sid's ({} bytes)",
            a.len()
        );
        std::fs::remove_file(dir.join("ours.log")).ok();
        std::fs::remove_file(dir.join("theirs.log")).ok();
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Exit statuses equal makedumpfile-sid's for successes that do no work
/// and for failures; a failure leaves no output and says what is wrong.
#[test]
fn exit_statuses_equal_makedumpfile() {
    let dir = scratch("status");
    let vmcore = input();
    let missing = dir.join("no-such-vmcore");
    let missing = missing.to_str().expect("UTF-8");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-v"], ""),
        (vec!["-h"], ""),
        (vec!["--help"], ""),
        (vec!["--check-params", "-c", "-d", "31", &vmcore, "out"], ""),
        (vec!["--check-params", "-F", "-l", "-d", "31", &vmcore], ""),
        (vec!["--check-params", "-d", "40", &vmcore, "out"], "40"),
        (vec!["--check-params", "--bogus", &vmcore, "out"], "--bogus"),
        (vec!["-c", "-d", "31", missing, "out"], "no-such-vmcore"),
        (vec!["--bogus", "-d", "31", &vmcore, "out"], "--bogus"),
        (vec!["-Q", "-d", "31", &vmcore, "out"], "'Q'"),
        (vec!["-c", "-d", "32", &vmcore, "out"], "32"),
        (vec!["-c", "-d"], "'d'"),
        (vec![], "operand"),
        (vec!["-c", "-d", "31", &vmcore], "operand"),
        (vec!["-F", "-c", "-d", "31", &vmcore, "out"], "operand"),
        (vec!["-R"], "operand"),
        (vec!["--dump-dmesg", &vmcore], "operand"),
        (vec!["--dump-dmesg", missing, "log"], "no-such-vmcore"),
        (
            vec!["--message-level", "99", "-d", "31", &vmcore, "out"],
            "99",
        ),
    ];
    for (args, says) in cases {
        let what = format!("makedumpfile {}", args.join(" "));
        let o = run(ours(&dir), &args);
        if !o.status.success() {
            assert!(
                text(&o.stderr).contains(says),
                "{what}: stderr names {says:?}: {}",
                text(&o.stderr)
            );
            for f in ["out", "log"] {
                assert!(!dir.join(f).exists(), "{what}: left {f}");
            }
        }
        let t = run(theirs(&dir), &args);
        assert_eq!(
            o.status.code(),
            t.status.code(),
            "{what}: exit status (makedumpfile-sid: {})",
            text(&t.stdout)
        );
        for f in ["out", "log"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        eprintln!("{what}: exit {:?}, as makedumpfile-sid", o.status.code());
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Refused makedumpfile features fail (1) naming the option, writing nothing.
#[test]
fn unsupported_options_fail_naming_the_option() {
    let dir = scratch("unsupported");
    let vmcore = input();
    for opt in [
        &["--split"][..],
        &["--reassemble"],
        &["-L", "1G"],
        &["--config", "/dev/null"],
        &["--eppic", "/dev/null"],
        &["--partial-dmesg"],
        &["--mem-usage"],
        &["-X"],
    ] {
        let mut args = opt.to_vec();
        args.extend(["-c", "-d", "31", vmcore.as_str(), "out"]);
        let o = run(ours(&dir), &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            text(&o.stderr).contains(opt[0]),
            "{args:?}: {}",
            text(&o.stderr)
        );
        assert!(!dir.join("out").exists(), "{args:?} wrote an output");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `dumptool --help` stays dumptool's: its commands, dmesg among them.
#[test]
fn dumptool_help_is_dumptool_s() {
    let o = Command::new(env!("CARGO_BIN_EXE_dumptool"))
        .arg("--help")
        .output()
        .expect("run dumptool");
    ok(&o, "dumptool --help");
    let h = text(&o.stdout);
    assert!(h.contains("filter") && h.contains("dmesg"), "{h}");
    assert!(!h.contains("--num-threads"), "{h}");
}
