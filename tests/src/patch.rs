//! Damaged copies of real ELF dumps: where a kernel virtual address lies in
//! the file, and byte patches that can be undone, so one copy serves many
//! cases.

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// File offset of kernel virtual address `vaddr` in an ELF dump (its
/// `PT_LOAD` that holds the translated physical address).
pub fn file_offset(dump: &Dump, kernel: &CrashedKernel<'_>, vaddr: u64) -> u64 {
    let paddr = kernel
        .memory()
        .translate(vaddr)
        .unwrap_or_else(|e| panic!("{e}"));
    let seg = dump
        .elf_segments()
        .expect("an ELF dump")
        .iter()
        .find(|s| s.p_type == 1 && paddr >= s.p_paddr && paddr < s.p_paddr + s.p_filesz)
        .unwrap_or_else(|| panic!("{}: no PT_LOAD holds {paddr:#x}", dump.path().display()));
    seg.p_offset + (paddr - seg.p_paddr)
}

/// A byte patch of a file: `(offset, new bytes, old bytes)`.
pub type Patch = (u64, Vec<u8>, Vec<u8>);

/// Writes the patches' new bytes (or, with `undo`, their old ones) and syncs.
pub fn apply(file: &File, patches: &[Patch], undo: bool) {
    for (off, new, old) in patches {
        file.write_all_at(if undo { old } else { new }, *off)
            .expect("patch the copy");
    }
    file.sync_all().expect("sync the copy");
}
