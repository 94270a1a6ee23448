//! Supervision policy: whether a subsystem that ended is started again, and when.
//!
//! A pure core in the manner of OTP's supervisors: [`RestartTracker::on_exit`] takes the exit
//! and an explicit `now`, and returns a [`Decision`]. The async shell only carries it out, so
//! the policy is tested exhaustively without a runtime.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::lifecycle::ExitOutcome;

/// When a subsystem is started again after it ended (OTP's restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Never (OTP `temporary`): any end of the subsystem ends the overseer.
    #[default]
    Never,
    /// After an error or panic, not after `Ok(())` (OTP `transient`).
    OnFailure,
    /// After any end, `Ok(())` included (OTP `permanent`).
    Always,
}

/// Exponential backoff between restarts, with jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first restart.
    pub initial: Duration,
    /// Upper bound of the delay.
    pub max: Duration,
    /// Growth factor per consecutive restart.
    pub multiplier: f64,
    /// Fraction of the delay drawn at random, `0.0..=1.0`: the delay is scaled by a factor in
    /// `1 - jitter ..= 1`.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// The delay before restart number `attempt` (0-based), with `unit` in `0.0..1.0` drawing
    /// the jitter.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let growth = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let base = self.initial.as_secs_f64() * growth;
        let capped = base.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::from_secs_f64((capped * (1.0 - jitter)).max(0.0))
    }
}

/// How one subsystem is supervised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartPolicy {
    /// When to restart.
    pub restart: Restart,
    /// At most this many restarts within `period`; one more escalates.
    pub intensity: u32,
    /// The window of `intensity`.
    pub period: Duration,
    /// Delay between restarts.
    pub backoff: Backoff,
    /// After running this long without ending, the backoff starts again from `initial`.
    pub reset_after: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        // OTP's default intensity: 1 restart in 5 seconds.
        Self {
            restart: Restart::Never,
            intensity: 1,
            period: Duration::from_secs(5),
            backoff: Backoff::default(),
            reset_after: Duration::from_secs(30),
        }
    }
}

impl RestartPolicy {
    /// A policy that never restarts.
    pub fn never() -> Self {
        Self::default()
    }

    /// Restart after failures, at most `intensity` times within `period`.
    pub fn on_failure(intensity: u32, period: Duration) -> Self {
        Self {
            restart: Restart::OnFailure,
            intensity,
            period,
            ..Self::default()
        }
    }

    /// Restart after any end, at most `intensity` times within `period`.
    pub fn always(intensity: u32, period: Duration) -> Self {
        Self {
            restart: Restart::Always,
            intensity,
            period,
            ..Self::default()
        }
    }

    /// The same policy with another backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }
}

/// Why a subsystem was restarted, as in `overseer_subsystem_restarts_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestartReason {
    /// It returned an error.
    Error,
    /// It panicked.
    Panic,
    /// It returned `Ok(())` under [`Restart::Always`].
    Exit,
    /// The stall watch restarted it.
    Stall,
}

impl RestartReason {
    /// The label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Panic => "panic",
            Self::Exit => "exit",
            Self::Stall => "stall",
        }
    }

    fn of(outcome: &ExitOutcome) -> Self {
        match outcome {
            ExitOutcome::Panic(_) => Self::Panic,
            ExitOutcome::Ok => Self::Exit,
            ExitOutcome::Stalled => Self::Stall,
            ExitOutcome::Err(_) | ExitOutcome::Aborted | ExitOutcome::Dropped => Self::Error,
        }
    }
}

/// What to do after a subsystem ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start it again after `delay`.
    Restart {
        /// Wait this long first.
        delay: Duration,
        /// Why, for metrics and logs.
        reason: RestartReason,
    },
    /// Its policy does not restart it: the overseer ends with a report.
    Stop,
    /// It failed more often than its intensity allows: the overseer shuts down with an error.
    Escalate {
        /// Restarts within the period when it gave up.
        restarts: u32,
    },
}

/// The restart history of one subsystem.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    policy: RestartPolicy,
    restarts: VecDeque<Instant>,
    consecutive: u32,
    started_at: Instant,
}

impl RestartTracker {
    /// A tracker for a subsystem started at `now`.
    pub fn new(policy: RestartPolicy, now: Instant) -> Self {
        Self {
            policy,
            restarts: VecDeque::new(),
            consecutive: 0,
            started_at: now,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &RestartPolicy {
        &self.policy
    }

    /// Decide after the subsystem ended with `outcome` at `now`; `unit` in `0.0..1.0` draws
    /// the jitter. A restart decision counts as started at `now + delay`.
    pub fn on_exit(&mut self, outcome: &ExitOutcome, now: Instant, unit: f64) -> Decision {
        let restartable = match self.policy.restart {
            Restart::Never => false,
            Restart::OnFailure => !outcome.is_ok(),
            Restart::Always => true,
        };
        if !restartable {
            return Decision::Stop;
        }
        self.decide(RestartReason::of(outcome), now, unit)
    }

    /// Decide after the stall watch asked for a restart.
    pub fn on_stall(&mut self, now: Instant, unit: f64) -> Decision {
        self.decide(RestartReason::Stall, now, unit)
    }

    fn decide(&mut self, reason: RestartReason, now: Instant, unit: f64) -> Decision {
        if now.saturating_duration_since(self.started_at) >= self.policy.reset_after {
            self.consecutive = 0;
        }
        while self
            .restarts
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) > self.policy.period)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() as u32 >= self.policy.intensity {
            return Decision::Escalate {
                restarts: self.restarts.len() as u32,
            };
        }
        let delay = self.policy.backoff.delay(self.consecutive, unit);
        self.restarts.push_back(now);
        self.consecutive = self.consecutive.saturating_add(1);
        self.started_at = now + delay;
        Decision::Restart { delay, reason }
    }

