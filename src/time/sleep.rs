use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::future::FusedFuture;

use super::Instant;

/// The host's wait, boxed so that [`Sleep`] is `Unpin`.
type Wait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A [`Sleep`] that completes once `duration` has passed.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// # async fn example() {
/// wit_futures::time::sleep(Duration::from_millis(10)).await;
/// # }
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now().saturating_add(duration))
}

/// A [`Sleep`] that completes at `deadline` (at once if it has passed).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use wit_futures::time::{Instant, sleep_until};
/// # async fn example() {
/// let start = Instant::now();
/// sleep_until(start + Duration::from_millis(10)).await;
/// # }
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        state: State::Idle,
    }
}

/// Future of [`sleep`] and [`sleep_until`]: completes at its deadline.
///
/// The host's `wait-until` starts at the first poll (the component costs nothing while it
/// waits). `Unpin` and fused ([`is_terminated`](FusedFuture::is_terminated) once it
/// returned `Ready`), so `&mut sleep` goes into `select!` as it is; `Send`.
///
/// # Cancel safety
///
/// Cancel-safe: dropping a poll (a `select!` branch that lost) changes nothing; dropping
/// the `Sleep` cancels the host's wait. [`reset`](Self::reset) moves the deadline.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    state: State,
}

enum State {
    /// Not waiting yet (or parked).
    Idle,
    /// The host's wait is in flight.
    Waiting(Wait),
    /// Completed: `Ready` was returned.
    Done,
}

impl Sleep {
    /// The instant it completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed (whether or not it was polled).
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, State::Done) || Instant::now() >= self.deadline
    }

    /// Moves the deadline, also of a `Sleep` that completed (it then waits again).
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.state = State::Idle;
    }

    /// Stops the host's wait in flight; the next poll starts it again for the same
    /// deadline. See [`Park`](crate::Park).
    pub fn park(&mut self) {
        if let State::Waiting(_) = self.state {
            self.state = State::Idle;
        }
    }
}

impl Future for Sleep {
    type Output = ();

    /// `Ready(())` at the deadline, once; `Pending` after that (fused).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &mut self.state {
                State::Idle => {
                    let mark = self.deadline.mark();
                    self.state =
                        State::Waiting(Box::pin(wasip3::clocks::monotonic_clock::wait_until(mark)));
                }
                State::Waiting(wait) => {
                    core::task::ready!(wait.as_mut().poll(cx));
                    self.state = State::Done;
                    return Poll::Ready(());
                }
                State::Done => return Poll::Pending,
            }
        }
    }
}

impl FusedFuture for Sleep {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Waiting(_) => "waiting",
            State::Done => "done",
        };
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &state)
            .finish()
    }
}
