//! The handle: how the world outside the subsystems talks to a running overseer.

use std::fmt;
use std::time::Duration;

use crate::error::OverseerError;
use crate::spec::OverseerSpec;

/// A request to the run loop.
pub enum Command<Spec: OverseerSpec> {
    /// An external event, given to the event handler set on the builder.
    Event(Spec::Event),
    /// A message to route to its consumer.
    Message(Spec::AllMessages),
    /// A signal to broadcast to every subsystem.
    Signal(Spec::Signal),
    /// Stop every subsystem within `deadline` (the builder's default when `None`).
    Shutdown {
        /// The one overall deadline for the whole shutdown.
        deadline: Option<Duration>,
    },
}

impl<Spec: OverseerSpec> fmt::Debug for Command<Spec> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Event(_) => f.write_str("Event(..)"),
            Self::Message(message) => f.debug_tuple("Message").field(message).finish(),
            Self::Signal(signal) => f.debug_tuple("Signal").field(signal).finish(),
            Self::Shutdown { deadline } => f
                .debug_struct("Shutdown")
                .field("deadline", deadline)
                .finish(),
        }
    }
}

/// Decides what an external event means: the commands to carry out for it.
pub type EventHandler<Spec> =
    Box<dyn FnMut(<Spec as OverseerSpec>::Event) -> Vec<Command<Spec>> + Send>;

/// A cloneable handle to a running overseer.
pub struct Handle<Spec: OverseerSpec> {
    commands: async_channel::Sender<Command<Spec>>,
}

impl<Spec: OverseerSpec> Clone for Handle<Spec> {
    fn clone(&self) -> Self {
        Self {
            commands: self.commands.clone(),
        }
    }
}

impl<Spec: OverseerSpec> fmt::Debug for Handle<Spec> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("overseer", &Spec::NAME)
            .field("pending", &self.commands.len())
            .finish()
    }
}

impl<Spec: OverseerSpec> Handle<Spec> {
    /// A handle and the command queue the run loop reads.
    pub fn new(capacity: usize) -> (Self, async_channel::Receiver<Command<Spec>>) {
        let (commands, receiver) = async_channel::bounded(capacity.max(1));
        (Self { commands }, receiver)
    }

    /// Send a command to the run loop, waiting while its queue is full.
    pub async fn send(&self, command: Command<Spec>) -> Result<(), OverseerError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| OverseerError::NotRunning)
    }

    /// Hand an external event to the event handler.
    pub async fn send_event(&self, event: Spec::Event) -> Result<(), OverseerError> {
        self.send(Command::Event(event)).await
    }

    /// Route a message to its consumer.
    pub async fn send_message(
        &self,
        message: impl Into<Spec::AllMessages>,
    ) -> Result<(), OverseerError> {
        self.send(Command::Message(message.into())).await
    }

    /// Broadcast a signal to every subsystem.
    pub async fn broadcast_signal(&self, signal: Spec::Signal) -> Result<(), OverseerError> {
        self.send(Command::Signal(signal)).await
    }

    /// Shut down within `deadline`: conclude goes to the subsystems in declared order (upstream
    /// first), each with a share of the time left, and whoever is still running at the deadline
    /// is aborted. `run()` then returns the report.
    pub async fn shutdown(&self, deadline: Duration) -> Result<(), OverseerError> {
        self.send(Command::Shutdown {
            deadline: Some(deadline),
        })
        .await
    }

    /// Shut down within the builder's default deadline.
    pub async fn stop(&self) -> Result<(), OverseerError> {
        self.send(Command::Shutdown { deadline: None }).await
    }
}
