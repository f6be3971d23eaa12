//! `#[kernel_struct]`: the declared type (an owned value read from kernel
//! memory), its descriptor, offsets and bit positions, a zero-copy view, and
//! its `KernelField` / `KernelStruct` impls.

use crate::attrs::{self, Options};
use crate::errors::Errors;
use crate::naming::{snake_case, unraw};
use crate::util::{
    around_type, cfg_count, cfg_indices, doc_attr, names_for_docs, replace_self, rt,
};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Field, Fields, Ident, Item, ItemStruct, LitStr, Type, Visibility};

/// Functions and methods the macro puts on the type itself besides the
/// per-field ones (getters share this namespace with associated functions).
const TYPE_METHODS: &[&str] = &[
    "descriptor",
    "size",
    "try_size",
    "is_present",
    "view",
    "read",
    "from_bytes",
    "kernel_address",
    "as_view",
    "bytes",
];
/// Methods the macro puts on the view besides the field getters.
const VIEW_METHODS: &[&str] = &["bytes"];

struct FieldSpec {
    ident: Ident,
    rust_name: String,
    vis: Visibility,
    ty: Type,
    paths: Vec<String>,
    optional: bool,
    /// `#[doc]` and `#[deprecated]` attributes, carried to the accessors.
    carried: Vec<Attribute>,
    /// `#[cfg]` attributes, repeated on everything generated for the field.
    cfgs: Vec<Attribute>,
}

/// Expands `#[kernel_struct(args)] input`.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let opts = Options::from_args(args, &attrs::STRUCT, &mut errors);
    let item = match syn::parse2::<Item>(input) {
        Ok(Item::Struct(s)) => s,
        Ok(Item::Enum(e)) => {
            errors.spanned(
                e.enum_token,
                "#[kernel_struct] goes on a struct with named fields; \
                 to bind a kernel enum use #[kernel_enum]",
            );
            return errors.to_compile_errors();
        }
        Ok(Item::Union(u)) => {
            errors.spanned(
                u.union_token,
                "#[kernel_struct] goes on a struct with named fields; to bind a kernel union \
                 write a struct with #[kernel_struct(union)]",
            );
            return errors.to_compile_errors();
        }
        Ok(other) => {
            errors.spanned(other, "#[kernel_struct] goes on a struct with named fields");
            return errors.to_compile_errors();
        }
        Err(e) => {
            errors.push(e);
            return errors.to_compile_errors();
        }
    };

    let kept_attrs = check_struct(&item, &mut errors);
    let fields = collect_fields(&item, &mut errors);
    let marker = marker_tokens(&item, &kept_attrs);
    if !errors.is_empty() {
        // Keep the marker type so that uses of it do not add unrelated errors.
        let errs = errors.to_compile_errors();
        return quote!(#errs #marker);
    }
    let Some(fields) = fields else {
        return marker;
    };
    generate(&item, &opts, &kept_attrs, &fields)
}

