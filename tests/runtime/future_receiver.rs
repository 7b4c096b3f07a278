//! `FutureReaderExt::into_oneshot` / `Receiver`, with the host as the writer.

use std::time::Duration;

use wit_futures_harness::peer::{Rng, future_after, future_never, future_ready};
use wit_futures_harness::{FutureReader, Guest};

use crate::gated::gated_future;

const GUEST: &str = "guest-oneshot";

async fn guest() -> Guest {
    Guest::new(GUEST).await
}

#[tokio::test]
async fn receives_a_ready_value() {
    let mut g = guest().await;
    let recv = g.func::<(FutureReader<u32>,), (u32,)>("recv");
    let (v,) = g
        .run(async |a| {
            recv.call_concurrent(a, (future_ready(a, 7),))
                .await
                .unwrap()
        })
        .await;
    assert_eq!(v, 7);
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn receives_a_value_that_arrives_later() {
    let mut g = guest().await;
    let recv = g.func::<(FutureReader<u32>,), (u32,)>("recv");
    let (v,) = g
        .run(async |a| {
            let (f, gate) = gated_future(a, 8);
            let host = async {
                // The value arrives only once the guest waits for it.
                gate.read_started(1).await;
                gate.release();
            };
            futures::join!(recv.call_concurrent(a, (f,)), host)
                .0
                .unwrap()
        })
        .await;
    assert_eq!(v, 8);
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn heap_payloads_arrive_whole_and_leak_nothing() {
    let mut g = guest().await;
    let recv_string = g.func::<(FutureReader<String>,), (String,)>("recv-string");
    let recv_bytes = g.func::<(FutureReader<Vec<u8>>,), (Vec<u8>,)>("recv-bytes");
    let round = async |g: &mut Guest, i: usize| {
        let text = format!("héllo {i} ").repeat(1000);
        let bytes: Vec<u8> = (0..100_000).map(|b| (b * i) as u8).collect();
        let (t, b) = (text.clone(), bytes.clone());
        let (got_text, got_bytes) = g
            .run(async |a| {
                let f = future_after(a, Duration::from_millis(1), t);
                let (s,) = recv_string.call_concurrent(a, (f,)).await.unwrap();
                let (b,) = recv_bytes
                    .call_concurrent(a, (future_ready(a, b),))
                    .await
                    .unwrap();
                (s, b)
            })
            .await;
        assert_eq!(got_text, text);
        assert_eq!(got_bytes, bytes);
    };
    round(&mut g, 0).await; // warm-up: one-time allocations of the guest runtime
    let baseline = g.live_bytes().await;
    for i in 1..20 {
        round(&mut g, i).await;
    }
    assert_eq!(g.live_bytes().await, baseline);
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn dropping_or_closing_a_receiver_whose_value_never_comes_hangs_up() {
    let mut g = guest().await;
    let abandon = g.func::<(FutureReader<String>, String), (Vec<String>,)>("abandon");
    let mut baseline = None;
    for _ in 0..2 {
        for how in ["drop-idle", "drop-reading", "close-idle", "close-reading"] {
            let (log, dropped) = g
                .run(async |a| {
                    let (f, probe) = future_never::<String>(a);
                    let (log,) = abandon.call_concurrent(a, (f, how.into())).await.unwrap();
                    (log, probe.dropped())
                })
                .await;
            // The guest dropped its end, so wasmtime dropped the host's producer.
            assert!(dropped, "{how}: the host's future is still open");
            let expected: &[&str] = match how {
                "drop-idle" => &[r#"Receiver { state: "idle" }"#],
                "drop-reading" => &["poll: None", r#"Receiver { state: "reading" }"#],
                "close-idle" => &[
                    r#"Receiver { state: "idle" }"#,
                    r#"Receiver { state: "closed" }"#,
                    "terminated: false",
                    "await: Err(Canceled)",
                    "terminated: true",
                    "try_recv: Err(Canceled)",
                ],
                _ => &[
                    "poll: None",
                    r#"Receiver { state: "reading" }"#,
                    r#"Receiver { state: "closed" }"#,
                    "terminated: false",
                    "await: Err(Canceled)",
                    "terminated: true",
                    "try_recv: Err(Canceled)",
                ],
            };
            assert_eq!(log, expected, "{how}");
            g.assert_nothing_open().await;
        }
        let live = g.live_bytes().await;
        assert_eq!(*baseline.get_or_insert(live), live, "guest heap grew");
    }
}

/// `select!` in a loop over four receivers while the host delivers in random order, with
/// simultaneous arrivals: each value comes out exactly once.
#[tokio::test]
async fn select_loop_receives_every_value_exactly_once() {
    let mut g = guest().await;
    let select_loop = g.func::<(
        FutureReader<u32>,
        FutureReader<u32>,
        FutureReader<u32>,
        FutureReader<u32>,
    ), (Vec<u32>,)>("select-loop");
    for seed in 0..30 {
        let mut rng = Rng::new(seed);
        let delays: Vec<u64> = (0..4).map(|_| rng.below(4) * 5).collect();
        let (mut got,) = g
            .run(async |a| {
                let f = |i: usize| future_after(a, Duration::from_millis(delays[i]), i as u32 * 10);
                let args = (f(0), f(1), f(2), f(3));
                select_loop.call_concurrent(a, args).await.unwrap()
            })
            .await;
        got.sort();
        assert_eq!(got, [0, 10, 20, 30], "seed {seed}, delays {delays:?}");
        g.assert_nothing_open().await;
    }
}

/// `futures::future::select_all` moves the losing receivers into a new `Vec` with their
/// reads in flight; nothing is lost.
#[tokio::test]
async fn select_all_receives_every_value_exactly_once() {
    let mut g = guest().await;
    let select_all = g.func::<(Vec<FutureReader<u32>>,), (Vec<u32>,)>("select-all");
    for seed in 0..10 {
        let mut rng = Rng::new(seed);
        let delays: Vec<u64> = (0..16).map(|_| rng.below(6) * 3).collect();
        let (mut got,) = g
            .run(async |a| {
                let fs = (0..16)
                    .map(|i| future_after(a, Duration::from_millis(delays[i]), i as u32))
                    .collect();
                select_all.call_concurrent(a, (fs,)).await.unwrap()
            })
            .await;
        got.sort();
        assert_eq!(got, (0..16).collect::<Vec<_>>(), "seed {seed}");
        g.assert_nothing_open().await;
    }
}

/// When the host hands over `f`'s value in `after-wait`, relative to `later`.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// The value goes to the guest's read before `later` resolves: it raced in while the
    /// guest waited on something else.
    RacedIn,
    /// No value while the guest waits; the host hands it over only after the guest has
    /// done `how` (to the fresh read of an `into_inner` reader; a closed receiver never
    /// gets it).
    NotYet,
}

/// Runs `after-wait`: the guest starts reading `f` with `try_recv`, waits for `later`, then
/// does `how`. Each step of the host follows what it has seen the guest do (no timers):
/// `later` resolves only once the guest's read of `f` is in flight and, for
/// [`Value::RacedIn`], once `f`'s value went to that read.
async fn after_wait(g: &mut Guest, how: &str, value: Value) -> Vec<String> {
    let after_wait =
        g.func::<(FutureReader<String>, FutureReader<u32>, String), (Vec<String>,)>("after-wait");
    let (log, seen) = g
        .run(async |a| {
            let (f, f_gate) = gated_future(a, "v".to_string());
            let (later, later_gate) = gated_future(a, 1);
            let call = after_wait.call_concurrent(a, (f, later, how.into()));
            let host = async {
                f_gate.read_started(1).await;
                match value {
                    Value::RacedIn => {
                        f_gate.release();
                        f_gate.handed().await;
                        later_gate.release();
                    }
                    Value::NotYet => {
                        later_gate.release();
                        match how {
                            // The guest cancels its read, takes the reader back and reads
                            // it again: that read gets the value.
                            "into-inner" => {
                                f_gate.until("cancel its read", |s| s.cancels == 1).await;
                                f_gate.release();
                            }
                            // The guest hangs up; the value is never handed over.
                            "close" => f_gate.dropped().await,
                            other => unreachable!("no value-not-yet case for {other}"),
                        }
                    }
                }
            };
            let (result, ()) = futures::join!(call, host);
            (result.unwrap().0, f_gate.seen())
        })
        .await;
    g.assert_nothing_open().await;
    let ctx = format!("{how} {value:?}: {seen:?} {log:?}");
    match (value, how) {
        (Value::RacedIn, _) => assert!(seen.handed && seen.cancels == 0, "{ctx}"),
        (Value::NotYet, "into-inner") => {
            assert!(seen.handed && seen.cancels == 1 && seen.reads == 2, "{ctx}")
        }
        (Value::NotYet, _) => assert!(!seen.handed && seen.dropped, "{ctx}"),
    }
    log
}

#[tokio::test]
async fn try_recv_reports_none_then_the_value_then_canceled() {
    let mut g = guest().await;
    let log = after_wait(&mut g, "try-recv", Value::RacedIn).await;
    assert_eq!(
        log,
        [
            "try_recv: Ok(None)",
            "later: 1",
            "terminated: false",
            r#"try_recv: Ok(Some("v"))"#,
            "terminated: true",
            "try_recv: Err(Canceled)",
            "poll: Some(Err(Canceled))",
        ]
    );
}

#[tokio::test]
async fn into_inner_returns_a_value_that_raced_in() {
    let mut g = guest().await;
    let log = after_wait(&mut g, "into-inner", Value::RacedIn).await;
    assert_eq!(log, ["try_recv: Ok(None)", "later: 1", "value: v"]);
}

#[tokio::test]
async fn into_inner_returns_the_reader_when_no_value_came() {
    let mut g = guest().await;
    let log = after_wait(&mut g, "into-inner", Value::NotYet).await;
    assert_eq!(log, ["try_recv: Ok(None)", "later: 1", "reader", "then: v"]);
}

#[tokio::test]
async fn close_keeps_a_value_that_raced_in() {
    let mut g = guest().await;
    let log = after_wait(&mut g, "close", Value::RacedIn).await;
    assert_eq!(
        log,
        [
            "try_recv: Ok(None)",
            "later: 1",
            r#"Receiver { state: "value waiting" }"#,
            r#"await: Ok("v")"#,
        ]
    );
}

#[tokio::test]
async fn close_without_a_value_resolves_to_canceled() {
    let mut g = guest().await;
    // The host's value never comes: the guest hangs up first.
    let log = after_wait(&mut g, "close", Value::NotYet).await;
    assert_eq!(
        log,
        [
            "try_recv: Ok(None)",
            "later: 1",
            r#"Receiver { state: "closed" }"#,
            "await: Err(Canceled)",
        ]
    );
}

#[tokio::test]
async fn a_select_branch_that_loses_keeps_its_arrived_value() {
    let mut g = guest().await;
    let log = after_wait(&mut g, "select-lose", Value::RacedIn).await;
    assert_eq!(
        log,
        [
            "try_recv: Ok(None)",
            "later: 1",
            "other branch won",
            "terminated: false",
            r#"await: Ok("v")"#,
        ]
    );
}

#[tokio::test]
async fn heap_values_dropped_closed_or_recovered_leak_nothing() {
    let mut g = guest().await;
    let cases = [
        ("try-recv", Value::RacedIn),
        ("into-inner", Value::RacedIn),
        ("into-inner", Value::NotYet),
        ("close", Value::RacedIn),
        ("close", Value::NotYet),
        ("select-lose", Value::RacedIn),
    ];
    for (how, value) in cases {
        after_wait(&mut g, how, value).await;
    }
    let baseline = g.live_bytes().await;
    for (how, value) in cases {
        after_wait(&mut g, how, value).await;
    }
    assert_eq!(g.live_bytes().await, baseline);
}

#[tokio::test]
async fn into_channel_delivers_to_a_futures_channel_receiver() {
    let mut g = guest().await;
    let via = g.func::<(FutureReader<u32>, String), (String,)>("recv-via-channel");
    let (log,) = g
        .run(async |a| {
            let f = future_after(a, Duration::from_millis(5), 3);
            via.call_concurrent(a, (f, "value".into())).await.unwrap()
        })
        .await;
    assert_eq!(log, "Ok(3)");
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn dropping_the_channel_receiver_closes_the_component_reader() {
    let mut g = guest().await;
    let via = g.func::<(FutureReader<u32>, String), (String,)>("recv-via-channel");
    let (log, dropped) = g
        .run(async |a| {
            // Never released: only the guest dropping its reader ends the wait.
            let (f, gate) = gated_future(a, 0u32);
            let (log,) = via.call_concurrent(a, (f, "drop".into())).await.unwrap();
            // The bridge task runs on after the export returned; it must close the
            // component reader (a hang here is the failure).
            gate.dropped().await;
            (log, gate.seen())
        })
        .await;
    assert_eq!(log, "dropped");
    assert!(!dropped.handed, "{dropped:?}");
    g.assert_nothing_open().await;
}
