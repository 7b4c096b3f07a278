//! The guest half of the torture test (world `torture` in tests/wit/torture.wit). Every
//! choice comes from the seed, so a failing schedule replays exactly.
//!
//! Every task ends by recovering what its adapter holds (`into_inner`, `close`,
//! `Send::cancel`, the sink's error), never by dropping an adapter with values inside: the
//! test proves that recovery is always possible and complete. What may be dropped at any
//! moment are the cancel-safe calls: `next()`, `&mut receiver`, `with_cancel` futures,
//! `forward`, `flush`, timers.

// The `run` export takes one parameter per adapter under test.
#![allow(clippy::too_many_arguments)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "torture",
    additional_derives: [Default],
});

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures::future::poll_immediate;
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use futures::{FutureExt, SinkExt, StreamExt};
use guest_common::Rng;
use wit_bindgen::{FutureReader, FutureWriter, StreamReader, StreamWriter, yield_async};
use wit_futures::cancel::{CancelExt, CancellationToken, Cancelled};
use wit_futures::future::{Receiver, Recovered, SendCancel, SendError};
use wit_futures::prelude::*;
use wit_futures::task::{JoinSet, spawn};

struct Component;

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

type Acc = Rc<RefCell<Report>>;

fn received(acc: &Acc, v: String) {
    acc.borrow_mut().received.push(v);
}

fn log(acc: &Acc, line: String) {
    acc.borrow_mut().log.push(line);
}

/// A timer that can lose a `select!` and be dropped: `1 + yields` yields of the task that
/// polls it.
///
/// Not a spawned task: under wit-bindgen 0.63 a loop that spawns a task per round whose only
/// wait is `yield_async` never lets the host run (the executor keeps polling while tasks are
/// being spawned, and re-polls a task that woke itself), so host timers never fire. See
/// `host_timers_fire_while_the_guest_spins_on_timers` in tests/runtime/task.rs.
fn timer(yields: u64) -> futures::future::Fuse<Pin<Box<dyn Future<Output = ()>>>> {
    let wait: Pin<Box<dyn Future<Output = ()>>> = Box::pin(self::yields(1 + yields));
    wait.fuse()
}

async fn yields(n: u64) {
    for _ in 0..n {
        yield_async().await;
    }
}

fn value(id: u32, rng: &mut Rng) -> String {
    format!("{id}:{}", "x".repeat(rng.below(40) as usize))
}

/// Takes back whatever a receiver holds.
fn recover(acc: &Acc, rx: Receiver<String>) -> &'static str {
    match rx.into_inner() {
        Recovered::Value(v) => {
            received(acc, v);
            "value recovered"
        }
        Recovered::Reader(_) => "reader recovered",
        Recovered::Nothing => "nothing left",
    }
}

