//! How a message finds its queue.
//!
//! The macro implements [`Consumable`] for every consumed message type (how it travels), and
//! [`Consumed`] for those whose consumer runs (pointing at that subsystem's queue in the
//! generated `ChannelsOut`; a `wip` consumer has none), and [`Route`] for the outgoing enums and
//! `AllMessages` (a match that forwards to the variant's [`Consumed`] queue). A sender that
//! sends a concrete message type therefore goes straight to the queue, with no enum in between.

use std::future::Future;

use crate::channel::MessageSender;
use crate::error::{OverseerError, TrySendError};
use crate::message::{make_packet, PriorityLevel};

/// A message type consumed by exactly one subsystem of the overseer whose channels are `C`,
/// `wip` ones included: how it travels through a queue.
pub trait Consumable<C>: Sized + Send + 'static {
    /// What travels through the queue: the message itself, or a `Box` of it with
    /// `boxed_messages = true`.
    type Payload: Send + 'static;
    /// Wrap for the queue.
    fn into_payload(self) -> Self::Payload;
    /// Unwrap from the queue.
    fn from_payload(payload: Self::Payload) -> Self;
}

/// A consumed message type whose consumer runs, so it has a queue in the channels `C`.
pub trait Consumed<C>: Consumable<C> {
    /// The consumer's queue.
    fn queue(channels: &C) -> &MessageSender<Self::Payload>;
}

/// Something that can be delivered through the channels `C`.
pub trait Route<C>: Sized + Send + 'static {
    /// Deliver, waiting while the target lane is full. `watermark` is the number of signals the
    /// sender has seen.
    fn route(
        self,
        channels: &C,
        watermark: usize,
        level: PriorityLevel,
    ) -> impl Future<Output = Result<(), OverseerError>> + Send;
    /// Deliver without waiting; the message comes back if the lane is full or closed.
    fn try_route(
        self,
        channels: &C,
        watermark: usize,
        level: PriorityLevel,
    ) -> Result<(), TrySendError<Self>>;
    /// Deliver on the unbounded lane.
    fn route_unbounded(self, channels: &C, watermark: usize) -> Result<(), OverseerError>;
}

impl<C, M> Route<C> for M
where
    C: Sync,
    M: Consumed<C>,
{
    fn route(
        self,
        channels: &C,
        watermark: usize,
        level: PriorityLevel,
    ) -> impl Future<Output = Result<(), OverseerError>> + Send {
        M::queue(channels).send(make_packet(watermark, self.into_payload()), level)
    }

    fn try_route(
        self,
        channels: &C,
        watermark: usize,
        level: PriorityLevel,
    ) -> Result<(), TrySendError<Self>> {
        M::queue(channels)
            .try_send(make_packet(watermark, self.into_payload()), level)
            .map_err(|error| error.map(|packet| M::from_payload(packet.message)))
    }

    fn route_unbounded(self, channels: &C, watermark: usize) -> Result<(), OverseerError> {
        M::queue(channels).send_unbounded(make_packet(watermark, self.into_payload()))
    }
}