/// Checks the struct's shape and attributes; returns the attributes kept on the marker.
fn check_struct(item: &ItemStruct, errors: &mut Errors) -> Vec<Attribute> {
    for param in &item.generics.params {
        match param {
            syn::GenericParam::Lifetime(lt) => errors.spanned(
                lt,
                "#[kernel_struct] types cannot have lifetime parameters: the type owns its \
                 bytes; its generated view carries the lifetime of borrowed bytes",
            ),
            other => errors.spanned(
                other,
                "#[kernel_struct] types cannot be generic: each one binds one kernel type",
            ),
        }
    }
    if let Some(w) = &item.generics.where_clause {
        errors.spanned(w, "#[kernel_struct] types cannot have a where clause");
    }
    match &item.fields {
        Fields::Named(_) => {}
        Fields::Unnamed(f) => errors.spanned(
            f,
            "#[kernel_struct] needs named fields: each field names the kernel member it binds",
        ),
        Fields::Unit => {
            let ident = &item.ident;
            let semi = &item.semi_token;
            errors.spanned(
                quote!(#ident #semi),
                format!(
                    "#[kernel_struct] needs a struct with named fields; to bind a kernel type \
                     without declaring members write `struct {ident} {{}}`"
                ),
            );
        }
    }
    let mut kept = Vec::new();
    for attr in &item.attrs {
        let path = attr.path();
        if path.is_ident("derive") {
            errors.spanned(
                attr,
                format!(
                    "#[kernel_struct] types cannot derive traits: `{}` holds the kernel's \
                     bytes and already implements Clone and Debug; read values with `{}::read` \
                     or `{}::view`",
                    item.ident, item.ident, item.ident
                ),
            );
        } else if path.is_ident("repr") {
            errors.spanned(
                attr,
                "#[kernel_struct] types cannot have #[repr]: the layout comes from the kernel's BTF",
            );
        } else if attrs::is_kernel_attr(attr) {
            errors.spanned(
                attr,
                "#[kernel(...)] goes on fields; options of the struct itself go in \
                 #[kernel_struct(...)]",
            );
        } else {
            kept.push(attr.clone());
        }
    }
    kept
}

fn collect_fields(item: &ItemStruct, errors: &mut Errors) -> Option<Vec<FieldSpec>> {
    let Fields::Named(named) = &item.fields else {
        return None;
    };
    let mut specs = Vec::new();
    let mut seen_paths = Vec::new();
    for field in &named.named {
        let mut spec = field_spec(field, &mut seen_paths, errors);
        spec.ty = replace_self(&spec.ty, &item.ident);
        specs.push(spec);
    }
    check_generated_names(item, &specs, errors);
    Some(specs)
}

fn field_spec(field: &Field, seen: &mut Vec<(String, String)>, errors: &mut Errors) -> FieldSpec {
    let ident = field.ident.clone().expect("named field");
    let rust_name = unraw(&ident);
    let opts = Options::from_kernel_attrs(&field.attrs, &attrs::FIELD, errors);
    let lits: Vec<(String, Span)> = match opts.names() {
        Some(lits) => lits.iter().map(|l| (l.value(), l.span())).collect(),
        None => vec![(rust_name.clone(), ident.span())],
    };
    for (path, span) in &lits {
        attrs::check_unique(seen, path, &rust_name, *span, "kernel member", errors);
    }
    let carried = field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc") || a.path().is_ident("deprecated"))
        .cloned()
        .collect();
    let cfgs = field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .cloned()
        .collect();
    FieldSpec {
        cfgs,
        ident,
        rust_name,
        vis: field.vis.clone(),
        ty: field.ty.clone(),
        paths: lits.into_iter().map(|(p, _)| p).collect(),
        optional: opts.optional.is_some(),
        carried,
    }
}

/// Rejects fields whose generated accessors would clash with other generated items.
fn check_generated_names(item: &ItemStruct, fields: &[FieldSpec], errors: &mut Errors) {
    let ty = &item.ident;
    // Everything in `impl Ty`: fixed names, then per field its getter and
    // its offset / bit functions, with the field that generated each.
    let mut taken: Vec<(String, String)> = TYPE_METHODS
        .iter()
        .map(|m| (m.to_string(), String::new()))
        .collect();
    for f in fields {
        if VIEW_METHODS.contains(&f.rust_name.as_str()) {
            errors.spanned(
                &f.ident,
                format!(
                    "field `{0}` would generate `{ty}View::{0}()`, which clashes with the generated \
                     `{ty}View::{0}()`; rename the field and bind it with \
                     `#[kernel(name = \"{0}\")]`",
                    f.rust_name
                ),
            );
        }
        for method in per_field_names(&f.rust_name) {
            if method == f.rust_name && owned_getter_skipped(&method) {
                // No owned getter (see `owned_getter_skipped`): nothing clashes.
                continue;
            }
            match taken.iter().find(|(m, _)| *m == method) {
                Some((_, owner)) if VIEW_METHODS.contains(&method.as_str()) => {
                    let _ = owner; // reported above
                }
                Some((_, owner)) => {
                    let by = if owner.is_empty() {
                        "the generated one".to_string()
                    } else {
                        format!("the one generated for field `{owner}`")
                    };
                    errors.spanned(
                        &f.ident,
                        format!(
                            "field `{}` would generate `{ty}::{method}()`, which clashes with \
                             {by}; rename the field and bind it with `#[kernel(name = \"{}\")]`",
                            f.rust_name, f.rust_name
                        ),
                    );
                }
                None => taken.push((method, f.rust_name.clone())),
            }
        }
    }
}

/// Whether the owned value gets no getter for a field of this name, because
/// the name is one of the type's own functions (a kernel member named `size`
/// is common): its value is then read through `as_view()`.
fn owned_getter_skipped(name: &str) -> bool {
    TYPE_METHODS.contains(&name)
}

/// The names generated on the type for field `name`: its getter (on the
/// owned value), byte offset, bit offset and width.
fn per_field_names(name: &str) -> [String; 5] {
    [
        name.to_string(),
        format!("{name}_offset"),
        format!("try_{name}_offset"),
        format!("{name}_bit_offset"),
        format!("{name}_bits"),
    ]
}

/// What the type becomes when the declaration has errors: a plain struct, so
/// that uses of it do not add unrelated errors.
fn marker_tokens(item: &ItemStruct, kept_attrs: &[Attribute]) -> TokenStream {
    let vis = &item.vis;
    let ident = &item.ident;
    let struct_token = &item.struct_token;
    quote! {
        #(#kept_attrs)*
        #vis #struct_token #ident {}
    }
}

/// Names and tokens every part of the expansion shares.
struct Ctx<'a> {
    rt: TokenStream,
    ident: &'a Ident,
    vis: &'a Visibility,
    rust_name: String,
    view: Ident,
    /// `struct page`, for docs.
    c_name: String,
    /// The struct-level `#[cfg]`s, repeated on every generated item.
    cfgs: Vec<&'a Attribute>,
    // Hygienic names of parameters, locals and hidden statics.
    bytes: Ident,
    layout: Ident,
    value: Ident,
    err: Ident,
    desc: Ident,
}