async fn consume_future(f: FutureReader<String>, token: CancellationToken, mut rng: Rng, acc: Acc) {
    let mut rx = f.into_oneshot();
    let how = match rng.below(5) {
        0 => match (&mut rx).with_cancel(&token).await {
            Ok(Ok(v)) => {
                received(&acc, v);
                "awaited"
            }
            Ok(Err(_)) => "canceled?",
            Err(Cancelled) => recover(&acc, rx),
        },
        1 => loop {
            let mut tick = timer(rng.below(4));
            let mut cancelled = token.cancelled();
            futures::select! {
                v = rx => {
                    received(&acc, v.unwrap());
                    break "select: value";
                }
                _ = tick => {
                    if rng.below(4) == 0 && let Ok(Some(v)) = rx.try_recv() {
                        received(&acc, v);
                        break "select: try_recv";
                    }
                    if rng.below(3) == 0 {
                        // The read in flight stops; a value that raced in stays in `rx`.
                        rx.park();
                    }
                }
                () = cancelled => break recover(&acc, rx),
            }
        },
        2 => {
            yields(rng.below(6)).await;
            if rng.below(2) == 0 {
                if let Some(v) = poll_immediate(&mut rx).await {
                    received(&acc, v.unwrap());
                    return log(&acc, "in-future: polled: value".into());
                }
                yields(rng.below(4)).await;
            }
            rx.close();
            match rx.await {
                Ok(v) => {
                    received(&acc, v);
                    "closed, value kept"
                }
                Err(_) => "closed",
            }
        }
        3 => {
            if let Some(v) = poll_immediate(&mut rx).await {
                received(&acc, v.unwrap());
                return log(&acc, "in-future: polled: value".into());
            }
            yields(rng.below(6)).await;
            match rx.into_inner() {
                Recovered::Value(v) => {
                    received(&acc, v);
                    "into_inner: value"
                }
                // Read it again through a fresh receiver, until the deadline.
                Recovered::Reader(reader) => {
                    let mut rx = reader.into_oneshot();
                    match (&mut rx).with_cancel(&token).await {
                        Ok(Ok(v)) => {
                            received(&acc, v);
                            "into_inner: reader, then value"
                        }
                        _ => recover(&acc, rx),
                    }
                }
                Recovered::Nothing => "into_inner: nothing?",
            }
        }
        _ => loop {
            match rx.try_recv() {
                Ok(Some(v)) => {
                    received(&acc, v);
                    break "try_recv";
                }
                Ok(None) if !token.is_cancelled() => yields(1 + rng.below(3)).await,
                _ => break recover(&acc, rx),
            }
        },
    };
    log(&acc, format!("in-future: {how}"));
}

async fn consume_stream(s: StreamReader<String>, token: CancellationToken, mut rng: Rng, acc: Acc) {
    let mut reader = Some(s);
    let (mut rounds, mut parks) = (0, 0);
    // Read, give up at a random moment, recover, maybe go on with the raw reader.
    while let Some(s) = reader.take() {
        rounds += 1;
        let stop_early = rng.below(3) == 0;
        let (back, unread) = if rng.below(3) == 0 {
            let mut chunks = s
                .into_chunk_stream()
                .with_capacity(1 + rng.below(6) as usize);
            loop {
                let mut tick = timer(rng.below(5));
                futures::select! {
                    c = chunks.next() => match c {
                        Some(c) => acc.borrow_mut().received.extend(c),
                        None => break,
                    },
                    _ = tick => {
                        if stop_early && rng.below(3) == 0 { break }
                        if rng.below(3) == 0 {
                            chunks.park();
                            parks += 1;
                        }
                    },
                    () = token.cancelled().fuse() => break,
                }
            }
            chunks.into_inner()
        } else {
            let mut items = s
                .into_item_stream()
                .with_capacity(1 + rng.below(12) as usize);
            loop {
                let mut tick = timer(rng.below(5));
                futures::select! {
                    v = items.next() => match v {
                        Some(v) => received(&acc, v),
                        None => break,
                    },
                    _ = tick => {
                        if stop_early && rng.below(3) == 0 { break }
                        if rng.below(3) == 0 {
                            items.park();
                            parks += 1;
                        }
                    },
                    () = token.cancelled().fuse() => break,
                }
            }
            items.into_inner()
        };
        acc.borrow_mut().received.extend(unread);
        if !token.is_cancelled() && rng.below(2) == 0 {
            reader = back; // go on reading, unless the writer is gone
        }
    }
    log(&acc, format!("in-stream: {rounds} rounds, {parks} parks"));
}

