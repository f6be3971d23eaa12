//! The registry: descriptors that `#[kernel_struct]`, `#[kernel_enum]` and
//! `kernel_symbols!` emit, collected at link time in `linkme` distributed slices.
//!
//! Every crate linked into a binary adds its declarations to [`KERNEL_STRUCTS`],
//! [`KERNEL_ENUMS`] and [`KERNEL_SYMBOLS`]; [`crate::resolve`] fills them all from
//! the BTF of the kernel at hand. Descriptors are plain `static` data plus atomic
//! slots, so a resolved binding costs one atomic load per access.

mod descriptors;
mod field;
mod session;
mod slots;
mod view;

pub use descriptors::{AggregateKind, EnumDesc, FieldDesc, StructDesc, SymbolDesc, VariantDesc};
pub use field::{KAddr, KPtr, KernelField, Shape};
pub use session::{lock_bindings, BindingsGuard};
pub use slots::{FieldLayout, FieldSlot, NotResolved, ValueSlot};
pub use view::ViewError;

use linkme::distributed_slice;

/// Every `#[kernel_struct]` linked into the program.
#[distributed_slice]
pub static KERNEL_STRUCTS: [&'static StructDesc];

/// Every `#[kernel_enum]` linked into the program.
#[distributed_slice]
pub static KERNEL_ENUMS: [&'static EnumDesc];

/// Every symbol declared with `kernel_symbols!` linked into the program.
#[distributed_slice]
pub static KERNEL_SYMBOLS: [&'static SymbolDesc];