impl<'a> Ctx<'a> {
    fn new(item: &'a ItemStruct, opts: &Options, kept_attrs: &'a [Attribute]) -> Self {
        let ident = &item.ident;
        let rust_name = unraw(ident);
        let names = kernel_names(opts, &rust_name);
        let kind_kw = if opts.union.is_some() {
            "union"
        } else {
            "struct"
        };
        Ctx {
            rt: rt(),
            ident,
            vis: &item.vis,
            view: format_ident!("{}View", rust_name, span = ident.span()),
            c_name: names_for_docs(kind_kw, &names),
            rust_name,
            cfgs: kept_attrs
                .iter()
                .filter(|a| a.path().is_ident("cfg"))
                .collect(),
            bytes: Ident::new("bytes", Span::mixed_site()),
            layout: Ident::new("layout", Span::mixed_site()),
            value: Ident::new("value", Span::mixed_site()),
            err: Ident::new("err", Span::mixed_site()),
            desc: Ident::new("__KTYPE_STRUCT_DESC", Span::mixed_site()),
        }
    }
}

/// The kernel names to try: from the options, else the snake-cased Rust name.
fn kernel_names(opts: &Options, rust_name: &str) -> Vec<String> {
    match opts.names() {
        Some(lits) => lits.iter().map(LitStr::value).collect(),
        None => vec![snake_case(rust_name)],
    }
}

fn generate(
    item: &ItemStruct,
    opts: &Options,
    kept_attrs: &[Attribute],
    fields: &[FieldSpec],
) -> TokenStream {
    let cx = Ctx::new(item, opts, kept_attrs);
    let indices = cfg_indices(fields.iter().map(|f| &f.cfgs));
    let mut assoc = Vec::new();
    let mut view_getters = Vec::new();
    let mut owned_getters = Vec::new();
    for (f, i) in fields.iter().zip(&indices) {
        assoc.push(offset_fns(&cx, f, i));
        assoc.push(bit_fns(&cx, f, i));
        view_getters.push(getter(&cx, f, i, GetterOf::View));
        if !owned_getter_skipped(&f.rust_name) {
            owned_getters.push(getter(&cx, f, i, GetterOf::Owned));
        }
    }
    let type_def = type_definition(&cx, item, opts, kept_attrs);
    let statics = descriptor_statics(&cx, item, opts, fields);
    let type_impl = type_impl(&cx, &assoc, &owned_getters);
    let view_impl = view_impl(&cx, &view_getters);
    let trait_impls = trait_impls(&cx);
    let cfgs = &cx.cfgs;
    quote! {
        #type_def

        #(#cfgs)*
        const _: () = {
            #statics
            #type_impl
            #view_impl
            #trait_impls
        };
    }
}

