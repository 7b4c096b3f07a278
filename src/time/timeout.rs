use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;

use super::{Instant, Sleep, sleep_until};

/// Runs `future` until `duration` has passed: its output, or [`Elapsed`] (and `future`
/// is dropped with the [`Timeout`]).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use wit_futures::time::timeout;
/// # async fn example(reply: wit_futures::future::Receiver<String>) {
/// match timeout(Duration::from_secs(1), reply).await {
///     Ok(reply) => println!("{reply:?}"),
///     Err(elapsed) => println!("{elapsed}"),
/// }
/// # }
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    timeout_at(Instant::now().saturating_add(duration), future)
}

/// Runs `future` until `deadline`: see [`timeout`].
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future: Some(future),
        sleep: sleep_until(deadline),
    }
}

/// Error of a [`Timeout`]: the deadline came before the future's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

pin_project! {
    /// Future of [`timeout`] and [`timeout_at`]: the inner future's output, or [`Elapsed`].
    ///
    /// The inner future is polled first, so an output ready at the deadline wins. Fused
    /// (the inner future is dropped once either finished); `Unpin` when the inner future is
    /// (wrap `&mut adapter` to keep an adapter after a timeout); `Send` when it is.
    ///
    /// # Cancel safety
    ///
    /// As the inner future's: dropping the `Timeout` drops it.
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: Option<F>,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The inner future, unless it finished or the deadline came.
    pub fn get_mut(self: Pin<&mut Self>) -> Option<Pin<&mut F>> {
        self.project().future.as_pin_mut()
    }

    /// The inner future back, unless it finished or the deadline came.
    pub fn into_inner(self) -> Option<F>
    where
        F: Unpin,
    {
        self.future
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        if let Poll::Ready(output) = future.poll(cx) {
            this.future.set(None);
            return Poll::Ready(Ok(output));
        }
        core::task::ready!(Pin::new(&mut *this.sleep).poll(cx));
        this.future.set(None);
        Poll::Ready(Err(Elapsed(())))
    }
}

impl<F: Future> FusedFuture for Timeout<F> {
    fn is_terminated(&self) -> bool {
        self.future.is_none()
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("running", &self.future.is_some())
            .field("sleep", &self.sleep)
            .finish()
    }
}
