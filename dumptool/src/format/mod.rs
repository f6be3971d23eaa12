//! The on-disk formats of crash dumps, each defined once: the readers
//! ([`crate::dump`]) and the writers ([`crate::write`]) take every
//! signature, constant, header layout and encoding from here.
//!
//! | module | what it defines |
//! | --- | --- |
//! | [`kdump`] | kdump-compressed: `disk_dump_header`, `kdump_sub_header` (v6 and its older prefixes), page descriptors, utsname |
//! | [`compression`] | the `DUMP_DH_*` flags and [`Compression`], the one codec type (zlib / LZO / snappy / zstd) |
//! | [`flat`] | makedumpfile's flattened format: header, record headers, end marker |
//! | [`elf`] | ELF64 cores through `object::elf`'s types: file, program and section 0 headers, overlapping `PT_LOAD`s resolved |
//! | [`note`] | ELF notes: the one encoder and decoder |
//!
//! The kdump and flattened headers are `#[repr(C)]` structs of byte-order
//! aware fields (`zerocopy`), whose bytes are the file's; ELF uses
//! `object`'s. Nothing here does I/O: callers hand over and take bytes.

pub mod compression;
pub mod elf;
pub mod flat;
pub mod kdump;
pub mod note;

pub use compression::Compression;
