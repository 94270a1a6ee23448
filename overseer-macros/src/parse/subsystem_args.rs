//! `#[subsystem(consumes: M, sends: [A, priority B, unbounded C], blocking, wip, message_capacity: N,
//! signal_capacity: N, can_receive_priority_messages)]` on fields, and
//! `#[subsystem(Name, error = E, prefix = path)]` / `#[contextbounds(Name, prefix = path)]` on impls.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{bracketed, Attribute, Expr, Field, Ident, Path, Token, Type};

use super::Errors;
use crate::model::{last_ident, Message, SendLane, SubsystemField};

const FIELD_KEYS: &str =
    "consumes: M, sends: [..], blocking, wip, message_capacity: N, signal_capacity: N, can_receive_priority_messages, \
     restart: never|on_failure|always, intensity: N, period_ms: N, stall_ms: N";

enum Item {
    Key { key: Ident, value: KeyValue },
    Flag(Ident),
    Bare(Path),
}

enum KeyValue {
    Path(Path),
    List(Vec<Message>),
    Expr(Expr),
}

fn is_flag(ident: &Ident) -> bool {
    ident == "blocking" || ident == "wip" || ident == "can_receive_priority_messages"
}

fn parse_message(input: ParseStream<'_>) -> syn::Result<Message> {
    // `priority Foo` / `unbounded Foo` mark the lane; a path that merely starts with a module
    // of that name (`priority::Foo`) is left alone.
    let lane = match input.fork().parse::<Ident>() {
        Ok(ident) if ident == "priority" => SendLane::Priority,
        Ok(ident) if ident == "unbounded" => SendLane::Unbounded,
        _ => SendLane::Bounded,
    };
    let keyword = lane != SendLane::Bounded
        && (input.peek2(Ident)
            || input.peek2(Token![crate])
            || input.peek2(Token![self])
            || input.peek2(Token![super]));
    if keyword {
        let _: Ident = input.parse()?;
    }
    Ok(Message {
        path: input.parse()?,
        lane: if keyword { lane } else { SendLane::Bounded },
    })
}

impl Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let key: Ident = input.parse()?;
            let _: Token![:] = input.parse()?;
            let value = match key.to_string().as_str() {
                "sends" => {
                    let content;
                    bracketed!(content in input);
                    let list = content.parse_terminated(parse_message, Token![,])?;
                    KeyValue::List(list.into_iter().collect())
                }
                "consumes" => KeyValue::Path(input.parse()?),
                _ => KeyValue::Expr(input.parse()?),
            };
            return Ok(Item::Key { key, value });
        }
        if input.peek(Ident)
            && (input.peek2(Token![,])
                || input
                    .cursor()
                    .token_tree()
                    .is_some_and(|(_, rest)| rest.eof()))
        {
            let ident: Ident = input.fork().parse()?;
            if is_flag(&ident) {
                input.parse::<Ident>()?;
                return Ok(Item::Flag(ident));
            }
        }
        Ok(Item::Bare(input.parse()?))
    }
}

