//! Per-channel Prometheus metrics.
//!
//! Pass a [`prometheus::Registry`] to the builder (`.metrics(Metrics::new(&registry)?)`) and every
//! queue of every subsystem reports, labelled by `subsystem` and `channel` (`bounded`,
//! `unbounded`, `priority`, and `signal` for the depth and capacity of the signal channel):
//!
//! | series | type | meaning |
//! |---|---|---|
//! | `overseer_messages_sent_total` | counter | messages enqueued |
//! | `overseer_messages_received_total` | counter | messages handed to the subsystem |
//! | `overseer_sends_blocked_total` | counter | sends that had to wait on a full queue |
//! | `overseer_queue_depth` | gauge | messages (or signals, `channel="signal"`) waiting, read at scrape time |
//! | `overseer_queue_capacity` | gauge | capacity of the lane |
//! | `overseer_time_of_flight_seconds` | histogram | enqueue to hand-over, 1 in N messages, waits included |
//! | `overseer_processing_seconds` | histogram | hand-over of a message until the subsystem asks for the next |
//! | `overseer_signals_sent_total` / `_received_total` | counter | signals |
//! | `overseer_subsystem_up` | gauge | 1 while the subsystem runs |
//! | `overseer_subsystem_restarts_total{reason}` | counter | restarts by `error`, `panic`, `exit`, `stall` |
//! | `overseer_subsystem_stalled` | gauge | 1 while the stall watch sees the subsystem stalled |
//! | `overseer_request_seconds{request}` | histogram | request sent until its answer arrived |
//!
//! Scraping reads; it never drains or resets anything.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// The lanes of a subsystem's queue, as the `channel` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The bounded message lane.
    Bounded,
    /// The unbounded message lane.
    Unbounded,
    /// The priority lane.
    Priority,
}

impl Lane {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bounded => "bounded",
            Self::Unbounded => "unbounded",
            Self::Priority => "priority",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

const LANES: [Lane; 3] = [Lane::Bounded, Lane::Unbounded, Lane::Priority];

/// Default sampling of time of flight: one message in 16.
pub const DEFAULT_TIME_OF_FLIGHT_SAMPLE_EVERY: u64 = 16;

/// The metric families of one overseer, registered in the user's registry.
#[derive(Clone)]
pub struct Metrics {
    sent: IntCounterVec,
    received: IntCounterVec,
    blocked: IntCounterVec,
    time_of_flight: HistogramVec,
    processing: HistogramVec,
    signals_sent: IntCounterVec,
    signals_received: IntCounterVec,
    up: IntGaugeVec,
    restarts: IntCounterVec,
    stalled: IntGaugeVec,
    requests: HistogramVec,
    queues: Arc<QueueCollector>,
    sample_every: u64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("sample_every", &self.sample_every)
            .finish_non_exhaustive()
    }
}

/// A metrics error: a name clash in the registry or bad options.
pub type MetricsError = prometheus::Error;

impl Metrics {
    /// Register every series under the default namespace `overseer`.
    pub fn new(registry: &Registry) -> Result<Self, MetricsError> {
        Self::with_namespace(registry, "overseer", DEFAULT_TIME_OF_FLIGHT_SAMPLE_EVERY)
    }

