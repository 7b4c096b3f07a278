//! Test guest for the byte writer's socket-like writes (world `duplex` in
//! tests/wit/duplex.wit). `line_echo` and `copy_echo` are the doc examples of `Duplex` and
//! `into_duplex`, word for word (a runtime test checks that they still are).

wit_bindgen::generate!({ path: "../../wit", world: "duplex" });

use futures::StreamExt;
use futures::io::AsyncWriteExt;
use wit_bindgen::{FutureReader, StreamReader, StreamWriter};
use wit_futures::prelude::*;
use wit_futures::task::spawn;

struct Component;

export!(Component);

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

/// The `Duplex` doc example.
async fn line_echo(receive: StreamReader<u8>, send: StreamWriter<u8>) -> std::io::Result<()> {
    use futures::StreamExt;
    use futures::io::{AsyncBufReadExt, AsyncWriteExt};
    use wit_futures::prelude::*;
    // A line echo over a connection's two streams: each line goes back as soon as it
    // is written, while the peer keeps its side open.
    let (reader, mut writer) = receive.into_duplex(send).into_split();
    let mut lines = reader.lines();
    while let Some(line) = lines.next().await {
        writer.write_all(format!("{}\n", line?).as_bytes()).await?;
    }
    writer.close().await?;
    Ok(())
}

/// The `into_duplex` doc example.
async fn copy_echo(receive: StreamReader<u8>, send: StreamWriter<u8>) -> std::io::Result<()> {
    use futures::io::AsyncWriteExt;
    use wit_futures::prelude::*;
    // An echo: every byte goes back as it arrives, without waiting for the end.
    let (mut reader, mut writer) = receive.into_duplex(send).into_split();
    futures::io::copy(&mut reader, &mut writer).await?;
    writer.close().await?;
    Ok(())
}

impl Guest for Component {
    async fn line_echo(receive: StreamReader<u8>) -> StreamReader<u8> {
        let (tx, rx) = wit_stream::new();
        spawn(async move { line_echo(receive, tx).await.unwrap() }).detach();
        rx
    }

    async fn copy_echo(receive: StreamReader<u8>) -> StreamReader<u8> {
        let (tx, rx) = wit_stream::new();
        spawn(async move { copy_echo(receive, tx).await.unwrap() }).detach();
        rx
    }

    async fn write_on_turns(
        messages: Vec<Vec<u8>>,
        turns: StreamReader<u8>,
    ) -> (StreamReader<u8>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let mut turns = turns.into_item_stream();
            let mut writer = tx.into_async_write();
            let mut written = 0;
            for message in &messages {
                if turns.next().await.is_none() {
                    break;
                }
                if writer.write_all(message).await.is_err() {
                    break;
                }
                written += 1;
            }
            let closed = match writer.close().await {
                Ok(()) => "ok",
                Err(_) => "error",
            };
            let report = format!("{written} written, close: {closed}");
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }
}