/// The declared type (an owned value) and its view type, with their docs.
fn type_definition(
    cx: &Ctx<'_>,
    item: &ItemStruct,
    opts: &Options,
    kept_attrs: &[Attribute],
) -> TokenStream {
    let Ctx {
        ident,
        vis,
        view,
        rust_name,
        c_name,
        cfgs,
        bytes,
        ..
    } = cx;
    let module = opts.module();
    let opt = if opts.optional.is_some() {
        " It is optional: a kernel without it is accepted, and \
         [`is_present`](Self::is_present) tells."
    } else {
        ""
    };
    let binding_doc = doc_attr(format!(
        "# Kernel binding\n\nBound at run time to `{c_name}` in `{module}` by \
         `#[kernel_struct]`.{opt} A value of this type is one `{c_name}` read from kernel \
         memory ([`{rust_name}::read`], [`{rust_name}::from_bytes`]), with one getter per \
         declared field (but fields named like the type's own functions, such as `size`: read \
         those through [`{rust_name}::as_view`]); [`{rust_name}::view`] reads borrowed bytes \
         without copying through a [`{view}`]. `{rust_name}::<field>_offset()`, `<field>_bit_offset()` and \
         `<field>_bits()` give member positions, [`{rust_name}::size`] the kernel's size of \
         the type."
    ));
    let sep = kept_attrs
        .iter()
        .any(|a| a.path().is_ident("doc"))
        .then(|| quote!(#[doc = ""]));
    let struct_token = &item.struct_token;
    let view_doc = doc_attr(format!(
        "A zero-copy view of the bytes of one kernel `{c_name}` (see [`{rust_name}`]).\n\n\
         Made by [`{rust_name}::view`], [`{rust_name}::as_view`], or by the getter of a member \
         of type `{rust_name}` in an enclosing view; one getter per declared field."
    ));
    let addr = Ident::new("addr", Span::call_site());
    quote! {
        #(#kept_attrs)*
        #sep
        #binding_doc
        #vis #struct_token #ident {
            #addr: u64,
            #bytes: ::std::boxed::Box<[u8]>,
        }

        #(#cfgs)*
        #view_doc
        #[derive(::core::clone::Clone, ::core::marker::Copy)]
        #vis struct #view<'a> {
            #bytes: &'a [u8],
        }
    }
}

