//! Errors of the overseer runtime.

use std::fmt;

/// What can go wrong inside the overseer machinery itself.
///
/// The user's error type (`#[overlord(error = ..)]`) must implement `From<OverseerError>`, so a
/// subsystem can propagate these with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OverseerError {
    /// A queue was closed: its receiving subsystem is gone.
    #[error("the queue of subsystem `{subsystem}` is closed")]
    QueueClosed {
        /// The subsystem whose queue is closed.
        subsystem: &'static str,
    },

    /// The overseer is gone, so the context can no longer receive.
    #[error("subsystem `{subsystem}` lost its overseer: the signal channel is closed")]
    OverseerGone {
        /// The subsystem whose context noticed.
        subsystem: &'static str,
    },

    /// A task could not be spawned.
    #[error("failed to spawn task `{0}`")]
    TaskSpawn(&'static str),

    /// The handle could not reach the run loop: it ended or was never started.
    #[error("the overseer's run loop is not running")]
    NotRunning,

    /// A subsystem ended while it was expected to keep running.
    #[error("{0}")]
    SubsystemExited(Box<crate::ExitReport>),

    /// A subsystem failed more often than its restart intensity allows.
    #[error("{0}")]
    Escalated(Box<crate::ExitReport>),

    /// A subsystem stalled under the `shutdown` stall policy.
    #[error("{0}")]
    Stalled(Box<crate::ExitReport>),

    /// A free-form context error, kept for orchestra compatibility.
    #[error("failed to {0}")]
    Context(String),

    /// An error annotated with the place it came from.
    #[error("error originated in {origin}")]
    FromOrigin {
        /// Where the error came from, usually a subsystem name.
        origin: &'static str,
        /// The wrapped error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// Kept so that `?` on infallible conversions works.
    #[error(transparent)]
    Infallible(#[from] std::convert::Infallible),
}

/// Alias for a result with [`OverseerError`].
pub type OverseerResult<T> = Result<T, OverseerError>;

/// Why a non-blocking send did not happen; the message is handed back either way.
#[derive(PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The bounded queue is at capacity.
    Full(T),
    /// The receiving subsystem is gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// Take the message back.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(message) | Self::Closed(message) => message,
        }
    }

    /// `true` if the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// `true` if the receiver is gone.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// Convert the carried message, keeping the reason.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> TrySendError<U> {
        match self {
            Self::Full(message) => TrySendError::Full(f(message)),
            Self::Closed(message) => TrySendError::Closed(f(message)),
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the queue is full"),
            Self::Closed(_) => f.write_str("the receiving subsystem is gone"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}
