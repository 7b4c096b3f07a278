//! `spawn` / `JoinHandle` / `AbortOnDropHandle` / `JoinSet` / `serve`, and cancellation
//! tokens, with the host as the peer of the futures and streams the tasks use.

use std::time::Duration;

use wit_futures::stream::DEFAULT_SINK_CAPACITY;
use wit_futures_harness::peer::{
    Delivered, Delivery, Intake, future_after, future_never, read_future, read_stream, stream,
    stream_tracked,
};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

use crate::gated::{gated_future, gated_intake, gated_stream};

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
            let (f0, f0_gate) = gated_future(a, 1);
            // Never released.
            let (never, never_gate) = gated_future(a, 0);
            // 5 items, then the stream stays open with nothing more: still being read when
            // the token is cancelled.
            let (s, input) = gated_stream(a, 2);
            let (later, later_gate) = gated_future(a, 0);
            let call = cancel.call_concurrent(a, (vec![f0, never], s, later));
            // The token is cancelled only after the host has seen the first task take its
            // value and the stream task take the 5 items and read again (no timers).
            let host = async {
                f0_gate.read_started(1).await;
                f0_gate.release();
                // The task's receiver took the value and let go of its reader.
                f0_gate.dropped().await;
                input.push(0..5u32);
                input.waiting_after(5).await;
                never_gate.read_started(1).await;
                later_gate.release();
            };
            let (result, ()) = futures::join!(call, host);
            (result.unwrap().0, never_gate, input)
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
        never.seen().dropped && stalled.seen().dropped,
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

/// What a guest's `serve` run reported, and what the host saw.
struct ServeRun {
    /// Input items the host delivered to the guest.
    delivered: Vec<u32>,
    /// Output items the host read.
    out: Vec<u32>,
    report: String,
}

impl ServeRun {
    /// The numbers in the report's `name [..]` list (for `failures`, the input indices).
    fn list(&self, name: &str) -> Vec<u32> {
        let start = self.report.find(&format!("{name} [")).unwrap() + name.len() + 2;
        let len = self.report[start..].find(']').unwrap();
        self.report[start..start + len]
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(|s| {
                let s = s.trim_matches('"');
                s.split(':').next().unwrap().parse().unwrap()
            })
            .collect()
    }

    /// A number in the report (`received`, `written`).
    fn count(&self, name: &str) -> usize {
        let start = self.report.find(&format!("{name} ")).unwrap() + name.len() + 1;
        let len = self.report[start..].find(',').unwrap();
        self.report[start..start + len].parse().unwrap()
    }
}

/// Runs `serve` over 0..n delivered in chunks; the host reads the output as `intake` says.
async fn serve(
    g: &mut Guest,
    n: u32,
    limit: u32,
    in_order: bool,
    fail_every: u32,
    intake: Intake,
) -> ServeRun {
    let serve = g
        .func::<(StreamReader<u32>, u32, bool, u32), ((StreamReader<u32>, FutureReader<String>),)>(
            "serve",
        );
    let delivered = Delivered::default();
    let (out, report) = g
        .run(async |a| {
            let (input, _) =
                stream_tracked(a, 0..n, Delivery::chunks(&[3, 1, 8]), delivered.clone());
            let ((output, report),) = serve
                .call_concurrent(a, (input, limit, in_order, fail_every))
                .await
                .unwrap();
            let out = read_stream(a, output, intake).await;
            (out, read_future(a, report).await)
        })
        .await;
    g.assert_nothing_open().await;
    let delivered = delivered.lock().unwrap().clone();
    ServeRun {
        delivered,
        out,
        report,
    }
}

#[tokio::test]
async fn serve_writes_results_in_input_order() {
    let mut g = Guest::new(GUEST).await;
    let run = serve(&mut g, 100, 8, true, 0, Intake::default()).await;
    assert_eq!(run.out, (0..100).map(|v| v * 2).collect::<Vec<_>>());
    assert_eq!(
        run.report,
        "received 100, written 100, failures [], unsent [], aborted [], unread []"
    );
}

#[tokio::test]
async fn serve_writes_results_as_they_complete() {
    let mut g = Guest::new(GUEST).await;
    let mut run = serve(&mut g, 100, 8, false, 0, Intake::default()).await;
    assert_ne!(
        run.out,
        (0..100).map(|v| v * 2).collect::<Vec<_>>(),
        "handlers of different lengths finished in input order"
    );
    run.out.sort();
    assert_eq!(run.out, (0..100).map(|v| v * 2).collect::<Vec<_>>());
    assert_eq!(
        run.report,
        "received 100, written 100, failures [], unsent [], aborted [], unread []"
    );
}