async fn produce_future(
    tx: FutureWriter<String>,
    v: String,
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    acc.borrow_mut().sent.push(v.clone());
    let sender = tx.into_sender();
    let how = if rng.below(3) == 0 {
        let handle = sender.spawn_send(async move {
            yields(rng.below(4)).await;
            v
        });
        match handle.await.unwrap() {
            Ok(()) => "spawn_send: delivered",
            Err(SendError(v)) => {
                acc.borrow_mut().returned.push(v);
                "spawn_send: returned"
            }
        }
    } else {
        let mut send = sender.send(v);
        match (&mut send).with_cancel(&token).await {
            Ok(Ok(())) => "delivered",
            Ok(Err(SendError(v))) => {
                acc.borrow_mut().returned.push(v);
                "reader gone, returned"
            }
            Err(Cancelled) => match send.cancel() {
                SendCancel::Delivered => "cancelled: delivered anyway",
                SendCancel::ReaderDropped(v) => {
                    acc.borrow_mut().returned.push(v);
                    "cancelled: reader gone, returned"
                }
                // The sender is dropped: the reader gets the default, not a value of ours.
                SendCancel::Cancelled(v, _sender) => {
                    acc.borrow_mut().returned.push(v);
                    "cancelled: returned"
                }
                SendCancel::Finished => "cancelled: finished?",
            },
        }
    };
    log(&acc, format!("out-future: {how}"));
}

async fn produce_stream(
    tx: StreamWriter<String>,
    values: Vec<String>,
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    // Values count as sent when the adapter takes them from the source.
    let mode = rng.below(5);
    let chunk_size = 1 + rng.below(5) as usize;
    let chunks: Vec<Vec<String>> = values.chunks(chunk_size).map(<[String]>::to_vec).collect();
    let chunk_source = {
        let acc = acc.clone();
        futures::stream::iter(chunks)
            .inspect(move |c| acc.borrow_mut().sent.extend(c.iter().cloned()))
    };
    let for_send_all = if mode == 3 {
        values.clone()
    } else {
        Vec::new()
    };
    let source = {
        let acc = acc.clone();
        futures::stream::iter(values).inspect(move |v| acc.borrow_mut().sent.push(v.clone()))
    };
    let how = match mode {
        0 => {
            let pump = tx.spawn_forward(source);
            match pump.await.unwrap() {
                Ok(()) => "pump: done".to_string(),
                Err(e) => {
                    let n = e.unsent().len();
                    acc.borrow_mut().returned.extend(e.into_unsent());
                    format!("pump: reader gone, {n} returned")
                }
            }
        }
        1 => {
            // Item by item with push + flush, flushes cut short by timers.
            let mut sink = tx.into_sink().with_capacity(1 + rng.below(8) as usize);
            let mut source = Box::pin(source);
            let mut outcome = "push: done";
            while let Some(v) = source.next().await {
                if let Err(e) = sink.push(v) {
                    acc.borrow_mut().returned.extend(e.into_unsent());
                    outcome = "push: reader gone";
                    break;
                }
                if rng.below(3) == 0 {
                    let mut tick = timer(rng.below(3));
                    let flushed = futures::select! {
                        r = sink.flush().fuse() => r,
                        _ = tick => Ok(()),
                    };
                    if rng.below(3) == 0 {
                        // A write cut short by the timer stops; its items go back in front.
                        sink.park();
                    }
                    if let Err(e) = flushed {
                        acc.borrow_mut().returned.extend(e.into_unsent());
                        outcome = "push: flush failed";
                        break;
                    }
                }
                if token.is_cancelled() {
                    outcome = "push: cancelled";
                    break;
                }
            }
            if outcome == "push: done" {
                if let Err(e) = sink.close().await {
                    acc.borrow_mut().returned.extend(e.into_unsent());
                }
                outcome
            } else {
                let (_, unsent) = sink.into_inner();
                acc.borrow_mut().returned.extend(unsent);
                outcome
            }
            .to_string()
        }
        2 => {
            let mut sink = tx.into_chunk_sink();
            let mut chunks = Box::pin(chunk_source);
            match wit_futures::stream::forward(&mut chunks, &mut sink)
                .with_cancel(&token)
                .await
            {
                Ok(Ok(())) => "chunks: done".to_string(),
                Ok(Err(e)) => {
                    acc.borrow_mut().returned.extend(e.into_unsent());
                    "chunks: reader gone".to_string()
                }
                Err(Cancelled) => {
                    let (_, unsent) = sink.into_inner();
                    acc.borrow_mut().returned.extend(unsent);
                    "chunks: cancelled".to_string()
                }
            }
        }
        3 => {
            // futures' `send_all`, which is not cancel-safe: an item it took from the source
            // and has not handed to the sink is dropped with it. So values count as sent
            // when the sink takes them; what the sink took is delivered or handed back.
            let mut sink = tx.into_sink().with_capacity(1 + rng.below(8) as usize);
            let mut counted = Counted {
                sink: &mut sink,
                acc: acc.clone(),
            };
            let mut items = futures::stream::iter(for_send_all).map(Ok);
            let outcome = futures::select! {
                r = counted.send_all(&mut items).fuse() => Some(r),
                () = token.cancelled().fuse() => None,
            };
            match outcome {
                Some(Ok(())) => match sink.close().await {
                    Ok(()) => "send-all: done".to_string(),
                    Err(e) => {
                        acc.borrow_mut().returned.extend(e.into_unsent());
                        "send-all: reader gone while closing".to_string()
                    }
                },
                Some(Err(e)) => {
                    acc.borrow_mut().returned.extend(e.into_unsent());
                    "send-all: reader gone".to_string()
                }
                None => {
                    let (_, unsent) = sink.into_inner();
                    acc.borrow_mut().returned.extend(unsent);
                    "send-all: cancelled".to_string()
                }
            }
        }
        _ => {
            let mut sink = tx.into_sink().with_capacity(1 + rng.below(8) as usize);
            let mut source = Box::pin(source);
            match wit_futures::stream::forward(&mut source, &mut sink)
                .with_cancel(&token)
                .await
            {
                Ok(Ok(())) => "forward: done".to_string(),
                Ok(Err(e)) => {
                    acc.borrow_mut().returned.extend(e.into_unsent());
                    "forward: reader gone".to_string()
                }
                Err(Cancelled) => {
                    let (_, unsent) = sink.into_inner();
                    acc.borrow_mut().returned.extend(unsent);
                    "forward: cancelled".to_string()
                }
            }
        }
    };
    log(&acc, format!("out-stream: {how}"));
}

