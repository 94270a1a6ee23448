//! The typestate builder. Its fields live in one nested tuple; each setter replaces one
//! position through `overseer::Replace`, so each field costs a constant amount of code.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Attribute, Ident, Type};

use crate::expand::overseer::type_params;
use crate::model::{BaggageField, Overlord, SubsystemField};

/// One position of the builder's tuple.
enum Slot<'a> {
    Subsystem(&'a SubsystemField),
    Baggage(&'a BaggageField),
    Spawner,
}

impl Slot<'_> {
    fn marker(&self) -> Ident {
        match self {
            Slot::Subsystem(subsystem) => subsystem.name.clone(),
            Slot::Baggage(baggage) => baggage.name.clone(),
            Slot::Spawner => format_ident!("spawner"),
        }
    }

    fn cfg(&self) -> &[Attribute] {
        match self {
            Slot::Subsystem(subsystem) => &subsystem.cfg,
            _ => &[],
        }
    }
}

fn slots(model: &Overlord) -> Vec<Slot<'_>> {
    model
        .running()
        .map(Slot::Subsystem)
        .chain(model.baggage.iter().map(Slot::Baggage))
        .chain(std::iter::once(Slot::Spawner))
        .collect()
}

fn index(position: usize) -> Ident {
    format_ident!("I{}", position)
}

fn start_state(slot: &Slot<'_>) -> Ident {
    format_ident!("Start_{}", slot.marker())
}

