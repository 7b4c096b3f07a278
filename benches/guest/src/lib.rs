//! Benchmark component: adapter vs the raw wit-bindgen code doing the same job, each timed
//! inside the guest so the host call cost (~4 µs) does not drown the difference. A counting
//! allocator reports allocations made during each timed loop.

wit_bindgen::generate!({ path: "wit", world: "bench" });

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::io::{AsyncBufReadExt, AsyncReadExt};
use futures::{SinkExt, StreamExt};
use wit_bindgen::{FutureReader, StreamReader, StreamResult};
use wit_futures::prelude::*;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ITER_NANOS: AtomicU64 = AtomicU64::new(0);

struct Counting;

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Times `f`, counting allocations: (nanoseconds, allocations, output).
async fn measure<R>(f: impl AsyncFnOnce() -> R) -> (u64, u64, R) {
    let allocs = ALLOCS.load(Ordering::Relaxed);
    let start = Instant::now();
    let out = f().await;
    let nanos = start.elapsed().as_nanos() as u64;
    (nanos, ALLOCS.load(Ordering::Relaxed) - allocs, out)
}

struct Component;

/// A tokio `AsyncWrite` that sums the bytes written to it: the destination of the
/// `tokio::io::copy` benchmark, doing what the raw loop does with each batch.
struct SumWriter(u64);

impl tokio::io::AsyncWrite for SumWriter {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0 += buf.iter().map(|&b| u64::from(b)).sum::<u64>();
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl Guest for Component {
    async fn oneshot_recv(fs: Vec<FutureReader<u32>>, adapter: bool) -> (u64, u64) {
        let (nanos, _, sum) = measure(async || {
            let mut sum = 0u64;
            if adapter {
                for f in fs {
                    sum += u64::from(f.into_oneshot().await.unwrap());
                }
            } else {
                for f in fs {
                    sum += u64::from(f.await);
                }
            }
            sum
        })
        .await;
        (nanos, sum)
    }

    async fn stream_read(s: StreamReader<u32>, mode: String, cap: u32) -> (u64, u64, u64) {
        let cap = cap as usize;
        let (nanos, allocs, sum) = measure(async || match mode.as_str() {
            "raw" => {
                let mut s = s;
                let mut sum = 0u64;
                let mut buf = Vec::with_capacity(cap);
                loop {
                    let (result, b) = s.read(buf).await;
                    sum += b.iter().map(|&v| u64::from(v)).sum::<u64>();
                    buf = b;
                    buf.clear();
                    if result == StreamResult::Dropped {
                        break sum;
                    }
                }
            }
            "adapter" => {
                let mut items = s.into_item_stream().with_capacity(cap);
                let mut sum = 0u64;
                while let Some(v) = items.next().await {
                    sum += u64::from(v);
                }
                sum
            }
            "vec-iter-stream" => {
                // Not an adapter: the cost of one poll per item for an in-memory stream.
                let mut all = Vec::new();
                let mut s = s;
                loop {
                    let (result, b) = s.read(Vec::with_capacity(cap)).await;
                    all.extend(b);
                    if result == StreamResult::Dropped {
                        break;
                    }
                }
                let start_items = Instant::now();
                let mut items = futures::stream::iter(all);
                let mut sum = 0u64;
                while let Some(v) = items.next().await {
                    sum += u64::from(v);
                }
                ITER_NANOS.store(start_items.elapsed().as_nanos() as u64, Ordering::Relaxed);
                sum
            }
            "chunks" => {
                let mut chunks = s.into_chunk_stream().with_capacity(cap);
                let mut sum = 0u64;
                while let Some(chunk) = chunks.next().await {
                    sum += chunk.iter().map(|&v| u64::from(v)).sum::<u64>();
                }
                sum
            }
            "wit-bindgen" => {
                let mut items = s.into_stream();
                let mut sum = 0u64;
                while let Some(v) = items.next().await {
                    sum += u64::from(v);
                }
                sum
            }
            other => panic!("unknown mode {other}"),
        })
        .await;
        let nanos = if mode == "vec-iter-stream" {
            ITER_NANOS.load(Ordering::Relaxed)
        } else {
            nanos
        };
        (nanos, sum, allocs)
    }

    async fn stream_bytes(s: StreamReader<u8>, mode: String) -> (u64, u64, u64) {
        const CAP: usize = 64 * 1024;
        let sum_of = |b: &[u8]| b.iter().map(|&v| u64::from(v)).sum::<u64>();
        let (nanos, allocs, sum) = measure(async || match mode.as_str() {
            "raw" => {
                let mut s = s;
                let mut sum = 0u64;
                let mut buf = Vec::with_capacity(CAP);
                loop {
                    let (result, b) = s.read(buf).await;
                    sum += sum_of(&b);
                    buf = b;
                    buf.clear();
                    if result == StreamResult::Dropped {
                        break sum;
                    }
                }
            }
            "async-read" => {
                let mut reader = s.into_async_read();
                let mut buf = vec![0u8; CAP];
                let mut sum = 0u64;
                loop {
                    let n = reader.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break sum;
                    }
                    sum += sum_of(&buf[..n]);
                }
            }
            "tokio-read" => {
                let mut reader = s.into_async_read();
                let mut buf = vec![0u8; CAP];
                let mut sum = 0u64;
                loop {
                    let n = tokio::io::AsyncReadExt::read(&mut reader, &mut buf)
                        .await
                        .unwrap();
                    if n == 0 {
                        break sum;
                    }
                    sum += sum_of(&buf[..n]);
                }
            }
            "tokio-copy" => {
                let mut reader = s.into_async_read();
                let mut summer = SumWriter(0);
                tokio::io::copy(&mut reader, &mut summer).await.unwrap();
                summer.0
            }
            "async-buf-read" => {
                let mut reader = s.into_async_read();
                let mut sum = 0u64;
                loop {
                    let buf = reader.fill_buf().await.unwrap();
                    if buf.is_empty() {
                        break sum;
                    }
                    let n = buf.len();
                    sum += sum_of(buf);
                    reader.consume_unpin(n);
                }
            }
            other => panic!("unknown mode {other}"),
        })
        .await;
        (nanos, sum, allocs)
    }