    /// The invariant: never more restarts remembered than the intensity allows.
    pub fn valid(&self) -> bool {
        self.restarts.len() as u32 <= self.policy.intensity
            && self
                .restarts
                .iter()
                .zip(self.restarts.iter().skip(1))
                .all(|(earlier, later)| earlier <= later)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn failure() -> ExitOutcome {
        ExitOutcome::Panic("boom".into())
    }

    #[test]
    fn never_stops_on_any_exit() {
        let now = Instant::now();
        let mut tracker = RestartTracker::new(RestartPolicy::never(), now);
        assert_eq!(tracker.on_exit(&failure(), now, 0.0), Decision::Stop);
        assert_eq!(tracker.on_exit(&ExitOutcome::Ok, now, 0.0), Decision::Stop);
    }

    #[test]
    fn on_failure_restarts_failures_but_not_clean_exits() {
        let now = Instant::now();
        let mut tracker =
            RestartTracker::new(RestartPolicy::on_failure(3, Duration::from_secs(10)), now);
        assert!(matches!(
            tracker.on_exit(&failure(), now, 0.0),
            Decision::Restart {
                reason: RestartReason::Panic,
                ..
            }
        ));
        assert_eq!(tracker.on_exit(&ExitOutcome::Ok, now, 0.0), Decision::Stop);
    }

    #[test]
    fn exceeding_the_intensity_escalates() {
        let now = Instant::now();
        let mut tracker =
            RestartTracker::new(RestartPolicy::on_failure(3, Duration::from_secs(10)), now);
        for _ in 0..3 {
            assert!(matches!(
                tracker.on_exit(&failure(), now, 0.0),
                Decision::Restart { .. }
            ));
        }
        assert_eq!(
            tracker.on_exit(&failure(), now, 0.0),
            Decision::Escalate { restarts: 3 }
        );
    }

    #[test]
    fn restarts_older_than_the_period_are_forgotten() {
        let start = Instant::now();
        let mut tracker =
            RestartTracker::new(RestartPolicy::on_failure(1, Duration::from_secs(5)), start);
        assert!(matches!(
            tracker.on_exit(&failure(), start, 0.0),
            Decision::Restart { .. }
        ));
        let later = start + Duration::from_secs(6);
        assert!(matches!(
            tracker.on_exit(&failure(), later, 0.0),
            Decision::Restart { .. }
        ));
    }

    #[test]
    fn backoff_grows_then_caps_and_resets_after_a_stable_run() {
        let start = Instant::now();
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(350),
            multiplier: 2.0,
            jitter: 0.0,
        };
        let policy = RestartPolicy {
            reset_after: Duration::from_secs(60),
            ..RestartPolicy::on_failure(100, Duration::from_secs(1000))
        }
        .with_backoff(backoff);
        let mut tracker = RestartTracker::new(policy, start);
        let delays: Vec<u128> = (0..4)
            .map(|_| match tracker.on_exit(&failure(), start, 0.0) {
                Decision::Restart { delay, .. } => delay.as_millis(),
                other => panic!("expected a restart, got {other:?}"),
            })
            .collect();
        assert_eq!(delays, vec![100, 200, 350, 350]);
        let much_later = start + Duration::from_secs(120);
        assert_eq!(
            tracker.on_exit(&failure(), much_later, 0.0),
            Decision::Restart {
                delay: Duration::from_millis(100),
                reason: RestartReason::Panic
            }
        );
    }

    #[test]
    fn jitter_only_shortens_the_delay() {
        let backoff = Backoff {
            jitter: 0.5,
            ..Backoff::default()
        };
        assert_eq!(backoff.delay(0, 0.0), backoff.initial);
        assert_eq!(backoff.delay(0, 1.0), backoff.initial / 2);
    }

    proptest! {
        #[test]
        fn restarts_within_any_period_never_exceed_the_intensity(
            intensity in 0u32..5,
            period_ms in 1u64..2_000,
            gaps in proptest::collection::vec((0u64..1_000, any::<bool>(), 0.0f64..1.0), 1..60),
        ) {
            let start = Instant::now();
            let policy = RestartPolicy::always(intensity, Duration::from_millis(period_ms));
            let mut tracker = RestartTracker::new(policy, start);
            let mut now = start;
            let mut granted: Vec<Instant> = Vec::new();
            for (gap, failed, unit) in gaps {
                now += Duration::from_millis(gap);
                let outcome = if failed { failure() } else { ExitOutcome::Ok };
                match tracker.on_exit(&outcome, now, unit) {
                    Decision::Restart { delay, .. } => {
                        prop_assert!(delay <= policy.backoff.max);
                        granted.push(now);
                    }
                    Decision::Escalate { restarts } => prop_assert!(restarts >= intensity),
                    Decision::Stop => prop_assert!(false, "`always` never stops"),
                }
                prop_assert!(tracker.valid());
                let window = granted.iter().filter(|at| now.saturating_duration_since(**at) <= policy.period).count();
                prop_assert!(window as u32 <= intensity);
            }
        }
    }
}