/// The field descriptors, the struct descriptor and its registration.
fn descriptor_statics(
    cx: &Ctx<'_>,
    item: &ItemStruct,
    opts: &Options,
    fields: &[FieldSpec],
) -> TokenStream {
    let Ctx {
        rt,
        ident,
        rust_name,
        desc,
        ..
    } = cx;
    let fields_static = Ident::new("__KTYPE_STRUCT_FIELDS", Span::mixed_site());
    let register = Ident::new("__KTYPE_STRUCT_REGISTRATION", Span::mixed_site());
    let n_fields = cfg_count(fields.iter().map(|f| &f.cfgs));
    let field_descs = fields.iter().map(|f| field_desc(cx, f));
    let module = opts.module();
    let group = opts.group();
    let names = kernel_names(opts, rust_name);
    let optional = opts.optional.is_some();
    let kind = if opts.union.is_some() {
        quote!(#rt::registry::AggregateKind::Union)
    } else {
        quote!(#rt::registry::AggregateKind::Struct)
    };
    let declared_at = quote_spanned!(ident.span()=>
        ::core::concat!(::core::file!(), ":", ::core::line!())
    );
    let _ = item;
    quote! {
        // A separate static: slots are interior mutable, so they cannot live in
        // a promoted temporary.
        static #fields_static: [#rt::registry::FieldDesc; #n_fields] = [#(#field_descs),*];

        static #desc: #rt::registry::StructDesc = #rt::registry::StructDesc {
            rust_name: #rust_name,
            module: #module,
            names: &[#(#names),*],
            kind: #kind,
            optional: #optional,
            fields: &#fields_static,
            declared_at: #declared_at,
            defined_in: ::core::module_path!(),
            group: #group,
            size: #rt::registry::ValueSlot::new(),
        };

        #[#rt::linkme::distributed_slice(#rt::registry::KERNEL_STRUCTS)]
        #[linkme(crate = #rt::linkme)]
        static #register: &#rt::registry::StructDesc = &#desc;
    }
}

fn field_desc(cx: &Ctx<'_>, f: &FieldSpec) -> TokenStream {
    let rt = &cx.rt;
    let FieldSpec {
        ident,
        rust_name,
        paths,
        optional,
        ty,
        cfgs,
        ..
    } = f;
    let shape = around_type(ty, quote!(<), quote!(as #rt::KernelField>::shape));
    let declared_at = quote_spanned!(ident.span()=>
        ::core::concat!(::core::file!(), ":", ::core::line!())
    );
    quote! {
        #(#cfgs)*
        #rt::registry::FieldDesc {
            rust_name: #rust_name,
            paths: &[#(#paths),*],
            optional: #optional,
            shape: #shape,
            declared_at: #declared_at,
            slot: #rt::registry::FieldSlot::new(),
        }
    }
}

/// `#[doc = ""]` between a field's own docs and the generated ones.
fn doc_sep(f: &FieldSpec) -> Option<TokenStream> {
    f.carried
        .iter()
        .any(|a| a.path().is_ident("doc"))
        .then(|| quote!(#[doc = ""]))
}

/// `` `a` or `b` ``: the member names a field binds, for docs.
fn member_list(f: &FieldSpec) -> String {
    f.paths
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `<field>_offset()` and `try_<field>_offset()`.
fn offset_fns(cx: &Ctx<'_>, f: &FieldSpec, i: &TokenStream) -> TokenStream {
    let Ctx {
        rt,
        rust_name,
        c_name,
        desc,
        layout,
        ..
    } = cx;
    let FieldSpec {
        ident,
        rust_name: fname,
        vis,
        carried,
        cfgs,
        ..
    } = f;
    let sep = doc_sep(f);
    let member = member_list(f);
    let off = format_ident!("{}_offset", fname, span = ident.span());
    let try_off = format_ident!("try_{}_offset", fname, span = ident.span());
    if f.optional {
        let off_doc = doc_attr(format!(
            "Byte offset of the optional member {member} in `{c_name}`, or `None` when \
             this kernel lacks it (for bitfields: of the byte holding the first bit).\n\n\
             # Panics\n\nBefore resolution; see [`{rust_name}::{try_off}`]."
        ));
        let try_doc = doc_attr(format!(
            "Byte offset of the optional member {member}: `Ok(None)` when this kernel \
             lacks it, [`NotResolved`](ktype_runtime::NotResolved) before resolution."
        ));
        quote! {
            #(#cfgs)* #(#carried)* #sep #off_doc
            #[inline]
            #vis fn #off() -> ::core::option::Option<usize> {
                #desc.optional_layout_or_panic(#i).map(|#layout| #layout.byte_offset())
            }
            #(#cfgs)* #(#carried)* #sep #try_doc
            #[inline]
            #vis fn #try_off() -> ::core::result::Result<::core::option::Option<usize>, #rt::NotResolved> {
                ::core::result::Result::Ok(#desc.field_layout(#i)?.map(|#layout| #layout.byte_offset()))
            }
        }
    } else {
        let off_doc = doc_attr(format!(
            "Byte offset of member {member} in `{c_name}` (for bitfields: of the byte \
             holding the first bit).\n\n# Panics\n\nBefore resolution, with a message \
             naming the struct and the field; see [`{rust_name}::{try_off}`]."
        ));
        let try_doc = doc_attr(format!(
            "Byte offset of member {member}, or [`NotResolved`](ktype_runtime::NotResolved) \
             before resolution."
        ));
        quote! {
            #(#cfgs)* #(#carried)* #sep #off_doc
            #[inline]
            #vis fn #off() -> usize {
                #desc.required_layout(#i).byte_offset()
            }
            #(#cfgs)* #(#carried)* #sep #try_doc
            #[inline]
            #vis fn #try_off() -> ::core::result::Result<usize, #rt::NotResolved> {
                #desc.try_required_layout(#i).map(|#layout| #layout.byte_offset())
            }
        }
    }
}

/// `<field>_bit_offset()` and `<field>_bits()`.
fn bit_fns(cx: &Ctx<'_>, f: &FieldSpec, i: &TokenStream) -> TokenStream {
    let Ctx {
        c_name,
        desc,
        layout,
        ..
    } = cx;
    let FieldSpec {
        ident,
        rust_name: fname,
        vis,
        carried,
        cfgs,
        ..
    } = f;
    let sep = doc_sep(f);
    let member = member_list(f);
    let bit_off = format_ident!("{}_bit_offset", fname, span = ident.span());
    let bits = format_ident!("{}_bits", fname, span = ident.span());
    let what = if f.optional {
        "the optional member"
    } else {
        "member"
    };
    let bit_doc = doc_attr(format!(
        "Bit offset of {what} {member} from the start of `{c_name}` (a bitfield's first \
         bit; for other members 8 × the byte offset).\n\n# Panics\n\nBefore resolution."
    ));
    let bits_doc = doc_attr(format!(
        "Width of {what} {member} in bits: a bitfield's width, else the member's size \
         × 8.\n\n# Panics\n\nBefore resolution."
    ));
    if f.optional {
        quote! {
            #(#cfgs)* #(#carried)* #sep #bit_doc
            #[inline]
            #vis fn #bit_off() -> ::core::option::Option<u64> {
                #desc.optional_layout_or_panic(#i).map(|#layout| #layout.bit_offset)
            }
            #(#cfgs)* #(#carried)* #sep #bits_doc
            #[inline]
            #vis fn #bits() -> ::core::option::Option<u32> {
                #desc.field_bits_or_panic(#i)
            }
        }
    } else {
        quote! {
            #(#cfgs)* #(#carried)* #sep #bit_doc
            #[inline]
            #vis fn #bit_off() -> u64 {
                #desc.required_layout(#i).bit_offset
            }
            #(#cfgs)* #(#carried)* #sep #bits_doc
            #[inline]
            #vis fn #bits() -> u32 {
                #desc.required_bits(#i)
            }
        }
    }
}