pub(super) fn parse_field(
    attr: &Attribute,
    field: &Field,
    name: Ident,
    attrs: Vec<Attribute>,
    errors: &mut Errors,
) -> Option<SubsystemField> {
    let items = match attr
        .parse_args_with(syn::punctuated::Punctuated::<Item, Token![,]>::parse_terminated)
    {
        Ok(items) => items,
        Err(error) => {
            errors.push(error);
            return None;
        }
    };
    let generic = match &field.ty {
        Type::Path(path) if path.qself.is_none() => last_ident(&path.path).cloned(),
        _ => None,
    };
    let Some(generic) = generic else {
        errors.push_spanned(&field.ty, "a subsystem field's type must be a plain name such as `Foo`: it names the generated `FooContextTrait`, `FooSenderTrait` and `FooOutgoingMessages`");
        return None;
    };
    let cfg = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .cloned()
        .collect();
    let mut subsystem = SubsystemField {
        name,
        generic,
        attrs,
        cfg,
        consumes: None,
        sends: Vec::new(),
        blocking: false,
        wip: false,
        priority: false,
        message_capacity: None,
        signal_capacity: None,
        restart: None,
        intensity: None,
        period_ms: None,
        stall_ms: None,
        // The parentheses of `#[subsystem(..)]`: errors about the arguments as a whole point
        // inside them, where the fix goes.
        span: match &attr.meta {
            syn::Meta::List(list) => list.delimiter.span().join(),
            other => other.span(),
        },
    };
    let mut seen: Vec<(String, Span)> = Vec::new();
    let mut note = |key: String, span: Span, errors: &mut Errors| -> bool {
        if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == key) {
            let mut duplicate =
                syn::Error::new(span, format!("duplicate `{key}` in `#[subsystem(..)]`"));
            duplicate.combine(syn::Error::new(*first, format!("`{key}` first given here")));
            errors.push(duplicate);
            return false;
        }
        seen.push((key, span));
        true
    };
    for item in items {
        match item {
            Item::Bare(path) => {
                if note("consumes".into(), path.span(), errors) {
                    subsystem.consumes = Some(Message {
                        path,
                        lane: SendLane::Bounded,
                    });
                }
            }
            Item::Flag(flag) => {
                if note(flag.to_string(), flag.span(), errors) {
                    match flag.to_string().as_str() {
                        "blocking" => subsystem.blocking = true,
                        "wip" => subsystem.wip = true,
                        _ => subsystem.priority = true,
                    }
                }
            }
            Item::Key { key, value } => {
                let name = key.to_string();
                if !note(name.clone(), key.span(), errors) {
                    continue;
                }
                match (name.as_str(), value) {
                    ("consumes", KeyValue::Path(path)) => {
                        subsystem.consumes = Some(Message {
                            path,
                            lane: SendLane::Bounded,
                        })
                    }
                    ("sends", KeyValue::List(list)) => subsystem.sends = list,
                    ("message_capacity", KeyValue::Expr(expr)) => {
                        subsystem.message_capacity = Some(expr)
                    }
                    ("signal_capacity", KeyValue::Expr(expr)) => {
                        subsystem.signal_capacity = Some(expr)
                    }
                    ("restart", KeyValue::Expr(expr)) => match &expr {
                        Expr::Path(path)
                            if path.path.get_ident().is_some_and(|ident| {
                                ident == "never" || ident == "on_failure" || ident == "always"
                            }) =>
                        {
                            subsystem.restart = path.path.get_ident().cloned();
                        }
                        _ => errors.push_spanned(
                            &expr,
                            "`restart` is one of `never`, `on_failure` or `always`",
                        ),
                    },
                    ("intensity", KeyValue::Expr(expr)) => subsystem.intensity = Some(expr),
                    ("period_ms", KeyValue::Expr(expr)) => subsystem.period_ms = Some(expr),
                    ("stall_ms", KeyValue::Expr(expr)) => subsystem.stall_ms = Some(expr),
                    _ => errors.push(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown `#[subsystem]` key `{name}`; expected one of: {FIELD_KEYS}"
                        ),
                    )),
                }
            }
        }
    }
    Some(subsystem)
}

/// Arguments of `#[subsystem(Name, error = E, prefix = path)]` and `#[contextbounds(Name, prefix = path)]`.
pub(crate) struct ImplArgs {
    pub(crate) subsystem: Ident,
    pub(crate) error: Option<Path>,
    pub(crate) prefix: Option<Path>,
}

impl ImplArgs {
    pub(crate) fn parse(attr: TokenStream, macro_name: &str) -> syn::Result<Self> {
        let parser = |input: ParseStream<'_>| -> syn::Result<Self> {
            if input.is_empty() {
                return Err(syn::Error::new(
                    Span::call_site(),
                    format!("`#[{macro_name}(..)]` needs the subsystem's type name from the `#[overlord]` struct, e.g. `#[{macro_name}(Foo, ..)]`"),
                ));
            }
            let subsystem: Ident = input.parse()?;
            let mut args = Self {
                subsystem,
                error: None,
                prefix: None,
            };
            let mut errors = Errors::default();
            while !input.is_empty() {
                let _: Token![,] = input.parse()?;
                if input.is_empty() {
                    break;
                }
                let key: Ident = input.parse()?;
                let _: Token![=] = input.parse()?;
                let path: Path = input.parse()?;
                let slot = match key.to_string().as_str() {
                    "error" if macro_name == "subsystem" => &mut args.error,
                    "prefix" => &mut args.prefix,
                    other => {
                        let expected = if macro_name == "subsystem" {
                            "`error` or `prefix`"
                        } else {
                            "`prefix`"
                        };
                        errors.push(syn::Error::new(
                            key.span(),
                            format!(
                                "unknown `#[{macro_name}]` argument `{other}`; expected {expected}"
                            ),
                        ));
                        continue;
                    }
                };
                if slot.replace(path).is_some() {
                    errors.push(syn::Error::new(
                        key.span(),
                        format!("duplicate `{key}` in `#[{macro_name}(..)]`"),
                    ));
                }
            }
            errors.finish()?;
            Ok(args)
        };
        syn::parse::Parser::parse2(parser, attr)
    }
}
