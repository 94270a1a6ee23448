//! [`IdleBackoff`]: how long an idle tail waits before polling again.

use std::time::Duration;

/// Exponential backoff between polls of an idle change log: no wait while changes flow, then
/// `min`, doubling per empty poll up to `max`.
///
/// Pure: it computes delays, the caller sleeps (`std::thread::sleep`, `tokio::time::sleep`).
///
/// ```
/// # use std::time::Duration;
/// # use subsystems::source::sqlite::IdleBackoff;
/// let mut backoff = IdleBackoff::default();
/// assert_eq!(backoff.delay_after(10), Duration::ZERO);
/// assert_eq!(backoff.delay_after(0), Duration::from_millis(5));
/// assert_eq!(backoff.delay_after(0), Duration::from_millis(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleBackoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl IdleBackoff {
    /// The first idle delay by default.
    pub const DEFAULT_MIN: Duration = Duration::from_millis(5);
    /// The longest idle delay by default: the worst added latency of a change after a lull.
    pub const DEFAULT_MAX: Duration = Duration::from_millis(200);

    /// Delays from `min` doubling to `max` (`max` is raised to `min` if smaller).
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The delay before the next poll, given how many changes the last poll returned.
    pub fn delay_after(&mut self, changes: usize) -> Duration {
        if changes > 0 {
            self.reset();
            Duration::ZERO
        } else {
            let delay = self.next;
            self.next = self.next.saturating_mul(2).min(self.max);
            delay
        }
    }

    /// Forgets the idle streak: the next empty poll waits `min` again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

impl Default for IdleBackoff {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MIN, Self::DEFAULT_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_to_max_and_resets_on_changes() {
        let mut backoff = IdleBackoff::default();
        let idle: Vec<Duration> = (0..8).map(|_| backoff.delay_after(0)).collect();
        assert_eq!(
            idle,
            [
                ms(5),
                ms(10),
                ms(20),
                ms(40),
                ms(80),
                ms(160),
                ms(200),
                ms(200)
            ]
        );
        assert_eq!(backoff.delay_after(1), Duration::ZERO);
        assert_eq!(backoff.delay_after(0), ms(5));
    }

    #[test]
    fn max_below_min_is_raised() {
        let mut backoff = IdleBackoff::new(ms(50), ms(10));
        assert_eq!(backoff.delay_after(0), ms(50));
        assert_eq!(backoff.delay_after(0), ms(50));
    }

    #[test]
    fn total_idle_wait_over_a_second_is_bounded() {
        // An explicit clock: sum the delays instead of sleeping.
        let mut backoff = IdleBackoff::default();
        let mut clock = Duration::ZERO;
        let mut polls = 0;
        while clock < Duration::from_secs(1) {
            clock += backoff.delay_after(0);
            polls += 1;
        }
        // 5+10+...+160 = 315 ms in 6 polls, then every 200 ms: 10 polls in the first second.
        assert_eq!(polls, 10);
    }
}
