//! Caller of the cancellation tests (world `canceller` in tests/wit/cancel.wit): starts a
//! call into the callee and drops it mid-flight.

wit_bindgen::generate!({ path: "../../wit", world: "canceller" });

use futures::future::poll_immediate;
use wit_bindgen::yield_async;
use wit_futures::prelude::*;

use harness::tests::target;

struct Caller;

impl Guest for Caller {
    async fn cancel_during(scenario: String, deliver: String) -> Vec<String> {
        let mut log = Vec::new();
        let (tx, rx) = wit_future::new(|| 0u32);
        let mut call = Box::pin(target::run(scenario, rx));
        log.push(format!("first poll: {:?}", poll_immediate(&mut call).await));
        let sender = tx.into_sender();
        match deliver.as_str() {
            "none" => {
                drop(call);
                log.push("cancelled".into());
                let sent = sender.send(7).await;
                log.push(format!(
                    "send after cancel: {:?}",
                    sent.map_err(|e| e.into_inner())
                ));
            }
            "before-cancel" => {
                let mut send = sender.send(7);
                let first = poll_immediate(&mut send).await;
                log.push(format!(
                    "send: {:?}",
                    first.as_ref().map(|r| r.as_ref().map_err(|e| &e.0))
                ));
                drop(call);
                log.push("cancelled".into());
                if first.is_none() {
                    log.push(format!(
                        "send outcome: {:?}",
                        send.await.map_err(|e| e.into_inner())
                    ));
                }
            }
            other => panic!("unknown deliver {other}"),
        }
        yield_async().await;
        log.extend(target::report());
        log
    }
}

export!(Caller);