/// A limit of `u32::MAX` (`usize::MAX` in the guest) means no limit, not a buffer that size.
#[tokio::test]
async fn serve_without_a_limit_runs_every_item() {
    let mut g = Guest::new(GUEST).await;
    for in_order in [true, false] {
        let mut run = serve(&mut g, 300, u32::MAX, in_order, 0, Intake::default()).await;
        run.out.sort();
        assert_eq!(run.out, (0..300).map(|v| v * 2).collect::<Vec<_>>());
        assert_eq!(
            run.report,
            "received 300, written 300, failures [], unsent [], aborted [], unread []"
        );
    }
}

#[tokio::test]
async fn serve_reports_handler_failures_and_keeps_the_other_results() {
    let mut g = Guest::new(GUEST).await;
    let run = serve(&mut g, 30, 4, true, 10, Intake::default()).await;
    let expected: Vec<u32> = (0..30).filter(|v| v % 10 != 0).map(|v| v * 2).collect();
    assert_eq!(run.out, expected);
    assert_eq!(
        run.report,
        r#"received 30, written 27, failures ["0:no 0", "10:no 10", "20:no 20"], unsent [], aborted [], unread []"#
    );
}

/// The host stops reading the output after a few results: every input item the guest read
/// is accounted for exactly once (written, failed, unsent, aborted or unread), in both
/// orders, with the reader leaving at different points.
#[tokio::test]
async fn serve_accounts_for_every_item_when_the_output_reader_leaves() {
    let mut g = Guest::new(GUEST).await;
    let mut leftovers = [0; 3];
    let mut unstarted = 0;
    for in_order in [true, false] {
        for (per_write, stop_after) in [(2, 10), (1, 1), (5, 37), (3, 0)] {
            let intake = Intake {
                per_write,
                stop_after: Some(stop_after),
                ..Intake::default()
            };
            let run = serve(&mut g, 1000, 4, in_order, 9, intake).await;
            let ctx = format!(
                "in_order {in_order}, stop after {stop_after}: {}",
                run.report
            );
            assert_eq!(run.out.len(), stop_after, "{ctx}");
            let written = run.count("written");
            let received = run.count("received");
            let (failures, unsent, aborted, unread) = (
                run.list("failures"),
                run.list("unsent"),
                run.list("aborted"),
                run.list("unread"),
            );
            // Written means taken by the host; the host read exactly those.
            assert_eq!(written, run.out.len(), "{ctx}");
            assert_eq!(
                received,
                written + failures.len() + unsent.len() + aborted.len(),
                "{ctx}"
            );
            // Handed to a handler: the first `received` items; then the unread ones; together
            // every item the host delivered, each once.
            let mut accounted: Vec<u32> = run.out.iter().chain(&unsent).map(|v| v / 2).collect();
            accounted.extend(&failures);
            accounted.extend(&aborted);
            accounted.sort_unstable();
            assert_eq!(accounted, (0..received as u32).collect::<Vec<_>>(), "{ctx}");
            assert!(failures.iter().all(|v| v % 9 == 0), "{ctx}");
            assert_eq!(
                unread,
                (received as u32..run.delivered.len() as u32).collect::<Vec<_>>(),
                "{ctx}"
            );
            assert_eq!(
                run.delivered,
                (0..run.delivered.len() as u32).collect::<Vec<_>>()
            );
            if in_order {
                let mut expected = run.out.clone();
                expected.extend(&unsent);
                expected.sort_unstable();
                assert_eq!(
                    run.out.iter().chain(&unsent).copied().collect::<Vec<_>>(),
                    expected,
                    "{ctx}"
                );
            }
            leftovers[0] += unsent.len();
            leftovers[1] += aborted.len();
            leftovers[2] += unread.len();
            // An unread item below an index handed to a handler: that handler's task had
            // not run when serving stopped, and its item came back (it was lost before).
            let highest = aborted.iter().chain(&run.out).max().copied().unwrap_or(0);
            unstarted += unread.iter().filter(|&&v| v < highest).count();
        }
    }
    // The cases above do leave results, handlers and items behind.
    assert!(
        leftovers.iter().all(|&n| n > 0),
        "unsent, aborted, unread: {leftovers:?}"
    );
    // And some handlers had not started when serving stopped: their items came back.
    assert!(unstarted > 0, "no handler was stopped before it started");
}

