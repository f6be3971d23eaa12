//! Architectures: how a dump's kernel virtual addresses map to physical
//! memory, chosen at run time from the dump (ELF `e_machine`, the kdump
//! header's `utsname.machine`), never at compile time. One binary reads
//! x86_64 and arm64 dumps.
//!
//! - [`Arch`]: which architecture a dump is of.
//! - [`KernelMemory`]: kernel virtual memory of a dump (and user memory
//!   through a process's page tables, [`KernelMemory::translate_user`]), on
//!   top of one [`x86_64::X86_64`] or [`arm64::Arm64`] layout.
//! - Both architectures' page tables are radix trees of 8-byte entries; one
//!   walker ([`KernelMemory::walk`]) follows either, each architecture
//!   decoding its own entries.
//!
//! ```no_run
//! use dumptool::arch::{Arch, KernelMemory};
//! use dumptool::dump::Dump;
//! let dump = Dump::open("vmcore")?;
//! println!("{:?}", Arch::of(&dump));
//! let mem = KernelMemory::new(&dump)?;
//! let swapper = dump.vmcoreinfo().and_then(|i| i.symbol("swapper_pg_dir"));
//! # let _ = (mem, swapper);
//! # Ok::<(), dumptool::dump::DumpError>(())
//! ```

pub mod arm64;
mod memory;
pub mod x86_64;

pub use memory::{KernelMemory, UserPage};

use crate::dump::Dump;
use std::fmt;

/// `e_machine` of x86_64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of arm64.
pub const EM_AARCH64: u16 = 183;

/// An architecture dumptool translates addresses of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86_64 (4- and 5-level paging).
    X86_64,
    /// arm64 (AArch64): 4, 16 or 64 KiB pages, 39- to 52-bit virtual addresses.
    Arm64,
}

impl Arch {
    /// From a machine name as `uname -m` (and the kdump header) gives it:
    /// `x86_64`, `aarch64` (or `arm64`).
    pub fn from_machine(name: &str) -> Option<Arch> {
        match name {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// From an ELF header's `e_machine`.
    pub fn from_elf_machine(machine: u16) -> Option<Arch> {
        match machine {
            EM_X86_64 => Some(Arch::X86_64),
            EM_AARCH64 => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The architecture whose own entries a VMCOREINFO note has, for files
    /// that do not name theirs (qemu's kdump files say `Unknown`):
    /// `NUMBER(kimage_voffset)` is arm64's, `SYMBOL(init_top_pgt)` x86_64's.
    pub fn from_vmcoreinfo(info: &crate::dump::VmcoreInfo) -> Option<Arch> {
        if info.number("kimage_voffset").is_some() {
            Some(Arch::Arm64)
        } else if info.symbol("init_top_pgt").is_some() {
            Some(Arch::X86_64)
        } else {
            None
        }
    }

    /// The dump's architecture, from what its file says ([`Dump::machine`]).
    pub fn of(dump: &Dump) -> Option<Arch> {
        Arch::from_machine(dump.machine())
    }

    /// The machine name `uname -m` gives (`x86_64`, `aarch64`), as the
    /// kdump header's `utsname.machine` records it.
    pub fn machine(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }

    /// The ELF `e_machine`.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => EM_X86_64,
            Arch::Arm64 => EM_AARCH64,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.machine())
    }
}

/// A level of a page-table tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageLevel {
    /// The architecture.
    pub arch: Arch,
    /// Levels above the last one: 0 is the last level (Linux `pte`), 1 the
    /// one above (`pmd`), and so on up to the top (`pgd`).
    pub height: u8,
    /// The address bit this level's index starts at (the size of what one
    /// entry maps is `1 << shift`).
    pub shift: u32,
}

impl PageLevel {
    /// Bytes one entry of this level maps.
    pub fn entry_span(self) -> u64 {
        1u64 << self.shift
    }
}

impl fmt::Display for PageLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.arch {
            Arch::X86_64 => f.write_str(match self.height {
                4 => "PML5 (pgd)",
                3 => "PML4 (pgd/p4d)",
                2 => "PDPT (pud)",
                1 => "PD (pmd)",
                _ => "PT (pte)",
            }),
            // Arm's numbering: the last level is 3, the top of a 4-level tree 0.
            Arch::Arm64 => {
                let linux = ["pte", "pmd", "pud", "p4d", "pgd"];
                write!(
                    f,
                    "level {} ({})",
                    3 - i32::from(self.height),
                    linux.get(usize::from(self.height)).unwrap_or(&"pgd")
                )
            }
        }
    }
}

/// How a virtual address was translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// The kernel-image formula.
    KernelImage,
    /// The direct-map (linear map) fast path.
    DirectMap,
    /// A page-table walk ending at this level.
    PageTable(PageLevel),
}

/// The result of a translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The physical address.
    pub paddr: u64,
    /// Bytes from `paddr` on that are physically contiguous with it (to the
    /// end of the page, huge page or linear region).
    pub contiguous: u64,
    /// How it was found.
    pub method: Method,
}

/// What a page-table entry says, decoded by its architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Not valid (not present).
    Invalid,
    /// Points to the next level's table at this physical address.
    Table(u64),
    /// Maps the whole span of its level (a page at the last level, a huge
    /// page / block above) starting at this physical address.
    Leaf(u64),
    /// A combination the architecture forbids at this level (e.g. a block
    /// at the top level).
    Reserved,
}

/// The shape of a page-table tree and how to read its entries.
pub(crate) trait TableFormat {
    /// The architecture.
    fn arch(&self) -> Arch;
    /// Bits of virtual address the tree translates (the top level's index
    /// ends below this bit).
    fn va_bits(&self) -> u32;
    /// The page size's shift (the last level's shift).
    fn page_shift(&self) -> u32;
    /// Number of levels.
    fn levels(&self) -> u32;
    /// Decodes `entry` of the level `height` above the last.
    fn decode(&self, entry: u64, height: u8) -> Entry;
    /// Bits 63 down to this one of an address must be all zeros (user) or
    /// all ones (kernel): `va_bits - 1` on x86_64 (sign extension),
    /// `va_bits` on arm64 (one whole address space per translation table
    /// base register).
    fn canonical_bit(&self) -> u32 {
        self.va_bits() - 1
    }

    /// Index bits of every level but the top: a table of 8-byte entries
    /// fills one page.
    fn index_bits(&self) -> u32 {
        self.page_shift() - 3
    }

    /// The level `height` above the last.
    fn level(&self, height: u8) -> PageLevel {
        PageLevel {
            arch: self.arch(),
            height,
            shift: self.page_shift() + u32::from(height) * self.index_bits(),
        }
    }

    /// Index of `vaddr` in a table of level `height`: the top level takes
    /// every bit from its shift up to [`TableFormat::va_bits`].
    fn index(&self, vaddr: u64, height: u8) -> u64 {
        let level = self.level(height);
        let bits = if u32::from(height) + 1 == self.levels() {
            self.va_bits() - level.shift
        } else {
            self.index_bits()
        };
        (vaddr >> level.shift) & ((1u64 << bits) - 1)
    }

    /// Entries of a table of level `height`.
    fn entries(&self, height: u8) -> u64 {
        if u32::from(height) + 1 == self.levels() {
            1u64 << (self.va_bits() - self.level(height).shift)
        } else {
            1u64 << self.index_bits()
        }
    }
}

/// Number of levels a tree of `page_shift` pages needs for `va_bits` bits.
pub(crate) fn levels_for(va_bits: u32, page_shift: u32) -> u32 {
    (va_bits - page_shift).div_ceil(page_shift - 3)
}