/// Which getter [`getter`] makes: the view's or the owned value's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GetterOf {
    View,
    Owned,
}

/// The getter of one field, on the view or on the owned value (the same
/// read, of the view's borrowed bytes or of the value's own).
fn getter(cx: &Ctx<'_>, f: &FieldSpec, i: &TokenStream, of: GetterOf) -> TokenStream {
    let Ctx {
        rt,
        desc,
        value,
        bytes,
        ..
    } = cx;
    let FieldSpec {
        ident,
        vis,
        ty,
        carried,
        cfgs,
        ..
    } = f;
    let sep = doc_sep(f);
    let member = member_list(f);
    let (src, lt) = match of {
        GetterOf::View => (quote!(self.#bytes), quote!('a)),
        GetterOf::Owned => (quote!(&self.#bytes), quote!('_)),
    };
    if f.optional {
        let value_ty = around_type(
            ty,
            quote!(::core::option::Option<<),
            quote!(as #rt::KernelField>::Value<#lt>>),
        );
        // One expression spanned like the field's type (see `around_type`).
        let read = around_type(
            ty,
            quote!(<),
            quote!(as #rt::KernelField>::read(#src, #desc.optional_layout(#i)?)),
        );
        let doc = doc_attr(format!(
            "The optional member {member}: `None` when this kernel lacks it.\n\n\
             Never panics: should the binding have been cleared since the bytes were \
             read, this returns `None` too."
        ));
        quote! {
            #(#cfgs)* #(#carried)* #sep #doc
            #[inline]
            #vis fn #ident(&self) -> #value_ty {
                #read
            }
        }
    } else {
        let value_ty = around_type(ty, quote!(<), quote!(as #rt::KernelField>::Value<#lt>));
        // One expression spanned like the field's type: an unsupported type is
        // then reported once, at the type (see `around_type`).
        let read = around_type(
            ty,
            quote!(<),
            quote!(as #rt::KernelField>::read(#src, #desc.required_layout(#i))),
        );
        let doc = doc_attr(format!(
            "Member {member}.\n\n# Panics\n\nOnly if the binding was cleared after the \
             bytes were read (values and views exist only for resolved structs, and \
             resolution checks that every member lies inside the struct)."
        ));
        quote! {
            #(#cfgs)* #(#carried)* #sep #doc
            #[inline]
            #vis fn #ident(&self) -> #value_ty {
                match #read {
                    ::core::option::Option::Some(#value) => #value,
                    ::core::option::Option::None => #desc.outside_view(#i, (#src).len()),
                }
            }
        }
    }
}

/// Associated functions and owned-value methods of the declared type.
fn type_impl(cx: &Ctx<'_>, assoc: &[TokenStream], owned_getters: &[TokenStream]) -> TokenStream {
    let Ctx {
        rt,
        ident,
        view,
        rust_name,
        c_name,
        desc,
        bytes,
        value,
        ..
    } = cx;
    let mem = Ident::new("mem", Span::mixed_site());
    let addr = Ident::new("addr", Span::call_site());
    let mem_ty = Ident::new("__KtypeMemory", Span::mixed_site());
    let docs = TypeDocs::new(rust_name, c_name);
    let TypeDocs {
        descriptor,
        size,
        try_size,
        present,
        view: view_fn,
        read,
        from_bytes,
        kernel_address,
        as_view,
        bytes: bytes_doc,
    } = &docs;
    quote! {
        #[allow(dead_code)]
        impl #ident {
            #descriptor
            #[inline]
            pub fn descriptor() -> &'static #rt::registry::StructDesc {
                &#desc
            }

            #size
            #[inline]
            pub fn size() -> usize {
                #desc.size_or_panic()
            }

            #try_size
            #[inline]
            pub fn try_size() -> ::core::result::Result<usize, #rt::NotResolved> {
                #desc.try_size()
            }

            #present
            #[inline]
            pub fn is_present() -> bool {
                #desc.is_present()
            }

            #view_fn
            pub fn view(#bytes: &[u8]) -> ::core::result::Result<#view<'_>, #rt::registry::ViewError> {
                let #value = #desc.check_len(#bytes.len())?;
                ::core::result::Result::Ok(#view { #bytes: &#bytes[..#value] })
            }

            #read
            pub fn read<#mem_ty: #rt::KernelRead + ?::core::marker::Sized>(
                #mem: &#mem_ty,
                #addr: u64,
            ) -> ::core::result::Result<Self, #rt::ReadError> {
                <Self as #rt::KernelStruct>::read(#mem, #addr)
            }

            #from_bytes
            pub fn from_bytes(
                #addr: u64,
                mut #bytes: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<Self, #rt::registry::ViewError> {
                let #value = #desc.check_len(#bytes.len())?;
                #bytes.truncate(#value);
                ::core::result::Result::Ok(#ident { #addr, #bytes: #bytes.into_boxed_slice() })
            }

            #kernel_address
            #[inline]
            pub fn kernel_address(&self) -> u64 {
                self.#addr
            }

            #as_view
            #[inline]
            pub fn as_view(&self) -> #view<'_> {
                #view { #bytes: &self.#bytes }
            }

            #bytes_doc
            #[inline]
            pub fn bytes(&self) -> &[u8] {
                &self.#bytes
            }

            #(#assoc)*

            #(#owned_getters)*
        }
    }
}

/// Docs of the fixed items of the declared type.
struct TypeDocs {
    descriptor: TokenStream,
    size: TokenStream,
    try_size: TokenStream,
    present: TokenStream,
    view: TokenStream,
    read: TokenStream,
    from_bytes: TokenStream,
    kernel_address: TokenStream,
    as_view: TokenStream,
    bytes: TokenStream,
}

impl TypeDocs {
    fn new(rust_name: &str, c_name: &str) -> Self {
        TypeDocs {
            descriptor: doc_attr(format!(
                "The registered descriptor of `{c_name}`: names, fields, and the slots \
                 resolution fills."
            )),
            size: doc_attr(format!(
                "The kernel's size of `{c_name}` in bytes.\n\n# Panics\n\nBefore resolution, \
                 or when this optional type is absent; see [`{rust_name}::try_size`]."
            )),
            try_size: doc_attr(format!(
                "The kernel's size of `{c_name}` in bytes, or \
                 [`NotResolved`](ktype_runtime::NotResolved) before resolution (and when an \
                 optional type is absent)."
            )),
            present: doc_attr(format!(
                "Whether resolution found `{c_name}` in this kernel (false before resolution)."
            )),
            view: doc_attr(format!(
                "A zero-copy view of one `{c_name}` read from the kernel: `bytes` starts at the \
                 struct; only its first [`{rust_name}::size`] bytes are used.\n\n# Errors\n\n\
                 `NotResolved` before resolution, `Absent` when this optional type is not in the \
                 kernel, `TooShort` when `bytes` is shorter than the struct."
            )),
            read: doc_attr(format!(
                "Reads the `{c_name}` at kernel address `addr` from `mem` (a crash dump, live \
                 memory, any [`KernelRead`](ktype_runtime::KernelRead)).\n\n# Errors\n\n\
                 [`ReadError::View`](ktype_runtime::ReadError::View) before resolution (or for \
                 an absent optional type), [`ReadError::Memory`](ktype_runtime::ReadError::Memory) \
                 when `mem` cannot read the bytes."
            )),
            from_bytes: doc_attr(format!(
                "Takes the bytes of one `{c_name}` that lives at kernel address `addr`; bytes \
                 past [`{rust_name}::size`] are dropped.\n\n# Errors\n\nAs [`{rust_name}::view`]."
            )),
            kernel_address: doc_attr("The kernel address this value was read from.".to_string()),
            as_view: doc_attr(format!(
                "This value's bytes as a zero-copy view (what nested `{rust_name}` members \
                 return)."
            )),
            bytes: doc_attr(format!(
                "The bytes of this `{c_name}` (exactly its kernel size)."
            )),
        }
    }
}

/// The view's `bytes()` and getters.
fn view_impl(cx: &Ctx<'_>, getters: &[TokenStream]) -> TokenStream {
    let Ctx {
        view, err, bytes, ..
    } = cx;
    quote! {
        #[allow(dead_code)]
        impl<'a> #view<'a> {
            /// The bytes of the struct this view reads (exactly its kernel size).
            #[inline]
            pub fn bytes(&self) -> &'a [u8] {
                self.#bytes
            }

            #(#getters)*
        }

        impl ::core::fmt::Debug for #view<'_> {
            fn fmt(&self, #err: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #err.debug_struct(::core::stringify!(#view))
                    .field("len", &self.#bytes.len())
                    .finish()
            }
        }
    }
}

/// `KernelField`, `KernelStruct`, `Clone` and `Debug` of the declared type.
fn trait_impls(cx: &Ctx<'_>) -> TokenStream {
    let Ctx {
        rt,
        ident,
        view,
        desc,
        bytes,
        layout,
        value,
        err,
        ..
    } = cx;
    let addr = Ident::new("addr", Span::call_site());
    let index = Ident::new("index", Span::mixed_site());
    quote! {
        impl #rt::KernelField for #ident {
            type Value<'a> = #view<'a>;

            fn shape() -> #rt::registry::Shape {
                #rt::registry::Shape::Struct(&#desc)
            }

            fn read(#bytes: &[u8], #layout: #rt::registry::FieldLayout) -> ::core::option::Option<#view<'_>> {
                let #value = #desc.try_size().ok()?;
                let #index = #layout.byte_offset();
                let #bytes = #bytes.get(#index..#index.checked_add(#value)?)?;
                ::core::option::Option::Some(#view { #bytes })
            }
        }

        impl #rt::KernelStruct for #ident {
            fn descriptor() -> &'static #rt::registry::StructDesc {
                &#desc
            }
            fn from_bytes(
                #addr: u64,
                #bytes: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<Self, #rt::registry::ViewError> {
                #ident::from_bytes(#addr, #bytes)
            }
            fn kernel_address(&self) -> u64 {
                self.#addr
            }
        }

        impl ::core::clone::Clone for #ident {
            fn clone(&self) -> Self {
                #ident { #addr: self.#addr, #bytes: self.#bytes.clone() }
            }
        }

        impl ::core::fmt::Debug for #ident {
            fn fmt(&self, #err: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #err.debug_struct(::core::stringify!(#ident))
                    .field("kernel_address", &::core::format_args!("{:#x}", self.#addr))
                    .field("len", &self.#bytes.len())
                    .finish()
            }
        }
    }
}