    async fn stream_short(ss: Vec<StreamReader<u32>>, adapter: bool) -> (u64, u64) {
        let (nanos, _, sum) = measure(async || {
            let mut sum = 0u64;
            if adapter {
                for s in ss {
                    sum += u64::from(s.into_item_stream().next().await.unwrap());
                }
            } else {
                for mut s in ss {
                    let (_, item) = s.read(Vec::with_capacity(1)).await;
                    sum += u64::from(item[0]);
                }
            }
            sum
        })
        .await;
        (nanos, sum)
    }

    async fn spawn_join(n: u32, adapter: bool) -> (u64, u64, u64) {
        let (nanos, allocs, sum) = measure(async || {
            let mut sum = 0u64;
            if adapter {
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        wit_futures::task::spawn(async move {
                            wit_bindgen::yield_async().await;
                            u64::from(i)
                        })
                    })
                    .collect();
                for h in handles {
                    sum += h.await.unwrap();
                }
            } else {
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        wit_bindgen::spawn_local(async move {
                            wit_bindgen::yield_async().await;
                            u64::from(i)
                        })
                    })
                    .collect();
                for h in handles {
                    sum += h.await.unwrap();
                }
            }
            sum
        })
        .await;
        (nanos, sum, allocs)
    }

    async fn sink_write(
        n: u32,
        mode: String,
        cap: u32,
    ) -> (StreamReader<u32>, FutureReader<(u64, u64)>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(|| (0, 0));
        let cap = cap as usize;
        wit_futures::task::spawn(async move {
            let raw_after = std::cell::Cell::new(None);
            let (nanos, allocs, ()) = measure(async || match mode.as_str() {
                "raw" => {
                    let mut tx = tx;
                    let mut buf = Vec::with_capacity(cap);
                    let mut next = 0;
                    while next < n {
                        buf.extend(next..n.min(next + cap as u32));
                        next += buf.len() as u32;
                        buf = tx.write_all(buf).await;
                        assert!(buf.is_empty());
                    }
                }
                "chunks" => {
                    let batches = futures::stream::iter((0..n).step_by(cap)).map(|start| {
                        let mut batch = Vec::with_capacity(cap);
                        batch.extend(start..n.min(start + cap as u32));
                        batch
                    });
                    wit_futures::stream::forward(batches, tx.into_chunk_sink())
                        .await
                        .unwrap();
                }
                "raw-boxed" => {
                    // The same as "raw-batches", each write_all in a boxed future that owns
                    // the writer, as the adapters' operations are: what that box costs.
                    let mut tx = tx;
                    let mut batches = futures::stream::iter((0..n).step_by(cap)).map(|start| {
                        let mut batch = Vec::with_capacity(cap);
                        batch.extend(start..n.min(start + cap as u32));
                        batch
                    });
                    while let Some(batch) = batches.next().await {
                        let op: std::pin::Pin<Box<dyn Future<Output = _> + Send>> =
                            Box::pin(async move {
                                let rest = tx.write_all(batch).await;
                                (tx, rest)
                            });
                        let rest;
                        (tx, rest) = op.await;
                        assert!(rest.is_empty());
                    }
                }
                "adapter" => {
                    let mut sink = tx.into_sink().with_capacity(cap);
                    let mut source = futures::stream::iter(0..n).map(Ok);
                    sink.send_all(&mut source).await.unwrap();
                    sink.close().await.unwrap();
                }
                "drain" => {
                    // The cheapest sink that still takes each item.
                    let mut sink = futures::sink::unfold((), |(), v: u32| {
                        std::hint::black_box(v);
                        futures::future::ready(Ok::<(), std::convert::Infallible>(()))
                    });
                    let mut source = futures::stream::iter(0..n).map(Ok);
                    sink.send_all(&mut source).await.unwrap();
                    raw_after.set(Some(tx));
                }
                "raw-batches" => {
                    // The same batches as "chunks" (a new Vec each), written raw.
                    let mut tx = tx;
                    let mut batches = futures::stream::iter((0..n).step_by(cap)).map(|start| {
                        let mut batch = Vec::with_capacity(cap);
                        batch.extend(start..n.min(start + cap as u32));
                        batch
                    });
                    while let Some(batch) = batches.next().await {
                        assert!(tx.write_all(batch).await.is_empty());
                    }
                }
                other => panic!("unknown mode {other}"),
            })
            .await;
            if let Some(mut tx) = raw_after.take() {
                // "drain" timed the sink alone.
                // Untimed: the host still reads every item.
                let mut next = 0;
                while next < n {
                    let buf: Vec<u32> = (next..n.min(next + cap as u32)).collect();
                    next += buf.len() as u32;
                    assert!(tx.write_all(buf).await.is_empty());
                }
            }
            let _ = report_tx.into_sender().send((nanos, allocs)).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn byte_write(
        n: u64,
        size: u32,
        mode: String,
    ) -> (StreamReader<u8>, FutureReader<(u64, u64)>) {
        let (tx, rx) = wit_stream::new();
        let (report_tx, report_rx) = wit_future::new(|| (0, 0));
        let size = size as usize;
        wit_futures::task::spawn(async move {
            // The bytes to write, made before the clock starts.
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let (nanos, allocs, ()) = measure(async || match mode.as_str() {
                "raw" => {
                    let mut tx = tx;
                    let mut buf = Vec::with_capacity(size);
                    for chunk in data.chunks(size) {
                        buf.extend_from_slice(chunk);
                        buf = tx.write_all(buf).await;
                        assert!(buf.is_empty());
                    }
                }
                "adapter" => {
                    use futures::io::AsyncWriteExt;
                    let mut writer = tx.into_async_write();
                    for chunk in data.chunks(size) {
                        writer.write_all(chunk).await.unwrap();
                    }
                    writer.close().await.unwrap();
                }
                other => panic!("unknown mode {other}"),
            })
            .await;
            let _ = report_tx.into_sender().send((nanos, allocs)).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn tcp_echo(mode: String, connections: u32) -> (u16, FutureReader<u64>) {
        let (report_tx, report_rx) = wit_future::new(|| 0);
        match mode.as_str() {
            "adapter" | "copy" => {
                use wit_futures::wasi_sockets::TcpListener;
                let mut listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let port = listener.local_addr().unwrap().port();
                wit_futures::task::spawn(async move {
                    use futures::io::AsyncWriteExt;
                    let mut total = 0;
                    for _ in 0..connections {
                        let (stream, _) = listener.accept().await.unwrap();
                        let (mut reader, mut writer) = stream.into_split();
                        total += if mode == "adapter" {
                            // The read half is buffered: copy its batches as they are.
                            futures::io::copy_buf(&mut reader, &mut writer)
                                .await
                                .unwrap()
                        } else {
                            // futures' copy adds an 8 KiB buffer of its own.
                            futures::io::copy(&mut reader, &mut writer).await.unwrap()
                        };
                        writer.close().await.unwrap();
                    }
                    let _ = report_tx.into_sender().send(total).await;
                })
                .detach();
                (port, report_rx)
            }
            "raw" => {
                use wasip3::sockets::types::{
                    IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, TcpSocket,
                };
                let socket = TcpSocket::create(IpAddressFamily::Ipv4).unwrap();
                let any = Ipv4SocketAddress {
                    port: 0,
                    address: (127, 0, 0, 1),
                };
                socket.bind(IpSocketAddress::Ipv4(any)).unwrap();
                let mut incoming = socket.listen().unwrap();
                let IpSocketAddress::Ipv4(local) = socket.get_local_address().unwrap() else {
                    unreachable!("bound to IPv4")
                };
                wit_futures::task::spawn(async move {
                    let _socket = socket;
                    let mut total = 0;
                    for _ in 0..connections {
                        let (_, accepted) = incoming.read(Vec::with_capacity(1)).await;
                        let connection = accepted.into_iter().next().unwrap();
                        total += raw_echo(connection).await;
                    }
                    let _ = report_tx.into_sender().send(total).await;
                })
                .detach();
                (local.port, report_rx)
            }
            other => panic!("unknown mode {other}"),
        }
    }
}

/// The hand-written echo, as in wasip3's examples: the socket's receive stream read into a
/// 64 KiB buffer, each read written whole to the send stream, which is then dropped (the
/// peer sees the end).
async fn raw_echo(socket: wasip3::sockets::types::TcpSocket) -> u64 {
    let (mut tx, rx) = wasip3::wit_stream::new::<u8>();
    let sent = socket.send(rx);
    let (mut received, _result) = socket.receive();
    let mut total = 0;
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        let (status, read) = received.read(buf).await;
        total += read.len() as u64;
        buf = tx.write_all(read).await;
        assert!(buf.is_empty(), "the peer stopped reading");
        if status == StreamResult::Dropped {
            break;
        }
    }
    drop(tx);
    sent.await.unwrap();
    total
}

export!(Component);
