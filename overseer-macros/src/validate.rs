//! Checks on the model. Each mistake is one error at the token that causes it, saying where
//! the fix belongs; the expander only ever sees a valid model.

use std::collections::HashMap;

use syn::spanned::Spanned;
use syn::GenericParam;

use crate::model::{Message, Overlord, SendLane};
use crate::parse::Errors;

const RESERVED_FIELDS: &[&str] = &["spawner", "running_subsystems", "core"];

pub(crate) fn overlord(model: &Overlord) -> syn::Result<()> {
    let mut errors = Errors::default();
    generics(model, &mut errors);
    fields(model, &mut errors);
    messages(model, &mut errors);
    errors.finish()
}

fn generics(model: &Overlord, errors: &mut Errors) {
    for param in &model.generics.params {
        match param {
            GenericParam::Type(ty) if ty.ident == "S" => errors.push_spanned(
                &ty.ident,
                "the generic `S` is reserved for the spawner, which the generated overseer takes as its first generic; rename this one",
            ),
            GenericParam::Type(_) => {}
            GenericParam::Lifetime(lifetime) => errors.push_spanned(
                lifetime,
                "an overseer cannot borrow: its subsystems run as `'static` tasks; make baggage fields owned (or `Arc`) instead",
            ),
            GenericParam::Const(constant) => {
                errors.push_spanned(constant, "const generics are not supported on an `#[overlord]` struct; use a type or a baggage field")
            }
        }
    }
}

fn fields(model: &Overlord, errors: &mut Errors) {
    let names = model
        .subsystems
        .iter()
        .map(|subsystem| &subsystem.name)
        .chain(model.baggage.iter().map(|baggage| &baggage.name));
    for name in names {
        if RESERVED_FIELDS.iter().any(|reserved| name == reserved) {
            errors.push_spanned(
                name,
                format!(
                    "the field name `{name}` is taken by the generated overseer; rename the field"
                ),
            );
        }
    }
    for baggage in &model.baggage {
        if let Some(cfg) = baggage
            .attrs
            .iter()
            .find(|attr| attr.path().is_ident("cfg"))
        {
            errors.push_spanned(cfg, "`#[cfg]` is supported on subsystem fields only; gate the baggage's type instead, or make it an `Option`");
        }
    }
    let mut by_type: HashMap<String, &syn::Ident> = HashMap::new();
    for subsystem in &model.subsystems {
        if let Some(first) = by_type.insert(subsystem.generic.to_string(), &subsystem.generic) {
            let mut error = syn::Error::new(
                subsystem.generic.span(),
                format!(
                    "subsystem type `{}` is used twice; each subsystem needs its own type, because the type names its context, sender trait and outgoing enum",
                    subsystem.generic
                ),
            );
            error.combine(syn::Error::new(
                first.span(),
                format!("`{first}` first used here"),
            ));
            errors.push(error);
        }
        if subsystem.consumes.is_none() && subsystem.sends.is_empty() {
            errors.push(syn::Error::new(
                subsystem.span,
                format!(
                    "subsystem `{}` neither consumes nor sends anything; give it `consumes: Message` and/or `sends: [..]`, or make `{}` a plain baggage field",
                    subsystem.name, subsystem.name
                ),
            ));
        }
        let mut sent: HashMap<String, &Message> = HashMap::new();
        for message in &subsystem.sends {
            if let Some(first) = sent.insert(message.key(), message) {
                let mut error = syn::Error::new_spanned(
                    &message.path,
                    format!("`{}` is listed twice in `sends`", message.key()),
                );
                error.combine(syn::Error::new_spanned(&first.path, "first listed here"));
                errors.push(error);
            }
        }
    }
}

fn messages(model: &Overlord, errors: &mut Errors) {
    // Message identity is the last path segment, so `a::Foo` and `Foo` are the same message,
    // and two different `Foo`s would collide in the generated enums.
    let mut consumed: HashMap<String, (&Message, &syn::Ident)> = HashMap::new();
    let mut spellings: HashMap<String, &Message> = HashMap::new();
    let all_messages = model
        .subsystems
        .iter()
        .flat_map(|subsystem| subsystem.consumes.iter().chain(subsystem.sends.iter()));
    for message in all_messages {
        let message_path = &message.path;
        let spelled = quote::ToTokens::to_token_stream(message_path)
            .to_string()
            .replace(' ', "");
        if let Some(other) = spellings.get(&message.key()) {
            let other_spelled = quote::ToTokens::to_token_stream(&other.path)
                .to_string()
                .replace(' ', "");
            let one_is_suffix =
                spelled.ends_with(&other_spelled) || other_spelled.ends_with(&spelled);
            if !one_is_suffix {
                errors.push_spanned(
                    message_path,
                    format!(
                        "`{spelled}` and `{other_spelled}` end in the same name `{}`; messages are told apart by their last path segment, which names their variant in the message enums. Rename one of them",
                        message.key()
                    ),
                );
            }
        } else {
            spellings.insert(message.key(), message);
        }
    }
    for subsystem in &model.subsystems {
        if let Some(message) = &subsystem.consumes {
            if let Some((first, first_consumer)) =
                consumed.insert(message.key(), (message, &subsystem.name))
            {
                let mut error = syn::Error::new_spanned(
                    &message.path,
                    format!(
                        "message `{}` is consumed by both `{}` and `{}`; every message type has exactly one consumer. Wrap it in a new type for one of them",
                        message.key(),
                        first_consumer,
                        subsystem.name
                    ),
                );
                error.combine(syn::Error::new_spanned(
                    &first.path,
                    format!("first consumed by `{first_consumer}` here"),
                ));
                errors.push(error);
            }
        }
    }
    let sent_keys: Vec<String> = model
        .subsystems
        .iter()
        .flat_map(|subsystem| subsystem.sends.iter().map(Message::key))
        .collect();
    for subsystem in &model.subsystems {
        for message in &subsystem.sends {
            match model.consumer_of(&message.key()) {
                None => errors.push_spanned(
                    &message.path,
                    format!(
                        "message `{}` is sent by `{}` but no subsystem consumes it; add `consumes: {}` to the subsystem that should receive it",
                        message.key(),
                        subsystem.name,
                        message.key()
                    ),
                ),
                Some(consumer) if message.lane == SendLane::Priority && !consumer.priority => errors.push(syn::Error::new(
                    message.path.span(),
                    format!(
                        "`{}` sends `{}` with priority, but its consumer `{}` has no priority lane; add `can_receive_priority_messages` to `{}`'s `#[subsystem(..)]`",
                        subsystem.name,
                        message.key(),
                        consumer.name,
                        consumer.name
                    ),
                )),
                Some(_) => {}
            }
        }
        if let Some(message) = &subsystem.consumes {
            if !sent_keys.contains(&message.key()) {
                errors.push_spanned(
                    &message.path,
                    format!(
                        "message `{}` is consumed by `{}` but no subsystem sends it; add it to the `sends: [..]` of the subsystem that produces it",
                        message.key(),
                        subsystem.name
                    ),
                );
            }
        }
    }
}
