//! `dumptool filter --erase`: kernel variables overwritten in the output.
//! Where the bytes are is anchored outside our code: the symbol from the
//! package's System.map plus the dump's KASLR offset, the member offset and
//! size from pahole. The output holds 'X' exactly there and the source's
//! bytes everywhere else, in kdump and ELF outputs; both record what was
//! erased as makedumpfile does (read back by makedumpfile itself, which
//! carries an ELF output's `ERASEINFO` note into its kdump sub header); bad specs
//! are errors that leave no output behind.

use dumptool::commands::filter::{run, FilterArgs, RunError};
use dumptool::dump::Dump;
use dumptool::filter::erase::{EraseError, ERASE_BYTE};
use dumptool::filter::FilterError;
use ktype_runtime::btf::{PathError, PathErrorKind};
use ktype_runtime::resolution::SystemMap;
use ktype_tests::fixtures::{kernel, makedumpfile_sid, repo_root, run_tool, vmcore};
use ktype_tests::pahole;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A fresh work folder of one suite's test (suites run in parallel).
fn work(suite: &str) -> PathBuf {
    let d = repo_root().join("target/erase-test").join(suite);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir target/erase-test");
    d
}

/// `dumptool filter -f -d 31 -E|-c --threads 2 --erase SPEC... IN OUT`
/// (`-f`: outputs of an earlier run are replaced).
fn args(elf: bool, erase: &[&str], input: &Path, output: &Path) -> FilterArgs {
    let mut words: Vec<OsString> = [
        "-f",
        "-d",
        "31",
        if elf { "-E" } else { "-c" },
        "--threads",
        "2",
    ]
    .map(OsString::from)
    .into();
    for spec in erase {
        words.extend(["--erase".into(), (*spec).into()]);
    }
    words.extend([input.into(), output.into()]);
    FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}"))
}

