//! Never lose the dump: on copies of real dumps whose BTF (inside the dump's
//! memory) lacks, in turn, each member, type and constant the filter uses —
//! the name renamed in the BTF string table, same length, so everything else
//! stays valid — and, where VMCOREINFO carries the same fact, without that
//! too, `dumptool filter -d 31` still writes an output that opens, keeps
//! every page the normal run keeps, and names what was missing. A kernel
//! that cannot be read at all (no BTF, no kallsyms entries in VMCOREINFO)
//! leaves zero-page filtering only.

use dumptool::commands::filter::{run, FilterArgs, FilterSummary};
use dumptool::dump::Dump;
use dumptool::filter::level::{
    EXCLUDE_CACHE, EXCLUDE_CACHE_PRIVATE, EXCLUDE_FREE, EXCLUDE_USER_DATA,
};
use dumptool::filter::PageClass;
use ktype_tests::fixtures::{repo_root, vmcore, vmcore_arm64, vmcore_arm64_without_lpa2, Vmcore};
use ktype_tests::patch::{
    apply, btf_strings, find_all, rename_btf, rename_vmcoreinfo, rename_vmcoreinfo_in, Patch,
};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

const CACHE: u32 = EXCLUDE_CACHE | EXCLUDE_CACHE_PRIVATE;
const CACHE_USER: u32 = CACHE | EXCLUDE_USER_DATA;
const ALL: u32 = CACHE_USER | EXCLUDE_FREE;

/// Runs `dumptool filter -d 31` on `input` into `out`; the summary.
fn filter(input: &Path, out: &Path) -> FilterSummary {
    let words = [
        "-f",
        "-d",
        "31",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ];
    let args = FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}"));
    run(&args)
        .unwrap_or_else(|e| panic!("filter {}: {e}", input.display()))
        .0
}

/// Pfns the output holds (data or a zero page).
fn kept(path: &Path) -> Vec<bool> {
    let d = Dump::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (0..d.max_pfn())
        .map(|p| d.phys().page_state(p).is_readable())
        .collect()
}

struct Case {
    what: &'static str,
    btf: &'static [&'static str],
    vmcoreinfo: &'static [&'static str],
    /// Dump-level bits that must be switched off on this kernel.
    off: fn(&Facts) -> u32,
}

/// What the unpatched kernel has, to know which rules a rename must hit.
struct Facts {
    /// 6.12+: page types in `enum pagetype`.
    page_types: bool,
    /// The name of `struct page`'s compound head member.
    compound: &'static str,
}

fn copy_of(v: &Vmcore) -> PathBuf {
    let dir = repo_root().join("target/never-lose");
    std::fs::create_dir_all(&dir).expect("mkdir target/never-lose");
    let copy = dir.join(format!("{}.elf", v.suite));
    std::fs::copy(v.elf(), &copy).expect("copy the dump");
    copy
}

