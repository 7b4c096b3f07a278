//! Test guest for the task and cancellation adapters (world `tasks` in tests/wit/tasks.wit).

wit_bindgen::generate!({ path: "../../wit", world: "tasks" });

use futures::future::{FusedFuture, poll_immediate};
use futures::stream::FusedStream;
use futures::{FutureExt, StreamExt};
use guest_common::check_eq;
use wit_bindgen::{FutureReader, StreamReader, yield_async};
use wit_futures::cancel::{CancelExt, CancelStreamExt, CancellationToken, Cancelled};
use wit_futures::future::Recovered;
use wit_futures::prelude::*;
use wit_futures::stream::{Order, serve};
use wit_futures::task::{JoinError, JoinSet, spawn};

struct Component;

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

async fn yields(n: u32) {
    for _ in 0..n {
        yield_async().await;
    }
}

impl Guest for Component {
    async fn group_then_drop(
        fs: Vec<FutureReader<u32>>,
        s: StreamReader<u32>,
        join: u32,
    ) -> Vec<i64> {
        let mut set = JoinSet::new();
        for f in fs {
            set.spawn(async move { i64::from(f.into_oneshot().await.unwrap()) });
        }
        set.spawn(async move {
            s.into_item_stream().count().await;
            -1
        });
        let mut joined = Vec::new();
        for _ in 0..join {
            joined.push(set.join_next().await.unwrap().unwrap());
        }
        drop(set); // aborts the rest: their futures and stream readers are dropped
        yield_async().await;
        joined
    }

    async fn cancel_nested(
        fs: Vec<FutureReader<u32>>,
        s: StreamReader<u32>,
        later: FutureReader<u32>,
    ) -> Vec<String> {
        let token = CancellationToken::new();
        let mut set = JoinSet::new();
        for (i, f) in fs.into_iter().enumerate() {
            // Two levels: a child per task, a grandchild for the read.
            let child = token.child_token().child_token();
            set.spawn(async move {
                let mut rx = f.into_oneshot();
                match (&mut rx).with_cancel(&child).await {
                    Ok(v) => format!("future {i}: {v:?}"),
                    Err(Cancelled) => match rx.into_inner() {
                        Recovered::Reader(_) => format!("future {i}: cancelled, reader back"),
                        Recovered::Value(v) => format!("future {i}: cancelled, value {v} back"),
                        Recovered::Nothing => format!("future {i}: cancelled, nothing back"),
                    },
                }
            });
        }
        let child = token.child_token();
        set.spawn(async move {
            let mut items = s.into_item_stream();
            let mut got = Vec::new();
            let mut until = (&mut items).with_cancel(&child);
            let mut cancelled = false;
            while let Some(item) = until.next().await {
                match item {
                    Ok(v) => got.push(v),
                    Err(Cancelled) => cancelled = true,
                }
            }
            let (_, unread) = items.into_inner();
            format!("stream: got {got:?}, cancelled {cancelled}, unread {unread:?}")
        });
        later.await;
        token.cancel();
        let mut lines = Vec::new();
        while let Some(line) = set.join_next().await {
            lines.push(line.unwrap());
        }
        lines.sort();
        lines
    }

    async fn select_mixed(
        f: FutureReader<u32>,
        s: StreamReader<u32>,
        g: FutureReader<u32>,
    ) -> Vec<String> {
        let mut rx = f.into_oneshot();
        let mut items = s.into_item_stream();
        let mut task = spawn(async move { g.await });
        let mut out = Vec::new();
        loop {
            futures::select! {
                v = rx => out.push(format!("f:{}", v.unwrap())),
                v = items.next() => if let Some(v) = v { out.push(format!("s:{v}")) },
                v = task => out.push(format!("task:{}", v.unwrap())),
                complete => break,
            }
        }
        out
    }

