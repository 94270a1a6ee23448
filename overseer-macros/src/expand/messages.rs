//! The message enums (`AllMessages` and one outgoing enum per subsystem), the generated empty
//! messages, the channels and how each message type is routed to its queue.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Attribute;

use crate::model::{Message, Overlord, SubsystemField};

/// `#[cfg]`s that gate a message: those of its consumer.
fn cfg_of<'a>(model: &'a Overlord, message: &Message) -> &'a [Attribute] {
    model
        .consumer_of(&message.key())
        .map_or(&[], |consumer| consumer.cfg.as_slice())
}

/// The messages every subsystem consumes, with the generated empty ones, each once.
fn consumed(model: &Overlord) -> Vec<(&SubsystemField, syn::Path, syn::Ident)> {
    model
        .subsystems
        .iter()
        .map(|subsystem| {
            let path = subsystem.consumed_path();
            let variant = subsystem
                .consumes
                .as_ref()
                .map_or_else(|| subsystem.dummy_message(), Message::variant);
            (subsystem, path, variant)
        })
        .collect()
}

pub(crate) fn expand(model: &Overlord) -> TokenStream {
    let vis = &model.vis;
    let all_messages = &model.args.message_enum;
    let channels = model.ident("ChannelsOut");
    let consumed = consumed(model);

    let dummies = model
        .subsystems
        .iter()
        .filter(|subsystem| subsystem.consumes.is_none())
        .map(|subsystem| {
            let cfg = &subsystem.cfg;
            let dummy = subsystem.dummy_message();
            let doc = format!(
                "The empty message type of `{}`, which consumes nothing.",
                subsystem.name
            );
            quote! {
                #(#cfg)*
                #[doc = #doc]
                #[derive(Debug)]
                pub enum #dummy {}
            }
        });

    let all_variants = consumed.iter().map(|(subsystem, path, variant)| {
        let cfg = &subsystem.cfg;
        quote!(#(#cfg)* #[allow(missing_docs)] #variant(#path))
    });
    let all_conversions = consumed.iter().map(|(subsystem, path, variant)| {
        let cfg = &subsystem.cfg;
        quote! {
            #(#cfg)*
            impl ::core::convert::From<#path> for #all_messages {
                fn from(message: #path) -> Self { #all_messages::#variant(message) }
            }
            #(#cfg)*
            impl ::core::convert::TryFrom<#all_messages> for #path {
                type Error = #all_messages;
                fn try_from(message: #all_messages) -> ::core::result::Result<Self, #all_messages> {
                    #[allow(unreachable_patterns)]
                    match message {
                        #all_messages::#variant(inner) => ::core::result::Result::Ok(inner),
                        other => ::core::result::Result::Err(other),
                    }
                }
            }
        }
    });
    let all_route = route_impl(
        all_messages,
        &channels,
        consumed
            .iter()
            .map(|(subsystem, _, variant)| (subsystem.cfg.as_slice(), variant.clone()))
            .collect(),
    );

    let outgoing = model
        .subsystems
        .iter()
        .map(|subsystem| outgoing_enum(model, subsystem, &channels));

    let payload = |path: &syn::Path| {
        if model.args.boxed_messages {
            quote!(::std::boxed::Box<#path>)
        } else {
            quote!(#path)
        }
    };
    let channel_fields = consumed
        .iter()
        .filter(|(subsystem, ..)| !subsystem.wip)
        .map(|(subsystem, path, _)| {
            let cfg = &subsystem.cfg;
            let name = &subsystem.name;
            let payload = payload(path);
            let doc = format!("The queue of `{name}`.");
            quote!(#(#cfg)* #[doc = #doc] pub #name: ::overseer::MessageSender<#payload>)
        });
    let (wrap, unwrap) = if model.args.boxed_messages {
        (quote!(::std::boxed::Box::new(self)), quote!(*payload))
    } else {
        (quote!(self), quote!(payload))
    };
    let consumed_impls = consumed.iter().map(|(subsystem, path, _)| {
        let cfg = &subsystem.cfg;
        let name = &subsystem.name;
        let payload = payload(path);
        let consumable = quote! {
            #(#cfg)*
            impl ::overseer::Consumable<#channels> for #path {
                type Payload = #payload;
                fn into_payload(self) -> #payload { #wrap }
                fn from_payload(payload: #payload) -> Self { #unwrap }
            }
        };
        if subsystem.wip {
            // A `wip` subsystem has no queue yet: what is sent to it is dropped, loudly.
            return quote! {
                #consumable
                #(#cfg)*
                impl ::overseer::Route<#channels> for #path {
                    fn route(self, _: &#channels, _: usize, _: ::overseer::PriorityLevel)
                        -> impl ::core::future::Future<Output = ::core::result::Result<(), ::overseer::OverseerError>> + ::core::marker::Send {
                        ::overseer::__private::tracing::warn!(subsystem = stringify!(#name), "message dropped: the subsystem is `wip`");
                        ::core::future::ready(::core::result::Result::Ok(()))
                    }
                    fn try_route(self, _: &#channels, _: usize, _: ::overseer::PriorityLevel) -> ::core::result::Result<(), ::overseer::TrySendError<Self>> {
                        ::overseer::__private::tracing::warn!(subsystem = stringify!(#name), "message dropped: the subsystem is `wip`");
                        ::core::result::Result::Ok(())
                    }
                    fn route_unbounded(self, _: &#channels, _: usize) -> ::core::result::Result<(), ::overseer::OverseerError> {
                        ::overseer::__private::tracing::warn!(subsystem = stringify!(#name), "message dropped: the subsystem is `wip`");
                        ::core::result::Result::Ok(())
                    }
                }
            };
        }
        quote! {
            #consumable
            #(#cfg)*
            impl ::overseer::Consumed<#channels> for #path {
                fn queue(channels: &#channels) -> &::overseer::MessageSender<#payload> { &channels.#name }
            }
        }
    });

    let test_queues = consumed.iter().filter(|(subsystem, ..)| !subsystem.wip).map(|(subsystem, path, _)| {
        let cfg = &subsystem.cfg;
        let name = &subsystem.name;
        let payload = payload(path);
        let (tx, rx) = (quote::format_ident!("__tx_{}", name), quote::format_ident!("__rx_{}", name));
        let convert = if model.args.boxed_messages { quote!(|payload: #payload| #all_messages::from(*payload)) } else { quote!(|payload: #payload| #all_messages::from(payload)) };
        quote! {
            #(#cfg)*
            let (#tx, #rx) = ::overseer::message_queue::<#payload>(stringify!(#name), config, ::core::option::Option::None);
            #(#cfg)*
            queues.push(::overseer::testing::TestQueue::new(stringify!(#name), #rx, #convert));
        }
    });
    let test_fields = consumed
        .iter()
        .filter(|(subsystem, ..)| !subsystem.wip)
        .map(|(subsystem, ..)| {
            let cfg = &subsystem.cfg;
            let name = &subsystem.name;
            let tx = quote::format_ident!("__tx_{}", name);
            quote!(#(#cfg)* #name: #tx)
        });
    let enum_doc = format!(
        "Every message of `{}`, one variant per consumed message type.",
        model.name
    );
    let channels_doc = format!("The sending half of every queue of `{}`.", model.name);
    quote! {
        /// The generated empty message types of subsystems that consume nothing.
        #vis mod messages {
            #[allow(unused_imports)]
            use super::*;
            #(#dummies)*
        }

        #[doc = #enum_doc]
        #[derive(Debug)]
        #[allow(clippy::enum_variant_names)]
        #vis enum #all_messages {
            #(#all_variants,)*
        }
        #(#all_conversions)*
        #all_route

        #(#outgoing)*

        #[doc = #channels_doc]
        #[derive(Debug)]
        #vis struct #channels {
            #(#channel_fields,)*
        }
        #(#consumed_impls)*

        impl ::overseer::testing::TestChannels for #channels {
            type AllMessages = #all_messages;
            fn for_test(config: ::overseer::QueueConfig) -> (Self, ::std::vec::Vec<::overseer::testing::TestQueue<#all_messages>>) {
                let mut queues = ::std::vec::Vec::new();
                #(#test_queues)*
                (Self { #(#test_fields,)* }, queues)
            }
        }
    }
}

fn outgoing_enum(
    model: &Overlord,
    subsystem: &SubsystemField,
    channels: &syn::Ident,
) -> TokenStream {
    let vis = &model.vis;
    let all_messages = &model.args.message_enum;
    let outgoing = subsystem.outgoing();
    let cfg = &subsystem.cfg;
    let variants = subsystem.sends.iter().map(|message| {
        let gate = cfg_of(model, message);
        let variant = message.variant();
        let path = &message.path;
        quote!(#(#gate)* #[allow(missing_docs)] #variant(#path))
    });
    let conversions = subsystem.sends.iter().map(|message| {
        let gate = cfg_of(model, message);
        let variant = message.variant();
        let path = &message.path;
        quote! {
            #(#cfg)* #(#gate)*
            impl ::core::convert::From<#path> for #outgoing {
                fn from(message: #path) -> Self { #outgoing::#variant(message) }
            }
        }
    });
    let into_all = subsystem.sends.iter().map(|message| {
        let gate = cfg_of(model, message);
        let variant = message.variant();
        quote!(#(#gate)* #outgoing::#variant(inner) => #all_messages::#variant(inner))
    });
    let route = route_impl(
        &outgoing,
        channels,
        subsystem
            .sends
            .iter()
            .map(|message| (cfg_of(model, message), message.variant()))
            .collect(),
    );
    let doc = format!(
        "What `{}` may send: exactly its `sends: [..]`.",
        subsystem.name
    );
    quote! {
        #(#cfg)*
        #[doc = #doc]
        #[derive(Debug)]
        #[allow(clippy::enum_variant_names)]
        #vis enum #outgoing {
            #(#variants,)*
        }
        #(#conversions)*
        #(#cfg)*
        impl ::core::convert::From<#outgoing> for #all_messages {
            fn from(message: #outgoing) -> Self {
                match message {
                    #(#into_all,)*
                }
            }
        }
        #(#cfg)*
        #route
    }
}

/// `Route` for an enum whose variants each hold one consumed message.
fn route_impl(
    enum_name: &syn::Ident,
    channels: &syn::Ident,
    variants: Vec<(&[Attribute], syn::Ident)>,
) -> TokenStream {
    let arms = |call: TokenStream, wrap_error: bool| {
        let arms = variants.iter().map(|(cfg, variant)| {
            let body = if wrap_error {
                quote!(::overseer::Route::#call.map_err(|error| error.map(#enum_name::#variant)))
            } else {
                quote!(::overseer::Route::#call)
            };
            quote!(#(#cfg)* #enum_name::#variant(message) => #body)
        });
        quote!(#(#arms,)*)
    };
    let route_arms = {
        let arms = variants.iter().map(|(cfg, variant)| {
            quote!(#(#cfg)* #enum_name::#variant(message) => ::overseer::Route::route(message, channels, watermark, level).await)
        });
        quote!(#(#arms,)*)
    };
    let try_arms = arms(quote!(try_route(message, channels, watermark, level)), true);
    let unbounded_arms = arms(quote!(route_unbounded(message, channels, watermark)), false);
    quote! {
        #[allow(unused_variables)]
        impl ::overseer::Route<#channels> for #enum_name {
            fn route(self, channels: &#channels, watermark: usize, level: ::overseer::PriorityLevel)
                -> impl ::core::future::Future<Output = ::core::result::Result<(), ::overseer::OverseerError>> + ::core::marker::Send {
                async move {
                    match self {
                        #route_arms
                    }
                }
            }
            fn try_route(self, channels: &#channels, watermark: usize, level: ::overseer::PriorityLevel)
                -> ::core::result::Result<(), ::overseer::TrySendError<Self>> {
                match self {
                    #try_arms
                }
            }
            fn route_unbounded(self, channels: &#channels, watermark: usize) -> ::core::result::Result<(), ::overseer::OverseerError> {
                match self {
                    #unbounded_arms
                }
            }
        }
    }
}
