//! Racing component futures with `select!`.
//!
//! `into_oneshot()` turns each `FutureReader` into a `Receiver`: `Unpin` and fused, so
//! `&mut receiver` goes straight into `futures::select!`. The losers keep their reads in
//! flight, so nothing is lost: after the race the component hangs up on them with `close()`,
//! and an answer that had already arrived is still returned.

wit_bindgen::generate!({ path: "wit", world: "select-race" });

use futures::future::FusedFuture;
use wit_bindgen::FutureReader;
use wit_futures::prelude::*;

struct Component;

impl Guest for Component {
    async fn race(
        replica_a: FutureReader<String>,
        replica_b: FutureReader<String>,
        deadline: FutureReader<u32>,
    ) -> String {
        let mut a = replica_a.into_oneshot();
        let mut b = replica_b.into_oneshot();
        let mut deadline = deadline.into_oneshot();

        let mut outcome = futures::select! {
            answer = a => format!("replica a answered first: {}", answer.unwrap()),
            answer = b => format!("replica b answered first: {}", answer.unwrap()),
            ms = deadline => format!("deadline of {} ms passed, no answer", ms.unwrap()),
        };

        // Cancel what is still pending. `close` hangs up (the peer sees the reader gone) but
        // keeps a value that had already arrived, so no answer is silently dropped.
        for (name, rx) in [("a", &mut a), ("b", &mut b)] {
            if rx.is_terminated() {
                continue;
            }
            rx.close();
            match rx.await {
                Ok(late) => outcome += &format!("; replica {name} had answered too: {late}"),
                Err(_canceled) => outcome += &format!("; replica {name} cancelled"),
            }
        }
        deadline.close();
        outcome
    }
}

export!(Component);
