use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point on the component's monotonic clock (`wasi:clocks/monotonic-clock`), in the shape
/// of `std::time::Instant`: only the differences between instants mean anything.
///
/// # Examples
///
/// ```no_run
/// use wit_futures::time::Instant;
/// let start = Instant::now();
/// // ... work ...
/// println!("took {:?}", start.elapsed());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Nanoseconds on the monotonic clock.
    nanos: u64,
}

impl Instant {
    /// The current instant.
    pub fn now() -> Instant {
        Instant {
            nanos: wasip3::clocks::monotonic_clock::now(),
        }
    }

    /// The instant at `nanos` nanoseconds on the monotonic clock (a `mark` of
    /// `wasi:clocks/monotonic-clock`).
    pub fn from_mark(nanos: u64) -> Instant {
        Instant { nanos }
    }

    /// Nanoseconds on the monotonic clock: the `mark` `wait-until` takes.
    pub fn mark(self) -> u64 {
        self.nanos
    }

    /// The time since `earlier`; zero if `earlier` is later.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// The time since this instant.
    pub fn elapsed(self) -> Duration {
        Instant::now().duration_since(self)
    }

    /// `self + duration`, or `None` past the end of the clock.
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_add(nanos).map(|nanos| Instant { nanos })
    }

    /// `self + duration`, at most the end of the clock (as far as a deadline goes: never).
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .unwrap_or(Instant { nanos: u64::MAX })
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Past the end of the clock (about 584 years of nanoseconds), as `std` panics on
    /// overflow.
    fn add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

impl Sub for Instant {
    type Output = Duration;

    /// The time from `earlier` to this instant; zero if `earlier` is later.
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({}ns)", self.nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_where_std_would_be_negative() {
        let a = Instant::from_mark(1_000);
        let b = a + Duration::from_nanos(500);
        assert_eq!(b.mark(), 1_500);
        assert_eq!(b - a, Duration::from_nanos(500));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(
            Instant::from_mark(u64::MAX).checked_add(Duration::from_nanos(1)),
            None
        );
        assert_eq!(
            a.saturating_add(Duration::MAX),
            Instant::from_mark(u64::MAX)
        );
    }
}
