//! The timers (`wit_futures::time`) on the host's monotonic clock: sleeps last at least
//! their duration, `timeout` gives the output or `Elapsed`, sleeps race in `select!`
//! without `pin_mut!` or `.fuse()` and the loser still completes, and intervals tick on
//! schedule.

use std::time::Duration;

use wit_futures_harness::peer::{future_after, future_never, future_ready};
use wit_futures_harness::{FutureReader, Guest};

const GUEST: &str = "guest-time";

#[tokio::test]
async fn sleep_lasts_at_least_its_duration() {
    let mut g = Guest::new(GUEST).await;
    for ms in [0, 1, 30] {
        let (nanos,) = g.call::<(u64,), (u64,)>("sleep-ms", (ms,)).await;
        assert!(
            nanos >= ms * 1_000_000,
            "sleep({ms} ms) returned after {nanos} ns"
        );
    }
    g.assert_nothing_open().await;
}

/// A value that is there wins; a value that never comes loses to the deadline; a value
/// that comes long before the deadline wins.
#[tokio::test]
async fn timeout_gives_the_output_or_elapsed() {
    let mut g = Guest::new(GUEST).await;
    let within = g.func::<(u64, FutureReader<String>), (String,)>("answer-within");
    let (ready,) = g
        .run(async |a| {
            within
                .call_concurrent(a, (1, future_ready(a, "now".to_string())))
                .await
                .unwrap()
        })
        .await;
    assert_eq!(ready, "answer now");
    let (never,) = g
        .run(async |a| {
            within
                .call_concurrent(a, (10, future_never(a).0))
                .await
                .unwrap()
        })
        .await;
    assert_eq!(never, "elapsed: deadline has elapsed");
    let (early,) = g
        .run(async |a| {
            let answer = future_after(a, Duration::from_millis(1), "early".to_string());
            within.call_concurrent(a, (20_000, answer)).await.unwrap()
        })
        .await;
    assert_eq!(early, "answer early");
    g.assert_nothing_open().await;
}

/// Two sleeps in `select!` as they are (`&mut`): the short one wins (5 ms against 1 s:
/// only a host stalled for a second could see both due at once), and the loser, awaited
/// after, completes at its own deadline.
#[tokio::test]
async fn sleeps_race_in_select_and_the_loser_still_completes() {
    let mut g = Guest::new(GUEST).await;
    let (report,) = g
        .call::<(u64, u64), (String,)>("race-sleeps", (5, 1000))
        .await;
    let ms: u64 = report
        .strip_prefix("short won, then the other completed after ")
        .and_then(|rest| rest.strip_suffix(" ms"))
        .unwrap_or_else(|| panic!("{report}"))
        .parse()
        .unwrap();
    assert!(ms >= 1000, "the long sleep completed early: {report}");
    g.assert_nothing_open().await;
}

/// An interval's ticks are one period apart on schedule (the first at once).
#[tokio::test]
async fn interval_ticks_every_period() {
    let mut g = Guest::new(GUEST).await;
    let (ticks,) = g.call::<(u64, u32), (Vec<u64>,)>("ticks", (10, 5)).await;
    assert_eq!(ticks, [0, 10_000_000, 20_000_000, 30_000_000, 40_000_000]);
    g.assert_nothing_open().await;
}
