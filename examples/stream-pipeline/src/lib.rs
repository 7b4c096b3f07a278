//! A stream pipeline: a component `stream<string>` in, through `StreamExt` combinators,
//! into another component `stream<string>`.
//!
//! `into_item_stream()` makes the reader a `futures::Stream` that reads in batches;
//! `into_sink()` makes the writer a `futures::Sink` that writes in batches, with
//! backpressure. `wit_futures::stream::forward` connects them like `StreamExt::forward`, but
//! cancel-safely: it never holds an item while it waits.

wit_bindgen::generate!({ path: "wit", world: "stream-pipeline" });

use futures::StreamExt;
use wit_bindgen::{FutureReader, StreamReader};
use wit_futures::prelude::*;

struct Component;

impl Guest for Component {
    async fn errors(input: StreamReader<String>) -> (StreamReader<String>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (summary_tx, summary_rx) = wit_future::new(String::new);
        // The pipeline runs after this export returns the reader to the caller.
        wit_futures::task::spawn(async move {
            let mut read = 0;
            let mut kept = 0;
            let errors = input
                .into_item_stream()
                .inspect(|_| read += 1)
                .filter(|line| futures::future::ready(line.starts_with("error")))
                .enumerate()
                .map(|(i, line)| {
                    kept += 1;
                    format!("#{}: {}", i + 1, line.to_uppercase())
                });
            let result = wit_futures::stream::forward(errors, tx.into_sink()).await;
            let summary = match result {
                Ok(()) => format!("read {read} lines, kept {kept}"),
                Err(e) => format!("the reader left; {} lines not delivered", e.unsent().len()),
            };
            let _ = summary_tx.into_sender().send(summary).await;
        })
        .detach();
        (rx, summary_rx)
    }
}

export!(Component);
