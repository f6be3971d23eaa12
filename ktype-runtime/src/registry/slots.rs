//! Atomic slots that hold what resolution found; read on every access.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A binding was used before [`crate::resolve`] (or `resolve_symbols`) filled it,
/// or resolution failed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotResolved {
    /// What was used, e.g. `struct page (Page).flags`.
    pub what: String,
    /// Resolution ran and found this optional item absent from the kernel.
    pub absent: bool,
}

impl fmt::Display for NotResolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.absent {
            return write!(
                f,
                "ktype binding {} is optional and absent from this kernel",
                self.what
            );
        }
        write!(
            f,
            "ktype binding {} used before it was resolved: call ktype_runtime::resolve() \
             with the kernel's BTF first (and check its result)",
            self.what
        )
    }
}

impl std::error::Error for NotResolved {}

const RESOLVED: u64 = 1 << 63;
const PRESENT: u64 = 1 << 62;
const SIGNED: u64 = 1 << 61;
const BIG_ENDIAN: u64 = 1 << 60;
const BITS_SHIFT: u32 = 40;
const OFFSET_MASK: u64 = (1 << BITS_SHIFT) - 1;

/// Where a resolved member lives inside its outermost struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLayout {
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u64,
    /// Width of a bitfield in bits; 0 for a whole (byte-aligned) member.
    pub bitfield_bits: u8,
    /// Whether the kernel's integer type is signed (matters for bitfields).
    pub signed: bool,
    /// Whether the target kernel is big-endian.
    pub big_endian: bool,
}

impl FieldLayout {
    /// Byte offset of the member (the byte holding its first bit for bitfields).
    pub fn byte_offset(&self) -> usize {
        (self.bit_offset / 8) as usize
    }

    /// Whether the member is a bitfield.
    pub fn is_bitfield(&self) -> bool {
        self.bitfield_bits != 0
    }

    fn encode(&self) -> u64 {
        let mut v = RESOLVED | PRESENT | (self.bit_offset & OFFSET_MASK);
        v |= (self.bitfield_bits as u64) << BITS_SHIFT;
        if self.signed {
            v |= SIGNED;
        }
        if self.big_endian {
            v |= BIG_ENDIAN;
        }
        v
    }

    fn decode(v: u64) -> Self {
        FieldLayout {
            bit_offset: v & OFFSET_MASK,
            bitfield_bits: ((v >> BITS_SHIFT) & 0xff) as u8,
            signed: v & SIGNED != 0,
            big_endian: v & BIG_ENDIAN != 0,
        }
    }
}

/// The run-time slot of one declared member.
#[derive(Debug)]
pub struct FieldSlot(AtomicU64);

impl FieldSlot {
    /// An unresolved slot (what the macros emit).
    pub const fn new() -> Self {
        FieldSlot(AtomicU64::new(0))
    }

    /// `Err` before resolution; `Ok(None)` for an optional member the kernel lacks.
    /// (The unit error is deliberate: callers turn it into a [`NotResolved`]
    /// that names the binding, which the slot does not know.)
    #[inline]
    #[allow(clippy::result_unit_err)]
    pub fn get(&self) -> Result<Option<FieldLayout>, ()> {
        let v = self.0.load(Ordering::Acquire);
        if v & RESOLVED == 0 {
            Err(())
        } else if v & PRESENT == 0 {
            Ok(None)
        } else {
            Ok(Some(FieldLayout::decode(v)))
        }
    }

    /// Records the member's layout (`None`: absent optional member).
    pub fn set(&self, layout: Option<FieldLayout>) {
        let v = match layout {
            Some(l) => l.encode(),
            None => RESOLVED,
        };
        self.0.store(v, Ordering::Release);
    }

    /// Back to the unresolved state.
    pub fn clear(&self) {
        self.0.store(0, Ordering::Release);
    }
}

impl Default for FieldSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// The run-time slot of a size, an enum constant or a symbol address.
#[derive(Debug)]
pub struct ValueSlot {
    state: AtomicU64,
    value: AtomicU64,
}

const STATE_UNRESOLVED: u64 = 0;
const STATE_ABSENT: u64 = 1;
const STATE_PRESENT: u64 = 2;

impl ValueSlot {
    /// An unresolved slot (what the macros emit).
    pub const fn new() -> Self {
        ValueSlot {
            state: AtomicU64::new(STATE_UNRESOLVED),
            value: AtomicU64::new(0),
        }
    }

    /// `Err` before resolution; `Ok(None)` for an optional item the kernel lacks.
    #[inline]
    #[allow(clippy::result_unit_err)]
    pub fn get(&self) -> Result<Option<u64>, ()> {
        match self.state.load(Ordering::Acquire) {
            STATE_PRESENT => Ok(Some(self.value.load(Ordering::Relaxed))),
            STATE_ABSENT => Ok(None),
            _ => Err(()),
        }
    }

    /// Records the value (`None`: absent optional item).
    pub fn set(&self, value: Option<u64>) {
        match value {
            Some(v) => {
                self.value.store(v, Ordering::Relaxed);
                self.state.store(STATE_PRESENT, Ordering::Release);
            }
            None => self.state.store(STATE_ABSENT, Ordering::Release),
        }
    }

    /// Back to the unresolved state.
    pub fn clear(&self) {
        self.state.store(STATE_UNRESOLVED, Ordering::Release);
    }
}

impl Default for ValueSlot {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_slot_round_trips_layouts() {
        let slot = FieldSlot::new();
        assert!(slot.get().is_err());
        let l = FieldLayout {
            bit_offset: 12345,
            bitfield_bits: 3,
            signed: true,
            big_endian: false,
        };
        slot.set(Some(l));
        assert_eq!(slot.get(), Ok(Some(l)));
        slot.set(None);
        assert_eq!(slot.get(), Ok(None));
        slot.clear();
        assert!(slot.get().is_err());
    }

    #[test]
    fn value_slot_round_trips_values() {
        let slot = ValueSlot::new();
        assert!(slot.get().is_err());
        slot.set(Some(u64::MAX));
        assert_eq!(slot.get(), Ok(Some(u64::MAX)));
        slot.set(None);
        assert_eq!(slot.get(), Ok(None));
    }
}