/// A sink that records each value it hands to `sink` as sent.
struct Counted<'a, Si> {
    sink: &'a mut Si,
    acc: Acc,
}

impl<Si: futures::Sink<String> + Unpin> futures::Sink<String> for Counted<'_, Si> {
    type Error = Si::Error;

    fn poll_ready(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Si::Error>> {
        Pin::new(&mut *self.sink).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: String) -> Result<(), Si::Error> {
        self.acc.borrow_mut().sent.push(item.clone());
        Pin::new(&mut *self.sink).start_send(item)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Si::Error>> {
        Pin::new(&mut *self.sink).poll_flush(cx)
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Si::Error>> {
        Pin::new(&mut *self.sink).poll_close(cx)
    }
}

/// What a byte-reading step found.
enum ByteStep {
    Read(usize),
    Tick,
    Stop,
}

/// Reads a byte stream through `ByteReader`: reads of random sizes, `fill_buf` + `consume`,
/// timers that cut reads short, parking, and taking it apart and rebuilding it with
/// `from_parts`. Every byte it got, consumed or recovered, goes into `received-bytes`.
async fn consume_bytes(
    s: StreamReader<u8>,
    slot: usize,
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    let capacity = 1 + rng.below(64) as usize;
    let mut reader = s.into_async_read().with_capacity(capacity);
    let mut got = Vec::new();
    let mut rebuilt = 0;
    let how = loop {
        let mut buf = vec![0u8; 1 + rng.below(20) as usize];
        let mut tick = timer(rng.below(5));
        let step = futures::select! {
            n = reader.read(&mut buf).fuse() => match n {
                Ok(0) => ByteStep::Stop,
                Ok(n) => ByteStep::Read(n),
                Err(_) => break "error?",
            },
            _ = tick => ByteStep::Tick,
            () = token.cancelled().fuse() => ByteStep::Stop,
        };
        match step {
            ByteStep::Read(n) => got.extend_from_slice(&buf[..n]),
            ByteStep::Stop => break "read",
            ByteStep::Tick => match rng.below(4) {
                0 => reader.park(),
                1 => {
                    // Apart and back together: the unread bytes come out first again.
                    let (back, unread) = reader.into_inner();
                    match back {
                        Some(back) => {
                            rebuilt += 1;
                            reader = wit_futures::stream::ByteReader::from_parts(back, unread)
                                .with_capacity(capacity);
                        }
                        None => {
                            got.extend(unread);
                            acc.borrow_mut().received_bytes[slot] = got;
                            return log(&acc, "in-bytes: writer gone".into());
                        }
                    }
                }
                2 => {
                    if let Some(Ok(available)) = poll_immediate(reader.fill_buf()).await {
                        let n = rng.below(available.len() as u64 + 1) as usize;
                        got.extend_from_slice(&available[..n]);
                        reader.consume_unpin(n);
                    }
                }
                _ => {}
            },
        }
    };
    let (_, unread) = reader.into_inner();
    got.extend(unread);
    acc.borrow_mut().received_bytes[slot] = got;
    log(&acc, format!("in-bytes: {how}, rebuilt {rebuilt} times"));
}

/// Takes back the bytes a byte writer's error holds (its `SinkError<u8>`); an error without
/// them is an impossible outcome, marked with `?`.
fn take_back(e: std::io::Error, returned: &mut Vec<u8>) {
    let unsent = e
        .into_inner()
        .and_then(|inner| inner.downcast::<wit_futures::stream::SinkError<u8>>().ok());
    match unsent {
        Some(e) => returned.extend(e.into_unsent()),
        None => returned.extend(b"?"),
    }
}

/// Writes `bytes` through `ByteWriter` in writes of random sizes, with flushes cut short
/// by timers and parking, then closes it; when cancelled or hung up on, takes back what
/// was not delivered. Records what it handed to the writer and what came back.
async fn produce_bytes(
    tx: StreamWriter<u8>,
    bytes: Vec<u8>,
    slot: usize,
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    let mut writer = tx
        .into_async_write()
        .with_capacity(1 + rng.below(64) as usize);
    let mut accepted = Vec::new();
    let mut returned = Vec::new();
    let mut pos = 0;
    let how = loop {
        if pos == bytes.len() {
            let closed = futures::select! {
                r = writer.close().fuse() => Some(r),
                () = token.cancelled().fuse() => None,
            };
            match closed {
                Some(Ok(())) => break "closed",
                Some(Err(e)) => {
                    take_back(e, &mut returned);
                    break "close failed";
                }
                None => {
                    returned.extend(writer.into_inner().1);
                    break "cancelled while closing";
                }
            }
        }
        let end = (pos + 1 + rng.below(16) as usize).min(bytes.len());
        let written = futures::select! {
            r = writer.write(&bytes[pos..end]).fuse() => Some(r),
            () = token.cancelled().fuse() => None,
        };
        match written {
            Some(Ok(n)) => {
                accepted.extend_from_slice(&bytes[pos..pos + n]);
                pos += n;
            }
            Some(Err(e)) => {
                take_back(e, &mut returned);
                break "reader gone";
            }
            None => {
                returned.extend(writer.into_inner().1);
                break "cancelled";
            }
        }
        if rng.below(4) == 0 {
            let mut tick = timer(rng.below(3));
            let flushed = futures::select! {
                r = writer.flush().fuse() => Some(r),
                _ = tick => None,
            };
            if let Some(Err(e)) = flushed {
                take_back(e, &mut returned);
                break "flush failed";
            }
            if rng.below(2) == 0 {
                writer.park();
            }
        }
    };
    log(&acc, format!("out-bytes: {how}"));
    acc.borrow_mut().sent_bytes[slot] = (accepted, returned);
}

/// Echoes one of the host's byte streams into one of the guest's through a `Duplex`: reads
/// of random sizes, each written back with `write` (what it accepted counts as written),
/// timers that cut reads short, parking; closes when the input ends. When cancelled or hung
/// up on, takes both halves apart: every byte read is in `received-bytes[in_slot]`, every
/// byte handed to the writer is delivered or in `sent-bytes[out_slot]`'s returned bytes.
async fn duplex_echo(
    s: StreamReader<u8>,
    tx: StreamWriter<u8>,
    (in_slot, out_slot): (usize, usize),
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    let mut duplex = s.into_duplex(tx);
    let (mut got, mut accepted, mut returned) = (Vec::new(), Vec::new(), Vec::new());
    // Read and not yet accepted by the writer.
    let mut pending: Vec<u8> = Vec::new();
    let mut parks = 0;
    let how = loop {
        if !pending.is_empty() {
            let written = futures::select! {
                r = duplex.write(&pending).fuse() => Some(r),
                () = token.cancelled().fuse() => None,
            };
            match written {
                Some(Ok(n)) => accepted.extend(pending.drain(..n)),
                Some(Err(e)) => {
                    take_back(e, &mut returned);
                    break "reader gone";
                }
                None => break "cancelled",
            }
            continue;
        }
        let mut buf = vec![0u8; 1 + rng.below(20) as usize];
        let mut tick = timer(rng.below(5));
        futures::select! {
            n = duplex.read(&mut buf).fuse() => match n {
                Ok(0) => {
                    let closed = futures::select! {
                        r = duplex.close().fuse() => Some(r),
                        () = token.cancelled().fuse() => None,
                    };
                    match closed {
                        Some(Ok(())) => break "closed",
                        Some(Err(e)) => {
                            take_back(e, &mut returned);
                            break "reader gone while closing";
                        }
                        None => break "cancelled while closing",
                    }
                }
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    pending.extend_from_slice(&buf[..n]);
                }
                Err(_) => break "read error?",
            },
            _ = tick => if rng.below(3) == 0 {
                duplex.park();
                parks += 1;
            },
            () = token.cancelled().fuse() => break "cancelled",
        }
    };
    let (reader, writer) = duplex.into_split();
    got.extend(reader.into_inner().1);
    returned.extend(writer.into_inner().1);
    let mut acc_ref = acc.borrow_mut();
    acc_ref.received_bytes[in_slot] = got;
    acc_ref.sent_bytes[out_slot] = (accepted, returned);
    drop(acc_ref);
    log(&acc, format!("duplex: {how}, {parks} parks"));
}

/// Trailers `x-t: <t>` from the end future's `t`.
fn trailers(t: String) -> Result<http::HeaderMap, String> {
    let mut map = http::HeaderMap::new();
    map.insert("x-t", t.parse().map_err(|_| format!("bad trailer {t}?"))?);
    Ok(map)
}

/// Reads an HTTP-shaped body (bytes, then trailers or an error) as an `IncomingBody`:
/// `frame()` cut short by timers, parking; when cancelled, takes it apart. Its bytes go to
/// `received-bytes[slot]`; its trailers or error, as "end:<value>", to `received`.
async fn consume_body(
    s: StreamReader<u8>,
    end: FutureReader<Result<Option<String>, String>>,
    slot: usize,
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    use http_body_util::BodyExt;
    let mut body = wit_futures::http::IncomingBody::new(Some(s), end, trailers)
        .with_capacity(1 + rng.below(64) as usize);
    let mut got = Vec::new();
    let how = loop {
        let mut tick = timer(rng.below(5));
        futures::select! {
            frame = body.frame().fuse() => match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => got.extend_from_slice(&data),
                    Err(frame) => match frame.into_trailers() {
                        Ok(t) => match t.get("x-t").map(|v| v.to_str()) {
                            Some(Ok(t)) => received(&acc, format!("end:{t}")),
                            _ => break "trailers without x-t?",
                        },
                        Err(_) => break "unknown frame?",
                    },
                },
                Some(Err(e)) => received(&acc, format!("end:{e}")),
                None => break "to the end",
            },
            _ = tick => if rng.below(3) == 0 { body.park() },
            () = token.cancelled().fuse() => break "cancelled",
        }
    };
    let parts = body.into_inner();
    got.extend(parts.unread);
    match parts.end.into_inner() {
        Recovered::Value(Ok(Some(t))) => received(&acc, format!("end:{t}")),
        Recovered::Value(Err(e)) => received(&acc, format!("end:{e}")),
        _ => {}
    }
    acc.borrow_mut().received_bytes[slot] = got;
    log(&acc, format!("in-body: {how}"));
}

