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
    let mut rounds = 0;
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
                    _ = tick => if stop_early && rng.below(3) == 0 { break },
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
                    _ = tick => if stop_early && rng.below(3) == 0 { break },
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
    log(&acc, format!("in-stream: {rounds} rounds"));
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
    let mode = rng.below(4);
    let chunk_size = 1 + rng.below(5) as usize;
    let chunks: Vec<Vec<String>> = values.chunks(chunk_size).map(<[String]>::to_vec).collect();
    let chunk_source = {
        let acc = acc.clone();
        futures::stream::iter(chunks)
            .inspect(move |c| acc.borrow_mut().sent.extend(c.iter().cloned()))
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

impl Guest for Component {
    async fn run(
        seed: u64,
        fs: Vec<FutureReader<String>>,
        ss: Vec<StreamReader<String>>,
        out_futures: u32,
        out_streams: u32,
        first_id: u32,
        deadline: FutureReader<u32>,
    ) -> (
        Vec<FutureReader<String>>,
        Vec<StreamReader<String>>,
        FutureReader<Report>,
    ) {
        let mut rng = Rng::new(seed);
        let acc: Acc = Rc::default();
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
        for s in ss {
            tasks.spawn(consume_stream(
                s,
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
        (readers, streams, report_rx)
    }
}

export!(Component);
