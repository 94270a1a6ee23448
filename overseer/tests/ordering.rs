#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Delivery order: FIFO per channel, signals before queued messages, and the watermark rule
//! (a message sent after its sender saw signal N is not handled before the receiver saw N).

mod common;

use common::*;
use overseer::*;
use proptest::prelude::*;
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Go;

/// `Numbered(k)`: from the relay, "I had seen k signals when I sent this".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered(pub u32);

pub type Consumer = Recorder<Numbered>;

#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Pipe {
    #[subsystem(consumes: Go, sends: [Numbered])]
    producer: Producer,
    // A signal channel of one: a second signal waits until the consumer reads the first.
    #[subsystem(consumes: Numbered, sends: [Go], signal_capacity: 1)]
    consumer: Consumer,
}

/// A producer that sends `Numbered(1..=count)` at start, then waits for `Conclude`.
#[derive(Debug)]
pub struct Burst {
    count: u32,
}

#[overseer::subsystem(Producer, error = OverseerError)]
impl<Ctx> Burst {
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "burst",
            future: Box::pin(async move {
                for n in 1..=self.count {
                    ctx.send_message(Numbered(n)).await;
                }
                loop {
                    if let FromOverseer::Signal(Sig::Conclude) = ctx.recv().await? {
                        return Ok(());
                    }
                }
            }),
        }
    }
}

/// A producer that, on its k-th signal, sends `Numbered(k)` and then reports `k`.
#[derive(Debug)]
pub struct Relay {
    sent: mpsc::UnboundedSender<u32>,
}

impl Relay {
    fn new() -> (Self, mpsc::UnboundedReceiver<u32>) {
        let (sent, reports) = mpsc::unbounded_channel();
        (Self { sent }, reports)
    }
}

#[overseer::subsystem(Producer, error = OverseerError)]
impl<Ctx> Relay {
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "relay",
            future: Box::pin(async move {
                let mut seen = 0;
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Signal(Sig::Conclude) => return Ok(()),
                        FromOverseer::Signal(_) => {
                            seen += 1;
                            ctx.send_message(Numbered(seen)).await;
                            let _ = self.sent.send(seen);
                        }
                        FromOverseer::Communication { msg: Go } => {}
                    }
                }
            }),
        }
    }
}

/// Wait until the relay reports having sent `Numbered(k)`.
async fn relay_sent(reports: &mut mpsc::UnboundedReceiver<u32>, k: u32) {
    let reported = within("the relay to send", reports.recv()).await;
    assert_eq!(reported, Some(k));
}

