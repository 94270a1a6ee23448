//! The stall watch: reports a subsystem whose queue is non-empty while it receives nothing,
//! instead of killing the node as orchestra's hard 10 s timeout does.
//!
//! [`StallDetector`] is the pure core: fed the subsystem's received count and queue depth at
//! each tick with an explicit `now`, it says when a stall begins and ends.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the overseer does about a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StallPolicy {
    /// Log, set `overseer_subsystem_stalled`, call the hook. Nothing else.
    #[default]
    Report,
    /// Also restart the subsystem (counted against its restart intensity).
    Restart,
    /// Also shut the overseer down.
    Shutdown,
}

/// A stall, as reported to the hook and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The stalled subsystem.
    pub subsystem: &'static str,
    /// Messages waiting in its queue.
    pub queued: usize,
    /// How long it has received nothing while messages waited: a lower bound of the age of its
    /// oldest queued message.
    pub stalled_for: Duration,
}

/// A function called when a stall begins.
pub type StallHook = Arc<dyn Fn(&Stall) + Send + Sync>;

/// How the overseer watches for stalls.
#[derive(Clone, Default)]
pub struct StallWatch {
    /// What to do about a stall.
    pub policy: StallPolicy,
    /// Called once when a stall begins.
    pub hook: Option<StallHook>,
    /// Threshold for subsystems that set none of their own; `None`: only those that do are watched.
    pub default_threshold: Option<Duration>,
}

impl fmt::Debug for StallWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StallWatch")
            .field("policy", &self.policy)
            .field("hook", &self.hook.is_some())
            .field("default_threshold", &self.default_threshold)
            .finish()
    }
}

/// What a tick of the detector found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StallEvent {
    /// Nothing new.
    None,
    /// A stall began.
    Began(Stall),
    /// The stall ended: the subsystem received again or its queue emptied.
    Ended,
}

/// Tracks one subsystem between ticks.
#[derive(Debug, Clone, Default)]
pub struct StallDetector {
    last_received: u64,
    waiting_since: Option<Instant>,
    stalled: bool,
}

impl StallDetector {
    /// Feed one observation: messages received so far, messages queued now.
    pub fn observe(
        &mut self,
        subsystem: &'static str,
        received: u64,
        queued: usize,
        now: Instant,
        threshold: Duration,
    ) -> StallEvent {
        let progressed = received != self.last_received;
        self.last_received = received;
        if progressed || queued == 0 {
            self.waiting_since = (queued > 0).then_some(now);
            return if std::mem::take(&mut self.stalled) {
                StallEvent::Ended
            } else {
                StallEvent::None
            };
        }
        let since = *self.waiting_since.get_or_insert(now);
        let stalled_for = now.saturating_duration_since(since);
        if !self.stalled && stalled_for >= threshold {
            self.stalled = true;
            return StallEvent::Began(Stall {
                subsystem,
                queued,
                stalled_for,
            });
        }
        StallEvent::None
    }

    /// Whether the subsystem is stalled now.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }
}

/// What the stall watch needs of one subsystem, detached from the overseer's borrows.
#[doc(hidden)]
pub struct StallProbe {
    pub(crate) name: &'static str,
    pub(crate) threshold: Duration,
    pub(crate) received: Box<dyn Fn() -> u64 + Send + Sync>,
    pub(crate) queued: Box<dyn Fn() -> usize + Send + Sync>,
    pub(crate) restart: Box<dyn Fn() + Send + Sync>,
    pub(crate) mark: Box<dyn Fn(bool) + Send + Sync>,
}

impl fmt::Debug for StallProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StallProbe")
            .field("name", &self.name)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// The watched subsystems and what the watch knows of them. When the watch ends (the run loop
/// stopped, or a stall under policy `shutdown` stopped it), nobody watches any more, so no
/// `overseer_subsystem_stalled` gauge is left claiming a stall.
struct Watched {
    probes: Vec<StallProbe>,
    detectors: Vec<StallDetector>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        for (probe, detector) in self.probes.iter().zip(&self.detectors) {
            if detector.is_stalled() {
                (probe.mark)(false);
            }
        }
    }
}

/// Watch `probes` until a stall calls for shutdown (returning the stalled subsystem's name);
/// with other policies this never returns.
pub(crate) async fn watch(probes: Vec<StallProbe>, watch: StallWatch) -> &'static str {
    let Some(shortest) = probes.iter().map(|probe| probe.threshold).min() else {
        return std::future::pending().await;
    };
    let tick = (shortest / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut watched = Watched {
        detectors: vec![StallDetector::default(); probes.len()],
        probes,
    };
    loop {
        futures_timer::Delay::new(tick).await;
        let now = Instant::now();
        let Watched { probes, detectors } = &mut watched;
        for (probe, detector) in probes.iter().zip(detectors.iter_mut()) {
            match detector.observe(
                probe.name,
                (probe.received)(),
                (probe.queued)(),
                now,
                probe.threshold,
            ) {
                StallEvent::None => {}
                StallEvent::Ended => {
                    (probe.mark)(false);
                    tracing::info!(
                        subsystem = probe.name,
                        "subsystem receives again; stall over"
                    );
                }
                StallEvent::Began(stall) => {
                    (probe.mark)(true);
                    tracing::warn!(
                        subsystem = stall.subsystem,
                        queued = stall.queued,
                        oldest_message_age = ?stall.stalled_for,
                        policy = ?watch.policy,
                        "subsystem stalled: messages wait but nothing is received"
                    );
                    if let Some(hook) = &watch.hook {
                        hook(&stall);
                    }
                    match watch.policy {
                        StallPolicy::Report => {}
                        StallPolicy::Restart => (probe.restart)(),
                        StallPolicy::Shutdown => return stall.subsystem,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THRESHOLD: Duration = Duration::from_millis(100);

    #[test]
    fn a_queue_that_is_not_read_for_the_threshold_is_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::default();
        assert_eq!(
            detector.observe("s", 0, 3, start, THRESHOLD),
            StallEvent::None
        );
        assert_eq!(
            detector.observe("s", 0, 3, start + Duration::from_millis(50), THRESHOLD),
            StallEvent::None
        );
        let event = detector.observe("s", 0, 4, start + Duration::from_millis(120), THRESHOLD);
        assert_eq!(
            event,
            StallEvent::Began(Stall {
                subsystem: "s",
                queued: 4,
                stalled_for: Duration::from_millis(120)
            })
        );
        assert_eq!(
            detector.observe("s", 0, 4, start + Duration::from_millis(200), THRESHOLD),
            StallEvent::None,
            "reported once"
        );
        assert_eq!(
            detector.observe("s", 1, 3, start + Duration::from_millis(210), THRESHOLD),
            StallEvent::Ended
        );
    }

    #[test]
    fn a_busy_subsystem_that_keeps_up_is_never_stalled() {
        let start = Instant::now();
        let mut detector = StallDetector::default();
        for tick in 0..100u64 {
            let now = start + Duration::from_millis(tick * 60);
            assert_eq!(
                detector.observe("s", tick, 10, now, THRESHOLD),
                StallEvent::None
            );
        }
    }

    #[test]
    fn an_idle_subsystem_with_an_empty_queue_is_not_stalled() {
        let start = Instant::now();
        let mut detector = StallDetector::default();
        for tick in 0..10u64 {
            assert_eq!(
                detector.observe("s", 5, 0, start + Duration::from_secs(tick), THRESHOLD),
                StallEvent::None
            );
        }
    }
}
