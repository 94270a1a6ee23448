//! Time-limited futures, as orchestra offers them (`TimeoutExt::timeout`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_timer::Delay;

/// A future that resolves to `Some(output)` if the wrapped future finishes within the
/// deadline, and to `None` once the deadline passes first.
///
/// Made by [`TimeoutExt::timeout`].
#[pin_project::pin_project]
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F: Future> {
    #[pin]
    future: F,
    #[pin]
    delay: Delay,
}

/// Extends every [`Future`] with [`timeout`](TimeoutExt::timeout), like orchestra's trait of
/// the same name.
///
/// ```
/// use overseer::TimeoutExt;
/// # futures::executor::block_on(async {
/// let never = futures::future::pending::<()>();
/// assert_eq!(never.timeout(std::time::Duration::from_millis(10)).await, None);
/// assert_eq!(async { 7 }.timeout(std::time::Duration::from_secs(10)).await, Some(7));
/// # });
/// ```
pub trait TimeoutExt: Future {
    /// Limit this future to `duration`: the result is `None` if the time runs out first.
    fn timeout(self, duration: Duration) -> Timeout<Self>
    where
        Self: Sized,
    {
        Timeout {
            future: self,
            delay: Delay::new(duration),
        }
    }
}

impl<F> TimeoutExt for F where F: Future {}

impl<F: Future> Future for Timeout<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Same order as orchestra: an expired deadline wins over a ready future.
        if this.delay.poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Some(output));
        }
        Poll::Pending
    }
}
