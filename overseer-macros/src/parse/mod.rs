//! From tokens to the model. Every mistake becomes a spanned error; all of them are combined so
//! the user sees each one once.

mod overlord_args;
mod subsystem_args;

use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::model::{BaggageField, Overlord};

pub(crate) use subsystem_args::ImplArgs;

/// Collects errors so all of them are reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn push_spanned(
        &mut self,
        tokens: impl quote::ToTokens,
        message: impl std::fmt::Display,
    ) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

pub(crate) fn overlord(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<Overlord> {
    let input: DeriveInput = syn::parse2(item)?;
    let mut errors = Errors::default();
    let args = overlord_args::parse(attr, &mut errors);
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(named.named.clone()),
            other => {
                errors.push(syn::Error::new(
                    other.span().join(input.ident.span()).unwrap_or(input.ident.span()),
                    "`#[overlord]` needs a struct with named fields: one field per subsystem, other fields are baggage",
                ));
                None
            }
        },
        Data::Enum(data) => {
            errors.push(syn::Error::new(
                data.enum_token.span,
                "`#[overlord]` goes on a struct, not an enum: declare one named field per subsystem",
            ));
            None
        }
        Data::Union(data) => {
            errors.push(syn::Error::new(
                data.union_token.span,
                "`#[overlord]` goes on a struct, not a union: declare one named field per subsystem",
            ));
            None
        }
    };
    let mut subsystems = Vec::new();
    let mut baggage = Vec::new();
    for field in fields.into_iter().flatten() {
        let Some(name) = field.ident.clone() else {
            continue;
        };
        let (subsystem_attrs, other_attrs): (Vec<_>, Vec<_>) = field
            .attrs
            .iter()
            .cloned()
            .partition(|attr| attr.path().is_ident("subsystem"));
        match subsystem_attrs.as_slice() {
            [] => baggage.push(BaggageField {
                name,
                ty: field.ty.clone(),
                vis: field.vis.clone(),
                attrs: other_attrs,
            }),
            [attr, rest @ ..] => {
                for duplicate in rest {
                    errors.push_spanned(
                        duplicate,
                        "a field takes one `#[subsystem(..)]` attribute; merge them into one",
                    );
                }
                if let Some(subsystem) =
                    subsystem_args::parse_field(attr, &field, name, other_attrs, &mut errors)
                {
                    subsystems.push(subsystem);
                }
            }
        }
    }
    errors.finish()?;
    let Some(args) = args else {
        // `overlord_args::parse` reported why.
        return Err(syn::Error::new(
            input.ident.span(),
            "invalid `#[overlord(..)]` arguments",
        ));
    };
    Ok(Overlord {
        vis: input.vis,
        name: input.ident,
        attrs: input.attrs,
        generics: input.generics,
        args,
        subsystems,
        baggage,
    })
}
