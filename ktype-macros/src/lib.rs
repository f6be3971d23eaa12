//! Proc macros of ktype: [`macro@kernel_struct`], [`macro@kernel_enum`] and
//! [`kernel_symbols!`].
//!
//! Use them through `ktype_runtime`, which re-exports them: the generated code
//! refers only to `::ktype_runtime::...` paths. Each macro emits plain `static`
//! descriptors (no `unsafe`) registered in `ktype_runtime`'s `linkme`
//! distributed slices; `ktype_runtime::resolve` fills them from the kernel's BTF.
//!
//! The examples here are shown as text because a proc-macro crate's doctests
//! cannot depend on `ktype_runtime`; runnable examples live in `ktype_runtime`'s
//! documentation and in `ktype-runtime/tests/macros.rs`, and every misuse has a
//! compile-fail case in `ui-tests/ui/fail`.
//!
//! Modules, one concern each: `attrs` (option parsing and checks), `naming`
//! (default names, validation, typo suggestions), `kernel_struct`,
//! `kernel_enum`, `kernel_symbols` (the generators), `errors` (reporting every
//! problem at once) and `util`.

mod attrs;
mod errors;
mod kernel_enum;
mod kernel_struct;
mod kernel_symbols;
mod naming;
mod util;

use proc_macro::TokenStream;

/// Binds a Rust struct to a kernel struct (or union) whose layout is read from
/// BTF at run time.
///
/// ```text
/// use ktype_runtime::{kernel_struct, KAddr, KPtr};
///
/// /// A kernel doubly linked list node.
/// #[kernel_struct]                           // binds `struct list_head`
/// pub struct ListHead {
///     pub next: KPtr<ListHead>,
///     pub prev: KPtr<ListHead>,
/// }
///
/// #[kernel_struct(module = "vmlinux", name = "page")]
/// pub struct Page {
///     pub flags: u64,
///     #[kernel(name = "_mapcount")]
///     pub mapcount: i32,
///     #[kernel(any("compound_info", "compound_head"))]
///     pub compound_head: u64,
///     #[kernel(optional)]
///     pub page_type: u32,
///     #[kernel(path = "_refcount.counter")]
///     pub refcount: i32,
///     pub lru: ListHead,
///     pub mapping: KAddr,
/// }
///
/// // After ktype_runtime::resolve(&bindings, &set, this_crate!()):
/// let page = Page::view(&bytes)?;            // bytes read from kernel memory
/// let flags: u64 = page.flags();
/// let next: KPtr<ListHead> = page.lru().next();
/// let page_type: Option<u32> = page.page_type();
/// let off: usize = Page::flags_offset();
/// ```
///
/// # Options of the struct: `#[kernel_struct(...)]`
///
/// - `module = "name"`: the module whose BTF holds the type (default `"vmlinux"`).
/// - `name = "page"`: the kernel type name; by default the Rust name in snake
///   case (`ListHead` binds `list_head`).
/// - `any("folio", "page")`: alternative type names, tried in order.
/// - `union`: bind a BTF union instead of a struct.
/// - `optional`: a kernel lacking the type is acceptable (`is_present()` tells).
/// - `group = "my_tool_extra"`: resolve it only with
///   `Scope::Group("my_tool_extra")`, not with its crate's declarations
///   (see `ktype_runtime::resolution`).
///
/// # Options of a field: `#[kernel(...)]`
///
/// - `name = "_mapcount"`: the kernel member name (default: the Rust field
///   name, without a leading `r#`).
/// - `path = "_refcount.counter"`: a dotted path through nested members.
/// - `any("a", "b.c")`: alternative names or paths, tried in order.
/// - `optional`: the member may be absent; its getter returns `Option`.
///
/// `name`, `path` and `any` are mutually exclusive. Anonymous struct and union
/// members are searched implicitly. Two fields may not bind the same member.
///
/// Field types must implement `ktype_runtime::KernelField`: integers, `bool`,
/// arrays, `KPtr<T>`, `KAddr`, and other `#[kernel_struct]` types (embedded by
/// value). Integer fields also read bitfields.
///
/// # What it generates, for `pub struct Page`
///
/// - `pub struct Page { /* private fields */ }`: the struct becomes an owned
///   value (one `struct page` read from kernel memory: its address and bytes),
///   with the same visibility and attributes (`#[derive]` and `#[repr]` are
///   rejected: its layout is the kernel's). It is `Clone` and `Debug`.
/// - A static `StructDesc` registered in `KERNEL_STRUCTS` (the resolver's input),
///   recording the declaring module (`module_path!()`) and group.
/// - `impl Page`:
///   - `pub fn descriptor() -> &'static StructDesc`;
///   - `pub fn size() -> usize` (panics before resolution) and
///     `pub fn try_size() -> Result<usize, NotResolved>`;
///   - `pub fn is_present() -> bool`;
///   - `pub fn view(bytes: &[u8]) -> Result<PageView<'_>, ViewError>`;
///   - `pub fn read<M: KernelRead + ?Sized>(mem: &M, addr: u64) -> Result<Page, ReadError>`
///     and `pub fn from_bytes(addr: u64, bytes: Vec<u8>) -> Result<Page, ViewError>`;
///   - on a value: `kernel_address(&self) -> u64`, `as_view(&self) -> PageView<'_>`,
///     `bytes(&self) -> &[u8]`, and one getter per field like the view's (but
///     for a field named like one of these functions, e.g. `size`: read it
///     through `as_view()`);
///   - per field `f`: `fn f_offset() -> usize` (`Option<usize>` when optional;
///     panics before resolution with a message naming the struct and field),
///     `fn try_f_offset() -> Result<usize, NotResolved>` (`Result<Option<usize>, _>`),
///     `fn f_bit_offset() -> u64` (a bitfield's first bit) and `fn f_bits() -> u32`
///     (a bitfield's width, else the member's size × 8), `Option` when optional;
///     all with the field's visibility and docs.
/// - `pub struct PageView<'a>` (`Clone`, `Copy`, `Debug`): `bytes()` and one getter
///   per field, named like the field, returning `<T as KernelField>::Value<'a>`
///   (`Option<..>` when optional); nested structs return their own views.
/// - `impl KernelField for Page`, so the type nests in other kernel structs and
///   is a pointee for `KPtr<Page>` (`KPtr<Page>::read(&mem)` follows it), and
///   `impl KernelStruct for Page`, for generic code and list walks
///   (`ktype_runtime::memory::list_entries::<Page>`).
///
/// # Errors at compile time
///
/// Unknown, duplicate, conflicting or ill-typed options, empty or invalid names
/// and paths, generic, tuple or unit structs, two fields bound to the same
/// member, and field types that are not `KernelField` are all reported, every
/// one at the offending token.
#[proc_macro_attribute]
pub fn kernel_struct(args: TokenStream, input: TokenStream) -> TokenStream {
    kernel_struct::expand(args.into(), input.into()).into()
}

