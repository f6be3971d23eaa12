//! The running kernel, read as drgn and crash read it: `/proc/kcore` is an
//! ELF core of the live kernel's memory, so it opens as a [`Dump`]
//! (its RAM and kernel-text segments carry physical addresses, its other
//! segments have none and are skipped; it holds the kernel's VMCOREINFO
//! note), while the symbols come from `/proc/kallsyms` and the types from
//! `/sys/kernel/btf/vmlinux` and `/sys/kernel/btf/<module>` — the kernel's
//! own listings, better than decoding them from its memory.
//!
//! [`CrashedKernel::open`](super::CrashedKernel::open) takes this path by
//! itself when the dump is `/proc/kcore`, so a tool written against a dump
//! runs live, as root, given `/proc/kcore` as its dump; the module list and
//! module symbols are walked in memory as for a dump. Reading needs
//! `CAP_SYS_RAWIO` (root) and a kernel not in lockdown; memory changes
//! while it is read, so a structure may be caught half-updated.
//!
//! ```no_run
//! use dumptool::kernel::{live, CrashedKernel};
//! let kcore = live::open_kcore()?;
//! let kernel = CrashedKernel::open(&kcore)?;
//! assert!(kernel.is_live());
//! println!("init_task at {:#x}", kernel.kallsyms().lookup("init_task").unwrap_or(0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::kallsyms::{Kallsyms, Symbol};
use super::modules::LoadedModule;
use super::KernelError;
use crate::dump::{Dump, DumpError};
use ktype_runtime::btf::BtfSet;
use std::path::{Path, PathBuf};

/// Where the running kernel's memory is.
pub const KCORE: &str = "/proc/kcore";

/// Where the running kernel's symbols and BTF are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSources {
    /// The symbol listing (`/proc/kallsyms`).
    pub kallsyms: PathBuf,
    /// The BTF folder (`/sys/kernel/btf`): `vmlinux` and one file per
    /// module with BTF.
    pub btf_dir: PathBuf,
}

impl LiveSources {
    /// This system's: `/proc/kallsyms` and `/sys/kernel/btf`.
    pub fn system() -> LiveSources {
        LiveSources {
            kallsyms: PathBuf::from("/proc/kallsyms"),
            btf_dir: PathBuf::from("/sys/kernel/btf"),
        }
    }

    /// The vmlinux symbols of the listing (see [`parse_kallsyms`]).
    pub fn read_kallsyms(&self) -> Result<Kallsyms, KernelError> {
        let text = std::fs::read(&self.kallsyms).map_err(|source| KernelError::Io {
            path: self.kallsyms.clone(),
            source,
        })?;
        let symbols = parse_kallsyms(&String::from_utf8_lossy(&text));
        if symbols.is_empty() {
            return Err(self.missing(&self.kallsyms, "no vmlinux symbols listed".into()));
        }
        if symbols.iter().all(|s| s.addr == 0) {
            return Err(self.missing(
                &self.kallsyms,
                "every address reads 0: run as root (kernel.kptr_restrict hides them otherwise)"
                    .into(),
            ));
        }
        Ok(Kallsyms::from_symbols(symbols))
    }

    /// vmlinux BTF (`BTF_DIR/vmlinux`).
    pub fn vmlinux_btf(&self) -> Result<BtfSet, KernelError> {
        let path = self.btf_dir.join("vmlinux");
        if !path.exists() {
            return Err(self.missing(
                &path,
                "not found (kernel built without CONFIG_DEBUG_INFO_BTF)".into(),
            ));
        }
        Ok(BtfSet::open(path)?)
    }

    /// Adds the BTF of every module in `BTF_DIR` to `btf` and marks the
    /// modules of `mods` that have some.
    pub fn load_module_btf(
        &self,
        btf: &mut BtfSet,
        mods: &mut [LoadedModule],
    ) -> Result<(), KernelError> {
        let io = |source| KernelError::Io {
            path: self.btf_dir.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.btf_dir).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            let Some(name) = name.to_str() else { continue };
            if name != "vmlinux" {
                names.push(name.to_string());
            }
        }
        names.sort();
        for name in names {
            btf.open_module(&name, self.btf_dir.join(&name))?;
            if let Some(m) = mods.iter_mut().find(|m| m.name == name) {
                m.has_btf = true;
            }
        }
        Ok(())
    }

    fn missing(&self, path: &Path, what: String) -> KernelError {
        KernelError::Missing {
            path: path.to_path_buf(),
            what,
        }
    }
}

