//! Owned reads of `#[kernel_struct]` types, and following typed pointers.

use super::{KernelRead, ReadError};
use crate::registry::{KPtr, KernelField, StructDesc, ViewError};

/// What every `#[kernel_struct]` type implements: read one from kernel
/// memory as an owned value (the type itself, with one getter per declared
/// field, like its zero-copy view).
///
/// The macro also generates inherent `read`, `from_bytes` and
/// `kernel_address` on each type, so this trait needs importing only for
/// generic code (`fn f<T: KernelStruct>`).
pub trait KernelStruct: KernelField + Sized {
    /// The registered descriptor.
    fn descriptor() -> &'static StructDesc;

    /// Takes the bytes of one struct that lives at kernel address `addr`
    /// (at least the kernel's size of the type; extra bytes are dropped).
    ///
    /// # Errors
    ///
    /// As the type's `view`: not resolved, absent, or too few bytes.
    fn from_bytes(addr: u64, bytes: Vec<u8>) -> Result<Self, ViewError>;

    /// The kernel address the value was read from.
    fn kernel_address(&self) -> u64;

    /// Reads the struct at kernel address `addr` from `mem`.
    ///
    /// # Errors
    ///
    /// [`ReadError::View`] when the type is not resolved (or absent),
    /// [`ReadError::Memory`] when `mem` cannot read its bytes.
    fn read<M: KernelRead + ?Sized>(mem: &M, addr: u64) -> Result<Self, ReadError> {
        let desc = Self::descriptor();
        let size = desc.view_size()?;
        let mut buf = vec![0u8; size];
        mem.read_into(addr, &mut buf)
            .map_err(|source| ReadError::Memory {
                what: desc.display_name(),
                addr,
                len: size,
                source,
            })?;
        Ok(Self::from_bytes(addr, buf)?)
    }
}

impl<T: KernelStruct> KPtr<T> {
    /// Follows the pointer: reads the `T` it points to.
    ///
    /// # Errors
    ///
    /// [`ReadError::Null`] for a NULL pointer, else as [`KernelStruct::read`].
    pub fn read<M: KernelRead + ?Sized>(&self, mem: &M) -> Result<T, ReadError> {
        if self.is_null() {
            return Err(ReadError::Null {
                what: T::descriptor().display_name(),
            });
        }
        <T as KernelStruct>::read(mem, self.addr)
    }
}
