//! Test one subsystem in isolation: give it a real context, feed it messages and signals, and
//! read what it sends as `AllMessages` — all with timeouts, none of the other subsystems needed.
//!
//! The macro generates `<Name>Spec::harness::<M>(spawner)` for every overseer; it returns the
//! context to `start` the subsystem consuming `M` with, and the [`TestHandle`] that plays the
//! rest of the overseer.

use std::any::Any;
use std::fmt;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{self, Either};
use futures_timer::Delay;

use crate::channel::{signal_channel, MessageReceiver, MessageSender, QueueConfig};
use crate::context::OverseerContext;
use crate::message::{make_packet, PriorityLevel, SignalsReceived};
use crate::route::Consumed;
use crate::sender::OverseerSender;
use crate::spawner::Spawner;
use crate::spec::OverseerSpec;

/// Polls one queue for its next message, as `AllMessages`.
type PollNext<A> = Box<dyn FnMut(&mut Context<'_>) -> Poll<Option<A>> + Send>;

/// One queue of the test channels: who reads it, and how its messages become `AllMessages`.
pub struct TestQueue<A> {
    subsystem: &'static str,
    receiver: Box<dyn Any + Send>,
    poll: PollNext<A>,
}

impl<A> fmt::Debug for TestQueue<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestQueue")
            .field("subsystem", &self.subsystem)
            .finish_non_exhaustive()
    }
}

impl<A: 'static> TestQueue<A> {
    /// A queue of `subsystem` whose payloads become `A` through `convert`.
    pub fn new<P: Send + 'static>(
        subsystem: &'static str,
        receiver: MessageReceiver<P>,
        convert: fn(P) -> A,
    ) -> Self {
        let mut reader = receiver.clone();
        Self {
            subsystem,
            receiver: Box::new(receiver),
            poll: Box::new(move |cx| {
                reader
                    .poll_next_packet(cx)
                    .map(|packet| packet.map(|packet| convert(packet.message)))
            }),
        }
    }
}

/// Channels that can be made for a test, with a reader for every queue. Generated for every
/// overseer's `ChannelsOut`.
pub trait TestChannels: Sized {
    /// The overseer's message enum.
    type AllMessages;
    /// Channels whose queues are all read by the returned test queues.
    fn for_test(config: QueueConfig) -> (Self, Vec<TestQueue<Self::AllMessages>>);
}

/// Why the harness did not get what a test waited for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HarnessError {
    /// Nothing arrived in time.
    #[error("nothing arrived within {0:?}")]
    Timeout(Duration),
    /// The subsystem's queue or signal channel is closed: it ended.
    #[error("the subsystem under test is gone")]
    Gone,
}

/// Plays the rest of the overseer for one subsystem under test.
pub struct TestHandle<M, Spec: OverseerSpec>
where
    M: Consumed<Spec::Channels>,
{
    queue: MessageSender<M::Payload>,
    signals: async_channel::Sender<Spec::Signal>,
    signals_sent: usize,
    outgoing: Vec<TestQueue<Spec::AllMessages>>,
}

impl<M, Spec> fmt::Debug for TestHandle<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumed<Spec::Channels>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHandle")
            .field("overseer", &Spec::NAME)
            .field("subsystem", &self.queue.subsystem())
            .field("signals_sent", &self.signals_sent)
            .finish_non_exhaustive()
    }
}

/// Queue capacities of the harness: roomy, so tests do not block by accident.
const TEST_QUEUES: QueueConfig = QueueConfig {
    message_capacity: 1024,
    signal_capacity: 64,
    priority: true,
};

/// A context for the subsystem consuming `M` (whose outgoing enum is `O`) and the handle that
/// feeds it and reads what it sends. Prefer the generated `<Name>Spec::harness::<M>(spawner)`.
pub fn harness<M, O, Spec, Sp>(spawner: Sp) -> (OverseerContext<M, O, Spec>, TestHandle<M, Spec>)
where
    Spec: OverseerSpec,
    Spec::Channels: TestChannels<AllMessages = Spec::AllMessages>,
    M: Consumed<Spec::Channels>,
    Sp: Spawner + 'static,
{
    let (channels, mut outgoing) = <Spec::Channels as TestChannels>::for_test(TEST_QUEUES);
    let queue = M::queue(&channels).clone();
    let own = outgoing
        .iter()
        .position(|test_queue| test_queue.subsystem == queue.subsystem());
    let receiver = own
        .map(|position| outgoing.remove(position))
        .and_then(|test_queue| {
            test_queue
                .receiver
                .downcast::<MessageReceiver<M::Payload>>()
                .ok()
        });
    // The generated channels always have a queue per consumed message; a fresh one keeps the
    // harness usable even for a hand-written `TestChannels`.
    let messages = match receiver {
        Some(receiver) => *receiver,
        None => crate::channel::message_queue::<M::Payload>(queue.subsystem(), TEST_QUEUES, None).1,
    };
    let (signals, signal_receiver) = signal_channel(TEST_QUEUES.signal_capacity);
    let signals_received = SignalsReceived::default();
    let sender = OverseerSender::new(
        queue.subsystem(),
        Arc::new(channels),
        signals_received.clone(),
        None,
    );
    let context = OverseerContext::new(
        queue.subsystem(),
        messages,
        signal_receiver,
        sender,
        signals_received,
        Arc::new(spawner),
    );
    (
        context,
        TestHandle {
            queue,
            signals,
            signals_sent: 0,
            outgoing,
        },
    )
}

impl<M, Spec> TestHandle<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumed<Spec::Channels>,
{
    /// Send a message to the subsystem under test, as a subsystem that saw every signal sent
    /// so far.
    pub async fn send(&mut self, message: M) -> Result<(), HarnessError> {
        let packet = make_packet(self.signals_sent, message.into_payload());
        self.queue
            .send(packet, PriorityLevel::Normal)
            .await
            .map_err(|_| HarnessError::Gone)
    }

    /// Send a signal to the subsystem under test.
    pub async fn signal(&mut self, signal: Spec::Signal) -> Result<(), HarnessError> {
        self.signals
            .send(signal)
            .await
            .map_err(|_| HarnessError::Gone)?;
        self.signals_sent += 1;
        Ok(())
    }

    /// The next message the subsystem sent, to whichever subsystem, within `timeout`.
    pub async fn recv(&mut self, timeout: Duration) -> Result<Spec::AllMessages, HarnessError> {
        let outgoing = &mut self.outgoing;
        let next = poll_fn(|cx| {
            for test_queue in outgoing.iter_mut() {
                if let Poll::Ready(Some(message)) = (test_queue.poll)(cx) {
                    return Poll::Ready(message);
                }
            }
            Poll::Pending
        });
        futures::pin_mut!(next);
        match future::select(next, Delay::new(timeout)).await {
            Either::Left((message, _)) => Ok(message),
            Either::Right(_) => Err(HarnessError::Timeout(timeout)),
        }
    }

    /// Assert-friendly: `true` if the subsystem sends nothing within `quiet`.
    pub async fn sends_nothing_within(&mut self, quiet: Duration) -> bool {
        matches!(self.recv(quiet).await, Err(HarnessError::Timeout(_)))
    }

    /// Messages waiting in the subsystem's own queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}
