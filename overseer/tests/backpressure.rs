#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Bounded queues: a send waits at capacity and resumes, `try_send_message` hands the message
//! back, and the priority lane overtakes queued normal messages.

mod common;

use std::pin::pin;
use std::time::Duration;

use common::*;
use futures::{FutureExt, StreamExt};
use overseer::*;
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kick;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item(pub u32);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urgent(pub u32);

pub type Sink = Recorder<Item>;
pub type Lane = Recorder<Urgent>;

#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Flow {
    #[subsystem(consumes: Kick, sends: [Item, priority Urgent])]
    source: Source,
    #[subsystem(consumes: Item, sends: [Kick], message_capacity: 4)]
    sink: Sink,
    #[subsystem(consumes: Urgent, sends: [Kick], can_receive_priority_messages)]
    lane: Lane,
}

/// The sender `source` sends with.
type SourceSender = FlowSender<SourceOutgoingMessages>;

/// A `source` that hands its sender to the test, then waits for `Conclude`.
#[derive(Debug)]
pub struct Source {
    sender: oneshot::Sender<SourceSender>,
}

impl Subsystem<FlowSubsystemContext<Kick>, OverseerError> for Source {
    fn start(self, mut ctx: FlowSubsystemContext<Kick>) -> SpawnedSubsystem<OverseerError> {
        let _ = self.sender.send(ctx.sender().clone());
        SpawnedSubsystem {
            name: "source",
            future: Box::pin(async move {
                loop {
                    if let FromOverseer::Signal(Sig::Conclude) = ctx.recv().await? {
                        return Ok(());
                    }
                }
            }),
        }
    }
}

/// A built `Flow` (never run) with the given sink and lane, and the source's sender.
async fn flow(
    sink: impl Subsystem<FlowSubsystemContext<Item>, OverseerError> + Send + 'static,
    lane: impl Subsystem<FlowSubsystemContext<Urgent>, OverseerError> + Send + 'static,
) -> (Flow<TokioSpawner>, SourceSender) {
    let (sender, source_sender) = oneshot::channel();
    let (overseer, _handle) = Flow::builder()
        .source(Source { sender })
        .sink(sink)
        .lane(lane)
        .spawner(spawner())
        .build()
        .unwrap();
    let sender = within("the source's sender", source_sender).await.unwrap();
    (overseer, sender)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_send_waits_at_capacity_and_resumes_once_the_consumer_reads() {
    let (sink, mut sink_log, open) = Sink::gated();
    let (lane, _lane_log) = Lane::new();
    let (_overseer, mut sender) = flow(sink, lane).await;

    for n in 1..=4 {
        assert_eq!(
            sender.send_message(Item(n)).now_or_never(),
            Some(()),
            "send {n} of 4 fits in the queue"
        );
    }
    let mut fifth = pin!(sender.send_message(Item(5)));
    assert!(fifth.as_mut().now_or_never().is_none(), "the queue is full");
    // Still waiting a while later: it waits for room, not for a moment.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), fifth.as_mut())
            .await
            .is_err(),
        "the fifth send completed while the consumer read nothing"
    );

    open.send(()).unwrap();
    within("the fifth send to complete", fifth).await;
    let expected: Vec<_> = (1..=5).map(|n| Seen::Message(Item(n))).collect();
    assert_eq!(take(&mut sink_log, 5).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_send_gives_the_message_back_when_the_queue_is_full() {
    let (sink, mut sink_log, open) = Sink::gated();
    let (lane, _lane_log) = Lane::new();
    let (_overseer, mut sender) = flow(sink, lane).await;

    for n in 1..=4 {
        sender.try_send_message(Item(n)).unwrap();
    }
    let error = sender.try_send_message(Item(5)).unwrap_err();
    assert!(error.is_full(), "{error:?}");
    assert_eq!(error.into_inner(), Item(5));

    // Room again once the consumer reads.
    open.send(()).unwrap();
    assert_eq!(take(&mut sink_log, 4).await.len(), 4);
    sender.try_send_message(Item(6)).unwrap();
    assert_eq!(next(&mut sink_log).await, Seen::Message(Item(6)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_send_gives_the_message_back_when_the_consumer_has_ended() {
    // The overseer holds only the sending halves of a queue; the receiving half lives in the
    // consumer's context. A consumer that ended dropped its context, which closes its queue
    // while the overseer is still alive.
    let (lane, _lane_log) = Lane::new();
    let (mut overseer, mut sender) = flow(Ends(Ending::Return), lane).await;
    let exit = within("the sink to end", overseer.running_subsystems.next())
        .await
        .unwrap();
    assert_eq!(
        exit,
        Ok(SubsystemExit {
            name: "sink",
            outcome: ExitOutcome::Ok
        })
    );

    let error = sender.try_send_message(Item(7)).unwrap_err();
    assert!(error.is_closed(), "{error:?}");
    assert_eq!(error.into_inner(), Item(7));
    // A waiting send to the ended consumer does not wait forever either: the message is dropped.
    within("a send to an ended consumer", sender.send_message(Item(8))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_priority_message_overtakes_already_queued_normal_ones() {
    let (sink, _sink_log) = Sink::new();
    let (lane, mut lane_log, open) = Lane::gated();
    let (_overseer, mut sender) = flow(sink, lane).await;

    for n in 1..=3 {
        sender.send_message(Urgent(n)).await;
    }
    sender
        .send_message_with_priority::<HighPriority>(Urgent(99))
        .await;
    open.send(()).unwrap();

    assert_eq!(
        take(&mut lane_log, 4).await,
        [
            Seen::Message(Urgent(99)),
            Seen::Message(Urgent(1)),
            Seen::Message(Urgent(2)),
            Seen::Message(Urgent(3)),
        ]
    );
}
