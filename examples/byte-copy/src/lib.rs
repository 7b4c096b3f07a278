//! A byte stream copied with `futures::io::copy`.
//!
//! `into_async_read()` makes a `stream<u8>` reader an `AsyncRead` (and `AsyncBufRead`);
//! `into_async_write()` makes a writer an `AsyncWrite`. Everything in `futures::io` then
//! works on component streams: `copy`, `BufReader`, `lines`, codecs.

wit_bindgen::generate!({ path: "wit", world: "byte-copy" });

use futures::io::AsyncWriteExt;
use wit_bindgen::{FutureReader, StreamReader};
use wit_futures::prelude::*;

struct Component;

impl Guest for Component {
    async fn copy(input: StreamReader<u8>) -> (StreamReader<u8>, FutureReader<u64>) {
        let (tx, rx) = wit_stream::new();
        let (count_tx, count_rx) = wit_future::new(|| 0);
        wit_futures::task::spawn(async move {
            let mut output = tx.into_async_write();
            let copied = futures::io::copy(input.into_async_read(), &mut output).await;
            let closed = output.close().await;
            let count = match (copied, closed) {
                (Ok(n), Ok(())) => n,
                _ => 0, // the reader of the copy left early
            };
            let _ = count_tx.into_sender().send(count).await;
        })
        .detach();
        (rx, count_rx)
    }
}

export!(Component);