fn check(suite: &'static str) {
    let v = vmcore(suite);
    let copy = copy_of(&v);
    let dir = copy.parent().unwrap().to_path_buf();
    let normal_out = dir.join(format!("{suite}.normal"));
    let normal = filter(&copy, &normal_out);
    assert!(normal.degraded.is_empty(), "{suite}: {:?}", normal.degraded);
    let normal_kept = kept(&normal_out);
    let string_range = btf_strings(&copy);
    // The unpatched copy, read once: every case's patch offsets are found in it.
    let bytes = std::fs::read(&copy).expect("read the copy");
    let strings = &bytes[string_range.0 as usize..string_range.1 as usize];
    let has = |name: &str| !find_all(strings, format!("\0{name}\0").as_bytes()).is_empty();
    let facts = Facts {
        page_types: has("PGTY_buddy"),
        compound: if has("compound_info") {
            "compound_info"
        } else {
            "compound_head"
        },
    };
    let cases = [
        Case {
            what: "struct page.flags",
            btf: &["flags"],
            vmcoreinfo: &["OFFSET(page.flags)="],
            off: |_| ALL,
        },
        Case {
            what: "struct page",
            btf: &["page"],
            vmcoreinfo: &["SIZE(page)="],
            off: |_| ALL,
        },
        Case {
            what: "struct page.mapping",
            btf: &["mapping"],
            vmcoreinfo: &["OFFSET(page.mapping)="],
            off: |_| CACHE_USER,
        },
        Case {
            what: "struct page.private",
            btf: &["private"],
            vmcoreinfo: &["OFFSET(page.private)="],
            off: |_| EXCLUDE_FREE,
        },
        Case {
            what: "struct page's compound head",
            btf: &["compound_head", "compound_info"],
            vmcoreinfo: &[],
            off: |_| CACHE_USER,
        },
        Case {
            what: "struct page.page_type",
            btf: &["page_type"],
            vmcoreinfo: &[],
            // 6.12+: neither the kernel-owned test nor the buddy test has its word.
            off: |f| if f.page_types { ALL } else { 0 },
        },
        Case {
            what: "struct page._mapcount",
            btf: &["_mapcount"],
            vmcoreinfo: &["OFFSET(page._mapcount)="],
            off: |f| if f.page_types { 0 } else { EXCLUDE_FREE },
        },
        Case {
            what: "enum pageflags (VMCOREINFO has the flags)",
            btf: &["pageflags"],
            vmcoreinfo: &[],
            // 6.1 keeps slab in PG_slab, which its VMCOREINFO lacks: cache and user data must go.
            off: |f| if f.page_types { 0 } else { CACHE_USER },
        },
        Case {
            what: "PG_lru (BTF only: VMCOREINFO stands in)",
            btf: &["PG_lru"],
            vmcoreinfo: &[],
            off: |_| 0,
        },
        Case {
            what: "PG_lru",
            btf: &["PG_lru"],
            vmcoreinfo: &["NUMBER(PG_lru)="],
            off: |_| CACHE,
        },
        Case {
            what: "PG_private",
            btf: &["PG_private"],
            vmcoreinfo: &["NUMBER(PG_private)="],
            off: |_| EXCLUDE_CACHE,
        },
        Case {
            what: "PG_head",
            btf: &["PG_head"],
            vmcoreinfo: &["NUMBER(PG_head_mask)="],
            off: |_| 0,
        },
        Case {
            what: "PG_swapcache",
            btf: &["PG_swapcache"],
            vmcoreinfo: &["NUMBER(PG_swapcache)="],
            off: |_| 0,
        },
        Case {
            what: "PGTY_buddy / buddy mapcount",
            btf: &["PGTY_buddy"],
            vmcoreinfo: &["NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)="],
            off: |_| EXCLUDE_FREE,
        },
        Case {
            what: "PGTY_slab",
            btf: &["PGTY_slab"],
            vmcoreinfo: &[],
            off: |f| if f.page_types { CACHE_USER } else { 0 },
        },
        Case {
            what: "struct folio",
            btf: &["folio"],
            vmcoreinfo: &[],
            off: |_| 0,
        },
        Case {
            what: "struct pglist_data",
            btf: &["pglist_data"],
            vmcoreinfo: &[],
            off: |_| 0,
        },
        Case {
            what: "VMCOREINFO without kallsyms",
            btf: &[],
            vmcoreinfo: &["SYMBOL(kallsyms_names)="],
            off: |_| ALL,
        },
    ];
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&copy)
        .expect("open the copy");
    let out = dir.join(format!("{suite}.degraded"));
    let mut table = Vec::new();
    // Every case's patches, found before the dump is filtered (then the copy's bytes are let go).
    let planned: Vec<Vec<Patch>> = cases
        .iter()
        .map(|case| {
            let mut patches = Vec::new();
            // A case may list alternatives (renamed members across versions): each that exists.
            for name in case.btf.iter().filter(|n| has(n)) {
                patches.extend(rename_btf(&bytes, string_range, name));
            }
            if case.btf.contains(&"compound_head") {
                assert!(!patches.is_empty(), "{suite}: no {}", facts.compound);
            }
            if case.btf.iter().any(|n| n.starts_with("PGTY_")) && !facts.page_types {
                patches.clear(); // 6.1 has no page types: only VMCOREINFO's buddy value
            }
            for key in case.vmcoreinfo {
                patches.extend(rename_vmcoreinfo(&bytes, key));
            }
            patches
        })
        .collect();
    drop(bytes);
    for (case, patches) in cases.iter().zip(planned) {
        if patches.is_empty()
            && !facts.page_types
            && case.btf.iter().all(|n| n.starts_with("PGTY_"))
        {
            table.push(format!("{}: not on this kernel (no page types)", case.what));
            continue;
        }
        assert!(
            !patches.is_empty(),
            "{suite} {}: nothing to rename",
            case.what
        );
        apply(&file, &patches, false);
        let s = filter(&copy, &out);
        apply(&file, &patches, true);

        // The output opens and keeps every page the normal run keeps.
        let k = kept(&out);
        let lost = normal_kept
            .iter()
            .enumerate()
            .filter(|&(p, &n)| n && !k.get(p).copied().unwrap_or(false))
            .count();
        assert_eq!(
            lost, 0,
            "{suite} without {}: {lost} pages the normal run keeps are gone",
            case.what
        );
        // What had to be switched off was, and says why.
        let off: u32 = s.degraded.iter().map(|d| d.level_bit).fold(0, |a, b| a | b);
        let want = (case.off)(&facts);
        assert_eq!(
            off, want,
            "{suite} without {}: switched off {off:#x}, expected {want:#x}: {:#?}\nproblems: {:#?}",
            case.what, s.degraded, s.binding_problems
        );
        for d in &s.degraded {
            assert!(!d.missing.is_empty(), "{suite}: {} says nothing", d.rule);
        }
        if want != 0 {
            // The resolver's problems name the renamed BTF item, or the reason names VMCOREINFO's.
            let said = format!("{:?} {:?}", s.degraded, s.binding_problems);
            let named = case.btf.iter().any(|n| said.contains(n))
                || case
                    .vmcoreinfo
                    .iter()
                    .any(|k| said.contains(k.trim_end_matches('=')) || said.contains("kallsyms"));
            assert!(
                named,
                "{suite} without {}: the report does not name it: {said}",
                case.what
            );
        } else if case.vmcoreinfo.is_empty() && case.btf == ["PG_lru"] {
            // VMCOREINFO's NUMBER(PG_lru) stands in for BTF: the very same pages.
            assert_eq!(k, normal_kept, "{suite} without {}", case.what);
        }
        table.push(format!(
            "{}: off {off:#x}, excluded {} of normal {}",
            case.what,
            s.counts.total(),
            normal.counts.total()
        ));
    }
    eprintln!("{suite}:\n  {}", table.join("\n  "));
    for f in [&out, &normal_out, &copy] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn degraded_bindings_never_lose_the_dump_on_6_1() {
    check("bookworm");
}