/// Reads a stream and the future that says how it ended through `TryItemStream`, with
/// timers and parking; takes both apart when cancelled.
async fn consume_try(
    s: StreamReader<String>,
    end: FutureReader<Result<(), String>>,
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    let mut items = s.into_try_stream(end);
    let how = loop {
        let mut tick = timer(rng.below(5));
        futures::select! {
            v = items.next() => match v {
                Some(Ok(v)) => received(&acc, v),
                Some(Err(e)) => received(&acc, format!("end:{e}")),
                None => break "to the end",
            },
            _ = tick => if rng.below(3) == 0 { items.park() },
            () = token.cancelled().fuse() => break "cancelled",
        }
    };
    let (items, end) = items.into_inner();
    acc.borrow_mut().received.extend(items.into_inner().1);
    if let Recovered::Value(Err(e)) = end.into_inner() {
        received(&acc, format!("end:{e}"));
    }
    log(&acc, format!("in-try: {how}"));
}

/// Serves one of the host's streams into one of the guest's: each item `v` becomes `v!`
/// (or fails), until the input ends, the output's reader leaves, or the token is
/// cancelled; `Served` accounts for the rest.
async fn serve_echo(
    input: StreamReader<String>,
    output: StreamWriter<String>,
    token: CancellationToken,
    mut rng: Rng,
    acc: Acc,
) {
    let fails = rng.below(3) == 0;
    let handler_acc = acc.clone();
    let handler = move |v: String| {
        let acc = handler_acc.clone();
        async move {
            received(&acc, v.clone());
            yields(v.len() as u64 % 3).await;
            if fails && v.len().is_multiple_of(4) {
                return Err(v);
            }
            let out = format!("{v}!");
            acc.borrow_mut().sent.push(out.clone());
            Ok(out)
        }
    };
    let order = if rng.below(2) == 0 {
        wit_futures::stream::Order::Input
    } else {
        wit_futures::stream::Order::Completion
    };
    let served = wit_futures::stream::serve(input, output, handler)
        .limit(1 + rng.below(4) as usize)
        .order(order)
        .cancel_on(&token)
        .await
        .unwrap();
    let mut acc_ref = acc.borrow_mut();
    acc_ref.received.extend(served.unread);
    acc_ref.returned.extend(served.unsent);
    drop(acc_ref);
    log(
        &acc,
        format!(
            "serve: {} received, {} written, {} failed, {} aborted, cancelled {}",
            served.received,
            served.written,
            served.failures.len(),
            served.aborted.len(),
            served.cancelled
        ),
    );
}

