//! `kernel_symbols!`: statics of type `SymbolDesc`, registered for resolution.

use crate::attrs::{self, Options};
use crate::errors::Errors;
use crate::naming::{unraw, NameKind};
use crate::util::{has_docs, rt};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Attribute, Expr, ExprLit, Ident, Lit, LitStr, Token, Type, Visibility};

/// One `static NAME = "symbol";` item.
struct SymbolItem {
    attrs: Vec<Attribute>,
    vis: Visibility,
    static_token: Token![static],
    mutability: Option<Token![mut]>,
    ident: Ident,
    ty: Option<Type>,
    names: Vec<LitStr>,
    /// Problems found while parsing the value, reported with the others.
    errors: Vec<syn::Error>,
}

struct Symbols(Vec<SymbolItem>);

impl Parse for Symbols {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse()?);
        }
        Ok(Symbols(items))
    }
}

const VALUE_HELP: &str = "expected the kernel symbol name as a string literal, e.g. \
                          `static INIT_TASK = \"init_task\";`, or alternatives tried in order, \
                          e.g. `= any(\"new_name\", \"old_name\")`";

impl Parse for SymbolItem {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![static]) {
            return Err(
                input.error("kernel_symbols! takes items of the form `static NAME = \"symbol\";`")
            );
        }
        let static_token: Token![static] = input.parse()?;
        let mutability: Option<Token![mut]> = input.parse()?;
        let ident: Ident = input.parse()?;
        let ty = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            Some(input.parse::<Type>()?)
        } else {
            None
        };
        input.parse::<Token![=]>()?;
        let mut errors = Vec::new();
        let mut names = Vec::new();
        if input.peek(LitStr) {
            names.push(input.parse()?);
        } else if input.peek(Ident) && input.fork().parse::<Ident>()? == "any" {
            let keyword: Ident = input.parse()?;
            let content;
            let parens = parenthesized!(content in input);
            let exprs = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
            if exprs.is_empty() {
                // Spans from `any` to `)` (only the first and last spans matter).
                let close = Ident::new("close", parens.span.close());
                errors.push(syn::Error::new_spanned(
                    quote!(#keyword #close),
                    "`any()` needs at least one symbol name, e.g. `any(\"new_name\", \"old_name\")`",
                ));
            }
            for e in exprs {
                match e {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => names.push(s),
                    other => errors.push(syn::Error::new_spanned(
                        other,
                        "expected a string literal in `any(...)`",
                    )),
                }
            }
        } else {
            let expr: Expr = input.parse()?;
            errors.push(syn::Error::new_spanned(expr, VALUE_HELP));
        }
        input.parse::<Token![;]>()?;
        Ok(SymbolItem {
            attrs,
            vis,
            static_token,
            mutability,
            ident,
            ty,
            names,
            errors,
        })
    }
}

/// Expands `kernel_symbols! { ... }`.
pub fn expand(input: TokenStream) -> TokenStream {
    let Symbols(items) = match syn::parse2::<Symbols>(input) {
        Ok(s) => s,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let mut out = TokenStream::new();
    for item in items {
        out.extend(symbol(item, &mut errors));
    }
    let errs = errors.to_compile_errors();
    quote!(#errs #out)
}

fn symbol(item: SymbolItem, errors: &mut Errors) -> TokenStream {
    let rt = rt();
    let SymbolItem {
        attrs,
        vis,
        static_token,
        mutability,
        ident,
        ty,
        names,
        errors: parse_errors,
    } = item;
    for e in parse_errors {
        errors.push(e);
    }
    if let Some(m) = mutability {
        errors.spanned(
            m,
            "kernel_symbols! statics cannot be `mut`: resolution fills them through atomics",
        );
    }
    if let Some(ty) = &ty {
        errors.spanned(
            ty,
            "kernel_symbols! statics take no type: each one is a \
             `ktype_runtime::registry::SymbolDesc`; write `static NAME = \"symbol\";`",
        );
    }
    for n in &names {
        attrs::check_name(n, NameKind::Loose, errors);
    }
    let opts = Options::from_kernel_attrs(&attrs, &attrs::SYMBOL, errors);
    let kept: Vec<&Attribute> = attrs.iter().filter(|a| !attrs::is_kernel_attr(a)).collect();
    let cfgs: Vec<&Attribute> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();

    let rust_name = unraw(&ident);
    let module = opts.module();
    let optional = opts.optional.is_some();
    let group = opts.group();
    let name_strs: Vec<String> = names.iter().map(LitStr::value).collect();
    let listed = name_strs
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    let opt = if optional {
        " It is optional: a kernel may lack it, in which case `try_address()` returns `Ok(None)`."
    } else {
        ""
    };
    let doc = format!(
        "Kernel symbol {listed} in `{module}`, declared with `kernel_symbols!`.{opt} Its \
         address is filled at run time: read it with \
         [`address`](ktype_runtime::registry::SymbolDesc::address) or \
         [`try_address`](ktype_runtime::registry::SymbolDesc::try_address)."
    );
    let sep = has_docs(&attrs).then(|| quote!(#[doc = ""]));
    let declared_at = quote_spanned!(ident.span()=>
        ::core::concat!(::core::file!(), ":", ::core::line!())
    );
    let register = Ident::new("__KTYPE_SYMBOL_REGISTRATION", Span::mixed_site());
    quote! {
        #(#kept)*
        #sep
        #[doc = #doc]
        #vis #static_token #ident: #rt::registry::SymbolDesc = #rt::registry::SymbolDesc {
            rust_name: #rust_name,
            module: #module,
            names: &[#(#names),*],
            optional: #optional,
            declared_at: #declared_at,
            defined_in: ::core::module_path!(),
            group: #group,
            address: #rt::registry::ValueSlot::new(),
        };

        #(#cfgs)*
        const _: () = {
            #[#rt::linkme::distributed_slice(#rt::registry::KERNEL_SYMBOLS)]
            #[linkme(crate = #rt::linkme)]
            static #register: &#rt::registry::SymbolDesc = &#ident;
        };
    }
}
