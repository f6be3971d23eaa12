//! `#[kernel_enum]`: a real Rust enum whose variants take their values from
//! kernel enum constants at run time.

use crate::attrs::{self, Options};
use crate::errors::Errors;
use crate::naming::{snake_case, unraw};
use crate::util::{cfg_count, doc_attr, has_docs, names_for_docs, rt};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::{Attribute, Fields, Ident, Item, ItemEnum, LitStr, Path, Token, Variant};

/// Traits derived unless the enum already derives them.
const DERIVES: &[(&str, &str)] = &[
    ("Clone", "::core::clone::Clone"),
    ("Copy", "::core::marker::Copy"),
    ("Debug", "::core::fmt::Debug"),
    ("PartialEq", "::core::cmp::PartialEq"),
    ("Eq", "::core::cmp::Eq"),
    ("Hash", "::core::hash::Hash"),
];

/// Associated items the macro generates on the enum (variants must not shadow them).
const GENERATED: &[&str] = &["ALL"];

struct VariantSpec {
    /// `#[cfg]` attributes, repeated on everything generated for the variant.
    cfgs: Vec<Attribute>,
    ident: Ident,
    names: Vec<String>,
    optional: bool,
}

/// Expands `#[kernel_enum(args)] input`.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let opts = Options::from_args(args, &attrs::ENUM, &mut errors);
    let mut item = match syn::parse2::<Item>(input) {
        Ok(Item::Enum(e)) => e,
        Ok(Item::Struct(s)) => {
            errors.spanned(
                s.struct_token,
                "#[kernel_enum] goes on a fieldless enum; to bind a kernel struct use \
                 #[kernel_struct]",
            );
            return errors.to_compile_errors();
        }
        Ok(other) => {
            errors.spanned(other, "#[kernel_enum] goes on a fieldless enum");
            return errors.to_compile_errors();
        }
        Err(e) => {
            errors.push(e);
            return errors.to_compile_errors();
        }
    };

    check_enum(&item, &mut errors);
    let variants = collect_variants(&item, &mut errors);
    strip_kernel_attrs(&mut item, &mut errors);
    if !errors.is_empty() {
        let errs = errors.to_compile_errors();
        // Keep the enum (without explicit discriminants or data) so that uses of
        // it do not add unrelated errors.
        for v in &mut item.variants {
            v.discriminant = None;
            v.fields = Fields::Unit;
        }
        item.generics = syn::Generics::default();
        return quote! {
            #errs
            #[allow(non_camel_case_types)]
            #item
        };
    }
    generate(item, &opts, &variants)
}

fn check_enum(item: &ItemEnum, errors: &mut Errors) {
    for param in &item.generics.params {
        errors.spanned(param, "#[kernel_enum] enums cannot be generic");
    }
    if let Some(w) = &item.generics.where_clause {
        errors.spanned(w, "#[kernel_enum] enums cannot have a where clause");
    }
    if item.variants.is_empty() {
        errors.spanned(
            &item.ident,
            "#[kernel_enum] needs at least one variant, one per kernel constant",
        );
    }
    for v in &item.variants {
        match &v.fields {
            Fields::Unit => {}
            fields => errors.spanned(
                fields,
                "#[kernel_enum] variants cannot carry data: each variant names one kernel \
                 constant",
            ),
        }
        if let Some((eq, expr)) = &v.discriminant {
            errors.spanned(
                quote!(#eq #expr),
                "#[kernel_enum] variants cannot have explicit discriminants: values come from \
                 the kernel at run time (read them with `.value()`)",
            );
        }
        let name = unraw(&v.ident);
        if GENERATED.contains(&name.as_str()) {
            errors.spanned(
                &v.ident,
                format!(
                    "variant `{name}` clashes with the generated `{}::{name}`; rename it and \
                     bind it with `#[kernel(name = \"{name}\")]`",
                    item.ident
                ),
            );
        }
    }
}

fn collect_variants(item: &ItemEnum, errors: &mut Errors) -> Vec<VariantSpec> {
    let mut seen = Vec::new();
    item.variants
        .iter()
        .map(|v| variant_spec(v, &mut seen, errors))
        .collect()
}

fn variant_spec(v: &Variant, seen: &mut Vec<(String, String)>, errors: &mut Errors) -> VariantSpec {
    let rust_name = unraw(&v.ident);
    let opts = Options::from_kernel_attrs(&v.attrs, &attrs::VARIANT, errors);
    let lits: Vec<(String, Span)> = match opts.names() {
        Some(lits) => lits.iter().map(|l| (l.value(), l.span())).collect(),
        None => vec![(rust_name.clone(), v.ident.span())],
    };
    for (name, span) in &lits {
        attrs::check_unique(seen, name, &rust_name, *span, "kernel constant", errors);
    }
    VariantSpec {
        cfgs: v
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .cloned()
            .collect(),
        ident: v.ident.clone(),
        names: lits.into_iter().map(|(n, _)| n).collect(),
        optional: opts.optional.is_some(),
    }
}

/// Removes `#[kernel(...)]` from the variants (and rejects it on the enum itself).
fn strip_kernel_attrs(item: &mut ItemEnum, errors: &mut Errors) {
    for attr in item.attrs.iter().filter(|a| attrs::is_kernel_attr(a)) {
        errors.spanned(
            attr,
            "#[kernel(...)] goes on variants; options of the enum itself go in \
             #[kernel_enum(...)]",
        );
    }
    item.attrs.retain(|a| !attrs::is_kernel_attr(a));
    for v in &mut item.variants {
        v.attrs.retain(|a| !attrs::is_kernel_attr(a));
    }
}

/// Names of the traits already derived, by last path segment.
fn derived(attrs: &[Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        if let Ok(paths) = attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated) {
            out.extend(
                paths
                    .iter()
                    .filter_map(|p| p.segments.last().map(|s| s.ident.to_string())),
            );
        }
    }
    out
}

