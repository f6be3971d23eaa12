//! Parsing and checking of the options in `#[kernel_struct(...)]`,
//! `#[kernel_enum(...)]` and the `#[kernel(...)]` helper attribute.

use crate::errors::Errors;
use crate::naming::{self, NameKind};
use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Meta, Token};

/// One option keyword.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Opt {
    Module,
    Name,
    Any,
    Path,
    Optional,
    Union,
    Anonymous,
    Group,
}

impl Opt {
    const ALL: [Opt; 8] = [
        Opt::Module,
        Opt::Name,
        Opt::Any,
        Opt::Path,
        Opt::Optional,
        Opt::Union,
        Opt::Anonymous,
        Opt::Group,
    ];

    /// The keyword as written.
    pub fn keyword(self) -> &'static str {
        match self {
            Opt::Module => "module",
            Opt::Name => "name",
            Opt::Any => "any",
            Opt::Path => "path",
            Opt::Optional => "optional",
            Opt::Union => "union",
            Opt::Anonymous => "anonymous",
            Opt::Group => "group",
        }
    }

    fn from_keyword(s: &str) -> Option<Opt> {
        Opt::ALL.into_iter().find(|o| o.keyword() == s)
    }

    /// Options that choose the kernel name(s): at most one per place.
    fn is_selector(self) -> bool {
        matches!(self, Opt::Name | Opt::Any | Opt::Path | Opt::Anonymous)
    }
}

/// Where a set of options is written, and what it accepts there.
pub struct Place {
    /// Options accepted here, in the order the error messages list them.
    pub allowed: &'static [Opt],
    /// How messages name the options ("kernel_struct option", "kernel option").
    pub noun: &'static str,
    /// Where, for "not allowed ..." messages ("on a field").
    pub location: &'static str,
    /// How `name = ".."` is validated.
    pub name_kind: NameKind,
    /// How each entry of `any(..)` is validated.
    pub any_kind: NameKind,
}

/// `#[kernel_struct(...)]`.
pub const STRUCT: Place = Place {
    allowed: &[
        Opt::Module,
        Opt::Name,
        Opt::Any,
        Opt::Union,
        Opt::Optional,
        Opt::Group,
    ],
    noun: "kernel_struct option",
    location: "in #[kernel_struct(...)]",
    name_kind: NameKind::TypeOrConstant,
    any_kind: NameKind::TypeOrConstant,
};

/// `#[kernel(...)]` on a `#[kernel_struct]` field.
pub const FIELD: Place = Place {
    allowed: &[Opt::Name, Opt::Any, Opt::Path, Opt::Optional],
    noun: "kernel option",
    location: "on a kernel_struct field",
    name_kind: NameKind::Member,
    any_kind: NameKind::MemberPath,
};

/// `#[kernel_enum(...)]`.
pub const ENUM: Place = Place {
    allowed: &[
        Opt::Module,
        Opt::Name,
        Opt::Any,
        Opt::Anonymous,
        Opt::Optional,
        Opt::Group,
    ],
    noun: "kernel_enum option",
    location: "in #[kernel_enum(...)]",
    name_kind: NameKind::TypeOrConstant,
    any_kind: NameKind::TypeOrConstant,
};

/// `#[kernel(...)]` on a `#[kernel_enum]` variant.
pub const VARIANT: Place = Place {
    allowed: &[Opt::Name, Opt::Any, Opt::Optional],
    noun: "kernel option",
    location: "on a kernel_enum variant",
    name_kind: NameKind::TypeOrConstant,
    any_kind: NameKind::TypeOrConstant,
};

/// `#[kernel(...)]` on a `kernel_symbols!` item.
pub const SYMBOL: Place = Place {
    allowed: &[Opt::Module, Opt::Optional, Opt::Group],
    noun: "kernel option",
    location: "on a kernel_symbols! item (the symbol name goes after `=`)",
    name_kind: NameKind::Loose,
    any_kind: NameKind::Loose,
};

/// Parsed options; each is `Some` when given.
#[derive(Default)]
pub struct Options {
    pub module: Option<LitStr>,
    pub name: Option<LitStr>,
    /// `any("a", "b")`: the names in order.
    pub any: Option<Vec<LitStr>>,
    pub path: Option<LitStr>,
    pub optional: Option<Ident>,
    pub union: Option<Ident>,
    pub anonymous: Option<Ident>,
    /// `group = "..."`: the resolution group.
    pub group: Option<LitStr>,
    /// The selector options in the order written, for conflict messages.
    selectors: Vec<(Opt, Ident)>,
}

