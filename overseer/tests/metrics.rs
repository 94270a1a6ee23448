#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Per-channel metrics: exact counts where the scenario is deterministic, live queue depth at
//! scrape time, counter-based sampling of time of flight and processing, and every series of the
//! exposition with its label names.

mod common;
mod support;

#[path = "../examples/metrics.rs"]
#[allow(dead_code)]
mod example;

use std::collections::BTreeSet;
use std::pin::pin;
use std::time::Duration;

use common::*;
use overseer::*;
use prometheus::Registry;
use support::*;
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kick;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item(pub u32);

pub type Source = Recorder<Kick>;
pub type Sink = Recorder<Item>;

/// The bounded lane of `sink` holds this many messages.
const CAPACITY: usize = 4;

#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Line {
    #[subsystem(consumes: Kick, sends: [Item])]
    source: Source,
    #[subsystem(consumes: Item, sends: [Kick], message_capacity: CAPACITY)]
    sink: Sink,
}

type SourceSender = LineSender<SourceOutgoingMessages>;

/// A built `Line` (not run) reporting into `registry` with sampling 1 in `sample_every`, and
/// the sender of its `source`.
async fn line(
    registry: &Registry,
    sink: Sink,
    sample_every: u64,
) -> (Line<TokioSpawner>, SourceSender) {
    let (give, sender) = oneshot::channel();
    let source = Script::new(move |mut ctx: LineSubsystemContext<Kick>| async move {
        let _ = give.send(ctx.sender().clone());
        until_conclude(&mut ctx).await
    });
    let (overseer, _handle) = Line::builder()
        .source(source)
        .sink(sink)
        .metrics(Metrics::with_namespace(registry, "overseer", sample_every).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();
    let sender = within("the source's sender", sender).await.unwrap();
    (overseer, sender)
}

const SINK_BOUNDED: &[(&str, &str)] = &[("subsystem", "sink"), ("channel", "bounded")];
const SINK_UNBOUNDED: &[(&str, &str)] = &[("subsystem", "sink"), ("channel", "unbounded")];

fn sent(registry: &Registry) -> u64 {
    counter(registry, "overseer_messages_sent_total", SINK_BOUNDED)
}
fn received(registry: &Registry) -> u64 {
    counter(registry, "overseer_messages_received_total", SINK_BOUNDED)
}
fn blocked(registry: &Registry) -> u64 {
    counter(registry, "overseer_sends_blocked_total", SINK_BOUNDED)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_that_find_the_queue_full_are_counted_as_blocked_exactly_and_all_are_received() {
    let registry = Registry::new();
    let (sink, mut log, open) = Sink::gated();
    let (_overseer, sender) = line(&registry, sink, 16).await;

    // Ten sends at once into a lane of four that nobody reads: each tries once when first
    // polled, so four get in and six find the lane full.
    let sends = (1..=10).map(|n| {
        let mut sender = sender.clone();
        async move { sender.send_message(Item(n)).await }
    });
    let mut sends = pin!(futures::future::join_all(sends));
    assert!(
        futures::poll!(sends.as_mut()).is_pending(),
        "the lane holds only {CAPACITY}"
    );
    assert_eq!(sent(&registry), 4, "sent before the consumer read anything");
    assert_eq!(
        blocked(&registry),
        6,
        "blocked before the consumer read anything"
    );
    assert_eq!(received(&registry), 0);

    open.send(()).unwrap();
    within("every send to complete", sends).await;
    let seen = take(&mut log, 10).await;
    let mut numbers: Vec<u32> = seen
        .into_iter()
        .map(|seen| match seen {
            Seen::Message(Item(n)) => n,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=10).collect::<Vec<_>>());

    assert_eq!(sent(&registry), 10);
    assert_eq!(received(&registry), 10);
    assert_eq!(
        blocked(&registry),
        6,
        "a blocked send is counted once, not per retry"
    );
    assert_eq!(
        counter(&registry, "overseer_messages_sent_total", SINK_UNBOUNDED),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_depth_is_the_number_of_queued_messages_at_scrape_time() {
    let registry = Registry::new();
    let (sink, mut log, open) = Sink::gated();
    let (_overseer, mut sender) = line(&registry, sink, 16).await;
    let depth = |labels| gauge(&registry, "overseer_queue_depth", labels);

    assert_eq!(
        depth(SINK_BOUNDED),
        Some(0),
        "the depth series exists from build()"
    );
    assert_eq!(
        gauge(&registry, "overseer_queue_capacity", SINK_BOUNDED),
        Some(CAPACITY as i64)
    );
    for n in 1..=3 {
        sender.send_message(Item(n)).await;
    }
    sender.send_unbounded_message(Item(4));
    assert_eq!(depth(SINK_BOUNDED), Some(3));
    assert_eq!(depth(SINK_UNBOUNDED), Some(1));
    // Scraping does not drain anything.
    assert_eq!(depth(SINK_BOUNDED), Some(3));

    open.send(()).unwrap();
    assert_eq!(take(&mut log, 4).await.len(), 4);
    assert_eq!(depth(SINK_BOUNDED), Some(0));
    assert_eq!(depth(SINK_UNBOUNDED), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_of_flight_samples_one_message_in_sixteen_blocked_sends_included() {
    const MESSAGES: u32 = 10_000;
    const AT_ONCE: u32 = 5_000;
    const EVERY: u64 = 16;
    let registry = Registry::new();
    let (sink, mut log, open) = Sink::gated();
    let (_overseer, sender) = line(&registry, sink, EVERY).await;

    // Half the messages at once while the gate is shut: all but `CAPACITY` of them block.
    // Then the other half one after the other, racing the consumer through a lane of four.
    let producer = tokio::spawn(async move {
        let at_once = (0..AT_ONCE).map(|n| {
            let mut sender = sender.clone();
            async move { sender.send_message(Item(n)).await }
        });
        futures::future::join_all(at_once).await;
        let mut sender = sender;
        for n in AT_ONCE..MESSAGES {
            sender.send_message(Item(n)).await;
        }
    });
    until("every concurrent send to try once", || {
        sent(&registry) + blocked(&registry) == u64::from(AT_ONCE)
    })
    .await;
    assert_eq!(sent(&registry), CAPACITY as u64);
    assert_eq!(blocked(&registry), u64::from(AT_ONCE) - CAPACITY as u64);
    // A slow consumer: message 0 (sampled) waits at least this long in the queue.
    let slow = Duration::from_millis(20);
    tokio::time::sleep(slow).await;
    open.send(()).unwrap();
    within("the producer to finish", producer).await.unwrap();
    assert_eq!(
        take(&mut log, MESSAGES as usize).await.len(),
        MESSAGES as usize
    );

    let (samples, seconds) = histogram(&registry, "overseer_time_of_flight_seconds", SINK_BOUNDED);
    let blocked = blocked(&registry);
    let expected = u64::from(MESSAGES).div_ceil(EVERY);
    println!(
        "time of flight: {samples} samples over {MESSAGES} messages (expected {expected}), \
         {blocked} sends blocked, {seconds:.6} s sampled in total"
    );
    let (low, high) = (expected * 8 / 10, expected * 12 / 10);
    assert!(
        (low..=high).contains(&samples),
        "{samples} samples, not within ±20% of {expected}"
    );
    assert_eq!(samples, expected, "counter-based sampling is exact");
    assert!(blocked >= u64::from(AT_ONCE) - CAPACITY as u64);
    assert!(
        seconds >= slow.as_secs_f64(),
        "message 0 waited {slow:?} behind the gate; its time of flight includes that wait"
    );
    assert_eq!(received(&registry), u64::from(MESSAGES));

    // Processing is sampled the same way; every sampled message was followed by another recv.
    let (processing, _) = histogram(
        &registry,
        "overseer_processing_seconds",
        &[("subsystem", "sink")],
    );
    assert_eq!(processing, expected);
}

/// Every series of the brief, its type and its label names.
const SERIES: &[(&str, &str, &[&str])] = &[
    (
        "overseer_messages_sent_total",
        "counter",
        &["channel", "subsystem"],
    ),
    (
        "overseer_messages_received_total",
        "counter",
        &["channel", "subsystem"],
    ),
    (
        "overseer_sends_blocked_total",
        "counter",
        &["channel", "subsystem"],
    ),
    ("overseer_queue_depth", "gauge", &["channel", "subsystem"]),
    (
        "overseer_queue_capacity",
        "gauge",
        &["channel", "subsystem"],
    ),
    (
        "overseer_time_of_flight_seconds",
        "histogram",
        &["channel", "subsystem"],
    ),
    ("overseer_processing_seconds", "histogram", &["subsystem"]),
    ("overseer_signals_sent_total", "counter", &["subsystem"]),
    ("overseer_signals_received_total", "counter", &["subsystem"]),
    ("overseer_subsystem_up", "gauge", &["subsystem"]),
    (
        "overseer_subsystem_restarts_total",
        "counter",
        &["reason", "subsystem"],
    ),
    ("overseer_subsystem_stalled", "gauge", &["subsystem"]),
    (
        "overseer_request_seconds",
        "histogram",
        &["request", "subsystem"],
    ),
];

/// One sample line of a text exposition: its metric name and label names (`le` left out).
fn parse_sample(line: &str) -> (String, BTreeSet<String>) {
    let (name, rest) = match line.find('{') {
        Some(open) => (&line[..open], &line[open + 1..]),
        None => (line.split(' ').next().unwrap(), ""),
    };
    let mut labels = BTreeSet::new();
    let mut rest = rest;
    while let Some(equals) = rest.find("=\"") {
        let label = rest[..equals].trim_start_matches(',');
        let value = &rest[equals + 2..];
        let close = value.find('"').expect("a closing quote");
        if label != "le" {
            labels.insert(label.to_owned());
        }
        rest = &value[close + 1..];
        if rest.starts_with('}') {
            break;
        }
    }
    (name.to_owned(), labels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_example_exposes_every_series_with_its_label_names() {
    let scrape = within("the metrics example", example::scenario())
        .await
        .unwrap();
    let text = &scrape.exposition;
    let samples: Vec<_> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(parse_sample)
        .collect();
    for (series, kind, labels) in SERIES {
        assert!(
            text.lines()
                .any(|line| line == format!("# TYPE {series} {kind}")),
            "`{series}` ({kind}) is missing from the exposition:\n{text}"
        );
        let names: Vec<String> = if *kind == "histogram" {
            ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{series}{suffix}"))
                .collect()
        } else {
            vec![(*series).to_owned()]
        };
        let of_series: Vec<_> = samples
            .iter()
            .filter(|(name, _)| names.contains(name))
            .collect();
        assert!(!of_series.is_empty(), "`{series}` has no sample:\n{text}");
        let expected: BTreeSet<String> = labels.iter().map(|label| (*label).to_owned()).collect();
        for (name, found) in of_series {
            assert_eq!(found, &expected, "label names of `{name}`");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_example_traffic_touches_every_series() {
    let scrape = within("the metrics example", example::scenario())
        .await
        .unwrap();
    let registry = &scrape.registry;
    assert!(scrape.report.is_clean(), "{}", scrape.report);
    assert_eq!(scrape.stock_level, 42);
    assert_eq!(scrape.stall.subsystem, "sleepy");
    assert!(scrape.stall.queued >= 1, "{:?}", scrape.stall);

    let worker = &[("subsystem", "worker"), ("channel", "bounded")];
    assert_eq!(restarts(registry, "worker", "panic"), 1);
    assert_eq!(
        histogram(
            registry,
            "overseer_request_seconds",
            &[("subsystem", "front"), ("request", "Lookup")]
        )
        .0,
        1
    );
    assert!(counter(registry, "overseer_sends_blocked_total", worker) >= 1);
    assert_eq!(gauge(registry, "overseer_queue_capacity", worker), Some(2));
    // The order that made the first incarnation panic was received and lost with it.
    let orders = u64::from(example::ORDERS);
    assert_eq!(
        counter(registry, "overseer_messages_sent_total", worker),
        orders
    );
    assert_eq!(
        counter(registry, "overseer_messages_received_total", worker),
        orders
    );
    assert!(histogram(registry, "overseer_time_of_flight_seconds", worker).0 >= 1);
    for subsystem in ["front", "worker", "stock", "sleepy"] {
        let labels = &[("subsystem", subsystem)];
        // The tick and the conclude of the shutdown.
        assert_eq!(
            counter(registry, "overseer_signals_sent_total", labels),
            2,
            "{subsystem}"
        );
        assert_eq!(
            counter(registry, "overseer_signals_received_total", labels),
            2,
            "{subsystem}"
        );
        assert_eq!(
            gauge(registry, "overseer_subsystem_up", labels),
            Some(0),
            "{subsystem} ended"
        );
    }
    assert!(
        histogram(
            registry,
            "overseer_processing_seconds",
            &[("subsystem", "worker")]
        )
        .0 >= 1
    );
    assert_eq!(
        gauge(
            registry,
            "overseer_subsystem_stalled",
            &[("subsystem", "sleepy")]
        ),
        Some(0),
        "the overseer stopped: nothing is stalled any more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signal_channel_reports_its_depth_and_capacity_under_channel_signal() {
    let scrape = within("the metrics example", example::scenario())
        .await
        .unwrap();
    let text = &scrape.exposition;
    for series in ["overseer_queue_depth{", "overseer_queue_capacity{"] {
        assert!(
            text.lines()
                .any(|line| line.starts_with(series) && line.contains(r#"channel="signal""#)),
            "{series} has no channel=\"signal\" sample:\n{text}"
        );
    }
}
