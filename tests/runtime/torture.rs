//! Randomized cancellation torture test with exactly-once accounting.
//!
//! Each schedule is one seed. The host makes random futures (ready, late, never), streams
//! (odd chunks, delays, early end, stalls, reads of one item answered with an empty
//! completion first), byte streams and HTTP-shaped bodies (bytes, then trailers, nothing or
//! an error) for the guest, and reads the guest's own futures and streams at random speeds,
//! hanging up at random points. The guest (tests/guests/torture) consumes and produces
//! through every adapter with random patterns (select! loops with timers, try_recv, close,
//! into_inner, with_cancel, pumps, sinks, chunk sinks, futures' send_all, byte readers and
//! writers, `Duplex` echoes, `IncomingBody`, serve, task groups) and, when the host's
//! deadline fires, cancels whatever runs and recovers every value. Then:
//!
//! - every value the host delivered was received by the guest exactly once;
//! - every value the guest sent was received by the host or handed back to the guest,
//!   exactly once;
//! - no trap, no panic, nothing left open in the store, and the guest heap does not grow.
//!
//! Host producers that fail are not in the mix: wasmtime traps the guest and poisons the
//! instance when a producer returns an error (`StreamProducer::poll_produce`'s contract),
//! so there is nothing for an adapter to recover (peer_misbehaviour.rs covers the trap).
//!
//! `TORTURE_SCHEDULES=n` sets how many schedules run (default 300), from seed
//! `TORTURE_FIRST_SEED` (default 0); `TORTURE_SEED=s` runs schedule `s` alone. A failure prints the seed to replay.

use std::collections::BTreeMap;
use std::time::Duration;

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::future::join_all;
use wit_futures_harness::peer::{
    Delivered, Delivery, Intake, Rng, close_future, future, read_future, read_stream,
    stream_tracked,
};
use wit_futures_harness::wasmtime;
use wit_futures_harness::wasmtime::component::{ComponentType, Lift, Lower};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

/// The guest's `report` record.
#[derive(ComponentType, Lift, Lower, Debug, Default, Clone)]
#[component(record)]
struct Report {
    received: Vec<String>,
    sent: Vec<String>,
    returned: Vec<String>,
    log: Vec<String>,
    #[component(name = "received-bytes")]
    received_bytes: Vec<Vec<u8>>,
    #[component(name = "sent-bytes")]
    sent_bytes: Vec<(Vec<u8>, Vec<u8>)>,
}

type TryStream = (StreamReader<String>, FutureReader<Result<(), String>>);
type Body = (
    StreamReader<u8>,
    FutureReader<Result<Option<String>, String>>,
);
type Run = (
    u64,
    Vec<FutureReader<String>>,
    Vec<StreamReader<String>>,
    Vec<StreamReader<u8>>,
    Vec<TryStream>,
    Vec<Body>,
    u32,
    u32,
    u32,
    u32,
    FutureReader<u32>,
);
type Out = ((
    Vec<FutureReader<String>>,
    Vec<StreamReader<String>>,
    Vec<StreamReader<u8>>,
    FutureReader<Report>,
),);

/// An outcome the torture must reach at least once, by the guest's log line.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A future's value raced in and was recovered when the deadline cancelled the read.
    ValueRecoveredAfterCancel,
    /// A write cancelled by the deadline gave its value back.
    SendReturnedAfterCancel,
    /// A stream read was parked and went on.
    Parked,
    /// The host hung up on a guest stream mid-write (items handed back).
    HostHungUpOnAStream,
    /// The host hung up on a guest byte stream.
    HostHungUpOnBytes,
    /// A byte reader was taken apart mid-stream and rebuilt from its parts.
    BytesRebuilt,
    /// `serve` ran and was stopped by the deadline.
    ServeCancelled,
    /// A chunk or item forward was cancelled, the sink's items taken back.
    ForwardCancelled,
    /// futures' `send_all` into a sink was cancelled, the sink's items taken back.
    SendAllCancelled,
    /// A `Duplex` echo was parked and went on.
    DuplexParked,
    /// An `IncomingBody` was read to its end (trailers, error or none).
    BodyToTheEnd,
    /// An `IncomingBody` was taken apart when the deadline cancelled it.
    BodyCancelled,
}

