//! Lying and damaged dumps: small real dumps (a few dozen pages of the
//! fixture of every kernel, written by our writers in every format) are corrupted
//! thousands of ways (bytes overwritten in the headers, bitmaps,
//! descriptors, notes and pages; truncated; bytes inserted) and opened from
//! memory. Each either opens, and then everything in it can be used without
//! a panic (`ktype_tests::dump_navigate`), or is an error that names the
//! dump. The same small dumps seed the `dump_open` fuzz target
//! (`target/fuzz-corpus/dump_open/`, see `fuzz/README.md`).

use dumptool::dump::Dump;
use dumptool::write::{write_dump, Compression, Output, OutputFormat, WriteError, WriteOptions};
use ktype_tests::dump_navigate::navigate;
use ktype_tests::fixtures::{repo_root, vmcore};
use std::path::PathBuf;

/// xorshift64*: deterministic, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The small dumps, one per output format, with the pages the kernel's
/// first steps need (the top page table, utsname, the start of the text)
/// and the first pages of every memory range.
fn small_dumps(suite: &'static str) -> Vec<(String, Vec<u8>)> {
    let v = vmcore(suite);
    let src = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
    let mem = src.kernel_memory().unwrap_or_else(|e| panic!("{e}"));
    let info = src.vmcoreinfo().expect("VMCOREINFO");
    let ps = src.page_size();
    let mut keep: Vec<u64> = ["swapper_pg_dir", "init_uts_ns", "_stext", "init_task"]
        .iter()
        .filter_map(|s| info.symbol(s))
        .filter_map(|a| mem.translate(a).ok())
        .map(|pa| pa / ps)
        .collect();
    for r in src.phys().ranges() {
        keep.extend((r.start / ps..r.end / ps).take(8));
    }
    keep.sort_unstable();
    keep.dedup();
    let selector = |start: u64, bits: &mut [u64]| -> Result<(), WriteError> {
        for &pfn in &keep {
            if let Some(i) = pfn
                .checked_sub(start)
                .filter(|&i| i < bits.len() as u64 * 64)
            {
                bits[(i / 64) as usize] |= 1 << (i % 64);
            }
        }
        Ok(())
    };
    let dir = repo_root().join(format!("target/dump-mutations/{suite}"));
    std::fs::create_dir_all(&dir).expect("mkdir target/dump-mutations");
    let mut out = Vec::new();
    for (name, format, flattened) in [
        ("elf", OutputFormat::Elf, false),
        ("kdump-zlib", OutputFormat::Kdump(Compression::Zlib), false),
        ("kdump-lzo", OutputFormat::Kdump(Compression::Lzo), false),
        (
            "kdump-snappy",
            OutputFormat::Kdump(Compression::Snappy),
            false,
        ),
        ("kdump-zstd", OutputFormat::Kdump(Compression::Zstd), false),
        ("kdump-none", OutputFormat::Kdump(Compression::None), false),
        ("flat-kdump", OutputFormat::Kdump(Compression::Zlib), true),
        ("flat-elf", OutputFormat::Elf, true),
    ] {
        let path = dir.join(name);
        let opts = WriteOptions {
            format,
            flattened,
            eraseinfo: b"erase jiffies_64 size 8\n".to_vec(),
            ..WriteOptions::default()
        };
        write_dump(&src, &selector, &opts, Output::Path(path.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((
            format!("{suite}-{name}"),
            std::fs::read(&path).expect("read back"),
        ));
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
    out
}

/// One damaged copy of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    match rng.below(10) {
        // Cut anywhere.
        0 => d.truncate(rng.below(d.len())),
        // Bytes inserted or removed inside.
        1 => {
            let at = rng.below(d.len());
            if rng.below(2) == 0 {
                let n = 1 + rng.below(64);
                d.splice(at..at, (0..n).map(|_| rng.next() as u8));
            } else {
                let end = (at + 1 + rng.below(256)).min(d.len());
                d.drain(at..end);
            }
        }
        // Header fields (the first two blocks): little-endian words set to
        // boundary values, where lies do the most damage.
        2..=5 => {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(8192.min(d.len()).saturating_sub(8)) & !3;
                let v: u64 = match rng.below(6) {
                    0 => 0,
                    1 => u64::MAX,
                    2 => 1 << rng.below(64),
                    3 => (i32::MAX as u64) + rng.below(3) as u64,
                    4 => d.len() as u64 + rng.below(4096) as u64,
                    _ => rng.next(),
                };
                let n = if rng.below(2) == 0 { 4 } else { 8 };
                if at + n <= d.len() {
                    d[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
                }
            }
        }
        // Random bytes anywhere (bitmaps, descriptors, compressed pages).
        _ => {
            for _ in 0..1 + rng.below(16) {
                let at = rng.below(d.len());
                if let Some(b) = d.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
        }
    }
    d
}

fn damaged_dumps_open_or_fail_cleanly_never_panic(suite: &'static str) {
    // 300 damaged copies per format on 6.1, 100 on the other kernels: the
    // suite's time (the dump_open fuzz target goes further from the same seeds).
    let mutations: usize = if suite == "bookworm" { 300 } else { 100 };
    let seeds = small_dumps(suite);
    let corpus = repo_root().join("target/fuzz-corpus/dump_open");
    std::fs::create_dir_all(&corpus).expect("mkdir fuzz corpus");
    let mut rng = Rng(0x6b74_7970_6564_756d);
    for (name, seed) in &seeds {
        std::fs::write(corpus.join(name), seed).expect("write seed");
        let dump = Dump::from_bytes(name, seed.clone()).unwrap_or_else(|e| panic!("{e}"));
        let pages = navigate(&dump);
        assert!(
            pages >= 8,
            "{name}: only {pages} pages of the intact dump read"
        );
        assert_eq!(dump.eraseinfo(), b"erase jiffies_64 size 8\n", "{name}");

        let (mut opened, mut failed) = (0, 0);
        for i in 0..mutations {
            let bytes = mutate(&mut rng, seed);
            let label = PathBuf::from(format!("{name}#{i}"));
            match Dump::from_bytes(&label, bytes) {
                Ok(d) => {
                    navigate(&d);
                    opened += 1;
                }
                Err(e) => {
                    assert!(
                        e.to_string().starts_with(&label.display().to_string()),
                        "the error names the dump: {e}"
                    );
                    failed += 1;
                }
            }
        }
        eprintln!(
            "{name} ({} bytes): {mutations} damaged copies, {opened} opened and were navigated, {failed} refused",
            seed.len()
        );
        assert!(
            opened > 0 && failed > 0,
            "{name}: the mutations reach both outcomes"
        );
    }
}

#[test]
fn damaged_dumps_open_or_fail_cleanly_never_panic_on_6_1() {
    damaged_dumps_open_or_fail_cleanly_never_panic("bookworm");
}

#[test]
fn damaged_dumps_open_or_fail_cleanly_never_panic_on_6_12() {
    damaged_dumps_open_or_fail_cleanly_never_panic("trixie");
}

#[test]
fn damaged_dumps_open_or_fail_cleanly_never_panic_on_the_newest_kernel() {
    damaged_dumps_open_or_fail_cleanly_never_panic("sid");
}
