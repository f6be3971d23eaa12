//! Page classification equals Debian's makedumpfile for every dump level
//! 0-31 on real 6.1 and 6.12 dumps: per-class counts and the exact set of
//! excluded pfns, makedumpfile being run here on the same dump.
//!
//! 6.12: Debian's makedumpfile (1.7.2, 2022) predates folios. 6.12's
//! VMCOREINFO has no `OFFSET(page.compound_order)`, so it cannot size large
//! folios: it excludes only the head page of a large anonymous folio, keeps
//! its tail pages, and then counts the zero-filled tails as zero pages. We
//! size folios from BTF (`struct folio._flags_1`) and exclude them whole.
//! The test asserts that this is the only difference: every pfn we exclude
//! and makedumpfile keeps is a tail page of a user folio whose head both
//! exclude, and every other class count is equal.

use dumptool::dump::{Dump, PageState};
use dumptool::filter::bindings::Page;
use dumptool::filter::{ClassCounts, Classifier, PageClass};
use dumptool::kernel::CrashedKernel;
use ktype_tests::fixtures::{repo_root, vmcore};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

struct Outcome {
    counts: ClassCounts,
    excluded: BTreeSet<u64>,
}

fn parse_count(text: &str, label: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("makedumpfile printed no `{label}`:\n{text}"));
    let hex = line
        .rsplit(':')
        .next()
        .unwrap_or("")
        .trim()
        .trim_start_matches("0x");
    u64::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad count in `{line}`"))
}

fn makedumpfile(norm: &Path, level: u32, work: &Path) -> Outcome {
    let stem = norm.file_stem().and_then(|s| s.to_str()).unwrap_or("dump");
    let out = work.join(format!("{stem}-mdf-{level}"));
    let _ = std::fs::remove_file(&out);
    let o = Command::new("makedumpfile")
        .args(["-d", &level.to_string(), "--message-level", "31"])
        .arg(norm)
        .arg(&out)
        .output()
        .expect("run makedumpfile (scripts/fixtures.sh tools installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if !o.status.success() {
        // Its own error is on the last lines; the long VMCOREINFO echo before it is context.
        let tail: Vec<&str> = text.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "makedumpfile -d {level} failed ({}):\n{}\n--- whole output ---\n{text}",
            o.status,
            tail.join("\n")
        );
    }
    let mut counts = ClassCounts::default();
    for c in PageClass::ALL {
        counts.add(c, parse_count(&text, c.label()));
    }
    let dump = Dump::open(&out).unwrap_or_else(|e| panic!("{e}"));
    // makedumpfile's kdump writer keeps excluded zero pages in the 2nd bitmap,
    // pointing at its one shared zero page (it shares zero pages only when it
    // excludes them): "excluded" means that no data was stored.
    let excluded = (0..dump.max_pfn())
        .filter(|&p| match dump.phys().page_state(p) {
            PageState::Excluded => true,
            PageState::Zero => level & 1 != 0,
            _ => false,
        })
        .collect();
    std::fs::remove_file(&out).expect("remove makedumpfile output");
    Outcome { counts, excluded }
}

/// Per-pfn classes at `level` plus zero pages among the kept ones.
fn ours(
    dump: &Dump,
    classifier: &Classifier<'_>,
    zero: &BTreeSet<u64>,
    level: u32,
    max_pfn: u64,
) -> (Outcome, Vec<Option<PageClass>>) {
    let n = max_pfn.min(dump.max_pfn()) as usize;
    let mut classes = vec![None; n];
    let mut counts = classifier
        .classify(level, 0, &mut classes)
        .unwrap_or_else(|e| panic!("{e}"));
    if level & 1 != 0 {
        for &p in zero {
            if classes[p as usize].is_none() {
                classes[p as usize] = Some(PageClass::Zero);
                counts.add(PageClass::Zero, 1);
            }
        }
    }
    let excluded = classes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_some())
        .map(|(p, _)| p as u64)
        .collect();
    (Outcome { counts, excluded }, classes)
}

fn zero_pages(dump: &Dump, max_pfn: u64) -> BTreeSet<u64> {
    let mut buf = vec![0u8; dump.page_size() as usize];
    (0..max_pfn)
        .filter(|&p| {
            dump.phys().page_state(p).is_readable()
                && dump
                    .phys()
                    .read_phys(p * dump.page_size(), &mut buf)
                    .is_ok()
                && buf.iter().all(|&b| b == 0)
        })
        .collect()
}

