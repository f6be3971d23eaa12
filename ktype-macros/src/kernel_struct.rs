//! `#[kernel_struct]`: a marker type, its descriptor, offsets, a zero-copy view
//! and a `KernelField` impl.

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

/// Methods the macro puts on the marker type itself.
const MARKER_METHODS: &[&str] = &["descriptor", "size", "try_size", "is_present", "view"];
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
                "#[kernel_struct] types cannot have lifetime parameters: the type is a marker \
                 for a kernel type; its generated view carries the lifetime of the bytes",
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
                    "#[kernel_struct] types cannot derive traits: `{}` becomes an uninhabited \
                     marker type; read values through `{}::view`, which returns a `{}View`",
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
    let mut marker: Vec<(String, String)> = MARKER_METHODS
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
        for method in [
            format!("{}_offset", f.rust_name),
            format!("try_{}_offset", f.rust_name),
        ] {
            if let Some((_, owner)) = marker.iter().find(|(m, _)| *m == method) {
                errors.spanned(
                    &f.ident,
                    format!(
                        "field `{}` would generate `{ty}::{method}()`, which clashes with the one \
                         generated for field `{owner}`; rename the field and bind it with \
                         `#[kernel(name = \"{}\")]`",
                        f.rust_name, f.rust_name
                    ),
                );
            } else {
                marker.push((method, f.rust_name.clone()));
            }
        }
    }
}

/// The uninhabited marker that replaces the struct.
fn marker_tokens(item: &ItemStruct, kept_attrs: &[Attribute]) -> TokenStream {
    let vis = &item.vis;
    let ident = &item.ident;
    let enum_token = quote_spanned!(item.struct_token.span()=> enum);
    quote! {
        #(#kept_attrs)*
        #vis #enum_token #ident {}
    }
}

