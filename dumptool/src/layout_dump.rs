//! A pahole-like layout listing of a struct or union: members with byte
//! offsets and sizes, bitfields, anonymous members expanded in place, holes
//! and trailing padding.

use ktype_runtime::btf::{Btf, Kind, Type};
use std::fmt::Write;

/// Formats the layout of aggregate `t` (a struct or union).
///
/// ```no_run
/// use ktype_runtime::btf::{Btf, Kind};
/// let btf = Btf::open("/sys/kernel/btf/vmlinux")?;
/// let page = btf.find_unique("page", Kind::Struct)?;
/// print!("{}", dumptool::layout_dump::show_aggregate(&btf, &page));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn show_aggregate(btf: &Btf, t: &Type<'_>) -> String {
    let mut out = String::new();
    let kw = if t.kind() == Kind::Union {
        "union"
    } else {
        "struct"
    };
    let _ = writeln!(
        out,
        "{kw} {} {{{}",
        t.name(),
        comment(&format!("id {}", t.id()))
    );
    let mut stats = Stats::default();
    body(btf, t, 0, 1, &mut out, &mut stats);
    let _ = writeln!(out, "}};");
    let _ = write!(out, "/* size: {}, members: {}", t.size(), stats.members);
    if stats.holes > 0 {
        let _ = write!(
            out,
            ", holes: {}, sum holes: {}",
            stats.holes, stats.hole_bytes
        );
    }
    if stats.padding > 0 {
        let _ = write!(out, ", padding: {}", stats.padding);
    }
    let _ = writeln!(out, " */");
    out
}

#[derive(Default)]
struct Stats {
    members: usize,
    holes: usize,
    hole_bytes: u64,
    padding: u64,
}

fn comment(s: &str) -> String {
    format!(" /* {s} */")
}

fn line(out: &mut String, depth: usize, decl: &str, note: &str) {
    let indent = "\t".repeat(depth);
    let text = format!("{indent}{decl};");
    let _ = writeln!(out, "{text:<56}/* {note} */");
}

/// Prints the members of `t`, whose first byte is at `base` bits in the outermost type.
fn body(btf: &Btf, t: &Type<'_>, base: u64, depth: usize, out: &mut String, stats: &mut Stats) {
    let is_struct = t.kind() == Kind::Struct;
    let mut end_bits: u64 = base;
    for m in t.members() {
        let off = base + m.bit_offset as u64;
        let loc = btf
            .find_member(t.id(), m.name)
            .filter(|_| !m.name.is_empty());
        let bitfield = loc.map(|l| l.bitfield_size).unwrap_or(m.bitfield_size);
        let off = loc.map(|l| base + l.bit_offset).unwrap_or(off);
        let size = btf.size_of(m.type_id).unwrap_or(0);
        if is_struct && depth > 0 {
            let start = if bitfield > 0 { off } else { off / 8 * 8 };
            if start / 8 > end_bits.div_ceil(8) && bitfield == 0 {
                let hole = start / 8 - end_bits.div_ceil(8);
                let _ = writeln!(
                    out,
                    "\n{}/* XXX {hole} byte{} hole */\n",
                    "\t".repeat(depth),
                    if hole == 1 { "" } else { "s" }
                );
                stats.holes += 1;
                stats.hole_bytes += hole;
            }
        }
        let inner = btf.skip_modifiers(m.type_id);
        let anon_aggregate = m.name.is_empty()
            && inner.is_some_and(|i| {
                matches!(i.kind(), Kind::Struct | Kind::Union) && i.name().is_empty()
            });
        if anon_aggregate {
            let i = inner.expect("checked above");
            let kw = if i.kind() == Kind::Union {
                "union"
            } else {
                "struct"
            };
            let _ = writeln!(out, "{}{kw} {{", "\t".repeat(depth));
            body(btf, &i, off, depth + 1, out, stats);
            line(out, depth, "}", &format!("{:5} {:5}", off / 8, size));
        } else if bitfield > 0 {
            let unit = btf.size_of(m.type_id).unwrap_or(0);
            let decl = format!("{}:{bitfield}", btf.c_decl(m.type_id, m.name));
            line(
                out,
                depth,
                &decl,
                &format!("{:5}:{:2} {:4}", off / 8, off % 8, unit),
            );
            stats.members += 1;
        } else {
            line(
                out,
                depth,
                &btf.c_decl(m.type_id, m.name),
                &format!("{:5} {:5}", off / 8, size),
            );
            stats.members += 1;
        }
        let this_end = if bitfield > 0 {
            off + bitfield as u64
        } else {
            off + size * 8
        };
        if t.kind() == Kind::Union {
            end_bits = end_bits.max(this_end);
        } else {
            end_bits = this_end.max(end_bits);
        }
    }
    if depth == 1 && is_struct {
        let used = end_bits.div_ceil(8) - base / 8;
        if (t.size() as u64) > used {
            stats.padding = t.size() as u64 - used;
        }
    }
}
