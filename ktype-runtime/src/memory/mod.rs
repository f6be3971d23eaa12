//! Typed reads of kernel memory: the [`KernelRead`] trait a memory source
//! (a crash dump, `/proc/kcore`, a test image) implements, owned reads of
//! `#[kernel_struct]` types at a kernel address ([`KernelStruct::read`]),
//! [`container_of`], following a [`KPtr`](crate::KPtr), and walking
//! `list_head` / `hlist_head` lists ([`list_entries`], [`hlist_entries`])
//! with a guard against corrupt, looping lists.
//!
//! ```
//! use ktype_runtime::memory::FlatMemory;
//! use ktype_runtime::KernelRead;
//!
//! // Kernel memory is any KernelRead; FlatMemory is a byte image at a base address.
//! let image = [0x11u8, 0x22, 0x33, 0x44, 0, 0, 0, 0];
//! let mem = FlatMemory::new(0xffff_8880_0000_0000, &image);
//! assert_eq!(mem.read_pointer(0xffff_8880_0000_0000)?, 0x4433_2211);
//! assert!(mem.read_pointer(0xffff_8880_0000_0004).is_err()); // past the image
//! # Ok::<(), ktype_runtime::memory::MemoryError>(())
//! ```

mod list;
mod typed;

pub use list::{
    hlist_entries, hlist_nodes, list_entries, list_nodes, Entries, ListKind, Nodes,
    DEFAULT_MAX_ENTRIES,
};
pub use typed::KernelStruct;

use crate::registry::ViewError;

/// What a memory source reports when it cannot read (not mapped, excluded
/// from a filtered dump, an I/O error): any error type.
pub type MemoryError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Kernel virtual memory: what typed reads, list walks and [`KPtr::read`](crate::KPtr::read)
/// read through. dumptool's `KernelMemory` (a crash dump) implements it;
/// [`FlatMemory`] is a byte image for tests and examples.
pub trait KernelRead {
    /// Fills `buf` with the bytes at kernel virtual address `addr`.
    ///
    /// # Errors
    ///
    /// Whatever keeps the source from reading all of `buf`.
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError>;

    /// Whether the kernel is big-endian (pointers are read accordingly);
    /// `false` unless the source says otherwise.
    fn big_endian(&self) -> bool {
        false
    }

    /// The 64-bit pointer stored at `addr` (in the kernel's byte order).
    ///
    /// # Errors
    ///
    /// As [`KernelRead::read_into`].
    fn read_pointer(&self, addr: u64) -> Result<u64, MemoryError> {
        let mut b = [0u8; 8];
        self.read_into(addr, &mut b)?;
        Ok(if self.big_endian() {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
}

impl<M: KernelRead + ?Sized> KernelRead for &M {
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        (**self).read_into(addr, buf)
    }
    fn big_endian(&self) -> bool {
        (**self).big_endian()
    }
}

impl<M: KernelRead + ?Sized> KernelRead for Box<M> {
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        (**self).read_into(addr, buf)
    }
    fn big_endian(&self) -> bool {
        (**self).big_endian()
    }
}

impl<M: KernelRead + ?Sized> KernelRead for std::sync::Arc<M> {
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        (**self).read_into(addr, buf)
    }
    fn big_endian(&self) -> bool {
        (**self).big_endian()
    }
}

/// Kernel memory that is one contiguous byte image starting at a kernel
/// virtual address: for tests, examples, or a region copied out of a dump.
#[derive(Debug, Clone, Copy)]
pub struct FlatMemory<'a> {
    base: u64,
    bytes: &'a [u8],
    big_endian: bool,
}

impl<'a> FlatMemory<'a> {
    /// `bytes` mapped at kernel address `base` (a little-endian kernel).
    pub fn new(base: u64, bytes: &'a [u8]) -> Self {
        FlatMemory {
            base,
            bytes,
            big_endian: false,
        }
    }

    /// The same image, of a big-endian kernel when `yes`.
    pub fn with_big_endian(self, yes: bool) -> Self {
        FlatMemory {
            big_endian: yes,
            ..self
        }
    }
}

/// A read outside a [`FlatMemory`] image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes at {addr:#x} are outside the image {base:#x}..{end:#x}")]
pub struct OutOfImage {
    /// The address asked for.
    pub addr: u64,
    /// How many bytes.
    pub len: usize,
    /// The image's first address.
    pub base: u64,
    /// One past the image's last address.
    pub end: u64,
}

impl KernelRead for FlatMemory<'_> {
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let end = self.base.wrapping_add(self.bytes.len() as u64);
        let src = addr
            .checked_sub(self.base)
            .and_then(|off| usize::try_from(off).ok())
            .and_then(|off| self.bytes.get(off..off.checked_add(buf.len())?))
            .ok_or(OutOfImage {
                addr,
                len: buf.len(),
                base: self.base,
                end,
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn big_endian(&self) -> bool {
        self.big_endian
    }
}

/// Why a typed read, a pointer hop or a list walk failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The memory source could not read the bytes.
    #[error("reading {what} ({len} bytes at {addr:#x}): {source}")]
    Memory {
        /// What was read, e.g. `struct task_struct (Task)`.
        what: String,
        /// Its kernel address.
        addr: u64,
        /// How many bytes.
        len: usize,
        /// The source's own error.
        #[source]
        source: MemoryError,
    },
    /// The type is not resolved, or is an absent optional type.
    #[error(transparent)]
    View(#[from] ViewError),
    /// A NULL pointer was followed.
    #[error("{what}: NULL pointer")]
    Null {
        /// What the pointer points to.
        what: String,
    },
    /// A list's `next` pointer was NULL (lists are circular; a NULL link is corruption).
    #[error("list at {head:#x}: NULL link after {entries} entries (corrupt list?)")]
    BrokenList {
        /// The list head's address.
        head: u64,
        /// Entries yielded before.
        entries: usize,
    },
    /// A list loops without coming back to its head.
    #[error("list at {head:#x}: loops without returning to its head after {entries} entries (corrupt list?)")]
    Cycle {
        /// The list head's address.
        head: u64,
        /// Entries yielded before the loop was seen.
        entries: usize,
    },
    /// A list is longer than the walk allows ([`Nodes::max_entries`]).
    #[error("list at {head:#x}: more than {limit} entries (corrupt list? raise max_entries)")]
    TooLong {
        /// The list head's address.
        head: u64,
        /// The limit.
        limit: usize,
    },
}

/// The address of the struct that holds, at `member_offset`, the member at
/// `member_addr` (the kernel's `container_of`).
///
/// ```
/// # use ktype_runtime::memory::container_of;
/// // A list_head 0x10 bytes into its struct:
/// assert_eq!(container_of(0xffff_8880_0000_1010, 0x10), 0xffff_8880_0000_1000);
/// ```
pub fn container_of(member_addr: u64, member_offset: usize) -> u64 {
    member_addr.wrapping_sub(member_offset as u64)
}