/// Every message `Numbered(k)` must come after at least `k` signals; returns the messages.
fn check_watermarks(log: &[Seen<Numbered>]) -> Vec<u32> {
    let mut signals = 0;
    let mut messages = Vec::new();
    for seen in log {
        match seen {
            Seen::Signal(_) => signals += 1,
            Seen::Message(Numbered(k)) => {
                assert!(
                    signals >= *k,
                    "Numbered({k}) handled after only {signals} signals: {log:?}"
                );
                messages.push(*k);
            }
        }
    }
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_one_sender_arrive_in_the_order_sent() {
    let (consumer, mut log) = Consumer::new();
    let (_overseer, _handle) = Pipe::builder()
        .producer(Burst { count: 1000 })
        .consumer(consumer)
        .spawner(spawner())
        // Small queues, so the producer keeps blocking and resuming along the way.
        .message_channel_capacity(8)
        .build()
        .unwrap();

    let received = take(&mut log, 1000).await;
    let expected: Vec<_> = (1..=1000).map(|n| Seen::Message(Numbered(n))).collect();
    assert_eq!(received, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_signal_is_received_before_already_queued_messages() {
    let (producer, _producer_log) = Recorder::<Go>::new();
    let (consumer, mut log, open) = Consumer::gated();
    let (mut overseer, _handle) = Pipe::builder()
        .producer(producer)
        .consumer(consumer)
        .spawner(spawner())
        .build()
        .unwrap();

    overseer
        .route_message(AllMessages::Numbered(Numbered(1)), "test")
        .await
        .unwrap();
    overseer
        .route_message(AllMessages::Numbered(Numbered(2)), "test")
        .await
        .unwrap();
    overseer.broadcast_signal(Sig::Tick(1)).await.unwrap();
    open.send(()).unwrap();

    assert_eq!(
        take(&mut log, 3).await,
        [
            Seen::Signal(Sig::Tick(1)),
            Seen::Message(Numbered(1)),
            Seen::Message(Numbered(2)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_sent_after_signal_n_waits_until_the_receiver_saw_signal_n() {
    let (relay, mut sent) = Relay::new();
    let (consumer, mut log) = Consumer::new();
    let (mut overseer, _handle) = Pipe::builder()
        .producer(relay)
        .consumer(consumer)
        .spawner(spawner())
        .build()
        .unwrap();

    // Only the relay gets the signal: the consumer's delivery is delayed indefinitely.
    overseer.producer.send_signal(Sig::Tick(1)).await.unwrap();
    relay_sent(&mut sent, 1).await;
    // The consumer has taken `Numbered(1)` off its queue (it is actively receiving)...
    let consumer_queue = &overseer.consumer.instance.as_ref().unwrap().tx_bounded;
    until("the consumer to take the message", || {
        consumer_queue.is_empty()
    })
    .await;
    // ...and only now gets signal 1, which must still come first.
    overseer.consumer.send_signal(Sig::Tick(1)).await.unwrap();
    assert_eq!(
        take(&mut log, 2).await,
        [Seen::Signal(Sig::Tick(1)), Seen::Message(Numbered(1))]
    );

    // A receiver already at the sender's watermark gets the message at once.
    overseer.consumer.send_signal(Sig::Tick(2)).await.unwrap();
    assert_eq!(next(&mut log).await, Seen::Signal(Sig::Tick(2)));
    overseer.producer.send_signal(Sig::Tick(2)).await.unwrap();
    relay_sent(&mut sent, 2).await;
    assert_eq!(next(&mut log).await, Seen::Message(Numbered(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermark_holds_while_the_receivers_signal_waits_behind_a_full_signal_channel() {
    let (relay, mut sent) = Relay::new();
    let (consumer, mut log, open) = Consumer::gated();
    let (overseer, handle) = Pipe::builder()
        .producer(relay)
        .consumer(consumer)
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    // The consumer does not read: signal 1 fills its one-slot signal channel, and the
    // broadcast of signal 2 reaches the relay but is stuck in front of the consumer.
    handle.broadcast_signal(Sig::Tick(1)).await.unwrap();
    handle.broadcast_signal(Sig::Tick(2)).await.unwrap();
    relay_sent(&mut sent, 1).await;
    relay_sent(&mut sent, 2).await;
    open.send(()).unwrap();

    let received = take(&mut log, 4).await;
    assert_eq!(check_watermarks(&received), [1, 2]);
    assert_eq!(received.iter().filter(|seen| seen.is_signal()).count(), 2);

    handle.shutdown(DEADLINE).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_commands_keep_their_order_while_the_run_loop_waits_for_room() {
    let (producer, _producer_log) = Recorder::<Go>::new();
    let (consumer, mut log, open) = Consumer::gated();
    let (overseer, handle) = Pipe::builder()
        .producer(producer)
        .consumer(consumer)
        .spawner(spawner())
        .message_channel_capacity(2)
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    // The consumer reads nothing yet: the run loop waits for room from the third message on,
    // while the rest of these commands queue up behind it.
    for n in 1..=10 {
        handle.send_message(Numbered(n)).await.unwrap();
    }
    handle.broadcast_signal(Sig::Tick(1)).await.unwrap();
    for n in 11..=20 {
        handle.send_message(Numbered(n)).await.unwrap();
    }
    open.send(()).unwrap();

    let received = take(&mut log, 21).await;
    let messages: Vec<_> = received
        .iter()
        .filter_map(|seen| match seen {
            Seen::Message(Numbered(n)) => Some(*n),
            Seen::Signal(_) => None,
        })
        .collect();
    assert_eq!(messages, (1..=20).collect::<Vec<_>>());
    let tick = received
        .iter()
        .position(|seen| *seen == Seen::Signal(Sig::Tick(1)))
        .unwrap();
    let eleven = received
        .iter()
        .position(|seen| *seen == Seen::Message(Numbered(11)))
        .unwrap();
    assert!(tick < eleven, "{received:?}");

    handle.shutdown(DEADLINE).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

/// One step of a random interleaving.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Send the next signal to the relay only.
    SignalRelay,
    /// Send the next signal to the consumer only.
    SignalConsumer,
    /// Wait until the relay has sent its message for every signal it was sent.
    AwaitRelay,
    /// Let other tasks run.
    Yield,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::SignalRelay),
        Just(Step::SignalConsumer),
        Just(Step::AwaitRelay),
        Just(Step::Yield),
    ]
}

/// Run `steps`, then bring both to the same number of signals and collect what the consumer
/// received.
async fn interleave(steps: Vec<Step>) -> Vec<Seen<Numbered>> {
    let (relay, mut sent) = Relay::new();
    let (consumer, mut log) = Consumer::new();
    let (mut overseer, _handle) = Pipe::builder()
        .producer(relay)
        .consumer(consumer)
        .spawner(spawner())
        .build()
        .unwrap();

    let (mut to_relay, mut to_consumer, mut relay_acked) = (0, 0, 0);
    for step in steps {
        match step {
            Step::SignalRelay => {
                to_relay += 1;
                overseer
                    .producer
                    .send_signal(Sig::Tick(to_relay))
                    .await
                    .unwrap();
            }
            Step::SignalConsumer => {
                to_consumer += 1;
                within(
                    "the consumer's signal channel",
                    overseer.consumer.send_signal(Sig::Tick(to_consumer)),
                )
                .await
                .unwrap();
            }
            Step::AwaitRelay => {
                while relay_acked < to_relay {
                    relay_acked += 1;
                    relay_sent(&mut sent, relay_acked).await;
                }
            }
            Step::Yield => tokio::task::yield_now().await,
        }
    }
    let total = to_relay.max(to_consumer);
    while to_relay < total {
        to_relay += 1;
        overseer
            .producer
            .send_signal(Sig::Tick(to_relay))
            .await
            .unwrap();
    }
    while to_consumer < total {
        to_consumer += 1;
        within(
            "the consumer's signal channel",
            overseer.consumer.send_signal(Sig::Tick(to_consumer)),
        )
        .await
        .unwrap();
    }
    // `total` signals and the relay's `total` messages.
    take(&mut log, 2 * total as usize).await
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn receiver_never_handles_a_message_before_the_signals_its_sender_had_seen(
        steps in proptest::collection::vec(step(), 0..40)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let received = runtime.block_on(interleave(steps));
        let total = received.iter().filter(|seen| seen.is_signal()).count() as u32;
        // Checks the property (panicking with the log on a violation), and that every
        // message arrived, in order.
        let messages = check_watermarks(&received);
        prop_assert_eq!(messages, (1..=total).collect::<Vec<_>>());
    }
}
