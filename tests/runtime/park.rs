//! Adapters kept across export calls (the session pattern): the callee keeps a receiver, an
//! item stream and a sink in statics, and every call that polls them parks them before it
//! ends (with `park_on_drop` guards), also when it is cancelled. Each value arrives exactly
//! once, and no call's task is left behind: the store settles.

use wit_futures_harness::wasmtime;
use wit_futures_harness::wasmtime::component::{ComponentType, Lift};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

use crate::gated::{gated_future, gated_intake, gated_stream};

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

/// The host calls `session-step` eight times while it delivers a future and a stream and
/// reads the output: every call ends with the stream's read in flight, and every other one
/// with a write in flight too. Every value the host delivered comes out of the output or
/// `session-close` exactly once, and every call's task finished.
///
/// Each call's deadline fires only once the host has seen the guest copy what it was given
/// and wait again (its read waiting for the next item, and on odd calls its write waiting
/// for the host to take it): the calls end in the state the test is about by construction,
/// not by timing.
#[tokio::test]
async fn session_adapters_kept_across_calls_lose_nothing_and_settle() {
    let mut g = Guest::new("guest-cancellee").await;
    let open = g.func::<(FutureReader<u32>, StreamReader<u32>), (StreamReader<u32>,)>(
        "harness:tests/target#session-open",
    );
    let step = g.func::<(FutureReader<u32>,), (Vec<u32>,)>("harness:tests/target#session-step");
    let close = g.func::<(), (Vec<u32>,)>("harness:tests/target#session-close");
    // Items the host delivers during each call; the future's value goes in call 2.
    let batches = [1, 5, 2, 3, 1, 5, 2, 3];
    const VALUE_IN: usize = 2;
    let (copied, out, held, delivered) = g
        .run(async |a| {
            let (f, value) = gated_future(a, 7u32);
            let (s, input) = gated_stream(a, 2);
            let (output,) = open.call_concurrent(a, (f, s)).await.unwrap();
            let out = gated_intake(a, output);
            let mut delivered = Vec::new();
            let mut next = 100u32;
            let mut copied = Vec::new();
            for (i, n) in batches.into_iter().enumerate() {
                let (deadline, deadline_gate) = gated_future(a, 0);
                let call = step.call_concurrent(a, (deadline,));
                let host = async {
                    let items: Vec<u32> = (next..next + n).collect();
                    next += n;
                    delivered.extend(&items);
                    if i == VALUE_IN {
                        delivered.push(7);
                    }
                    if i % 2 == 0 {
                        // Even calls: the host takes every value as soon as it is written,
                        // so no write is left in flight.
                        out.allow(delivered.len() - out.seen().taken);
                    }
                    input.push(items);
                    if i == VALUE_IN {
                        value.read_started(1).await;
                        value.release();
                        value.handed().await;
                    }
                    // The guest took every item and reads again.
                    input.waiting_after(next as usize - 100).await;
                    if i % 2 == 0 {
                        out.until("write everything it was given", |s| {
                            s.taken == delivered.len()
                        })
                        .await;
                    } else {
                        // Odd calls: the guest's write waits for the host, which takes
                        // nothing.
                        out.until("write what it was given", |s| s.offered > 0)
                            .await;
                    }
                    deadline_gate.release();
                };
                let (result, ()) = futures::join!(call, host);
                copied.extend(result.unwrap().0);
            }
            let (held,) = close.call_concurrent(a, ()).await.unwrap();
            // The session hung up on the output.
            out.until("drop the output", |s| s.dropped).await;
            (copied, out.received(), held, delivered)
        })
        .await;
    // Every call's task finished: nothing was left in flight past a call.
    g.assert_nothing_open().await;
    let (lines,) = g
        .call::<(), (Vec<String>,)>("harness:tests/target#report", ())
        .await;
    let mut accounted = out.clone();
    accounted.extend(&held);
    assert_eq!(
        sorted(accounted),
        sorted(delivered.clone()),
        "copied {copied:?}, out {out:?}, held {held:?}"
    );
    assert_eq!(
        sorted(copied.clone()),
        sorted(delivered),
        "copied {copied:?}"
    );
    // The last call left its write in flight: those values came back from session-close.
    assert!(!held.is_empty(), "held {held:?}");
    // The calls ended in the state the test is about: operations in flight.
    let steps: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("step ended"))
        .collect();
    assert_eq!(steps.len(), batches.len(), "{lines:?}");
    for (i, line) in steps.iter().enumerate() {
        assert!(line.contains("reading: true"), "call {i}: {line}");
        assert_eq!(line.contains("writing"), i % 2 == 1, "call {i}: {line}");
    }
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
