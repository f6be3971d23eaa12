//! The dump readers on real vmcores of the fixture kernels: every format
//! opens, VMCOREINFO agrees, every page of every kdump variant is
//! byte-identical to the ELF dump, makedumpfile's filtered ELF reads back
//! with excluded pages as errors, kernel virtual addresses translate (page
//! walk == kernel-image formula), and corrupt files give clear errors.

use dumptool::dump::{Absence, Dump, DumpError, DumpFormat, KernelMemory, PageState};
use ktype_tests::fixtures::{kernel, repo_root, run_tool, vmcore, Vmcore};
use std::path::{Path, PathBuf};
use std::time::Instant;

const PAGE: u64 = 4096;

fn open(path: &Path) -> Dump {
    Dump::open(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The four formats of one guest: (label, dump).
fn open_all(v: &Vmcore) -> Vec<(&'static str, Dump)> {
    vec![
        ("elf", open(&v.elf())),
        ("kdump-zlib", open(&v.kdump_zlib())),
        ("kdump-zlib.flat", open(&v.kdump_zlib_flat())),
        ("kdump-lzo", open(&v.kdump_lzo())),
    ]
}

/// A scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("dump_readers")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn formats_agree(suite: &'static str) {
    let v = vmcore(suite);
    let dumps = open_all(&v);
    let formats: Vec<DumpFormat> = dumps.iter().map(|(_, d)| d.format()).collect();
    assert_eq!(
        formats,
        [
            DumpFormat::Elf,
            DumpFormat::Kdump,
            DumpFormat::FlattenedKdump,
            DumpFormat::Kdump
        ]
    );
    let release = kernel(suite).release();
    let elf_info = dumps[0]
        .1
        .vmcoreinfo()
        .expect("ELF dump has a VMCOREINFO note");
    assert_eq!(elf_info.osrelease.as_deref(), Some(release.as_str()));
    assert!(elf_info.symbols.len() > 10, "{:?}", elf_info.symbols);
    for (name, d) in &dumps {
        assert_eq!(d.machine(), "x86_64", "{name}");
        assert_eq!(d.page_size(), PAGE, "{name}");
        let info = d
            .vmcoreinfo()
            .unwrap_or_else(|| panic!("{name}: no VMCOREINFO"));
        assert_eq!(
            info, elf_info,
            "{name}: VMCOREINFO differs from the ELF note's"
        );
        assert_eq!(
            d.notes().prstatus_count(),
            1,
            "{name}: one CPU, one NT_PRSTATUS"
        );
    }
    // qemu's kdump header phys_base is known to be wrong under KASLR; the
    // makedumpfile-written one matches VMCOREINFO.
    let lzo = dumps[3].1.kdump_header().unwrap();
    assert_eq!(Some(lzo.phys_base), elf_info.phys_base);
    assert_eq!(lzo.dump_level, 0);
    assert_eq!(
        v.info("vmcoreinfo_phys_base")
            .map(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()),
        elf_info.phys_base
    );
    // Past the 768 MiB of RAM (and before the BIOS ROM) there is nothing.
    for (name, d) in &dumps {
        let mut b = [0u8; 8];
        let e = d.phys().read_phys(0x3000_0000, &mut b).unwrap_err();
        assert!(
            matches!(
                e,
                DumpError::NotPresent {
                    paddr: 0x3000_0000,
                    reason: Absence::NotInDump,
                    ..
                }
            ),
            "{name}: {e}"
        );
        assert!(e.to_string().contains("0x30000000"), "{e}");
        assert_eq!(d.phys().page_state(0x30000), PageState::NotInDump, "{name}");
    }
}

#[test]
fn bookworm_formats_open_and_agree() {
    formats_agree("bookworm");
}

#[test]
fn trixie_formats_open_and_agree() {
    formats_agree("trixie");
}

/// The newest kernel Debian ships (sid), whatever its version today.
#[test]
fn sid_formats_open_and_agree() {
    formats_agree("sid");
}

/// Every page each kdump variant holds reads byte-identical through the ELF
/// dump; with `-d 0` that is every page of RAM.
fn pages_identical(suite: &'static str) {
    let v = vmcore(suite);
    let dumps = open_all(&v);
    let elf = &dumps[0].1;
    let elf_pages: u64 = elf
        .phys()
        .ranges()
        .iter()
        .map(|r| (r.end - r.start) / PAGE)
        .sum();
    assert_eq!(
        elf_pages,
        196_608 + 64,
        "768 MiB of RAM and the 256 KiB BIOS ROM"
    );
    let mut a = vec![0u8; PAGE as usize];
    let mut b = vec![0u8; PAGE as usize];
    for (name, d) in &dumps[1..] {
        let t = Instant::now();
        let (mut pages, mut zero) = (0u64, 0u64);
        for r in d.phys().ranges() {
            assert_eq!(r.start % PAGE, 0);
            for paddr in (r.start..r.end).step_by(PAGE as usize) {
                let state = d.phys().page_state(paddr / PAGE);
                assert!(
                    state.is_readable(),
                    "{name}: pfn {:#x} is {state:?}",
                    paddr / PAGE
                );
                d.phys()
                    .read_phys(paddr, &mut a)
                    .unwrap_or_else(|e| panic!("{e}"));
                elf.phys()
                    .read_phys(paddr, &mut b)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    a == b,
                    "{suite} {name}: page at {paddr:#x} differs from the ELF dump"
                );
                if state == PageState::Zero {
                    assert!(a.iter().all(|&x| x == 0));
                    zero += 1;
                }
                pages += 1;
            }
        }
        let kd = d.kdump().unwrap();
        assert_eq!(
            pages,
            kd.dumped_pages(),
            "{name}: every descriptor was read"
        );
        // -d 0 keeps everything: the pages below max_mapnr are all of the
        // ELF's (makedumpfile's max_mapnr stops at the end of RAM, qemu's
        // includes the BIOS ROM below 4 GiB).
        let expect = if d.max_pfn() > 0x30000 {
            elf_pages
        } else {
            196_608
        };
        assert_eq!(pages, expect, "{name}");
        if name.starts_with("kdump-zlib") {
            assert!(
                kd.zero_page_offset().is_some(),
                "{name}: qemu shares one zero page"
            );
            assert!(zero > 10_000, "{name}: {zero} zero pages");
        }
        eprintln!(
            "{suite} {name}: {pages} pages ({zero} shared zero pages) identical in {:.2?}",
            t.elapsed()
        );
    }
    // Reads across page boundaries and at odd offsets agree too.
    let mut x = vec![0u8; 3 * PAGE as usize + 100];
    let mut y = x.clone();
    for paddr in [0x1000 - 7, 0x10_0000 + 123, 0x2fff_0000 - 1000] {
        elf.phys().read_phys(paddr, &mut x).unwrap();
        for (name, d) in &dumps[1..] {
            d.phys()
                .read_phys(paddr, &mut y)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(x == y, "{name}: read at {paddr:#x}");
        }
    }
}