impl Options {
    /// Parses every `#[kernel(...)]` among `attrs` (other attributes are ignored).
    pub fn from_kernel_attrs(attrs: &[Attribute], place: &Place, errors: &mut Errors) -> Options {
        let mut opts = Options::default();
        for attr in attrs.iter().filter(|a| is_kernel_attr(a)) {
            match &attr.meta {
                Meta::List(list) => opts.parse_into(list.tokens.clone(), place, errors),
                other => errors.spanned(
                    other,
                    format!(
                        "expected options in parentheses, e.g. `#[kernel(optional)]`; \
                         accepted {place_loc}: {}",
                        list_allowed(place),
                        place_loc = place.location
                    ),
                ),
            }
        }
        opts.check_conflicts(place, errors);
        opts
    }

    /// Parses the arguments of `#[kernel_struct(...)]` / `#[kernel_enum(...)]`.
    pub fn from_args(args: TokenStream, place: &Place, errors: &mut Errors) -> Options {
        let mut opts = Options::default();
        opts.parse_into(args, place, errors);
        opts.check_conflicts(place, errors);
        opts
    }

    fn parse_into(&mut self, tokens: TokenStream, place: &Place, errors: &mut Errors) {
        let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e);
                return;
            }
        };
        for meta in metas {
            self.parse_one(meta, place, errors);
        }
    }

    fn parse_one(&mut self, meta: Meta, place: &Place, errors: &mut Errors) {
        let Some(key) = meta.path().get_ident().cloned() else {
            errors.spanned(
                meta.path(),
                format!("expected a {} name: {}", place.noun, list_allowed(place)),
            );
            return;
        };
        let key_str = naming::unraw(&key);
        let opt = match Opt::from_keyword(&key_str) {
            Some(opt) if place.allowed.contains(&opt) => opt,
            Some(_) => {
                errors.spanned(
                    &key,
                    format!(
                        "`{key_str}` is not allowed {}; expected one of: {}",
                        place.location,
                        list_allowed(place)
                    ),
                );
                return;
            }
            None => {
                let allowed: Vec<&str> = place.allowed.iter().map(|o| o.keyword()).collect();
                let hint = naming::suggest(&key_str, &allowed)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                errors.spanned(
                    &key,
                    format!(
                        "unknown {} `{key_str}`; expected one of: {}{hint}",
                        place.noun,
                        list_allowed(place)
                    ),
                );
                return;
            }
        };
        let duplicate = match opt {
            Opt::Module => self.module.is_some(),
            Opt::Name => self.name.is_some(),
            Opt::Any => self.any.is_some(),
            Opt::Path => self.path.is_some(),
            Opt::Optional => self.optional.is_some(),
            Opt::Union => self.union.is_some(),
            Opt::Anonymous => self.anonymous.is_some(),
            Opt::Group => self.group.is_some(),
        };
        if duplicate {
            errors.spanned(&key, format!("duplicate {} `{key_str}`", place.noun));
            return;
        }
        match opt {
            Opt::Module | Opt::Name | Opt::Path | Opt::Group => {
                let Some(lit) = string_value(&meta, opt, errors) else {
                    return;
                };
                let kind = match opt {
                    Opt::Module | Opt::Group => NameKind::Loose,
                    Opt::Path => NameKind::MemberPath,
                    _ => place.name_kind,
                };
                check_name(&lit, kind, errors);
                match opt {
                    Opt::Module => self.module = Some(lit),
                    Opt::Name => self.name = Some(lit),
                    Opt::Group => self.group = Some(lit),
                    _ => self.path = Some(lit),
                }
            }
            Opt::Any => {
                let Some(names) = any_value(&meta, errors) else {
                    return;
                };
                for lit in &names {
                    check_name(lit, place.any_kind, errors);
                }
                self.any = Some(names);
            }
            Opt::Optional | Opt::Union | Opt::Anonymous => {
                if !matches!(meta, Meta::Path(_)) {
                    errors.spanned(
                        &meta,
                        format!("`{key_str}` takes no value: write just `{key_str}`"),
                    );
                    return;
                }
                match opt {
                    Opt::Optional => self.optional = Some(key.clone()),
                    Opt::Union => self.union = Some(key.clone()),
                    _ => self.anonymous = Some(key.clone()),
                }
            }
        }
        if opt.is_selector() {
            self.selectors.push((opt, key));
        }
    }

    fn check_conflicts(&self, place: &Place, errors: &mut Errors) {
        let Some((first, _)) = self.selectors.first() else {
            return;
        };
        let selectors: Vec<&str> = place
            .allowed
            .iter()
            .filter(|o| o.is_selector())
            .map(|o| o.keyword())
            .collect();
        for (opt, key) in &self.selectors[1..] {
            errors.spanned(
                key,
                format!(
                    "`{}` conflicts with `{}`: use only one of {}",
                    opt.keyword(),
                    first.keyword(),
                    selectors.join(", ")
                ),
            );
        }
    }

    /// The names given by `name`, `path` or `any`, in order; `None` when none was given.
    pub fn names(&self) -> Option<Vec<LitStr>> {
        if let Some(n) = &self.name {
            Some(vec![n.clone()])
        } else if let Some(p) = &self.path {
            Some(vec![p.clone()])
        } else {
            self.any.clone()
        }
    }

    /// The resolution group; empty for the crate's default group.
    pub fn group(&self) -> String {
        self.group.as_ref().map_or_else(String::new, LitStr::value)
    }

    /// The module name, `"vmlinux"` by default.
    pub fn module(&self) -> String {
        self.module
            .as_ref()
            .map_or_else(|| "vmlinux".to_owned(), LitStr::value)
    }
}

