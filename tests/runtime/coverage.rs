//! The paths no other test walks (guest `guest-coverage`): a relay between two connections
//! whose peers keep their sides open, borrowed duplex halves, adapters rebuilt from their
//! parts mid-stream, `Send` / `ChunkSink` / `Duplex` / `IncomingBody` parked across export
//! calls with operations in flight, abort handles, detached join sets, aborted
//! `spawn_forward` pumps, `Sender::into_inner` and `join_next`'s cancel safety.

use std::time::Duration;

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use wit_futures_harness::host::future::GuestFuture;
use wit_futures_harness::host::stream::{GuestStream, from_stream};
use wit_futures_harness::peer::{
    Delivery, Intake, future, future_never, future_ready, read_future, read_stream, stream,
};
use wit_futures_harness::{Accessor, Ctx, FutureReader, Guest, StreamReader};

const GUEST: &str = "guest-coverage";

/// Long enough for any loaded machine; what it catches is an answer that never comes.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A stream for the guest that the host writes to as it likes and keeps open until the
/// sender is dropped.
fn open_stream<T>(a: &Accessor<Ctx>) -> (mpsc::UnboundedSender<T>, StreamReader<T>)
where
    T: wit_futures_harness::wasmtime::component::Lower
        + wit_futures_harness::wasmtime::component::Lift
        + Send
        + Sync
        + Unpin
        + 'static,
{
    let (tx, rx) = mpsc::unbounded();
    (tx, a.with(|s| from_stream(s, rx)).unwrap())
}

fn send_all<T: Copy>(tx: &mpsc::UnboundedSender<T>, items: &[T]) {
    for &item in items {
        tx.unbounded_send(item).unwrap();
    }
}

/// Takes exactly `n` items from the guest's output, or fails if they do not come.
async fn take<T: std::fmt::Debug>(out: &mut GuestStream<T>, n: usize, what: &str) -> Vec<T> {
    let mut got = Vec::with_capacity(n);
    let read = async {
        while got.len() < n {
            match out.next().await {
                Some(item) => got.push(item),
                None => break,
            }
        }
    };
    if tokio::time::timeout(ANSWER_TIMEOUT, read).await.is_err() {
        panic!("{what}: no answer within {ANSWER_TIMEOUT:?} (got {got:?})");
    }
    assert_eq!(got.len(), n, "{what}: the stream ended early: {got:?}");
    got
}

/// Waits for the end of the guest's output, or fails if it does not come.
async fn assert_ends<T: std::fmt::Debug>(out: &mut GuestStream<T>, what: &str) {
    match tokio::time::timeout(ANSWER_TIMEOUT, out.next()).await {
        Ok(None) => {}
        Ok(Some(item)) => panic!("{what}: expected the end, got {item:?}"),
        Err(_) => panic!("{what}: no end within {ANSWER_TIMEOUT:?}"),
    }
}