#[test]
fn bookworm_pages_identical_across_formats() {
    pages_identical("bookworm");
}

#[test]
fn trixie_pages_identical_across_formats() {
    pages_identical("trixie");
}

/// The newest kernel Debian ships (sid), whatever its version today.
#[test]
fn sid_pages_identical_across_formats() {
    pages_identical("sid");
}

/// Large reads of a kdump-compressed dump are decompressed in parallel on
/// rayon's current pool: on two threads and on one they give the ELF dump's
/// bytes, and a read that runs off the end of RAM fails at the same address.
#[test]
fn large_kdump_reads_in_parallel_equal_reads_in_turn() {
    let v = vmcore("trixie");
    let elf = open(&v.elf());
    let kdump = open(&v.kdump_zlib());
    // 8 MiB from an address that is not page-aligned.
    let start = (16 << 20) + 100;
    let mut want = vec![0u8; 8 << 20];
    elf.phys().read_phys(start, &mut want).unwrap();
    assert!(want.iter().any(|&b| b != 0), "the range holds data");
    // Half a MiB before the end of RAM (768 MiB) to half a MiB past it.
    let ram_end: u64 = 768 << 20;
    let mut errors = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut got = vec![0u8; want.len()];
        pool.install(|| kdump.phys().read_phys(start, &mut got))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            got == want,
            "{threads} threads: bytes differ from the ELF dump's"
        );
        let mut past = vec![0u8; 1 << 20];
        let e = pool
            .install(|| kdump.phys().read_phys(ram_end - (512 << 10), &mut past))
            .expect_err("RAM ends at 768 MiB");
        errors.push(e.to_string());
    }
    assert_eq!(errors[0], errors[1]);
    assert!(errors[0].contains("0x30000000"), "{}", errors[0]);
}

