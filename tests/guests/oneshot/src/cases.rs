//! Cases that need no host peer: both ends of each future live in this guest. Most are
//! futures-channel's own oneshot tests (futures/tests/oneshot.rs and
//! futures-channel/tests/oneshot.rs) translated to component futures.

use futures::future::{FusedFuture, join, poll_immediate};
use guest_common::check_eq;
use wit_bindgen::yield_async;
use wit_futures::future::{Canceled, SendCancel, SendError};
use wit_futures::prelude::*;
use wit_futures::task::spawn;

use crate::{DEFAULT, wit_future};

pub async fn run(name: &str) -> Result<String, String> {
    match name {
        "send_before_recv" => send_before_recv().await,
        "recv_before_send" => recv_before_send().await,
        "send_and_recv_in_tasks" => send_and_recv_in_tasks().await,
        "drop_sender_gives_default" => drop_sender_gives_default().await,
        "drop_receiver_fails_send" => drop_receiver_fails_send().await,
        "close_then_send_fails" => close_then_send_fails().await,
        "close_wakes_waiting_sender" => close_wakes_waiting_sender().await,
        "close_races_send" => close_races_send().await,
        "drop_receiver_lots" => drop_receiver_lots().await,
        "not_terminated_before_ready" => not_terminated_before_ready().await,
        "send_cancel_outcomes" => send_cancel_outcomes().await,
        "channel_bridges" => channel_bridges().await,
        "debug" => debug().await,
        other => Err(format!("no case {other}")),
    }
}

/// oneshot_send1/2: the sender goes first (it waits for the reader: a rendezvous).
async fn send_before_recv() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let send = spawn(tx.into_sender().send(1));
    yield_async().await;
    check_eq!(rx.into_oneshot().await, Ok(1));
    check_eq!(send.await, Ok(Ok(())));
    Ok("ok".into())
}

/// oneshot_send3: the receiver is already waiting when the value is sent.
async fn recv_before_send() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut rx = rx.into_oneshot();
    check_eq!(poll_immediate(&mut rx).await, None);
    let (sent, received) = join(tx.into_sender().send(2), rx).await;
    check_eq!(sent, Ok(()));
    check_eq!(received, Ok(2));
    Ok("ok".into())
}

/// oneshot_send1 with both ends on spawned tasks.
async fn send_and_recv_in_tasks() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let recv = spawn(rx.into_oneshot());
    let send = spawn(async move { tx.into_sender().send(3).await });
    check_eq!(send.await, Ok(Ok(())));
    check_eq!(recv.await, Ok(Ok(3)));
    Ok("ok".into())
}

/// oneshot_drop_tx1/2. Differs from futures-channel, where the receiver gets `Canceled`: a
/// `future<T>` always carries a value, so a dropped sender sends the default.
async fn drop_sender_gives_default() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    drop(tx.into_sender());
    check_eq!(rx.into_oneshot().await, Ok(DEFAULT));
    Ok("ok".into())
}

/// oneshot_drop_rx: the send fails and hands the value back.
async fn drop_receiver_fails_send() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    drop(rx.into_oneshot());
    check_eq!(tx.into_sender().send(2).await, Err(SendError(2)));
    Ok("ok".into())
}

/// close: after `close`, the receiver resolves to `Canceled` and the sender sees it gone.
async fn close_then_send_fails() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut rx = rx.into_oneshot();
    rx.close();
    check_eq!((&mut rx).await, Err(Canceled));
    check_eq!(rx.is_terminated(), true);
    check_eq!(tx.into_sender().send(3).await, Err(SendError(3)));
    Ok("ok".into())
}

/// close_wakes: a sender waiting for the reader is woken by `close`.
async fn close_wakes_waiting_sender() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut rx = rx.into_oneshot();
    let send = spawn(tx.into_sender().send(4));
    yield_async().await;
    check_eq!(send.is_finished(), false);
    rx.close();
    check_eq!(send.await, Ok(Err(SendError(4))));
    check_eq!(rx.await, Err(Canceled));
    Ok("ok".into())
}

/// cancel_sends: `close` races a spawned send, many times, at different points. Every value
/// is either received or handed back to its sender, exactly once.
async fn close_races_send() -> Result<String, String> {
    const N: u32 = 1000;
    let (mut received, mut returned) = (Vec::new(), Vec::new());
    for i in 0..N {
        let (tx, rx) = wit_future::new(|| DEFAULT);
        let mut rx = rx.into_oneshot();
        let send = spawn(tx.into_sender().send(i));
        if i % 2 == 0 {
            let _ = rx.try_recv(); // start the read: the send may now land before the close
        }
        for _ in 0..i % 3 {
            yield_async().await;
        }
        rx.close();
        if let Ok(v) = rx.await {
            received.push(v);
        }
        match send.await {
            Ok(Ok(())) => {}
            Ok(Err(SendError(v))) => returned.push(v),
            Err(e) => return Err(format!("send task: {e}")),
        }
    }
    let mut all: Vec<u32> = received.iter().chain(&returned).copied().collect();
    all.sort();
    check_eq!(all, (0..N).collect::<Vec<_>>());
    if received.is_empty() || returned.is_empty() {
        return Err(format!(
            "no race exercised: {} received, {} returned",
            received.len(),
            returned.len()
        ));
    }
    Ok(format!(
        "{} received, {} handed back",
        received.len(),
        returned.len()
    ))
}

