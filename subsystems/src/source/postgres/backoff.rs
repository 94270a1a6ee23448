//! [`ReconnectBackoff`]: how long to wait before reconnecting a lost replication stream.

use std::time::{Duration, Instant};

/// Exponential backoff between reconnection attempts: `min` after the first failure,
/// doubling per failure up to `max`. A connection that stayed up for `stable_after` ends the
/// failure streak, so a server restart hours after the last one starts again at `min`, while
/// a server that accepts and drops connections in a loop is retried at `max`.
///
/// Pure, with an explicit clock: the caller passes `now` and sleeps the returned delay.
///
/// ```
/// # use std::time::{Duration, Instant};
/// # use subsystems::source::postgres::ReconnectBackoff;
/// let mut backoff = ReconnectBackoff::default();
/// let now = Instant::now();
/// assert_eq!(backoff.on_failure(now), Duration::from_millis(100));
/// assert_eq!(backoff.on_failure(now), Duration::from_millis(200));
/// backoff.on_connected(now);
/// // Up for a minute: the streak is over.
/// assert_eq!(backoff.on_failure(now + Duration::from_secs(60)), Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectBackoff {
    min: Duration,
    max: Duration,
    stable_after: Duration,
    failures: u32,
    connected_at: Option<Instant>,
}

impl ReconnectBackoff {
    /// The first delay by default.
    pub const DEFAULT_MIN: Duration = Duration::from_millis(100);
    /// The longest delay by default: how long a restarted server may wait for the capture.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(10);
    /// How long a connection must last by default to end a failure streak.
    pub const DEFAULT_STABLE_AFTER: Duration = Duration::from_secs(30);

    /// Delays from `min` doubling to `max` (`max` is raised to `min` if smaller); a
    /// connection lasting `stable_after` resets the streak.
    pub fn new(min: Duration, max: Duration, stable_after: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            stable_after,
            failures: 0,
            connected_at: None,
        }
    }

    /// A connection attempt failed, or an established connection was lost, at `now`: the
    /// delay before the next attempt.
    pub fn on_failure(&mut self, now: Instant) -> Duration {
        if let Some(at) = self.connected_at.take() {
            if now.saturating_duration_since(at) >= self.stable_after {
                self.failures = 0;
            }
        }
        let factor = 1u32.checked_shl(self.failures).unwrap_or(u32::MAX);
        self.failures = self.failures.saturating_add(1);
        self.min.saturating_mul(factor).min(self.max)
    }

    /// A connection was established at `now`.
    pub fn on_connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
    }

    /// Failures in the current streak.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

impl Default for ReconnectBackoff {
    fn default() -> Self {
        Self::new(
            Self::DEFAULT_MIN,
            Self::DEFAULT_MAX,
            Self::DEFAULT_STABLE_AFTER,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_to_max() {
        let mut backoff = ReconnectBackoff::default();
        let now = Instant::now();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.on_failure(now)).collect();
        assert_eq!(
            delays,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1_600),
                ms(3_200),
                ms(6_400),
                ms(10_000),
                ms(10_000),
                ms(10_000)
            ]
        );
        // Never overflows, however long the streak.
        for _ in 0..100 {
            assert_eq!(backoff.on_failure(now), ms(10_000));
        }
    }

    #[test]
    fn a_short_connection_keeps_the_streak_a_stable_one_ends_it() {
        let mut backoff = ReconnectBackoff::new(ms(10), ms(1_000), ms(5_000));
        let t0 = Instant::now();
        assert_eq!(backoff.on_failure(t0), ms(10));
        backoff.on_connected(t0);
        assert_eq!(
            backoff.on_failure(t0 + ms(4_999)),
            ms(20),
            "dropped too soon"
        );
        backoff.on_connected(t0 + ms(5_000));
        assert_eq!(backoff.on_failure(t0 + ms(10_000)), ms(10));
        assert_eq!(backoff.failures(), 1);
    }

    #[test]
    fn time_to_reconnect_after_a_restart_is_bounded() {
        // A server down for 5 s: the sum of delays until the first attempt after it is up.
        let mut backoff = ReconnectBackoff::default();
        let t0 = Instant::now();
        let mut clock = t0;
        while clock < t0 + Duration::from_secs(5) {
            clock += backoff.on_failure(clock);
        }
        // 0.1 + 0.2 + ... + 3.2 = 6.3 s: back within 1.3 s of the server.
        assert_eq!(clock - t0, ms(6_300));
    }
}
