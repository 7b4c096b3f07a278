//! Test guest for the `future<T>` adapters (world `oneshot` in tests/wit/oneshot.wit).

wit_bindgen::generate!({ path: "../../wit", world: "oneshot" });

use futures::FutureExt;
use futures::future::{FusedFuture, poll_immediate};
use wit_bindgen::{FutureReader, yield_async};
use wit_futures::future::{Recovered, SendCancel};
use wit_futures::prelude::*;

/// What a dropped writer of this guest's `future<u32>` writes.
const DEFAULT: u32 = 0xDEFA;

struct Component;

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

impl crate::Guest for Component {
    async fn recv(f: FutureReader<u32>) -> u32 {
        f.into_oneshot().await.unwrap()
    }

    async fn recv_string(f: FutureReader<String>) -> String {
        f.into_oneshot().await.unwrap()
    }

    async fn recv_bytes(f: FutureReader<Vec<u8>>) -> Vec<u8> {
        f.into_oneshot().await.unwrap()
    }

    async fn select_loop(
        a: FutureReader<u32>,
        b: FutureReader<u32>,
        c: FutureReader<u32>,
        d: FutureReader<u32>,
    ) -> Vec<u32> {
        let mut a = a.into_oneshot();
        let mut b = b.into_oneshot();
        let mut c = c.into_oneshot();
        let mut d = d.into_oneshot();
        let mut got = Vec::new();
        loop {
            // `&mut receiver` straight into select!: no fuse(), no pin_mut!.
            futures::select! {
                v = a => got.push(v.unwrap()),
                v = b => got.push(v.unwrap()),
                v = c => got.push(v.unwrap()),
                v = d => got.push(v.unwrap()),
                complete => break,
            }
        }
        got
    }

    async fn select_all(fs: Vec<FutureReader<u32>>) -> Vec<u32> {
        let mut pending: Vec<_> = fs.into_iter().map(|f| f.into_oneshot()).collect();
        let mut got = Vec::new();
        while !pending.is_empty() {
            // The losers move into a new Vec with their reads in flight.
            let (v, _, rest) = futures::future::select_all(pending).await;
            got.push(v.unwrap());
            pending = rest;
        }
        got
    }

    async fn abandon(f: FutureReader<String>, how: String) -> Vec<String> {
        let mut log = Vec::new();
        let mut rx = f.into_oneshot();
        if how.ends_with("-reading") {
            log.push(format!("poll: {:?}", poll_immediate(&mut rx).await));
        }
        log.push(format!("{rx:?}"));
        if how.starts_with("drop") {
            drop(rx);
        } else {
            rx.close();
            log.push(format!("{rx:?}"));
            log.push(format!("terminated: {}", rx.is_terminated()));
            log.push(format!("await: {:?}", (&mut rx).await));
            log.push(format!("terminated: {}", rx.is_terminated()));
            log.push(format!("try_recv: {:?}", rx.try_recv()));
        }
        log
    }

    async fn after_wait(
        f: FutureReader<String>,
        later: FutureReader<u32>,
        how: String,
    ) -> Vec<String> {
        let mut log = Vec::new();
        let mut rx = f.into_oneshot();
        // Start the read without leaving a waker that would wake us when the value arrives.
        log.push(format!("try_recv: {:?}", rx.try_recv()));
        log.push(format!("later: {}", later.await));
        // The host resolved `later` only after it handed `f`'s value to the read in flight,
        // but wasmtime may deliver `later`'s completion first. One yield lets the runtime
        // take in the completions already there (wit-bindgen polls the waitable set when a
        // task yields); it polls nothing of `rx`.
        yield_async().await;
        match how.as_str() {
            "try-recv" => {
                log.push(format!("terminated: {}", rx.is_terminated()));
                log.push(format!("try_recv: {:?}", rx.try_recv()));
                log.push(format!("terminated: {}", rx.is_terminated()));
                log.push(format!("try_recv: {:?}", rx.try_recv()));
                log.push(format!("poll: {:?}", poll_immediate(&mut rx).await));
            }
            "into-inner" => match rx.into_inner() {
                Recovered::Value(v) => log.push(format!("value: {v}")),
                Recovered::Reader(reader) => {
                    log.push("reader".to_string());
                    log.push(format!("then: {}", reader.await));
                }
                Recovered::Nothing => log.push("nothing".to_string()),
            },
            "close" => {
                rx.close();
                log.push(format!("{rx:?}"));
                log.push(format!("await: {:?}", rx.await));
            }
            "select-lose" => {
                // The value is there, but the other branch wins.
                futures::select_biased! {
                    () = futures::future::ready(()).fuse() => log.push("other branch won".into()),
                    v = rx => log.push(format!("receiver won: {v:?}")),
                }
                log.push(format!("terminated: {}", rx.is_terminated()));
                log.push(format!("await: {:?}", rx.await));
            }
            other => panic!("unknown how: {other}"),
        }
        log
    }