impl Default for LiveSources {
    fn default() -> Self {
        LiveSources::system()
    }
}

/// Whether `path` is this system's `/proc/kcore` (through any link to it):
/// the running kernel, whose symbols and BTF [`LiveSources::system`] lists.
pub fn is_kcore(path: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|p| p == Path::new(KCORE))
}

/// Opens `/proc/kcore` as a dump of the running kernel; the errors say
/// what a live read needs (root, no lockdown).
pub fn open_kcore() -> Result<Dump, DumpError> {
    open_dump(Path::new(KCORE))
}

/// Opens the dump at `path` ([`Dump::open`]); when it is `/proc/kcore`,
/// an error says what a live read needs (root, no lockdown).
pub fn open_dump(path: &Path) -> Result<Dump, DumpError> {
    if !is_kcore(path) {
        return Dump::open(path);
    }
    Dump::open(path).map_err(|e| match e {
        DumpError::Io { path, op, source }
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            DumpError::Unsupported {
                path,
                detail: format!(
                    "{op}: {source}: reading the running kernel needs root (CAP_SYS_RAWIO) \
                     and a kernel not in lockdown (/sys/kernel/security/lockdown)"
                ),
            }
        }
        e => e,
    })
}

/// The vmlinux symbols of a `/proc/kallsyms` listing (`ADDRESS TYPE NAME`
/// lines), in its order. Module symbols (lines ending in `\t[MODULE]`, and
/// the `[bpf]`, `[__builtin__ftrace]` ones) are left out: modules are
/// walked in memory. Lines that do not parse are skipped.
///
/// ```
/// use dumptool::kernel::live::parse_kallsyms;
/// let text = "ffffffff81000000 T _stext\nffffffffc0400000 t ext4_init\t[ext4]\n";
/// let syms = parse_kallsyms(text);
/// assert_eq!(syms.len(), 1);
/// assert_eq!((syms[0].name.as_str(), syms[0].addr, syms[0].kind), ("_stext", 0xffffffff81000000, 'T'));
/// ```
pub fn parse_kallsyms(text: &str) -> Vec<Symbol> {
    text.lines()
        .filter_map(|line| {
            if line.contains('\t') {
                return None; // "\t[module]"
            }
            let mut fields = line.split_ascii_whitespace();
            let addr = u64::from_str_radix(fields.next()?, 16).ok()?;
            let mut kind = fields.next()?.chars();
            let kind = kind.next().filter(|_| kind.as_str().is_empty())?;
            let name = fields.next()?;
            fields.next().is_none().then(|| Symbol {
                name: name.to_string(),
                addr,
                kind,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's own listing: every vmlinux line of it parses (module
    /// lines are left out), whatever addresses the reader may see.
    #[test]
    fn parses_this_systems_kallsyms() {
        let Ok(text) = std::fs::read_to_string("/proc/kallsyms") else {
            return;
        };
        let syms = parse_kallsyms(&text);
        let vmlinux_lines = text.lines().filter(|l| !l.contains('\t')).count();
        assert_eq!(syms.len(), vmlinux_lines);
        assert!(syms.iter().any(|s| s.name == "_stext"));
        assert!(syms
            .iter()
            .all(|s| !s.name.is_empty() && !s.name.contains('[')));
    }

    #[test]
    fn garbled_lines_are_skipped() {
        let syms = parse_kallsyms("zz T a\nffff TT b\nffff T\n10 t c extra\n20 d ok\n");
        assert_eq!(syms.len(), 1);
        assert_eq!(syms[0].name, "ok");
    }

    #[test]
    fn kcore_is_recognised_by_path_only() {
        assert!(!is_kcore(Path::new("/proc/self/status")));
        assert!(!is_kcore(Path::new("/nonexistent/kcore")));
    }
}
