//! `dumptool dmesg DUMP`: the kernel log from the dump's printk ring buffer,
//! as makedumpfile's `--dump-dmesg` writes it.

use crate::kernel::printk::{read_log_at, DmesgError, KernelLog};
use std::path::Path;

/// Reads the log of the dump at `path`. The caller prints
/// [`KernelLog::text`] as it is (it is already escaped, makedumpfile's way)
/// and may tell the user about [`KernelLog::sources`] fallbacks.
pub fn run(path: &Path) -> Result<KernelLog, DmesgError> {
    read_log_at(path)
}

/// Notes for stderr: what the log was read with when BTF could not serve.
pub fn notes(log: &KernelLog) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(p) = &log.kernel_problem {
        notes.push(format!(
            "the kernel could not be brought up ({p}); the log was read with VMCOREINFO alone"
        ));
    } else {
        for f in log.sources.fallbacks() {
            notes.push(format!("printk layout of {f}"));
        }
    }
    notes
}
