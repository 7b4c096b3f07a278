//! Test guest for the `stream<T>` adapters (world `streams` in tests/wit/streams.wit).

wit_bindgen::generate!({ path: "../../wit", world: "streams" });

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use futures::future::poll_immediate;
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use futures::{FutureExt, SinkExt, StreamExt};
use wit_bindgen::{FutureReader, StreamReader, StreamResult, yield_async};
use wit_futures::prelude::*;
use wit_futures::task::spawn;

struct Component;

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

/// Reads what is left of a raw reader, the plain wit-bindgen way.
async fn read_raw(mut reader: StreamReader<u32>) -> Vec<u32> {
    let mut out = Vec::new();
    loop {
        let (result, buf) = reader.read(Vec::with_capacity(64)).await;
        out.extend(buf);
        if result == StreamResult::Dropped {
            return out;
        }
    }
}

/// A one-shot timer made of a component future that a spawned task completes after a few
/// yields.
fn timer(yields: u32) -> wit_futures::future::Receiver<u32> {
    let (tx, rx) = wit_future::new(|| 0);
    spawn(async move {
        for _ in 0..yields {
            yield_async().await;
        }
        let _ = tx.into_sender().send(yields).await;
    })
    .detach();
    rx.into_oneshot()
}

/// Sets a flag when dropped: shows that a pump dropped its source.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Guest for Component {
    async fn read_all(s: StreamReader<u32>, how: String) -> Vec<u32> {
        match how.as_str() {
            "items" => s.into_item_stream().collect().await,
            "items-cap1" => s.into_item_stream().with_capacity(1).collect().await,
            "chunks" => {
                let chunks: Vec<Vec<u32>> = s.into_chunk_stream().with_capacity(5).collect().await;
                assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 5));
                chunks.concat()
            }
            other => panic!("unknown how {other}"),
        }
    }

    async fn read_strings(s: StreamReader<String>) -> Vec<String> {
        s.into_item_stream().with_capacity(7).collect().await
    }

    async fn read_lists(s: StreamReader<Vec<u8>>) -> Vec<Vec<u8>> {
        s.into_item_stream().collect().await
    }

    async fn read_bytes(s: StreamReader<u8>, how: String) -> (u64, u64, u32) {
        let mut reader = s.into_async_read();
        let (mut count, mut sum, mut ticks) = (0u64, 0u64, 0u32);
        match how.as_str() {
            "read" => {
                let mut buf = vec![0u8; 8192];
                loop {
                    let n = reader.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    count += n as u64;
                    sum += buf[..n].iter().map(|&b| u64::from(b)).sum::<u64>();
                }
            }
            "bufread" => loop {
                let buf = reader.fill_buf().await.unwrap();
                if buf.is_empty() {
                    break;
                }
                let n = buf.len();
                count += n as u64;
                sum += buf.iter().map(|&b| u64::from(b)).sum::<u64>();
                reader.consume_unpin(n);
            },
            "to-end" => {
                let mut all = Vec::new();
                reader.read_to_end(&mut all).await.unwrap();
                count = all.len() as u64;
                sum = all.iter().map(|&b| u64::from(b)).sum();
            }
            "select-read" | "select-bufread" => {
                let mut buf = vec![0u8; 5000];
                let mut tick = timer(2);
                loop {
                    // The read is dropped whenever the timer wins: no byte may be lost.
                    let read = if how == "select-bufread" {
                        let filled = futures::select! {
                            filled = reader.fill_buf().fuse() => Some(filled.unwrap().to_vec()),
                            _ = tick => None,
                        };
                        filled.map(|filled| {
                            reader.consume_unpin(filled.len());
                            buf.clear();
                            buf.extend_from_slice(&filled);
                            filled.len()
                        })
                    } else {
                        buf.resize(5000, 0);
                        futures::select! {
                            n = reader.read(&mut buf).fuse() => Some(n.unwrap()),
                            _ = tick => None,
                        }
                    };
                    let Some(n) = read else {
                        ticks += 1;
                        tick = timer(1 + ticks % 3);
                        continue;
                    };
                    if n == 0 {
                        break;
                    }
                    for &b in &buf[..n] {
                        if u64::from(b) != count % 251 {
                            sum = u64::MAX;
                        }
                        count += 1;
                        sum = sum.saturating_add(u64::from(b));
                    }
                }
            }
            other => panic!("unknown how {other}"),
        }
        (count, sum, ticks)
    }

    async fn read_lines(s: StreamReader<u8>) -> Vec<String> {
        s.into_async_read()
            .lines()
            .map(|line| line.unwrap())
            .collect()
            .await
    }

    async fn select_next(s: StreamReader<u32>) -> (Vec<u32>, u32) {
        let mut items = s.into_item_stream();
        let (mut got, mut ticks) = (Vec::new(), 0);
        let mut tick = timer(2);
        loop {
            futures::select! {
                // `next()` is dropped whenever the timer wins: no item may be lost.
                item = items.next() => match item {
                    Some(v) => got.push(v),
                    None => break,
                },
                _ = tick => {
                    ticks += 1;
                    tick = timer(1 + ticks % 3);
                }
            }
        }
        (got, ticks)
    }

    async fn into_inner(
        s: StreamReader<u32>,
        k: u32,
        later: FutureReader<u32>,
    ) -> (Vec<u32>, Vec<u32>, Vec<u32>, bool) {
        let mut items = s.into_item_stream().with_capacity(4);
        let mut taken = Vec::new();
        while taken.len() < k as usize {
            taken.push(items.next().await.unwrap());
        }
        // Start a read if none is buffered; its items may race in while we wait.
        if let Some(Some(v)) = poll_immediate(items.next()).await {
            taken.push(v);
        }
        later.await;
        let (reader, unread) = items.into_inner();
        let reader_back = reader.is_some();
        let rest = match reader {
            Some(reader) => read_raw(reader).await,
            None => Vec::new(),
        };
        (taken, unread, rest, reader_back)
    }

    async fn read_try(
        s: StreamReader<u32>,
        end: FutureReader<Result<(), String>>,
    ) -> (Vec<u32>, Option<String>) {
        let mut stream = s.into_try_stream(end);
        let mut items = Vec::new();
        let mut error = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(v) => items.push(v),
                Err(e) => error = Some(e),
            }
        }
        assert!(futures::stream::FusedStream::is_terminated(&stream));
        (items, error)
    }

    async fn write_all(items: Vec<u32>, cap: u32) -> (StreamReader<u32>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let mut sink = tx.into_sink().with_capacity(cap as usize);
            let mut source = futures::stream::iter(items).map(Ok);
            let result = match sink.send_all(&mut source).await {
                Ok(()) => sink.close().await.map(|()| "closed".to_string()),
                Err(e) => Err(e),
            };
            let report = match result {
                Ok(report) => report,
                Err(e) => {
                    // What the sink held back, then what the source still has.
                    let mut unsent = e.into_unsent();
                    unsent.extend(source.map(|r| r.unwrap()).collect::<Vec<_>>().await);
                    format!("reader dropped; unsent {unsent:?}")
                }
            };
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn write_chunks(
        items: Vec<u32>,
        chunk: u32,
    ) -> (StreamReader<u32>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let chunks: Vec<Vec<u32>> = items.chunks(chunk as usize).map(<[u32]>::to_vec).collect();
            let mut source = futures::stream::iter(chunks);
            let report = match wit_futures::stream::forward(&mut source, tx.into_chunk_sink()).await
            {
                Ok(()) => "closed".to_string(),
                Err(e) => {
                    let mut unsent = e.into_unsent();
                    unsent.extend(source.collect::<Vec<_>>().await.concat());
                    format!("reader dropped; unsent {unsent:?}")
                }
            };
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn write_strings(
        items: Vec<String>,
        cap: u32,
    ) -> (StreamReader<String>, FutureReader<Vec<String>>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(Vec::new);
        spawn(async move {
            let mut sink = tx.into_sink().with_capacity(cap as usize);
            let mut unsent = Vec::new();
            let mut items = items.into_iter();
            for item in items.by_ref() {
                if let Err(e) = sink.feed(item).await {
                    unsent = e.into_unsent();
                    break;
                }
            }
            if unsent.is_empty()
                && let Err(e) = sink.close().await
            {
                unsent = e.into_unsent();
            }
            unsent.extend(items);
            let _ = report_tx.into_sender().send(unsent).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn write_take_back(
        items: Vec<u32>,
        later: FutureReader<u32>,
    ) -> (StreamReader<u32>, FutureReader<(Vec<u32>, bool, Vec<u32>)>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(|| (Vec::new(), false, Vec::new()));
        spawn(async move {
            let mut sink = tx.into_sink().with_capacity(items.len().max(1));
            for item in items {
                sink.feed(item).await.unwrap();
            }
            let mut later = later.into_oneshot();
            // Flush until `later` fires; the host takes the items slowly.
            let mut unsent = futures::select! {
                flushed = sink.flush().fuse() => flushed.err().map(|e| e.into_unsent()),
                _ = later => None,
            }
            .unwrap_or_default();
            let (writer, rest) = sink.into_inner();
            unsent.extend(rest);
            let writer_back = writer.is_some();
            // The writer handed back carries on where the sink stopped.
            let undelivered = match writer {
                Some(mut writer) => writer.write_all(unsent.clone()).await,
                None => Vec::new(),
            };
            let _ = report_tx
                .into_sender()
                .send((unsent, writer_back, undelivered))
                .await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn write_bytes_select(n: u64, chunk: u32) -> (StreamReader<u8>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let mut out = tx.into_async_write();
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let (mut written, mut ticks, mut tick) = (0, 0u32, timer(2));
            // 0: write, 1: flush, 2: close. A call is dropped whenever the timer wins, and
            // then simply made again.
            let mut phase = 0;
            let mut result = Ok(());
            while phase < 3 {
                let step: Option<std::io::Result<usize>> = match phase {
                    0 => {
                        let end = (written + chunk as usize).min(data.len());
                        futures::select! {
                            r = out.write(&data[written..end]).fuse() => Some(r),
                            _ = tick => None,
                        }
                    }
                    1 => futures::select! {
                        r = out.flush().fuse() => Some(r.map(|()| 0)),
                        _ = tick => None,
                    },
                    _ => futures::select! {
                        r = out.close().fuse() => Some(r.map(|()| 0)),
                        _ = tick => None,
                    },
                };
                match step {
                    None => {
                        ticks += 1;
                        tick = timer(1 + ticks % 3);
                    }
                    Some(Err(e)) => {
                        result = Err(e);
                        break;
                    }
                    Some(Ok(k)) => {
                        written += k;
                        if phase > 0 || written == data.len() {
                            phase += 1;
                        }
                    }
                }
            }
            let report = match result {
                Ok(()) => format!("closed; timer won {ticks} times"),
                Err(e) => format!("{:?} after {written} bytes", e.kind()),
            };
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn write_after_close() -> (StreamReader<u8>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let mut out = tx.into_async_write();
            out.write_all(b"early").await.unwrap();
            out.close().await.unwrap();
            let late = out.write_all(b"late").await;
            let report = match late {
                Ok(()) => "late write: Ok".to_string(),
                Err(e) => format!("late write: {:?}", e.kind()),
            };
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn write_bytes(n: u64, chunk: u32) -> (StreamReader<u8>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let mut out = tx.into_async_write();
            let data: Vec<u8> = (0..chunk as usize).map(|i| (i % 251) as u8).collect();
            let mut left = n;
            let mut result = Ok(());
            while left > 0 && result.is_ok() {
                let k = left.min(u64::from(chunk)) as usize;
                result = out.write_all(&data[..k]).await;
                left -= k as u64;
            }
            if result.is_ok() {
                result = out.close().await;
            }
            let report = match result {
                Ok(()) => "closed".to_string(),
                Err(e) => {
                    let kind = e.kind();
                    let unsent = e
                        .into_inner()
                        .and_then(|e| e.downcast::<wit_futures::stream::SinkError<u8>>().ok())
                        .map_or(0, |e| e.unsent().len());
                    format!("{kind:?}; {unsent} bytes unsent, {left} not written")
                }
            };
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn copy_bytes(input: StreamReader<u8>) -> StreamReader<u8> {
        let (tx, rx) = wit_stream::new();
        spawn(async move {
            let mut out = tx.into_async_write();
            futures::io::copy(input.into_async_read(), &mut out)
                .await
                .unwrap();
            out.close().await.unwrap();
        })
        .detach();
        rx
    }

    async fn double(input: StreamReader<u32>) -> StreamReader<u32> {
        let (tx, rx) = wit_stream::new();
        spawn(async move {
            input
                .into_item_stream()
                .map(|v| Ok(v * 2))
                .forward(tx.into_sink())
                .await
                .unwrap();
        })
        .detach();
        rx
    }

    async fn pump(n: u32) -> (StreamReader<u32>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(String::new);
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(dropped.clone());
        let pulled = Arc::new(AtomicU32::new(0));
        let counter = pulled.clone();
        let source = futures::stream::iter(0..n).map(move |v| {
            let _keep = &flag;
            counter.fetch_add(1, Ordering::SeqCst);
            v
        });
        let pump = tx.spawn_forward(source);
        spawn(async move {
            let report = match pump.await.unwrap() {
                Ok(()) => "done".to_string(),
                Err(e) => {
                    let unsent = e.unsent();
                    let contiguous = unsent.windows(2).all(|w| w[1] == w[0] + 1);
                    match (unsent.first(), unsent.last()) {
                        (Some(first), Some(last)) if contiguous => format!(
                            "reader dropped; unsent {first}..={last}; pulled {}",
                            pulled.load(Ordering::SeqCst)
                        ),
                        _ => format!("reader dropped; unsent {unsent:?}"),
                    }
                }
            };
            let report = format!(
                "{report}; source dropped: {}",
                dropped.load(Ordering::SeqCst)
            );
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (rx, report_rx)
    }
}

export!(Component);
