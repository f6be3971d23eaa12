//! The dump writers on real vmcores of the fixture kernels. Every output
//! format (ELF; kdump uncompressed, zlib, LZO, snappy, zstd; each plain and
//! flattened) written from qemu's ELF dump reads back with our readers:
//! kept pages byte-identical, left-out pages errors (never zeros),
//! VMCOREINFO and the dump level recorded. Debian's makedumpfile prints the
//! same kernel log from our ELF and kdump (zlib, LZO) files as from the
//! source, reassembles our flattened files into exactly the plain ones, and
//! drgn reads the same physical memory from every format that we do. A
//! failed write (a selector error, a full disk) leaves no file behind, and
//! memory stays bounded.

use dumptool::dump::{Absence, Dump, DumpError, DumpFormat, KernelMemory, PageState};
use dumptool::write::{
    write_dump, Compression, KeepAll, Output, OutputFormat, PageSelector, WriteError, WriteOptions,
    WriteStats,
};
use ktype_tests::fixtures::{repo_root, vmcore, Vmcore};
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const PAGE: u64 = 4096;

/// A scratch directory under the target directory, emptied.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("writers")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn open(path: &Path) -> Dump {
    Dump::open(path).unwrap_or_else(|e| panic!("{e}"))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Keeps every pfn except a deterministic pseudo-random 30% (or, with
/// `alternate`, every other pfn) of those outside `protect`: the kernel
/// image, which `makedumpfile --dump-dmesg` reads.
#[derive(Clone)]
struct Sieve {
    protect: Range<u64>,
    /// More pfns makedumpfile reads: the `mem_section` tables and the page
    /// tables mapping what it reads.
    also: BTreeSet<u64>,
    alternate: bool,
}

impl Sieve {
    /// The sieve for `src`: the kernel image, the `mem_section` tables and
    /// the page tables mapping them and VMCOREINFO's symbols protected.
    fn new(src: &Dump, alternate: bool) -> Sieve {
        let protect = kernel_image(src);
        let mem = KernelMemory::new(src).unwrap();
        let (sections, mut vaddrs) = mem_section_pages(src, &mem);
        let mut also: BTreeSet<u64> = sections.into_iter().collect();
        vaddrs.extend(src.vmcoreinfo().unwrap().symbols.values());
        let phys_base = mem.phys_base();
        vaddrs.extend(
            (protect.start * PAGE..protect.end * PAGE)
                .step_by(1 << 21)
                .map(|p| START_KERNEL_MAP.wrapping_add(p.wrapping_sub(phys_base))),
        );
        for v in vaddrs {
            also.extend(table_pages(src, &mem, v));
        }
        Sieve {
            protect,
            also,
            alternate,
        }
    }

    fn keeps(&self, pfn: u64) -> bool {
        if self.protect.contains(&pfn) || self.also.contains(&pfn) {
            return true;
        }
        if self.alternate {
            pfn & 1 == 0
        } else {
            splitmix(pfn) % 10 >= 3
        }
    }
}

impl PageSelector for Sieve {
    fn select(&self, start_pfn: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        for (i, w) in keep.iter_mut().enumerate() {
            for b in 0..64 {
                if self.keeps(start_pfn + 64 * i as u64 + b) {
                    *w |= 1 << b;
                }
            }
        }
        Ok(())
    }
}

/// The pfns of the kernel image (from VMCOREINFO's image symbols), from
/// 2 MiB below the lowest to 64 MiB past the highest.
fn kernel_image(src: &Dump) -> Range<u64> {
    let mem = KernelMemory::new(src).unwrap();
    let phys: Vec<u64> = src
        .vmcoreinfo()
        .unwrap()
        .symbols
        .values()
        .filter_map(|&v| mem.kernel_image_to_phys(v))
        .collect();
    let lo = phys.iter().min().expect("image symbols") / PAGE;
    let hi = phys.iter().max().unwrap() / PAGE;
    lo.saturating_sub(512)..hi + 16384
}

/// The pfns of the `mem_section` root array (SPARSEMEM_EXTREME: VMCOREINFO's
/// `SYMBOL(mem_section)` is its direct-map address) and of the section
/// arrays its first entries point at, which makedumpfile reads before it
/// prints the log; and their virtual addresses.
fn mem_section_pages(src: &Dump, mem: &KernelMemory) -> (Vec<u64>, Vec<u64>) {
    let root = src.vmcoreinfo().unwrap().symbol("mem_section").unwrap();
    let mut vaddrs = vec![root];
    for i in 0..8 {
        let p = mem.read_u64(root + 8 * i).unwrap();
        if p != 0 {
            vaddrs.push(p);
        }
    }
    let pfns = vaddrs
        .iter()
        .map(|&v| mem.translate(v).unwrap() / PAGE)
        .collect();
    (pfns, vaddrs)
}

const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;

/// The pfns of the page-table pages a 4-level walk of `vaddr` reads
/// (makedumpfile walks them on kernels it does not know, such as 6.12).
fn table_pages(src: &Dump, mem: &KernelMemory, vaddr: u64) -> Vec<u64> {
    let mut table = mem.top_pgt_paddr();
    let mut out = vec![table / PAGE];
    for (level, shift) in [(4, 39), (3, 30), (2, 21), (1, 12)] {
        let mut e = [0u8; 8];
        if src
            .phys()
            .read_phys(table + ((vaddr >> shift) & 511) * 8, &mut e)
            .is_err()
        {
            break;
        }
        let e = u64::from_le_bytes(e);
        let huge = (level == 3 || level == 2) && e & 0x80 != 0;
        if e & 1 == 0 || level == 1 || huge {
            break;
        }
        table = e & 0x000f_ffff_ffff_f000;
        out.push(table / PAGE);
    }
    out
}

fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// Checks `out` against `src` pfn by pfn: a page the source holds, `keep`
/// keeps and (with `exclude_zero`) is not all zero reads back identical;
/// every other pfn is an error naming it. Zero pages `exclude_zero` left out
/// are errors in ELF files; kdump files, as makedumpfile writes them, point
/// them at the shared zero page (they read as zeros, [`PageState::Zero`]).
/// Returns (pages read back, shared zero pages among them, zero pages left
/// out).
fn verify(src: &Dump, out: &Dump, keep: &dyn Fn(u64) -> bool, exclude_zero: bool) -> [u64; 3] {
    let name = out.path().display().to_string();
    assert_eq!(out.vmcoreinfo(), src.vmcoreinfo(), "{name}: VMCOREINFO");
    assert_eq!(out.page_size(), PAGE);
    assert_eq!(out.machine(), "x86_64", "{name}");
    let kdump = out.kdump_header().is_some();
    let mut n = [0u64; 3];
    let mut a = vec![0u8; PAGE as usize];
    let mut b = vec![0u8; PAGE as usize];
    for pfn in 0..src.max_pfn().max(out.max_pfn()) {
        let paddr = pfn * PAGE;
        let in_src = src.phys().page_state(pfn).is_readable();
        let mut expect = in_src && keep(pfn);
        if expect {
            src.phys().read_phys(paddr, &mut a).unwrap();
            if exclude_zero && is_zero(&a) {
                expect = false;
                n[2] += 1;
                if kdump {
                    assert_eq!(out.phys().page_state(pfn), PageState::Zero, "{name}");
                    out.phys().read_phys(paddr, &mut b).unwrap();
                    assert!(is_zero(&b), "{name}: pfn {pfn:#x}");
                    continue;
                }
            }
        }
        if expect {
            out.phys()
                .read_phys(paddr, &mut b)
                .unwrap_or_else(|e| panic!("{name}: pfn {pfn:#x}: {e}"));
            assert!(a == b, "{name}: page {paddr:#x} differs from the source");
            n[0] += 1;
            if out.phys().page_state(pfn) == PageState::Zero {
                n[1] += 1;
            }
        } else {
            let e = out
                .phys()
                .read_phys(paddr + 16, &mut b[..8])
                .expect_err(&format!("{name}: pfn {pfn:#x} must not read"));
            match e {
                DumpError::NotPresent { paddr: p, .. } => assert_eq!(p, paddr + 16, "{name}"),
                other => panic!("{name}: pfn {pfn:#x}: {other}"),
            }
            assert!(!out.phys().page_state(pfn).is_readable(), "{name}");
        }
    }
    n
}

/// An ELF output's `PT_LOAD`s cover excluded memory as makedumpfile's do:
/// each segment's `p_memsz` tail (beyond `p_filesz`) holds only pages the
/// source has as memory and the output did not write (so they read as
/// zeros), and it reaches as far as it may: a page of the source's memory in
/// no segment follows no written or covered page. Returns the covered pages.
fn check_elf_memsz(src: &Dump, out: &Dump, keep: &dyn Fn(u64) -> bool, exclude_zero: bool) -> u64 {
    let name = out.path().display().to_string();
    let mut page = vec![0u8; PAGE as usize];
    let mut covered = 0u64;
    for s in out.elf_segments().unwrap().iter().filter(|s| s.p_type == 1) {
        assert!(s.p_memsz >= s.p_filesz, "{name}: {s:?}");
        assert_eq!(s.p_memsz % PAGE, 0, "{name}: {s:?}");
        for pfn in (s.p_paddr + s.p_filesz) / PAGE..(s.p_paddr + s.p_memsz) / PAGE {
            let state = src.phys().page_state(pfn);
            assert!(
                state.is_readable() || state == PageState::Excluded,
                "{name}: pfn {pfn:#x} in the p_memsz of {s:?} is {state:?} in the source"
            );
            let written = state.is_readable()
                && keep(pfn)
                && !(exclude_zero && {
                    src.phys().read_phys(pfn * PAGE, &mut page).unwrap();
                    is_zero(&page)
                });
            assert!(
                !written,
                "{name}: written pfn {pfn:#x} in the p_memsz tail of {s:?}"
            );
            assert_eq!(
                out.phys().page_state(pfn),
                PageState::Excluded,
                "{name}: pfn {pfn:#x}"
            );
            covered += 1;
        }
    }
    for pfn in 1..src.max_pfn() {
        let memory = |p| {
            let st = src.phys().page_state(p);
            st.is_readable() || st == PageState::Excluded
        };
        if memory(pfn) && out.phys().page_state(pfn) == PageState::NotInDump {
            assert!(
                !memory(pfn - 1) || out.phys().page_state(pfn - 1) == PageState::NotInDump,
                "{name}: pfn {pfn:#x} is in no segment but follows pfn {:#x} ({:?})",
                pfn - 1,
                out.phys().page_state(pfn - 1)
            );
        }
    }
    covered
}

/// Runs makedumpfile with `args`; panics with its stderr when it fails.
fn makedumpfile(args: &[&str], stdin: Option<&Path>) {
    let mut cmd = Command::new("makedumpfile");
    cmd.args(args);
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run makedumpfile (scripts/fixtures.sh tools): {e}"));
    assert!(
        out.status.success(),
        "makedumpfile {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `makedumpfile --dump-dmesg` of `path` equals the fixture's log.
fn check_dmesg(v: &Vmcore, path: &Path) {
    let txt = path.with_extension("dmesg.txt");
    let _ = std::fs::remove_file(&txt);
    makedumpfile(
        &[
            "--dump-dmesg",
            path.to_str().unwrap(),
            txt.to_str().unwrap(),
        ],
        None,
    );
    let ours = std::fs::read(&txt).unwrap();
    let want = std::fs::read(v.dir.join("dmesg.txt")).unwrap();
    assert!(
        ours == want,
        "makedumpfile --dump-dmesg {}: the log differs from {}",
        path.display(),
        v.dir.join("dmesg.txt").display()
    );
    std::fs::remove_file(&txt).unwrap();
}

/// Makes sure `python3 -c 'import drgn'` works, installing the tools with
/// the fixture script if not.
fn ensure_drgn() {
    let ok = || {
        Command::new("python3")
            .args(["-c", "import drgn"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok() {
        return;
    }
    let script = repo_root().join("scripts/fixtures.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("tools")
        .output()
        .expect("run scripts/fixtures.sh tools");
    assert!(
        out.status.success() && ok(),
        "drgn is not importable by python3 and `scripts/fixtures.sh tools` did not install it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const DRGN_READ: &str = r#"
import drgn, sys
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
for a in sys.argv[2:]:
    try:
        print(prog.read(int(a, 0), 16, True).hex())
    except drgn.FaultError:
        print("FAULT")
"#;

/// drgn reads 16 bytes at each of `addrs` (physical) of `out` exactly as
/// our reader does; a page we lack faults in drgn too, except excluded
/// memory of an ELF file (a `p_memsz` tail), which drgn reads as the zeros
/// the ELF format says it is and our reader reports as excluded.
fn check_drgn(out: &Dump, addrs: &[u64]) {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", DRGN_READ]).arg(out.path());
    cmd.args(addrs.iter().map(|a| format!("{a:#x}")));
    let res = cmd.output().expect("run python3");
    assert!(
        res.status.success(),
        "drgn cannot open {}: {}",
        out.path().display(),
        String::from_utf8_lossy(&res.stderr)
    );
    let text = String::from_utf8(res.stdout).unwrap();
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got.len(), addrs.len(), "{text}");
    for (&a, drgn) in addrs.iter().zip(got) {
        let mut b = [0u8; 16];
        let ours = match out.phys().read_phys(a, &mut b) {
            Ok(()) => b.iter().map(|x| format!("{x:02x}")).collect::<String>(),
            Err(e) if out.format() == DumpFormat::Elf && e.absence() == Some(Absence::Excluded) => {
                "00".repeat(16)
            }
            Err(_) => "FAULT".to_string(),
        };
        assert_eq!(drgn, ours, "{}: drgn at {a:#x}", out.path().display());
    }
}

/// Physical addresses to compare with drgn: inside kept non-zero pages,
/// in pages left out, in a hole.
fn sample_addrs(src: &Dump, keep: &dyn Fn(u64) -> bool) -> Vec<u64> {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut b = vec![0u8; PAGE as usize];
    for pfn in (0x100..src.max_pfn()).step_by(997) {
        if !src.phys().page_state(pfn).is_readable() {
            continue;
        }
        src.phys().read_phys(pfn * PAGE, &mut b).unwrap();
        let off = splitmix(pfn) % (PAGE - 16);
        if keep(pfn) && !is_zero(&b[off as usize..off as usize + 16]) {
            kept.push(pfn * PAGE + off);
        } else if !keep(pfn) {
            dropped.push(pfn * PAGE + off);
        }
    }
    kept.truncate(40);
    dropped.truncate(10);
    assert!(kept.len() >= 20, "{kept:?}");
    kept.extend(dropped);
    kept.push(0x3000_0000);
    kept
}

/// The kdump formats with the options each is written with: every codec,
/// zero pages excluded or shared, various dump levels. (makedumpfile's
/// `--dump-dmesg` needs the zero pages of the kernel's log buffer: the zlib
/// and LZO files it reads keep them.)
const KDUMPS: [(Compression, bool, u32); 5] = [
    (Compression::None, true, 1),
    (Compression::Zlib, false, 30),
    (Compression::Lzo, false, 16),
    (Compression::Snappy, true, 17),
    (Compression::Zstd, false, 8),
];

fn name_of(format: OutputFormat) -> String {
    match format {
        OutputFormat::Elf => "elf".into(),
        OutputFormat::Kdump(c) => format!("kdump-{}", c.name()),
    }
}

/// Writes `format` from `src` with `sel` into `dir`: plain on one thread
/// and flattened on two. Checks the plain file pfn by pfn, the flattened
/// one through our reader (sampled) and, reassembled by `makedumpfile -R`,
/// byte for byte against the plain one. Returns the plain file and stats.
fn write_and_check(
    src: &Dump,
    dir: &Path,
    format: OutputFormat,
    exclude_zero: bool,
    dump_level: u32,
    sel: &Sieve,
) -> (PathBuf, WriteStats) {
    let name = name_of(format);
    let plain = dir.join(&name);
    let flat = dir.join(format!("{name}.flat"));
    let mut opts = WriteOptions {
        format,
        exclude_zero,
        dump_level,
        ..WriteOptions::default()
    };
    let t = Instant::now();
    let stats = write_dump(src, sel, &opts, Output::Path(plain.clone()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let t_write = t.elapsed();
    assert_eq!(
        stats.bytes_written,
        std::fs::metadata(&plain).unwrap().len()
    );
    opts.flattened = true;
    opts.threads = 2;
    let t = Instant::now();
    let fstats = write_dump(src, sel, &opts, Output::Path(flat.clone())).unwrap();
    let t_flat = t.elapsed();
    assert_eq!(
        WriteStats {
            bytes_written: stats.bytes_written,
            ..fstats.clone()
        },
        stats,
        "{name}: the flattened and the plain writes differ"
    );

    let t = Instant::now();
    let out = open(&plain);
    let keep = |pfn| sel.keeps(pfn);
    let n = verify(src, &out, &keep, exclude_zero);
    assert_eq!(n[0], stats.pages_written, "{name}: {stats:?}");
    assert_eq!(n[2], stats.zero_pages_excluded, "{name}: {stats:?}");
    assert_eq!(stats.unreadable, 0);
    match out.kdump_header() {
        Some(h) => {
            assert_eq!(out.format(), DumpFormat::Kdump);
            assert_eq!(h.header_version, 6);
            assert_eq!(h.dump_level, dump_level as i32, "{name}");
            assert!(!h.incomplete());
            assert_eq!(Some(h.phys_base), src.vmcoreinfo().unwrap().phys_base);
            assert_eq!(h.nr_cpus, 1);
            assert_eq!(h.utsname.sysname, "Linux");
            assert_eq!(
                Some(&h.utsname.release),
                src.vmcoreinfo().unwrap().osrelease.as_ref()
            );
            assert_eq!(h.utsname.machine, "x86_64");
            assert_eq!(n[1], stats.zero_pages_shared, "{name}");
            assert!(out.kdump().unwrap().zero_page_offset().is_some(), "{name}");
            if !exclude_zero {
                assert!(stats.zero_pages_shared > 10_000, "{name}: {stats:?}");
            }
        }
        None => {
            assert_eq!(out.format(), DumpFormat::Elf);
            let loads = out.elf_segments().unwrap().iter().filter(|s| s.p_type == 1);
            assert_eq!(loads.count(), stats.elf_segments);
            for s in out.elf_segments().unwrap() {
                // qemu's ELF has p_vaddr = p_paddr: so do the pieces.
                assert_eq!(s.p_vaddr, s.p_paddr);
            }
            check_elf_memsz(src, &out, &keep, exclude_zero);
            let head = std::fs::read(&plain).map(|b| b[..64].to_vec()).unwrap();
            assert_eq!(u64::from_le_bytes(head[32..40].try_into().unwrap()), 64);
        }
    }
    assert_eq!(out.notes(), src.notes(), "{name}: notes");
    let t_verify = t.elapsed();

    // The flattened file: through our reader, then reassembled.
    let f = open(&flat);
    assert!(f.format().is_flattened(), "{name}");
    assert_eq!(f.vmcoreinfo(), src.vmcoreinfo());
    let mut a = vec![0u8; PAGE as usize];
    let mut b = vec![0u8; PAGE as usize];
    for pfn in (0..src.max_pfn()).step_by(89) {
        match (
            out.phys().read_phys(pfn * PAGE, &mut a),
            f.phys().read_phys(pfn * PAGE, &mut b),
        ) {
            (Ok(()), Ok(())) => assert!(a == b, "{name}.flat: pfn {pfn:#x}"),
            (Err(_), Err(_)) => {}
            (x, y) => panic!("{name}.flat: pfn {pfn:#x}: {x:?} vs {y:?}"),
        }
    }
    let reassembled = dir.join(format!("{name}.reassembled"));
    makedumpfile(&["-R", reassembled.to_str().unwrap()], Some(&flat));
    assert!(
        std::fs::read(&reassembled).unwrap() == std::fs::read(&plain).unwrap(),
        "{name}: makedumpfile -R of our flattened file differs from our plain file"
    );
    std::fs::remove_file(&reassembled).unwrap();
    std::fs::remove_file(&flat).unwrap();
    eprintln!(
        "{name}: {} pages ({} shared zero, {} zero left out), {} segments, {} bytes; \
         wrote in {t_write:.2?} (flattened, 2 threads: {t_flat:.2?}), checked in {t_verify:.2?}",
        stats.pages_written,
        stats.zero_pages_shared,
        stats.zero_pages_excluded,
        stats.elf_segments,
        stats.bytes_written
    );
    (plain, stats)
}

/// Every format from the ELF fixture of `suite`, checked by our reader,
/// makedumpfile and drgn; then ELF and kdump from the kdump-LZO fixture.
fn all_formats(suite: &'static str) {
    let v = vmcore(suite);
    ensure_drgn();
    let dir = scratch(suite);
    let src = open(&v.elf());
    let sel = Sieve::new(&src, false);
    let keep = |pfn| sel.keeps(pfn);
    let addrs = sample_addrs(&src, &keep);

    let (elf, stats) = write_and_check(&src, &dir, OutputFormat::Elf, false, 0, &sel);
    assert!(stats.elf_segments > 5_000, "{stats:?}");
    check_dmesg(&v, &elf);
    check_drgn(&open(&elf), &addrs);
    std::fs::remove_file(&elf).unwrap();

    for (c, exclude_zero, level) in KDUMPS {
        let (path, _) = write_and_check(
            &src,
            &dir,
            OutputFormat::Kdump(c),
            exclude_zero,
            level,
            &sel,
        );
        if matches!(c, Compression::Zlib | Compression::Lzo) {
            // Debian's makedumpfile is built without snappy and zstd.
            check_dmesg(&v, &path);
        }
        check_drgn(&open(&path), &addrs);
        std::fs::remove_file(&path).unwrap();
    }

    // More than 65534 segments: PN_XNUM.
    let alt = Sieve::new(&src, true);
    let xnum = dir.join("xnum.elf");
    let opts = WriteOptions {
        format: OutputFormat::Elf,
        ..WriteOptions::default()
    };
    let stats = write_dump(&src, &alt, &opts, Output::Path(xnum.clone())).unwrap();
    assert!(stats.elf_segments > 65_535, "{stats:?}");
    let head = std::fs::read(&xnum).map(|b| b[..64].to_vec()).unwrap();
    assert_eq!(u16::from_le_bytes([head[56], head[57]]), 0xffff, "e_phnum");
    let out = open(&xnum);
    assert_eq!(out.elf_segments().unwrap().len(), stats.elf_segments + 1);
    let n = verify(&src, &out, &|p| alt.keeps(p), false);
    assert_eq!(n[0], stats.pages_written);
    check_elf_memsz(&src, &out, &|p| alt.keeps(p), false);
    check_dmesg(&v, &xnum);
    check_drgn(&out, &sample_addrs(&src, &|p| alt.keeps(p)));
    std::fs::remove_file(&xnum).unwrap();

    // From a kdump-compressed source: ELF (p_vaddr = p_paddr: the source has
    // no virtual addresses) and snappy kdump, zero pages left out.
    let lzo = open(&v.kdump_lzo());
    for format in [OutputFormat::Elf, OutputFormat::Kdump(Compression::Snappy)] {
        let path = dir.join(format!("from-lzo-{}", name_of(format)));
        let opts = WriteOptions {
            format,
            exclude_zero: true,
            dump_level: 1,
            ..WriteOptions::default()
        };
        let stats = write_dump(&lzo, &KeepAll, &opts, Output::Path(path.clone())).unwrap();
        let out = open(&path);
        let n = verify(&lzo, &out, &|_| true, true);
        assert_eq!(n[0], stats.pages_written);
        if format == OutputFormat::Elf {
            // Only the zero pages are left out: all of them are covered.
            let covered = check_elf_memsz(&lzo, &out, &|_| true, true);
            assert_eq!(covered, stats.zero_pages_excluded, "{stats:?}");
        }
        assert!(stats.zero_pages_excluded > 10_000, "{stats:?}");
        if let Some(h) = out.kdump_header() {
            assert_eq!(h.utsname, lzo.kdump_header().unwrap().utsname);
        }
        check_drgn(&out, &addrs);
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bookworm_every_format_reads_back_everywhere() {
    all_formats("bookworm");
}

#[test]
fn trixie_every_format_reads_back_everywhere() {
    all_formats("trixie");
}

/// The newest kernel Debian ships (sid), whatever its version today.
#[test]
fn sid_every_format_reads_back_everywhere() {
    all_formats("sid");
}

/// Files in `dir`.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A 2 MiB tmpfs mounted for the lifetime of the value (the suite runs as
/// root, as CI does); unmounted on drop, panics included.
struct TinyDisk(PathBuf);

impl TinyDisk {
    fn mount(dir: PathBuf) -> TinyDisk {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2M", "tmpfs"])
            .arg(&dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a 2 MiB tmpfs on {} (the test needs root): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        TinyDisk(dir)
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A disk that fills up in the middle of a write: the error names the
/// output and the OS error, and no file is left, on one thread and on two
/// (where the failing write happens while the next batch is compressed).
#[test]
fn a_full_disk_leaves_nothing_behind() {
    let v = vmcore("bookworm");
    let src = open(&v.elf());
    let disk = TinyDisk::mount(scratch("full-disk"));
    let out = disk.0.join("vmcore");
    for format in [OutputFormat::Kdump(Compression::Zlib), OutputFormat::Elf] {
        for threads in [1, 2] {
            let opts = WriteOptions {
                format,
                threads,
                ..WriteOptions::default()
            };
            let e = write_dump(&src, &KeepAll, &opts, Output::Path(out.clone())).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, WriteError::Io { .. }), "{format:?}: {text}");
            assert!(
                text.contains(&out.display().to_string()) && text.contains("No space left"),
                "{format:?} on {threads} threads: {text}"
            );
            assert_eq!(
                files(&disk.0),
                Vec::<String>::new(),
                "{format:?}, {threads} threads"
            );
        }
    }
}

#[test]
fn failed_writes_leave_nothing_behind() {
    let v = vmcore("bookworm");
    let src = open(&v.elf());
    let dir = scratch("atomic");
    let windows = src.max_pfn().div_ceil(1 << 16) as usize;
    assert!(windows > 4, "{windows} windows");
    for (format, flattened) in [
        (OutputFormat::Kdump(Compression::Lzo), false),
        (OutputFormat::Elf, true),
    ] {
        // Remembering every window, the selector is asked once per window.
        let calls = AtomicUsize::new(0);
        let counting = |_: u64, keep: &mut [u64]| {
            calls.fetch_add(1, Ordering::SeqCst);
            keep.fill(u64::MAX);
            Ok(())
        };
        let remembering = WriteOptions {
            format,
            flattened,
            window_pfns: 1 << 16,
            ..WriteOptions::default()
        };
        let out = dir.join("out");
        write_dump(&src, &counting, &remembering, Output::Path(out.clone())).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), windows, "{format:?}");
        std::fs::remove_file(&out).unwrap();
        // Room for two windows' bitmaps: the others are asked for again.
        calls.store(0, Ordering::SeqCst);
        let two = WriteOptions {
            remember_words: 2 * (1 << 16) / 64,
            ..remembering.clone()
        };
        write_dump(&src, &counting, &two, Output::Path(out.clone())).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2 * windows - 2, "{format:?}");
        std::fs::remove_file(&out).unwrap();
        // Remembering nothing, it is asked twice per window.
        let opts = WriteOptions {
            remember_words: 0,
            ..remembering
        };
        // Fails for window 3: in the first pass, then in the second (after
        // all of RAM, the first three windows, was written).
        for fail_at in [3, windows + 3] {
            let calls = AtomicUsize::new(0);
            let sel = |start: u64, keep: &mut [u64]| {
                if calls.fetch_add(1, Ordering::SeqCst) == fail_at {
                    return Err(WriteError::selector(format!(
                        "no answer for pfn {start:#x}"
                    )));
                }
                keep.fill(u64::MAX);
                Ok(())
            };
            let out = dir.join("out");
            let e = write_dump(&src, &sel, &opts, Output::Path(out.clone())).unwrap_err();
            assert!(matches!(e, WriteError::Selector { .. }), "{e}");
            assert!(e.to_string().contains("no answer for pfn 0x30000"), "{e}");
            assert_eq!(
                files(&dir),
                Vec::<String>::new(),
                "{format:?} failing at call {fail_at}"
            );
        }
        // A selector that answers differently the second time.
        let calls = AtomicUsize::new(0);
        let fickle = |_: u64, keep: &mut [u64]| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            keep.fill(if n < windows {
                u64::MAX
            } else {
                0x5555_5555_5555_5555
            });
            Ok(())
        };
        let e = write_dump(&src, &fickle, &opts, Output::Path(dir.join("out"))).unwrap_err();
        assert!(
            matches!(e, WriteError::Inconsistent { start_pfn: 0, .. }),
            "{e}"
        );
        assert_eq!(files(&dir), Vec::<String>::new());
    }

    // An output in a missing directory: the error names the path.
    let missing = dir.join("no/such/dir/vmcore");
    let e = write_dump(
        &src,
        &KeepAll,
        &WriteOptions::default(),
        Output::Path(missing.clone()),
    )
    .unwrap_err();
    assert!(matches!(e, WriteError::NoSuchDirectory { .. }), "{e}");
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
    assert!(e.to_string().contains("does not exist"), "{e}");
    // Standard output needs the flattened format.
    let e = write_dump(&src, &KeepAll, &WriteOptions::default(), Output::Stdout).unwrap_err();
    assert!(matches!(e, WriteError::Options(_)), "{e}");
    assert!(e.to_string().contains("flattened"), "{e}");
    assert_eq!(files(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn rss_anon_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("RssAnon in /proc/self/status")
}

/// Peak anonymous memory (above what the open source dump takes) while
/// writing a 768 MiB dump on one thread stays under 16 MiB. Measured in a
/// child process running only this test, so other tests' memory does not
/// count.
#[test]
fn memory_stays_bounded() {
    const CHILD: &str = "DUMPTOOL_WRITERS_MEMORY_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([
                "--exact",
                "memory_stays_bounded",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("peak anonymous memory"), "{text}");
        eprintln!("{text}");
        return;
    }
    let v = vmcore("bookworm");
    let src = open(&v.elf());
    let dir = scratch("memory");
    for format in [OutputFormat::Kdump(Compression::Zlib), OutputFormat::Elf] {
        let base = rss_anon_kib();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let peak = std::thread::scope(|s| {
            let sampler = s.spawn(|| {
                let mut peak = 0;
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(rss_anon_kib());
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                peak
            });
            let opts = WriteOptions {
                format,
                ..WriteOptions::default()
            };
            write_dump(&src, &KeepAll, &opts, Output::Path(dir.join("out"))).unwrap();
            stop.store(true, Ordering::Relaxed);
            sampler.join().unwrap()
        });
        let grew = peak.saturating_sub(base);
        eprintln!(
            "{}: peak anonymous memory {grew} KiB above {base} KiB",
            name_of(format)
        );
        assert!(grew <= 16 << 10, "{}: {grew} KiB", name_of(format));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn excluded_pages_are_errors_not_zeros() {
    // A tiny check of the reasons our reader gives for what a written file
    // lacks: both formats keep excluded RAM as RAM that was excluded (ELF:
    // the p_memsz of the segment before it, to the end of the source's RAM
    // segment; kdump: the 1st bitmap), and our reader says so rather than
    // reading zeros. Memory the source lacks is not in the dump.
    let v = vmcore("trixie");
    let src = open(&v.elf());
    let dir = scratch("reasons");
    let only_first_mib = |start: u64, keep: &mut [u64]| {
        if start == 0 {
            keep[..4].fill(u64::MAX);
        }
        Ok(())
    };
    // The source's RAM segment: 0 to 768 MiB.
    let ram_end = 768 << 20;
    assert_eq!(
        src.phys().page_state(ram_end / PAGE - 1),
        PageState::Present
    );
    assert_eq!(src.phys().page_state(ram_end / PAGE), PageState::NotInDump);
    for format in [OutputFormat::Elf, OutputFormat::Kdump(Compression::Snappy)] {
        let path = dir.join(name_of(format));
        let opts = WriteOptions {
            format,
            ..WriteOptions::default()
        };
        let stats = write_dump(&src, &only_first_mib, &opts, Output::Path(path.clone())).unwrap();
        assert_eq!(stats.pages_written, 256);
        let out = open(&path);
        let mut b = [0u8; 8];
        let e = out.phys().read_phys(0x10_0000, &mut b).unwrap_err();
        assert_eq!(e.absence(), Some(Absence::Excluded), "{e}");
        assert!(e.to_string().contains("0x100000"), "{e}");
        assert_eq!(out.phys().ranges(), vec![0..0x10_0000]);
        assert_eq!(
            out.phys().page_state(ram_end / PAGE - 1),
            PageState::Excluded,
            "{format:?}"
        );
        let e = out.phys().read_phys(ram_end, &mut b).unwrap_err();
        assert_eq!(e.absence(), Some(Absence::NotInDump), "{format:?}: {e}");
        if format == OutputFormat::Elf {
            let loads: Vec<_> = out
                .elf_segments()
                .unwrap()
                .iter()
                .filter(|s| s.p_type == 1)
                .map(|s| (s.p_paddr, s.p_filesz, s.p_memsz))
                .collect();
            assert_eq!(loads, [(0, 0x10_0000, ram_end)]);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