/// The output's reader leaves a write in flight untaken until the sink's buffer is full
/// behind it (the host counts the items the guest read; no "no growth for a while" wait),
/// then leaves: the result that `poll_ready` let through is refused
/// by `start_send` and still counted, so `written` stays 0 (it underflowed before the fix).
#[tokio::test]
async fn serve_counts_the_refused_result_when_a_full_output_loses_its_reader() {
    const LIMIT: u32 = 4;
    let mut g = Guest::new(GUEST).await;
    let serve = g
        .func::<(StreamReader<u32>, u32, bool, u32), ((StreamReader<u32>, FutureReader<String>),)>(
            "serve",
        );
    for in_order in [true, false] {
        let (report, delivered) = g
            .run(async |a| {
                // One item per read: the guest holds no input items beyond its handlers'.
                let (input, feed) = gated_stream(a, 1);
                feed.push(0..10_000u32);
                let ((output, report),) = serve
                    .call_concurrent(a, (input, LIMIT, in_order, 0))
                    .await
                    .unwrap();
                // The host takes nothing: the guest's first write waits, untaken.
                let out = gated_intake(a, output);
                out.until("write to the output", |s| s.offered > 0).await;
                // The guest reads input only while results have room. Each item it read
                // is in the write in flight, in the sink's buffer or with one of the LIMIT
                // handlers, so once it read this many, the buffer is full behind the write
                // and the next result waits for room (the guest reads no more).
                feed.until("fill the output's buffer", |s| {
                    s.delivered >= out.seen().offered + DEFAULT_SINK_CAPACITY + LIMIT as usize
                })
                .await;
                out.hang_up();
                let report = read_future(a, report).await;
                (report, feed.seen().delivered as u32)
            })
            .await;
        g.assert_nothing_open().await;
        let run = ServeRun {
            delivered: (0..delivered).collect(),
            out: Vec::new(),
            report,
        };
        let received = run.count("received");
        let unsent = run.list("unsent");
        let ctx = format!(
            "in_order {in_order}: received {received}, written {}, unsent {}",
            run.count("written"),
            unsent.len()
        );
        assert_eq!(run.count("written"), 0, "{ctx}");
        // The buffer (DEFAULT_SINK_CAPACITY) was full behind the write in flight.
        assert!(unsent.len() > DEFAULT_SINK_CAPACITY, "{ctx}");
        assert_eq!(received, unsent.len() + run.list("aborted").len(), "{ctx}");
        let mut accounted: Vec<u32> = unsent.iter().map(|v| v / 2).collect();
        accounted.extend(run.list("aborted"));
        accounted.extend(run.list("unread"));
        accounted.sort_unstable();
        assert_eq!(accounted, run.delivered, "{ctx}");
    }
}

/// Serving stopped by its token while handlers are still running (some never finish):
/// every item the host delivered is written, unsent, aborted (its handler ran) or unread,
/// exactly once.
#[tokio::test]
async fn serve_cancelled_accounts_for_every_item() {
    let mut g = Guest::new(GUEST).await;
    let serve = g.func::<(StreamReader<u32>, u32, FutureReader<u32>), ((StreamReader<u32>, FutureReader<String>),)>(
        "serve-cancelled",
    );
    let mut cancelled_with_work = 0;
    for run in 0..40u64 {
        let limit = [1, 3, 8, 64][run as usize % 4];
        let cancel_us = 200 * (run / 4);
        let delivered = Delivered::default();
        let (out, report) = g
            .run(async |a| {
                let bursts = Delivery::chunks(&[20, 3]).delay(Duration::from_micros(300));
                let (input, _) = stream_tracked(a, 0..500u32, bursts, delivered.clone());
                let cancel = future_after(a, Duration::from_micros(cancel_us), 0);
                let ((output, report),) = serve
                    .call_concurrent(a, (input, limit, cancel))
                    .await
                    .unwrap();
                let out = read_stream(a, output, Intake::default()).await;
                (out, read_future(a, report).await)
            })
            .await;
        g.assert_nothing_open().await;
        let run = ServeRun {
            delivered: delivered.lock().unwrap().clone(),
            out,
            report,
        };
        let ctx = format!("limit {limit}, cancel after {cancel_us} us: {}", run.report);
        assert!(run.report.ends_with("cancelled true"), "{ctx}");
        let (unsent, aborted, unread) =
            (run.list("unsent"), run.list("aborted"), run.list("unread"));
        assert_eq!(run.count("written"), run.out.len(), "{ctx}");
        assert_eq!(
            run.count("received"),
            run.out.len() + unsent.len() + aborted.len(),
            "{ctx}"
        );
        let mut accounted: Vec<u32> = run.out.iter().chain(&unsent).map(|v| v / 2).collect();
        accounted.extend(&aborted);
        accounted.extend(&unread);
        accounted.sort_unstable();
        assert_eq!(accounted, run.delivered, "{ctx}");
        cancelled_with_work += usize::from(!aborted.is_empty() || !unread.is_empty());
    }
    assert!(
        cancelled_with_work > 0,
        "no run was cancelled with work in flight"
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
        with_cancel_on_a_cancelled_token_polls_nothing,
        with_cancel_stops_an_always_ready_stream,
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