impl Kind {
    const ALL: [Kind; 12] = [
        Kind::ValueRecoveredAfterCancel,
        Kind::SendReturnedAfterCancel,
        Kind::Parked,
        Kind::HostHungUpOnAStream,
        Kind::HostHungUpOnBytes,
        Kind::BytesRebuilt,
        Kind::ServeCancelled,
        Kind::ForwardCancelled,
        Kind::SendAllCancelled,
        Kind::DuplexParked,
        Kind::BodyToTheEnd,
        Kind::BodyCancelled,
    ];

    fn matches(self, line: &str) -> bool {
        match self {
            Kind::ValueRecoveredAfterCancel => line == "in-future: value recovered",
            Kind::SendReturnedAfterCancel => line == "out-future: cancelled: returned",
            Kind::Parked => line.starts_with("in-stream: ") && !line.ends_with(" 0 parks"),
            Kind::HostHungUpOnAStream => {
                line.starts_with("out-stream: pump: reader gone")
                    || line.starts_with("out-stream: push: reader gone")
                    || line == "out-stream: forward: reader gone"
            }
            Kind::HostHungUpOnBytes => line == "out-bytes: reader gone",
            Kind::BytesRebuilt => {
                line.starts_with("in-bytes: ")
                    && !line.ends_with(" rebuilt 0 times")
                    && line.contains(" rebuilt ")
            }
            Kind::ServeCancelled => line.starts_with("serve: ") && line.ends_with("cancelled true"),
            Kind::ForwardCancelled => {
                line == "out-stream: forward: cancelled" || line == "out-stream: chunks: cancelled"
            }
            Kind::SendAllCancelled => line == "out-stream: send-all: cancelled",
            Kind::DuplexParked => line.starts_with("duplex: ") && !line.ends_with(" 0 parks"),
            Kind::BodyToTheEnd => line == "in-body: to the end",
            Kind::BodyCancelled => line == "in-body: cancelled",
        }
    }
}

/// What one schedule moved, for the summary.
struct Tally {
    /// Schedules that reached each outcome kind.
    kinds: Vec<(Kind, u64)>,
    schedules: u64,
    to_guest: u64,
    to_host: u64,
    handed_back: u64,
    bytes_to_guest: u64,
    bytes_to_host: u64,
    bytes_handed_back: u64,
    /// Reads of one item the host answered with an empty completion first.
    empty_completions: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            kinds: Kind::ALL.iter().map(|&k| (k, 0)).collect(),
            schedules: 0,
            to_guest: 0,
            to_host: 0,
            handed_back: 0,
            bytes_to_guest: 0,
            bytes_to_host: 0,
            bytes_handed_back: 0,
            empty_completions: 0,
        }
    }
}

