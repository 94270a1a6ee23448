//! The type-level description (`<Name>Spec`), the handle, context and sender aliases, and the
//! per-subsystem `<Sub>ContextTrait` / `<Sub>SenderTrait`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Overlord, SendLane};

pub(crate) fn expand(model: &Overlord) -> TokenStream {
    let vis = &model.vis;
    let name_str = model.name.to_string();
    let spec = model.ident("Spec");
    let handle = model.ident("Handle");
    let context = model.ident("SubsystemContext");
    let sender = model.ident("Sender");
    let channels = model.ident("ChannelsOut");
    let all_messages = &model.args.message_enum;
    let signal = &model.args.signal;
    let event = &model.args.event;
    let error = model.error_type();

    let associations = model.subsystems.iter().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let consumed = subsystem.consumed_path();
        let outgoing = subsystem.outgoing();
        quote! {
            #(#cfg)*
            impl AssociateOutgoing for #consumed {
                type OutgoingMessages = #outgoing;
            }
        }
    });

    let traits = model.subsystems.iter().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let consumed = subsystem.consumed_path();
        let outgoing = subsystem.outgoing();
        let context_trait = subsystem.context_trait();
        let sender_trait = subsystem.sender_trait();
        let sends = subsystem.sends.iter().map(|message| {
            let path = &message.path;
            let gate = model.consumer_of(&message.key()).map_or(&[][..], |consumer| consumer.cfg.as_slice());
            // A message whose consumer is compiled out is simply not sendable.
            if gate.is_empty() {
                quote!(+ ::overseer::SubsystemSender<#path>)
            } else {
                quote!()
            }
        });
        let sends_again = sends.clone();
        let context_doc = format!("What a context of `{}` provides; bound your generic context with it.", subsystem.name);
        let sender_doc = format!("What the sender of `{}` can send.", subsystem.name);
        quote! {
            #(#cfg)*
            #[doc = #sender_doc]
            #vis trait #sender_trait: ::overseer::SubsystemSender<#outgoing> #(#sends)* {}
            #(#cfg)*
            impl<T> #sender_trait for T where T: ::overseer::SubsystemSender<#outgoing> #(#sends_again)* {}

            #(#cfg)*
            #[doc = #context_doc]
            #vis trait #context_trait:
                ::overseer::SubsystemContext<
                    Message = #consumed,
                    Signal = #signal,
                    OutgoingMessages = #outgoing,
                    Error = #error,
                    Sender: #sender_trait,
                >
            {}
            #(#cfg)*
            impl<T> #context_trait for T where
                T: ::overseer::SubsystemContext<
                    Message = #consumed,
                    Signal = #signal,
                    OutgoingMessages = #outgoing,
                    Error = #error,
                    Sender: #sender_trait,
                >
            {}
        }
    });

    let topology = topology(model);
    let spec_doc =
        format!("The types of the `{name_str}` overseer, for the runtime's generic parts.");
    let handle_doc = format!(
        "A handle to a running `{name_str}`: external events, messages, signals and shutdown."
    );
    let context_doc = format!("The context a `{name_str}` subsystem consuming `M` receives.");
    let sender_doc = format!("The sender of a `{name_str}` subsystem whose outgoing enum is `O`.");
    quote! {
        #[doc = #spec_doc]
        #[derive(Debug)]
        #vis enum #spec {}

        impl ::overseer::OverseerSpec for #spec {
            type Signal = #signal;
            type Event = #event;
            type AllMessages = #all_messages;
            type Error = #error;
            type Channels = #channels;
            const NAME: &'static str = #name_str;

            fn topology() -> ::overseer::topology::Topology {
                #topology
            }
        }

        impl #spec {
            /// A context for the subsystem consuming `M`, and the handle that plays the rest of
            /// the overseer in a test: see `overseer::testing`.
            pub fn harness<M>(spawner: impl ::overseer::Spawner + 'static) -> (#context<M>, ::overseer::testing::TestHandle<M, #spec>)
            where
                M: AssociateOutgoing + ::overseer::Consumed<#channels>,
            {
                ::overseer::testing::harness::<M, <M as AssociateOutgoing>::OutgoingMessages, #spec, _>(spawner)
            }
        }

        #[doc = #handle_doc]
        #vis type #handle = ::overseer::Handle<#spec>;

        #[doc = #context_doc]
        #vis type #context<M> = ::overseer::OverseerContext<M, <M as AssociateOutgoing>::OutgoingMessages, #spec>;

        #[doc = #sender_doc]
        #vis type #sender<O> = ::overseer::OverseerSender<#spec, O>;

        /// Ties each consumed message type to the outgoing enum of its consumer.
        #vis trait AssociateOutgoing: ::core::fmt::Debug + ::core::marker::Send + 'static {
            /// The outgoing enum of the subsystem that consumes `Self`.
            type OutgoingMessages: ::core::fmt::Debug + ::core::marker::Send + 'static;
        }
        #(#associations)*
        #(#traits)*
    }
}

/// The static graph, built at run time from what the macro saw.
fn topology(model: &Overlord) -> TokenStream {
    let name = model.name.to_string();
    let nodes = model.subsystems.iter().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let field = subsystem.name.to_string();
        let consumes = subsystem.consumes.as_ref().map_or_else(|| subsystem.dummy_message().to_string(), |message| message.key());
        let capacity = match &subsystem.message_capacity {
            Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(literal), .. })) => match literal.base10_parse::<usize>() {
                Ok(value) => quote!(::core::option::Option::Some(#value)),
                Err(_) => quote!(::core::option::Option::None),
            },
            _ => quote!(::core::option::Option::None),
        };
        let (priority, wip, blocking) = (subsystem.priority, subsystem.wip, subsystem.blocking);
        quote! {
            #(#cfg)*
            nodes.push(::overseer::topology::Node {
                name: #field, consumes: #consumes, message_capacity: #capacity, priority: #priority, wip: #wip, blocking: #blocking,
            });
        }
    });
    let edges = model.subsystems.iter().flat_map(|subsystem| {
        subsystem.sends.iter().filter_map(move |message| {
            let consumer = model.consumer_of(&message.key())?;
            let (from, to, key) = (subsystem.name.to_string(), consumer.name.to_string(), message.key());
            let kind = match message.lane {
                SendLane::Bounded => quote!(Bounded),
                SendLane::Priority => quote!(Priority),
                SendLane::Unbounded => quote!(Unbounded),
            };
            let (from_cfg, to_cfg) = (&subsystem.cfg, &consumer.cfg);
            Some(quote! {
                #(#from_cfg)* #(#to_cfg)*
                edges.push(::overseer::topology::Edge { from: #from, to: #to, message: #key, kind: ::overseer::topology::EdgeKind::#kind });
            })
        })
    });
    quote! {
        let mut nodes = ::std::vec::Vec::new();
        #(#nodes)*
        let mut edges = ::std::vec::Vec::new();
        #(#edges)*
        ::overseer::topology::Topology { name: #name, nodes, edges }
    }
}
