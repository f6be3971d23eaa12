//! # dumptool
//!
//! A makedumpfile-compatible crash-dump filter whose kernel knowledge comes
//! from BTF through ktype bindings. The binary is a thin layer over this
//! library, so every command can also be called (and tested) from Rust.
//!
//! - [`dump`]: readers of ELF, kdump-compressed and flattened dumps; VMCOREINFO.
//! - [`arch`]: address translation of x86_64 and arm64 dumps, chosen from the
//!   dump at run time; user addresses through a process's page tables.
//! - [`format`](mod@format): the on-disk formats (kdump, flattened, ELF, notes, codecs),
//!   one definition each for the readers and the writers.
//! - [`kernel`]: the crashed kernel from its dump alone (kallsyms, BTF, modules).
//! - [`filter`]: page classification with makedumpfile's dump levels, and erasers.
//! - [`write`](mod@write): kdump-compressed and ELF writers driven by a
//!   [`write::PageSelector`], the hook for filters of your own.
//! - [`compat`]: makedumpfile's own command line, for kdump scripts (the
//!   binary run as `makedumpfile`), translated into the commands.
//! - [`commands`]: the `dumptool` subcommands (`filter`, `dmesg`, `info`, `syms`, `btf`).

pub mod arch;
pub mod commands;
pub mod compat;
pub mod dump;
pub mod filter;
pub mod format;
pub mod kernel;
pub mod layout_dump;
pub mod write;

/// The README's Rust examples (ktype's and dumptool's), compiled as doctests
/// so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