fn erased_bytes_are_x_and_nothing_else_changes(suite: &'static str) {
    let v = vmcore(suite);
    let k = kernel(suite);
    let src = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let kaslr = u64::from_str_radix(
        src.vmcoreinfo()
            .expect("vmcoreinfo")
            .get("KERNELOFFSET")
            .expect("KERNELOFFSET"),
        16,
    )
    .expect("hex");
    let map = SystemMap::open(k.system_map()).unwrap_or_else(|e| panic!("{e}"));
    let sym = |n: &str| {
        map.iter()
            .find(|s| s.0 == n)
            .map(|s| s.1 + kaslr)
            .unwrap_or_else(|| panic!("{n} in System.map"))
    };
    let ph = pahole::parse(&run_tool(
        "pahole",
        &["-C", "task_struct", k.vmlinux().to_str().unwrap()],
    ));
    let comm_off = pahole::offset_of(&ph, "task_struct", "comm")
        .expect("comm")
        .0
        / 8;
    let comm_size = ph["task_struct"]
        .members
        .iter()
        .find(|m| m.path == "comm")
        .expect("comm")
        .size;
    let want = [
        (sym("init_task") + comm_off, comm_size),
        (sym("jiffies_64"), 8),
    ];
    let specs = ["init_task:task_struct.comm", "jiffies_64:8"];
    let eraseinfo = format!("erase init_task.comm size {comm_size}\nerase jiffies_64 size 8\n");

    let mem = src.kernel_memory().unwrap_or_else(|e| panic!("{e}"));
    let comm = mem.read_bytes(want[0].0, want[0].1 as usize).unwrap();
    assert!(
        comm.starts_with(b"swapper"),
        "source init_task.comm {comm:?}"
    );
    let erased: Vec<std::ops::Range<u64>> = want
        .iter()
        .map(|&(va, len)| {
            let pa = mem.translate(va).unwrap();
            assert_eq!(mem.translate(va + len - 1).unwrap(), pa + len - 1);
            pa..pa + len
        })
        .collect();

    let dir = work(suite);
    for elf in [false, true] {
        let out = dir.join(if elf { "erased.elf" } else { "erased.kdump" });
        let (summary, _) =
            run(&args(elf, &specs, &v.elf(), &out)).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(u64, u64)> = summary.erased.iter().map(|e| (e.vaddr, e.len)).collect();
        assert_eq!(
            got, want,
            "erasures resolved where System.map and pahole say"
        );

        let dst = Dump::open(&out).unwrap_or_else(|e| panic!("{e}"));
        let dmem = dst.kernel_memory().unwrap_or_else(|e| panic!("{e}"));
        for &(va, len) in &want {
            assert_eq!(
                dmem.read_bytes(va, len as usize).unwrap(),
                vec![ERASE_BYTE; len as usize],
                "{va:#x} erased"
            );
        }
        // Every page of the output: the source's bytes, but 'X' where erased.
        let ps = src.page_size();
        let (mut a, mut b) = (vec![0u8; ps as usize], vec![0u8; ps as usize]);
        let (mut pages, mut x_bytes) = (0u64, 0u64);
        for pfn in 0..dst.max_pfn() {
            if !dst.phys().page_state(pfn).is_readable() {
                continue;
            }
            src.phys().read_phys(pfn * ps, &mut a).unwrap();
            dst.phys().read_phys(pfn * ps, &mut b).unwrap();
            for (i, (&s, &d)) in a.iter().zip(&b).enumerate() {
                let pa = pfn * ps + i as u64;
                if erased.iter().any(|r| r.contains(&pa)) {
                    assert_eq!(d, ERASE_BYTE, "{pa:#x}");
                    x_bytes += 1;
                } else {
                    assert_eq!(d, s, "{pa:#x} changed");
                }
            }
            pages += 1;
        }
        assert_eq!(x_bytes, comm_size + 8);
        assert!(pages > 10_000, "{pages} pages compared");

        // The erase information, as makedumpfile records it.
        assert_eq!(String::from_utf8_lossy(dst.eraseinfo()), eraseinfo);
        let bytes = std::fs::read(&out).unwrap();
        if elf {
            // Anchor: makedumpfile finds our ERASEINFO note: it carries a
            // source's erase information into its own kdump sub header
            // (the notes it copies as they are, so the sub header proves it).
            let again = dir.join("makedumpfile.kdump");
            let mdf = makedumpfile_sid();
            run_tool(
                mdf.to_str().expect("UTF-8 path"),
                &[
                    // makedumpfile's mmap reader dies (SIGSEGV/SIGBUS) on ELF
                    // segments whose p_memsz exceeds p_filesz, which ours have
                    // so excluded memory reads as zeros: its read(2) path is used.
                    "--non-mmap",
                    "-c",
                    "-d",
                    "31",
                    out.to_str().unwrap(),
                    again.to_str().unwrap(),
                ],
            );
            let m = Dump::open(&again).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                String::from_utf8_lossy(m.eraseinfo()),
                eraseinfo,
                "makedumpfile's copy"
            );
            std::fs::remove_file(&again).unwrap();
        } else {
            // kdump_sub_header.offset_eraseinfo / size_eraseinfo (one block
            // in, at 64 and 72) point at the text, after the page data.
            let bs = u64::from(dst.kdump_header().unwrap().block_size) as usize;
            let at = |o: usize| u64::from_le_bytes(bytes[bs + o..bs + o + 8].try_into().unwrap());
            let (off, size) = (at(64) as usize, at(72) as usize);
            assert_eq!(&bytes[off..off + size], eraseinfo.as_bytes());
            assert_eq!(
                off + size,
                bytes.len(),
                "the erase information ends the file"
            );
        }
        eprintln!(
            "{suite} elf={elf}: {pages} pages equal the source but for the {x_bytes} erased bytes"
        );
    }

    // Filtering a filtered dump keeps its erase information and adds the new.
    let twice = dir.join("twice.kdump");
    run(&args(
        false,
        &["linux_banner:16"],
        &dir.join("erased.elf"),
        &twice,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let d = Dump::open(&twice).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(d.eraseinfo()),
        format!("{eraseinfo}erase linux_banner size 16\n")
    );
    std::fs::remove_file(&twice).unwrap();

    // Bad specs: an error of the spec's kind naming the dump, the spec and
    // what is wrong, and no output left behind.
    for (spec, kind, why) in [
        (
            "ktype_no_such_symbol:8",
            "no_symbol",
            "no symbol ktype_no_such_symbol",
        ),
        (
            "init_task:task_struct.ktype_nosuch",
            "member",
            "no member `ktype_nosuch`",
        ),
        (
            "init_task:ktype_nosuch_t",
            "no_type",
            "no struct or union ktype_nosuch_t",
        ),
        ("init_task", "syntax", "expected SYMBOL:SIZE"),
        ("jiffies_64:0", "length", "0 bytes"),
    ] {
        let out = dir.join("bad");
        let e = run(&args(false, &[spec], &v.elf(), &out))
            .err()
            .unwrap_or_else(|| panic!("--erase {spec} accepted"));
        let problem = match &e {
            RunError::Erase(FilterError::BadErase(b)) if b.spec == spec => &b.problem,
            other => panic!("--erase {spec}: {other:?}"),
        };
        assert_eq!(problem.kind(), kind, "{spec}: {e}");
        if kind == "member" {
            assert!(matches!(problem, EraseError::Member { .. }));
            // The member path's own error is the cause, kept as the source.
            let cause =
                std::error::Error::source(problem).and_then(|s| s.downcast_ref::<PathError>());
            assert!(
                cause.is_some_and(|c| c.why == PathErrorKind::NoSuchMember),
                "{cause:?}"
            );
        }
        let text = dumptool::commands::error_text(&e);
        let elf = v.elf();
        assert!(
            text.contains(spec) && text.contains(why) && text.contains(elf.to_str().unwrap()),
            "{spec}: {text}"
        );
        assert!(!out.exists(), "{spec}: output left behind");
    }
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["erased.elf", "erased.kdump"], "no temporary files");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn erased_bytes_are_x_and_nothing_else_changes_on_6_1() {
    erased_bytes_are_x_and_nothing_else_changes("bookworm");
}

#[test]
fn erased_bytes_are_x_and_nothing_else_changes_on_6_12() {
    erased_bytes_are_x_and_nothing_else_changes("trixie");
}

#[test]
fn erased_bytes_are_x_and_nothing_else_changes_on_the_newest_kernel() {
    erased_bytes_are_x_and_nothing_else_changes("sid");
}
