//! "Never destroy anything, whatever the input or the paths": the
//! `dumptool` binary run on copies of a real dump (the bookworm fixture)
//! with hostile output paths, signals, absurd thread counts and a cut input.
//! (These tests live in the dumptool package because they need its binary;
//! the fixture helpers are the test crate's, included by path.)

#[path = "../../tests/src/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use dumptool::dump::Dump;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test> -> target/
    let target = exe.ancestors().nth(3).expect("target dir").to_path_buf();
    let d = target.join("hostile-tests").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir scratch");
    d
}

/// A copy of `src` at `dir/name`.
fn copy(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy(src, &p).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    p
}

fn bookworm_kdump() -> PathBuf {
    fixtures::vmcore("bookworm").kdump_zlib()
}

fn dumptool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dumptool"))
}

fn run(args: &[&str]) -> Output {
    dumptool().args(args).output().expect("run dumptool")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What identifies a file's state: inode, size, change and modification
/// times, and a hash of its content.
fn fingerprint(p: &Path) -> (u64, u64, i64, i64, i64, i64, u64) {
    use std::hash::{Hash, Hasher};
    let m = std::fs::symlink_metadata(p).unwrap();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(p).unwrap().hash(&mut h);
    (
        m.ino(),
        m.len(),
        m.ctime(),
        m.ctime_nsec(),
        m.mtime(),
        m.mtime_nsec(),
        h.finish(),
    )
}

#[test]
fn an_output_that_is_the_input_is_refused() {
    let dir = scratch("same-file");
    let input = copy(&bookworm_kdump(), &dir, "in.kdump");
    std::fs::hard_link(&input, dir.join("hard")).unwrap();
    std::os::unix::fs::symlink("in.kdump", dir.join("sym")).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let dotted = dir.join("sub/../in.kdump");
    // (After linking: a new link changes the inode's ctime.)
    let before = fingerprint(&input);
    for out in [
        input.clone(),
        dir.join("hard"),
        dir.join("sym"),
        dotted,
        dir.join("./in.kdump"),
    ] {
        for force in [false, true] {
            let mut args = vec!["filter", "-d", "31", "-c"];
            if force {
                args.push("-f");
            }
            args.extend([s(&input), s(&out)]);
            let o = run(&args);
            let e = stderr(&o);
            assert!(!o.status.success(), "{out:?} force={force}: {e}");
            assert!(
                e.contains(s(&input)) && e.contains(s(&out)) && e.contains("same file"),
                "the error names both and says why: {e}"
            );
        }
    }
    // Through the link as the input too.
    let o = run(&["filter", "-d", "31", "-c", s(&dir.join("hard")), s(&input)]);
    assert!(!o.status.success() && stderr(&o).contains("same file"));
    assert_eq!(fingerprint(&input), before, "the input was not touched");
    assert_eq!(
        listing(&dir),
        ["hard", "in.kdump", "sub", "sym"],
        "no temporary file left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_existing_output_needs_force() {
    let dir = scratch("exists");
    let input = copy(&bookworm_kdump(), &dir, "in.kdump");
    let out = dir.join("out");
    std::fs::write(&out, b"precious").unwrap();
    let o = run(&["filter", "-d", "31", "-c", s(&input), s(&out)]);
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains(&format!(
            "{}: the output exists; use -f/--force to overwrite",
            s(&out)
        )),
        "{e}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    for flag in ["-f", "--force"] {
        let o = run(&["filter", "-d", "31", "-c", flag, s(&input), s(&out)]);
        assert!(o.status.success(), "{flag}: {}", stderr(&o));
        let d = Dump::open(&out).unwrap_or_else(|e| panic!("{e}"));
        assert!(d.format().is_kdump());
        assert_eq!(d.kdump_header().unwrap().dump_level, 31);
    }
    assert_eq!(listing(&dir), ["in.kdump", "out"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Makes a device node (the suite runs as root, as CI does).
fn mknod(path: &Path, kind: &str, major: u32, minor: u32) {
    let st = Command::new("mknod")
        .arg(path)
        .args([kind, &major.to_string(), &minor.to_string()])
        .status()
        .expect("run mknod");
    assert!(st.success(), "mknod {} (needs root)", path.display());
}

#[test]
fn devices_are_written_in_place_never_replaced() {
    let dir = scratch("devices");
    let input = copy(&bookworm_kdump(), &dir, "in.kdump");
    let (full, null, blk) = (dir.join("full"), dir.join("null"), dir.join("blk"));
    mknod(&full, "c", 1, 7);
    mknod(&null, "c", 1, 3);
    // An unregistered block major: nothing can be written there.
    mknod(&blk, "b", 254, 1_048_575);
    let is = |p: &Path, char_dev: bool, rdev: u64| {
        let m = std::fs::symlink_metadata(p).unwrap();
        let ft = m.file_type();
        assert!(
            if char_dev {
                ft.is_char_device()
            } else {
                ft.is_block_device()
            },
            "{} is still the device node",
            p.display()
        );
        assert_eq!(m.rdev(), rdev, "{}", p.display());
    };

    // /dev/full: ENOSPC naming the output (like makedumpfile).
    let o = run(&["filter", "-d", "31", "-c", s(&input), s(&full)]);
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains(s(&full)) && e.contains("No space left on device"),
        "{e}"
    );
    is(&full, true, libc_makedev(1, 7));

    // /dev/null: succeeds, whatever the format.
    for fmt in ["-c", "-E"] {
        let o = run(&["filter", "-d", "31", fmt, s(&input), s(&null)]);
        assert!(o.status.success(), "{fmt}: {}", stderr(&o));
        is(&null, true, libc_makedev(1, 3));
    }

    // A block device: only with -f (its content would be overwritten).
    let o = run(&["filter", "-d", "31", "-c", s(&input), s(&blk)]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("is a block device") && e.contains("-f"),
        "{e}"
    );
    let o = run(&["filter", "-d", "31", "-c", "-f", s(&input), s(&blk)]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains(s(&blk)) && e.contains("open the block device"),
        "{e}"
    );
    is(&blk, false, libc_makedev(254, 1_048_575));
    assert_eq!(listing(&dir), ["blk", "full", "in.kdump", "null"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `makedev(3)` of glibc.
fn libc_makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfffff000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffffff00) << 12)
        | (minor & 0xff)
}

#[test]
fn a_fifo_is_written_in_place_flattened_only() {
    let dir = scratch("fifo");
    let input = copy(&bookworm_kdump(), &dir, "in.kdump");
    let fifo = dir.join("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(st.success());
    // Not flattened: refused at once (a FIFO cannot seek), without waiting
    // for a reader.
    let t = Instant::now();
    let o = run(&["filter", "-d", "31", "-c", s(&input), s(&fifo)]);
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains(s(&fifo)) && e.contains("FIFO") && e.contains("-F"),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(20));
    // Flattened: a reader gets the stream.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("read the FIFO"))
    };
    let o = run(&["filter", "-d", "31", "-c", "-F", s(&input), s(&fifo)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = reader.join().unwrap();
    assert!(
        got.starts_with(b"makedumpfile") && got.len() > 1 << 20,
        "{} bytes of a flattened dump",
        got.len()
    );
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    let flat = dir.join("flat");
    std::fs::write(&flat, &got).unwrap();
    let d = Dump::open(&flat).unwrap_or_else(|e| panic!("{e}"));
    assert!(d.format().is_flattened());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_symlink_output_writes_its_target_never_the_link() {
    let dir = scratch("symlink");
    let input = copy(&bookworm_kdump(), &dir, "in.kdump");
    std::fs::create_dir(dir.join("elsewhere")).unwrap();
    let target = dir.join("elsewhere/target");
    std::fs::write(&target, b"precious").unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink("elsewhere/target", &link).unwrap();

    let o = run(&["filter", "-d", "31", "-c", s(&input), s(&link)]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("exists; use -f/--force"),
        "{e}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");

    let o = run(&["filter", "-d", "31", "-c", "-f", s(&input), s(&link)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        PathBuf::from("elsewhere/target")
    );
    let d = Dump::open(&target).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.kdump_header().unwrap().dump_level, 31);
    assert_eq!(listing(&dir.join("elsewhere")), ["target"]);

    // A dangling symlink is refused; nothing is created.
    let dangling = dir.join("dangling");
    std::os::unix::fs::symlink("elsewhere/nothing", &dangling).unwrap();
    for force in [&[][..], &["-f"][..]] {
        let mut args = vec!["filter", "-d", "31", "-c"];
        args.extend_from_slice(force);
        args.extend([s(&input), s(&dangling)]);
        let o = run(&args);
        let e = stderr(&o);
        assert!(
            !o.status.success() && e.contains(s(&dangling)) && e.contains("symlink"),
            "{e}"
        );
    }
    assert_eq!(listing(&dir.join("elsewhere")), ["target"]);
    assert_eq!(listing(&dir), ["dangling", "elsewhere", "in.kdump", "link"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits until `check` is true (polling), at most `limit`.
fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// Whether this process ignores signal `sig` (`SigIgn` of /proc/self/status),
/// as a test run under `nohup` ignores SIGHUP: its children inherit that.
fn ignored_here(sig: i32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .expect("SigIgn in /proc/self/status");
    mask & (1 << (sig - 1)) != 0
}

/// Starts `dumptool filter -d 0 -z` of the big ELF fixture into `out_dir`.
fn start_big_write(out_dir: &Path, named_temp: bool) -> std::process::Child {
    let elf = fixtures::vmcore("bookworm").elf();
    let mut cmd = dumptool();
    cmd.args(["filter", "-d", "0", "-z", s(&elf), s(&out_dir.join("out"))])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if named_temp {
        cmd.env("DUMPTOOL_NO_O_TMPFILE", "1");
    } else {
        cmd.env_remove("DUMPTOOL_NO_O_TMPFILE");
    }
    cmd.spawn().expect("spawn dumptool")
}

#[test]
fn a_signal_mid_write_leaves_nothing_behind() {
    // The named temporary file (filesystems without O_TMPFILE): removed by
    // the signal handler, and the process ends by the signal.
    for (sig, name) in [(15, "TERM"), (2, "INT"), (1, "HUP")] {
        let dir = scratch(&format!("signal-{name}"));
        let mut child = start_big_write(&dir, true);
        let written = wait_for(Duration::from_secs(120), || {
            std::fs::read_dir(&dir).unwrap().any(|e| {
                let e = e.unwrap();
                e.file_name().to_string_lossy().ends_with(".tmp")
                    && e.metadata().map(|m| m.len() > 1 << 20).unwrap_or(false)
            })
        });
        assert!(written, "SIG{name}: the temporary file grows");
        let st = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let status = child.wait().unwrap();
        if ignored_here(sig) {
            // Started under nohup (or the like): the child inherits the
            // ignored signal and writes its dump to the end, as it should.
            assert!(status.success(), "SIG{name} ignored: {status}");
            assert_eq!(listing(&dir), ["out"], "SIG{name} ignored");
        } else {
            assert_eq!(status.signal(), Some(sig), "SIG{name}: ended by the signal");
            assert_eq!(listing(&dir), Vec::<String>::new(), "SIG{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // O_TMPFILE: the file has no name until it is complete, so even
    // SIGKILL leaves nothing.
    let dir = scratch("signal-KILL");
    let mut child = start_big_write(&dir, false);
    let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let prefix = format!("{}/#", s(&dir));
    let unnamed = wait_for(Duration::from_secs(120), || {
        std::fs::read_dir(&fds).is_ok_and(|rd| {
            rd.flatten().any(|e| {
                std::fs::read_link(e.path()).is_ok_and(|t| {
                    let t = t.to_string_lossy();
                    t.starts_with(&prefix) && t.ends_with("(deleted)")
                })
            })
        })
    });
    assert!(
        unnamed,
        "the output is an unnamed O_TMPFILE file in {}",
        dir.display()
    );
    assert_eq!(
        listing(&dir),
        Vec::<String>::new(),
        "nothing visible while writing"
    );
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9));
    assert_eq!(listing(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn absurd_thread_counts_are_capped() {
    let dir = scratch("threads");
    let input = copy(&bookworm_kdump(), &dir, "in.kdump");
    let cpus = std::thread::available_parallelism().unwrap().get();
    let t = Instant::now();
    let o = run(&[
        "filter",
        "-d",
        "31",
        "-c",
        "--threads",
        "10000",
        s(&input),
        s(&dir.join("out")),
    ]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains(&format!("--threads 10000 capped at {cpus}")),
        "one note on stderr: {e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    Dump::open(dir.join("out")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_kdump_cut_inside_a_ram_page_is_announced() {
    let dir = scratch("cut");
    let src = bookworm_kdump();
    let dump = Dump::open(&src).unwrap_or_else(|e| panic!("{e}"));
    let k = dump.kdump().expect("kdump");
    // The RAM (the 768 MiB guest's; firmware pages sit near 4 GiB): its
    // last three pages stored with data of their own.
    let ram_end = dump
        .phys()
        .ranges()
        .iter()
        .map(|r| r.end)
        .filter(|&e| e <= 1 << 31)
        .max()
        .unwrap();
    let mut stored = (0..ram_end / 4096).rev().filter_map(|pfn| {
        k.descriptor(pfn)
            .unwrap()
            .filter(|d| Some(d.offset as u64) != k.zero_page_offset())
    });
    let third = stored.nth(2).expect("stored pages");
    let cut_at = third.offset as u64 + u64::from(third.size) / 2;
    let bytes = std::fs::read(&src).unwrap();
    let input = dir.join("cut.kdump");
    std::fs::write(&input, &bytes[..cut_at as usize]).unwrap();
    drop(bytes);

    let out = dir.join("out");
    let o = run(&[
        "filter",
        "-d",
        "0",
        "-z",
        "--report",
        "json",
        s(&input),
        s(&out),
    ]);
    let e = stderr(&o);
    assert!(o.status.success(), "still exit 0: {e}");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let unreadable = report["pages"]["unreadable"].as_u64().unwrap();
    assert!(unreadable >= 3, "the three cut pages at least: {report}");
    assert!(
        e.contains(&format!(
            "warning: {unreadable} pages of {} could not be read",
            s(&input)
        )) && e.contains("the output marks them incomplete"),
        "announced on stderr: {e}"
    );
    let d = Dump::open(&out).unwrap_or_else(|e| panic!("{e}"));
    assert!(d.kdump_header().unwrap().incomplete(), "marked incomplete");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `dumptool ARGS` to its end (killed after `limit`); returns its
/// output, wall time and peak resident memory in KiB (`VmHWM` of
/// `/proc/PID/status`, polled: the exit status's rusage would count the
/// test process's own memory, which the child shared until exec).
fn run_measured(args: &[&str], limit: Duration) -> (Output, Duration, u64) {
    let t = Instant::now();
    let child = dumptool()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dumptool");
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let status = PathBuf::from(format!("/proc/{pid}/status"));
            let mut peak = 0u64;
            let t = Instant::now();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(text) = std::fs::read_to_string(&status) {
                    if text.lines().any(|l| l == "Name:\tdumptool") {
                        let hwm = text
                            .lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok());
                        peak = peak.max(hwm.unwrap_or(0));
                    }
                }
                if t.elapsed() > limit {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            peak
        })
    };
    let output = child.wait_with_output().expect("wait for dumptool");
    let elapsed = t.elapsed();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let peak = watchdog.join().unwrap();
    (output, elapsed, peak)
}

#[test]
fn a_huge_max_mapnr_is_refused_fast_and_small() {
    let dir = scratch("max-mapnr");
    let src = std::fs::read(bookworm_kdump()).unwrap();
    let bs = u32::from_le_bytes(src[428..432].try_into().unwrap()) as u64;
    assert_eq!(
        i32::from_le_bytes(src[8..12].try_into().unwrap()),
        6,
        "version 6"
    );
    for exp in [34u32, 45] {
        let n = 1u64 << exp;
        for sparse in [false, true] {
            // The headers, bitmaps and first descriptors and pages.
            let mut b = src[..8 << 20].to_vec();
            b[440..444].copy_from_slice(&(n.min(u32::MAX as u64) as u32).to_le_bytes());
            let sub = bs as usize;
            b[sub + 96..sub + 104].copy_from_slice(&n.to_le_bytes());
            let name = format!("mapnr-2^{exp}{}", if sparse { "-sparse" } else { "" });
            let path = dir.join(&name);
            let mut len = b.len() as u64;
            if sparse {
                // Bitmaps that cover max_mapnr, the file extended (sparse)
                // so that they fit in it.
                let each = n.div_ceil(8).div_ceil(bs);
                let blocks = u32::try_from(2 * each).unwrap();
                b[436..440].copy_from_slice(&blocks.to_le_bytes());
                len = (3 + 2 * each) * bs + (1 << 30);
            }
            std::fs::write(&path, &b).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len)
                .unwrap();
            let (o, took, rss_kib) = run_measured(&["info", s(&path)], Duration::from_secs(60));
            let e = stderr(&o);
            assert!(o.status.code().is_some(), "{name}: ended, not killed: {e}");
            assert!(took < Duration::from_secs(1), "{name}: {took:?}");
            assert!(rss_kib < 200 << 10, "{name}: peak {rss_kib} KiB");
            let dump = Dump::open(&path);
            match (exp, sparse) {
                (34, true) => {
                    // A consistent header of a 64 TiB machine, its
                    // bitmaps holes: opened, and nothing is in it.
                    let d = dump.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert!(o.status.success(), "{name}: {e}");
                    assert_eq!(d.max_pfn(), n);
                    assert_eq!(d.phys().ranges(), vec![]);
                }
                _ => {
                    let err = dump.expect_err(&name).to_string();
                    assert!(
                        err.starts_with(s(&path)) && err.contains("max_mapnr"),
                        "{err}"
                    );
                    assert!(!o.status.success() && e.contains(&err), "{name}: {e}");
                }
            }
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_input_is_refused_without_blocking() {
    let dir = scratch("fifo-input");
    let fifo = dir.join("vmcore");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for args in [
        vec!["info", s(&fifo)],
        vec!["filter", "-d", "31", "-c", s(&fifo), "/nonexistent/out"],
    ] {
        let (o, took, _) = run_measured(&args, Duration::from_secs(20));
        let e = stderr(&o);
        assert!(
            o.status.code() == Some(1),
            "{args:?}: not killed by the watchdog: {e}"
        );
        assert!(took < Duration::from_secs(10));
        assert!(e.contains(s(&fifo)) && e.contains("it is a FIFO"), "{e}");
    }
    std::fs::create_dir(dir.join("d")).unwrap();
    let o = run(&["info", s(&dir.join("d"))]);
    assert!(stderr(&o).contains("it is a directory"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn overlapping_loads_near_2_pow_64_do_not_overflow() {
    let dir = scratch("elf-overflow");
    let elf = std::fs::read(fixtures::vmcore("bookworm").elf()).unwrap();
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let phoff = u64_at(&elf, 0x20) as usize;
    let phnum = u16::from_le_bytes([elf[0x38], elf[0x39]]) as usize;
    let loads: Vec<usize> = (0..phnum)
        .map(|i| phoff + 56 * i)
        .filter(|&at| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 1)
        .collect();
    assert!(loads.len() >= 2, "two PT_LOADs");
    // A small copy: everything up to the program headers and 1 MiB more;
    // both loads take 4 KiB of file data from the copy's end.
    let keep = (phoff + 56 * phnum + (1 << 20)).min(elf.len());
    let mut b = elf[..keep].to_vec();
    let put = |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    for (k, &at) in loads.iter().take(2).enumerate() {
        put(&mut b, at + 8, (keep - 4096) as u64); // p_offset
        put(&mut b, at + 24, k as u64); // p_paddr: 0 and 1
        put(&mut b, at + 32, 4096); // p_filesz
        put(&mut b, at + 40, u64::MAX - 1); // p_memsz: to 2^64 - 2 and - 1
    }
    for &at in loads.iter().skip(2) {
        put(&mut b, at + 32, 0);
        put(&mut b, at + 8, 0);
    }
    let path = dir.join("overlap.elf");
    std::fs::write(&path, &b).unwrap();
    // In process (a debug build panics on overflow) and through the binary.
    let d = Dump::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut page = [0u8; 16];
    d.phys().read_phys(0, &mut page).unwrap();
    assert_eq!(&page, &b[keep - 4096..keep - 4096 + 16]);
    let e = d.phys().read_phys(u64::MAX - 100, &mut page).unwrap_err();
    assert!(e.to_string().contains(s(&path)), "{e}");
    assert!(!d.phys().page_state(u64::MAX / 4096).is_readable());
    let o = run(&["info", s(&path)]);
    assert!(
        o.status.code().is_some() && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Raw BTF: `int` (id 1) and `struct selfish { struct selfish me; }` (id 2).
fn self_containing_btf() -> Vec<u8> {
    let strs = b"\0int\0selfish\0me\0";
    let w = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    let mut types = Vec::new();
    // int: name "int", kind 1, size 4, signed 32 bits.
    for x in [1, 1 << 24, 4, (1 << 24) | 32] {
        w(&mut types, x);
    }
    // struct selfish (kind 4, one member), size 8: member "me" of type 2.
    for x in [5, (4 << 24) | 1, 8, 13, 2, 0] {
        w(&mut types, x);
    }
    let mut b = vec![0x9f, 0xeb, 1, 0];
    for x in [
        24,
        0,
        types.len() as u32,
        types.len() as u32,
        strs.len() as u32,
    ] {
        w(&mut b, x);
    }
    b.extend_from_slice(&types);
    b.extend_from_slice(strs);
    b
}

#[test]
fn btf_check_reports_self_containing_types() {
    let dir = scratch("btf-check");
    let bad = dir.join("selfish.btf");
    std::fs::write(&bad, self_containing_btf()).unwrap();
    let o = run(&["btf", "--btf", s(&bad), "check"]);
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains(s(&bad))
            && e.contains(
                "a type contains itself by value: struct selfish [id 2] -> struct selfish [id 2]"
            ),
        "{e}"
    );
    // A real kernel's BTF has no such cycle.
    let vmlinux = fixtures::kernel("bookworm").vmlinux();
    let o = run(&["btf", "--btf", s(&vmlinux), "check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("valid BTF"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dump_strings_are_printed_escaped_and_garbled_vmcoreinfo_lines_skipped() {
    let dir = scratch("escapes");
    let mut b = std::fs::read(bookworm_kdump()).unwrap();
    let release = fixtures::kernel("bookworm").release();
    let mut sub = |old: &[u8], new: &[u8]| {
        assert_eq!(old.len(), new.len());
        let at = b[..8 << 20]
            .windows(old.len())
            .position(|w| w == old)
            .unwrap_or_else(|| panic!("{} in the VMCOREINFO", String::from_utf8_lossy(old)));
        b[at..at + old.len()].copy_from_slice(new);
    };
    // The release retitles a terminal; three lines are garbled (a bad
    // number, no `=`, invalid UTF-8).
    let evil = format!("\u{1b}]0;pwned\u{7}{}", "x".repeat(release.len() - 10));
    sub(
        format!("OSRELEASE={release}\n").as_bytes(),
        format!("OSRELEASE={evil}\n").as_bytes(),
    );
    sub(b"SIZE(free_area)=88\n", b"SIZE(free_area)=8Z\n");
    sub(b"OFFSET(list_head.prev)=8\n", b"OFFSET(list_head.prev) 8\n");
    sub(
        b"OFFSET(vmap_area.va_start)=0\n",
        b"OFFSET(vmap_area.va_start)\xff0\n",
    );
    let path = dir.join("evil.kdump");
    std::fs::write(&path, &b).unwrap();
    drop(b);

    let d = Dump::open(&path).unwrap_or_else(|e| panic!("one bad line refused the dump: {e}"));
    let v = d.vmcoreinfo().unwrap();
    assert_eq!(v.osrelease.as_deref(), Some(evil.as_str()), "kept as it is");
    assert_eq!(v.size("free_area"), None);
    assert_eq!(v.size("page"), Some(64), "the rest is read");
    let w: Vec<String> = v.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w[0].contains("`SIZE(free_area)=8Z` skipped"), "{w:?}");
    assert!(
        w[1].contains("no `=`") && w[2].contains("not valid UTF-8"),
        "{w:?}"
    );
    drop(d);

    let o = run(&["info", s(&path)]);
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !out.chars().any(|c| c.is_control() && c != '\n'),
        "no control character reaches the terminal: {out:?}"
    );
    assert!(
        out.contains(&format!(
            "kernel:        \\x1b]0;pwned\\x07{}",
            "x".repeat(release.len() - 10)
        )),
        "{out}"
    );
    assert_eq!(
        out.matches("warning:       VMCOREINFO line").count(),
        3,
        "{out}"
    );
    assert!(out.contains("kallsyms:      found"), "{out}");
    // The filter still runs on it.
    let o = run(&["filter", "-d", "31", "-c", s(&path), s(&dir.join("out"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A failed filter says what failed as a typed error (the library's
/// `RunError` variants), and with `--report json` as JSON on stdout: the
/// kind, the message naming the file, and the chain of causes; stderr says
/// the same, and nothing is left behind.
#[test]
fn failures_are_typed_and_reported_as_json() {
    use dumptool::commands::filter::{run as filter, FilterArgs, RunError};
    use dumptool::dump::DumpError;
    use dumptool::write::WriteError;
    let dir = scratch("typed-failures");
    let bogus = dir.join("not-a-dump");
    std::fs::write(&bogus, vec![b'x'; 8192]).unwrap();
    let out = dir.join("out");
    let args = |words: &[&str]| FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}"));

    // Not a dump.
    let e = filter(&args(&["-d", "31", s(&bogus), s(&out)])).unwrap_err();
    assert!(
        matches!(&e, RunError::Dump(DumpError::UnknownFormat { path, .. }) if path == &bogus),
        "{e:?}"
    );
    let o = run(&["filter", "--report", "json", "-d", "31", s(&bogus), s(&out)]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    assert_eq!(v["error"]["kind"], "dump.unknown_format", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(s(&bogus)) && message.contains("not a crash dump"),
        "{message}"
    );
    assert!(stderr(&o).contains(message), "{}", stderr(&o));

    // The output is the input.
    let input = copy(&bookworm_kdump(), &dir, "vmcore");
    let e = filter(&args(&["-f", "-d", "31", s(&input), s(&input)])).unwrap_err();
    assert!(
        matches!(e, RunError::Write(WriteError::SameFile { .. })),
        "{e:?}"
    );

    // An --erase of a member the kernel lacks: the member path's error is the cause.
    let spec = "init_task:task_struct.ktype_nosuch";
    let o = run(&[
        "filter",
        "--report",
        "json",
        "-d",
        "31",
        "--erase",
        spec,
        s(&input),
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    let err = &v["error"];
    assert_eq!(err["kind"], "erase.bad_erase", "{v}");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.starts_with(s(&input)) && message.contains(spec),
        "{message}"
    );
    assert_eq!(err["sources"][0]["kind"], "member", "{v}");
    let cause = err["sources"][1]["message"].as_str().unwrap_or_default();
    assert!(cause.contains("no member `ktype_nosuch`"), "{v}");
    assert!(stderr(&o).contains(cause), "{}", stderr(&o));
    assert_eq!(listing(&dir), ["not-a-dump", "vmcore"]);
}
