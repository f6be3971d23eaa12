//! Rust field types that may mirror a kernel member, and how to read them.

use super::descriptors::StructDesc;
use super::slots::FieldLayout;
use std::fmt;
use std::marker::PhantomData;

/// What a declared Rust field type expects of the kernel member it binds to;
/// the resolver checks it against BTF.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// An integer of `size` bytes (a bitfield of at most `size * 8` bits is accepted).
    Int {
        /// Width in bytes.
        size: u32,
        /// Whether the Rust type is signed.
        signed: bool,
    },
    /// `bool`: a one-byte integer (`_Bool`).
    Bool,
    /// A kernel pointer; `target` is the pointee's shape when it is known.
    Pointer {
        /// The pointee's shape (`None` for an untyped address).
        target: Option<fn() -> Shape>,
    },
    /// A fixed array of `len` elements of `elem`.
    Array {
        /// Element shape.
        elem: fn() -> Shape,
        /// Number of elements.
        len: usize,
    },
    /// Another `#[kernel_struct]` type embedded by value.
    Struct(&'static StructDesc),
}

impl Shape {
    /// Size in bytes this shape occupies in the target, when known statically.
    pub fn static_size(&self) -> Option<u64> {
        match *self {
            Shape::Int { size, .. } => Some(size as u64),
            Shape::Bool => Some(1),
            Shape::Pointer { .. } => Some(8),
            Shape::Array { elem, len } => elem().static_size().map(|s| s * len as u64),
            Shape::Struct(desc) => desc.try_size().ok().map(|s| s as u64),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shape::Int { size, signed } => {
                write!(f, "{}{}", if signed { "i" } else { "u" }, size * 8)
            }
            Shape::Bool => f.write_str("bool"),
            Shape::Pointer { .. } => f.write_str("pointer"),
            Shape::Array { elem, len } => write!(f, "[{}; {}]", elem(), len),
            Shape::Struct(desc) => {
                write!(f, "{} (struct {})", desc.rust_name, desc.names.join("|"))
            }
        }
    }
}

/// A Rust type usable as a field of a `#[kernel_struct]`.
///
/// Implemented for integers, `bool`, arrays, [`KPtr`], [`KAddr`] and every
/// `#[kernel_struct]` type (whose value is its zero-copy view).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot mirror a kernel member",
    label = "unsupported field type",
    note = "supported: u8..u64, i8..i64, usize, isize, bool, [T; N], KPtr<T>, KAddr, and #[kernel_struct] types"
)]
pub trait KernelField {
    /// What a getter returns.
    type Value<'a>;
    /// The shape the resolver checks against BTF.
    fn shape() -> Shape;
    /// Reads the value at `layout` in `bytes` (the outer struct's bytes).
    ///
    /// The resolver guarantees the member lies inside the struct and views
    /// guarantee `bytes` covers the struct, so this never reads out of bounds;
    /// a short slice is reported as `None` rather than a panic.
    fn read(bytes: &[u8], layout: FieldLayout) -> Option<Self::Value<'_>>;
}

fn read_raw(bytes: &[u8], off: usize, size: usize, big_endian: bool) -> Option<u64> {
    let b = bytes.get(off..off.checked_add(size)?)?;
    let mut buf = [0u8; 8];
    if big_endian {
        buf[8 - size..].copy_from_slice(b);
        Some(u64::from_be_bytes(buf))
    } else {
        buf[..size].copy_from_slice(b);
        Some(u64::from_le_bytes(buf))
    }
}

