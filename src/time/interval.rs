use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::{Instant, Sleep, sleep_until};

/// An [`Interval`] whose first tick is at once, then every `period`.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// # async fn example() {
/// let mut every_second = wit_futures::time::interval(Duration::from_secs(1));
/// for _ in 0..3 {
///     let at = every_second.tick().await;
///     println!("tick at {at:?}");
/// }
/// # }
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start`, then every `period`.
///
/// # Panics
///
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "`period` must be non-zero");
    Interval {
        sleep: sleep_until(start),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does with ticks it missed (the consumer was busy past one or more
/// periods), as tokio's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissedTickBehavior {
    /// Ticks at once for each missed one, then keeps the original schedule.
    #[default]
    Burst,
    /// Ticks at once, then every `period` from now: the schedule shifts.
    Delay,
    /// Ticks at once, then at the next tick of the original schedule.
    Skip,
}

/// Ticks every `period` (made by [`interval`] and [`interval_at`]): [`tick`](Self::tick)
/// waits for the next one, and the interval is also a never-ending [`Stream`] of the
/// ticks' scheduled instants.
///
/// `Unpin` and `Send`; a fused stream that never ends.
///
/// # Cancel safety
///
/// `tick` is cancel-safe: a tick that was not handed out stays for the next call.
#[must_use = "an interval does nothing unless ticked"]
pub struct Interval {
    /// Completes at the next tick.
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick: its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        core::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// `Ready(instant)` at the next tick, `Pending` until then; only the most recent waker
    /// is woken.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline();
        core::task::ready!(Pin::new(&mut self.sleep).poll(cx));
        let now = Instant::now();
        let next = scheduled.saturating_add(self.period);
        let next = if next > now {
            next
        } else {
            match self.missed {
                MissedTickBehavior::Burst => next,
                MissedTickBehavior::Delay => now.saturating_add(self.period),
                MissedTickBehavior::Skip => {
                    let behind = now.duration_since(scheduled).as_nanos();
                    let periods = behind / self.period.as_nanos() + 1;
                    let skip = u64::try_from(periods).unwrap_or(u64::MAX);
                    scheduled.saturating_add(
                        self.period
                            .saturating_mul(u32::try_from(skip).unwrap_or(u32::MAX)),
                    )
                }
            }
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.sleep.reset(Instant::now().saturating_add(self.period));
    }

    /// Stops the host's wait in flight; the next poll starts it again. See
    /// [`Park`](crate::Park).
    pub fn park(&mut self) {
        self.sleep.park();
    }
}

impl Stream for Interval {
    type Item = Instant;

    /// `Ready(Some(instant))` at each tick; never `Ready(None)`.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl FusedStream for Interval {
    fn is_terminated(&self) -> bool {
        false
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.sleep.deadline())
            .field("period", &self.period)
            .field("missed", &self.missed)
            .finish()
    }
}