/// tokio's `copy_bidirectional` over two `Duplex`es relays each message as it comes while
/// both peers keep their sides open; when one peer closes, the other's output ends, and
/// when both did, the relay reports exact counts.
#[tokio::test]
async fn relay_copies_each_message_both_ways_while_both_peers_keep_their_sides_open() {
    let mut g = Guest::new(GUEST).await;
    let relay = g
        .func::<(StreamReader<u8>, StreamReader<u8>), ((StreamReader<u8>, StreamReader<u8>, FutureReader<String>),)>(
            "relay",
        );
    let report = g
        .run(async |a| {
            let (a_in, a_reader) = open_stream::<u8>(a);
            let (b_in, b_reader) = open_stream::<u8>(a);
            let ((a_out, b_out, report),) = relay
                .call_concurrent(a, (a_reader, b_reader))
                .await
                .unwrap();
            let mut a_out = a.with(|s| GuestStream::new(s, a_out)).unwrap();
            let mut b_out = a.with(|s| GuestStream::new(s, b_out)).unwrap();
            let (mut a_sent, mut b_sent) = (0, 0);
            for (from_a, from_b) in [("hello from a", "hi, a"), ("x", "yz"), ("ping", "pong")] {
                send_all(&a_in, from_a.as_bytes());
                a_sent += from_a.len();
                let got = take(&mut b_out, from_a.len(), "a's message at b").await;
                assert_eq!(got, from_a.as_bytes());
                send_all(&b_in, from_b.as_bytes());
                b_sent += from_b.len();
                let got = take(&mut a_out, from_b.len(), "b's message at a").await;
                assert_eq!(got, from_b.as_bytes());
            }
            // a is done: b's output ends; b can still talk to a.
            drop(a_in);
            assert_ends(&mut b_out, "b's output after a closed").await;
            send_all(&b_in, b"still here");
            b_sent += 10;
            let got = take(&mut a_out, 10, "b's message after a closed").await;
            assert_eq!(got, b"still here");
            drop(b_in);
            assert_ends(&mut a_out, "a's output after b closed").await;
            let report = read_future(a, report).await;
            assert_eq!(report, format!("a->b {a_sent}, b->a {b_sent}"));
            report
        })
        .await;
    assert!(!report.is_empty());
    g.assert_nothing_open().await;
}

/// The halves `Duplex::split` lends echo each message while the peer keeps its side open.
#[tokio::test]
async fn split_halves_echo_each_message_while_the_peer_keeps_its_side_open() {
    let mut g = Guest::new(GUEST).await;
    let echo =
        g.func::<(StreamReader<u8>,), ((StreamReader<u8>, FutureReader<String>),)>("split-echo");
    g.run(async |a| {
        let (input, reader) = open_stream::<u8>(a);
        let ((output, report),) = echo.call_concurrent(a, (reader,)).await.unwrap();
        let mut output = a.with(|s| GuestStream::new(s, output)).unwrap();
        let mut total = 0;
        for message in ["ping", "a", "a longer message, still one write"] {
            send_all(&input, message.as_bytes());
            total += message.len();
            let got = take(&mut output, message.len(), message).await;
            assert_eq!(got, message.as_bytes());
        }
        drop(input);
        assert_ends(&mut output, "the echo after the input ended").await;
        assert_eq!(read_future(a, report).await, format!("{total} bytes"));
    })
    .await;
    g.assert_nothing_open().await;
}

type RebuildItems = (StreamReader<u32>, FutureReader<Result<(), String>>, u32);

/// Runs `rebuild-items` over `0..n` with `end` as the stream's end; the output and report.
async fn rebuild_items(n: u32, every: u32, end: Result<(), String>) -> (Vec<u32>, String) {
    let mut g = Guest::new(GUEST).await;
    let func =
        g.func::<RebuildItems, ((StreamReader<u32>, FutureReader<String>),)>("rebuild-items");
    let out = g
        .run(async |a| {
            let (input, _) = stream(
                a,
                0..n,
                Delivery::chunks(&[5, 1, 9, 3, 12]).delay(Duration::from_micros(200)),
            );
            let end = future_ready(a, end);
            let ((output, report),) = func.call_concurrent(a, (input, end, every)).await.unwrap();
            let intake = Intake {
                per_write: 3,
                delay: Duration::from_micros(300),
                ..Intake::default()
            };
            let (items, report) =
                futures::join!(read_stream(a, output, intake), read_future(a, report));
            (items, report)
        })
        .await;
    g.assert_nothing_open().await;
    out
}

/// Every item arrives once and in order through item streams, chunk streams and try
/// streams rebuilt from their parts mid-stream (unread items handed on), written through
/// sinks and chunk sinks rebuilt likewise while their writes were in flight (unsent items
/// handed on); the stream's end comes out of whichever adapter holds it.
#[tokio::test]
async fn adapters_rebuilt_from_their_parts_mid_stream_lose_and_reorder_nothing() {
    let (items, report) = rebuild_items(3000, 7, Ok(())).await;
    assert_eq!(items, (0..3000).collect::<Vec<_>>(), "{report}");
    let counts = parse_counts(&report);
    assert_eq!(counts[0], 3000, "{report}");
    assert!(counts[1] > 100, "too few reader rebuilds: {report}");
    assert!(
        counts[2] > 0,
        "no reader was rebuilt with unread items: {report}"
    );
    assert!(
        counts[4] > 0,
        "no writer was rebuilt with unsent items: {report}"
    );
    assert!(report.ends_with("end: ok"), "{report}");
}