/// `(A, (B, (C, ())))` from `[A, B, C]`.
fn nest(items: impl DoubleEndedIterator<Item = TokenStream>) -> TokenStream {
    items
        .rev()
        .fold(quote!(()), |tail, head| quote!((#head, #tail)))
}

/// The builder's initial state type and value.
pub(crate) fn initial_state(model: &Overlord) -> (TokenStream, TokenStream) {
    let module = model.fields_module();
    let slots = slots(model);
    let types = slots.iter().map(|slot| {
        let start = start_state(slot);
        quote!(#module::#start)
    });
    let values = slots
        .iter()
        .map(|_| quote!(::core::default::Default::default()));
    (
        nest(types.collect::<Vec<_>>().into_iter()),
        nest(values.collect::<Vec<_>>().into_iter()),
    )
}

/// `cfg(not(all(..)))` for the `#[cfg(..)]` attributes of a gated field.
fn negated_cfg(cfg: &[Attribute]) -> TokenStream {
    let predicates = cfg.iter().filter_map(|attr| {
        attr.meta
            .require_list()
            .ok()
            .map(|list| list.tokens.clone())
    });
    quote!(#[cfg(not(all(#(#predicates),*)))])
}

pub(crate) fn expand(model: &Overlord) -> TokenStream {
    let vis = &model.vis;
    let name = &model.name;
    let builder = model.ident("Builder");
    let handle = model.ident("Handle");
    let spec = model.ident("Spec");
    let context = model.ident("SubsystemContext");
    let channels = model.ident("ChannelsOut");
    let error = model.error_type();
    let module = model.fields_module();
    let params = type_params(model);
    let slots = slots(model);

    // The marker types, indexes and start states.
    let markers = slots.iter().map(|slot| {
        let marker = slot.marker();
        quote!(pub enum #marker {})
    });
    let indexes = (0..slots.len()).map(|position| {
        let this = index(position);
        if position == 0 {
            quote!(pub type #this = ::overseer::Here;)
        } else {
            let previous = index(position - 1);
            quote!(pub type #this = ::overseer::There<#previous>;)
        }
    });
    let starts = slots.iter().map(|slot| {
        let marker = slot.marker();
        let start = start_state(slot);
        let cfg = slot.cfg();
        if cfg.is_empty() {
            quote!(pub type #start = ::overseer::Missing<#marker>;)
        } else {
            let not = negated_cfg(cfg);
            quote! {
                #(#cfg)* pub type #start = ::overseer::Missing<#marker>;
                #not pub type #start = ::overseer::Absent;
            }
        }
    });

    // Gated subsystems are bounded through a trait that exists either way.
    let slot_traits = model
        .running()
        .filter(|subsystem| !subsystem.cfg.is_empty())
        .map(|subsystem| {
            let cfg = &subsystem.cfg;
            let not = negated_cfg(cfg);
            let slot_trait = format_ident!("__{}Slot_{}", name, subsystem.name);
            let consumed = subsystem.consumed_path();
            quote! {
                #[doc(hidden)]
                #[allow(non_camel_case_types)]
                #(#cfg)*
                #vis trait #slot_trait: ::overseer::Subsystem<#context<#consumed>, #error> + ::core::marker::Send + 'static {}
                #(#cfg)*
                impl<T: ::overseer::Subsystem<#context<#consumed>, #error> + ::core::marker::Send + 'static> #slot_trait for T {}
                #[doc(hidden)]
                #[allow(non_camel_case_types)]
                #not
                #vis trait #slot_trait {}
                #not
                impl<T> #slot_trait for T {}
            }
        });

    let builder_type = |fields: TokenStream| quote!(#builder<#fields, S #(, #params)*>);
    let replaced = |position: usize, value: TokenStream| {
        let this = index(position);
        quote!(<__Fields as ::overseer::Replace<#module::#this, ::overseer::Init<#value, #handle, #error>>>::Output)
    };
    let setter_bounds = |position: usize, value: TokenStream, marker: &Ident| {
        let this = index(position);
        quote! {
            __Fields: ::overseer::Replace<#module::#this, ::overseer::Init<#value, #handle, #error>>,
            <__Fields as ::overseer::Replace<#module::#this, ::overseer::Init<#value, #handle, #error>>>::Old: ::overseer::Unset<#module::#marker>,
        }
    };

    let setters = slots.iter().enumerate().map(|(position, slot)| {
        let marker = slot.marker();
        let cfg = slot.cfg();
        let this = index(position);
        match slot {
            Slot::Subsystem(subsystem) => {
                let field = &subsystem.name;
                let with = format_ident!("{}_with", field);
                let replace = format_ident!("replace_{}", field);
                let factory = format_ident!("{}_factory", field);
                let supervise = format_ident!("supervise_{}", field);
                let factory_doc = format!("Set subsystem `{field}` from a factory, called again for every restart.");
                let supervise_doc = format!("Supervise `{field}` with these settings instead of those of its attribute.");
                let output = builder_type(replaced(position, quote!(__V)));
                let bounds = setter_bounds(position, quote!(__V), &marker);
                let replace_output = builder_type(replaced(position, quote!(__New)));
                let doc = format!("Set subsystem `{field}`.");
                let with_doc = format!("Set subsystem `{field}` from a function of the overseer's handle, run by `build()`.");
                let replace_doc = format!("Swap subsystem `{field}` for a function of it, e.g. `|_| DummySubsystem` in tests.");
                quote! {
                    #(#cfg)*
                    #[doc = #doc]
                    pub fn #field<__V>(self, subsystem: __V) -> #output where #bounds {
                        self.__set::<#module::#this, _>(::overseer::Init::Value(subsystem))
                    }
                    #(#cfg)*
                    #[doc = #with_doc]
                    pub fn #with<__V, __Init>(self, init: __Init) -> #output
                    where
                        #bounds
                        __Init: ::core::ops::FnOnce(#handle) -> ::core::result::Result<__V, #error> + ::core::marker::Send + 'static,
                    {
                        self.__set::<#module::#this, _>(::overseer::Init::Fn(::std::boxed::Box::new(init)))
                    }
                    #(#cfg)*
                    #[doc = #factory_doc]
                    pub fn #factory<__V, __Factory>(self, factory: __Factory) -> #output
                    where
                        #bounds
                        __Factory: ::core::ops::FnMut() -> __V + ::core::marker::Send + 'static,
                    {
                        self.__set::<#module::#this, _>(::overseer::Init::Factory(::std::boxed::Box::new(factory)))
                    }
                    #(#cfg)*
                    #[doc = #supervise_doc]
                    pub fn #supervise(mut self, supervision: ::overseer::Supervision) -> Self {
                        self.parts.supervision.insert(stringify!(#field), supervision);
                        self
                    }
                    #(#cfg)*
                    #[doc = #replace_doc]
                    pub fn #replace<__Old, __New, __Replace>(self, replace: __Replace) -> #replace_output
                    where
                        __Fields: ::overseer::Replace<#module::#this, ::overseer::Init<__New, #handle, #error>, Old = ::overseer::Init<__Old, #handle, #error>>,
                        __Replace: ::core::ops::FnOnce(__Old) -> __New + ::core::marker::Send + 'static,
                        __Old: ::core::marker::Send + 'static,
                        __New: ::core::marker::Send + 'static,
                    {
                        let fields = ::overseer::Replace::replace_with(self.fields, |old| old.map(replace));
                        #builder::__new(fields, self.parts)
                    }
                }
            }
            Slot::Baggage(baggage) => {
                let field = &baggage.name;
                let doc = format!("Set baggage field `{field}`.");
                let ty = &baggage.ty;
                // A field whose type names the struct's generics takes any value; `build()`
                // ties it to the generics. Others take their declared type, which helps inference.
                let value = if mentions_any(ty, &params) { quote!(__V) } else { quote!(#ty) };
                let generic = if mentions_any(ty, &params) { quote!(<__V>) } else { quote!() };
                let output = builder_type(replaced(position, value.clone()));
                let bounds = setter_bounds(position, value.clone(), &marker);
                quote! {
                    #[doc = #doc]
                    pub fn #field #generic(self, value: #value) -> #output where #bounds {
                        self.__set::<#module::#this, _>(::overseer::Init::Value(value))
                    }
                }
            }
            Slot::Spawner => {
                let output = builder_type(replaced(position, quote!(__Spawner)));
                let bounds = setter_bounds(position, quote!(__Spawner), &marker);
                quote! {
                    /// Set the spawner every subsystem and job runs on.
                    pub fn spawner<__Spawner: ::overseer::Spawner>(self, spawner: __Spawner) -> #output where #bounds {
                        self.__set::<#module::#this, _>(::overseer::Init::Value(spawner))
                    }
                }
            }
        }
    });

    // build()
    let state_generics: Vec<Ident> = (0..slots.len())
        .map(|position| format_ident!("__F{}", position))
        .collect();
    let state_vars: Vec<Ident> = (0..slots.len())
        .map(|position| format_ident!("__f{}", position))
        .collect();
    let state_tuple = nest(
        state_generics
            .iter()
            .map(|generic| quote!(#generic))
            .collect::<Vec<_>>()
            .into_iter(),
    );
    let state_pattern = nest(
        state_vars
            .iter()
            .map(|var| quote!(#var))
            .collect::<Vec<_>>()
            .into_iter(),
    );
    let mut build_bounds = Vec::new();
    let mut build_values = Vec::new();
    let mut spawner_var = quote!();
    for ((slot, generic), var) in slots.iter().zip(&state_generics).zip(&state_vars) {
        let marker = slot.marker();
        let ready = quote!(::overseer::Ready<#module::#marker, #handle, #error>);
        match slot {
            Slot::Subsystem(subsystem) => {
                let consumed = subsystem.consumed_path();
                build_bounds.push(quote!(#generic: #ready,));
                if subsystem.cfg.is_empty() {
                    build_bounds.push(quote!(<#generic as #ready>::Value: ::overseer::Subsystem<#context<#consumed>, #error> + ::core::marker::Send + 'static,));
                } else {
                    let slot_trait = format_ident!("__{}Slot_{}", name, subsystem.name);
                    build_bounds.push(quote!(<#generic as #ready>::Value: #slot_trait,));
                }
                let cfg = &subsystem.cfg;
                let local = format_ident!("__value_{}", subsystem.name);
                build_values.push(quote!(#(#cfg)* let #local = <#generic as #ready>::into_source(#var, &__handle)?;));
            }
            Slot::Baggage(baggage) => {
                let ty = &baggage.ty;
                build_bounds.push(quote!(#generic: ::overseer::Ready<#module::#marker, #handle, #error, Value = #ty>,));
                let local = &baggage.name;
                build_values
                    .push(quote!(let #local = <#generic as #ready>::into_value(#var, &__handle)?;));
            }
            Slot::Spawner => {
                build_bounds.push(quote!(#generic: ::overseer::Ready<#module::#marker, #handle, #error, Value = S>, S: ::overseer::Spawner + 'static,));
                spawner_var =
                    quote!(let __spawner = <#generic as #ready>::into_value(#var, &__handle)?;);
            }
        }
    }
    let user_predicates = user_predicates(model);
    let payload = |path: &syn::Path| {
        if model.args.boxed_messages {
            quote!(::std::boxed::Box<#path>)
        } else {
            quote!(#path)
        }
    };
    let queues = model.running().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let field = &subsystem.name;
        let config = format_ident!("__config_{}", field);
        let tx = format_ident!("__tx_{}", field);
        let rx = format_ident!("__rx_{}", field);
        let payload = payload(&subsystem.consumed_path());
        let message_capacity = subsystem.message_capacity.as_ref().map_or(quote!(__message_capacity), |capacity| quote!(#capacity));
        let signal_capacity = subsystem.signal_capacity.as_ref().map_or(quote!(__signal_capacity), |capacity| quote!(#capacity));
        let priority = subsystem.priority;
        quote! {
            #(#cfg)*
            let #config = ::overseer::QueueConfig { message_capacity: #message_capacity, signal_capacity: #signal_capacity, priority: #priority };
            #(#cfg)*
            let (#tx, #rx) = ::overseer::message_queue::<#payload>(stringify!(#field), #config, __metrics.as_ref());
        }
    });
    let channel_fields = model.running().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let field = &subsystem.name;
        let tx = format_ident!("__tx_{}", field);
        quote!(#(#cfg)* #field: ::core::clone::Clone::clone(&#tx))
    });
    let launches = model.running().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let field = &subsystem.name;
        let (config, tx, rx) = (
            format_ident!("__config_{}", field),
            format_ident!("__tx_{}", field),
            format_ident!("__rx_{}", field),
        );
        let value = format_ident!("__value_{}", field);
        let consumed = subsystem.consumed_path();
        let outgoing = subsystem.outgoing();
        let blocking = subsystem.blocking;
        let declared = declared_supervision(subsystem);
        quote! {
            #(#cfg)*
            let #value = __launcher.launch::<#consumed, #outgoing, _>(
                stringify!(#field),
                #value,
                #rx,
                #tx,
                #config,
                #blocking,
                __supervision.get(stringify!(#field)).copied().unwrap_or_else(|| #declared),
            );
        }
    });
    let struct_subsystems = model.running().map(|subsystem| {
        let cfg = &subsystem.cfg;
        let field = &subsystem.name;
        let value = format_ident!("__value_{}", field);
        quote!(#(#cfg)* #field: #value)
    });
    let struct_baggage = model.baggage.iter().map(|baggage| &baggage.name);
    let builder_doc = format!("The builder of `{name}`: set every subsystem, baggage field and the spawner, then `build()`.");

    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, missing_docs, missing_debug_implementations)]
        #vis mod #module {
            #(#markers)*
            #(#indexes)*
            #(#starts)*
        }
        #(#slot_traits)*

        #[doc = #builder_doc]
        #vis struct #builder<__Fields, S #(, #params)*> {
            fields: __Fields,
            parts: ::overseer::BuilderParts<#spec>,
            _generics: ::core::marker::PhantomData<fn() -> (S #(, #params)*)>,
        }

        impl<__Fields, S #(, #params)*> ::core::fmt::Debug for #builder<__Fields, S #(, #params)*> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(stringify!(#builder)).field("parts", &self.parts).finish_non_exhaustive()
            }
        }

        #[allow(clippy::type_complexity)]
        impl<__Fields, S #(, #params)*> #builder<__Fields, S #(, #params)*> {
            #[doc(hidden)]
            pub fn __new(fields: __Fields, parts: ::overseer::BuilderParts<#spec>) -> Self {
                Self { fields, parts, _generics: ::core::marker::PhantomData }
            }

            fn __set<__I, __New>(self, new: __New) -> #builder<<__Fields as ::overseer::Replace<__I, __New>>::Output, S #(, #params)*>
            where
                __Fields: ::overseer::Replace<__I, __New>,
            {
                let (fields, _) = ::overseer::Replace::replace(self.fields, new);
                #builder::__new(fields, self.parts)
            }

            #(#setters)*

            /// The default capacity of every bounded message lane.
            pub fn message_channel_capacity(mut self, capacity: usize) -> Self {
                self.parts.message_capacity = capacity;
                self
            }

            /// The default capacity of every signal channel.
            pub fn signal_channel_capacity(mut self, capacity: usize) -> Self {
                self.parts.signal_capacity = capacity;
                self
            }

            /// What external events sent through the handle mean.
            pub fn event_handler(
                mut self,
                handler: impl ::core::ops::FnMut(<#spec as ::overseer::OverseerSpec>::Event) -> ::std::vec::Vec<::overseer::Command<#spec>> + ::core::marker::Send + 'static,
            ) -> Self {
                self.parts.event_handler = ::core::option::Option::Some(::std::boxed::Box::new(handler));
                self
            }

            /// The default overall deadline of a shutdown.
            pub fn shutdown_deadline(mut self, deadline: ::std::time::Duration) -> Self {
                self.parts.shutdown_deadline = deadline;
                self
            }

            /// Report per-channel Prometheus metrics into `metrics`' registry.
            pub fn metrics(mut self, metrics: ::overseer::Metrics) -> Self {
                self.parts.metrics = ::core::option::Option::Some(metrics);
                self
            }

            /// How stalls are watched and what is done about them.
            pub fn stall_watch(mut self, watch: ::overseer::StallWatch) -> Self {
                self.parts.stall_watch = watch;
                self
            }

            /// A handle to the overseer this builder will build.
            pub fn handle(&self) -> #handle {
                ::core::clone::Clone::clone(&self.parts.handle)
            }

            /// Start every subsystem and return the overseer with its handle.
            #[allow(unused_variables)]
            pub fn build<#(#state_generics),*>(self) -> ::core::result::Result<(#name<S #(, #params)*>, #handle), #error>
            where
                __Fields: ::overseer::Is<#state_tuple>,
                #(#build_bounds)*
                #user_predicates
            {
                let ::overseer::BuilderParts {
                    handle: __handle,
                    commands: __commands,
                    message_capacity: __message_capacity,
                    signal_capacity: __signal_capacity,
                    event_handler: __event_handler,
                    shutdown_deadline: __shutdown_deadline,
                    metrics: __metrics,
                    supervision: __supervision,
                    stall_watch: __stall_watch,
                } = self.parts;
                let #state_pattern = ::overseer::Is::into_same(self.fields);
                #spawner_var
                #(#build_values)*
                #(#queues)*
                let __channels = ::overseer::__private::Arc::new(#channels { #(#channel_fields,)* });
                let mut __launcher = ::overseer::Launcher::<#spec, S>::new(&__spawner, ::overseer::__private::Arc::clone(&__channels), __metrics);
                #(#launches)*
                let running_subsystems = __launcher.into_running();
                let overseer = #name {
                    #(#struct_subsystems,)*
                    #(#struct_baggage,)*
                    spawner: __spawner,
                    running_subsystems,
                    core: ::overseer::Core::new(__commands, __channels, __event_handler, __shutdown_deadline, __stall_watch),
                };
                ::core::result::Result::Ok((overseer, __handle))
            }
        }
    }
}

/// The user's where-clause and inline bounds, as predicates for `build()`.
fn user_predicates(model: &Overlord) -> TokenStream {
    let inline = model
        .generics
        .type_params()
        .filter(|param| !param.bounds.is_empty())
        .map(|param| {
            let (ident, bounds) = (&param.ident, &param.bounds);
            quote!(#ident: #bounds,)
        });
    let explicit = model
        .generics
        .where_clause
        .iter()
        .flat_map(|clause| clause.predicates.iter())
        .map(|predicate| quote!(#predicate,));
    quote!(#(#inline)* #(#explicit)*)
}

/// Whether `ty` names any of `params`.
fn mentions_any(ty: &Type, params: &[Ident]) -> bool {
    struct Finder<'a> {
        params: &'a [Ident],
        found: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for Finder<'_> {
        fn visit_ident(&mut self, ident: &'ast Ident) {
            if self.params.contains(ident) {
                self.found = true;
            }
        }
    }
    let mut finder = Finder {
        params,
        found: false,
    };
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.found
}

/// The supervision the `#[subsystem(..)]` attribute declares, as an expression.
fn declared_supervision(subsystem: &SubsystemField) -> TokenStream {
    let restart = subsystem.restart.as_ref().map(|restart| {
        let variant = match restart.to_string().as_str() {
            "on_failure" => quote!(OnFailure),
            "always" => quote!(Always),
            _ => quote!(Never),
        };
        quote!(policy.restart = ::overseer::Restart::#variant;)
    });
    let intensity = subsystem
        .intensity
        .as_ref()
        .map(|intensity| quote!(let intensity: u32 = #intensity; policy.intensity = intensity;));
    let period = subsystem.period_ms.as_ref().map(|period| {
        quote!(let period_ms: u64 = #period; policy.period = ::std::time::Duration::from_millis(period_ms);)
    });
    let stall = match &subsystem.stall_ms {
        Some(stall) => {
            quote!({ let stall_ms: u64 = #stall; ::core::option::Option::Some(::std::time::Duration::from_millis(stall_ms)) })
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {{
        #[allow(unused_mut)]
        let mut policy = ::overseer::RestartPolicy::default();
        #restart
        #intensity
        #period
        ::overseer::Supervision { restart: policy, stall_threshold: #stall }
    }}
}
