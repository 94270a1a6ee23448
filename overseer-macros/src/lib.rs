//! placeholder
use proc_macro::TokenStream;
#[proc_macro_attribute]
pub fn overlord(_a: TokenStream, i: TokenStream) -> TokenStream { i }
#[proc_macro_attribute]
pub fn subsystem(_a: TokenStream, i: TokenStream) -> TokenStream { i }
#[proc_macro_attribute]
pub fn contextbounds(_a: TokenStream, i: TokenStream) -> TokenStream { i }
