//! The `Subsystem` trait and the `DummySubsystem` to swap in for tests.

use std::fmt;

use futures::future::BoxFuture;

use crate::context::SubsystemContext;
use crate::error::OverseerError;
use crate::message::{ConcludeSignal, FromOverseer};

/// A started subsystem: its name and the future that is its whole life.
pub struct SpawnedSubsystem<E>
where
    E: std::error::Error + Send + Sync + 'static + From<OverseerError>,
{
    /// The name the task is spawned under.
    pub name: &'static str,
    /// The subsystem's work; it ends when the subsystem ends.
    pub future: BoxFuture<'static, Result<(), E>>,
}

impl<E> fmt::Debug for SpawnedSubsystem<E>
where
    E: std::error::Error + Send + Sync + 'static + From<OverseerError>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnedSubsystem")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Something the overseer can start with a context of type `Ctx`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a subsystem for the context `{Ctx}`",
    label = "this type does not implement `Subsystem<{Ctx}, {E}>`",
    note = "implement it directly, or put `#[overseer::subsystem(Name, error = ..)]` on an `impl<Context>` block with a `start` method"
)]
pub trait Subsystem<Ctx, E>
where
    Ctx: SubsystemContext,
    E: std::error::Error + Send + Sync + 'static + From<OverseerError>,
{
    /// Start the subsystem; the overseer spawns the returned future.
    fn start(self, ctx: Ctx) -> SpawnedSubsystem<E>;
}

/// A subsystem that accepts and drops every message, answers signals, and ends on the
/// conclude signal. Swap it in with the builder's `replace_<field>` to test the others alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct DummySubsystem;

impl<Ctx, E> Subsystem<Ctx, E> for DummySubsystem
where
    Ctx: SubsystemContext,
    Ctx::Signal: ConcludeSignal,
    E: std::error::Error + Send + Sync + 'static + From<OverseerError>,
{
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<E> {
        SpawnedSubsystem {
            name: "dummy-subsystem",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await {
                        Ok(FromOverseer::Signal(signal)) if signal.is_conclude() => return Ok(()),
                        Ok(FromOverseer::Signal(signal)) => {
                            tracing::trace!(?signal, "dummy subsystem saw a signal")
                        }
                        Ok(FromOverseer::Communication { msg }) => {
                            tracing::debug!(?msg, "dummy subsystem dropped a message")
                        }
                        // The overseer is gone: nothing left to answer.
                        Err(_) => return Ok(()),
                    }
                }
            }),
        }
    }
}