/// The try stream's end error comes out even when the stream's last items passed through
/// other adapters, after every item.
#[tokio::test]
async fn a_rebuilt_try_stream_still_reports_the_end_error_after_every_item() {
    let (items, report) = rebuild_items(500, 11, Err("boom".into())).await;
    assert_eq!(items, (0..500).collect::<Vec<_>>(), "{report}");
    assert!(report.ends_with("end: err boom"), "{report}");
}

/// Bytes through byte readers and chunk streams, byte writers and sinks, each rebuilt from
/// its parts every few bytes: every byte once, in order.
#[tokio::test]
async fn byte_adapters_rebuilt_from_their_parts_lose_and_reorder_nothing() {
    let mut g = Guest::new(GUEST).await;
    let func = g.func::<(StreamReader<u8>, u32), ((StreamReader<u8>, FutureReader<String>),)>(
        "rebuild-bytes",
    );
    let input: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let (bytes, report) = g
        .run(async |a| {
            let (reader, _) = stream(
                a,
                input.clone(),
                Delivery::chunks(&[17, 3, 40, 1, 9]).delay(Duration::from_micros(100)),
            );
            let ((output, report),) = func.call_concurrent(a, (reader, 9)).await.unwrap();
            let intake = Intake {
                per_write: 7,
                delay: Duration::from_micros(100),
                ..Intake::default()
            };
            futures::join!(read_stream(a, output, intake), read_future(a, report))
        })
        .await;
    assert!(bytes == input, "the bytes differ: {report}");
    let counts = parse_counts(&report);
    assert_eq!(counts[0], 20_000, "{report}");
    assert!(
        counts[2] > 0,
        "no reader was rebuilt with unread bytes: {report}"
    );
    assert!(
        counts[4] > 0,
        "no writer was rebuilt with unsent bytes: {report}"
    );
    g.assert_nothing_open().await;
}

/// The numbers in a rebuild report, in order.
fn parse_counts(report: &str) -> Vec<usize> {
    report
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect()
}

