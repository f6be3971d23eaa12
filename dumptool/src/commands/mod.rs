//! One module per `dumptool` subcommand; each returns its output as text.

pub mod btf;
pub mod dmesg;
pub mod filter;
pub mod info;
pub mod syms;

use std::path::PathBuf;

/// The dump a command reads, or the running kernel (`--live`).
#[derive(Debug, Clone, clap::Args)]
pub struct DumpOrLive {
    /// The dump (ELF, kdump-compressed, or flattened); /proc/kcore is the running kernel.
    #[arg(required_unless_present = "live")]
    pub dump: Option<PathBuf>,
    /// Read the running kernel instead: /proc/kcore, /proc/kallsyms and /sys/kernel/btf (as root).
    #[arg(long, conflicts_with = "dump")]
    pub live: bool,
}

impl DumpOrLive {
    /// The file to read: the dump, or `/proc/kcore` for `--live`.
    pub fn path(&self) -> PathBuf {
        match &self.dump {
            Some(p) if !self.live => p.clone(),
            _ => PathBuf::from(crate::kernel::live::KCORE),
        }
    }
}
