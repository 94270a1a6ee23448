//! Shared pieces of the production-feature tests: a subsystem written as a closure, and readers
//! of the Prometheus registry.
//!
//! Every test binary includes this module but uses only part of it.
#![allow(dead_code)]

use std::future::Future;

use futures::future::BoxFuture;
use overseer::*;
use prometheus::proto::{Metric, MetricFamily};
use prometheus::Registry;

use crate::common::Sig;

/// A subsystem for any slot whose whole life is the given closure of its context.
pub struct Script<Ctx>(
    Box<dyn FnOnce(Ctx) -> BoxFuture<'static, Result<(), OverseerError>> + Send>,
);

impl<Ctx> std::fmt::Debug for Script<Ctx> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Script(..)")
    }
}

impl<Ctx: 'static> Script<Ctx> {
    /// A subsystem that runs `life` with its context.
    pub fn new<F, Fut>(life: F) -> Self
    where
        F: FnOnce(Ctx) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), OverseerError>> + Send + 'static,
    {
        Self(Box::new(move |ctx| Box::pin(life(ctx))))
    }
}

impl<Ctx: SubsystemContext> Subsystem<Ctx, OverseerError> for Script<Ctx> {
    fn start(self, ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "script",
            future: (self.0)(ctx),
        }
    }
}

/// Receive until `Conclude`, dropping everything else, then return `Ok(())`.
pub async fn until_conclude<Ctx>(ctx: &mut Ctx) -> Result<(), OverseerError>
where
    Ctx: SubsystemContext<Signal = Sig, Error = OverseerError>,
{
    loop {
        if let FromOverseer::Signal(Sig::Conclude) = ctx.recv().await? {
            return Ok(());
        }
    }
}

fn has_labels(metric: &Metric, labels: &[(&str, &str)]) -> bool {
    labels.iter().all(|(name, value)| {
        metric
            .get_label()
            .iter()
            .any(|pair| pair.name() == *name && pair.value() == *value)
    })
}

/// The sample of family `name` carrying (at least) `labels`, in a scrape.
pub fn find<'a>(
    families: &'a [MetricFamily],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a Metric> {
    families
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric().iter())
        .find(|metric| has_labels(metric, labels))
}

/// A counter's value now; 0 if the series does not exist (yet).
pub fn counter(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> u64 {
    find(&registry.gather(), name, labels)
        .map_or(0, |metric| metric.get_counter().get_value() as u64)
}

/// A gauge's value now, if the series exists.
pub fn gauge(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<i64> {
    find(&registry.gather(), name, labels).map(|metric| metric.get_gauge().get_value() as i64)
}

/// A histogram's sample count and sum now; zeros if the series does not exist (yet).
pub fn histogram(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> (u64, f64) {
    find(&registry.gather(), name, labels).map_or((0, 0.0), |metric| {
        let histogram = metric.get_histogram();
        (histogram.get_sample_count(), histogram.get_sample_sum())
    })
}

/// `overseer_subsystem_restarts_total{subsystem, reason}` now.
pub fn restarts(registry: &Registry, subsystem: &str, reason: &str) -> u64 {
    counter(
        registry,
        "overseer_subsystem_restarts_total",
        &[("subsystem", subsystem), ("reason", reason)],
    )
}