/// cancel_lots: many senders learn that their receiver was dropped.
async fn drop_receiver_lots() -> Result<String, String> {
    for i in 0..1000u32 {
        let (tx, rx) = wit_future::new(|| DEFAULT);
        let mut rx = rx.into_oneshot();
        if i % 2 == 0 {
            let _ = rx.try_recv();
        }
        drop(rx);
        check_eq!(tx.into_sender().send(i).await, Err(SendError(i)));
    }
    Ok("ok".into())
}

/// futures-rs issue 2455: `is_terminated` must stay false until the value was handed out,
/// even when the value has already arrived.
async fn not_terminated_before_ready() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut rx = rx.into_oneshot();
    check_eq!(rx.is_terminated(), false);
    check_eq!(rx.try_recv(), Ok(None));
    check_eq!(tx.into_sender().send(5).await, Ok(()));
    // The value is inside the receiver now.
    check_eq!(rx.is_terminated(), false);
    check_eq!((&mut rx).await, Ok(5));
    check_eq!(rx.is_terminated(), true);

    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut rx = rx.into_oneshot();
    check_eq!(rx.try_recv(), Ok(None));
    drop(tx.into_sender()); // writes the default in the background
    yield_async().await;
    check_eq!(rx.is_terminated(), false);
    check_eq!((&mut rx).await, Ok(DEFAULT));
    check_eq!(rx.is_terminated(), true);
    Ok("ok".into())
}

/// `Send::cancel` in each state gives back exactly what was not delivered.
async fn send_cancel_outcomes() -> Result<String, String> {
    let mut log = Vec::new();

    // Never polled: nothing started; value and sender come back.
    let (tx, rx) = wit_future::new(|| DEFAULT);
    match tx.into_sender().send(1).cancel() {
        SendCancel::Cancelled(1, sender) => {
            let mut rx = rx.into_oneshot();
            let _ = rx.try_recv();
            check_eq!(sender.send(11).await, Ok(()));
            check_eq!(rx.await, Ok(11));
            log.push("unpolled: cancelled, resent");
        }
        other => return Err(format!("unpolled: {other:?}")),
    }

    // Write pending, then the reader takes it before the cancel.
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut send = tx.into_sender().send(2);
    check_eq!(poll_immediate(&mut send).await, None);
    let mut rx = rx.into_oneshot();
    check_eq!(rx.try_recv(), Ok(Some(2)));
    match send.cancel() {
        SendCancel::Delivered => log.push("taken: delivered"),
        other => return Err(format!("taken: {other:?}")),
    }

    // Write pending, then the reader is dropped.
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut send = tx.into_sender().send(3);
    check_eq!(poll_immediate(&mut send).await, None);
    drop(rx);
    match send.cancel() {
        SendCancel::ReaderDropped(3) => log.push("reader gone: value back"),
        other => return Err(format!("reader gone: {other:?}")),
    }

    // Already resolved through poll.
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut rx = rx.into_oneshot();
    let _ = rx.try_recv();
    let mut send = tx.into_sender().send(4);
    check_eq!(poll_immediate(&mut send).await, Some(Ok(())));
    check_eq!(send.is_terminated(), true);
    match send.cancel() {
        SendCancel::Finished => log.push("resolved: finished"),
        other => return Err(format!("resolved: {other:?}")),
    }
    check_eq!(rx.await, Ok(4));
    Ok(log.join("; "))
}

/// Both bridges to futures-channel, back to back, and a dropped channel sender.
async fn channel_bridges() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let chan_tx = tx.into_sender().into_channel();
    let chan_rx = rx.into_oneshot().into_channel();
    check_eq!(chan_tx.send(9), Ok(()));
    check_eq!(chan_rx.await, Ok(9));

    let (tx, rx) = wit_future::new(|| DEFAULT);
    drop(tx.into_sender().into_channel());
    check_eq!(rx.into_oneshot().await, Ok(DEFAULT));
    Ok("ok".into())
}

/// oneshot_debug: `Debug` shows the state, never the payload.
async fn debug() -> Result<String, String> {
    let (tx, rx) = wit_future::new(|| DEFAULT);
    let mut rx = rx.into_oneshot();
    let mut log = vec![format!("{rx:?}")];
    let _ = rx.try_recv();
    log.push(format!("{rx:?}"));
    let sender = tx.into_sender();
    log.push(format!("{sender:?}"));
    let mut send = sender.send(1);
    log.push(format!("{send:?}"));
    check_eq!(poll_immediate(&mut send).await, Some(Ok(())));
    log.push(format!("{send:?}"));
    check_eq!((&mut rx).await, Ok(1));
    log.push(format!("{rx:?}"));
    Ok(log.join("; "))
}
