//! Where a kdump output ends: makedumpfile ends its dumps at the last memory
//! section with `struct page`s (`max_mapnr` 0x30000 for the 768 MiB
//! fixture guests) and leaves qemu's non-RAM ranges above (the BIOS ROM at
//! pfns 0xfffc0..0x100000) out of the 1st bitmap. A kdump output written
//! with `WriteOptions::end_pfn` = the kernel's `spanned_end_pfn` has
//! makedumpfile's `max_mapnr` and exactly its 1st-bitmap pfns, on every
//! fixture kernel.

use dumptool::commands::filter::{run, FilterArgs};
use dumptool::dump::{Dump, PageState};
use dumptool::kernel::CrashedKernel;
use dumptool::write::{write_dump, Compression, Output, OutputFormat, WriteOptions};
use ktype_tests::fixtures::{makedumpfile_sid, repo_root, vmcore};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

fn work() -> PathBuf {
    let d = repo_root().join("target/kdump-end");
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
    d
}

fn open(path: &Path) -> Dump {
    Dump::open(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Pfns a kdump file's 1st bitmap has (every state but "not in the dump").
fn bitmap1(d: &Dump) -> BTreeSet<u64> {
    (0..d.max_pfn())
        .filter(|&p| d.phys().page_state(p) != PageState::NotInDump)
        .collect()
}

fn max_mapnr(d: &Dump) -> u64 {
    d.kdump_header()
        .unwrap_or_else(|| panic!("{}: not kdump-compressed", d.path().display()))
        .max_mapnr
}

fn check(suite: &'static str) {
    let v = vmcore(suite);
    let src = open(&v.elf());
    let end = {
        let k = CrashedKernel::open(&src).unwrap_or_else(|e| panic!("{}: {e}", v.elf().display()));
        k.resolve_all()
            .unwrap_or_else(|e| panic!("{}: {e}", v.elf().display()));
        k.spanned_end_pfn()
            .unwrap_or_else(|| panic!("{}: no node span", v.elf().display()))
    };
    // 768 MiB of 4 KiB pages: six 128 MiB sections.
    assert_eq!(end, 0x30000, "{}: spanned end pfn", v.elf().display());
    // qemu's ELF has the BIOS ROM above.
    assert_eq!(src.max_pfn(), 0x10_0000, "{}", v.elf().display());
    assert_eq!(
        src.phys().page_state(0xfffc0),
        PageState::Present,
        "{}",
        v.elf().display()
    );

    // makedumpfile (sid) -d 31 -c of the same dump.
    let theirs_path = work().join(format!("{suite}-mdf-d31-c"));
    let _ = std::fs::remove_file(&theirs_path);
    let tool = makedumpfile_sid();
    let o = Command::new(&tool)
        .args(["-d", "31", "-c"])
        .arg(v.normalised_elf())
        .arg(&theirs_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    assert!(
        o.status.success(),
        "{} -d 31 -c {}: {}",
        tool.display(),
        v.normalised_elf().display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let theirs = open(&theirs_path);
    assert_eq!(
        max_mapnr(&theirs),
        end,
        "{}: makedumpfile's max_mapnr",
        theirs_path.display()
    );

    // Ours, ended where the kernel's memory sections end (the selector
    // keeps everything; the 1st bitmap does not depend on it).
    let ours_path = work().join(format!("{suite}-ours-end-c"));
    let opts = WriteOptions {
        format: OutputFormat::Kdump(Compression::Zlib),
        exclude_zero: true,
        dump_level: 31,
        end_pfn: Some(end),
        threads: 2,
        ..WriteOptions::default()
    };
    write_dump(
        &src,
        &dumptool::write::KeepAll,
        &opts,
        Output::Path(ours_path.clone()),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", ours_path.display()));
    let ours = open(&ours_path);
    assert_eq!(max_mapnr(&ours), end, "{}: max_mapnr", ours_path.display());
    assert_eq!(ours.max_pfn(), end, "{}", ours_path.display());
    let (a, b) = (bitmap1(&ours), bitmap1(&theirs));
    let only_ours: Vec<u64> = a.difference(&b).take(8).copied().collect();
    let only_theirs: Vec<u64> = b.difference(&a).take(8).copied().collect();
    assert!(
        a == b,
        "{} vs {}: 1st bitmaps differ ({} vs {} pfns); only ours e.g. {only_ours:#x?}, only makedumpfile's e.g. {only_theirs:#x?}",
        ours_path.display(),
        theirs_path.display(),
        a.len(),
        b.len()
    );
    assert!(
        !a.contains(&0xfffc0) && a.len() as u64 > end - 0x100,
        "{}",
        ours_path.display()
    );

    // `dumptool filter` ends its output where the kernel's struct pages end, too.
    let filtered_path = work().join(format!("{suite}-filter-d31-c"));
    let words: [OsString; 6] = [
        "-f".into(),
        "-d".into(),
        "31".into(),
        "-c".into(),
        v.elf().into(),
        filtered_path.clone().into(),
    ];
    let (summary, _) = run(&FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("dumptool filter -d 31 -c {}: {e}", v.elf().display()));
    assert_eq!(summary.end_pfn, end, "{}", filtered_path.display());
    let filtered = open(&filtered_path);
    assert_eq!(
        max_mapnr(&filtered),
        end,
        "{}: dumptool filter's max_mapnr",
        filtered_path.display()
    );
    let above = bitmap1(&filtered).into_iter().filter(|&p| p >= end).count();
    assert_eq!(
        above,
        0,
        "{}: 1st-bitmap pfns above {end:#x}",
        filtered_path.display()
    );
    eprintln!(
        "{suite}: max_mapnr {end:#x} like makedumpfile's, {} pfns in the 1st bitmap like its, from the writer and from dumptool filter",
        a.len()
    );
    for p in [&theirs_path, &ours_path, &filtered_path] {
        std::fs::remove_file(p).ok();
    }
}

#[test]
fn kdump_ends_like_makedumpfile_6_1() {
    check("bookworm");
}

#[test]
fn kdump_ends_like_makedumpfile_6_12() {
    check("trixie");
}

#[test]
fn kdump_ends_like_makedumpfile_newest() {
    check("sid");
}