fn check_suite(suite: &'static str) {
    let v = vmcore(suite);
    let norm = v.normalised_elf();
    let work = repo_root().join("target/filter-test");
    std::fs::create_dir_all(&work).expect("mkdir target/filter-test");
    let dump = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
    kernel.resolve_all().unwrap_or_else(|e| panic!("{e}"));
    let classifier = Classifier::new(&dump, kernel.memory()).unwrap_or_else(|e| panic!("{e}"));
    // Like makedumpfile, the dump ends where the nodes' struct pages end (firmware above is left out).
    let max_pfn = kernel.spanned_end_pfn().expect("node spans");
    let zero = zero_pages(&dump, max_pfn);
    let mem = kernel.memory();
    let vmemmap = mem.vmemmap().expect("vmemmap");
    let head_of = |pfn: u64| -> Option<u64> {
        let mut b = vec![0u8; Page::size()];
        mem.read_virt(vmemmap + pfn * Page::size() as u64, &mut b)
            .ok()?;
        let ch = Page::view(&b).ok()?.compound_head();
        (ch & 1 != 0).then(|| ((ch - 1) - vmemmap) / Page::size() as u64)
    };
    let mut explained_total = 0usize;
    for level in 0..=31u32 {
        let theirs = makedumpfile(&norm, level, &work);
        let (mine, classes) = ours(&dump, &classifier, &zero, level, max_pfn);
        let only_ours: Vec<u64> = mine
            .excluded
            .difference(&theirs.excluded)
            .copied()
            .collect();
        let only_theirs: Vec<u64> = theirs
            .excluded
            .difference(&mine.excluded)
            .copied()
            .collect();
        if suite == "bookworm" {
            if !only_ours.is_empty() || !only_theirs.is_empty() {
                eprintln!("level {level}: ours {} excluded (counts {}), theirs {} excluded (counts {}); only ours {} {:x?} only theirs {:x?}", mine.excluded.len(), mine.counts.total(), theirs.excluded.len(), theirs.counts.total(), only_ours.len(), &only_ours[..only_ours.len().min(60)], &only_theirs[..only_theirs.len().min(40)]);
            }
            assert_eq!(
                mine.counts, theirs.counts,
                "{suite} -d {level}: per-class counts"
            );
            assert!(
                only_ours.is_empty() && only_theirs.is_empty(),
                "{suite} -d {level}: {} pfns only we exclude, {} only makedumpfile",
                only_ours.len(),
                only_theirs.len()
            );
            continue;
        }
        // 6.12: see the module comment.
        for c in [
            PageClass::Cache,
            PageClass::CachePrivate,
            PageClass::Free,
            PageClass::Hwpoison,
            PageClass::Offline,
        ] {
            assert_eq!(
                mine.counts.get(c),
                theirs.counts.get(c),
                "{suite} -d {level}: {c}"
            );
        }
        assert!(
            only_theirs.is_empty(),
            "{suite} -d {level}: makedumpfile excludes {} pfns we keep, e.g. {:#x?}",
            only_theirs.len(),
            &only_theirs[..only_theirs.len().min(5)]
        );
        for &p in &only_ours {
            assert_eq!(
                classes[p as usize],
                Some(PageClass::User),
                "{suite} -d {level}: pfn {p:#x} differs but is not user data"
            );
            let head = head_of(p).unwrap_or_else(|| {
                panic!("{suite} -d {level}: pfn {p:#x} differs but is not a compound tail page")
            });
            assert!(
                mine.excluded.contains(&head) && theirs.excluded.contains(&head),
                "{suite} -d {level}: tail {p:#x}'s head {head:#x} is not excluded by both"
            );
        }
        // What makedumpfile did not exclude as user data it found zero-filled or kept.
        let user_gap = mine.counts.get(PageClass::User) - theirs.counts.get(PageClass::User);
        let zero_gap =
            theirs.counts.get(PageClass::Zero) as i64 - mine.counts.get(PageClass::Zero) as i64;
        assert_eq!(
            user_gap as i64,
            zero_gap + only_ours.len() as i64,
            "{suite} -d {level}: user/zero accounting"
        );
        explained_total += only_ours.len();
    }
    eprintln!("{suite}: levels 0-31 compared with makedumpfile ({} pfns of 6.12 large-folio tails explained)", explained_total);
}

#[test]
fn classification_equals_makedumpfile_on_6_1() {
    check_suite("bookworm");
}

#[test]
fn classification_matches_makedumpfile_on_6_12_with_explained_folio_tails() {
    check_suite("trixie");
}
