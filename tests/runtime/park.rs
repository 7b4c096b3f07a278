//! Adapters kept across export calls (the session pattern): the callee keeps a receiver, an
//! item stream and a sink in statics, and every call that polls them parks them before it
//! ends (with `park_on_drop` guards), also when it is cancelled. Each value arrives exactly
//! once, and no call's task is left behind: the store settles.

use std::time::Duration;

use wit_futures_harness::peer::{
    Delivered, Delivery, Intake, future, future_after, read_stream, stream_tracked,
};
use wit_futures_harness::wasmtime;
use wit_futures_harness::wasmtime::component::{ComponentType, Lift};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

/// The canceller's `outcome` record.
#[derive(ComponentType, Lift, Debug)]
#[component(record)]
struct Outcome {
    log: Vec<String>,
    sent: Vec<u32>,
    delivered: Vec<u32>,
    recovered: Vec<u32>,
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

/// The host calls `session-step` eight times with 5 ms deadlines while it delivers a future
/// and a slow stream, and reads the output slowly: reads and writes are in flight when calls
/// end. Every value the host delivered comes out of the output or `session-close` exactly
/// once, and every call's task finished.
#[tokio::test]
async fn session_adapters_kept_across_calls_lose_nothing_and_settle() {
    let mut g = Guest::new("guest-cancellee").await;
    let open = g.func::<(FutureReader<u32>, StreamReader<u32>), (StreamReader<u32>,)>(
        "harness:tests/target#session-open",
    );
    let step = g.func::<(FutureReader<u32>,), (Vec<u32>,)>("harness:tests/target#session-step");
    let close = g.func::<(), (Vec<u32>,)>("harness:tests/target#session-close");
    let report = g.func::<(), (Vec<String>,)>("harness:tests/target#report");
    let delivered = Delivered::default();
    let (copied, out, held) = g
        .run(async |a| {
            // Its value is recorded as delivered when the host hands it to a guest read (the
            // producer completes only inside one).
            let f = {
                let delivered = delivered.clone();
                future(a, async move {
                    tokio::time::sleep(Duration::from_millis(7)).await;
                    delivered.lock().unwrap().push(7);
                    7
                })
            };
            let items = Delivery::chunks(&[1, 5, 2]).delay(Duration::from_millis(1));
            let (s, _) = stream_tracked(a, 100..400u32, items, delivered.clone());
            let (output,) = open.call_concurrent(a, (f, s)).await.unwrap();
            let intake = Intake {
                per_write: 3,
                delay: Duration::from_millis(2),
                ..Intake::default()
            };
            let reading = read_stream(a, output, intake);
            let steps = async {
                let mut copied = Vec::new();
                for _ in 0..8 {
                    let deadline = future_after(a, Duration::from_millis(5), 0);
                    let (got,) = step.call_concurrent(a, (deadline,)).await.unwrap();
                    copied.extend(got);
                }
                let (held,) = close.call_concurrent(a, ()).await.unwrap();
                (copied, held)
            };
            let ((copied, held), out) = futures::join!(steps, reading);
            (copied, out, held)
        })
        .await;
    // Every call's task finished: nothing was left in flight past a call.
    g.assert_nothing_open().await;
    let (lines,) = g
        .call::<(), (Vec<String>,)>("harness:tests/target#report", ())
        .await;
    let _ = report;
    // Everything the host handed over, the future's value included if it was.
    let expected = delivered.lock().unwrap().clone();
    let mut accounted = out.clone();
    accounted.extend(&held);
    assert_eq!(sorted(accounted), sorted(expected), "copied {copied:?}");
    assert!(out.len() > 10, "too little got through: {out:?}");
    // The test reached the state it is about: calls ended with operations in flight.
    let in_flight = lines
        .iter()
        .filter(|l| l.contains("reading: true") || l.contains("writing"))
        .count();
    assert!(
        in_flight > 0,
        "no call ended with a read or write in flight: {lines:?}"
    );
}

/// A composed caller runs the session across calls it cancels mid-flight or ends with
/// their deadline, feeding values during and between the calls: every value the callee
/// took is delivered or recovered exactly once, and no task is left behind.
#[tokio::test]
async fn cancelled_session_calls_lose_nothing() {
    let (mut cancelled, mut recovered, mut in_flight) = (0, 0, 0);
    for seed in 0..40 {
        let mut g = Guest::new("composed_cancel").await;
        let (outcome,) = g
            .call::<(u32, u64), (Outcome,)>("cancel-session", (6, seed))
            .await;
        g.assert_nothing_open().await;
        let mut accounted = outcome.delivered.clone();
        accounted.extend(&outcome.recovered);
        assert_eq!(
            sorted(accounted),
            sorted(outcome.sent.clone()),
            "seed {seed}: {outcome:?}"
        );
        cancelled += outcome
            .log
            .iter()
            .filter(|l| l.ends_with("cancelled"))
            .count();
        recovered += outcome.recovered.len();
        in_flight += outcome
            .log
            .iter()
            .filter(|l| {
                l.starts_with("step ended")
                    && (l.contains("reading: true") || l.contains("writing"))
            })
            .count();
    }
    // The runs did cancel calls, leave operations in flight, and hand values back.
    assert!(
        cancelled > 0 && in_flight > 0 && recovered > 0,
        "{cancelled} {in_flight} {recovered}"
    );
}
