//! The queues of one subsystem: a bounded lane, an unbounded lane and an optional priority lane
//! for messages, plus a bounded signal channel.
//!
//! The overseer owns the sending halves (through the generated `ChannelsOut`), so a queue
//! outlives any one run of the subsystem that reads it.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use crate::error::{OverseerError, TrySendError};
use crate::message::{MessagePacket, PriorityLevel};

/// Capacities and options of one subsystem's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Capacity of the bounded message lane (and of the priority lane).
    pub message_capacity: usize,
    /// Capacity of the signal channel.
    pub signal_capacity: usize,
    /// Whether the subsystem has a priority lane (`can_receive_priority_messages`).
    pub priority: bool,
}

/// The sending half of one subsystem's message queue; cheap to clone.
#[derive(Debug)]
pub struct MessageSender<P> {
    subsystem: &'static str,
    bounded: async_channel::Sender<MessagePacket<P>>,
    unbounded: async_channel::Sender<MessagePacket<P>>,
    priority: Option<async_channel::Sender<MessagePacket<P>>>,
    warned_priority_fallback: Arc<AtomicBool>,
}

impl<P> Clone for MessageSender<P> {
    fn clone(&self) -> Self {
        Self {
            subsystem: self.subsystem,
            bounded: self.bounded.clone(),
            unbounded: self.unbounded.clone(),
            priority: self.priority.clone(),
            warned_priority_fallback: Arc::clone(&self.warned_priority_fallback),
        }
    }
}

/// The receiving half of one subsystem's message queue.
#[derive(Debug)]
pub struct MessageReceiver<P> {
    bounded: Pin<Box<async_channel::Receiver<MessagePacket<P>>>>,
    unbounded: Pin<Box<async_channel::Receiver<MessagePacket<P>>>>,
    priority: Option<Pin<Box<async_channel::Receiver<MessagePacket<P>>>>>,
}

/// Create the message queue of subsystem `subsystem`.
pub fn message_queue<P>(
    subsystem: &'static str,
    config: QueueConfig,
) -> (MessageSender<P>, MessageReceiver<P>) {
    let capacity = config.message_capacity.max(1);
    let (bounded_tx, bounded_rx) = async_channel::bounded(capacity);
    let (unbounded_tx, unbounded_rx) = async_channel::unbounded();
    let (priority_tx, priority_rx) = if config.priority {
        let (tx, rx) = async_channel::bounded(capacity);
        (Some(tx), Some(Box::pin(rx)))
    } else {
        (None, None)
    };
    let sender = MessageSender {
        subsystem,
        bounded: bounded_tx,
        unbounded: unbounded_tx,
        priority: priority_tx,
        warned_priority_fallback: Arc::new(AtomicBool::new(false)),
    };
    let receiver = MessageReceiver {
        bounded: Box::pin(bounded_rx),
        unbounded: Box::pin(unbounded_rx),
        priority: priority_rx,
    };
    (sender, receiver)
}

impl<P> MessageSender<P> {
    /// The subsystem this queue feeds.
    pub fn subsystem(&self) -> &'static str {
        self.subsystem
    }

    /// Messages waiting in the bounded, unbounded and priority lanes together.
    pub fn len(&self) -> usize {
        self.bounded.len()
            + self.unbounded.len()
            + self.priority.as_ref().map_or(0, |lane| lane.len())
    }

    /// `true` if no message waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Capacity of the bounded lane.
    pub fn capacity(&self) -> usize {
        self.bounded.capacity().unwrap_or(usize::MAX)
    }

    /// Whether this subsystem opted in to priority messages.
    pub fn has_priority_lane(&self) -> bool {
        self.priority.is_some()
    }

    fn lane(&self, level: PriorityLevel) -> &async_channel::Sender<MessagePacket<P>> {
        match (level, &self.priority) {
            (PriorityLevel::High, Some(priority)) => priority,
            (PriorityLevel::High, None) => {
                // orchestra falls back silently (polkadot-sdk#8948); we fall back loudly, once.
                if !self.warned_priority_fallback.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        subsystem = self.subsystem,
                        "priority message sent to a subsystem without `can_receive_priority_messages`; \
                         delivering it on the normal lane"
                    );
                }
                &self.bounded
            }
            (PriorityLevel::Normal, _) => &self.bounded,
        }
    }

    /// Send, waiting while the lane is full.
    pub async fn send(
        &self,
        packet: MessagePacket<P>,
        level: PriorityLevel,
    ) -> Result<(), OverseerError> {
        self.lane(level)
            .send(packet)
            .await
            .map_err(|_| OverseerError::QueueClosed {
                subsystem: self.subsystem,
            })
    }

    /// Send without waiting; the packet comes back if the lane is full or closed.
    pub fn try_send(
        &self,
        packet: MessagePacket<P>,
        level: PriorityLevel,
    ) -> Result<(), TrySendError<MessagePacket<P>>> {
        self.lane(level)
            .try_send(packet)
            .map_err(|error| match error {
                async_channel::TrySendError::Full(packet) => TrySendError::Full(packet),
                async_channel::TrySendError::Closed(packet) => TrySendError::Closed(packet),
            })
    }

    /// Send on the unbounded lane: never waits, so only for traffic bounded by other means.
    pub fn send_unbounded(&self, packet: MessagePacket<P>) -> Result<(), OverseerError> {
        self.unbounded
            .try_send(packet)
            .map_err(|_| OverseerError::QueueClosed {
                subsystem: self.subsystem,
            })
    }
}

impl<P> MessageReceiver<P> {
    /// Take a message without waiting: priority lane first, then unbounded, then bounded.
    pub fn try_next(&mut self) -> Option<MessagePacket<P>> {
        if let Some(priority) = &self.priority {
            if let Ok(packet) = priority.try_recv() {
                return Some(packet);
            }
        }
        self.unbounded
            .try_recv()
            .or_else(|_| self.bounded.try_recv())
            .ok()
    }

    /// Poll for the next message in the same lane order; `Ready(None)` once every lane is closed
    /// and drained.
    pub fn poll_next_packet(&mut self, cx: &mut Context<'_>) -> Poll<Option<MessagePacket<P>>> {
        let mut closed = 0;
        let mut lanes = 0;
        let order = self
            .priority
            .iter_mut()
            .chain([&mut self.unbounded, &mut self.bounded]);
        for lane in order {
            lanes += 1;
            match lane.as_mut().poll_next(cx) {
                Poll::Ready(Some(packet)) => return Poll::Ready(Some(packet)),
                Poll::Ready(None) => closed += 1,
                Poll::Pending => {}
            }
        }
        if closed == lanes {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    /// Messages waiting in all lanes.
    pub fn len(&self) -> usize {
        self.bounded.len()
            + self.unbounded.len()
            + self.priority.as_ref().map_or(0, |lane| lane.len())
    }

    /// `true` if no message waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Create the signal channel of one subsystem.
pub fn signal_channel<S>(
    capacity: usize,
) -> (async_channel::Sender<S>, async_channel::Receiver<S>) {
    async_channel::bounded(capacity.max(1))
}
