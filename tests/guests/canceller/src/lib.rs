//! Caller of the cancellation tests (world `canceller` in tests/wit/cancel.wit): starts a
//! call into the callee and drops it mid-flight.

wit_bindgen::generate!({ path: "../../wit", world: "canceller" });

use futures::future::poll_immediate;
use futures::{SinkExt, StreamExt};
use wit_bindgen::yield_async;
use wit_futures::prelude::*;
use wit_futures::task::spawn;

use harness::tests::target;

struct Caller;

async fn yields(n: u32) {
    for _ in 0..n {
        yield_async().await;
    }
}

impl Guest for Caller {
    async fn cancel_random(seed: u64) -> Outcome {
        cancel_random(seed).await
    }

    async fn cancel_session(rounds: u32, seed: u64) -> Outcome {
        cancel_session(rounds, seed).await
    }

    async fn cancel_during(scenario: String, deliver: String) -> Outcome {
        let mut log = Vec::new();
        let mut sent = Vec::new();
        let output = target::open();
        let (tx, rx) = wit_future::new(|| 0u32);
        let (stx, srx) = wit_stream::new();
        let scenario_uses_stream = scenario != "recv";
        let mut fed = Vec::new();
        let mut call = Box::pin(target::run(scenario, rx, srx));
        log.push(format!("first poll: {:?}", poll_immediate(&mut call).await));
        let sender = tx.into_sender();
        let mut sink = stx.into_sink().with_capacity(5);
        match deliver.as_str() {
            "none" => {
                drop(call);
                log.push("cancelled".into());
                let sent_after = sender.send(7).await;
                log.push(format!(
                    "send after cancel: {:?}",
                    sent_after.map_err(|e| e.into_inner())
                ));
            }
            "before-cancel" | "mid-flight" => {
                let mut send = sender.send(7);
                let first = poll_immediate(&mut send).await;
                log.push(format!(
                    "send: {:?}",
                    first.as_ref().map(|r| r.as_ref().map_err(|e| &e.0))
                ));
                match first {
                    Some(Ok(())) => sent.push(7),
                    None => {
                        if let wit_futures::future::SendCancel::Delivered = send.cancel() {
                            sent.push(7);
                        }
                    }
                    Some(Err(_)) => {}
                }
                if scenario_uses_stream {
                    for v in 100..110 {
                        sink.feed(v).await.unwrap();
                        fed.push(v);
                    }
                }
                let _ = poll_immediate(sink.flush()).await;
                if deliver == "mid-flight" {
                    // Let the callee copy what it got until its output writes block.
                    yields(5).await;
                    let _ = poll_immediate(sink.flush()).await;
                    yields(5).await;
                }
                drop(call);
                log.push("cancelled".into());
            }
            other => panic!("unknown deliver {other}"),
        }
        let (_, unsent) = sink.into_inner();
        sent.extend(fed.into_iter().filter(|v| !unsent.contains(v)));
        // The callee's cleanup task hangs up the output once it is done.
        let delivered: Vec<u32> = output.into_item_stream().collect().await;
        yields(3).await;
        log.extend(target::report());
        Outcome {
            log,
            sent,
            delivered,
            recovered: target::recovered(),
        }
    }
}