/// Runs makedumpfile `args` on `input`, into `out` (through stdout for the
/// flattened format, `-F`).
fn makedumpfile(args: &[&str], input: &Path, out: &Path) {
    let mut cmd = std::process::Command::new("makedumpfile");
    cmd.args(args).arg(input);
    if args.contains(&"-F") {
        cmd.stdout(std::fs::File::create(out).unwrap());
    } else {
        cmd.arg(out).stdout(std::process::Stdio::null());
    }
    let res = cmd
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run makedumpfile");
    assert!(
        res.status.success(),
        "makedumpfile {args:?} failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
}

/// Checks a filtered dump against its source: every page it holds equals
/// the source's, every page it lacks is an error naming the address, never
/// zeros. Returns (kept, zero, excluded, not in dump) page counts.
fn check_filtered(src: &Dump, filtered: &Dump) -> [u64; 4] {
    let mut n = [0u64; 4];
    let mut a = vec![0u8; PAGE as usize];
    let mut b = vec![0u8; PAGE as usize];
    let name = filtered.path().display().to_string();
    for pfn in 0..src.max_pfn() {
        if !src.phys().page_state(pfn).is_readable() {
            continue;
        }
        let paddr = pfn * PAGE;
        match filtered.phys().page_state(pfn) {
            state @ (PageState::Present | PageState::Zero) => {
                filtered
                    .phys()
                    .read_phys(paddr, &mut a)
                    .unwrap_or_else(|e| panic!("{e}"));
                src.phys().read_phys(paddr, &mut b).unwrap();
                assert!(a == b, "{name}: page {paddr:#x} differs from the source");
                n[if state == PageState::Zero { 1 } else { 0 }] += 1;
            }
            state @ (PageState::Excluded | PageState::NotInDump) => {
                let e = filtered
                    .phys()
                    .read_phys(paddr + 8, &mut a[..8])
                    .unwrap_err();
                let want = if state == PageState::Excluded {
                    Absence::Excluded
                } else {
                    Absence::NotInDump
                };
                match &e {
                    DumpError::NotPresent {
                        path,
                        paddr: p,
                        reason,
                        ..
                    } => {
                        assert_eq!(path, filtered.path());
                        assert_eq!(*p, paddr + 8);
                        assert_eq!(*reason, want, "{e}");
                    }
                    other => panic!("{other}"),
                }
                n[if state == PageState::Excluded { 2 } else { 3 }] += 1;
            }
            other => panic!("{name}: pfn {pfn:#x}: {other:?}"),
        }
    }
    n
}

/// makedumpfile's own outputs at dump level 31 (free, cache, user and zero
/// pages dropped) of the normalised ELF: ELF (`-E`), flattened ELF
/// (`-E -F`), LZO and flattened zlib kdump. Each reads back with exactly the
/// source's pages; the dropped ones are errors.
fn makedumpfile_outputs(suite: &'static str) {
    let v = vmcore(suite);
    let dir = scratch(&format!("mdf-{suite}"));
    let norm = dir.join("normalized.elf");
    let script = repo_root().join("scripts/normalize_elf.py");
    run_tool(
        "python3",
        &[
            script.to_str().unwrap(),
            v.elf().to_str().unwrap(),
            norm.to_str().unwrap(),
        ],
    );
    let outputs: [(&[&str], &str, DumpFormat); 4] = [
        (&["-E", "-d", "31"], "d31.elf", DumpFormat::Elf),
        (
            &["-E", "-F", "-d", "31"],
            "d31.elf.flat",
            DumpFormat::FlattenedElf,
        ),
        (&["-l", "-d", "31"], "d31.kdump-lzo", DumpFormat::Kdump),
        (
            &["-c", "-F", "-d", "31"],
            "d31.kdump-zlib.flat",
            DumpFormat::FlattenedKdump,
        ),
    ];
    for (args, name, _) in &outputs {
        makedumpfile(args, &norm, &dir.join(name));
    }
    std::fs::remove_file(&norm).unwrap();

    let src = open(&v.elf());
    let mut counts = Vec::new();
    for (args, name, format) in &outputs {
        let t = Instant::now();
        let filtered = open(&dir.join(name));
        assert_eq!(filtered.format(), *format, "{name}");
        assert_eq!(filtered.vmcoreinfo(), src.vmcoreinfo(), "{name}");
        let n = check_filtered(&src, &filtered);
        eprintln!(
            "{suite}: makedumpfile {args:?}: kept {} pages (+{} shared zero pages), {} excluded, \
             {} not in the dump; checked in {:.2?}",
            n[0],
            n[1],
            n[2],
            n[3],
            t.elapsed()
        );
        assert!(n[0] > 5_000, "{name}: {n:?}");
        assert!(
            n[2] + n[3] > 100_000,
            "{name}: -d 31 drops most of an idle guest: {n:?}"
        );
        if let Some(h) = filtered.kdump_header() {
            assert_eq!(h.dump_level, 31);
            assert!(
                n[2] > 100_000,
                "{name}: kdump keeps RAM pages it drops as excluded"
            );
        } else {
            assert!(
                n[2] > 0,
                "{name}: p_memsz > p_filesz tails are excluded pages"
            );
        }
        counts.push(n);
    }
    assert_eq!(
        counts[0], counts[1],
        "ELF and flattened ELF hold the same pages"
    );
    assert_eq!(
        counts[2], counts[3],
        "the LZO and zlib kdumps hold the same pages"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bookworm_makedumpfile_outputs_read_back() {
    makedumpfile_outputs("bookworm");
}

#[test]
fn trixie_makedumpfile_outputs_read_back() {
    makedumpfile_outputs("trixie");
}

/// The newest kernel Debian ships (sid), whatever its version today.
#[test]
fn sid_makedumpfile_outputs_read_back() {
    makedumpfile_outputs("sid");
}

/// Page-table walks agree with the kernel-image formula for every VMCOREINFO
/// symbol in the kernel image, other symbols translate through the walk, and
/// the kernel's own uname reads back.
fn translation(suite: &'static str) {
    let v = vmcore(suite);
    for path in [v.elf(), v.kdump_lzo()] {
        let dump = open(&path);
        let info = dump.vmcoreinfo().unwrap();
        let mut mem = KernelMemory::new(&dump).unwrap();
        assert!(!mem.five_level());
        assert_eq!(Some(mem.phys_base()), info.phys_base);
        let top = info.symbol("init_top_pgt").unwrap();
        assert_eq!(
            mem.walk(top).unwrap().paddr,
            mem.kernel_image_to_phys(top).unwrap()
        );
        assert_eq!(mem.top_pgt_paddr(), mem.kernel_image_to_phys(top).unwrap());

        let mut image = 0;
        let mut direct_base = None;
        for (name, &addr) in &info.symbols {
            let walked = mem
                .walk(addr)
                .unwrap_or_else(|e| panic!("SYMBOL({name}): {e}"));
            if let Some(formula) = mem.kernel_image_to_phys(addr) {
                assert_eq!(walked.paddr, formula, "SYMBOL({name}) = {addr:#x}");
                assert_eq!(mem.translate(addr).unwrap(), formula);
                image += 1;
            } else if name == "mem_section" {
                // A direct-map address: its base is 1 GiB aligned (KASLR
                // randomises it in PUD steps) inside the 64 TiB region.
                let base = addr - walked.paddr;
                assert_eq!(base % (1 << 30), 0, "{base:#x}");
                assert!(
                    (0xffff_8880_0000_0000..0xffff_c880_0000_0000).contains(&base),
                    "{base:#x}"
                );
                direct_base = Some(base);
            }
        }
        // Every VMCOREINFO symbol in the kernel image mapping went through the formula check.
        let in_image = info
            .symbols
            .values()
            .filter(|&&a| a >= dumptool::arch::x86_64::START_KERNEL_MAP)
            .count();
        assert!(
            image >= 10 && image == in_image,
            "{image} of {in_image} kernel-image symbols"
        );

        // The kernel's uname: init_uts_ns.name is a struct new_utsname.
        let uts = info.symbol("init_uts_ns").unwrap() + info.offset("uts_namespace.name").unwrap();
        assert_eq!(mem.read_cstr(uts, 65).unwrap(), "Linux");
        assert_eq!(
            mem.read_cstr(uts + 2 * 65, 65).unwrap(),
            kernel(suite).release()
        );

        // The direct-map fast path gives what the walk gives.
        let base = direct_base.expect("SYMBOL(mem_section) is in the direct map");
        let uts_phys = mem.translate(uts).unwrap();
        let samples = [
            info.symbol("mem_section").unwrap(),
            base + uts_phys,
            base + mem.top_pgt_paddr(),
            base + 0x1234_5678,
        ];
        let walked: Vec<u64> = samples
            .iter()
            .map(|&a| mem.walk(a).unwrap().paddr)
            .collect();
        mem.set_direct_map(base);
        for (&a, &w) in samples.iter().zip(&walked) {
            assert_eq!(mem.translate(a).unwrap(), w, "{a:#x}");
        }
        assert_eq!(mem.read_cstr(base + uts_phys, 65).unwrap(), "Linux");
        if let Some(vmemmap) = info.symbol("vmemmap") {
            // 6.12 exports the vmemmap base: struct page of pfn 0x1000 maps.
            mem.set_vmemmap(vmemmap);
            let page = mem.struct_page_addr(0x1000).unwrap();
            mem.read_u64(page).unwrap();
        }

        // Failures name the address and the level that was not present.
        let e = mem.translate(0x1000).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("virtual address 0x1000")
                && msg.contains("PML4")
                && msg.contains("not present"),
            "{msg}"
        );
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        let e = mem.translate(0x8000_0000_0000_0000).unwrap_err();
        assert!(e.to_string().contains("not a canonical address"), "{e}");
    }
}

#[test]
fn bookworm_kernel_virtual_addresses_translate() {
    translation("bookworm");
}

#[test]
fn trixie_kernel_virtual_addresses_translate() {
    translation("trixie");
}

/// The newest kernel Debian ships (sid), whatever its version today.
#[test]
fn sid_kernel_virtual_addresses_translate() {
    translation("sid");
}

/// Writes `bytes` to `dir/name` and opens it, expecting an error.
fn open_err(dir: &Path, name: &str, bytes: &[u8]) -> DumpError {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    let e = Dump::open(&p).map(|d| format!("{d:?}")).expect_err(name);
    assert_eq!(e.path(), p, "{e}");
    assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
    e
}

fn prefix(path: &Path, len: usize) -> Vec<u8> {
    use std::io::Read;
    let mut v = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .take(len as u64)
        .read_to_end(&mut v)
        .unwrap();
    v
}

#[test]
fn corrupt_files_give_clear_errors() {
    let v = vmcore("bookworm");
    let dir = scratch("corrupt");
    // Truncated copies of every format's start.
    let lens = [
        0usize, 3, 8, 15, 63, 64, 100, 300, 463, 464, 4095, 4096, 4200, 8192, 20_000, 70_000,
        300_000,
    ];
    for (label, path) in [
        ("elf", v.elf()),
        ("kdump-zlib", v.kdump_zlib()),
        ("flat", v.kdump_zlib_flat()),
        ("kdump-lzo", v.kdump_lzo()),
    ] {
        let head = prefix(&path, 300_000);
        for &n in &lens {
            let e = open_err(&dir, &format!("{label}-{n}"), &head[..n]);
            assert!(
                matches!(
                    e,
                    DumpError::UnknownFormat { .. } | DumpError::Truncated { .. }
                ),
                "{label} cut at {n}: {e}"
            );
        }
    }
    let e = open_err(&dir, "empty", &[]);
    assert!(e.to_string().contains("empty"), "{e}");

    // kdump: absurd bitmap size, bad block size, bad header version.
    let lzo = prefix(&v.kdump_lzo(), 70_000);
    let mut k = lzo.clone();
    k[436..440].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = open_err(&dir, "kdump-bitmap", &k);
    assert!(
        matches!(e, DumpError::Truncated { .. }) && e.to_string().contains("page bitmaps"),
        "{e}"
    );
    let mut k = lzo.clone();
    k[428..432].copy_from_slice(&3i32.to_le_bytes());
    let e = open_err(&dir, "kdump-blocksize", &k);
    assert!(e.to_string().contains("block_size 3"), "{e}");
    let mut k = lzo.clone();
    k[440..444].copy_from_slice(&u32::MAX.to_le_bytes()); // max_mapnr (v6 uses the sub header's)
    k[4096 + 96..4096 + 104].copy_from_slice(&u64::MAX.to_le_bytes());
    let e = open_err(&dir, "kdump-mapnr", &k);
    assert!(e.to_string().contains("max_mapnr"), "{e}");

    // ELF: program header table past EOF, a PT_LOAD past EOF, PN_XNUM
    // without a section header, a non-core ELF.
    let elf = prefix(&v.elf(), 8192);
    let mut x = elf.clone();
    x[32..40].copy_from_slice(&(1u64 << 40).to_le_bytes()); // e_phoff
    let e = open_err(&dir, "elf-phoff", &x);
    assert!(e.to_string().contains("program header table"), "{e}");
    let e = open_err(&dir, "elf-load", &elf);
    assert!(e.to_string().contains("PT_LOAD segment"), "{e}");
    let mut x = elf.clone();
    x[56..58].copy_from_slice(&0xffffu16.to_le_bytes()); // e_phnum = PN_XNUM
    x[40..48].copy_from_slice(&0u64.to_le_bytes()); // e_shoff
    let e = open_err(&dir, "elf-xnum", &x);
    assert!(e.to_string().contains("PN_XNUM"), "{e}");
    let mut x = elf.clone();
    x[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    let e = open_err(&dir, "elf-exec", &x);
    assert!(e.to_string().contains("not a core dump"), "{e}");

    // Flattened: a record whose data runs past EOF, a negative size.
    let flat = prefix(&v.kdump_zlib_flat(), 20_000);
    let mut f = flat.clone();
    f[4096 + 8..4096 + 16].copy_from_slice(&(1i64 << 40).to_be_bytes());
    let e = open_err(&dir, "flat-size", &f);
    assert!(e.to_string().contains("flattened record #0"), "{e}");
    let mut f = flat.clone();
    f[4096 + 8..4096 + 16].copy_from_slice(&(-5i64).to_be_bytes());
    let e = open_err(&dir, "flat-negative", &f);
    assert!(e.to_string().contains("negative"), "{e}");

    std::fs::remove_dir_all(&dir).unwrap();
}
