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

/// File range of vmlinux BTF's string section in the ELF dump at `path`
/// (the kernel image is physically contiguous in these dumps, so the
/// section is one run of the file).
pub fn btf_strings(path: &std::path::Path) -> (u64, u64) {
    let dump = Dump::open(path).unwrap_or_else(|e| panic!("{e}"));
    let kernel = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
    let start = kernel
        .kallsyms()
        .lookup("__start_BTF")
        .expect("__start_BTF");
    let btf = file_offset(&dump, &kernel, start);
    let mut hdr = [0u8; 24];
    File::open(path)
        .and_then(|f| f.read_exact_at(&mut hdr, btf))
        .expect("read the BTF header");
    assert_eq!(&hdr[..2], &[0x9f, 0xeb], "BTF magic at {btf:#x}");
    let u = |o: usize| u32::from_le_bytes(hdr[o..o + 4].try_into().unwrap()) as u64;
    let (hdr_len, str_off, str_len) = (u(4), u(16), u(20));
    let strings = btf + hdr_len + str_off;
    (strings, strings + str_len)
}

/// Every offset of `needle` in `hay`.
pub fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(hay, needle).collect()
}

/// Renames the type or member `name` in the BTF string table (file range
/// `strings` of the dump whose bytes are `bytes`): its first byte becomes
/// 'Q', same length, so the rest of the BTF stays valid.
pub fn rename_btf(bytes: &[u8], strings: (u64, u64), name: &str) -> Vec<Patch> {
    let table = &bytes[strings.0 as usize..strings.1 as usize];
    let needle = format!("\0{name}\0");
    let renamed = format!("\0Q{}\0", &name[1..]);
    assert!(
        find_all(table, renamed.as_bytes()).is_empty(),
        "Q{} already exists",
        &name[1..]
    );
    let at = find_all(table, needle.as_bytes());
    assert_eq!(at.len(), 1, "{name} in the BTF strings: {at:?}");
    let off = strings.0 + at[0] as u64 + 1;
    vec![(off, b"Q".to_vec(), name.as_bytes()[..1].to_vec())]
}

/// Renames the VMCOREINFO key `key` (e.g. `SYMBOL(prb)=`) wherever its text
/// stands in the dump `bytes`: its last character before `=` becomes 'Q'.
pub fn rename_vmcoreinfo(bytes: &[u8], key: &str) -> Vec<Patch> {
    let at = find_all(bytes, format!("\n{key}").as_bytes());
    assert!(!at.is_empty(), "VMCOREINFO has no {key}");
    let pos = key.len() - 1;
    at.iter()
        .map(|&a| ((a + pos) as u64, b"Q".to_vec(), vec![bytes[a + pos]]))
        .collect()
}

/// Renames VMCOREINFO's `keys` (see [`rename_vmcoreinfo`]) in the dump copy
/// at `copy`, for good.
pub fn rename_vmcoreinfo_in(copy: &std::path::Path, keys: &[&str]) {
    let bytes = std::fs::read(copy).unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
    let patches: Vec<Patch> = keys
        .iter()
        .flat_map(|k| rename_vmcoreinfo(&bytes, k))
        .collect();
    drop(bytes);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(copy)
        .unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
    apply(&file, &patches, false);
}
