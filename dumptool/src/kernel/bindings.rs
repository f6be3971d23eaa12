//! The kernel types dumptool itself reads from a dump, declared with ktype's
//! own macros: those that bootstrap it (module list, module symbols, module
//! BTF, listed by [`descriptors`]) and those the kernel layer reads for the
//! layers above it (the memory nodes' span, [`PglistData`]).
//!
//! This is the lowest layer of bindings: [`crate::filter::bindings`] (the
//! page filter's) may use what is here, never the other way round, so
//! `kernel/` imports nothing of `filter/`.

use ktype_runtime::{kernel_struct, KAddr, KPtr};

/// `struct list_head`.
#[kernel_struct(name = "list_head")]
pub struct ListHead {
    /// Next entry.
    pub next: KAddr,
    /// Previous entry.
    pub prev: KAddr,
}

/// `struct module`: an entry of the `modules` list.
#[kernel_struct(name = "module")]
pub struct Module {
    /// Link in the `modules` list.
    pub list: ListHead,
    /// `MODULE_NAME_LEN` bytes, NUL-terminated.
    pub name: [u8; 56],
    /// `enum module_state`.
    pub state: u32,
    /// The module's symbol table.
    pub kallsyms: KPtr<ModKallsyms>,
}

/// `struct mod_kallsyms`: a loaded module's ELF symbol table.
#[kernel_struct(name = "mod_kallsyms")]
pub struct ModKallsyms {
    /// `Elf64_Sym *`.
    pub symtab: KAddr,
    /// Number of entries.
    pub num_symtab: u32,
    /// Names.
    pub strtab: KAddr,
    /// One `nm` type letter per symbol.
    pub typetab: KAddr,
}

/// `struct elf64_sym` (`Elf64_Sym`).
#[kernel_struct(name = "elf64_sym")]
pub struct Elf64Sym {
    /// Offset of the name in `strtab`.
    pub st_name: u32,
    /// Binding and type.
    pub st_info: u8,
    /// Section index.
    pub st_shndx: u16,
    /// Address.
    pub st_value: u64,
    /// Size.
    pub st_size: u64,
}

/// `struct btf_module`: an entry of the kernel's `btf_modules` list.
#[kernel_struct(name = "btf_module")]
pub struct BtfModule {
    /// Link in `btf_modules`.
    pub list: ListHead,
    /// The module.
    pub module: KPtr<Module>,
    /// Its BTF.
    pub btf: KPtr<KernelBtf>,
}

/// `struct btf`: the kernel's in-memory BTF object.
#[kernel_struct(name = "btf")]
pub struct KernelBtf {
    /// The raw BTF blob.
    pub data: KAddr,
    /// Its length.
    pub data_size: u32,
    /// `MODULE_NAME_LEN` bytes: the module's name.
    pub name: [u8; 56],
}

/// `struct pglist_data` (a NUMA node): the pfn range its `struct page`s span.
#[kernel_struct(name = "pglist_data")]
pub struct PglistData {
    /// First pfn of the node.
    pub node_start_pfn: u64,
    /// Pages spanned, holes included.
    pub node_spanned_pages: u64,
}

/// Every bootstrap descriptor above (not [`PglistData`], which is not needed
/// to bring the kernel up), for bootstrapping before module BTF is known.
pub fn descriptors() -> Vec<&'static ktype_runtime::registry::StructDesc> {
    vec![
        ListHead::descriptor(),
        Module::descriptor(),
        ModKallsyms::descriptor(),
        Elf64Sym::descriptor(),
        BtfModule::descriptor(),
        KernelBtf::descriptor(),
    ]
}

/// A NUL-terminated kernel name array as text.
pub fn c_name(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
