//! Small helpers shared by the generators.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Attribute;

/// The runtime crate, the only path generated code refers to.
pub fn rt() -> TokenStream {
    quote!(::ktype_runtime)
}

/// `#[doc = "..."]`.
pub fn doc_attr(text: String) -> TokenStream {
    quote!(#[doc = #text])
}

/// `struct page` or `struct page` / `struct folio` for alternatives.
pub fn names_for_docs(keyword: &str, names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{keyword} {n}"))
        .collect::<Vec<_>>()
        .join("` or `")
}

/// Whether any attribute is a `#[doc]`.
pub fn has_docs(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("doc"))
}

/// The number of items that survive their `#[cfg]`s: a literal when none has
/// one, else a constant expression counting them.
pub fn cfg_count<'a>(cfgs: impl Iterator<Item = &'a Vec<Attribute>>) -> TokenStream {
    let cfgs: Vec<&Vec<Attribute>> = cfgs.collect();
    if cfgs.iter().all(|c| c.is_empty()) {
        let n = cfgs.len();
        return quote!(#n);
    }
    let units = cfgs.iter().map(|c| quote!(#(#c)* ()));
    quote!([#(#units),*].len())
}

/// For each item, its index among the items that survive their `#[cfg]`s.
pub fn cfg_indices<'a>(cfgs: impl Iterator<Item = &'a Vec<Attribute>>) -> Vec<TokenStream> {
    let cfgs: Vec<&Vec<Attribute>> = cfgs.collect();
    (0..cfgs.len())
        .map(|i| cfg_count(cfgs[..i].iter().copied()))
        .collect()
}

/// `prefix ty suffix` with `prefix` spanned at the type's first token and
/// `suffix` at its last: the compiler then spans the whole expression or type
/// exactly like `ty`, so that an unsatisfied `KernelField` bound is reported
/// once, at the field's type, however many generated items use it.
pub fn around_type(ty: &syn::Type, prefix: TokenStream, suffix: TokenStream) -> TokenStream {
    let tokens = quote!(#ty);
    let mut iter = tokens.clone().into_iter();
    let first = iter
        .next()
        .map_or_else(proc_macro2::Span::call_site, |t| t.span());
    let last = tokens.into_iter().last().map_or(first, |t| t.span());
    let prefix = respan(prefix, first);
    let suffix = respan(suffix, last);
    quote!(#prefix #ty #suffix)
}

/// Gives every token of `tokens` (recursively) the span `span`: use it only
/// for tokens without hygienic (mixed-site) locals.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                TokenTree::Group(ng)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// `ty` with every `Self` replaced by `ident`: generated code uses field types
/// outside the struct (in statics and in the view's impl, where `Self` would
/// mean something else), so `next: KPtr<Self>` must become `KPtr<Page>`.
pub fn replace_self(ty: &syn::Type, ident: &syn::Ident) -> syn::Type {
    fn walk(tokens: TokenStream, ident: &syn::Ident) -> TokenStream {
        use proc_macro2::{Group, TokenTree};
        tokens
            .into_iter()
            .map(|tt| match tt {
                TokenTree::Ident(i) if i == "Self" => {
                    let mut replaced = ident.clone();
                    replaced.set_span(i.span());
                    TokenTree::Ident(replaced)
                }
                TokenTree::Group(g) => {
                    let mut ng = Group::new(g.delimiter(), walk(g.stream(), ident));
                    ng.set_span(g.span());
                    TokenTree::Group(ng)
                }
                other => other,
            })
            .collect()
    }
    syn::parse2(walk(quote!(#ty), ident)).unwrap_or_else(|_| ty.clone())
}