/// Reads an integer member of `size` bytes, or a bitfield, as raw 64-bit value
/// (sign-extended when the kernel type is signed).
pub(crate) fn read_int(bytes: &[u8], layout: FieldLayout, size: usize) -> Option<u64> {
    if layout.bitfield_bits == 0 {
        let v = read_raw(bytes, layout.byte_offset(), size, layout.big_endian)?;
        let bits = size as u32 * 8;
        return Some(if layout.signed && bits < 64 {
            sign_extend(v, bits)
        } else {
            v
        });
    }
    let bits = layout.bitfield_bits as u32;
    let first = layout.byte_offset();
    let last = ((layout.bit_offset + bits as u64 - 1) / 8) as usize;
    let span = last - first + 1;
    if span > 8 {
        // A 64-bit bitfield not aligned to a byte: read 9 bytes in two steps.
        let lo = read_raw(bytes, first, 8, layout.big_endian)?;
        let hi = read_raw(bytes, first + 8, 1, layout.big_endian)?;
        let shift = (layout.bit_offset % 8) as u32;
        let v = if layout.big_endian {
            (lo << shift) | (hi >> (8 - shift))
        } else {
            (lo >> shift) | (hi << (64 - shift))
        };
        return Some(finish_bits(v, bits, layout.signed));
    }
    let raw = read_raw(bytes, first, span, layout.big_endian)?;
    let shift = if layout.big_endian {
        // Big-endian bit numbering: bit 0 is the most significant bit of the first byte.
        (span as u32 * 8) - (layout.bit_offset % 8) as u32 - bits
    } else {
        (layout.bit_offset % 8) as u32
    };
    Some(finish_bits(raw >> shift, bits, layout.signed))
}

fn finish_bits(v: u64, bits: u32, signed: bool) -> u64 {
    let masked = if bits >= 64 {
        v
    } else {
        v & ((1u64 << bits) - 1)
    };
    if signed {
        sign_extend(masked, bits)
    } else {
        masked
    }
}

fn sign_extend(v: u64, bits: u32) -> u64 {
    if bits == 0 || bits >= 64 {
        return v;
    }
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

macro_rules! int_field {
    ($($t:ty => $signed:expr),* $(,)?) => {$(
        impl KernelField for $t {
            type Value<'a> = $t;
            fn shape() -> Shape {
                Shape::Int { size: std::mem::size_of::<$t>() as u32, signed: $signed }
            }
            #[inline]
            fn read(bytes: &[u8], layout: FieldLayout) -> Option<$t> {
                read_int(bytes, layout, std::mem::size_of::<$t>()).map(|v| v as $t)
            }
        }
    )*};
}

int_field!(u8 => false, u16 => false, u32 => false, u64 => false, usize => false,
           i8 => true, i16 => true, i32 => true, i64 => true, isize => true);

impl KernelField for bool {
    type Value<'a> = bool;
    fn shape() -> Shape {
        Shape::Bool
    }
    #[inline]
    fn read(bytes: &[u8], layout: FieldLayout) -> Option<bool> {
        read_int(bytes, layout, 1).map(|v| v != 0)
    }
}

impl<T: KernelField, const N: usize> KernelField for [T; N]
where
    for<'a> T::Value<'a>: Copy + Default,
{
    type Value<'a> = [T::Value<'a>; N];
    fn shape() -> Shape {
        Shape::Array {
            elem: T::shape,
            len: N,
        }
    }
    fn read(bytes: &[u8], layout: FieldLayout) -> Option<Self::Value<'_>> {
        let elem = T::shape().static_size()? as usize;
        let mut out = [T::Value::default(); N];
        for (i, slot) in out.iter_mut().enumerate() {
            let l = FieldLayout {
                bit_offset: layout.bit_offset + (i * elem * 8) as u64,
                bitfield_bits: 0,
                ..layout
            };
            *slot = T::read(bytes, l)?;
        }
        Some(out)
    }
}

/// A kernel virtual address with no declared pointee type (`void *`, or any
/// pointer). Like [`KPtr`], it holds the address in its field `addr`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct KAddr {
    /// The kernel virtual address.
    pub addr: u64,
}

impl KAddr {
    /// The address `addr`.
    pub const fn new(addr: u64) -> Self {
        KAddr { addr }
    }
    /// Whether this is the NULL pointer.
    pub fn is_null(self) -> bool {
        self.addr == 0
    }
}

impl From<u64> for KAddr {
    fn from(addr: u64) -> Self {
        KAddr { addr }
    }
}

impl<T: ?Sized> From<KPtr<T>> for KAddr {
    fn from(p: KPtr<T>) -> Self {
        KAddr { addr: p.addr }
    }
}

impl fmt::Debug for KAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.addr)
    }
}

impl KernelField for KAddr {
    type Value<'a> = KAddr;
    fn shape() -> Shape {
        Shape::Pointer { target: None }
    }
    fn read(bytes: &[u8], layout: FieldLayout) -> Option<KAddr> {
        read_raw(bytes, layout.byte_offset(), 8, layout.big_endian).map(KAddr::new)
    }
}

