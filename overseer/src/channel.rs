//! The queues of one subsystem: a bounded lane, an unbounded lane and an optional priority lane
//! for messages, plus a bounded signal channel.
//!
//! The overseer owns the sending halves (through the generated `ChannelsOut`) and keeps a
//! receiving half while the subsystem may still be restarted, so queued messages outlive any one
//! run of the subsystem that reads them. Metrics, when enabled, are counted here, on the path
//! every message takes.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::Stream;

use crate::error::{OverseerError, TrySendError};
use crate::message::{MessagePacket, PriorityLevel};
use crate::metrics::{Lane, Metrics, QueueMetrics};

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

/// A packet on its way, with the time it was sent when it is sampled for time of flight.
#[derive(Debug)]
struct Envelope<P> {
    packet: MessagePacket<P>,
    sent_at: Option<Instant>,
}

type LaneSender<P> = async_channel::Sender<Envelope<P>>;
type LaneReceiver<P> = Pin<Box<async_channel::Receiver<Envelope<P>>>>;

/// The sending half of one subsystem's message queue; cheap to clone.
#[derive(Debug)]
pub struct MessageSender<P> {
    subsystem: &'static str,
    bounded: LaneSender<P>,
    unbounded: LaneSender<P>,
    priority: Option<LaneSender<P>>,
    warned_priority_fallback: Arc<AtomicBool>,
    metrics: Option<QueueMetrics>,
}

impl<P> Clone for MessageSender<P> {
    fn clone(&self) -> Self {
        Self {
            subsystem: self.subsystem,
            bounded: self.bounded.clone(),
            unbounded: self.unbounded.clone(),
            priority: self.priority.clone(),
            warned_priority_fallback: Arc::clone(&self.warned_priority_fallback),
            metrics: self.metrics.clone(),
        }
    }
}

/// The receiving half of one subsystem's message queue.
#[derive(Debug)]
pub struct MessageReceiver<P> {
    bounded: LaneReceiver<P>,
    unbounded: LaneReceiver<P>,
    priority: Option<LaneReceiver<P>>,
    metrics: Option<QueueMetrics>,
    received: Arc<AtomicU64>,
    /// The message taken last is sampled for processing time.
    timed: bool,
}

impl<P> Clone for MessageReceiver<P> {
    /// Another reader of the same queue: messages go to whichever reads first.
    fn clone(&self) -> Self {
        let lane = |lane: &LaneReceiver<P>| Box::pin(async_channel::Receiver::clone(lane));
        Self {
            bounded: lane(&self.bounded),
            unbounded: lane(&self.unbounded),
            priority: self.priority.as_ref().map(lane),
            metrics: self.metrics.clone(),
            received: Arc::clone(&self.received),
            timed: false,
        }
    }
}

/// Create the message queue of subsystem `subsystem`, reporting to `metrics` if given.
pub fn message_queue<P: Send + 'static>(
    subsystem: &'static str,
    config: QueueConfig,
    metrics: Option<&Metrics>,
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
    let queue_metrics = metrics.map(|metrics| {
        let depth = |lane: &LaneSender<P>| {
            let lane = lane.downgrade();
            Box::new(move || lane.upgrade().map_or(0, |lane| lane.len()))
                as Box<dyn Fn() -> usize + Send + Sync>
        };
        metrics.watch_queue(
            subsystem,
            Lane::Bounded.as_str(),
            Some(capacity),
            depth(&bounded_tx),
        );
        metrics.watch_queue(
            subsystem,
            Lane::Unbounded.as_str(),
            None,
            depth(&unbounded_tx),
        );
        if let Some(priority) = &priority_tx {
            metrics.watch_queue(
                subsystem,
                Lane::Priority.as_str(),
                Some(capacity),
                depth(priority),
            );
        }
        metrics.queue(subsystem)
    });
    let sender = MessageSender {
        subsystem,
        bounded: bounded_tx,
        unbounded: unbounded_tx,
        priority: priority_tx,
        warned_priority_fallback: Arc::new(AtomicBool::new(false)),
        metrics: queue_metrics.clone(),
    };
    let receiver = MessageReceiver {
        bounded: Box::pin(bounded_rx),
        unbounded: Box::pin(unbounded_rx),
        priority: priority_rx,
        metrics: queue_metrics,
        received: Arc::new(AtomicU64::new(0)),
        timed: false,
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

    fn lane(&self, level: PriorityLevel) -> (&LaneSender<P>, Lane) {
        match (level, &self.priority) {
            (PriorityLevel::High, Some(priority)) => (priority, Lane::Priority),
            (PriorityLevel::High, None) => {
                // orchestra falls back silently (polkadot-sdk#8948); we fall back loudly, once.
                if !self.warned_priority_fallback.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        subsystem = self.subsystem,
                        "priority message sent to a subsystem without `can_receive_priority_messages`; \
                         delivering it on the normal lane"
                    );
                }
                (&self.bounded, Lane::Bounded)
            }
            (PriorityLevel::Normal, _) => (&self.bounded, Lane::Bounded),
        }
    }

    fn envelope(&self, packet: MessagePacket<P>) -> Envelope<P> {
        let sent_at = self
            .metrics
            .as_ref()
            .and_then(|metrics| metrics.sample_send());
        Envelope { packet, sent_at }
    }

    fn closed(&self) -> OverseerError {
        OverseerError::QueueClosed {
            subsystem: self.subsystem,
        }
    }

    /// Send, waiting while the lane is full.
    pub async fn send(
        &self,
        packet: MessagePacket<P>,
        level: PriorityLevel,
    ) -> Result<(), OverseerError> {
        let (sender, lane) = self.lane(level);
        let envelope = self.envelope(packet);
        let sent = match sender.try_send(envelope) {
            Ok(()) => Ok(()),
            Err(async_channel::TrySendError::Closed(_)) => Err(self.closed()),
            Err(async_channel::TrySendError::Full(envelope)) => {
                if let Some(metrics) = &self.metrics {
                    metrics.on_blocked(lane);
                }
                sender.send(envelope).await.map_err(|_| self.closed())
            }
        };
        if let (Ok(()), Some(metrics)) = (&sent, &self.metrics) {
            metrics.on_sent(lane);
        }
        sent
    }

    /// Send without waiting; the packet comes back if the lane is full or closed.
    pub fn try_send(
        &self,
        packet: MessagePacket<P>,
        level: PriorityLevel,
    ) -> Result<(), TrySendError<MessagePacket<P>>> {
        let (sender, lane) = self.lane(level);
        match sender.try_send(self.envelope(packet)) {
            Ok(()) => {
                if let Some(metrics) = &self.metrics {
                    metrics.on_sent(lane);
                }
                Ok(())
            }
            Err(async_channel::TrySendError::Full(envelope)) => {
                Err(TrySendError::Full(envelope.packet))
            }
            Err(async_channel::TrySendError::Closed(envelope)) => {
                Err(TrySendError::Closed(envelope.packet))
            }
        }
    }

    /// Send on the unbounded lane: never waits, so only for traffic bounded by other means.
    pub fn send_unbounded(&self, packet: MessagePacket<P>) -> Result<(), OverseerError> {
        self.unbounded
            .try_send(self.envelope(packet))
            .map_err(|_| self.closed())?;
        if let Some(metrics) = &self.metrics {
            metrics.on_sent(Lane::Unbounded);
        }
        Ok(())
    }
}

