//! arm64 dumps (`scripts/fixtures.sh arm64`: Debian's arm64 kernels booted
//! in qemu-system-aarch64) read by the same binary that reads x86_64 ones,
//! the architecture chosen from each file:
//! - every format opens as aarch64 and holds the same pages;
//! - the kernel page tables agree with the kernel-image formula
//!   (`kimage_voffset`) and with the linear map (`PHYS_OFFSET`);
//! - the kernel is brought up from the dump alone, BTF included, also where
//!   kallsyms has text symbols only (no `__start_BTF`);
//! - the kernel log equals the arm64 makedumpfile's, byte for byte;
//! - outputs record the architecture (ELF `e_machine`, kdump `utsname`), and
//!   the arm64 makedumpfile reads them.
//!
//! Page sets against the arm64 makedumpfile are in `filter_vs_makedumpfile`.
use dumptool::arch::{Arch, KernelMemory, Method};
use dumptool::commands::dmesg;
use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use dumptool::write::{write_dump, Compression, KeepAll, Output, OutputFormat, WriteOptions};
use ktype_tests::fixtures::{
    arm64_vmcores, makedumpfile_sid_arm64, repo_root, vmcore_arm64, vmcore_arm64_without_lpa2,
    ARM64_SUITES,
};
use std::process::Command;

