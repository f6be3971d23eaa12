//! A kernel's complete BTF: vmlinux plus any number of modules by name.

use super::error::{BtfError, Result};
use super::Btf;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// vmlinux BTF plus module BTFs (split on it), looked up by module name.
#[derive(Debug, Clone)]
pub struct BtfSet {
    vmlinux: Arc<Btf>,
    modules: BTreeMap<String, Arc<Btf>>,
}

impl BtfSet {
    /// A set holding only vmlinux's BTF.
    pub fn new(vmlinux: Btf) -> BtfSet {
        BtfSet {
            vmlinux: Arc::new(vmlinux),
            modules: BTreeMap::new(),
        }
    }

    /// Opens vmlinux BTF from `path` (raw, ELF or xz ELF).
    pub fn open(path: impl AsRef<Path>) -> Result<BtfSet> {
        Ok(BtfSet::new(Btf::open(path)?))
    }

    /// The running kernel's `/sys/kernel/btf/vmlinux` plus the named modules
    /// from `/sys/kernel/btf/<module>`.
    pub fn from_sysfs(modules: &[&str]) -> Result<BtfSet> {
        let mut set = BtfSet::open("/sys/kernel/btf/vmlinux")?;
        for m in modules {
            set.open_module(m, Path::new("/sys/kernel/btf").join(m))?;
        }
        Ok(set)
    }

    /// vmlinux's BTF.
    pub fn vmlinux(&self) -> &Arc<Btf> {
        &self.vmlinux
    }

    /// Opens a module's split BTF (`.ko`, `.ko.xz` or raw) on top of vmlinux.
    pub fn open_module(&mut self, name: &str, path: impl AsRef<Path>) -> Result<&Arc<Btf>> {
        let btf = Btf::open_split(path, self.vmlinux.clone())?;
        self.insert_module(name, btf)
    }

    /// Adds a module's split BTF, which must have been built on this set's vmlinux.
    pub fn insert_module(&mut self, name: &str, btf: Btf) -> Result<&Arc<Btf>> {
        let same_base = btf.base().is_some_and(|b| Arc::ptr_eq(b, &self.vmlinux));
        if !same_base {
            return Err(BtfError::Split {
                origin: btf.origin().to_string(),
                what: format!("module {name}: BTF is not split on this set's vmlinux BTF"),
            });
        }
        self.modules.insert(name.to_string(), Arc::new(btf));
        Ok(&self.modules[name])
    }

    /// BTF for `module` (`"vmlinux"` or a module added before).
    pub fn get(&self, module: &str) -> Option<&Arc<Btf>> {
        if module == "vmlinux" {
            Some(&self.vmlinux)
        } else {
            self.modules.get(module)
        }
    }

    /// Names of the modules in the set.
    pub fn module_names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }
}
