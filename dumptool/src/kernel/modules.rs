//! Loaded modules read from the crashed kernel: the `modules` list with each
//! module's ELF symbol table, and module BTF from `btf_modules`. Everything
//! is read through the bindings in [`super::bindings`].

use super::bindings::{c_name, BtfModule, Elf64Sym, KernelBtf, ListHead, ModKallsyms, Module};
use super::kallsyms::Kallsyms;
use super::KernelError;
use crate::dump::KernelMemory;
use ktype_runtime::btf::{Btf, BtfSet};
use std::path::Path;

/// A module symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSymbol {
    /// Name.
    pub name: String,
    /// Address.
    pub addr: u64,
    /// `nm` type letter.
    pub kind: char,
}

/// A module loaded in the crashed kernel.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    /// Module name.
    pub name: String,
    /// Address of its `struct module`.
    pub addr: u64,
    /// Its symbols.
    pub symbols: Vec<ModuleSymbol>,
    /// Whether its BTF was found (`btf_modules`, or the live kernel's
    /// `/sys/kernel/btf/<module>`).
    pub has_btf: bool,
}

/// More list entries than any kernel has: the list is corrupt or cyclic.
const MAX_ENTRIES: usize = 100_000;
/// More symbols than any module has.
const MAX_MODULE_SYMS: u32 = 1 << 20;

fn read_vec(mem: &KernelMemory<'_>, addr: u64, len: usize) -> Result<Vec<u8>, KernelError> {
    Ok(mem.read_bytes(addr, len)?)
}

/// Addresses of the entries of the circular list headed at `head`
/// (each the address of the `list_head` inside the entry).
fn list_entries(
    mem: &KernelMemory<'_>,
    head: u64,
    path: &Path,
    what: &str,
) -> Result<Vec<u64>, KernelError> {
    let mut out = Vec::new();
    let mut node = head;
    loop {
        let bytes = read_vec(mem, node, ListHead::size())?;
        let next = ListHead::view(&bytes)
            .map_err(|e| KernelError::Missing {
                path: path.to_path_buf(),
                what: e.to_string(),
            })?
            .next()
            .addr;
        if next == head {
            return Ok(out);
        }
        if next == 0 || out.len() >= MAX_ENTRIES {
            return Err(KernelError::Missing {
                path: path.to_path_buf(),
                what: format!(
                    "the {what} list is corrupt (entry {} points to {next:#x})",
                    out.len()
                ),
            });
        }
        out.push(next);
        node = next;
    }
}

fn view_err(path: &Path, e: impl std::fmt::Display) -> KernelError {
    KernelError::Missing {
        path: path.to_path_buf(),
        what: e.to_string(),
    }
}

fn module_symbols(
    mem: &KernelMemory<'_>,
    ks_addr: u64,
    path: &Path,
) -> Result<Vec<ModuleSymbol>, KernelError> {
    let ks_bytes = read_vec(mem, ks_addr, ModKallsyms::size())?;
    let ks = ModKallsyms::view(&ks_bytes).map_err(|e| view_err(path, e))?;
    let n = ks.num_symtab();
    if n > MAX_MODULE_SYMS {
        return Err(view_err(
            path,
            format!("module symbol table at {ks_addr:#x} claims {n} symbols"),
        ));
    }
    let esz = Elf64Sym::size();
    let table = read_vec(mem, ks.symtab().addr, n as usize * esz)?;
    let types = read_vec(mem, ks.typetab().addr, n as usize)?;
    let mut syms = Vec::with_capacity(n as usize);
    let entries: Vec<(u32, u64)> = table
        .chunks_exact(esz)
        .filter_map(|c| Elf64Sym::view(c).ok().map(|s| (s.st_name(), s.st_value())))
        .collect();
    let max_name = entries.iter().map(|e| e.0).max().unwrap_or(0) as usize;
    // The string table ends with the NUL of its last name; read up to there.
    let mut strtab = read_vec(mem, ks.strtab().addr, max_name + 1)?;
    let mut extra = 64;
    while !strtab[max_name..].contains(&0) && extra <= 4096 {
        strtab = read_vec(mem, ks.strtab().addr, max_name + extra)?;
        extra *= 2;
    }
    for (i, (name_off, addr)) in entries.into_iter().enumerate() {
        let tail = strtab.get(name_off as usize..).unwrap_or(&[]);
        let name = c_name(tail);
        if i == 0 || name.is_empty() {
            continue; // the ELF null symbol and unnamed entries
        }
        syms.push(ModuleSymbol {
            name,
            addr,
            kind: types.get(i).copied().unwrap_or(b'?') as char,
        });
    }
    Ok(syms)
}

/// Walks `modules`: each loaded module with its symbols (`has_btf` false
/// until [`load_btf`] or the live kernel's sysfs BTF sets it).
pub(crate) fn walk(
    mem: &KernelMemory<'_>,
    kallsyms: &Kallsyms,
    path: &Path,
) -> Result<Vec<LoadedModule>, KernelError> {
    let Some(head) = kallsyms.lookup("modules") else {
        return Ok(Vec::new()); // a kernel without module support
    };
    let list_off = Module::list_offset() as u64;
    let mut mods = Vec::new();
    for entry in list_entries(mem, head, path, "modules")? {
        let addr = entry - list_off;
        let bytes = read_vec(mem, addr, Module::size())?;
        let m = Module::view(&bytes).map_err(|e| view_err(path, e))?;
        let name = c_name(&m.name());
        let symbols = if m.kallsyms().is_null() {
            Vec::new()
        } else {
            module_symbols(mem, m.kallsyms().addr, path)?
        };
        mods.push(LoadedModule {
            name,
            addr,
            symbols,
            has_btf: false,
        });
    }
    Ok(mods)
}

/// Walks `btf_modules`: adds each module's BTF, read from kernel memory, to
/// `btf` and marks the module in `mods` as having BTF.
pub(crate) fn load_btf(
    mem: &KernelMemory<'_>,
    kallsyms: &Kallsyms,
    btf: &mut BtfSet,
    mods: &mut [LoadedModule],
    path: &Path,
) -> Result<(), KernelError> {
    let Some(head) = kallsyms.lookup("btf_modules") else {
        return Ok(());
    };
    let list_off = BtfModule::list_offset() as u64;
    for entry in list_entries(mem, head, path, "btf_modules")? {
        let bytes = read_vec(mem, entry - list_off, BtfModule::size())?;
        let bm = BtfModule::view(&bytes).map_err(|e| view_err(path, e))?;
        let kb_bytes = read_vec(mem, bm.btf().addr, KernelBtf::size())?;
        let kb = KernelBtf::view(&kb_bytes).map_err(|e| view_err(path, e))?;
        let name = c_name(&kb.name());
        let data = read_vec(mem, kb.data().addr, kb.data_size() as usize)?;
        let origin = format!("{}: BTF of module {name}", path.display());
        let split = Btf::from_bytes_split(data, origin, btf.vmlinux().clone())?;
        btf.insert_module(&name, split)?;
        if let Some(m) = mods.iter_mut().find(|m| m.name == name) {
            m.has_btf = true;
        }
    }
    Ok(())
}