    /// Register every series under `namespace` (the series become `<namespace>_…`), sampling
    /// time of flight on one message in `sample_every` (at least 1).
    pub fn with_namespace(
        registry: &Registry,
        namespace: &str,
        sample_every: u64,
    ) -> Result<Self, MetricsError> {
        let channel = &["subsystem", "channel"];
        let subsystem = &["subsystem"];
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, MetricsError> {
                let vec = IntCounterVec::new(Opts::new(name, help).namespace(namespace), labels)?;
                registry.register(Box::new(vec.clone()))?;
                Ok(vec)
            };
        let gauge =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, MetricsError> {
                let vec = IntGaugeVec::new(Opts::new(name, help).namespace(namespace), labels)?;
                registry.register(Box::new(vec.clone()))?;
                Ok(vec)
            };
        let histogram =
            |name: &str, help: &str, labels: &[&str]| -> Result<HistogramVec, MetricsError> {
                let buckets = prometheus::exponential_buckets(0.000_001, 4.0, 12)?;
                let vec = HistogramVec::new(
                    HistogramOpts::new(name, help)
                        .namespace(namespace)
                        .buckets(buckets),
                    labels,
                )?;
                registry.register(Box::new(vec.clone()))?;
                Ok(vec)
            };
        let queues = Arc::new(QueueCollector {
            depth: IntGaugeVec::new(
                Opts::new(
                    "queue_depth",
                    "Messages waiting in a queue, read at scrape time.",
                )
                .namespace(namespace),
                channel,
            )?,
            capacity: IntGaugeVec::new(
                Opts::new("queue_capacity", "Capacity of a queue.").namespace(namespace),
                channel,
            )?,
            readers: Mutex::new(Vec::new()),
        });
        registry.register(Box::new(SharedCollector(Arc::clone(&queues))))?;
        Ok(Self {
            sent: counter(
                "messages_sent_total",
                "Messages enqueued for a subsystem.",
                channel,
            )?,
            received: counter(
                "messages_received_total",
                "Messages handed to a subsystem.",
                channel,
            )?,
            blocked: counter(
                "sends_blocked_total",
                "Sends that had to wait because the queue was full.",
                channel,
            )?,
            time_of_flight: histogram(
                "time_of_flight_seconds",
                "Time from enqueue to hand-over, sampled, waits included.",
                channel,
            )?,
            processing: histogram(
                "processing_seconds",
                "Time from handing a message to a subsystem until it asks for the next.",
                subsystem,
            )?,
            signals_sent: counter(
                "signals_sent_total",
                "Signals sent to a subsystem.",
                subsystem,
            )?,
            signals_received: counter(
                "signals_received_total",
                "Signals received by a subsystem.",
                subsystem,
            )?,
            up: gauge("subsystem_up", "1 while the subsystem runs.", subsystem)?,
            restarts: counter(
                "subsystem_restarts_total",
                "Restarts of a subsystem, by reason.",
                &["subsystem", "reason"],
            )?,
            stalled: gauge(
                "subsystem_stalled",
                "1 while the stall watch sees the subsystem stalled.",
                subsystem,
            )?,
            requests: histogram(
                "request_seconds",
                "Time from sending a request until its answer arrived.",
                &["subsystem", "request"],
            )?,
            queues,
            sample_every: sample_every.max(1),
        })
    }

