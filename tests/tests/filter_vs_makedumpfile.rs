//! Page classification equals makedumpfile's for every dump level 0-31 on
//! real dumps of every fixture kernel: per-class counts and the exact set of
//! excluded pfns, makedumpfile being run here on the same dump.
//!
//! Anchors: makedumpfile from Debian sid (1.7.8 or newer, which knows 6.12+
//! kernels) on every kernel, and Debian bookworm's 1.7.2 on 6.1 (it predates
//! folios and page types, so on newer kernels it is no anchor).
//!
//! Where the sets differ, every differing pfn must be explained by a fact
//! read from the dump's own `struct page`, or the test fails:
//! - makedumpfile excludes, we keep: the page (or its compound head) has a
//!   page type of kernel-owned memory (slab, page table, large kmalloc, ...),
//!   whose words overlay `mapping` and the LRU flags; makedumpfile reads them
//!   as an anonymous or cache page. A debugger needs those pages.
//! - we exclude, makedumpfile keeps: nothing is allowed (yet).
//!
//! arm64 dumps (`scripts/fixtures.sh arm64`) are compared with sid's arm64
//! makedumpfile, run under qemu-aarch64-static, at each dump level bit alone
//! and at 31 (the emulated anchor costs seconds per run; every level with
//! `KTYPE_ARM64_ALL_LEVELS=1`). Where that
//! makedumpfile cannot read a kernel at all (4 KiB pages with 52-bit
//! addresses), the test checks that it still refuses, and that our
//! classification runs with every rule on.
use dumptool::arch::Arch;
use dumptool::dump::{Dump, PageState};
use dumptool::filter::bindings::Page;
use dumptool::filter::classify::compound_head_pfn;
use dumptool::filter::{ClassCounts, Classifier, PageClass};
use dumptool::kernel::CrashedKernel;
use ktype_tests::fixtures::{
    makedumpfile_sid, makedumpfile_sid_arm64, repo_root, vmcore, vmcore_arm64,
    vmcore_arm64_without_lpa2, Vmcore, ARM64_SUITES,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
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

fn makedumpfile(tool: &Path, norm: &Path, level: u32, work: &Path) -> Outcome {
    let stem = norm.file_stem().and_then(|s| s.to_str()).unwrap_or("dump");
    let out = work.join(format!("{stem}-mdf-{level}"));
    let _ = std::fs::remove_file(&out);
    let o = Command::new(tool)
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
            "{} -d {level} failed ({}):\n{}\n--- whole output ---\n{text}",
            tool.display(),
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

/// The explanations a differing pfn may have.
#[derive(Debug, Clone, Copy)]
enum Why {
    /// We keep it: kernel-owned by its (or its head's) page type.
    KernelOwned = 0,
    /// We keep it: a tail of a folio that is not user data, whose own
    /// `mapping` word has bit 0 set.
    TailOfNonUser = 1,
    /// We exclude it: a tail excluded with its head, as its head's class.
    TailFollowsHead = 2,
}

/// What a pfn's `struct page` says, for explaining a difference.
struct PageFacts {
    pfn: u64,
    flags: u64,
    mapping: u64,
    page_type: u32,
    /// The compound head's pfn, for a tail page.
    head: Option<u64>,
}

fn check_suite(suite: &'static str) {
    let sid = makedumpfile_sid();
    let mut anchors = vec![(sid, "makedumpfile (sid)")];
    if suite == "bookworm" {
        anchors.push((
            PathBuf::from("makedumpfile"),
            "makedumpfile 1.7.2 (bookworm)",
        ));
    }
    check(vmcore(suite), &anchors, &(0..=31).collect::<Vec<_>>());
}

/// Every level bit alone, none, and all: what the emulated anchor can afford.
const ARM64_LEVELS: [u32; 7] = [0, 1, 2, 4, 8, 16, 31];

fn check_arm64(v: Vmcore) {
    let tool = makedumpfile_sid_arm64();
    // The fixture has the anchor's kdump-lzo exactly when the anchor read the dump.
    if v.kdump_lzo().exists() {
        // KTYPE_ARM64_ALL_LEVELS=1: every level 0-31 (about 4 minutes more per kernel).
        let all: Vec<u32> = (0..=31).collect();
        let levels = match std::env::var_os("KTYPE_ARM64_ALL_LEVELS") {
            Some(_) => &all[..],
            None => &ARM64_LEVELS[..],
        };
        check(v, &[(tool, "arm64 makedumpfile (sid)")], levels);
        return;
    }
    // No anchor: makedumpfile must still refuse this kernel (when it learns
    // it, the fixture's anchor= line is stale), and we must classify it.
    let norm = v.normalised_elf();
    let out = repo_root().join(format!("target/filter-test/{}-refused", v.suite));
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let o = Command::new(&tool)
        .args(["-d", "31"])
        .arg(&norm)
        .arg(&out)
        .output()
        .expect("run the arm64 makedumpfile");
    let text = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    let _ = std::fs::remove_file(&out);
    assert!(
        !o.status.success() && text.contains("not supported"),
        "{}: the arm64 makedumpfile now reads this dump (rebuild the fixture: anchor=): {text}",
        v.suite
    );
    let dump = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Arch::of(&dump), Some(Arch::Arm64));
    let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
    kernel.resolve_all().unwrap_or_else(|e| panic!("{e}"));
    let classifier = Classifier::new(&kernel);
    assert!(
        classifier.rules().degraded.is_empty(),
        "{}: rules switched off: {:?}",
        v.suite,
        classifier.rules().degraded
    );
    let mut classes = vec![None; dump.max_pfn() as usize];
    let counts = classifier
        .classify(31, 0, &mut classes)
        .unwrap_or_else(|e| panic!("{e}"));
    // The guest's workload holds ANON_MB of anonymous memory, and reads files into the cache.
    let anon_pages = v
        .info("workload_mib")
        .and_then(|w| {
            w.split_whitespace()
                .find_map(|kv| kv.strip_prefix("anon:")?.parse::<u64>().ok())
        })
        .expect("workload_mib=anon:N in info")
        << (20 - dump.page_size().trailing_zeros());
    eprintln!(
        "{} (no anchor: {}): -d 31 {counts:?}",
        v.suite,
        text.lines().next().unwrap_or("")
    );
    assert!(
        counts.get(PageClass::User) >= anon_pages,
        "{}: {counts:?}",
        v.suite
    );
    assert!(
        counts.get(PageClass::Free) > 0 && counts.get(PageClass::Cache) > 0,
        "{}: {counts:?}",
        v.suite
    );
}

fn check(v: Vmcore, anchors: &[(PathBuf, &str)], levels: &[u32]) {
    let suite = v.suite;
    let norm = v.normalised_elf();
    let work = repo_root().join("target/filter-test");
    std::fs::create_dir_all(&work).expect("mkdir target/filter-test");
    let dump = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
    kernel.resolve_all().unwrap_or_else(|e| panic!("{e}"));
    let classifier = Classifier::new(&kernel);
    assert!(
        classifier.rules().degraded.is_empty(),
        "{suite}: rules switched off: {:?}",
        classifier.rules().degraded
    );
    // Like makedumpfile, the dump ends where the nodes' struct pages end (firmware above is left out).
    // arm64's kallsyms has no node_data (text symbols only): there the dump's own end.
    let max_pfn = match Arch::of(&dump) {
        Some(Arch::Arm64) => kernel.spanned_end_pfn().unwrap_or(dump.max_pfn()),
        _ => kernel.spanned_end_pfn().expect("node spans"),
    };
    let zero = zero_pages(&dump, max_pfn);
    let mem = kernel.memory();
    let vmemmap = mem.vmemmap().expect("vmemmap");
    let facts = |pfn: u64| -> PageFacts {
        let mut b = vec![0u8; Page::size()];
        mem.read_virt(vmemmap + pfn * Page::size() as u64, &mut b)
            .unwrap_or_else(|e| panic!("{suite}: struct page of pfn {pfn:#x}: {e}"));
        let p = Page::view(&b).expect("view struct page");
        let ch = p
            .compound_head()
            .expect("struct page has a compound head word");
        PageFacts {
            pfn,
            flags: p.flags(),
            mapping: p.mapping().expect("struct page.mapping").addr,
            page_type: p
                .page_type()
                .or(p.mapcount().map(|m| m as u32))
                .expect("struct page has page_type or _mapcount"),
            head: compound_head_pfn(vmemmap, Page::size() as u64, pfn, ch),
        }
    };
    let rules = classifier.rules();
    // Why we keep a page makedumpfile excludes, from its struct page (and its head's).
    let explain_kept = |f: &PageFacts, classes: &[Option<PageClass>]| -> Option<Why> {
        let typed = |f: &PageFacts| rules.is_kernel_owned(f.flags, f.page_type as i32, f.page_type);
        let head = f.head.map(&facts);
        if typed(f) || head.as_ref().is_some_and(typed) {
            return Some(Why::KernelOwned);
        }
        // A tail whose head we keep (or exclude as other than user data):
        // makedumpfile took the folio metadata overlaying the tail's `mapping`
        // (bit 0 set) for an anonymous mapping.
        let head = head?;
        (f.mapping & 1 != 0
            && head.mapping & 1 == 0
            && classes[head.pfn as usize] != Some(PageClass::User))
        .then_some(Why::TailOfNonUser)
    };
    for (tool, name) in anchors {
        let (tool, name) = (tool.as_path(), *name);
        let mut totals = [0usize; 3];
        let mut table = Vec::new();
        for &level in levels {
            let theirs = makedumpfile(tool, &norm, level, &work);
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
            let describe = |p: u64| {
                let f = facts(p);
                let head = f.head.map(|h| {
                    let hf = facts(h);
                    format!(
                        "; head {h:#x}: flags {:#x} mapping {:#x} type {:#x}, our class {:?}",
                        hf.flags, hf.mapping, hf.page_type, classes[h as usize]
                    )
                });
                format!(
                    "pfn {p:#x} (flags {:#x}, mapping word {:#x}, page_type {:#x}{})",
                    f.flags,
                    f.mapping,
                    f.page_type,
                    head.unwrap_or_default()
                )
            };
            let mut why_level = [0usize; 3];
            for &p in &only_theirs {
                let why = explain_kept(&facts(p), &classes);
                let Some(why) = why else {
                    panic!(
                        "{suite} -d {level}: {name} excludes {} and we keep it, for no reason read from the dump",
                        describe(p)
                    )
                };
                why_level[why as usize] += 1;
            }
            for &p in &only_ours {
                let f = facts(p);
                // A tail page excluded with its head, which makedumpfile excludes too:
                // it judged the tail alone, by the folio metadata overlaying `mapping`.
                let ok = f.head.is_some_and(|h| {
                    classes[h as usize].is_some()
                        && theirs.excluded.contains(&h)
                        && classes[p as usize] == classes[h as usize]
                });
                assert!(
                    ok,
                    "{suite} -d {level}: we exclude {} and {name} keeps it, for no reason read from the dump",
                    describe(p)
                );
                why_level[Why::TailFollowsHead as usize] += 1;
            }
            // Classes no explanation touches must agree exactly.
            for c in [PageClass::Free, PageClass::Hwpoison, PageClass::Offline] {
                assert_eq!(
                    mine.counts.get(c),
                    theirs.counts.get(c),
                    "{suite} -d {level}: {c} ({name})"
                );
            }
            if only_theirs.is_empty() && only_ours.is_empty() {
                assert_eq!(
                    mine.counts, theirs.counts,
                    "{suite} -d {level}: per-class counts ({name})"
                );
            }
            for (t, n) in totals.iter_mut().zip(why_level) {
                *t += n;
            }
            let diff = only_theirs.len() + only_ours.len();
            table.push(format!(
                "{level}:{}",
                if diff == 0 {
                    "=".to_string()
                } else {
                    format!("{}/{}", only_theirs.len(), only_ours.len())
                }
            ));
        }
        eprintln!(
            "{suite} vs {name}: levels {levels:?} [level:= or kept-by-us/dropped-by-us: {}]; explained over all levels: {} kernel-owned typed pages, {} tails of non-user folios with a stray bit 0, {} tails following their excluded head",
            table.join(" "),
            totals[Why::KernelOwned as usize],
            totals[Why::TailOfNonUser as usize],
            totals[Why::TailFollowsHead as usize]
        );
    }
}

#[test]
fn classification_equals_makedumpfile_on_6_1() {
    check_suite("bookworm");
}

#[test]
fn classification_equals_makedumpfile_on_6_12() {
    check_suite("trixie");
}

#[test]
fn classification_equals_makedumpfile_on_the_newest_kernel() {
    check_suite("sid");
}

#[test]
fn arm64_classification_equals_makedumpfile_on_6_1() {
    check_arm64(vmcore_arm64("bookworm"));
}

#[test]
fn arm64_classification_on_6_12() {
    check_arm64(vmcore_arm64("trixie"));
}

#[test]
fn arm64_classification_on_the_newest_kernel() {
    check_arm64(vmcore_arm64("sid"));
}

/// The LPA2 kernels on a CPU without FEAT_LPA2 (48 bits at run time), as
/// most arm64 servers run them.
#[test]
fn arm64_classification_without_lpa2() {
    for s in ARM64_SUITES {
        if let Some(v) = vmcore_arm64_without_lpa2(s) {
            check_arm64(v);
        }
    }
}