    async fn serve(
        input: StreamReader<u32>,
        limit: u32,
        in_order: bool,
        fail_every: u32,
    ) -> (StreamReader<u32>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        let order = if in_order {
            Order::Input
        } else {
            Order::Completion
        };
        let served = serve(input, tx, move |v: u32| async move {
            yields(v % 7).await;
            if fail_every != 0 && v.is_multiple_of(fail_every) {
                Err(format!("no {v}"))
            } else {
                Ok(v * 2)
            }
        })
        .limit(limit as usize)
        .order(order)
        .spawn();
        spawn(async move {
            let s = served.await.unwrap();
            let failures: Vec<_> = s.failures.iter().map(|(i, e)| format!("{i}:{e}")).collect();
            let report = format!(
                "received {}, written {}, failures {:?}, unsent {:?}, aborted {:?}, unread {:?}",
                s.received, s.written, failures, s.unsent, s.aborted, s.unread
            );
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn serve_cancelled(
        input: StreamReader<u32>,
        limit: u32,
        cancel: FutureReader<u32>,
    ) -> (StreamReader<u32>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        let token = CancellationToken::new();
        let served = serve(input, tx, |v: u32| async move {
            yields(v % 5).await;
            if v.is_multiple_of(3) {
                std::future::pending::<()>().await;
            }
            Ok::<_, String>(v * 2)
        })
        .limit(limit as usize)
        .cancel_on(&token)
        .spawn();
        spawn(async move {
            let _ = cancel.into_oneshot().await;
            token.cancel();
            let s = served.await.unwrap();
            let report = format!(
                "received {}, written {}, failures {:?}, unsent {:?}, aborted {:?}, unread {:?}, cancelled {}",
                s.received, s.written, s.failures, s.unsent, s.aborted, s.unread, s.cancelled
            );
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn spin_until(f: FutureReader<u32>, n: u32) -> (u32, u32) {
        let mut rx = f.into_oneshot();
        let mut rounds = 0;
        let variant = n / 10;
        let n = n % 10;
        loop {
            rounds += 1;
            match variant {
                // yield_async in the loop itself
                0 => futures::select! {
                    v = rx => return (v.unwrap(), rounds),
                    _ = yields(n).fuse() => {}
                },
                // a spawned task's JoinHandle
                1 => {
                    let mut tick = spawn(yields(n));
                    futures::select! {
                        v = rx => return (v.unwrap(), rounds),
                        _ = tick => {}
                    }
                }
                // a component future completed by a spawned task
                _ => {
                    let (tx, tick) = wit_future::new(|| 0u32);
                    spawn(async move {
                        yields(n).await;
                        let _ = tx.into_sender().send(1).await;
                    })
                    .detach();
                    let mut tick = tick.into_oneshot();
                    futures::select! {
                        v = rx => return (v.unwrap(), rounds),
                        _ = tick => {}
                    }
                }
            }
        }
    }

    async fn run_case(name: String) -> Result<String, String> {
        match name.as_str() {
            "join_handle_states" => join_handle_states().await,
            "abort_on_drop_aborts" => abort_on_drop_aborts().await,
            "join_set_joins_in_completion_order" => join_set_joins_in_completion_order().await,
            "join_set_abort_all" => join_set_abort_all().await,
            "scope_cancels_its_token_when_dropped" => scope_cancels_its_token_when_dropped().await,
            "with_cancel_on_a_cancelled_token_polls_nothing" => {
                with_cancel_on_a_cancelled_token_polls_nothing().await
            }
            "with_cancel_stops_an_always_ready_stream" => {
                with_cancel_stops_an_always_ready_stream().await
            }
            other => Err(format!("no case {other}")),
        }
    }
}

/// A finished, a running and an aborted task, through their handles.
async fn join_handle_states() -> Result<String, String> {
    // Finished before it is joined.
    let finished = spawn(async { 1 });
    yields(2).await;
    check_eq!(finished.is_finished(), true);
    check_eq!(finished.is_terminated(), false);
    let mut finished = finished;
    check_eq!((&mut finished).await, Ok(1));
    check_eq!(finished.is_terminated(), true);
    check_eq!(poll_immediate(&mut finished).await, None); // fused: Pending after Ready

    // Running: not finished until it is.
    let (tx, rx) = wit_future::new(|| 0u32);
    let mut running = spawn(async move { rx.into_oneshot().await.unwrap() + 1 });
    yields(2).await;
    check_eq!(running.is_finished(), false);
    check_eq!(poll_immediate(&mut running).await, None);
    tx.into_sender().send(41).await.unwrap();
    check_eq!(running.await, Ok(42));

    // Aborted while waiting: its read is cancelled, the handle says why.
    let (tx, rx) = wit_future::new(|| 0u32);
    let mut aborted = spawn(async move { rx.into_oneshot().await });
    yields(2).await;
    aborted.abort();
    let result = (&mut aborted).await;
    check_eq!(result.as_ref().map_err(JoinError::is_cancelled), Err(true));
    check_eq!(aborted.is_finished(), true);
    // The aborted task dropped its receiver: the sender sees the reader gone.
    check_eq!(
        tx.into_sender().send(7).await.map_err(|e| e.into_inner()),
        Err(7)
    );
    Ok("ok".into())
}

async fn abort_on_drop_aborts() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| 0u32);
    let handle = spawn(async move { rx.into_oneshot().await }).abort_on_drop();
    yields(2).await;
    drop(handle);
    yields(2).await;
    check_eq!(
        tx.into_sender().send(7).await.map_err(|e| e.into_inner()),
        Err(7)
    );

    // Detached instead: runs to the end.
    let (tx, rx) = wit_future::new(|| 0u32);
    let handle = spawn(async move { rx.into_oneshot().await }).abort_on_drop();
    drop(handle.detach());
    check_eq!(
        tx.into_sender().send(8).await.map_err(|e| e.into_inner()),
        Ok(())
    );
    Ok("ok".into())
}

async fn join_set_joins_in_completion_order() -> Result<String, String> {
    let mut set = JoinSet::new();
    for n in [5u32, 1, 3] {
        set.spawn(async move {
            yields(n * 2).await;
            n
        });
    }
    check_eq!(set.len(), 3);
    let mut order = Vec::new();
    while let Some(n) = set.join_next().await {
        order.push(n.unwrap());
    }
    check_eq!(order, vec![1, 3, 5]);
    check_eq!(set.is_empty(), true);
    check_eq!(set.join_next().await.is_none(), true);
    // As a stream.
    set.spawn(async { 9 });
    check_eq!(set.next().await.map(Result::unwrap), Some(9));
    Ok("ok".into())
}

async fn join_set_abort_all() -> Result<String, String> {
    let mut set = JoinSet::new();
    let mut senders = Vec::new();
    for _ in 0..5 {
        let (tx, rx) = wit_future::new(|| 0u32);
        senders.push(tx);
        set.spawn(async move { rx.into_oneshot().await.unwrap() });
    }
    set.spawn(async { 100 });
    yields(2).await;
    set.abort_all();
    let (mut aborted, mut finished) = (0, Vec::new());
    while let Some(r) = set.join_next().await {
        match r {
            Ok(v) => finished.push(v),
            Err(e) if e.is_cancelled() => aborted += 1,
            Err(e) => return Err(format!("{e}")),
        }
    }
    check_eq!((aborted, finished), (5, vec![100]));
    for tx in senders {
        check_eq!(tx.into_sender().send(1).await.is_err(), true);
    }
    Ok("ok".into())
}

async fn scope_cancels_its_token_when_dropped() -> Result<String, String> {
    let (token_tx, token_rx) = futures::channel::oneshot::channel();
    let scoped = wit_futures::cancel::scope(|token| async move {
        let _ = token_tx.send(token);
        futures::future::pending::<()>().await
    });
    let mut scoped = Box::pin(scoped);
    check_eq!(poll_immediate(&mut scoped).await, None);
    let token = token_rx.await.unwrap();
    let watcher = spawn({
        let token = token.clone();
        async move {
            token.cancelled().await;
            "cleanup ran"
        }
    });
    check_eq!(token.is_cancelled(), false);
    drop(scoped);
    check_eq!(token.is_cancelled(), true);
    check_eq!(watcher.await, Ok("cleanup ran"));

    // A scope that finishes leaves its token alone.
    let mut kept = None;
    let out = wit_futures::cancel::scope(|token| {
        kept = Some(token);
        async { 5 }
    })
    .await;
    check_eq!(out, 5);
    check_eq!(kept.unwrap().is_cancelled(), false);
    Ok("ok".into())
}

async fn with_cancel_on_a_cancelled_token_polls_nothing() -> Result<String, String> {
    let token = CancellationToken::new();
    check_eq!(async { 1 }.with_cancel(&token).await, Ok(1));
    token.cancel();
    // Even a future that is ready at once is not polled.
    let polled = std::cell::Cell::new(false);
    let ready = std::future::poll_fn(|_| {
        polled.set(true);
        std::task::Poll::Ready(1)
    });
    check_eq!(ready.with_cancel(&token).await, Err(Cancelled));
    check_eq!(polled.get(), false);
    // A send through `&mut` never starts its write: the value is still there to take back.
    let (tx, _rx) = wit_future::new(|| 0u32);
    let mut send = tx.into_sender().send(5);
    check_eq!((&mut send).with_cancel(&token).await.is_err(), true);
    match send.cancel() {
        wit_futures::future::SendCancel::Cancelled(5, _) => {}
        other => return Err(format!("the send started: {other:?}")),
    }
    check_eq!(
        futures::future::pending::<u32>().with_cancel(&token).await,
        Err(Cancelled)
    );
    let items: Vec<_> = futures::stream::pending::<u32>()
        .with_cancel(&token)
        .collect()
        .await;
    check_eq!(items, vec![Err(Cancelled)]);
    Ok("ok".into())
}

/// A stream that always has an item ready still sees the cancellation, at the next poll;
/// through `&mut stream`, the items it did not hand out stay in it.
async fn with_cancel_stops_an_always_ready_stream() -> Result<String, String> {
    let token = CancellationToken::new();
    let mut numbers = futures::stream::iter(0..100u32);
    let mut until = (&mut numbers).with_cancel(&token);
    check_eq!(until.next().await, Some(Ok(0)));
    check_eq!(until.next().await, Some(Ok(1)));
    token.cancel();
    check_eq!(until.next().await, Some(Err(Cancelled)));
    check_eq!(until.next().await, None);
    check_eq!(until.is_terminated(), true);
    check_eq!(numbers.next().await, Some(2));

    // Cancelled from another task while the loop never waits.
    let token = CancellationToken::new();
    let canceller = {
        let token = token.clone();
        spawn(async move {
            yields(3).await;
            token.cancel();
        })
    };
    let mut taken = 0u64;
    let mut ticks = futures::stream::repeat(1u64).with_cancel(&token);
    while let Some(Ok(tick)) = ticks.next().await {
        taken += tick;
        // An always-ready stream never returns Pending; yield so the canceller runs.
        if taken.is_multiple_of(16) {
            yields(1).await;
        }
    }
    check_eq!(canceller.await, Ok(()));
    check_eq!(taken > 0, true);
    Ok("ok".into())
}

export!(Component);
