//! Typed request/response between subsystems.
//!
//! A request is an ordinary message that carries a [`Responder`]; the requester awaits the
//! answer with a timeout. Under the hood it is a oneshot channel: if the requester gives up or
//! is dropped, the responder's [`respond`](Responder::respond) just returns the value back, and
//! nothing is left behind.

use std::fmt;
use std::time::Duration;

use futures::channel::oneshot;

/// The answering half of a request, carried inside the request message.
pub struct Responder<T> {
    reply: oneshot::Sender<T>,
}

impl<T> fmt::Debug for Responder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("canceled", &self.reply.is_canceled())
            .finish()
    }
}

impl<T> Responder<T> {
    /// A responder and the receiver its answer arrives on.
    pub fn new() -> (Self, oneshot::Receiver<T>) {
        let (reply, answer) = oneshot::channel();
        (Self { reply }, answer)
    }

    /// Answer. `Err(value)` when the requester is gone (timed out or dropped).
    pub fn respond(self, value: T) -> Result<(), T> {
        self.reply.send(value)
    }

    /// Whether the requester is gone, so the work to answer can be skipped.
    pub fn is_canceled(&self) -> bool {
        self.reply.is_canceled()
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No answer within the timeout.
    #[error("no answer to `{request}` within {timeout:?}")]
    Timeout {
        /// The request message type.
        request: &'static str,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The responder was dropped without answering.
    #[error("`{request}` was dropped without an answer")]
    Unanswered {
        /// The request message type.
        request: &'static str,
    },
}

/// The short name of a type, for labels and messages: `crate::a::Foo<x::Y>` becomes `Foo<Y>`.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let end = full.find('<').unwrap_or(full.len());
    match full[..end].rfind("::") {
        Some(start) => &full[start + 2..],
        None => full,
    }
}
