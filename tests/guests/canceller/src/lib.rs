//! Caller of the cancellation tests (world `canceller` in tests/wit/cancel.wit): starts a
//! call into the callee and drops it mid-flight.

wit_bindgen::generate!({ path: "../../wit", world: "canceller" });

use futures::future::poll_immediate;
use futures::{SinkExt, StreamExt};
use wit_bindgen::yield_async;
use wit_futures::prelude::*;

use harness::tests::target;

struct Caller;

async fn yields(n: u32) {
    for _ in 0..n {
        yield_async().await;
    }
}

impl Guest for Caller {
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

export!(Caller);