/// A random delivery plan for a stream of `n` items.
fn delivery(rng: &mut Rng, n: usize, max_chunk: u64) -> Delivery {
    let chunks: Vec<usize> = (0..1 + rng.below(4))
        .map(|_| 1 + rng.below(max_chunk) as usize)
        .collect();
    let mut delivery = Delivery::chunks(&chunks).delay(us(rng.below(400)));
    // Reads of one item answered with an empty completion first (the component model
    // allows it; the adapters must read again, not take it for the end).
    delivery.empty_completions = rng.below(4) == 0;
    match rng.below(3) {
        0 => delivery,
        1 => delivery.end_after(rng.below(n as u64 + 1) as usize),
        _ => delivery.stall_after(rng.below(n as u64 + 1) as usize),
    }
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Values are "id:padding"; ids below this are the host's, from it the guest's.
const GUEST_IDS: u32 = 1_000_000;

fn value(id: u32, rng: &mut Rng) -> String {
    format!("{id}:{}", "y".repeat(rng.below(40) as usize))
}

/// Runs schedule `seed`; returns its tally or a description of what went wrong.
async fn schedule(g: &mut Guest, seed: u64, tally: &mut Tally) -> Result<(), String> {
    let run = g.func::<Run, Out>("run");
    let mut rng = Rng::new(seed);
    let delivered: Delivered<String> = Default::default();
    let mut next_id = 0u32;

    // The host's plan, drawn up front so that it replays from the seed.
    let futures_plan: Vec<(String, u64)> = (0..rng.below(4))
        .map(|_| {
            next_id += 1;
            let v = value(next_id, &mut rng);
            // 0: ready; up to 3 ms late; u64::MAX: never
            let when = match rng.below(3) {
                0 => 0,
                1 => rng.below(3000),
                _ => u64::MAX,
            };
            (v, when)
        })
        .collect();
    let mut items = |rng: &mut Rng, n: usize| -> Vec<String> {
        (0..n)
            .map(|_| {
                next_id += 1;
                value(next_id, rng)
            })
            .collect()
    };
    let streams_plan: Vec<(Vec<String>, Delivery)> = (0..rng.below(3))
        .map(|_| {
            let n = rng.below(40) as usize;
            (items(&mut rng, n), delivery(&mut rng, n, 8))
        })
        .collect();
    // Item streams with an end future: its value, and whether it ever comes.
    type TryPlan = (Vec<String>, Delivery, Result<(), String>, bool);
    let try_plan: Vec<TryPlan> = (0..rng.below(2))
        .map(|_| {
            let n = rng.below(20) as usize;
            let items = items(&mut rng, n);
            let delivery = delivery(&mut rng, n, 6);
            let end = match rng.below(2) {
                0 => Ok(()),
                _ => Err(format!("failure {seed}-{}", rng.below(1000))),
            };
            (items, delivery, end, rng.below(4) != 0)
        })
        .collect();
    let bytes_plan: Vec<(Vec<u8>, Delivery)> = (0..rng.below(3))
        .map(|_| {
            let n = rng.below(300) as usize;
            let bytes = (0..n).map(|_| rng.below(256) as u8).collect();
            (bytes, delivery(&mut rng, n, 40))
        })
        .collect();
    // HTTP-shaped bodies: bytes, then trailers, nothing or an error, and whether that end
    // ever comes.
    type BodyPlan = (Vec<u8>, Delivery, Result<Option<String>, String>, bool);
    let body_plan: Vec<BodyPlan> = (0..rng.below(2))
        .map(|_| {
            let n = rng.below(300) as usize;
            let bytes = (0..n).map(|_| rng.below(256) as u8).collect();
            let delivery = delivery(&mut rng, n, 40);
            // Unlike any other value of the schedule (an item stream's end error is
            // "failure ..."): the accounting counts values by their text.
            let end = match rng.below(3) {
                0 => Ok(None),
                1 => Ok(Some(format!("trailer-{seed}-{}", rng.below(1000)))),
                _ => Err(format!("body failure {seed}-{}", rng.below(1000))),
            };
            (bytes, delivery, end, rng.below(4) != 0)
        })
        .collect();
    let out_futures = rng.below(3) as u32;
    let out_streams = rng.below(3) as u32;
    let out_bytes = rng.below(3) as u32;
    // For each of the guest's futures: read, or close, after a delay.
    let future_intake: Vec<(bool, u64)> = (0..out_futures)
        .map(|_| (rng.below(3) != 0, rng.below(2000)))
        .collect();
    let stream_intake: Vec<Intake> = (0..out_streams)
        .map(|_| Intake {
            per_write: rng.below(6) as usize,
            delay: us(rng.below(300)),
            stop_after: (rng.below(3) == 0).then(|| rng.below(30) as usize),
        })
        .collect();
    let bytes_intake: Vec<Intake> = (0..out_bytes)
        .map(|_| Intake {
            per_write: rng.below(30) as usize,
            delay: us(rng.below(300)),
            stop_after: (rng.below(3) == 0).then(|| rng.below(200) as usize),
        })
        .collect();
    let deadline_us = rng.below(6000);
    // `bs`, then the bodies of `hs`, as the guest reports them.
    let delivered_bytes: Vec<Delivered<u8>> = (0..bytes_plan.len() + body_plan.len())
        .map(|_| Delivered::default())
        .collect();
    if std::env::var("TORTURE_VERBOSE").is_ok_and(|v| v == "plan") {
        println!(
            "seed {seed}: futures {futures_plan:?}\n  streams {streams_plan:?}\n  out futures {future_intake:?}, out streams {stream_intake:?}, deadline {deadline_us} us"
        );
    }

    let (report, (host_received, host_streams), host_bytes) = g
        .try_run(async |a| {
            let fs = futures_plan
                .iter()
                .map(|(v, when)| {
                    let (v, when, delivered) = (v.clone(), *when, delivered.clone());
                    future(a, async move {
                        if when == u64::MAX {
                            std::future::pending::<()>().await;
                        }
                        tokio::time::sleep(us(when)).await;
                        // Polled to completion only inside a guest read: the value is
                        // delivered now.
                        delivered.lock().unwrap().push(v.clone());
                        v
                    })
                })
                .collect();
            let ss = streams_plan
                .iter()
                .map(|(items, delivery)| {
                    stream_tracked(a, items.clone(), delivery.clone(), delivered.clone()).0
                })
                .collect();
            let bs = bytes_plan
                .iter()
                .zip(&delivered_bytes)
                .map(|((bytes, delivery), delivered)| {
                    stream_tracked(a, bytes.clone(), delivery.clone(), delivered.clone()).0
                })
                .collect();
            let ts = try_plan
                .iter()
                .map(|(items, delivery, end, comes)| {
                    let s = stream_tracked(a, items.clone(), delivery.clone(), delivered.clone()).0;
                    let (end, comes, delivered) = (end.clone(), *comes, delivered.clone());
                    let end = future(a, async move {
                        if !comes {
                            std::future::pending::<()>().await;
                        }
                        // Taken inside a guest read: an error is a value delivered.
                        if let Err(e) = &end {
                            delivered.lock().unwrap().push(format!("end:{e}"));
                        }
                        end
                    });
                    (s, end)
                })
                .collect();
            let hs = body_plan
                .iter()
                .zip(&delivered_bytes[bytes_plan.len()..])
                .map(|((bytes, delivery, end, comes), delivered_bytes)| {
                    let s =
                        stream_tracked(a, bytes.clone(), delivery.clone(), delivered_bytes.clone())
                            .0;
                    let (end, comes, delivered) = (end.clone(), *comes, delivered.clone());
                    let end = future(a, async move {
                        if !comes {
                            std::future::pending::<()>().await;
                        }
                        // Taken inside a guest read: trailers or an error are a value
                        // delivered.
                        match &end {
                            Ok(Some(t)) => delivered.lock().unwrap().push(format!("end:{t}")),
                            Err(e) => delivered.lock().unwrap().push(format!("end:{e}")),
                            Ok(None) => {}
                        }
                        end
                    });
                    (s, end)
                })
                .collect();
            let deadline = future(a, async move {
                tokio::time::sleep(us(deadline_us)).await;
                0u32
            });
            let args = (
                seed,
                fs,
                ss,
                bs,
                ts,
                hs,
                out_futures,
                out_streams,
                out_bytes,
                GUEST_IDS,
                deadline,
            );
            let ((out_fs, out_ss, out_bs, report),) = run.call_concurrent(a, args).await?;
            let reads_f =
                out_fs
                    .into_iter()
                    .zip(&future_intake)
                    .map(|(f, &(read, after))| async move {
                        tokio::time::sleep(us(after)).await;
                        if read {
                            vec![read_future(a, f).await]
                        } else {
                            close_future(a, f);
                            vec![]
                        }
                    });
            let reads_s = out_ss
                .into_iter()
                .zip(&stream_intake)
                .map(|(s, intake)| read_stream(a, s, intake.clone()));
            let reads_b = out_bs
                .into_iter()
                .zip(&bytes_intake)
                .map(|(s, intake)| read_stream(a, s, intake.clone()));
            let (from_f, from_s, host_bytes) =
                futures::join!(join_all(reads_f), join_all(reads_s), join_all(reads_b));
            let mut host_received: Vec<String> = from_f
                .into_iter()
                .chain(from_s.iter().cloned())
                .flatten()
                .collect();
            // A sender that was cancelled and dropped writes the default: not a value.
            host_received.retain(|v| v != "default");
            let report = read_future(a, report).await;
            wasmtime::Result::Ok((report, (host_received, from_s), host_bytes))
        })
        .await
        .map_err(|e| format!("trap or host error: {e:?}"))?
        .map_err(|e: wasmtime::Error| format!("call failed: {e:?}"))?;

    let delivered = delivered.lock().unwrap().clone();
    let context = || format!("guest log {:?}", report.log);
    exactly_once("host -> guest", &delivered, &report.received, &[])
        .map_err(|e| format!("{e}; {}", context()))?;
    exactly_once(
        "guest -> host",
        &report.sent,
        &host_received,
        &report.returned,
    )
    .map_err(|e| format!("{e}; {}", context()))?;
    // Bytes, stream by stream: the guest got exactly what the host delivered, and the host
    // got what the guest wrote minus what came back to the guest, in order.
    let delivered_bytes: Vec<Vec<u8>> = delivered_bytes
        .iter()
        .map(|d| d.lock().unwrap().clone())
        .collect();
    if report.received_bytes != delivered_bytes {
        return Err(format!(
            "bytes host -> guest: delivered {delivered_bytes:?}, the guest got {:?}; {}",
            report.received_bytes,
            context()
        ));
    }
    for (i, ((written, returned), taken)) in report.sent_bytes.iter().zip(&host_bytes).enumerate() {
        let mut accounted = taken.clone();
        accounted.extend(returned);
        if &accounted != written {
            return Err(format!(
                "bytes guest -> host, stream {i}: wrote {written:?}, the host took {taken:?}, {returned:?} came back; {}",
                context()
            ));
        }
    }
    // Order, stream by stream: what the guest received of each host stream is that
    // stream's items in the order they were delivered (a reorder after `park`,
    // `into_inner` or `from_parts` would pass the counts above).
    let plans = streams_plan
        .iter()
        .map(|(items, _)| items)
        .chain(try_plan.iter().map(|(items, ..)| items));
    // (A stream the guest serves, each item on its own task, is handled in any order: its
    // echoes, "<item>!", say which one it is.)
    let echoed: std::collections::BTreeSet<&str> = report
        .sent
        .iter()
        .filter_map(|v| v.strip_suffix('!'))
        .collect();
    for (i, items) in plans.enumerate() {
        if items.iter().any(|v| echoed.contains(v.as_str())) {
            continue;
        }
        let set: std::collections::BTreeSet<&String> = items.iter().collect();
        let got: Vec<&String> = report.received.iter().filter(|v| set.contains(v)).collect();
        if got.iter().copied().ne(items.iter().take(got.len())) {
            return Err(format!(
                "host stream {i}: delivered in the order {items:?}, the guest received {got:?}; {}",
                context()
            ));
        }
    }
    // And each of the guest's streams reached the host in the order the guest wrote it (its
    // values' ids increase along the stream).
    for (i, taken) in host_streams.iter().enumerate() {
        if taken.iter().any(|v| v.ends_with('!')) {
            continue; // a `serve` output, in completion order when the guest chose so
        }
        let ids: Vec<u32> = taken
            .iter()
            .map(|v| v.split(':').next().unwrap().parse().unwrap())
            .collect();
        if ids.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "guest stream {i}: the host took {ids:?}, out of order; {}",
                context()
            ));
        }
    }
    // The guest logs outcomes the adapters promise never happen with a trailing '?'.
    if let Some(line) = report.log.iter().find(|l| l.ends_with('?')) {
        return Err(format!("impossible outcome {line:?}; {}", context()));
    }
    for (kind, count) in tally.kinds.iter_mut() {
        if report.log.iter().any(|l| kind.matches(l)) {
            *count += 1;
        }
    }
    tally.empty_completions += streams_plan
        .iter()
        .map(|(_, d)| d)
        .chain(try_plan.iter().map(|(_, d, ..)| d))
        .chain(bytes_plan.iter().map(|(_, d)| d))
        .chain(body_plan.iter().map(|(_, d, ..)| d))
        .map(|d| d.empties_sent.load(std::sync::atomic::Ordering::Relaxed) as u64)
        .sum::<u64>();
    tally.schedules += 1;
    tally.to_guest += delivered.len() as u64;
    tally.to_host += host_received.len() as u64;
    tally.handed_back += report.returned.len() as u64;
    tally.bytes_to_guest += delivered_bytes.iter().map(Vec::len).sum::<usize>() as u64;
    tally.bytes_to_host += host_bytes.iter().map(Vec::len).sum::<usize>() as u64;
    tally.bytes_handed_back += report
        .sent_bytes
        .iter()
        .map(|(_, returned)| returned.len())
        .sum::<usize>() as u64;
    Ok(())
}

