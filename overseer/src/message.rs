//! What travels between the overseer and its subsystems.
//!
//! Every message carries the number of signals its sender had seen when it sent it (the
//! *watermark*). A receiver holds such a message back until it has seen at least as many
//! signals, so a message sent after a signal is never handled before that signal.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;

/// What a subsystem receives: a signal from the overseer or a message from another subsystem.
#[derive(Debug)]
pub enum FromOverseer<Message, Signal> {
    /// A signal broadcast by the overseer.
    Signal(Signal),
    /// A message from another subsystem or from outside through the handle.
    Communication {
        /// The message itself.
        msg: Message,
    },
}

impl<Signal, Message> From<Signal> for FromOverseer<Message, Signal> {
    fn from(signal: Signal) -> Self {
        Self::Signal(signal)
    }
}

/// A message together with the signal watermark of its sender.
#[derive(Debug)]
pub struct MessagePacket<T> {
    /// How many signals the sender had received when it sent the message.
    pub signals_received: usize,
    /// The message.
    pub message: T,
}

/// Create a packet from its parts.
pub fn make_packet<T>(signals_received: usize, message: T) -> MessagePacket<T> {
    MessagePacket {
        signals_received,
        message,
    }
}

/// A shared counter of the signals one subsystem has received.
///
/// The context increments it; every sender cloned from that context stamps it on the messages
/// it sends.
#[derive(Debug, Default, Clone)]
pub struct SignalsReceived(Arc<AtomicUsize>);

impl SignalsReceived {
    /// The number of signals received so far.
    pub fn load(&self) -> usize {
        // Acquire pairs with the release in `inc`: whatever the subsystem did before counting
        // a signal is visible to a sender that reads the new count.
        self.0.load(Ordering::Acquire)
    }

    /// Count one more signal.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// The signal that tells every subsystem to finish.
///
/// Implement it for your signal type to use [`DummySubsystem`](crate::DummySubsystem), the
/// generated `run()` loop and graceful shutdown, which need to know which signal means
/// "conclude".
///
/// ```
/// use overseer::ConcludeSignal;
///
/// #[derive(Debug, Clone)]
/// enum Signal { Tick, Conclude }
///
/// impl ConcludeSignal for Signal {
///     fn conclude() -> Self { Signal::Conclude }
///     fn is_conclude(&self) -> bool { matches!(self, Signal::Conclude) }
/// }
/// assert!(Signal::conclude().is_conclude());
/// assert!(!Signal::Tick.is_conclude());
/// ```
pub trait ConcludeSignal: Sized {
    /// The conclude signal.
    fn conclude() -> Self;
    /// Whether `self` is the conclude signal.
    fn is_conclude(&self) -> bool;
}

/// Priority of a message on its way to a subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityLevel {
    /// The normal bounded lane.
    Normal,
    /// The priority lane, read before the normal one by subsystems that opted in with
    /// `can_receive_priority_messages`.
    High,
}

/// Type-level normal priority.
#[derive(Debug, Clone, Copy)]
pub struct NormalPriority;

/// Type-level high priority.
#[derive(Debug, Clone, Copy)]
pub struct HighPriority;

/// A type-level priority, used as `send_message_with_priority::<HighPriority>(msg)`.
pub trait Priority {
    /// The priority level.
    fn priority() -> PriorityLevel {
        PriorityLevel::Normal
    }
}

impl Priority for NormalPriority {}

impl Priority for HighPriority {
    fn priority() -> PriorityLevel {
        PriorityLevel::High
    }
}

/// Jobs a subsystem may ask its overseer to run, kept from orchestra.
///
/// Contexts of this crate spawn directly on the spawner, so jobs never wait for the run loop;
/// the type remains for code that builds its own contexts.
pub enum ToOverseer {
    /// A non-blocking job.
    SpawnJob {
        /// Name of the task.
        name: &'static str,
        /// Subsystem that asked for it.
        subsystem: Option<&'static str>,
        /// The job.
        s: BoxFuture<'static, ()>,
    },
    /// A blocking job, run on the spawner's blocking pool.
    SpawnBlockingJob {
        /// Name of the task.
        name: &'static str,
        /// Subsystem that asked for it.
        subsystem: Option<&'static str>,
        /// The job.
        s: BoxFuture<'static, ()>,
    },
}

impl fmt::Debug for ToOverseer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, name, subsystem) = match self {
            Self::SpawnJob {
                name, subsystem, ..
            } => ("SpawnJob", name, subsystem),
            Self::SpawnBlockingJob {
                name, subsystem, ..
            } => ("SpawnBlockingJob", name, subsystem),
        };
        f.debug_struct(kind)
            .field("name", name)
            .field("subsystem", subsystem)
            .finish_non_exhaustive()
    }
}
