//! `dumptool filter` end to end on real dumps of every fixture kernel: the
//! pages it stores are the ones makedumpfile (sid's, 1.7.8 or newer) stores
//! (on sid's kernel we keep more: the kernel-owned pages makedumpfile takes
//! for user data, each explained in filter_vs_makedumpfile.rs), every stored
//! page is byte-identical to the source, and makedumpfile itself reads our
//! ELF and kdump outputs (`--dump-dmesg` prints the guest's log).

use dumptool::commands::filter::{run, FilterArgs};
use dumptool::dump::{Dump, PageState};
use dumptool::filter::{Classifier, DumpLevelSelector, PageClass};
use dumptool::kernel::CrashedKernel;
use dumptool::write::{
    write_dump, Compression, Output, OutputFormat, PageSelector, Progress, ProgressFn, WriteError,
    WriteOptions,
};
use ktype_tests::fixtures::{makedumpfile_sid, repo_root, vmcore};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn work() -> PathBuf {
    let d = repo_root().join("target/filter-e2e");
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// `dumptool filter -f -d LEVEL -FLAG --threads 2 IN OUT` (`flag` one of
/// `E c l p z`; `-f`: outputs of an earlier run are replaced).
fn args(level: u32, flag: char, input: &Path, output: &Path) -> FilterArgs {
    let words: [OsString; 8] = [
        "-f".into(),
        "-d".into(),
        level.to_string().into(),
        format!("-{flag}").into(),
        "--threads".into(),
        "2".into(),
        input.into(),
        output.into(),
    ];
    FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}"))
}

/// Pfns below `end` for which `dump` stores no data.
fn no_data(dump: &Dump, end: u64, level: u32) -> BTreeSet<u64> {
    (0..end)
        .filter(|&p| match dump.phys().page_state(p) {
            PageState::Excluded | PageState::NotInDump => true,
            // makedumpfile's kdump keeps excluded zero pages as its shared zero page.
            PageState::Zero => level & 1 != 0,
            _ => false,
        })
        .collect()
}

