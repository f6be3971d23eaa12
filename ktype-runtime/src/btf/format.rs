//! C-like spelling of BTF types, for reports and layout dumps.

use super::kind::Kind;
use super::types::TypeId;
use super::Btf;

const MAX_DEPTH: usize = 32;
/// Work budget of one spelling: each type visited costs 1 plus its name's
/// length, so shared or self-referencing prototypes cannot make the work,
/// or the string built, grow exponentially.
const MAX_STEPS: usize = 1 << 14;

impl Btf {
    /// The C spelling of type `id`, e.g. `struct page *` or `char [16]`.
    pub fn type_name(&self, id: TypeId) -> String {
        self.c_decl(id, "")
    }

    /// A C declaration of `name` with type `id`, e.g. `char comm[16]` or
    /// `void (*func)(struct callback_head *)`.
    pub fn c_decl(&self, id: TypeId, name: &str) -> String {
        let mut steps = MAX_STEPS;
        self.decl(id, name.to_string(), 0, &mut steps)
            .trim_end()
            .to_string()
    }

    fn decl(&self, id: TypeId, inner: String, depth: usize, steps: &mut usize) -> String {
        let join = |base: &str, inner: &str| {
            if inner.is_empty() {
                base.to_string()
            } else {
                format!("{base} {inner}")
            }
        };
        let Some(t) = self
            .type_by_id(id)
            .filter(|_| depth < MAX_DEPTH && *steps > 0)
        else {
            return join("<bad type>", &inner);
        };
        *steps = steps.saturating_sub(1 + t.name().len());
        let named = |kw: &str| {
            let n = t.name();
            if n.is_empty() {
                format!("{kw} {{...}}")
            } else if kw.is_empty() {
                n.to_string()
            } else {
                format!("{kw} {n}")
            }
        };
        match t.kind() {
            Kind::Void => join("void", &inner),
            Kind::Int | Kind::Float | Kind::Typedef => join(&named(""), &inner),
            Kind::Struct => join(&named("struct"), &inner),
            Kind::Union => join(&named("union"), &inner),
            Kind::Enum | Kind::Enum64 => join(&named("enum"), &inner),
            Kind::Fwd => join(
                &named(if t.kind_flag() { "union" } else { "struct" }),
                &inner,
            ),
            Kind::Ptr => {
                let target = t.ref_type().unwrap_or(0);
                // Type tags are not spelled: look through them for the pointee.
                let mut pointee = self.type_by_id(target);
                for _ in 0..MAX_DEPTH {
                    match pointee {
                        Some(p) if p.kind() == Kind::TypeTag => {
                            pointee = self.type_by_id(p.ref_type().unwrap_or(0))
                        }
                        _ => break,
                    }
                }
                let wrap =
                    pointee.is_some_and(|p| matches!(p.kind(), Kind::Array | Kind::FuncProto));
                let inner = if wrap {
                    format!("(*{inner})")
                } else {
                    format!("*{inner}")
                };
                self.decl(target, inner, depth + 1, steps)
            }
            Kind::Array => {
                let a = t.array();
                self.decl(
                    a.elem_type,
                    format!("{inner}[{}]", a.nelems),
                    depth + 1,
                    steps,
                )
            }
            Kind::Const | Kind::Volatile | Kind::Restrict => {
                let kw = t.kind().name();
                let target = t.ref_type().unwrap_or(0);
                if self
                    .type_by_id(target)
                    .is_some_and(|p| p.kind() == Kind::Ptr)
                {
                    // A qualified pointer: the qualifier follows the `*`
                    // (`int *const p`), unlike a pointer to a qualified type.
                    self.decl(target, join(kw, &inner), depth + 1, steps)
                } else {
                    format!("{kw} {}", self.decl(target, inner, depth + 1, steps))
                }
            }
            Kind::TypeTag | Kind::Var | Kind::DeclTag => {
                self.decl(t.ref_type().unwrap_or(0), inner, depth + 1, steps)
            }
            Kind::FuncProto => {
                let mut params: Vec<String> = Vec::new();
                for p in t.params() {
                    if *steps == 0 {
                        params.push("<...>".to_string());
                        break;
                    }
                    params.push(if p.type_id == 0 {
                        "...".to_string()
                    } else {
                        self.decl(p.type_id, String::new(), depth + 1, steps)
                    });
                }
                let params = if params.is_empty() {
                    "void".to_string()
                } else {
                    params.join(", ")
                };
                self.decl(
                    t.ref_type().unwrap_or(0),
                    format!("{inner}({params})"),
                    depth + 1,
                    steps,
                )
            }
            Kind::Func => join(&format!("func {}", t.name()), &inner),
            Kind::Datasec => join(&format!("section {}", t.name()), &inner),
            Kind::Unknown(k) => join(&format!("<kind {k}>"), &inner),
        }
    }
}
