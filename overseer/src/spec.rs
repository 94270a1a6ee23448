//! The type-level description of one generated overseer.

use std::fmt::Debug;

use crate::error::OverseerError;
use crate::route::Route;

/// Ties together the types of one `#[overlord]` overseer; the macro implements it on a
/// generated `<Name>Spec` type so the runtime's generic parts know them.
pub trait OverseerSpec: Sized + Send + Sync + 'static {
    /// The signal type (`signal = ..`).
    type Signal: Clone + Debug + Send + Sync + 'static;
    /// The external event type (`event = ..`).
    type Event: Send + 'static;
    /// The generated message enum (`gen = ..`).
    type AllMessages: Route<Self::Channels> + Debug + Send + 'static;
    /// The error type (`error = ..`).
    type Error: std::error::Error + From<OverseerError> + Send + Sync + 'static;
    /// The generated sending halves of every queue.
    type Channels: Send + Sync + 'static;
    /// The overseer's name, for logs.
    const NAME: &'static str;

    /// The static graph the macro recorded: subsystems, consumed messages, `sends:` edges.
    fn topology() -> crate::topology::Topology;
}
