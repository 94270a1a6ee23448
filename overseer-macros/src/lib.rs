//! The attribute macros of [overseer](https://docs.rs/overseer): `#[overlord]` on a struct of
//! subsystems, `#[subsystem]` on a subsystem's `impl` block and `#[contextbounds]`.
//!
//! Each entry point parses into a typed model, validates it (every mistake becomes one error
//! at the token that causes it) and only then generates code.

mod expand;
mod model;
mod parse;
mod size;
mod validate;

use proc_macro::TokenStream;

/// Generate an overseer from a struct of subsystems.
///
/// See the overseer crate and the guide's macro reference for every option and generated item.
#[proc_macro_attribute]
pub fn overlord(attr: TokenStream, item: TokenStream) -> TokenStream {
    let result = parse::overlord(attr.into(), item.into()).and_then(|model| {
        validate::overlord(&model)?;
        Ok(expand::overlord(&model))
    });
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Make an `impl<Context> X { fn start(self, ctx: Context) -> SpawnedSubsystem<E> }` block
/// implement `Subsystem` for the named subsystem: `#[subsystem(Name, error = E, prefix = path)]`.
#[proc_macro_attribute]
pub fn subsystem(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::subsystem_impl::expand(
        attr.into(),
        item.into(),
        expand::subsystem_impl::Mode::ImplementSubsystem,
    )
    .unwrap_or_else(syn::Error::into_compile_error)
    .into()
}

/// Add the context bounds of the named subsystem to an `impl` block or function:
/// `#[contextbounds(Name, prefix = path)]`.
#[proc_macro_attribute]
pub fn contextbounds(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::subsystem_impl::expand(
        attr.into(),
        item.into(),
        expand::subsystem_impl::Mode::BoundsOnly,
    )
    .unwrap_or_else(syn::Error::into_compile_error)
    .into()
}