/// Binds a fieldless Rust enum to the constants of a kernel enum, whose values
/// are read from BTF at run time.
///
/// ```text
/// use ktype_runtime::kernel_enum;
///
/// #[kernel_enum(name = "pageflags")]
/// pub enum PageFlags {
///     PG_locked,
///     PG_lru,
///     #[kernel(optional)]
///     PG_hwpoison,
///     #[kernel(name = "PG_head")]
///     Head,
///     #[kernel(any("PG_foo", "PG_bar"))]
///     Foo,
/// }
///
/// // After ktype_runtime::resolve(&bindings, &set, this_crate!()):
/// if flags & PageFlags::Head.mask() != 0 { /* ... */ }
/// let v: u64 = PageFlags::PG_lru.value();
/// assert_eq!(PageFlags::from_value(v), Some(PageFlags::PG_lru));
/// ```
///
/// # Options of the enum: `#[kernel_enum(...)]`
///
/// - `module = "name"` (default `"vmlinux"`).
/// - `name = "pageflags"` or `any("a", "b")`: the kernel enum's name; by default
///   the Rust name in snake case.
/// - `anonymous`: search the constants across every enum of the module, for
///   constants declared in anonymous enums (`enum { FOO = 1 };`).
/// - `group = "name"`: resolved only with `Scope::Group("name")`.
///
/// # Options of a variant: `#[kernel(...)]`
///
/// - `name = "PG_head"` (default: the variant's name) or `any("a", "b")`.
/// - `optional`: the constant may be absent.
///
/// # What it generates
///
/// The enum stays a real Rust enum; the macro adds
/// `#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]` (those not already derived)
/// and `#[allow(non_camel_case_types)]`. Variants cannot carry data or explicit
/// discriminants. It registers a static `EnumDesc` in `KERNEL_ENUMS` and adds:
/// `descriptor()`, `ALL`, `value(self) -> u64` (panics when unresolved or
/// absent), `try_value(self) -> Result<Option<u64>, NotResolved>`,
/// `value_i64(self)`, `is_present(self)`, `mask(self) -> u64` (`1 << value`) and
/// `from_value(u64) -> Option<Self>`.
#[proc_macro_attribute]
pub fn kernel_enum(args: TokenStream, input: TokenStream) -> TokenStream {
    kernel_enum::expand(args.into(), input.into()).into()
}

/// Declares kernel symbols whose addresses are filled at run time.
///
/// ```text
/// ktype_runtime::kernel_symbols! {
///     /// The first task.
///     pub static INIT_TASK = "init_task";
///     #[kernel(optional)]
///     pub static STEXT = "_stext";
///     #[kernel(module = "qemu_fw_cfg")]
///     static FW_CFG_SEL = any("fw_cfg_sel_ko", "other");
/// }
///
/// // After ktype_runtime::resolve_symbols(&bindings, &symbols, this_crate!()):
/// let addr: u64 = INIT_TASK.address();
/// let stext: Option<u64> = STEXT.try_address()?;
/// ```
///
/// Each item becomes a `static NAME: ktype_runtime::registry::SymbolDesc`
/// (with the item's visibility and attributes) registered in `KERNEL_SYMBOLS`.
/// The value is the symbol name, or `any(..)` of alternatives tried in order.
/// `#[kernel(...)]` accepts `module = "name"` (default `"vmlinux"`), `optional`
/// and `group = "name"` (resolved only with `Scope::Group("name")`).
#[proc_macro]
pub fn kernel_symbols(input: TokenStream) -> TokenStream {
    kernel_symbols::expand(input.into()).into()
}