fn generate(mut item: ItemEnum, opts: &Options, variants: &[VariantSpec]) -> TokenStream {
    let rt = rt();
    let ident = item.ident.clone();
    let rust_name = unraw(&ident);
    let module = opts.module();
    let names: Vec<String> = if opts.anonymous.is_some() {
        Vec::new()
    } else {
        match opts.names() {
            Some(lits) => lits.iter().map(LitStr::value).collect(),
            None => vec![snake_case(&rust_name)],
        }
    };
    let c_name = if names.is_empty() {
        "constants of any kernel enum (anonymous enums included)".to_owned()
    } else {
        format!("`{}`", names_for_docs("enum", &names))
    };
    let cfgs: Vec<Attribute> = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .cloned()
        .collect();

    // Derives and lints.
    let already = derived(&item.attrs);
    let missing: Vec<TokenStream> = DERIVES
        .iter()
        .filter(|(name, _)| !already.iter().any(|d| d == name))
        .map(|(_, path)| path.parse().expect("valid path"))
        .collect();
    if !missing.is_empty() {
        item.attrs.push(syn::parse_quote!(#[derive(#(#missing),*)]));
    }
    item.attrs
        .push(syn::parse_quote!(#[allow(non_camel_case_types)]));

    // Docs.
    let sep = has_docs(&item.attrs).then(|| -> Attribute { syn::parse_quote!(#[doc = ""]) });
    item.attrs.extend(sep);
    let binding_doc = format!(
        "# Kernel binding\n\nEach variant takes its value from {c_name} in `{module}` at run \
         time (`#[kernel_enum]`): read it with `.value()`, map values back with \
         [`{rust_name}::from_value`]."
    );
    item.attrs.push(syn::parse_quote!(#[doc = #binding_doc]));
    for (v, spec) in item.variants.iter_mut().zip(variants) {
        let list = spec
            .names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        let opt = if spec.optional {
            " (optional: a kernel may lack it)"
        } else {
            ""
        };
        let text = format!("Kernel constant {list}{opt}.");
        if has_docs(&v.attrs) {
            v.attrs.push(syn::parse_quote!(#[doc = ""]));
        }
        v.attrs.push(syn::parse_quote!(#[doc = #text]));
    }

    let desc = Ident::new("__KTYPE_ENUM_DESC", Span::mixed_site());
    let register = Ident::new("__KTYPE_ENUM_REGISTRATION", Span::mixed_site());
    let variants_static = Ident::new("__KTYPE_ENUM_VARIANTS", Span::mixed_site());
    let n_variants = cfg_count(variants.iter().map(|v| &v.cfgs));
    let value = Ident::new("value", Span::mixed_site());
    let err = Ident::new("err", Span::mixed_site());
    let enum_optional = opts.optional.is_some();
    let group = opts.group();
    let declared_at = quote_spanned!(ident.span()=>
        ::core::concat!(::core::file!(), ":", ::core::line!())
    );
    let variant_descs = variants.iter().map(|v| {
        let rust_name = unraw(&v.ident);
        let names = &v.names;
        let optional = v.optional;
        let cfgs = &v.cfgs;
        quote! {
            #(#cfgs)*
            #rt::registry::VariantDesc {
                rust_name: #rust_name,
                names: &[#(#names),*],
                optional: #optional,
                value: #rt::registry::ValueSlot::new(),
            }
        }
    });
    let all = variants.iter().map(|v| {
        let (cfgs, ident) = (&v.cfgs, &v.ident);
        quote!(#(#cfgs)* Self::#ident)
    });

    let descriptor_doc = doc_attr(format!(
        "The registered descriptor of {c_name}: constant names and the slots resolution fills."
    ));
    let all_doc = doc_attr(format!(
        "Every variant of `{rust_name}`, in declaration order."
    ));

    quote_spanned! {Span::mixed_site()=>
        #item

        #(#cfgs)*
        const _: () = {
            // A separate static: slots are interior mutable, so they cannot live in
            // a promoted temporary.
            static #variants_static: [#rt::registry::VariantDesc; #n_variants] = [#(#variant_descs),*];

            static #desc: #rt::registry::EnumDesc = #rt::registry::EnumDesc {
                rust_name: #rust_name,
                module: #module,
                names: &[#(#names),*],
                variants: &#variants_static,
                optional: #enum_optional,
                declared_at: #declared_at,
                defined_in: ::core::module_path!(),
                group: #group,
            };

            #[#rt::linkme::distributed_slice(#rt::registry::KERNEL_ENUMS)]
            #[linkme(crate = #rt::linkme)]
            static #register: &#rt::registry::EnumDesc = &#desc;

            #[allow(dead_code)]
            impl #ident {
                #descriptor_doc
                #[inline]
                pub fn descriptor() -> &'static #rt::registry::EnumDesc {
                    &#desc
                }

                #all_doc
                pub const ALL: &'static [Self] = &[#(#all),*];

                /// The kernel's value of this constant (two's complement for negative
                /// values; see [`value_i64`](Self::value_i64)).
                ///
                /// # Panics
                ///
                /// Before resolution, or when this optional constant is absent from the
                /// kernel; see [`try_value`](Self::try_value).
                #[inline]
                pub fn value(self) -> u64 {
                    match #desc.variant_value(self as usize) {
                        ::core::result::Result::Ok(::core::option::Option::Some(#value)) => #value,
                        ::core::result::Result::Ok(::core::option::Option::None) => ::core::panic!(
                            "ktype: optional constant {}::{} is absent from this kernel; \
                             use try_value() or is_present()",
                            #desc.display_name(),
                            #desc.variants[self as usize].rust_name,
                        ),
                        ::core::result::Result::Err(#err) => ::core::panic!("{}", #err),
                    }
                }

                /// The kernel's value: `Ok(None)` when this optional constant is absent,
                /// `Err` before resolution.
                #[inline]
                pub fn try_value(self) -> ::core::result::Result<::core::option::Option<u64>, #rt::NotResolved> {
                    #desc.variant_value(self as usize)
                }

                /// The kernel's value as a signed integer.
                ///
                /// # Panics
                ///
                /// Like [`value`](Self::value).
                #[inline]
                pub fn value_i64(self) -> i64 {
                    self.value() as i64
                }

                /// Whether the kernel has this constant (false before resolution).
                #[inline]
                pub fn is_present(self) -> bool {
                    ::core::matches!(
                        #desc.variant_value(self as usize),
                        ::core::result::Result::Ok(::core::option::Option::Some(_))
                    )
                }

                /// `1 << value`, for constants that number flag bits.
                ///
                /// # Panics
                ///
                /// Like [`value`](Self::value), and when the value is not below 64.
                #[inline]
                pub fn mask(self) -> u64 {
                    let #value = self.value();
                    if #value >= 64 {
                        ::core::panic!(
                            "ktype: {}::{} = {} is not a bit number below 64, so it has no mask",
                            #desc.display_name(),
                            #desc.variants[self as usize].rust_name,
                            #value,
                        );
                    }
                    1u64 << #value
                }

                /// The first variant, in declaration order, whose kernel value is `value`
                /// (absent and unresolved variants never match).
                pub fn from_value(#value: u64) -> ::core::option::Option<Self> {
                    Self::ALL.iter().copied().find(|v| {
                        ::core::matches!(
                            v.try_value(),
                            ::core::result::Result::Ok(::core::option::Option::Some(x)) if x == #value
                        )
                    })
                }
            }
        };
    }
}
