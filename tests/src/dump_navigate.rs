//! "Use everything" on an opened dump, for inputs that may be corrupt or
//! lying: shared by the normal suite's mutation test (`tests/dump_mutations.rs`)
//! and the `dump_open` fuzz target (`fuzz/`, which includes this file by
//! path). Nothing here may panic, whatever the dump says; errors are fine.

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;

/// Pfns visited per memory range (first ones and last ones), to keep one
/// input's work bounded whatever sizes its headers claim.
const PFNS_PER_RANGE: u64 = 32;

/// Reads every piece of metadata, a sample of pages of every range, the
/// pages around `max_pfn`, kernel virtual addresses named by VMCOREINFO,
/// and then the kernel (kallsyms, BTF, modules) if the dump gets that far.
/// Returns how many pages read successfully.
pub fn navigate(dump: &Dump) -> u64 {
    let _ = (
        dump.format(),
        dump.path(),
        dump.machine(),
        dump.eraseinfo().len(),
    );
    if let Some(info) = dump.vmcoreinfo() {
        let _ = (
            info.get("OSRELEASE"),
            info.symbol("_stext"),
            info.number("phys_base"),
        );
    }
    for n in dump.notes() {
        let _ = (n.name.len(), n.ntype, n.desc.len());
    }
    let _ = dump.notes().prstatus_count();
    if let Some(h) = dump.kdump_header() {
        let _ = (h.codec(), h.incomplete(), h.max_mapnr);
    }
    if let Some(k) = dump.kdump() {
        let _ = (k.dumped_pages(), k.zero_page_offset());
    }
    let _ = dump.elf_segments().map(<[_]>::len);

    let ps = dump.page_size();
    let mut read = 0;
    if (512..=1 << 16).contains(&ps) {
        let mut buf = vec![0u8; ps as usize];
        let mut visit = |pfn: u64| {
            if let Some(k) = dump.kdump() {
                let _ = k.descriptor(pfn);
            }
            let state = dump.phys().page_state(pfn);
            if let Some(pa) = pfn.checked_mul(ps) {
                let ok = dump.phys().read_phys(pa, &mut buf).is_ok();
                read += u64::from(ok);
                // A page said to be readable reads; an unreadable one is an
                // error, never bytes.
                let _ = state.is_readable() == ok;
                // A read across the page's end.
                let mut two = [0u8; 16];
                let _ = dump.phys().read_phys(pa.saturating_add(ps - 8), &mut two);
            }
        };
        for r in dump.phys().ranges() {
            let (first, last) = (r.start / ps, r.end.saturating_sub(1) / ps);
            for pfn in first..=last.min(first.saturating_add(PFNS_PER_RANGE)) {
                visit(pfn);
            }
            for pfn in last.saturating_sub(PFNS_PER_RANGE).max(first)..=last {
                visit(pfn);
            }
        }
        let m = dump.max_pfn();
        for pfn in m.saturating_sub(2)..m.saturating_add(2) {
            visit(pfn);
        }
    }

    if let Ok(mem) = dump.kernel_memory() {
        let addrs: Vec<u64> = dump
            .vmcoreinfo()
            .map(|i| {
                [
                    "_stext",
                    "swapper_pg_dir",
                    "init_uts_ns",
                    "mem_section",
                    "vmemmap_base",
                ]
                .iter()
                .filter_map(|s| i.symbol(s))
                .collect()
            })
            .unwrap_or_default();
        for a in addrs
            .into_iter()
            .chain([0, u64::MAX - 7, 0xffff_8880_0000_0000])
        {
            let _ = mem.translate(a);
            let _ = mem.read_bytes(a, 64);
            let _ = mem.walk(a);
        }
    }
    if let Ok(kernel) = CrashedKernel::open(dump) {
        let _ = (kernel.kallsyms().len(), kernel.modules().len());
        let _ = kernel.kallsyms().lookup_all("init_task");
        let _ = kernel.spanned_end_pfn();
        let _ = kernel.resolve_all();
    }
    read
}
