//! `spawn` / `JoinHandle` / `AbortOnDropHandle` / `JoinSet` / `serve`, and cancellation
//! tokens, with the host as the peer of the futures and streams the tasks use.

use std::time::Duration;

use wit_futures_harness::peer::{
    Delivery, Intake, future_after, future_never, read_future, read_stream, stream,
};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

const GUEST: &str = "guest-tasks";

/// Dropping a `JoinSet` aborts its tasks: the host sees the futures and the stream they were
/// reading dropped.
#[tokio::test]
async fn dropping_a_join_set_aborts_its_tasks_and_their_reads() {
    let mut g = Guest::new(GUEST).await;
    let group =
        g.func::<(Vec<FutureReader<u32>>, StreamReader<u32>, u32), (Vec<i64>,)>("group-then-drop");
    let (joined, probes) = g
        .run(async |a| {
            let mut fs = vec![future_after(a, Duration::from_millis(1), 5)];
            let mut probes = Vec::new();
            for _ in 0..3 {
                let (f, probe) = future_never::<u32>(a);
                fs.push(f);
                probes.push(probe);
            }
            // A stream that delivers 3 items and then never ends.
            let (s, probe) = stream(a, 0..10u32, Delivery::chunks(&[1]).stall_after(3));
            probes.push(probe);
            let (joined,) = group.call_concurrent(a, (fs, s, 1)).await.unwrap();
            (joined, probes)
        })
        .await;
    // Only the 5 was joined; the stream task and the three reads were aborted.
    assert_eq!(joined, [5]);
    g.settle().await;
    for (i, probe) in probes.iter().enumerate() {
        assert!(
            probe.dropped(),
            "future {i} still open after the set was dropped"
        );
    }
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn cancelling_a_token_stops_nested_work_and_keeps_what_raced_in() {
    let mut g = Guest::new(GUEST).await;
    let cancel = g
        .func::<(Vec<FutureReader<u32>>, StreamReader<u32>, FutureReader<u32>), (Vec<String>,)>(
            "cancel-nested",
        );
    let (lines, never, stalled) = g
        .run(async |a| {
            let (never, never_probe) = future_never::<u32>(a);
            let fs = vec![future_after(a, Duration::from_millis(1), 1), never];
            // 5 items, then the stream stays open with nothing more: still being read when
            // the token is cancelled.
            let (s, stream_probe) = stream(a, 0..100u32, Delivery::chunks(&[2]).stall_after(5));
            let later = future_after(a, Duration::from_millis(40), 0);
            let (lines,) = cancel.call_concurrent(a, (fs, s, later)).await.unwrap();
            (lines, never_probe, stream_probe)
        })
        .await;
    assert_eq!(
        lines,
        [
            "future 0: Ok(1)",
            "future 1: cancelled, reader back",
            "stream: got [0, 1, 2, 3, 4], cancelled true, unread []",
        ]
    );
    g.settle().await;
    assert!(
        never.dropped() && stalled.dropped(),
        "the cancelled reads left their ends open"
    );
    g.assert_nothing_open().await;
}

/// `select!` over a receiver, a stream's `next()` and a `JoinHandle`, in a loop, with the
/// host delivering at random moments: everything comes out exactly once.
#[tokio::test]
async fn select_over_receiver_stream_and_join_handle_delivers_everything_once() {
    let mut g = Guest::new(GUEST).await;
    let select = g
        .func::<(FutureReader<u32>, StreamReader<u32>, FutureReader<u32>), (Vec<String>,)>(
            "select-mixed",
        );
    for seed in 0..20u64 {
        let mut rng = wit_futures_harness::peer::Rng::new(seed);
        let f_ms = rng.below(20);
        let g_ms = rng.below(20);
        let delay = Duration::from_micros(rng.below(2000));
        let (out,) = g
            .run(async |a| {
                let f = future_after(a, Duration::from_millis(f_ms), 1000);
                let (s, _) = stream(a, 0..50u32, Delivery::chunks(&[1, 3, 2]).delay(delay));
                let gf = future_after(a, Duration::from_millis(g_ms), 2000);
                select.call_concurrent(a, (f, s, gf)).await.unwrap()
            })
            .await;
        let stream_items: Vec<String> = out
            .iter()
            .filter(|l| l.starts_with("s:"))
            .cloned()
            .collect();
        assert_eq!(
            stream_items,
            (0..50).map(|v| format!("s:{v}")).collect::<Vec<_>>(),
            "seed {seed}"
        );
        // Exactly once each: 50 stream items, the receiver's value, the task's output.
        assert_eq!(out.len(), 52, "seed {seed}: {out:?}");
        for once in ["f:1000", "task:2000"] {
            assert_eq!(
                out.iter().filter(|l| *l == once).count(),
                1,
                "seed {seed}: {out:?}"
            );
        }
        g.assert_nothing_open().await;
    }
}

/// Runs `serve` over 0..n; the host reads the output as `intake` says.
async fn serve(
    g: &mut Guest,
    n: u32,
    limit: u32,
    in_order: bool,
    fail_every: u32,
    intake: Intake,
) -> (Vec<u32>, String) {
    let serve = g
        .func::<(StreamReader<u32>, u32, bool, u32), ((StreamReader<u32>, FutureReader<String>),)>(
            "serve",
        );
    let result = g
        .run(async |a| {
            let (input, _) = stream(a, 0..n, Delivery::chunks(&[3, 1, 8]));
            let ((output, report),) = serve
                .call_concurrent(a, (input, limit, in_order, fail_every))
                .await
                .unwrap();
            let received = read_stream(a, output, intake).await;
            (received, read_future(a, report).await)
        })
        .await;
    g.assert_nothing_open().await;
    result
}

#[tokio::test]
async fn serve_writes_results_in_input_order() {
    let mut g = Guest::new(GUEST).await;
    let (out, report) = serve(&mut g, 100, 8, true, 0, Intake::default()).await;
    assert_eq!(out, (0..100).map(|v| v * 2).collect::<Vec<_>>());
    assert_eq!(report, "received 100, written 100, failures [], unsent []");
}

#[tokio::test]
async fn serve_writes_results_as_they_complete() {
    let mut g = Guest::new(GUEST).await;
    let (mut out, report) = serve(&mut g, 100, 8, false, 0, Intake::default()).await;
    assert_ne!(
        out,
        (0..100).map(|v| v * 2).collect::<Vec<_>>(),
        "handlers of different lengths finished in input order"
    );
    out.sort();
    assert_eq!(out, (0..100).map(|v| v * 2).collect::<Vec<_>>());
    assert_eq!(report, "received 100, written 100, failures [], unsent []");
}

#[tokio::test]
async fn serve_reports_handler_failures_and_keeps_the_other_results() {
    let mut g = Guest::new(GUEST).await;
    let (out, report) = serve(&mut g, 30, 4, true, 10, Intake::default()).await;
    let expected: Vec<u32> = (0..30).filter(|v| v % 10 != 0).map(|v| v * 2).collect();
    assert_eq!(out, expected);
    assert_eq!(
        report,
        r#"received 30, written 27, failures ["0:no 0", "10:no 10", "20:no 20"], unsent []"#
    );
}

#[tokio::test]
async fn serve_stops_when_the_output_reader_leaves() {
    let mut g = Guest::new(GUEST).await;
    let intake = Intake {
        per_write: 2,
        stop_after: Some(10),
        ..Intake::default()
    };
    let (out, report) = serve(&mut g, 1000, 4, true, 0, intake).await;
    assert_eq!(out, (0..10).map(|v| v * 2).collect::<Vec<_>>());
    assert!(report.starts_with("received "), "{report}");
    // Whatever was written after the first 10 came back as unsent, in order.
    let unsent = &report[report.find("unsent [").unwrap() + 8..report.len() - 1];
    let unsent: Vec<u32> = unsent
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(
        unsent,
        (10..10 + unsent.len() as u32)
            .map(|v| v * 2)
            .collect::<Vec<_>>(),
        "{report}"
    );
}

/// Cases run entirely inside the guest.
mod cases {
    use super::*;

    macro_rules! cases {
        ($($name:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $name() {
                let mut g = Guest::new(GUEST).await;
                let (result,) = g
                    .call::<(String,), (Result<String, String>,)>("run-case", (stringify!($name).into(),))
                    .await;
                g.assert_nothing_open().await;
                result.unwrap_or_else(|e| panic!("{}: {e}", stringify!($name)));
            }
        )*};
    }

    cases!(
        join_handle_states,
        abort_on_drop_aborts,
        join_set_joins_in_completion_order,
        join_set_abort_all,
        scope_cancels_its_token_when_dropped,
        with_cancel_output_wins_when_ready,
    );
}

/// A `select!` loop over a host future and a timer made of `yield_async` calls lets the
/// host run: the host's timer fires and its value arrives.
///
/// The guest's `spin-until` also has the variants this crate must not rely on: with
/// `yields` = 10 + n (the timer is a spawned task that yields n times) or 20 + n (a component
/// future written by such a task), the loop never lets the host run under wit-bindgen 0.63:
/// its executor keeps polling while tasks are being spawned, and re-polls a task that woke
/// itself, so host timers never fire. `SPIN=11 cargo test --test runtime host_timers` shows
/// it (the run hangs until the harness's timeout). The torture guest's timers are therefore
/// inline yields.
#[tokio::test]
async fn host_timers_fire_while_the_guest_spins_on_timers() {
    let mut g = Guest::new(GUEST).await;
    let spin = g.func::<(FutureReader<u32>, u32), ((u32, u32),)>("spin-until");
    let variants: Vec<u32> = std::env::var("SPIN").map_or(vec![1, 2], |v| {
        v.split(',').map(|x| x.parse().unwrap()).collect()
    });
    for yields in variants {
        let ((v, rounds),) = g
            .run(async |a| {
                let f = future_after(a, Duration::from_millis(2), 7);
                spin.call_concurrent(a, (f, yields)).await.unwrap()
            })
            .await;
        assert_eq!(v, 7);
        assert!(rounds > 1, "the loop did not spin: {rounds} rounds");
    }
    g.assert_nothing_open().await;
}