impl Guest for Component {
    async fn run(
        seed: u64,
        fs: Vec<FutureReader<String>>,
        ss: Vec<StreamReader<String>>,
        bs: Vec<StreamReader<u8>>,
        ts: Vec<(StreamReader<String>, FutureReader<Result<(), String>>)>,
        hs: Vec<(
            StreamReader<u8>,
            FutureReader<Result<Option<String>, String>>,
        )>,
        out_futures: u32,
        out_streams: u32,
        out_bytes: u32,
        first_id: u32,
        deadline: FutureReader<u32>,
    ) -> (
        Vec<FutureReader<String>>,
        Vec<StreamReader<String>>,
        Vec<StreamReader<u8>>,
        FutureReader<Report>,
    ) {
        let mut rng = Rng::new(seed);
        let acc: Acc = Rc::default();
        acc.borrow_mut().received_bytes = vec![Vec::new(); bs.len() + hs.len()];
        acc.borrow_mut().sent_bytes = vec![Default::default(); out_bytes as usize];
        let token = CancellationToken::new();
        let mut tasks = JoinSet::new();
        for f in fs {
            tasks.spawn(consume_future(
                f,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        // Some of the host's streams are served into the guest's own instead of consumed.
        let mut served_inputs = Vec::new();
        for s in ss {
            if served_inputs.len() < out_streams as usize && rng.below(4) == 0 {
                served_inputs.push(s);
                continue;
            }
            tasks.spawn(consume_stream(
                s,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        // Some of the host's byte streams are echoed into the guest's own through a
        // `Duplex` instead of consumed.
        let n_bytes = bs.len();
        let mut echoed_inputs = Vec::new();
        for (slot, s) in bs.into_iter().enumerate() {
            if echoed_inputs.len() < out_bytes as usize && rng.below(3) == 0 {
                echoed_inputs.push((slot, s));
                continue;
            }
            tasks.spawn(consume_bytes(
                s,
                slot,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        for (i, (s, end)) in hs.into_iter().enumerate() {
            tasks.spawn(consume_body(
                s,
                end,
                n_bytes + i,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        for (s, end) in ts {
            tasks.spawn(consume_try(
                s,
                end,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        let mut next_id = first_id;
        let mut readers = Vec::new();
        for _ in 0..out_futures {
            let (tx, rx) = wit_future::new(|| String::from("default"));
            readers.push(rx);
            let v = value(next_id, &mut rng);
            next_id += 1;
            tasks.spawn(produce_future(
                tx,
                v,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        let mut streams = Vec::new();
        for _ in 0..out_streams {
            let (tx, rx) = wit_stream::new();
            streams.push(rx);
            if let Some(input) = served_inputs.pop() {
                tasks.spawn(serve_echo(
                    input,
                    tx,
                    token.child_token(),
                    rng.fork(),
                    acc.clone(),
                ));
                continue;
            }
            let n = rng.below(30) as u32;
            let values = (next_id..next_id + n)
                .map(|id| value(id, &mut rng))
                .collect();
            next_id += n;
            tasks.spawn(produce_stream(
                tx,
                values,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        let mut byte_streams = Vec::new();
        for slot in 0..out_bytes as usize {
            let (tx, rx) = wit_stream::new();
            byte_streams.push(rx);
            if let Some((in_slot, input)) = echoed_inputs.pop() {
                tasks.spawn(duplex_echo(
                    input,
                    tx,
                    (in_slot, slot),
                    token.child_token(),
                    rng.fork(),
                    acc.clone(),
                ));
                continue;
            }
            let n = rng.below(200) as usize;
            let bytes = (0..n).map(|_| rng.below(256) as u8).collect();
            tasks.spawn(produce_bytes(
                tx,
                bytes,
                slot,
                token.child_token(),
                rng.fork(),
                acc.clone(),
            ));
        }
        let (report_tx, report_rx) = wit_future::new(Report::default);
        spawn(async move {
            let mut deadline = deadline.into_oneshot();
            loop {
                futures::select! {
                    _ = deadline => token.cancel(),
                    done = tasks.join_next() => match done {
                        Some(result) => result.unwrap(),
                        None => break,
                    },
                }
            }
            drop(deadline);
            let report = acc.take();
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (readers, streams, byte_streams, report_rx)
    }
}

export!(Component);
