//! Types that contain themselves by value: a typedef (or modifier) chain
//! that loops, or a struct or union holding itself through its members,
//! arrays, typedefs and modifiers. C cannot express either (only a pointer
//! may lead back), so such BTF is corrupt: sizing or walking those types
//! would never end.

use super::error::Result;
use super::kind::Kind;
use super::types::{Type, TypeId};
use super::Btf;
use crate::text::Escaped;

/// The types `t` holds by value (or is another name for).
fn value_edges(t: &Type<'_>) -> Vec<TypeId> {
    match t.kind() {
        Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
            t.ref_type().into_iter().collect()
        }
        Kind::Array => vec![t.array().elem_type],
        Kind::Struct | Kind::Union => t.members().map(|m| m.type_id).collect(),
        _ => Vec::new(),
    }
}

fn label(t: &Type<'_>) -> String {
    let name = if t.name().is_empty() {
        "(anon)"
    } else {
        t.name()
    };
    format!("{} {} [id {}]", t.kind(), Escaped(name), t.id())
}

impl Btf {
    /// Checks that no type of this blob contains itself by value (see the
    /// module documentation); the error names the whole cycle. Part of
    /// [`Btf::validate`]. Linear in types and members.
    pub fn check_containment(&self) -> Result<()> {
        const WHITE: u8 = 0;
        const GRAY: u8 = 1;
        const BLACK: u8 = 2;
        let start = self.start_id;
        let n = self.type_offs.len();
        let mut color = vec![WHITE; n];
        let own = |id: TypeId| {
            (id >= start && ((id - start) as usize) < n).then(|| (id - start) as usize)
        };
        for root in 0..n {
            if color[root] != WHITE {
                continue;
            }
            // (type index, its value edges, next edge)
            let mut stack: Vec<(usize, Vec<TypeId>, usize)> = Vec::new();
            let edges = |i: usize| {
                self.type_by_id(start + i as u32)
                    .map(|t| value_edges(&t))
                    .unwrap_or_default()
            };
            color[root] = GRAY;
            stack.push((root, edges(root), 0));
            while let Some(top) = stack.last_mut() {
                let Some(&next) = top.1.get(top.2) else {
                    color[top.0] = BLACK;
                    stack.pop();
                    continue;
                };
                top.2 += 1;
                let Some(j) = own(next) else {
                    continue;
                };
                match color[j] {
                    WHITE => {
                        color[j] = GRAY;
                        stack.push((j, edges(j), 0));
                    }
                    GRAY => {
                        let from = stack.iter().position(|f| f.0 == j).unwrap_or(0);
                        let cycle: Vec<Type<'_>> = stack[from..]
                            .iter()
                            .filter_map(|f| self.type_by_id(start + f.0 as u32))
                            .collect();
                        let all_aliases = cycle.iter().all(|t| {
                            matches!(
                                t.kind(),
                                Kind::Typedef
                                    | Kind::Volatile
                                    | Kind::Const
                                    | Kind::Restrict
                                    | Kind::TypeTag
                            )
                        });
                        let mut path: Vec<String> = cycle.iter().map(label).collect();
                        path.push(path[0].clone());
                        let what = if all_aliases {
                            "typedef cycle"
                        } else {
                            "a type contains itself by value"
                        };
                        return Err(self.corrupt(
                            self.types.start + self.type_offs[j] as usize,
                            format!("{what}: {}", path.join(" -> ")),
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