/// A `Send`, a `ChunkSink`, a `Duplex` and an `IncomingBody` kept in a static across export
/// calls, each with an operation in flight when the first call ends (the host reads
/// nothing yet, and has sent nothing more): parked, they resume in the next calls, and the
/// host gets the value, every batch in order, every echoed byte and the whole body with
/// its trailers, exactly once. Without the parking, wasmtime rejects the next call's
/// operations ("delivering non-present event").
#[tokio::test]
async fn send_chunk_sink_duplex_and_body_parked_across_calls_deliver_everything_once() {
    let mut g = Guest::new(GUEST).await;
    let open = g.func::<(
        StreamReader<u8>,
        StreamReader<u8>,
        FutureReader<Result<Option<u32>, String>>,
    ), ((FutureReader<u32>, StreamReader<u32>, StreamReader<u8>),)>("session-open");
    let step = g.func::<(u32, u32), (String,)>("session-step");
    let close = g.func::<(), (String,)>("session-close");
    g.run(async |a| {
        let (input, input_reader) = open_stream::<u8>(a);
        let (body, body_reader) = open_stream::<u8>(a);
        let (end_tx, end_rx) = oneshot::channel::<Result<Option<u32>, String>>();
        let end = future(a, async move {
            end_rx.await.unwrap_or(Err("end dropped".into()))
        });
        let ((value, chunks, echo),) = open
            .call_concurrent(a, (input_reader, body_reader, end))
            .await
            .unwrap();

        // Round 1: the host reads nothing; everything is in flight when the call ends.
        send_all(&input, b"ab");
        send_all(&body, b"hello ");
        let (said,) = step.call_concurrent(a, (1, 2)).await.unwrap();
        for what in ["send in flight", "chunks in flight", "echo read in flight"] {
            assert!(said.contains(what), "round 1 did not leave {what}: {said}");
        }

        // Round 2: the host reads; the parked operations resume.
        let value = a.with(|s| GuestFuture::new(s, value)).unwrap();
        let chunks = a.with(|s| GuestStream::new(s, chunks)).unwrap();
        let mut echo = a.with(|s| GuestStream::new(s, echo)).unwrap();
        send_all(&input, b"cd");
        send_all(&body, b"world");
        // What the guest writes now may still be in flight when this call ends: a parked
        // write resumes only when the guest writes again, so the echo is checked at the end.
        let (_,) = step.call_concurrent(a, (2, 2)).await.unwrap();

        // Round 3 leaves a body read in flight again, then the session ends.
        send_all(&input, b"e");
        let (_,) = step.call_concurrent(a, (3, 1)).await.unwrap();
        send_all(&input, b"fgh");
        send_all(&body, b"!");
        drop((input, body));
        end_tx.send(Ok(Some(7))).unwrap();
        // The host reads while the guest closes: a close waits for its reader.
        let closing = async { close.call_concurrent(a, ()).await.unwrap().0 };
        let echoed = async {
            let got = take(&mut echo, 8, "the echo").await;
            assert_ends(&mut echo, "the echo").await;
            got
        };
        let (report, chunks, echoed): (_, Vec<u32>, _) =
            futures::join!(closing, chunks.collect(), echoed);
        assert_eq!(
            report,
            "send ok, chunks closed, 8 bytes echoed, body hello world! trailers 7"
        );
        assert_eq!(value.await.unwrap(), 42);
        assert_eq!(chunks, [10, 11, 12, 20, 21, 22, 30, 31, 32]);
        assert_eq!(echoed, b"abcdefgh");
    })
    .await;
    g.assert_nothing_open().await;
}

/// An abort handle aborts a task that waits (its read of the host's future is dropped)
/// from another task; aborting one that already finished changes nothing: its output is
/// still joined.
#[tokio::test]
async fn abort_handles_stop_a_waiting_task_and_leave_a_finished_one_alone() {
    let mut g = Guest::new(GUEST).await;
    let func = g.func::<(FutureReader<u32>, FutureReader<u32>), (Vec<String>,)>("abort-handles");
    let (lines, probe) = g
        .run(async |a| {
            let (never, probe) = future_never::<u32>(a);
            let ready = future_ready(a, 5u32);
            let (lines,) = func.call_concurrent(a, (never, ready)).await.unwrap();
            (lines, probe)
        })
        .await;
    assert_eq!(
        lines,
        [
            "waiting: cancelled, finished right after the abort false, after the join true",
            "finishing: ok 5, finished right after the abort true, after the join true"
        ]
    );
    g.settle().await;
    assert!(probe.dropped(), "the aborted task's read is still open");
    g.assert_nothing_open().await;
}

/// `JoinSet::detach_all` lets the tasks run on after the set is dropped and the export
/// returned: each future the host resolves later comes out of the output.
#[tokio::test]
async fn detached_join_set_tasks_finish_after_the_call_returned() {
    let mut g = Guest::new(GUEST).await;
    let func = g.func::<(Vec<FutureReader<u32>>,), (StreamReader<u32>,)>("detach-all");
    g.run(async |a| {
        let mut senders = Vec::new();
        let mut fs = Vec::new();
        for _ in 0..4 {
            let (tx, rx) = oneshot::channel::<u32>();
            senders.push(tx);
            fs.push(future(a, async move { rx.await.unwrap_or(0) }));
        }
        let (output,) = func.call_concurrent(a, (fs,)).await.unwrap();
        let mut output = a.with(|s| GuestStream::new(s, output)).unwrap();
        // The call has returned; the tasks wait for the host.
        for (i, tx) in senders.into_iter().enumerate() {
            tx.send(i as u32 + 1).unwrap();
            let got = take(&mut output, 1, "a detached task's value").await;
            assert_eq!(got, [2 * (i as u32 + 1)]);
        }
        assert_ends(&mut output, "the output after every task").await;
    })
    .await;
    g.assert_nothing_open().await;
}