/// Whether `attr` is our helper attribute `#[kernel(...)]`.
pub fn is_kernel_attr(attr: &Attribute) -> bool {
    attr.path().is_ident("kernel")
}

fn list_allowed(place: &Place) -> String {
    place
        .allowed
        .iter()
        .map(|o| o.keyword())
        .collect::<Vec<_>>()
        .join(", ")
}

fn example(opt: Opt) -> &'static str {
    match opt {
        Opt::Module => "module = \"vmlinux\"",
        Opt::Path => "path = \"member.sub\"",
        Opt::Group => "group = \"my_tool\"",
        _ => "name = \"kernel_name\"",
    }
}

fn string_value(meta: &Meta, opt: Opt, errors: &mut Errors) -> Option<LitStr> {
    let key = opt.keyword();
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.clone()),
            other => {
                errors.spanned(
                    other,
                    format!(
                        "expected a string literal for `{key}`, e.g. `{}`",
                        example(opt)
                    ),
                );
                None
            }
        },
        Meta::Path(p) => {
            errors.spanned(p, format!("`{key}` needs a value, e.g. `{}`", example(opt)));
            None
        }
        Meta::List(l) => {
            let hint = if opt == Opt::Name {
                "; for alternatives write `any(\"a\", \"b\")`"
            } else {
                ""
            };
            errors.spanned(
                l,
                format!("`{key}` takes `= \"...\"`, e.g. `{}`{hint}", example(opt)),
            );
            None
        }
    }
}

fn any_value(meta: &Meta, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let list = match meta {
        Meta::List(l) => l,
        other => {
            errors.spanned(
                other,
                "`any` takes a list of names in parentheses, e.g. `any(\"new_name\", \"old_name\")`",
            );
            return None;
        }
    };
    let exprs = match list.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
        Ok(e) => e,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    if exprs.is_empty() {
        errors.spanned(
            list,
            "`any()` needs at least one name, e.g. `any(\"new_name\", \"old_name\")`",
        );
        return None;
    }
    let mut names = Vec::new();
    let mut ok = true;
    for e in exprs {
        match e {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => names.push(s),
            other => {
                errors.spanned(other, "expected a string literal in `any(...)`");
                ok = false;
            }
        }
    }
    ok.then_some(names)
}

/// Validates a name literal, reporting at its span.
pub fn check_name(lit: &LitStr, kind: NameKind, errors: &mut Errors) {
    if let Err(msg) = naming::validate(kind, &lit.value()) {
        errors.spanned(lit, msg);
    }
}

/// Rejects duplicates among kernel names: `seen` maps each name to the Rust
/// item that bound it first.
pub fn check_unique(
    seen: &mut Vec<(String, String)>,
    name: &str,
    owner: &str,
    span: Span,
    what: &str,
    errors: &mut Errors,
) {
    if let Some((_, first)) = seen.iter().find(|(n, _)| n == name) {
        errors.at(
            span,
            format!(
                "{what} `{name}` is already bound by `{first}`; each {what} may be bound only once"
            ),
        );
    } else {
        seen.push((name.to_owned(), owner.to_owned()));
    }
}