    async fn send(how: String, value: String) -> (FutureReader<String>, FutureReader<String>) {
        let (tx, rx) = wit_future::new(|| String::from("default"));
        let (report_tx, report_rx) = wit_future::new(String::new);
        let sender = tx.into_sender();
        let report = match how.as_str() {
            "await" => wit_futures::task::spawn(async move { outcome(sender.send(value).await) }),
            "spawn-send" => wit_futures::task::spawn(async move {
                let handle = sender.spawn_send(async move {
                    yield_async().await;
                    value
                });
                outcome(handle.await.unwrap())
            }),
            "drop-send" => {
                drop(sender.send(value));
                wit_futures::task::spawn(async { "dropped the send".to_string() })
            }
            "poll-drop-send" => {
                // Polled once (the host cannot be reading yet: it does not have the reader),
                // so the write is in flight when the `Send` is dropped.
                let mut send = sender.send(value);
                let first = poll_immediate(&mut send).await;
                drop(send);
                wit_futures::task::spawn(async move { format!("first poll: {first:?}; dropped") })
            }
            "drop-sender" => {
                drop(sender);
                wit_futures::task::spawn(async { "dropped the sender".to_string() })
            }
            "channel" => {
                let tx = sender.into_channel();
                let sent = tx.send(value);
                wit_futures::task::spawn(async move { format!("channel send: {sent:?}") })
            }
            "channel-drop" => {
                drop(sender.into_channel());
                wit_futures::task::spawn(async { "dropped the channel sender".to_string() })
            }
            "cancel-resend" => wit_futures::task::spawn(async move {
                let mut send = sender.send(value);
                let first = poll_immediate(&mut send).await;
                match send.cancel() {
                    SendCancel::Cancelled(v, sender) => {
                        let resent = sender.send(format!("{v}!")).await;
                        format!(
                            "first poll: {first:?}; cancelled {v}; resent: {}",
                            outcome(resent)
                        )
                    }
                    other => format!("first poll: {first:?}; cancel: {other:?}"),
                }
            }),
            other => panic!("unknown how: {other}"),
        };
        wit_futures::task::spawn(async move {
            let text = report.await.unwrap();
            let _ = report_tx.into_sender().send(text).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn recv_via_channel(f: FutureReader<u32>, how: String) -> String {
        let rx = f.into_oneshot().into_channel();
        match how.as_str() {
            "value" => format!("{:?}", rx.await),
            "drop" => {
                drop(rx);
                // Let the bridge task see the channel receiver gone.
                for _ in 0..3 {
                    yield_async().await;
                }
                "dropped".to_string()
            }
            other => panic!("unknown how: {other}"),
        }
    }

    async fn run_case(name: String) -> Result<String, String> {
        cases::run(&name).await
    }
}

fn outcome(result: Result<(), wit_futures::future::SendError<String>>) -> String {
    match result {
        Ok(()) => "delivered".to_string(),
        Err(e) => format!("reader dropped, value back: {}", e.into_inner()),
    }
}

mod cases;

export!(Component);