fn dmesg(path: &Path) -> String {
    let out = work().join(format!(
        "{}.dmesg",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let _ = std::fs::remove_file(&out);
    let o = Command::new("makedumpfile")
        .arg("--dump-dmesg")
        .arg(path)
        .arg(&out)
        .output()
        .expect("makedumpfile");
    assert!(
        o.status.success(),
        "makedumpfile --dump-dmesg {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("dmesg output");
    let _ = std::fs::remove_file(&out);
    text
}

fn check(suite: &'static str) {
    let v = vmcore(suite);
    let src = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let norm = v.normalised_elf();
    let source_log = std::fs::read_to_string(v.dir.join("dmesg.txt")).expect("fixture dmesg.txt");
    for (level, flag) in [(31, 'c'), (30, 'E'), (17, 'l'), (0, 'c')] {
        let ours_path = work().join(format!("{suite}-ours-{level}-{flag}"));
        let (summary, _) = run(&args(level, flag, &v.elf(), &ours_path))
            .unwrap_or_else(|e| panic!("{suite} -d {level} -{flag}: {e}"));
        let ours = Dump::open(&ours_path).unwrap_or_else(|e| panic!("{e}"));
        let theirs_path = work().join(format!("{suite}-mdf-{level}-{flag}"));
        let _ = std::fs::remove_file(&theirs_path);
        let o = Command::new(makedumpfile_sid())
            .args(["-d", &level.to_string(), &format!("-{flag}")])
            .arg(&norm)
            .arg(&theirs_path)
            .output()
            .expect("makedumpfile");
        assert!(
            o.status.success(),
            "makedumpfile failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let theirs = Dump::open(&theirs_path).unwrap_or_else(|e| panic!("{e}"));
        // makedumpfile's dump ends at the last memory section with struct pages.
        // Both dumps end at the last memory section with struct pages;
        // makedumpfile's ELF also copies firmware ranges above, we do not.
        let end = summary.end_pfn.min(theirs.max_pfn());
        let (a, b) = (no_data(&ours, end, level), no_data(&theirs, end, level));
        // makedumpfile's ELF writer keeps runs of fewer than 256 excluded
        // pages (PFN_EXCLUDED) instead of splitting PT_LOADs there; we drop
        // exactly what the level names. Such pages are the only allowed
        // difference in ELF outputs.
        let mut elf_quirk = BTreeSet::new();
        if flag == 'E' {
            let mut run: Vec<u64> = Vec::new();
            let mut flush = |run: &mut Vec<u64>| {
                if run.len() < 256 {
                    elf_quirk.extend(run.iter().copied().filter(|p| !b.contains(p)));
                }
                run.clear();
            };
            for &p in &a {
                if run.last().is_some_and(|&l| l + 1 != p) {
                    flush(&mut run);
                }
                run.push(p);
            }
            flush(&mut run);
        }
        let a_cmp: BTreeSet<u64> = a.difference(&elf_quirk).copied().collect();
        let only_a: Vec<u64> = a_cmp.difference(&b).take(8).copied().collect();
        let only_b: Vec<u64> = b.difference(&a_cmp).take(8).copied().collect();
        if suite == "sid" {
            // makedumpfile drops kernel-owned pages we keep (explained pfn by
            // pfn in filter_vs_makedumpfile.rs); it never keeps one we drop.
            assert!(
                a_cmp.is_subset(&b),
                "{suite} -d {level} -{flag}: we drop pages makedumpfile keeps, e.g. {only_a:#x?}"
            );
        } else {
            assert!(
                a_cmp == b,
                "{suite} -d {level} -{flag}: pages without data differ from makedumpfile's: {} vs {}; only ours e.g. {only_a:#x?}; only makedumpfile's e.g. {only_b:#x?}",
                a_cmp.len(),
                b.len()
            );
        }
        // Every page we kept is the source's page.
        let ps = src.page_size();
        let (mut a_buf, mut b_buf) = (vec![0u8; ps as usize], vec![0u8; ps as usize]);
        let mut kept = 0u64;
        for p in 0..end {
            if ours.phys().page_state(p).is_readable() {
                ours.phys()
                    .read_phys(p * ps, &mut a_buf)
                    .unwrap_or_else(|e| panic!("{e}"));
                src.phys()
                    .read_phys(p * ps, &mut b_buf)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    a_buf == b_buf,
                    "{suite} -d {level} -{flag}: pfn {p:#x} differs from the source"
                );
                kept += 1;
            }
        }
        if flag != 'l' {
            assert_eq!(
                dmesg(&ours_path),
                source_log,
                "{suite} -d {level} -{flag}: makedumpfile reads our output's log"
            );
        }
        eprintln!("{suite} -d {level} -{flag}: {kept} pages kept, equal to the source; {} without data, makedumpfile {} ({} in short runs makedumpfile's ELF keeps)", a.len(), b.len(), elf_quirk.len());
        std::fs::remove_file(&ours_path).ok();
        std::fs::remove_file(&theirs_path).ok();
    }
}

#[test]
fn filter_6_1_equals_makedumpfile() {
    check("bookworm");
}

#[test]
fn filter_6_12_equals_makedumpfile() {
    check("trixie");
}

#[test]
fn filter_on_the_newest_kernel_keeps_what_makedumpfile_keeps() {
    check("sid");
}

/// Counts the kept pages the writer reads (it rewrites each before storing
/// it), for the progress check below.
struct ReadCounter(Arc<AtomicU64>);

impl PageSelector for ReadCounter {
    fn select(&self, _start: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        keep.fill(u64::MAX);
        Ok(())
    }
    fn rewrite(&self, _pfn: u64, _page: &mut [u8]) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// "Dump level 31 plus my rule" written with the library alone: the
/// filter's [`DumpLevelSelector`] and a rule of the test's own (drop every
/// pfn that is 3 modulo 7). The output holds exactly the pages `dumptool
/// filter -d 31` keeps less those the rule drops, and the level counts what
/// the command counts. The progress callback sizes every window first, then
/// counts pages written: monotone, never ahead of the pages read, and full
/// only once every kept page was read and stored.
#[test]
fn level_31_plus_my_rule_with_progress() {
    let v = vmcore("bookworm");
    let dir = work();
    let by_command = dir.join("plus-rule-command.kdump");
    let (summary, _) = run(&args(31, 'c', &v.elf(), &by_command)).unwrap_or_else(|e| panic!("{e}"));

    let dump = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
    let _ = kernel.resolve_all();
    let classifier = Classifier::new(&kernel);
    let reads = Arc::new(AtomicU64::new(0));
    let seen: Arc<Mutex<Vec<(Progress, u64)>>> = Arc::default();
    let (reads2, seen2) = (Arc::clone(&reads), Arc::clone(&seen));
    let opts = WriteOptions {
        format: OutputFormat::Kdump(Compression::Zlib),
        dump_level: 31,
        exclude_zero: true,
        end_pfn: Some(summary.end_pfn),
        threads: 2,
        // Several windows, so that the first pass is seen to size them.
        window_pfns: 1 << 16,
        progress: Some(ProgressFn::new(move |p: Progress| {
            seen2
                .lock()
                .unwrap()
                .push((p, reads2.load(Ordering::SeqCst)));
        })),
        ..WriteOptions::default()
    };
    let mine = |start: u64, keep: &mut [u64]| -> Result<(), WriteError> {
        for (i, word) in keep.iter_mut().enumerate() {
            for bit in 0..64 {
                if (start + 64 * i as u64 + bit) % 7 != 3 {
                    *word |= 1 << bit;
                }
            }
        }
        Ok(())
    };
    let selector = DumpLevelSelector::new(&classifier, &opts)
        .and(mine)
        .and(ReadCounter(Arc::clone(&reads)));
    let ours = dir.join("plus-rule-library.kdump");
    let stats = write_dump(&dump, &selector, &opts, Output::Path(ours.clone()))
        .unwrap_or_else(|e| panic!("{e}"));

    // The pages: the command's, less the rule's.
    let a = Dump::open(&by_command).unwrap_or_else(|e| panic!("{e}"));
    let b = Dump::open(&ours).unwrap_or_else(|e| panic!("{e}"));
    let readable = |d: &Dump| -> BTreeSet<u64> {
        (0..summary.end_pfn)
            .filter(|&p| d.phys().page_state(p).is_readable())
            .collect()
    };
    let expected: BTreeSet<u64> = readable(&a).into_iter().filter(|p| p % 7 != 3).collect();
    let got = readable(&b);
    assert!(expected.len() > 1000, "{} pages", expected.len());
    assert_eq!(got.len(), expected.len());
    assert!(
        got == expected,
        "the library's pages differ from the command's less the rule's"
    );

    // The level's counts (zero pages aside: the rule drops some of them).
    let level = selector.first.first.counts();
    assert_eq!(level.get(PageClass::Zero), 0);
    for c in PageClass::ALL.into_iter().filter(|&c| c != PageClass::Zero) {
        assert_eq!(level.get(c), summary.counts.get(c), "{c}");
    }
    assert!(level.get(PageClass::Free) > 0);
    assert_eq!(
        selector.first.first.windows_done() as u64,
        summary.end_pfn.div_ceil(opts.window_len())
    );

    // Asked for a window the options it was made with do not cut: refused
    // (its counts would be wrong), as a selector error.
    let mut keep = vec![0u64; 4];
    let e = selector.first.first.select(64, &mut keep).unwrap_err();
    assert!(matches!(e, WriteError::Selector { .. }), "{e}");
    assert!(e.to_string().contains("0x40"), "{e}");

    // The progress.
    let seen = seen.lock().unwrap().clone();
    let windows = summary.end_pfn.div_ceil(opts.window_len());
    let kept = stats.pages_written + stats.zero_pages_excluded + stats.unreadable;
    assert!(windows > 1);
    let (sizing, writing): (Vec<_>, Vec<_>) = seen.iter().partition(|(p, _)| !p.sized());
    // The first pass: one report per window, nothing written, nothing read.
    assert_eq!(sizing.len() as u64 + 1, windows, "{sizing:?}");
    for (i, (p, read)) in sizing.iter().enumerate() {
        assert_eq!(
            (p.windows_sized, p.windows, p.written),
            (i as u64 + 1, windows, 0)
        );
        assert_eq!(*read, 0);
    }
    // The second: every report after the last window is sized.
    let (first, _) = writing[0];
    assert_eq!((first.windows_sized, first.total), (windows, kept));
    let mut last = 0;
    for (p, read) in &writing {
        assert_eq!(p.total, kept);
        assert!(p.written >= last, "{:?}", p);
        assert!(
            p.written <= read + stats.unreadable,
            "{p:?} ahead of {read} pages read"
        );
        if p.done() {
            assert_eq!(
                *read + stats.unreadable,
                kept,
                "full before every page was read"
            );
        }
        last = p.written;
    }
    let distinct: BTreeSet<u64> = writing.iter().map(|(p, _)| p.written).collect();
    // At least a report every 256 pages (not one per window).
    assert!(
        distinct.len() as u64 >= kept / 256 && distinct.len() > 10,
        "only {} steps for {kept} pages",
        distinct.len()
    );
    assert!(writing.last().is_some_and(|(p, _)| p.done()));
    eprintln!(
        "level 31 plus a rule: {} pages, {windows} windows; {} progress steps",
        got.len(),
        distinct.len()
    );
    std::fs::remove_file(&by_command).ok();
    std::fs::remove_file(&ours).ok();
}