/// Everything random: see `cancel-random` in tests/wit/cancel.wit.
async fn cancel_random(seed: u64) -> Outcome {
    let mut rng = guest_common::Rng::new(seed);
    let mut log = Vec::new();
    let mut sent = Vec::new();
    let mut delivered = Vec::new();
    let mut output = target::open()
        .into_item_stream()
        .with_capacity(1 + rng.below(4) as usize);
    let (tx, rx) = wit_future::new(|| 0u32);
    let (stx, srx) = wit_stream::new();
    let mut call = Box::pin(target::run(format!("pipeline:{}", rng.next_u64()), rx, srx));
    let _ = poll_immediate(&mut call).await;
    let value = 7;
    let mut send = Some(tx.into_sender().send(value));
    let mut sink = stx.into_sink().with_capacity(1 + rng.below(6) as usize);
    let n = rng.below(25) as u32;
    let mut fed = Vec::new();
    let mut steps = rng.below(30);
    let mut next = 100;
    // Feed, read and yield in random order, for a random number of steps, then cancel.
    while steps > 0 {
        steps -= 1;
        match rng.below(5) {
            0 => {
                if let Some(s) = send.as_mut()
                    && let Some(r) = poll_immediate(s).await
                {
                    if r.is_ok() {
                        sent.push(value);
                    }
                    send = None;
                }
            }
            1 | 2 if next < 100 + n => {
                sink.push(next).unwrap();
                fed.push(next);
                next += 1;
                let _ = poll_immediate(sink.flush()).await;
            }
            3 => {
                if let Some(Some(v)) = poll_immediate(output.next()).await {
                    delivered.push(v);
                }
            }
            _ => yields(1 + rng.below(3) as u32).await,
        }
        let _ = poll_immediate(&mut call).await;
    }
    drop(call);
    log.push(format!("cancelled after feeding {} items", fed.len()));
    if let Some(s) = send {
        match s.cancel() {
            wit_futures::future::SendCancel::Delivered => sent.push(value),
            other => log.push(format!("value: {other:?}")),
        }
    }
    let (_, unsent) = sink.into_inner();
    sent.extend(fed.into_iter().filter(|v| !unsent.contains(v)));
    // The callee's cleanup hangs up the output once done.
    while let Some(v) = output.next().await {
        delivered.push(v);
    }
    yields(3).await;
    log.extend(target::report());
    Outcome {
        log,
        sent,
        delivered,
        recovered: target::recovered(),
    }
}

/// The session scenario: see `cancel-session` in tests/wit/cancel.wit.
async fn cancel_session(rounds: u32, seed: u64) -> Outcome {
    let mut rng = guest_common::Rng::new(seed);
    let mut log = Vec::new();
    let (f_tx, f_rx) = wit_future::new(|| 0u32);
    let mut f_tx = Some(f_tx);
    let (s_tx, s_rx) = wit_stream::new();
    let output = target::session_open(f_rx, s_rx);
    // The output is read slowly, two items at a time, all along.
    let pause = 1 + rng.below(4) as u32;
    let reader = spawn(async move {
        let mut output = output.into_item_stream().with_capacity(2);
        let mut delivered = Vec::new();
        while let Some(v) = output.next().await {
            delivered.push(v);
            yields(pause).await;
        }
        delivered
    });
    let send_round = rng.below(u64::from(rounds.max(1))) as u32;
    let mut value_sent = None;
    let mut sink = s_tx.into_sink().with_capacity(3);
    let mut fed = Vec::new();
    let mut next = 100;
    let mut feed = |sink: &mut wit_futures::stream::StreamSink<u32>, n: u64| {
        for _ in 0..n {
            sink.push(next).unwrap();
            fed.push(next);
            next += 1;
        }
    };
    for round in 0..rounds {
        let (deadline_tx, deadline) = wit_future::new(|| 0u32);
        let mut call = Box::pin(target::session_step(deadline));
        let _ = poll_immediate(&mut call).await;
        if round == send_round {
            // A spawned send: the value waits for the callee's next read.
            value_sent = f_tx.take().map(|tx| spawn(tx.into_sender().send(7)));
        }
        feed(&mut sink, rng.below(6));
        let _ = poll_immediate(sink.flush()).await;
        for _ in 0..rng.below(6) {
            yields(1).await;
            let _ = poll_immediate(&mut call).await;
        }
        if rng.below(2) == 0 {
            drop(call);
            log.push(format!("round {round}: cancelled"));
        } else {
            let _ = deadline_tx.into_sender().send(0).await;
            let copied = call.await;
            log.push(format!("round {round}: copied {}", copied.len()));
        }
        // Between calls: the session is parked, values wait for the next call.
        feed(&mut sink, rng.below(4));
        let _ = poll_immediate(sink.flush()).await;
        yields(rng.below(3) as u32).await;
    }
    let (_, unsent) = sink.into_inner();
    let mut sent: Vec<u32> = fed.into_iter().filter(|v| !unsent.contains(v)).collect();
    let recovered = target::session_close();
    // The send resolves once the callee took the value or hung up on it.
    if let Some(send) = value_sent
        && let Ok(Ok(())) = send.await
    {
        sent.push(7);
    }
    let delivered = reader.await.unwrap();
    log.extend(target::report());
    Outcome {
        log,
        sent,
        delivered,
        recovered,
    }
}

export!(Caller);