impl<P> MessageReceiver<P> {
    fn received(&mut self, envelope: Envelope<P>, lane: Lane) -> MessagePacket<P> {
        // One count serves the stall watch and, with metrics, the processing-time sampling.
        let count = self.received.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.on_receive(lane, envelope.sent_at);
            self.timed = count.is_multiple_of(metrics.sample_every());
        }
        envelope.packet
    }

    /// Whether the message taken last is one whose processing time is sampled; asking clears it.
    pub(crate) fn take_timed(&mut self) -> bool {
        std::mem::take(&mut self.timed)
    }

    /// Take a message without waiting: priority lane first, then unbounded, then bounded.
    pub fn try_next(&mut self) -> Option<MessagePacket<P>> {
        if let Some(priority) = &self.priority {
            if let Ok(envelope) = priority.try_recv() {
                return Some(self.received(envelope, Lane::Priority));
            }
        }
        if let Ok(envelope) = self.unbounded.try_recv() {
            return Some(self.received(envelope, Lane::Unbounded));
        }
        let envelope = self.bounded.try_recv().ok()?;
        Some(self.received(envelope, Lane::Bounded))
    }

    /// Poll for the next message in the same lane order; `Ready(None)` once every lane is closed
    /// and drained.
    pub fn poll_next_packet(&mut self, cx: &mut Context<'_>) -> Poll<Option<MessagePacket<P>>> {
        let mut closed = 0;
        let mut lanes = 0;
        let mut ready = None;
        let priority = self.priority.iter_mut().map(|lane| (lane, Lane::Priority));
        let order = priority.chain([
            (&mut self.unbounded, Lane::Unbounded),
            (&mut self.bounded, Lane::Bounded),
        ]);
        for (receiver, lane) in order {
            lanes += 1;
            match receiver.as_mut().poll_next(cx) {
                Poll::Ready(Some(envelope)) => {
                    ready = Some((envelope, lane));
                    break;
                }
                Poll::Ready(None) => closed += 1,
                Poll::Pending => {}
            }
        }
        match ready {
            Some((envelope, lane)) => Poll::Ready(Some(self.received(envelope, lane))),
            None if closed == lanes => Poll::Ready(None),
            None => Poll::Pending,
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

    /// Messages taken from this queue so far, by any reader.
    pub fn received_count(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Close every lane: senders get `Closed` from now on; what is queued can still be read.
    pub fn close(&self) {
        self.bounded.close();
        self.unbounded.close();
        if let Some(priority) = &self.priority {
            priority.close();
        }
    }

    pub(crate) fn metrics(&self) -> Option<&QueueMetrics> {
        self.metrics.as_ref()
    }
}

/// Create the signal channel of one subsystem.
pub fn signal_channel<S>(
    capacity: usize,
) -> (async_channel::Sender<S>, async_channel::Receiver<S>) {
    async_channel::bounded(capacity.max(1))
}
