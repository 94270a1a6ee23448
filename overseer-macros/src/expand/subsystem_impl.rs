//! `#[subsystem(Name, error = E, prefix = path)]` and `#[contextbounds(Name, prefix = path)]`:
//! bound the context generic by the generated traits, whatever the generic is called.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::{parse_quote, FnArg, Generics, Ident, ImplItem, Item, Type, WherePredicate};

use crate::parse::ImplArgs;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Turn the `impl` into `impl Subsystem<Ctx, E> for X` and bound the context.
    ImplementSubsystem,
    /// Only bound the context.
    BoundsOnly,
}

/// The context generic: the type of `start`'s context argument if it is one of the generics,
/// otherwise the only type generic.
fn context_param(generics: &Generics, argument_type: Option<&Type>) -> Option<Ident> {
    let type_params: Vec<&Ident> = generics.type_params().map(|param| &param.ident).collect();
    if let Some(Type::Path(path)) = argument_type {
        if let Some(ident) = path.path.get_ident() {
            if type_params.contains(&ident) {
                return Some(ident.clone());
            }
        }
    }
    match type_params.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    }
}

fn context_argument_type(
    inputs: &syn::punctuated::Punctuated<FnArg, syn::Token![,]>,
) -> Option<&Type> {
    inputs.iter().find_map(|input| match input {
        FnArg::Typed(typed) => Some(&*typed.ty),
        _ => None,
    })
}

fn bounds(context: &Ident, args: &ImplArgs) -> Vec<WherePredicate> {
    let prefix = args.prefix.clone().unwrap_or_else(|| parse_quote!(self));
    let context_trait = format_ident!("{}ContextTrait", args.subsystem);
    let sender_trait = format_ident!("{}SenderTrait", args.subsystem);
    vec![
        parse_quote!(#context: #prefix::#context_trait),
        parse_quote!(#context: ::overseer::SubsystemContext),
        parse_quote!(<#context as ::overseer::SubsystemContext>::Sender: #prefix::#sender_trait),
    ]
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream, mode: Mode) -> syn::Result<TokenStream> {
    let macro_name = if mode == Mode::ImplementSubsystem {
        "subsystem"
    } else {
        "contextbounds"
    };
    let args = ImplArgs::parse(attr, macro_name)?;
    if let Some(prefix) = &args.prefix {
        if prefix.segments.trailing_punct() {
            return Err(syn::Error::new_spanned(
                prefix,
                "`prefix` must not end with `::`",
            ));
        }
    }
    let mut item: Item = syn::parse2(item)?;
    match &mut item {
        Item::Impl(implementation) => {
            let start = implementation.items.iter().find_map(|item| match item {
                ImplItem::Fn(function) if function.sig.ident == "start" => Some(function),
                _ => None,
            });
            let argument_type = start.and_then(|start| context_argument_type(&start.sig.inputs));
            let Some(context) = context_param(&implementation.generics, argument_type) else {
                return Err(syn::Error::new(
                    implementation.generics.span().join(implementation.impl_token.span).unwrap_or(implementation.impl_token.span),
                    format!(
                        "`#[{macro_name}]` cannot tell which generic is the context: declare one, as in `impl<Context> Foo`, and take it as `start(self, ctx: Context)`"
                    ),
                ));
            };
            if mode == Mode::ImplementSubsystem {
                if start.is_none() {
                    return Err(syn::Error::new(
                        implementation.self_ty.span(),
                        "`#[subsystem]` expects an `impl` block with `fn start(self, ctx: Context) -> SpawnedSubsystem<E>`",
                    ));
                }
                let Some(error) = args.error.clone() else {
                    return Err(syn::Error::new(
                        args.subsystem.span(),
                        format!(
                            "`#[subsystem({}, ..)]` needs `error = ..`: the overseer's error type",
                            args.subsystem
                        ),
                    ));
                };
                implementation.trait_ = Some((
                    parse_quote!(::overseer::Subsystem<#context, #error>),
                    Default::default(),
                ));
            }
            implementation
                .generics
                .make_where_clause()
                .predicates
                .extend(bounds(&context, &args));
        }
        Item::Fn(function) => {
            if mode == Mode::ImplementSubsystem {
                return Err(syn::Error::new(
                    function.sig.ident.span(),
                    "`#[subsystem]` goes on the `impl` block of a subsystem; to only add the context bounds to a function, use `#[contextbounds(..)]`",
                ));
            }
            let argument_type = context_argument_type(&function.sig.inputs);
            let Some(context) = context_param(&function.sig.generics, argument_type) else {
                return Err(syn::Error::new(
                    function.sig.ident.span(),
                    "`#[contextbounds]` cannot tell which generic is the context",
                ));
            };
            function
                .sig
                .generics
                .make_where_clause()
                .predicates
                .extend(bounds(&context, &args));
        }
        other => {
            return Err(syn::Error::new(
                other.span(),
                format!("`#[{macro_name}]` goes on an `impl` block or a function"),
            ))
        }
    }
    Ok(quote!(#item).into_token_stream())
}
