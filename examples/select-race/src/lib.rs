//! Racing component futures with `select!`, a deadline and a cancellation.
//!
//! `into_oneshot()` turns each `FutureReader` into a `Receiver`: `Unpin` and fused, so
//! `&mut receiver` goes straight into `futures::select!`. The losers keep their reads in
//! flight, so nothing is lost: after the race the component hangs up on them with
//! `close()`, and an answer that had already arrived is still returned. The whole race runs
//! under a `CancellationToken` that a spawned task cancels when the host's `cancel` future
//! resolves.

wit_bindgen::generate!({ path: "wit", world: "select-race" });

use futures::future::FusedFuture;
use wit_bindgen::FutureReader;
use wit_futures::cancel::{CancelExt, CancellationToken};
use wit_futures::prelude::*;

struct Component;

impl Guest for Component {
    async fn race(
        replica_a: FutureReader<String>,
        replica_b: FutureReader<String>,
        deadline: FutureReader<u32>,
        cancel: FutureReader<u32>,
    ) -> String {
        let mut a = replica_a.into_oneshot();
        let mut b = replica_b.into_oneshot();
        let mut deadline = deadline.into_oneshot();

        // Whoever holds the token can cancel the request; here, the host's `cancel` future.
        let token = CancellationToken::new();
        let canceller = {
            let token = token.clone();
            wit_futures::task::spawn(async move {
                let _ = cancel.into_oneshot().await;
                token.cancel();
            })
            .abort_on_drop()
        };

        let race = async {
            futures::select! {
                answer = a => format!("replica a answered first: {}", answer.unwrap()),
                answer = b => format!("replica b answered first: {}", answer.unwrap()),
                ms = deadline => format!("deadline of {} ms passed, no answer", ms.unwrap()),
            }
        };
        let mut outcome = match race.with_cancel(&token).await {
            Ok(outcome) => outcome,
            Err(_cancelled) => "cancelled by the host".to_string(),
        };
        drop(canceller); // aborts the watcher if the host never cancels

        // Hang up on what is still pending. `close` tells the peer the reader is gone but
        // keeps a value that had already arrived, so no answer is silently dropped.
        for (name, rx) in [("a", &mut a), ("b", &mut b)] {
            if rx.is_terminated() {
                continue;
            }
            rx.close();
            match rx.await {
                Ok(late) => outcome += &format!("; replica {name} had answered too: {late}"),
                Err(_canceled) => outcome += &format!("; replica {name} hung up"),
            }
        }
        deadline.close();
        outcome
    }
}

export!(Component);
