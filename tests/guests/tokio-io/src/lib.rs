//! Test guest for tokio's I/O traits (world `tokio-io` in tests/wit/tokio-io.wit).

wit_bindgen::generate!({ path: "../../wit", world: "tokio-io" });

use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{FramedRead, LengthDelimitedCodec, LinesCodec};
use wit_bindgen::{FutureReader, StreamReader, yield_async};
use wit_futures::prelude::*;
use wit_futures::task::spawn;

struct Component;

export!(Component);

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

/// A timer that loses to anything ready: a few yields of the task that polls it.
async fn yields(n: u32) {
    for _ in 0..n {
        yield_async().await;
    }
}

impl Guest for Component {
    async fn framed_read(s: StreamReader<u8>, codec: String) -> Vec<Vec<u8>> {
        let reader = s.into_async_read().with_capacity(7);
        let mut frames = Vec::new();
        match codec.as_str() {
            "lines" => {
                let mut framed = FramedRead::new(reader, LinesCodec::new());
                while let Some(frame) = framed.next().await {
                    match frame {
                        Ok(line) => frames.push(line.into_bytes()),
                        Err(e) => {
                            frames.push(format!("error: {e}").into_bytes());
                            break;
                        }
                    }
                }
            }
            _ => {
                let mut framed = FramedRead::new(reader, LengthDelimitedCodec::new());
                while let Some(frame) = framed.next().await {
                    match frame {
                        Ok(frame) => frames.push(frame.to_vec()),
                        Err(e) => {
                            frames.push(format!("error: {e}").into_bytes());
                            break;
                        }
                    }
                }
            }
        }
        frames
    }

    async fn copy(input: StreamReader<u8>) -> (StreamReader<u8>, FutureReader<u64>) {
        let (tx, rx) = wit_stream::new();
        let (count_tx, count_rx) = wit_future::new(|| 0);
        spawn(async move {
            let mut reader = input.into_async_read();
            let mut writer = tx.into_async_write();
            let copied = tokio::io::copy(&mut reader, &mut writer).await;
            let shut = writer.shutdown().await;
            let count = match (copied, shut) {
                (Ok(n), Ok(())) => n,
                _ => u64::MAX,
            };
            let _ = count_tx.into_sender().send(count).await;
        })
        .detach();
        (rx, count_rx)
    }

    async fn racing_read(s: StreamReader<u8>) -> String {
        let mut reader = s.into_async_read().with_capacity(1000);
        let (mut n, mut in_order, mut timer_won) = (0usize, true, false);
        let mut buf = vec![0u8; 777];
        let mut round = 0u32;
        loop {
            round += 1;
            let got = if round.is_multiple_of(3) {
                // AsyncBufRead: lend, check, consume some of it.
                futures::select! {
                    available = reader.fill_buf().fuse() => {
                        let available = available.unwrap();
                        let take = available.len().min(500);
                        for (i, b) in available[..take].iter().enumerate() {
                            in_order &= usize::from(*b) == (n + i) % 251;
                        }
                        reader.consume(take);
                        Some(take)
                    }
                    () = yields(1).fuse() => None,
                }
            } else {
                futures::select! {
                    read = reader.read(&mut buf).fuse() => {
                        let read = read.unwrap();
                        for (i, b) in buf[..read].iter().enumerate() {
                            in_order &= usize::from(*b) == (n + i) % 251;
                        }
                        Some(read)
                    }
                    () = yields(1).fuse() => None,
                }
            };
            match got {
                Some(0) => break,
                Some(read) => n += read,
                None => timer_won = true,
            }
        }
        format!("{n} bytes, in order: {in_order}, timer won: {timer_won}")
    }

    async fn racing_write(n: u32) -> (StreamReader<u8>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let bytes: Vec<u8> = (0..n as usize).map(|i| (i % 251) as u8).collect();
            let mut writer = tx.into_async_write().with_capacity(4096);
            let (mut at, mut timer_won) = (0, false);
            while at < bytes.len() {
                let end = (at + 3000).min(bytes.len());
                futures::select! {
                    written = writer.write(&bytes[at..end]).fuse() => at += written.unwrap(),
                    () = yields(1).fuse() => timer_won = true,
                }
                if at.is_multiple_of(7) {
                    futures::select! {
                        flushed = writer.flush().fuse() => flushed.unwrap(),
                        () = yields(1).fuse() => timer_won = true,
                    }
                }
            }
            let shut_down = loop {
                futures::select! {
                    shut = writer.shutdown().fuse() => break shut.is_ok(),
                    () = yields(1).fuse() => timer_won = true,
                }
            };
            let report = format!("timer won: {timer_won}, shut down: {shut_down}");
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }
}