fn open(p: &std::path::Path) -> Dump {
    Dump::open(p).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn arm64_dumps_open_translate_and_bring_up_the_kernel() {
    for v in arm64_vmcores() {
        let suite = v.suite;
        let elf = open(&v.elf());
        let mut others = vec![open(&v.kdump_zlib()), open(&v.kdump_zlib_flat())];
        if v.kdump_lzo().exists() {
            others.push(open(&v.kdump_lzo()));
        }
        assert_eq!(Arch::of(&elf), Some(Arch::Arm64), "{suite}");
        // The same pages in every format (a sample across memory).
        let first = elf.phys().ranges()[0].start / elf.page_size();
        let (mut a, mut b) = (vec![0u8; 4096], vec![0u8; 4096]);
        for d in &others {
            // qemu's kdump files of arm64 guests have 64 KiB blocks and say "Unknown" for
            // the machine: the architecture then comes from VMCOREINFO.
            assert_eq!(
                Arch::of(d),
                Some(Arch::Arm64),
                "{suite}: {}",
                d.path().display()
            );
            for pfn in (first..elf.max_pfn()).step_by(997) {
                elf.phys().read_phys(pfn * 4096, &mut a).unwrap();
                d.phys().read_phys(pfn * 4096, &mut b).unwrap();
                assert!(
                    a == b,
                    "{suite}: pfn {pfn:#x} differs in {}",
                    d.path().display()
                );
            }
        }
        let mem = KernelMemory::new(&elf).unwrap_or_else(|e| panic!("{suite}: {e}"));
        let a64 = mem.arm64().expect("arm64 layout").clone();
        let info = elf.vmcoreinfo().unwrap();
        // An LPA2 kernel on a CPU without FEAT_LPA2 ran with 48 bits and 4
        // levels of classic entries (TCR_EL1_T1SZ in its VMCOREINFO says so);
        // with it (qemu's `max`), 52 bits and 5 levels.
        if a64.lpa2_kernel() {
            let without = v.info("cpu").is_some_and(|c| c.contains("lpa2=off"));
            let want = if without {
                (48, 4, false)
            } else {
                (52, 5, true)
            };
            assert_eq!(
                (a64.va_bits_actual, mem.levels(), a64.lpa2()),
                want,
                "{suite}"
            );
        }
        // Kernel image symbols: formula and page tables agree.
        for name in ["swapper_pg_dir", "_stext", "init_uts_ns", "prb"] {
            let va = info.symbol(name).unwrap();
            assert_eq!(
                Some(mem.walk(va).unwrap().paddr),
                mem.kernel_image_to_phys(va),
                "{suite}: {name}"
            );
        }
        // The linear map: confirmed and enabled; its translations equal the walk's.
        assert_eq!(mem.direct_map(), Some(a64.page_offset()), "{suite}");
        for pfn in (first..elf.max_pfn()).step_by(4099) {
            let va = a64
                .page_offset()
                .wrapping_add((pfn * 4096).wrapping_sub(a64.phys_offset));
            let t = mem.translate_ext(va).unwrap();
            assert_eq!(t.method, Method::DirectMap);
            if let Ok(w) = mem.walk(va) {
                assert_eq!(w.paddr, t.paddr, "{suite}: {va:#x}");
            }
        }
        let kernel = CrashedKernel::open(&elf).unwrap_or_else(|e| panic!("{suite}: {e}"));
        kernel
            .resolve_all()
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
        let uts = kernel.kallsyms().lookup("__start_BTF");
        eprintln!(
            "{suite}-arm64: VA_BITS {} ({} levels), {} kallsyms, __start_BTF {}, BTF {} bytes",
            a64.va_bits,
            mem.levels(),
            kernel.kallsyms().len(),
            if uts.is_some() {
                "in kallsyms"
            } else {
                "absent: found in the image"
            },
            kernel.vmlinux_btf().bytes().len()
        );
        // The struct page of the top table's page is reachable through vmemmap.
        let page = mem
            .struct_page_addr(mem.top_pgt_paddr() / 4096)
            .expect("vmemmap");
        mem.read_u64(page)
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
    }
}

#[test]
fn arm64_kernel_log_equals_makedumpfile() {
    for suite in ARM64_SUITES {
        let v = vmcore_arm64(suite);
        let Ok(want) = std::fs::read(v.dir.join("dmesg.txt")) else {
            eprintln!("{suite}-arm64: no anchor log ({:?})", v.info("anchor"));
            continue;
        };
        for p in [v.elf(), v.kdump_zlib()] {
            let log = dmesg::run(&p).unwrap_or_else(|e| panic!("{suite}: {e}"));
            assert!(
                log.text.as_bytes() == want.as_slice(),
                "{suite}: {} log differs from the arm64 makedumpfile's",
                p.display()
            );
        }
    }
}

#[test]
fn arm64_outputs_record_the_architecture() {
    let v = vmcore_arm64("bookworm");
    let src = open(&v.elf());
    let dir = repo_root().join("target/arm64-outputs");
    std::fs::create_dir_all(&dir).unwrap();
    for (format, name) in [
        (OutputFormat::Kdump(Compression::Zlib), "out.kdump"),
        (OutputFormat::Elf, "out.elf"),
    ] {
        let path = dir.join(name);
        let opts = WriteOptions {
            format,
            exclude_zero: true,
            dump_level: 1,
            ..WriteOptions::default()
        };
        write_dump(&src, &KeepAll, &opts, Output::Path(path.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = open(&path);
        assert_eq!(out.machine(), "aarch64", "{name}");
        if let Some(h) = out.kdump_header() {
            assert_eq!(h.utsname.machine, "aarch64");
            // As makedumpfile and qemu record it on arm64: PHYS_OFFSET.
            let phys_offset = src.vmcoreinfo().unwrap().number("PHYS_OFFSET").unwrap();
            assert_eq!(h.phys_base, phys_offset as u64);
        } else {
            let raw = std::fs::read(&path).unwrap();
            assert_eq!(u16::from_le_bytes([raw[18], raw[19]]), 183, "e_machine");
        }
        // The arm64 makedumpfile reads it as its own architecture's.
        if v.kdump_lzo().exists() {
            let log = dir.join(format!("{name}.dmesg"));
            let o = Command::new(makedumpfile_sid_arm64())
                .arg("--dump-dmesg")
                .arg(&path)
                .arg(&log)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(
                std::fs::read(&log).unwrap(),
                std::fs::read(v.dir.join("dmesg.txt")).unwrap(),
                "{name}"
            );
            std::fs::remove_file(&log).unwrap();
        }
        std::fs::remove_file(&path).unwrap();
    }
}

/// A process's memory through its own page tables
/// ([`KernelMemory::read_user`]), on both architectures: the workload's
/// anonymous pages, found at the address it printed on the guest console
/// through its `mm->pgd` (task list from `init_task`, offsets from BTF), start
/// with the tags it wrote. Kernels whose kallsyms has `init_task` (x86_64
/// bookworm; arm64 trixie and sid, built with `CONFIG_KALLSYMS_ALL`).
#[test]
fn user_memory_through_a_process_page_tables() {
    use ktype_runtime::btf::Kind;
    use ktype_tests::fixtures::{vmcore, Vmcore};
    let check = |v: Vmcore| {
        let console = std::fs::read_to_string(v.dir.join("console.log")).unwrap();
        let line = console
            .lines()
            .find(|l| l.starts_with("workload: anon"))
            .expect("workload line");
        let anon = u64::from_str_radix(
            line.split(" at 0x")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap(),
            16,
        )
        .unwrap();
        let pid = ktype_tests::guest::workload_pid_in(&console).unwrap() as i32;
        let dump = open(&v.elf());
        let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
        let btf = kernel.vmlinux_btf();
        let off = |ty: &str, path: &str| {
            let id = btf.find_unique(ty, Kind::Struct).unwrap().id();
            btf.member_path(id, path).unwrap().byte_offset()
        };
        let (tasks, pid_off, mm_off, pgd_off) = (
            off("task_struct", "tasks"),
            off("task_struct", "pid"),
            off("task_struct", "mm"),
            off("mm_struct", "pgd"),
        );
        let mem = kernel.memory();
        let head = kernel.kallsyms().lookup("init_task").unwrap() + tasks;
        let mut next = mem.read_u64(head).unwrap();
        let mut pgd = None;
        while next != head && pgd.is_none() {
            let task = next - tasks;
            if mem.read_i32(task + pid_off).unwrap() == pid {
                let mm = mem.read_u64(task + mm_off).unwrap();
                pgd = Some(mem.read_u64(mm + pgd_off).unwrap());
            }
            next = mem.read_u64(next).unwrap();
        }
        let pgd = pgd.unwrap_or_else(|| panic!("{}: no task with pid {pid}", v.suite));
        let page = 1u64
            << dump
                .vmcoreinfo()
                .unwrap()
                .page_size
                .unwrap()
                .trailing_zeros();
        for n in [0u64, 1, 77, 1000] {
            let mut b = [0u8; 32];
            mem.read_user(pgd, anon + n * page, &mut b)
                .unwrap_or_else(|e| panic!("{}: page {n}: {e}", v.suite));
            let tag = format!("KTYPE-ANON page={n}\0");
            assert_eq!(&b[..tag.len()], tag.as_bytes(), "{}: page {n}", v.suite);
        }
        // A kernel address is no user address.
        assert!(mem.translate_user(pgd, head).is_err());
        eprintln!(
            "{}: pid {pid}, pgd {pgd:#x}: anonymous pages read through it",
            v.suite
        );
    };
    check(vmcore("bookworm"));
    for s in ["trixie", "sid"] {
        check(vmcore_arm64(s));
        if let Some(v) = vmcore_arm64_without_lpa2(s) {
            check(v);
        }
    }
}