#[test]
fn degraded_bindings_never_lose_the_dump_on_6_12() {
    check("trixie");
}

#[test]
fn degraded_bindings_never_lose_the_dump_on_the_newest_kernel() {
    check("sid");
}

/// A kernel whose `struct page` array cannot be located (VMCOREINFO's
/// `NUMBER(VMEMMAP_START)` renamed in a copy of an arm64 dump, on the CPU
/// without LPA2 where one exists) has no page classified at all: the four
/// struct-page rules are switched off naming the vmemmap, and hwpoison and
/// offline pages, which no dump level switches off, are not read from
/// garbage either. Only zero pages go.
#[test]
fn an_unknown_vmemmap_excludes_no_page() {
    let v = vmcore_arm64_without_lpa2("trixie").unwrap_or_else(|| vmcore_arm64("trixie"));
    let copy = copy_of(&v);
    rename_vmcoreinfo_in(&copy, &["NUMBER(VMEMMAP_START)="]);
    let out = copy.with_extension("no-vmemmap");
    let s = filter(&copy, &out);
    let off: u32 = s.degraded.iter().map(|d| d.level_bit).fold(0, |a, b| a | b);
    assert_eq!(off, ALL, "{}: {:#?}", v.suite, s.degraded);
    assert!(
        s.degraded.iter().all(|d| d.missing.contains("vmemmap")),
        "{}: {:#?}",
        v.suite,
        s.degraded
    );
    for class in PageClass::ALL {
        if class != PageClass::Zero {
            assert_eq!(s.counts.get(class), 0, "{}: {class:?} excluded", v.suite);
        }
    }
    assert!(
        s.counts.get(PageClass::Zero) > 0,
        "{}: {:?}",
        v.suite,
        s.counts
    );
    // Every page that is not zero is in the output.
    let src = Dump::open(&copy).unwrap_or_else(|e| panic!("{e}"));
    let k = kept(&out);
    let mut page = vec![0u8; src.page_size() as usize];
    let lost = (0..src.max_pfn())
        .filter(|&p| src.phys().page_state(p).is_readable() && !k[p as usize])
        .filter(|&p| {
            src.phys().read_phys(p * src.page_size(), &mut page).is_ok()
                && page.iter().any(|&b| b != 0)
        })
        .count();
    assert_eq!(lost, 0, "{}: non-zero pages excluded", v.suite);
    for f in [&out, &copy] {
        let _ = std::fs::remove_file(f);
    }
}
