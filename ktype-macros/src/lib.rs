//! Proc macros of ktype (placeholder; being written).
use proc_macro::TokenStream;

/// Mirrors a kernel struct.
#[proc_macro_attribute]
pub fn kernel_struct(_a: TokenStream, i: TokenStream) -> TokenStream {
    i
}
/// Mirrors a kernel enum.
#[proc_macro_attribute]
pub fn kernel_enum(_a: TokenStream, i: TokenStream) -> TokenStream {
    i
}
/// Declares kernel symbols.
#[proc_macro]
pub fn kernel_symbols(_i: TokenStream) -> TokenStream {
    TokenStream::new()
}