/// A typed kernel pointer: the address of a `T` in the kernel's address space.
///
/// Follow one to a `#[kernel_struct]` type with [`KPtr::read`].
pub struct KPtr<T: ?Sized> {
    /// The kernel virtual address.
    pub addr: u64,
    _to: PhantomData<fn() -> T>,
}

impl<T: ?Sized> KPtr<T> {
    /// A pointer to `addr`.
    pub const fn new(addr: u64) -> Self {
        KPtr {
            addr,
            _to: PhantomData,
        }
    }
    /// Whether this is the NULL pointer.
    pub fn is_null(&self) -> bool {
        self.addr == 0
    }
    /// The same address, untyped.
    pub fn untyped(&self) -> KAddr {
        KAddr { addr: self.addr }
    }
}

impl<T: ?Sized> Clone for KPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for KPtr<T> {}
impl<T: ?Sized> Default for KPtr<T> {
    fn default() -> Self {
        KPtr::new(0)
    }
}
impl<T: ?Sized> PartialEq for KPtr<T> {
    fn eq(&self, o: &Self) -> bool {
        self.addr == o.addr
    }
}
impl<T: ?Sized> Eq for KPtr<T> {}
impl<T: ?Sized> fmt::Debug for KPtr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KPtr({:#x})", self.addr)
    }
}

impl<T: KernelField + ?Sized> KernelField for KPtr<T> {
    type Value<'a> = KPtr<T>;
    fn shape() -> Shape {
        Shape::Pointer {
            target: Some(T::shape),
        }
    }
    fn read(bytes: &[u8], layout: FieldLayout) -> Option<KPtr<T>> {
        read_raw(bytes, layout.byte_offset(), 8, layout.big_endian).map(KPtr::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(bit_offset: u64, bits: u8, signed: bool) -> FieldLayout {
        FieldLayout {
            bit_offset,
            bitfield_bits: bits,
            signed,
            big_endian: false,
        }
    }

    #[test]
    fn reads_plain_integers_little_and_big_endian() {
        let b = [0x78, 0x56, 0x34, 0x12, 0xff, 0xff];
        assert_eq!(u32::read(&b, le(0, 0, false)), Some(0x1234_5678));
        assert_eq!(i16::read(&b, le(32, 0, true)), Some(-1));
        let be = FieldLayout {
            big_endian: true,
            ..le(0, 0, false)
        };
        assert_eq!(u16::read(&b, be), Some(0x7856));
        assert_eq!(
            u64::read(&b, le(0, 0, false)),
            None,
            "short slice is None, not a panic"
        );
    }

    #[test]
    fn reads_bitfields_with_shift_and_sign() {
        // bits 4..=7 of byte 0 hold 0b1010; bits 8..=10 hold 0b111.
        let b = [0xa0, 0x07];
        assert_eq!(u8::read(&b, le(4, 4, false)), Some(0b1010));
        assert_eq!(i8::read(&b, le(4, 4, true)), Some(-6));
        assert_eq!(u32::read(&b, le(8, 3, false)), Some(7));
        assert_eq!(i32::read(&b, le(8, 3, true)), Some(-1));
        // Straddling the byte boundary: bits 6..=9 = 0b11_10 (low two from byte 0).
        assert_eq!(u8::read(&b, le(6, 4, false)), Some(0b1110));
    }

    #[test]
    fn reads_unaligned_64_bit_bitfield() {
        let mut b = [0u8; 9];
        let v: u64 = 0xdead_beef_cafe_f00d;
        let wide = (v as u128) << 3;
        b.copy_from_slice(&wide.to_le_bytes()[..9]);
        assert_eq!(u64::read(&b, le(3, 64, false)), Some(v));
    }

    #[test]
    fn reads_arrays_and_pointers() {
        let b = [1u8, 2, 3, 4, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0xff, 0xff];
        assert_eq!(<[u8; 4]>::read(&b, le(0, 0, false)), Some([1, 2, 3, 4]));
        assert_eq!(
            KAddr::read(&b, le(64, 0, false)),
            Some(KAddr::new(0xffff_0000_0000_0010))
        );
    }
}