    /// The handles of one subsystem's queue.
    pub(crate) fn queue(&self, subsystem: &'static str) -> QueueMetrics {
        let lane = |vec: &IntCounterVec| {
            LANES.map(|lane| vec.with_label_values(&[subsystem, lane.as_str()]))
        };
        QueueMetrics {
            sent: lane(&self.sent),
            received: lane(&self.received),
            blocked: lane(&self.blocked),
            time_of_flight: LANES.map(|lane| {
                self.time_of_flight
                    .with_label_values(&[subsystem, lane.as_str()])
            }),
            processing: self.processing.with_label_values(&[subsystem]),
            signal_sent: self.signals_sent.with_label_values(&[subsystem]),
            signal_received: self.signals_received.with_label_values(&[subsystem]),
            sample_every: self.sample_every,
            sampled: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Watch a queue's depth and capacity at scrape time.
    pub(crate) fn watch_queue(
        &self,
        subsystem: &'static str,
        lane: &'static str,
        capacity: Option<usize>,
        depth: Box<dyn Fn() -> usize + Send + Sync>,
    ) {
        if let Some(capacity) = capacity {
            self.queues
                .capacity
                .with_label_values(&[subsystem, lane])
                .set(capacity as i64);
        }
        if let Ok(mut readers) = self.queues.readers.lock() {
            readers.push((subsystem, lane, depth));
        }
    }

    /// `overseer_subsystem_up` of `subsystem`.
    pub(crate) fn up(&self, subsystem: &str) -> IntGauge {
        self.up.with_label_values(&[subsystem])
    }

    /// Count a restart.
    pub(crate) fn restart(&self, subsystem: &str, reason: &str) {
        self.restarts.with_label_values(&[subsystem, reason]).inc();
    }

    /// A request of `subsystem` was answered after `elapsed`.
    pub(crate) fn request_answered(
        &self,
        subsystem: &str,
        request: &str,
        elapsed: std::time::Duration,
    ) {
        self.requests
            .with_label_values(&[subsystem, request])
            .observe(elapsed.as_secs_f64());
    }

    /// `overseer_subsystem_stalled` of `subsystem`.
    pub(crate) fn stalled(&self, subsystem: &str) -> IntGauge {
        self.stalled.with_label_values(&[subsystem])
    }
}

/// The pre-resolved series of one subsystem's queue: the hot path touches no label maps.
#[derive(Clone, Debug)]
pub(crate) struct QueueMetrics {
    sent: [IntCounter; 3],
    received: [IntCounter; 3],
    blocked: [IntCounter; 3],
    time_of_flight: [Histogram; 3],
    processing: Histogram,
    signal_sent: IntCounter,
    signal_received: IntCounter,
    sample_every: u64,
    sampled: Arc<AtomicU64>,
}

impl QueueMetrics {
    /// Whether the message about to be sent on `lane` is timed: one in `sample_every`, blocked
    /// sends included, so the sampled share is exactly the configured one.
    pub(crate) fn sample_send(&self) -> Option<Instant> {
        let sequence = self.sampled.fetch_add(1, Ordering::Relaxed);
        sequence
            .is_multiple_of(self.sample_every)
            .then(Instant::now)
    }

    /// A message was enqueued.
    pub(crate) fn on_sent(&self, lane: Lane) {
        self.sent[lane.index()].inc();
    }

    /// A message had to wait for room.
    pub(crate) fn on_blocked(&self, lane: Lane) {
        self.blocked[lane.index()].inc();
    }

    /// A message was handed to the subsystem.
    pub(crate) fn on_receive(&self, lane: Lane, sent_at: Option<Instant>) {
        let index = lane.index();
        self.received[index].inc();
        if let Some(sent_at) = sent_at {
            self.time_of_flight[index].observe(sent_at.elapsed().as_secs_f64());
        }
    }

    /// One message in this many is timed.
    pub(crate) fn sample_every(&self) -> u64 {
        self.sample_every
    }

    /// The subsystem asked for the next message after getting the one timed at `started`.
    pub(crate) fn on_processed(&self, started: Instant) {
        self.processing.observe(started.elapsed().as_secs_f64());
    }

    pub(crate) fn on_signal_sent(&self) {
        self.signal_sent.inc();
    }

    pub(crate) fn on_signal_received(&self) {
        self.signal_received.inc();
    }
}

type DepthReader = (
    &'static str,
    &'static str,
    Box<dyn Fn() -> usize + Send + Sync>,
);

/// Depth and capacity gauges, refreshed from the live queues whenever they are collected.
struct QueueCollector {
    depth: IntGaugeVec,
    capacity: IntGaugeVec,
    readers: Mutex<Vec<DepthReader>>,
}

struct SharedCollector(Arc<QueueCollector>);

impl Collector for SharedCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs = self.0.depth.desc();
        descs.extend(self.0.capacity.desc());
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        if let Ok(readers) = self.0.readers.lock() {
            for (subsystem, lane, depth) in readers.iter() {
                self.0
                    .depth
                    .with_label_values(&[*subsystem, *lane])
                    .set(depth() as i64);
            }
        }
        let mut families = self.0.depth.collect();
        families.extend(self.0.capacity.collect());
        families
    }
}
