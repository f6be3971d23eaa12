//! The kernel's own pages are never excluded, whatever their `struct page`
//! says. makedumpfile `-d 31` has dropped the page holding `idt_table` when a
//! stale PG_lru and a mapping sat on the struct page of a kernel-image page
//! (crash then cannot open the dump). On a copy of a real dump of every
//! fixture kernel, the struct pages of a kernel text page, of the page
//! holding `idt_table` (bss) and of the top kernel page table are given
//! PG_lru and a mapping: `dumptool filter -d 31` still keeps all three, with
//! their bytes, while the same struct page on an ordinary page is dropped as
//! page cache (so the patch really makes a page look like cache).

use dumptool::commands::filter::{run, FilterArgs};
use dumptool::dump::Dump;
use dumptool::filter::bindings::{Page, PageFlags};
use dumptool::kernel::CrashedKernel;
use ktype_tests::fixtures::{makedumpfile_sid, repo_root, vmcore};
use ktype_tests::patch::{apply, file_offset, Patch};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::process::Command;

fn check(suite: &'static str) {
    let v = vmcore(suite);
    let dir = repo_root().join("target/kernel-pages");
    std::fs::create_dir_all(&dir).expect("mkdir target/kernel-pages");
    let copy = dir.join(format!("{suite}.elf"));
    std::fs::copy(v.elf(), &copy).expect("copy the dump");

    // Where things are, read from the unpatched copy.
    let (targets, patches, control) = {
        let dump = Dump::open(&copy).unwrap_or_else(|e| panic!("{e}"));
        let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
        kernel.resolve_all().unwrap_or_else(|e| panic!("{e}"));
        let mem = kernel.memory();
        let sym = |n: &str| {
            kernel
                .kallsyms()
                .lookup(n)
                .unwrap_or_else(|| panic!("{suite}: no {n}"))
        };
        let pfn_of = |vaddr: u64| mem.translate(vaddr).unwrap_or_else(|e| panic!("{e}")) >> 12;
        let text = pfn_of(sym("schedule"));
        let idt = pfn_of(sym("idt_table"));
        let top = mem.top_pgt_paddr() >> 12;
        // The control: an ordinary kept page, the first page of the struct page array.
        let vmemmap = mem.vmemmap().expect("vmemmap");
        let control = pfn_of(vmemmap);
        let lru = PageFlags::PG_lru.mask();
        // Any kernel address with bit 0 clear serves as an address_space pointer.
        let mapping = sym("init_task") & !7;
        let mut patches: Vec<Patch> = Vec::new();
        let file = std::fs::File::open(&copy).expect("open the copy");
        for pfn in [text, idt, top, control] {
            let page = vmemmap + pfn * Page::size() as u64;
            let flags_at = file_offset(&dump, &kernel, page + Page::flags_offset() as u64);
            let map_at = file_offset(
                &dump,
                &kernel,
                page + Page::mapping_offset().expect("page.mapping") as u64,
            );
            let mut old = [0u8; 8];
            file.read_exact_at(&mut old, flags_at).expect("read flags");
            let flags = u64::from_le_bytes(old) | lru;
            patches.push((flags_at, flags.to_le_bytes().to_vec(), old.to_vec()));
            file.read_exact_at(&mut old, map_at).expect("read mapping");
            patches.push((map_at, mapping.to_le_bytes().to_vec(), old.to_vec()));
        }
        (
            vec![("text", text), ("idt_table", idt), ("top page table", top)],
            patches,
            control,
        )
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&copy)
        .expect("open the copy");
    apply(&file, &patches, false);

    let out = dir.join(format!("{suite}.d31"));
    let words = [
        "-f",
        "-d",
        "31",
        copy.to_str().unwrap(),
        out.to_str().unwrap(),
    ];
    run(&FilterArgs::from_words(words).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let ours = Dump::open(&out).unwrap_or_else(|e| panic!("{e}"));
    let src = Dump::open(&copy).unwrap_or_else(|e| panic!("{e}"));
    let ps = src.page_size();
    let (mut a, mut b) = (vec![0u8; ps as usize], vec![0u8; ps as usize]);
    for (what, pfn) in &targets {
        assert!(
            ours.phys().page_state(*pfn).is_readable(),
            "{suite}: the {what} page (pfn {pfn:#x}) with PG_lru and a mapping was dropped"
        );
        ours.phys().read_phys(pfn * ps, &mut a).expect("read ours");
        src.phys().read_phys(pfn * ps, &mut b).expect("read source");
        assert!(a == b, "{suite}: the {what} page's bytes differ");
    }
    assert!(
        !ours.phys().page_state(control).is_readable(),
        "{suite}: the control page {control:#x} with the same patch was kept: the patch does not make a page look like cache"
    );

    // What makedumpfile does with the same copy (told, not asserted: it is the anchor being wrong).
    let norm = dir.join(format!("{suite}.norm.elf"));
    let st = Command::new("python3")
        .arg(repo_root().join("scripts/normalize_elf.py"))
        .arg(&copy)
        .arg(&norm)
        .status()
        .expect("python3");
    assert!(st.success(), "normalize_elf.py failed");
    let theirs = dir.join(format!("{suite}.mdf31"));
    let _ = std::fs::remove_file(&theirs);
    let o = Command::new(makedumpfile_sid())
        .args(["-d", "31"])
        .arg(&norm)
        .arg(&theirs)
        .output()
        .expect("makedumpfile");
    if o.status.success() {
        let t = Dump::open(&theirs).unwrap_or_else(|e| panic!("{e}"));
        let dropped: Vec<&str> = targets
            .iter()
            .filter(|(_, p)| !t.phys().page_state(*p).is_readable())
            .map(|(w, _)| *w)
            .collect();
        eprintln!("{suite}: makedumpfile -d 31 on the same copy drops {dropped:?}; dumptool keeps all three");
    }
    for f in [&copy, &out, &norm, &theirs] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn kernel_pages_with_stale_flags_are_kept_on_6_1() {
    check("bookworm");
}

#[test]
fn kernel_pages_with_stale_flags_are_kept_on_6_12() {
    check("trixie");
}

#[test]
fn kernel_pages_with_stale_flags_are_kept_on_the_newest_kernel() {
    check("sid");
}