/// Checks that `sent` is exactly `received` plus `returned`, each value once.
fn exactly_once(
    direction: &str,
    sent: &[String],
    received: &[String],
    returned: &[String],
) -> Result<(), String> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for v in sent {
        *counts.entry(v).or_default() += 1;
    }
    for v in received.iter().chain(returned) {
        *counts.entry(v).or_default() -= 1;
    }
    let lost: Vec<_> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, _)| *v)
        .collect();
    let extra: Vec<_> = counts
        .iter()
        .filter(|(_, n)| **n < 0)
        .map(|(v, _)| *v)
        .collect();
    let sent_twice = sent.len() != sent.iter().collect::<std::collections::BTreeSet<_>>().len();
    if lost.is_empty() && extra.is_empty() && !sent_twice {
        return Ok(());
    }
    Err(format!(
        "{direction}: lost {lost:?}, duplicated or unexpected {extra:?}, sent twice: {sent_twice}"
    ))
}

#[tokio::test]
async fn torture_every_value_exactly_once() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let seeds: Vec<u64> = match std::env::var("TORTURE_SEED") {
        Ok(seed) => vec![seed.parse().expect("TORTURE_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("TORTURE_SCHEDULES")
                .map_or(300, |n| n.parse().expect("TORTURE_SCHEDULES is a number"));
            let first: u64 = std::env::var("TORTURE_FIRST_SEED")
                .map_or(0, |s| s.parse().expect("TORTURE_FIRST_SEED is a number"));
            (first..first + n).collect()
        }
    };
    let mut g = Guest::new("guest-torture").await;
    let mut tally = Tally::default();
    let mut heap = Vec::new();
    let start = std::time::Instant::now();
    let verbose = std::env::var("TORTURE_VERBOSE").is_ok();
    for &seed in &seeds {
        if verbose {
            eprintln!("schedule {seed}");
        }
        let replay = format!("replay: TORTURE_SEED={seed} cargo test --test runtime torture");
        // Whatever fails (an accounting error, a hang, a harness panic), the seed is named.
        let checked = async {
            schedule(&mut g, seed, &mut tally).await?;
            // Every schedule: nothing left open in the store, and the guest's heap.
            g.assert_nothing_open().await;
            heap.push(g.live_bytes().await);
            Ok::<(), String>(())
        };
        let checked = tokio::time::timeout(Duration::from_secs(120), checked);
        match AssertUnwindSafe(checked).catch_unwind().await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("schedule {seed} failed: {e}\n{replay}"),
            Ok(Err(_)) => panic!("schedule {seed} hung for 2 minutes\n{replay}"),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("schedule {seed} panicked: {message}\n{replay}");
            }
        }
    }
    let kinds: Vec<String> = tally
        .kinds
        .iter()
        .map(|(kind, n)| format!("{kind:?} {n}"))
        .collect();
    println!(
        "torture: {} schedules in {:.1?}: {} values host -> guest, {} guest -> host, {} handed back to the guest; bytes: {} host -> guest, {} guest -> host, {} handed back; lost 0, duplicated 0, reordered 0; {} empty completions; guest live heap after each schedule: min {} max {} bytes; schedules reaching each outcome: {}",
        tally.schedules,
        start.elapsed(),
        tally.to_guest,
        tally.to_host,
        tally.handed_back,
        tally.bytes_to_guest,
        tally.bytes_to_host,
        tally.bytes_handed_back,
        tally.empty_completions,
        heap.iter().min().unwrap_or(&0),
        heap.iter().max().unwrap_or(&0),
        kinds.join(", "),
    );
    // After the first 100 schedules (one-time runtime allocations), the heap must not grow.
    if heap.len() > 100 {
        let baseline = heap[..100].iter().max().copied().unwrap_or(0);
        if let Some((i, h)) = heap
            .iter()
            .enumerate()
            .skip(100)
            .find(|(_, h)| **h > baseline)
        {
            panic!(
                "guest heap grew to {h} bytes after schedule {} (baseline {baseline})",
                seeds[i]
            );
        }
    }
    // A run long enough must reach every outcome the adapters handle: a torture that never
    // cancels a send or parks a read proves nothing about them.
    if seeds.len() >= 300 {
        let missing: Vec<&Kind> = tally
            .kinds
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(kind, _)| kind)
            .collect();
        assert!(missing.is_empty(), "no schedule reached {missing:?}");
        assert!(
            tally.empty_completions > 0,
            "no read was answered with an empty completion"
        );
    }
}