/// Aborting a `spawn_forward` pump ends the output after a prefix of the input, in order,
/// and drops the source; with the host reading (`reading`) and with a write in flight
/// that nobody reads (the worst moment).
async fn abort_forward(reading: bool) {
    let mut g = Guest::new(GUEST).await;
    let func = g.func::<(StreamReader<u32>, FutureReader<u32>), ((StreamReader<u32>, FutureReader<String>),)>(
        "abort-forward",
    );
    g.run(async |a| {
        let (input, reader) = open_stream::<u32>(a);
        let (stop_tx, stop_rx) = oneshot::channel::<u32>();
        let stop = future(a, async move { stop_rx.await.unwrap_or(0) });
        let ((output, report),) = func.call_concurrent(a, (reader, stop)).await.unwrap();
        let mut output = a.with(|s| GuestStream::new(s, output)).unwrap();
        send_all(&input, &[1, 2, 3, 4, 5]);
        if reading {
            assert_eq!(
                take(&mut output, 5, "the forwarded items").await,
                [1, 2, 3, 4, 5]
            );
        }
        stop_tx.send(0).unwrap();
        assert_eq!(
            read_future(a, report).await,
            "cancelled true, source dropped true"
        );
        let rest: Vec<u32> = tokio::time::timeout(ANSWER_TIMEOUT, (&mut output).collect())
            .await
            .expect("the output ends after the abort");
        if reading {
            assert!(rest.is_empty(), "items after the abort: {rest:?}");
        } else {
            assert!(
                [1, 2, 3, 4, 5].starts_with(&rest),
                "not a prefix of the input: {rest:?}"
            );
        }
        // The guest dropped its reader of the input: wasmtime drops the host's producer.
        tokio::time::timeout(ANSWER_TIMEOUT, async {
            while !input.is_closed() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the guest still holds the input after the abort");
    })
    .await;
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn aborting_a_forward_pump_ends_the_output_and_drops_the_source() {
    abort_forward(true).await;
}

#[tokio::test]
async fn aborting_a_forward_pump_with_a_write_in_flight_ends_the_output() {
    abort_forward(false).await;
}

/// `Sender::into_inner` gives back a writer that still writes; dropping it writes the
/// future's default value.
#[tokio::test]
async fn sender_into_inner_gives_back_a_working_writer() {
    let mut g = Guest::new(GUEST).await;
    let func = g.func::<(), ((FutureReader<u32>, FutureReader<u32>),)>("sender-into-inner");
    g.run(async |a| {
        let ((written, dropped),) = func.call_concurrent(a, ()).await.unwrap();
        assert_eq!(read_future(a, written).await, 7);
        assert_eq!(read_future(a, dropped).await, 0);
    })
    .await;
    g.assert_nothing_open().await;
}

async fn run_case(name: &str) -> String {
    let mut g = Guest::new(GUEST).await;
    let (result,) = g
        .call::<(String,), (Result<String, String>,)>("run-case", (name.to_string(),))
        .await;
    g.assert_nothing_open().await;
    result.unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A `join_next` dropped after its task finished (output ready, not yet handed out) loses
/// nothing: the next `join_next` gets the output.
#[tokio::test]
async fn join_next_dropped_with_a_ready_output_loses_nothing() {
    run_case("join-next-dropped-with-a-ready-output").await;
}

/// A `join_next` that loses a `select!` to a branch ready at the same time loses nothing.
#[tokio::test]
async fn join_next_losing_a_select_loses_nothing() {
    let said = run_case("join-next-losing-a-select").await;
    assert_eq!(said, "2 lost races, both outputs joined");
}
