//! Whether a declared Rust shape fits the BTF member it was bound to.

use crate::btf::{Btf, Kind, MemberLoc, TypeId};
use crate::registry::{FieldLayout, Shape, StructDesc};

/// Checks `shape` against the member at `loc` and returns the layout to
/// store, or why they do not fit.
pub(crate) fn check_member(
    btf: &Btf,
    loc: &MemberLoc,
    shape: &Shape,
) -> Result<FieldLayout, String> {
    let layout = |signed: bool| FieldLayout {
        bit_offset: loc.bit_offset,
        bitfield_bits: loc.bitfield_size as u8,
        signed,
        big_endian: btf.is_big_endian(),
    };
    if loc.bitfield_size > 0 {
        return check_bitfield(btf, loc, shape).map(layout);
    }
    check_type(btf, loc.type_id, shape, 0).map(layout)
}

fn spelled(btf: &Btf, id: TypeId) -> String {
    btf.type_name(id)
}

/// A bitfield may be read into an integer at least as wide, or a bool when
/// it is one bit.
fn check_bitfield(btf: &Btf, loc: &MemberLoc, shape: &Shape) -> Result<bool, String> {
    let t = btf
        .skip_modifiers(loc.type_id)
        .ok_or("member type is missing (corrupt BTF)")?;
    let signed = match t.kind() {
        Kind::Int => t.int_info().encoding.signed,
        Kind::Enum | Kind::Enum64 => t.kind_flag(),
        _ => {
            return Err(format!(
                "bitfield of non-integer type {}",
                spelled(btf, loc.type_id)
            ))
        }
    };
    let bits = loc.bitfield_size;
    match *shape {
        Shape::Int { size, signed: rs } => {
            if bits > size * 8 {
                return Err(format!(
                    "{bits}-bit bitfield does not fit the declared {}-bit integer",
                    size * 8
                ));
            }
            if rs != signed && t.kind() == Kind::Int {
                return Err(format!(
                    "signedness mismatch: kernel bitfield is {} ({}), declared {}",
                    sign(signed),
                    spelled(btf, loc.type_id),
                    shape
                ));
            }
            Ok(signed)
        }
        Shape::Bool if bits == 1 => Ok(false),
        _ => Err(format!("declared {shape} over a {bits}-bit bitfield")),
    }
}

fn sign(s: bool) -> &'static str {
    if s {
        "signed"
    } else {
        "unsigned"
    }
}

/// Checks a whole (non-bitfield) member type; returns the signedness to read with.
fn check_type(btf: &Btf, id: TypeId, shape: &Shape, depth: usize) -> Result<bool, String> {
    if depth > 16 {
        return Err("array nesting too deep".into());
    }
    let t = btf
        .skip_modifiers(id)
        .ok_or_else(|| format!("type id {id} is missing or loops (corrupt BTF)"))?;
    let what = || spelled(btf, id);
    // A scalar may be declared over a transparent wrapper such as `atomic_t`,
    // `refcount_t` or `pte_t`: a struct whose one member fills it from offset 0.
    if matches!(shape, Shape::Int { .. } | Shape::Bool) && t.kind() == Kind::Struct && t.vlen() == 1
    {
        if let Some(m) = t.members().next() {
            if m.bit_offset == 0
                && m.bitfield_size == 0
                && btf.size_of(m.type_id) == Some(t.size() as u64)
            {
                return check_type(btf, m.type_id, shape, depth + 1).map_err(|why| {
                    format!(
                        "{why} (inside {}, read as its only member `{}`)",
                        what(),
                        m.name
                    )
                });
            }
        }
    }
    match *shape {
        Shape::Int { size, signed } => match t.kind() {
            Kind::Int => {
                let ii = t.int_info();
                if t.size() != size {
                    return Err(format!(
                        "size mismatch: kernel type {} is {} bytes, declared {shape}",
                        what(),
                        t.size()
                    ));
                }
                // `char` signedness depends on the compiler flags of the build; accept either.
                let is_char = ii.encoding.char || t.name() == "char";
                if ii.encoding.signed != signed && !is_char && !ii.encoding.bool {
                    return Err(format!(
                        "signedness mismatch: kernel type {} is {}, declared {shape}",
                        what(),
                        sign(ii.encoding.signed)
                    ));
                }
                Ok(ii.encoding.signed)
            }
            Kind::Enum | Kind::Enum64 => {
                if t.size() != size {
                    return Err(format!(
                        "size mismatch: kernel type {} is {} bytes, declared {shape}",
                        what(),
                        t.size()
                    ));
                }
                Ok(t.kind_flag())
            }
            Kind::Ptr => {
                let p = btf.pointer_size();
                if size != p || signed {
                    return Err(format!("kernel member is a pointer ({}), declared {shape}: use KPtr<T>, KAddr, or u{}", what(), p * 8));
                }
                Ok(false)
            }
            _ => Err(format!(
                "kernel member is {}, not an integer, declared {shape}",
                what()
            )),
        },
        Shape::Bool => match t.kind() {
            Kind::Int if t.size() == 1 => Ok(false),
            _ => Err(format!("kernel member is {}, declared bool", what())),
        },
        Shape::Pointer { target } => {
            if t.kind() != Kind::Ptr {
                return Err(format!(
                    "kernel member is {}, not a pointer, declared {shape}",
                    what()
                ));
            }
            if let Some(target) = target {
                if let Shape::Struct(desc) = target() {
                    let pointee = t.ref_type().and_then(|p| btf.skip_modifiers(p));
                    let ok = pointee.is_some_and(|p| {
                        matches!(p.kind(), Kind::Struct | Kind::Union | Kind::Fwd)
                            && desc.names.contains(&p.name())
                    });
                    if !ok {
                        return Err(format!(
                            "kernel member is {}, declared a pointer to {}",
                            what(),
                            desc.display_name()
                        ));
                    }
                }
            }
            Ok(false)
        }
        Shape::Array { elem, len } => {
            if t.kind() != Kind::Array {
                return Err(format!(
                    "kernel member is {}, not an array, declared {shape}",
                    what()
                ));
            }
            let a = t.array();
            if a.nelems as usize != len {
                return Err(format!(
                    "array length mismatch: kernel {} has {} elements, declared {len}",
                    what(),
                    a.nelems
                ));
            }
            check_type(btf, a.elem_type, &elem(), depth + 1)
        }
        Shape::Struct(desc) => check_nested(btf, id, desc),
    }
}

fn check_nested(btf: &Btf, id: TypeId, desc: &StructDesc) -> Result<bool, String> {
    let t = btf
        .skip_modifiers(id)
        .ok_or("member type is missing (corrupt BTF)")?;
    let kind_ok = matches!(t.kind(), Kind::Struct | Kind::Union);
    if !kind_ok || !desc.names.contains(&t.name()) {
        return Err(format!(
            "kernel member is {}, declared {}",
            spelled(btf, id),
            desc.display_name()
        ));
    }
    Ok(false)
}
