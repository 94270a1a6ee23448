//! `#[overlord(signal = S, event = E, gen = AllMessages, error = Err, message_capacity = N,
//! signal_capacity = N, boxed_messages = bool)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitBool, Token, Type};

use super::Errors;
use crate::model::OverlordArgs;

const KEYS: &str = "signal, event, gen, error, message_capacity, signal_capacity, boxed_messages";

struct Arg {
    key: Ident,
    value: TokenStream,
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        let _: Token![=] = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                format!("expected `{key} = ..`: every `#[overlord]` argument is `key = value`"),
            )
        })?;
        let mut value = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            let tree: proc_macro2::TokenTree = input.parse()?;
            value.extend([tree]);
        }
        Ok(Self { key, value })
    }
}

fn value<T: syn::parse::Parse>(arg: &Arg, what: &str, errors: &mut Errors) -> Option<T> {
    match syn::parse2::<T>(arg.value.clone()) {
        Ok(value) => Some(value),
        Err(error) => {
            let span = if arg.value.is_empty() {
                arg.key.span()
            } else {
                error.span()
            };
            errors.push(syn::Error::new(
                span,
                format!("`{}` expects {what}", arg.key),
            ));
            None
        }
    }
}

pub(super) fn parse(attr: TokenStream, errors: &mut Errors) -> Option<OverlordArgs> {
    let args =
        match syn::parse::Parser::parse2(Punctuated::<Arg, Token![,]>::parse_terminated, attr) {
            Ok(args) => args,
            Err(error) => {
                errors.push(error);
                return None;
            }
        };
    let mut seen: Vec<Ident> = Vec::new();
    let (mut signal, mut event, mut message_enum, mut error) = (None, None, None, None);
    let (mut message_capacity, mut signal_capacity, mut boxed_messages) = (None, None, false);
    for arg in &args {
        let key = arg.key.to_string();
        if let Some(first) = seen.iter().find(|seen| **seen == arg.key) {
            let mut duplicate = syn::Error::new(
                arg.key.span(),
                format!("duplicate `{key}` in `#[overlord(..)]`"),
            );
            duplicate.combine(syn::Error::new(
                first.span(),
                format!("`{key}` first given here"),
            ));
            errors.push(duplicate);
            continue;
        }
        seen.push(arg.key.clone());
        match key.as_str() {
            "signal" => signal = value::<Type>(arg, "the signal type", errors),
            "event" => event = value::<Type>(arg, "the external event type", errors),
            "gen" => {
                message_enum = value::<Ident>(
                    arg,
                    "the name of the message enum to generate, e.g. `AllMessages`",
                    errors,
                )
            }
            "error" => error = value::<Type>(arg, "the overseer's error type", errors),
            "message_capacity" => {
                message_capacity =
                    value::<Expr>(arg, "the default capacity of message queues", errors)
            }
            "signal_capacity" => {
                signal_capacity =
                    value::<Expr>(arg, "the default capacity of signal queues", errors)
            }
            "boxed_messages" => {
                boxed_messages = value::<LitBool>(arg, "`true` or `false`", errors)
                    .is_some_and(|literal| literal.value)
            }
            _ => errors.push(syn::Error::new(
                arg.key.span(),
                format!("unknown `#[overlord]` argument `{key}`; expected one of: {KEYS}"),
            )),
        }
    }
    let mut require = |given: bool, key: &str, example: &str| {
        if !given && !seen.iter().any(|seen| seen == key) {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("`#[overlord]` needs `{key} = ..` ({example})"),
            ));
        }
    };
    require(
        signal.is_some(),
        "signal",
        "the signal type broadcast to every subsystem",
    );
    require(
        event.is_some(),
        "event",
        "the type of external events the handle accepts",
    );
    require(
        message_enum.is_some(),
        "gen",
        "the name of the generated message enum, e.g. `gen = AllMessages`",
    );
    Some(OverlordArgs {
        signal: signal?,
        event: event?,
        message_enum: message_enum?,
        error,
        message_capacity,
        signal_capacity,
        boxed_messages,
    })
}
