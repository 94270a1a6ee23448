//! Code generation from a validated model: one file per generated artifact.

pub(crate) mod builder;
mod contexts;
mod messages;
pub(crate) mod overseer;
pub(crate) mod subsystem_impl;

use proc_macro2::TokenStream;

use crate::model::Overlord;

pub(crate) fn overlord(model: &Overlord) -> TokenStream {
    let mut tokens = TokenStream::new();
    tokens.extend(overseer::expand(model));
    tokens.extend(builder::expand(model));
    tokens.extend(messages::expand(model));
    tokens.extend(contexts::expand(model));
    tokens
}
