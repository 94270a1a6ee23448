//! The overseer struct and its methods: `builder()`, `run()`, signals, routing.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{parse_quote, GenericParam, Generics};

use crate::model::Overlord;

/// The user's generics with the spawner `S` in front.
pub(crate) fn generics_with_spawner(model: &Overlord) -> Generics {
    let mut generics = model.generics.clone();
    generics
        .params
        .insert(0, GenericParam::Type(parse_quote!(S)));
    generics
}

/// The names of the user's type parameters, in order.
pub(crate) fn type_params(model: &Overlord) -> Vec<syn::Ident> {
    model
        .generics
        .type_params()
        .map(|param| param.ident.clone())
        .collect()
}

pub(crate) fn expand(model: &Overlord) -> TokenStream {
    let vis = &model.vis;
    let name = &model.name;
    let spec = model.ident("Spec");
    let builder = model.ident("Builder");
    let signal = &model.args.signal;
    let error = model.error_type();
    let all_messages = &model.args.message_enum;
    let attrs = model
        .attrs
        .iter()
        .filter(|attr| !attr.path().is_ident("derive"));
    let generics = generics_with_spawner(model);
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let params = type_params(model);

    let subsystem_fields = model.running().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let field = &subsystem.name;
        let consumed = subsystem.consumed_path();
        let docs = subsystem
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc"));
        quote!(#(#cfg)* #(#docs)* pub #field: ::overseer::OverseenSubsystem<#consumed, #spec>)
    });
    let baggage_fields = model.baggage.iter().map(|baggage| {
        let (field, ty, field_vis, field_attrs) =
            (&baggage.name, &baggage.ty, &baggage.vis, &baggage.attrs);
        quote!(#(#field_attrs)* #field_vis #field: #ty)
    });
    let supervised = model.running().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let field = &subsystem.name;
        quote!(#(#cfg)* subsystems.push(&mut self.#field);)
    });
    let (initial_type, initial_value) = crate::expand::builder::initial_state(model);
    let message_capacity = model.args.message_capacity.as_ref().map_or(
        quote!(::overseer::DEFAULT_MESSAGE_CAPACITY),
        |capacity| quote!(#capacity),
    );
    let signal_capacity = model.args.signal_capacity.as_ref().map_or(
        quote!(::overseer::DEFAULT_SIGNAL_CAPACITY),
        |capacity| quote!(#capacity),
    );

    quote! {
        #(#attrs)*
        #vis struct #name #generics #where_clause {
            #(#subsystem_fields,)*
            #(#baggage_fields,)*
            spawner: S,
            /// Every started subsystem, as a future of how it ends. `run()` watches them.
            pub running_subsystems: ::overseer::FuturesUnordered<::overseer::RunningSubsystem>,
            core: ::overseer::Core<#spec>,
        }

        impl #impl_generics #name #type_generics #where_clause {
            /// A builder with every field unset; `build()` compiles once all are set.
            pub fn builder() -> #builder<#initial_type, S #(, #params)*> {
                #builder::__new(#initial_value, ::overseer::BuilderParts::new(#message_capacity, #signal_capacity))
            }

            #[allow(clippy::type_complexity)]
            fn __parts(&mut self) -> (
                ::std::vec::Vec<&mut dyn ::overseer::Supervised<#signal>>,
                &mut ::overseer::FuturesUnordered<::overseer::RunningSubsystem>,
                &mut ::overseer::Core<#spec>,
            ) {
                let mut subsystems: ::std::vec::Vec<&mut dyn ::overseer::Supervised<#signal>> = ::std::vec::Vec::new();
                #(#supervised)*
                (subsystems, &mut self.running_subsystems, &mut self.core)
            }

            /// Run until shutdown is requested through the handle (`Ok` with the report) or a
            /// subsystem ends on its own (`Err(OverseerError::SubsystemExited)` naming it).
            pub async fn run<__Signal>(mut self) -> ::core::result::Result<::overseer::ExitReport, ::overseer::OverseerError>
            where
                // Spelled through `Is` so a signal type without `ConcludeSignal` is an error at
                // the call of `run()`, not at the struct.
                #signal: ::overseer::Is<__Signal>,
                __Signal: ::overseer::ConcludeSignal + ::overseer::Is<#signal>,
            {
                let (subsystems, running, core) = self.__parts();
                let conclude = || ::overseer::Is::<#signal>::into_same(<__Signal as ::overseer::ConcludeSignal>::conclude());
                ::overseer::run_loop::run::<#spec>(subsystems, running, core, conclude).await
            }

            /// Send `signal` to every subsystem at once.
            pub async fn broadcast_signal(&mut self, signal: #signal) -> ::core::result::Result<(), #error> {
                let (mut subsystems, _, _) = self.__parts();
                ::overseer::run_loop::broadcast_signal(&mut subsystems, signal).await;
                ::core::result::Result::Ok(())
            }

            /// Send `signal` to every subsystem and wait until all have ended or `timeout`
            /// passed; stragglers are aborted at the deadline.
            pub async fn wait_terminate(&mut self, signal: #signal, timeout: ::std::time::Duration) -> ::core::result::Result<(), #error> {
                let (mut subsystems, running, _) = self.__parts();
                ::overseer::run_loop::shutdown(&mut subsystems, running, signal, timeout, ::std::vec::Vec::new()).await;
                ::core::result::Result::Ok(())
            }

            /// Route a message to its consumer, as if sent by a subsystem that saw every signal.
            pub async fn route_message(&mut self, message: #all_messages, origin: &'static str) -> ::core::result::Result<(), #error> {
                let (subsystems, _, core) = self.__parts();
                let watermark = subsystems.iter().map(|subsystem| subsystem.signals_sent()).max().unwrap_or(0);
                ::overseer::__private::tracing::trace!(origin, "overseer routes a message");
                ::overseer::Route::route(message, core.channels(), watermark, ::overseer::PriorityLevel::Normal).await?;
                ::core::result::Result::Ok(())
            }

            /// The static graph: subsystems, consumed messages and `sends:` edges.
            pub fn topology(&self) -> ::overseer::topology::Topology {
                <#spec as ::overseer::OverseerSpec>::topology()
            }

            /// The spawner.
            pub fn spawner(&mut self) -> &mut S {
                &mut self.spawner
            }
        }
    }
}