fn generate(
    item: &ItemStruct,
    opts: &Options,
    kept_attrs: &[Attribute],
    fields: &[FieldSpec],
) -> TokenStream {
    let rt = rt();
    let ident = &item.ident;
    let vis = &item.vis;
    let rust_name = unraw(ident);
    let view = format_ident!("{}View", rust_name, span = ident.span());
    let module = opts.module();
    let names: Vec<String> = match opts.names() {
        Some(lits) => lits.iter().map(LitStr::value).collect(),
        None => vec![snake_case(&rust_name)],
    };
    let is_union = opts.union.is_some();
    let optional = opts.optional.is_some();
    let kind_kw = if is_union { "union" } else { "struct" };
    let kind = if is_union {
        quote!(#rt::registry::AggregateKind::Union)
    } else {
        quote!(#rt::registry::AggregateKind::Struct)
    };
    let c_name = names_for_docs(kind_kw, &names);
    let cfgs: Vec<&Attribute> = kept_attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let declared_at = quote_spanned!(ident.span()=>
        ::core::concat!(::core::file!(), ":", ::core::line!())
    );

    // Hygienic names for parameters and locals.
    let bytes = Ident::new("bytes", Span::mixed_site());
    let layout = Ident::new("layout", Span::mixed_site());
    let index = Ident::new("index", Span::mixed_site());
    let value = Ident::new("value", Span::mixed_site());
    let err = Ident::new("err", Span::mixed_site());
    let desc = Ident::new("__KTYPE_STRUCT_DESC", Span::mixed_site());
    let register = Ident::new("__KTYPE_STRUCT_REGISTRATION", Span::mixed_site());
    let fields_static = Ident::new("__KTYPE_STRUCT_FIELDS", Span::mixed_site());
    let n_fields = cfg_count(fields.iter().map(|f| &f.cfgs));
    let required_layout = Ident::new("__ktype_required_layout", Span::mixed_site());
    let outside = Ident::new("__ktype_outside_view", Span::mixed_site());
    let optional_layout = Ident::new("__ktype_optional_layout", Span::mixed_site());

    let field_descs = fields.iter().map(|f| {
        let FieldSpec {
            rust_name,
            paths,
            optional,
            ty,
            cfgs,
            ..
        } = f;
        let shape = around_type(ty, quote!(<), quote!(as #rt::KernelField>::shape));
        quote! {
            #(#cfgs)*
            #rt::registry::FieldDesc {
                rust_name: #rust_name,
                paths: &[#(#paths),*],
                optional: #optional,
                shape: #shape,
                slot: #rt::registry::FieldSlot::new(),
            }
        }
    });

    let mut offsets = Vec::new();
    let mut getters = Vec::new();
    let indices = cfg_indices(fields.iter().map(|f| &f.cfgs));
    for (f, i) in fields.iter().zip(&indices) {
        let FieldSpec {
            ident: fident,
            rust_name: fname,
            vis: fvis,
            ty,
            paths,
            optional,
            carried,
            cfgs,
        } = f;
        let sep = carried
            .iter()
            .any(|a| a.path().is_ident("doc"))
            .then(|| quote!(#[doc = ""]));
        let off = format_ident!("{}_offset", fname, span = fident.span());
        let try_off = format_ident!("try_{}_offset", fname, span = fident.span());
        let member = paths
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        let field_value = around_type(ty, quote!(<), quote!(as #rt::KernelField>::Value<'a>));
        let opt_field_value = around_type(
            ty,
            quote!(::core::option::Option<<),
            quote!(as #rt::KernelField>::Value<'a>>),
        );
        if *optional {
            let off_doc = doc_attr(format!(
                "Byte offset of the optional member {member} in `{c_name}`, or `None` when \
                 this kernel lacks it (for bitfields: of the byte holding the first bit).\n\n\
                 # Panics\n\nBefore resolution; see [`{rust_name}::{try_off}`]."
            ));
            let try_doc = doc_attr(format!(
                "Byte offset of the optional member {member}: `Ok(None)` when this kernel \
                 lacks it, [`NotResolved`]({rt_doc}::NotResolved) before resolution.",
                rt_doc = "ktype_runtime",
            ));
            offsets.push(quote! {
                #(#cfgs)*
                #(#carried)*
                #sep
                #off_doc
                #[inline]
                #fvis fn #off() -> ::core::option::Option<usize> {
                    match #desc.field_layout(#i) {
                        ::core::result::Result::Ok(#layout) => #layout.map(|#layout| #layout.byte_offset()),
                        ::core::result::Result::Err(#err) => ::core::panic!("{}", #err),
                    }
                }
                #(#cfgs)*
                #(#carried)*
                #sep
                #try_doc
                #[inline]
                #fvis fn #try_off() -> ::core::result::Result<::core::option::Option<usize>, #rt::NotResolved> {
                    ::core::result::Result::Ok(#desc.field_layout(#i)?.map(|#layout| #layout.byte_offset()))
                }
            });
            // One expression spanned like the field's type (see `around_type`).
            let read = around_type(
                ty,
                quote!(<),
                quote!(as #rt::KernelField>::read(self.bytes, #optional_layout(#i)?)),
            );
            let get_doc = doc_attr(format!(
                "The optional member {member}: `None` when this kernel lacks it.\n\n\
                 Never panics: should the binding have been cleared since the view was \
                 made, this returns `None` too."
            ));
            getters.push(quote! {
                #(#cfgs)*
                #(#carried)*
                #sep
                #get_doc
                #[inline]
                #fvis fn #fident(&self) -> #opt_field_value {
                    #read
                }
            });
        } else {
            let off_doc = doc_attr(format!(
                "Byte offset of member {member} in `{c_name}` (for bitfields: of the byte \
                 holding the first bit).\n\n# Panics\n\nBefore resolution, with a message \
                 naming the struct and the field; see [`{rust_name}::{try_off}`]."
            ));
            let try_doc = doc_attr(format!(
                "Byte offset of member {member}, or [`NotResolved`]({rt_doc}::NotResolved) \
                 before resolution.",
                rt_doc = "ktype_runtime",
            ));
            offsets.push(quote! {
                #(#cfgs)*
                #(#carried)*
                #sep
                #off_doc
                #[inline]
                #fvis fn #off() -> usize {
                    #required_layout(#i).byte_offset()
                }
                #(#cfgs)*
                #(#carried)*
                #sep
                #try_doc
                #[inline]
                #fvis fn #try_off() -> ::core::result::Result<usize, #rt::NotResolved> {
                    match #desc.field_layout(#i)? {
                        ::core::option::Option::Some(#layout) => ::core::result::Result::Ok(#layout.byte_offset()),
                        ::core::option::Option::None => ::core::result::Result::Err(#desc.not_resolved(::core::option::Option::Some(#fname))),
                    }
                }
            });
            let get_doc = doc_attr(format!(
                "Member {member}.\n\n# Panics\n\nOnly if the binding was cleared after this \
                 view was made (views exist only for resolved structs, and resolution checks \
                 that every member lies inside the struct)."
            ));
            // One expression spanned like the field's type: an unsupported type is
            // then reported once, at the type (see `around_type`).
            let read = around_type(
                ty,
                quote!(<),
                quote!(as #rt::KernelField>::read(self.bytes, #required_layout(#i))),
            );
            getters.push(quote! {
                #(#cfgs)*
                #(#carried)*
                #sep
                #get_doc
                #[inline]
                #fvis fn #fident(&self) -> #field_value {
                    match #read {
                        ::core::option::Option::Some(#value) => #value,
                        ::core::option::Option::None => #outside(#i, self.bytes.len()),
                    }
                }
            });
        }
    }

    let binding_doc = {
        let opt = if optional {
            " It is optional: a kernel without it is accepted, and \
             [`is_present`](Self::is_present) tells."
        } else {
            ""
        };
        format!(
            "# Kernel binding\n\nBound at run time to `{c_name}` in `{module}` by \
             `#[kernel_struct]`.{opt} This type is an uninhabited marker: \
             [`{rust_name}::view`] reads the kernel's bytes through a [`{view}`], \
             `{rust_name}::<field>_offset()` gives member offsets, and \
             [`{rust_name}::size`] the kernel's size of the type."
        )
    };
    let has_docs = kept_attrs.iter().any(|a| a.path().is_ident("doc"));
    let sep = has_docs.then(|| quote!(#[doc = ""]));
    let binding_doc = doc_attr(binding_doc);
    let vis_enum = quote_spanned!(item.struct_token.span()=> enum);
    let view_doc = doc_attr(format!(
        "A zero-copy view of the bytes of one kernel `{c_name}` (see [`{rust_name}`]).\n\n\
         Made by [`{rust_name}::view`], or by the getter of a member of type `{rust_name}` \
         in an enclosing view; one getter per declared field."
    ));
    let descriptor_doc = doc_attr(format!(
        "The registered descriptor of `{c_name}`: names, fields, and the slots \
         resolution fills."
    ));
    let size_doc = doc_attr(format!(
        "The kernel's size of `{c_name}` in bytes.\n\n# Panics\n\nBefore resolution, or \
         when this optional type is absent; see [`{rust_name}::try_size`]."
    ));
    let try_size_doc = doc_attr(format!(
        "The kernel's size of `{c_name}` in bytes, or [`NotResolved`](ktype_runtime::NotResolved) \
         before resolution (and when an optional type is absent)."
    ));
    let present_doc = doc_attr(format!(
        "Whether resolution found `{c_name}` in this kernel (false before resolution)."
    ));
    let view_fn_doc = doc_attr(format!(
        "A view of one `{c_name}` read from the kernel: `bytes` starts at the struct; \
         only its first [`{rust_name}::size`] bytes are used.\n\n# Errors\n\n\
         `NotResolved` before resolution, `Absent` when this optional type is not in the \
         kernel, `TooShort` when `bytes` is shorter than the struct."
    ));

    quote! {
        #(#kept_attrs)*
        #sep
        #binding_doc
        #vis #vis_enum #ident {}

        #(#cfgs)*
        #view_doc
        #[derive(::core::clone::Clone, ::core::marker::Copy)]
        #vis struct #view<'a> {
            bytes: &'a [u8],
        }

        #(#cfgs)*
        const _: () = {
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
                size: #rt::registry::ValueSlot::new(),
            };

            #[#rt::linkme::distributed_slice(#rt::registry::KERNEL_STRUCTS)]
            #[linkme(crate = #rt::linkme)]
            static #register: &#rt::registry::StructDesc = &#desc;

            /// The layout of required field `index`; panics with a clear message when unresolved.
            #[allow(dead_code)]
            fn #required_layout(#index: usize) -> #rt::registry::FieldLayout {
                match #desc.field_layout(#index) {
                    ::core::result::Result::Ok(::core::option::Option::Some(#layout)) => #layout,
                    ::core::result::Result::Ok(::core::option::Option::None) => ::core::panic!(
                        "ktype: {}.{} is absent from this kernel",
                        #desc.display_name(),
                        #desc.fields[#index].rust_name,
                    ),
                    ::core::result::Result::Err(#err) => ::core::panic!("{}", #err),
                }
            }

            /// The layout of optional field `index`; `None` when absent (or unresolved).
            #[allow(dead_code)]
            fn #optional_layout(#index: usize) -> ::core::option::Option<#rt::registry::FieldLayout> {
                #desc.field_layout(#index).ok().flatten()
            }

            #[allow(dead_code)]
            #[cold]
            fn #outside(#index: usize, #value: usize) -> ! {
                ::core::panic!(
                    "ktype: {}.{} lies outside the {} bytes of the view",
                    #desc.display_name(),
                    #desc.fields[#index].rust_name,
                    #value,
                )
            }

            #[allow(dead_code)]
            impl #ident {
                #descriptor_doc
                #[inline]
                pub fn descriptor() -> &'static #rt::registry::StructDesc {
                    &#desc
                }

                #size_doc
                #[inline]
                pub fn size() -> usize {
                    match #desc.size.get() {
                        ::core::result::Result::Ok(::core::option::Option::Some(#value)) => #value as usize,
                        ::core::result::Result::Ok(::core::option::Option::None) => ::core::panic!(
                            "ktype: optional {} is absent from this kernel; check is_present() first",
                            #desc.display_name(),
                        ),
                        ::core::result::Result::Err(()) => ::core::panic!("{}", #desc.not_resolved(::core::option::Option::None)),
                    }
                }

                #try_size_doc
                #[inline]
                pub fn try_size() -> ::core::result::Result<usize, #rt::NotResolved> {
                    #desc.try_size()
                }

                #present_doc
                #[inline]
                pub fn is_present() -> bool {
                    #desc.is_present()
                }

                #view_fn_doc
                pub fn view(#bytes: &[u8]) -> ::core::result::Result<#view<'_>, #rt::registry::ViewError> {
                    match #desc.size.get() {
                        ::core::result::Result::Ok(::core::option::Option::Some(#value)) => {
                            let #value = #value as usize;
                            match #bytes.get(..#value) {
                                ::core::option::Option::Some(#bytes) => ::core::result::Result::Ok(#view { bytes: #bytes }),
                                ::core::option::Option::None => ::core::result::Result::Err(#rt::registry::ViewError::TooShort {
                                    what: #desc.display_name(),
                                    need: #value,
                                    got: #bytes.len(),
                                }),
                            }
                        }
                        ::core::result::Result::Ok(::core::option::Option::None) => {
                            ::core::result::Result::Err(#rt::registry::ViewError::Absent {
                                what: #desc.display_name(),
                            })
                        }
                        ::core::result::Result::Err(()) => ::core::result::Result::Err(
                            #rt::registry::ViewError::NotResolved(#desc.not_resolved(::core::option::Option::None)),
                        ),
                    }
                }

                #(#offsets)*
            }

            #[allow(dead_code)]
            impl<'a> #view<'a> {
                /// The bytes of the struct this view reads (exactly its kernel size).
                #[inline]
                pub fn bytes(&self) -> &'a [u8] {
                    self.bytes
                }

                #(#getters)*
            }

            impl ::core::fmt::Debug for #view<'_> {
                fn fmt(&self, #err: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    #err.debug_struct(::core::stringify!(#view))
                        .field("len", &self.bytes.len())
                        .finish()
                }
            }

            impl #rt::KernelField for #ident {
                type Value<'a> = #view<'a>;

                fn shape() -> #rt::registry::Shape {
                    #rt::registry::Shape::Struct(&#desc)
                }

                fn read(#bytes: &[u8], #layout: #rt::registry::FieldLayout) -> ::core::option::Option<#view<'_>> {
                    let #value = match #desc.size.get() {
                        ::core::result::Result::Ok(::core::option::Option::Some(#value)) => #value as usize,
                        _ => return ::core::option::Option::None,
                    };
                    let #index = #layout.byte_offset();
                    let #bytes = #bytes.get(#index..#index.checked_add(#value)?)?;
                    ::core::option::Option::Some(#view { bytes: #bytes })
                }
            }
        };
    }
}
