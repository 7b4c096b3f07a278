//! The host adapters against a real guest component (`guest-host-peer`, raw wit-bindgen
//! on the guest side) in wasmtime 50: every item accounted for exactly once, each end
//! dropped mid-stream by either side, backpressure, byte streams of 100 MiB.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::FusedStream;
use futures::{FutureExt, SinkExt, StreamExt};
use wit_futures_harness::{FutureReader, Guest, StreamReader};
use wit_futures_wasmtime::future::{GuestFuture, from_future};
use wit_futures_wasmtime::stream::{
    GuestStream, PipeError, ReadOutcome, from_async_read, from_iter, from_stream, pipe_to_sink,
    pipe_to_write,
};

const GUEST: &str = "guest-host-peer";
const ALL: u32 = u32::MAX;

fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Sets a flag when dropped: shows that a source was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Which producer a test feeds the guest from.
#[derive(Clone, Copy, Debug)]
enum Producer {
    /// `from_stream` over `stream::iter`.
    Stream,
    /// `from_iter`.
    Iter,
}

/// Runs `read-strings` on a host stream of `items` made with `from_stream` or `from_iter`;
/// returns what the guest read, how many items the source yielded, and whether it was
/// dropped.
async fn strings_to_guest(
    g: &mut Guest,
    producer: Producer,
    items: Vec<String>,
    per_read: u32,
    pause: u32,
    stop_after: u32,
) -> (Vec<String>, u64, bool) {
    let read = g.func::<(StreamReader<String>, u32, u32, u32), (Vec<String>,)>("read-strings");
    let pulled = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let (got,) = g
        .run(async |a| {
            let counter = pulled.clone();
            let flag = DropFlag(dropped.clone());
            let source = items.into_iter().inspect(move |_| {
                let _ = &flag;
                counter.fetch_add(1, Ordering::SeqCst);
            });
            let s = a
                .with(|store| match producer {
                    Producer::Stream => from_stream(store, futures::stream::iter(source)),
                    Producer::Iter => from_iter(store, source),
                })
                .unwrap();
            read.call_concurrent(a, (s, per_read, pause, stop_after))
                .await
                .unwrap()
        })
        .await;
    g.assert_nothing_open().await;
    (
        got,
        pulled.load(Ordering::SeqCst),
        dropped.load(Ordering::SeqCst),
    )
}

#[tokio::test]
async fn from_stream_delivers_every_item_in_batches_of_the_guests_reads() {
    delivers_every_item_in_batches_of_the_guests_reads(Producer::Stream).await;
}

#[tokio::test]
async fn from_iter_delivers_every_item_in_batches_of_the_guests_reads() {
    delivers_every_item_in_batches_of_the_guests_reads(Producer::Iter).await;
}

async fn delivers_every_item_in_batches_of_the_guests_reads(producer: Producer) {
    let mut g = Guest::new(GUEST).await;
    for n in [0, 1, 1000] {
        let items: Vec<String> = (0..n)
            .map(|i| format!("{i}:{}", "x".repeat(i % 50)))
            .collect();
        for per_read in [1, 7, 4096] {
            let (got, pulled, dropped) =
                strings_to_guest(&mut g, producer, items.clone(), per_read, 0, ALL).await;
            assert_eq!(got, items, "{producer:?}: {n} items, reads of {per_read}");
            assert_eq!(pulled, n as u64);
            assert!(dropped);
        }
    }
}

/// The guest drops its reader after some items: the Rust stream is dropped, and it gave
/// up exactly the items the guest read (nothing read ahead, nothing lost).
#[tokio::test]
async fn from_stream_drops_its_source_when_the_guest_hangs_up() {
    drops_its_source_when_the_guest_hangs_up(Producer::Stream).await;
}

#[tokio::test]
async fn from_iter_drops_its_source_when_the_guest_hangs_up() {
    drops_its_source_when_the_guest_hangs_up(Producer::Iter).await;
}

async fn drops_its_source_when_the_guest_hangs_up(producer: Producer) {
    let mut g = Guest::new(GUEST).await;
    let items: Vec<String> = (0..500).map(|i| format!("item {i}")).collect();
    for (per_read, stop) in [(1, 0), (1, 1), (3, 100), (64, 333)] {
        let (got, pulled, dropped) =
            strings_to_guest(&mut g, producer, items.clone(), per_read, 1, stop).await;
        assert_eq!(
            got,
            items[..stop as usize],
            "{producer:?}: reads of {per_read}, stop at {stop}"
        );
        assert_eq!(pulled, stop as u64, "items pulled from the Rust stream");
        assert!(dropped, "the Rust stream was not dropped");
    }
}

/// Heap payloads (`list<u8>`) through `from_stream`, with a Rust stream that is only
/// sometimes ready.
#[tokio::test]
async fn from_stream_carries_heap_payloads_from_a_stream_that_waits() {
    let mut g = Guest::new(GUEST).await;
    let read = g.func::<(StreamReader<Vec<u8>>, u32, u32, u32), (Vec<Vec<u8>>,)>("read-lists");
    let lists: Vec<Vec<u8>> = (0..300u32)
        .map(|i| vec![i as u8; (i * 13 % 1000) as usize])
        .collect();
    let expected = lists.clone();
    let (got,) = g
        .run(async |a| {
            let source = futures::stream::iter(lists).then(|list| async move {
                if list.len() % 3 == 0 {
                    tokio::time::sleep(Duration::from_micros(100)).await;
                }
                list
            });
            let s = a
                .with(|store| from_stream(store, Box::pin(source)))
                .unwrap();
            read.call_concurrent(a, (s, 10, 0, ALL)).await.unwrap()
        })
        .await;
    assert_eq!(got, expected);
    g.assert_nothing_open().await;
}

/// Reads the bytes of `reader` in the guest through `from_async_read`: (bytes the guest
/// read, their hash, how the transfer ended).
async fn bytes_to_guest<R>(
    g: &mut Guest,
    reader: R,
    per_read: u32,
    pause: u32,
    stop_after: u64,
) -> (u64, u64, ReadOutcome)
where
    R: futures::io::AsyncRead + Unpin + Send + 'static,
{
    let read = g.func::<(StreamReader<u8>, u32, u32, u64), ((u64, u64),)>("read-bytes");
    let ((count, hash), outcome) = g
        .run(async |a| {
            let (s, done) = a.with(|store| from_async_read(store, reader)).unwrap();
            let (got,) = read
                .call_concurrent(a, (s, per_read, pause, stop_after))
                .await
                .unwrap();
            (got, done.await)
        })
        .await;
    g.assert_nothing_open().await;
    (count, hash, outcome)
}

/// A reader of `len` pattern bytes that counts what was read from it, and can fail after
/// `fail_after` bytes.
struct PatternReader {
    at: u64,
    len: u64,
    fail_after: Option<u64>,
    pulled: Arc<AtomicU64>,
}

impl futures::io::AsyncRead for PatternReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.fail_after == Some(self.at) {
            return Poll::Ready(Err(std::io::Error::other("disk on fire")));
        }
        let mut end = self.len.min(self.at + buf.len() as u64);
        if let Some(fail) = self.fail_after {
            end = end.min(fail);
        }
        let n = (end - self.at) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(self.at + i as u64);
        }
        self.at = end;
        self.pulled.fetch_add(n as u64, Ordering::SeqCst);
        Poll::Ready(Ok(n))
    }
}

fn pattern_reader(len: u64) -> (PatternReader, Arc<AtomicU64>) {
    let pulled = Arc::new(AtomicU64::new(0));
    let reader = PatternReader {
        at: 0,
        len,
        fail_after: None,
        pulled: pulled.clone(),
    };
    (reader, pulled)
}

fn pattern_hash(len: u64) -> u64 {
    let bytes: Vec<u8> = (0..len).map(pattern).collect();
    fnv1a(FNV_START, &bytes)
}

/// 100 MiB read straight into the guest's buffers, byte for byte; empty and one byte too.
#[tokio::test]
async fn from_async_read_moves_100_mib_byte_exact() {
    let mut g = Guest::new(GUEST).await;
    for len in [0, 1, 100 << 20] {
        let (reader, _) = pattern_reader(len);
        let (count, hash, outcome) = bytes_to_guest(&mut g, reader, 65536, 0, u64::MAX).await;
        assert_eq!((count, hash), (len, pattern_hash(len)), "{len} bytes");
        assert!(
            matches!(outcome, ReadOutcome::Finished(n) if n == len),
            "{outcome:?}"
        );
    }
}

/// A slow guest reads 1,000 bytes at a time and stops after 50,000: the reader gave up
/// exactly those bytes (the guest's reads are the backpressure: nothing read ahead), and
/// the outcome says the guest left.
#[tokio::test]
async fn from_async_read_reads_only_what_the_guest_asks_for() {
    let mut g = Guest::new(GUEST).await;
    let (reader, pulled) = pattern_reader(10 << 20);
    let (count, hash, outcome) = bytes_to_guest(&mut g, reader, 1000, 2, 50_000).await;
    assert_eq!((count, hash), (50_000, pattern_hash(50_000)));
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        50_000,
        "bytes read from the reader"
    );
    assert!(
        matches!(outcome, ReadOutcome::GuestLeft(50_000)),
        "{outcome:?}"
    );
}

/// An I/O error ends the guest's stream (no trap) and comes back in the outcome.
#[tokio::test]
async fn from_async_read_reports_an_io_error_without_trapping() {
    let mut g = Guest::new(GUEST).await;
    let (mut reader, _) = pattern_reader(1 << 20);
    reader.fail_after = Some(70_000);
    let (count, hash, outcome) = bytes_to_guest(&mut g, reader, 4096, 0, u64::MAX).await;
    assert_eq!((count, hash), (70_000, pattern_hash(70_000)));
    match outcome {
        ReadOutcome::Failed(e, 70_000) => assert_eq!(e.to_string(), "disk on fire"),
        other => panic!("{other:?}"),
    }
}

/// A Rust future's output as the guest's `future<string>`; when the guest never reads it,
/// dropping the reader drops the future.
#[tokio::test]
async fn from_future_gives_the_guest_the_futures_output() {
    let mut g = Guest::new(GUEST).await;
    let wait = g.func::<(FutureReader<String>,), (String,)>("await-string");
    let (value,) = g
        .run(async |a| {
            let (tx, rx) = futures::channel::oneshot::channel::<String>();
            let f = a
                .with(|store| from_future(store, rx.map(|r| r.unwrap_or_else(|_| "gone".into()))))
                .unwrap();
            let call = wait.call_concurrent(a, (f,));
            tokio::time::sleep(Duration::from_millis(2)).await;
            tx.send("forty-two".into()).unwrap();
            call.await.unwrap()
        })
        .await;
    assert_eq!(value, "forty-two");
    let dropped = Arc::new(AtomicBool::new(false));
    g.run(async |a| {
        let flag = DropFlag(dropped.clone());
        let never = async move {
            let _flag = flag;
            std::future::pending::<String>().await
        };
        let mut f = a.with(|store| from_future(store, never)).unwrap();
        // Nobody will read it: closing the reader drops the producer.
        a.with(|mut store| f.close(&mut store)).unwrap();
    })
    .await;
    g.assert_nothing_open().await;
    assert!(dropped.load(Ordering::SeqCst));
}

/// Runs `write-strings` and reads it through a `GuestStream` with `read`; returns what the
/// host got and how many items the guest says the reader took.
async fn strings_from_guest<F>(g: &mut Guest, n: u32, per_write: u32, read: F) -> (Vec<String>, u32)
where
    F: AsyncFnOnce(GuestStream<String>) -> Vec<String>,
{
    let write =
        g.func::<(u32, u32, u32), ((StreamReader<String>, FutureReader<u32>),)>("write-strings");
    let (got, taken) = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (n, per_write, 1)).await.unwrap();
            let items = a.with(|store| GuestStream::new(store, s)).unwrap();
            let got = read(items).await;
            let taken = a.with(|store| GuestFuture::new(store, taken)).unwrap();
            (got, taken.await.unwrap())
        })
        .await;
    g.assert_nothing_open().await;
    (got, taken)
}

#[tokio::test]
async fn guest_stream_yields_every_item_the_guest_writes() {
    let mut g = Guest::new(GUEST).await;
    for (n, per_write) in [(0, 1), (1, 1), (1000, 1), (1000, 7), (5000, 4096)] {
        let (got, taken) =
            strings_from_guest(&mut g, n, per_write, async |items| items.collect().await).await;
        let expected: Vec<String> = (0..n).map(|i| format!("item {i}")).collect();
        assert_eq!(got, expected, "{n} items in writes of {per_write}");
        assert_eq!(taken, n);
    }
}

/// The host stops reading and takes back what it holds: the guest's next write sees the
/// reader gone, and every item the guest says was taken was either read or given back.
#[tokio::test]
async fn guest_stream_gives_back_what_it_took_when_the_host_hangs_up() {
    let mut g = Guest::new(GUEST).await;
    for (per_write, keep) in [(1, 0), (1, 5), (10, 25), (100, 250)] {
        let mut held = Vec::new();
        let (read, taken) = strings_from_guest(&mut g, 10_000, per_write, async |mut items| {
            let mut read = Vec::new();
            while read.len() < keep {
                read.push(items.next().await.unwrap());
            }
            held = items.into_remaining();
            read
        })
        .await;
        let mut all = read.clone();
        all.extend(held.iter().cloned());
        let expected: Vec<String> = (0..taken).map(|i| format!("item {i}")).collect();
        assert_eq!(all, expected, "writes of {per_write}, kept {keep}");
        assert!(taken < 10_000, "the guest wrote on after the hang-up");
        // At most the batch being read and the one waiting in the slot were taken ahead.
        assert!(held.len() <= 2 * per_write as usize, "{} held", held.len());
    }
}

/// "Cancelling" the host's side mid-transfer: the host's reading is dropped while it waits
/// for the guest (as a timeout or a lost `select!` branch would drop it), and the stream
/// taken apart; every item is accounted for. The drop comes once the host has read 1,000
/// items (no timer decides when).
#[tokio::test]
async fn guest_stream_read_dropped_mid_transfer_loses_nothing() {
    let mut g = Guest::new(GUEST).await;
    let mut held = Vec::new();
    let (read, taken) = strings_from_guest(&mut g, 1_000_000, 3, async |mut items| {
        let mut read = Vec::new();
        {
            let (stop, stopped) = futures::channel::oneshot::channel::<()>();
            let mut stop = Some(stop);
            let reading = Box::pin(async {
                while let Some(item) = items.next().await {
                    read.push(item);
                    if read.len() == 1000 {
                        let _ = stop.take().unwrap().send(());
                    }
                }
            });
            // `stopped` is polled first: `reading` is dropped at the first `Pending` after
            // the 1,000th item, i.e. while it waits for the guest's next write.
            match futures::future::select(stopped, reading).await {
                futures::future::Either::Left(_) => {}
                futures::future::Either::Right(_) => panic!("the guest's stream ended early"),
            }
        }
        held = items.into_remaining();
        read
    })
    .await;
    let mut all = read.clone();
    all.extend(held);
    assert_eq!(
        all,
        (0..taken).map(|i| format!("item {i}")).collect::<Vec<_>>()
    );
    assert!(
        read.len() >= 1000 && taken < 1_000_000,
        "{} read, {taken} taken",
        read.len()
    );
}

/// A guest's lists into a bounded channel (a `Sink`) drained slowly: the channel's
/// backpressure holds the guest, every list arrives, and the pipe reports the count.
#[tokio::test]
async fn pipe_to_sink_delivers_every_item_with_the_sinks_backpressure() {
    let mut g = Guest::new(GUEST).await;
    let write =
        g.func::<(u32, u32, u32), ((StreamReader<Vec<u8>>, FutureReader<u32>),)>("write-lists");
    let (got, sent, taken) = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (2000, 50, 0)).await.unwrap();
            let (tx, mut rx) = futures::channel::mpsc::channel(4);
            let piped = a.with(|store| pipe_to_sink(store, s, tx)).unwrap();
            let reading = async {
                let mut got = Vec::new();
                while let Some(list) = rx.next().await {
                    got.push(list);
                    if got.len() % 100 == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                got
            };
            let (got, sent) = futures::join!(reading, piped);
            let taken = a
                .with(|store| GuestFuture::new(store, taken))
                .unwrap()
                .await
                .unwrap();
            (got, sent.unwrap().1, taken)
        })
        .await;
    g.assert_nothing_open().await;
    let expected: Vec<Vec<u8>> = (0..2000u32)
        .map(|i| vec![i as u8; (i % 300) as usize])
        .collect();
    assert_eq!(got, expected);
    assert_eq!((sent, taken), (2000, 2000));
}

/// The sink fails (its receiver is dropped): the pipe resolves to the error with the sink
/// and how many items it took, and the guest's next write sees the reader gone; nothing
/// traps.
#[tokio::test]
async fn pipe_to_sink_failing_hangs_up_on_the_guest_and_gives_back_the_sink() {
    let mut g = Guest::new(GUEST).await;
    let write =
        g.func::<(u32, u32, u32), ((StreamReader<String>, FutureReader<u32>),)>("write-strings");
    let (got, outcome, taken) = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (100_000, 10, 1)).await.unwrap();
            let (tx, mut rx) = futures::channel::mpsc::channel(0);
            let piped = a.with(|store| pipe_to_sink(store, s, tx)).unwrap();
            let reading = async {
                let mut got = Vec::new();
                while got.len() < 55 {
                    got.push(rx.next().await.unwrap());
                }
                drop(rx);
                got
            };
            let (got, outcome) = futures::join!(reading, piped);
            let taken = a
                .with(|store| GuestFuture::new(store, taken))
                .unwrap()
                .await
                .unwrap();
            (got, outcome, taken)
        })
        .await;
    g.assert_nothing_open().await;
    assert_eq!(
        got,
        (0..55).map(|i| format!("item {i}")).collect::<Vec<_>>()
    );
    assert!(taken < 100_000, "the guest wrote on: {taken}");
    // The error carries the sink back, how far it got and the rest of the batch it was
    // given: together, exactly what the guest saw taken, in order.
    let mut error = outcome.unwrap_err();
    assert!(error.error().unwrap().is_disconnected(), "{error:?}");
    let unsent = error.take_unsent();
    assert_eq!(error.taken() + unsent.len() as u64, u64::from(taken));
    let expected: Vec<String> = (error.taken()..u64::from(taken))
        .map(|i| format!("item {i}"))
        .collect();
    assert_eq!(unsent, expected);
    let sink = error.into_end().expect("the sink comes back");
    assert!(sink.is_closed());
}

/// A hashing `AsyncWrite` that can fail after some bytes.
#[derive(Debug)]
struct HashWriter {
    hash: u64,
    written: u64,
    fail_after: Option<u64>,
    closed: bool,
}

impl futures::io::AsyncWrite for HashWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(fail) = self.fail_after
            && self.written >= fail
        {
            return Poll::Ready(Err(std::io::Error::other("out of space")));
        }
        // Takes at most 10,000 bytes at a time: short writes are the writer's right.
        let n = buf.len().min(10_000);
        self.hash = fnv1a(self.hash, &buf[..n]);
        self.written += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.closed = true;
        Poll::Ready(Ok(()))
    }
}

/// Runs `write-bytes` (`len` bytes in writes of `per_write`) piped into a `HashWriter`
/// that fails after `fail_after` bytes; returns the pipe's outcome and what the guest
/// counted as taken, once nothing is left open.
async fn bytes_to_writer(
    g: &mut Guest,
    len: u64,
    per_write: u32,
    fail_after: Option<u64>,
) -> (
    Result<(HashWriter, u64), PipeError<HashWriter, std::io::Error>>,
    u64,
) {
    let write = g.func::<(u64, u32, u32), ((StreamReader<u8>, FutureReader<u64>),)>("write-bytes");
    let outcome = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (len, per_write, 0)).await.unwrap();
            let writer = HashWriter {
                hash: FNV_START,
                written: 0,
                fail_after,
                closed: false,
            };
            let piped = a
                .with(|store| pipe_to_write(store, s, writer))
                .unwrap()
                .await;
            let taken = a
                .with(|store| GuestFuture::new(store, taken))
                .unwrap()
                .await
                .unwrap();
            (piped, taken)
        })
        .await;
    g.assert_nothing_open().await;
    outcome
}

/// 100 MiB written straight from the guest's buffers into an `AsyncWrite`, byte for byte,
/// with short writes; then the writer is closed.
#[tokio::test]
async fn pipe_to_write_moves_100_mib_byte_exact_and_closes_the_writer() {
    let mut g = Guest::new(GUEST).await;
    let len = 100u64 << 20;
    let (piped, taken) = bytes_to_writer(&mut g, len, 65536, None).await;
    let (writer, written) = piped.unwrap();
    assert_eq!((written, taken), (len, len));
    assert_eq!(writer.hash, pattern_hash(len));
    assert!(writer.closed);
}

/// The writer fails: the pipe resolves to the error with the writer back and the count of
/// bytes it took, which is exactly what the guest saw taken before the reader was gone.
#[tokio::test]
async fn pipe_to_write_failing_gives_back_the_writer_and_how_far_it_got() {
    let mut g = Guest::new(GUEST).await;
    let (piped, taken) = bytes_to_writer(&mut g, 1 << 20, 4096, Some(200_000)).await;
    let error = piped.unwrap_err();
    assert_eq!(error.error().unwrap().to_string(), "out of space");
    // The writer took whole guest writes of 4,096 bytes until it failed.
    assert!((200_000..200_000 + 4096).contains(&taken), "{taken}");
    assert_eq!(error.taken(), taken);
    let writer = error.into_end().expect("the writer comes back");
    assert_eq!(writer.written, taken);
    assert_eq!(writer.hash, pattern_hash(taken));
    assert!(!writer.closed);
}

/// A guest future's value, and its default when the guest drops the writer unwritten.
#[tokio::test]
async fn guest_future_resolves_to_the_guests_value_or_its_default() {
    let mut g = Guest::new(GUEST).await;
    let make = g.func::<(String, u32, bool), (FutureReader<String>,)>("make-string");
    for (write, expected) in [(true, "hello"), (false, "default")] {
        let value = g
            .run(async |a| {
                let (f,) = make
                    .call_concurrent(a, ("hello".into(), 3, write))
                    .await
                    .unwrap();
                a.with(|store| GuestFuture::new(store, f)).unwrap().await
            })
            .await;
        assert_eq!(value.as_deref(), Ok(expected));
    }
    g.assert_nothing_open().await;
}

/// Items through the `Sink` of a channel the host reads with `SinkExt`: a smoke test that
/// the pipe composes with futures' combinators.
#[tokio::test]
async fn pipe_to_sink_composes_with_sink_combinators() {
    let mut g = Guest::new(GUEST).await;
    let write =
        g.func::<(u32, u32, u32), ((StreamReader<String>, FutureReader<u32>),)>("write-strings");
    let got = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (100, 7, 0)).await.unwrap();
            let (tx, rx) = futures::channel::mpsc::channel::<usize>(1);
            let lengths = tx.with(|item: String| {
                futures::future::ready(Ok::<_, futures::channel::mpsc::SendError>(item.len()))
            });
            let piped = a
                .with(|store| pipe_to_sink(store, s, Box::pin(lengths)))
                .unwrap();
            let (got, sent) = futures::join!(rx.collect::<Vec<usize>>(), piped);
            assert_eq!(sent.unwrap().1, 100);
            let taken = a
                .with(|store| GuestFuture::new(store, taken))
                .unwrap()
                .await
                .unwrap();
            assert_eq!(taken, 100);
            got
        })
        .await;
    assert_eq!(
        got,
        (0..100)
            .map(|i| format!("item {i}").len())
            .collect::<Vec<_>>()
    );
    g.assert_nothing_open().await;
}

/// After `close`, the stream yields what it took and ends, without waiting for a guest
/// write that may never come (here the store's event loop is not even running).
#[tokio::test]
async fn guest_stream_ends_after_close_without_another_guest_write() {
    let mut g = Guest::new(GUEST).await;
    let write =
        g.func::<(u32, u32, u32), ((StreamReader<String>, FutureReader<u32>),)>("write-strings");
    let (mut items, first, taken) = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (1000, 10, 0)).await.unwrap();
            let mut items = a.with(|store| GuestStream::new(store, s)).unwrap();
            let first = items.next().await.unwrap();
            (items, first, taken)
        })
        .await;
    items.close();
    let mut read = vec![first];
    loop {
        match items.next().now_or_never() {
            Some(Some(item)) => read.push(item),
            Some(None) => break,
            None => panic!("next() waits for the guest after close"),
        }
    }
    assert!(items.is_terminated());
    drop(items);
    let taken = g
        .run(async |a| {
            a.with(|store| GuestFuture::new(store, taken))
                .unwrap()
                .await
                .unwrap()
        })
        .await;
    g.assert_nothing_open().await;
    let expected: Vec<String> = (0..taken).map(|i| format!("item {i}")).collect();
    assert_eq!(read, expected);
    assert!(taken < 1000, "the guest wrote on after the hang-up");
}

/// A sink that reports, once, that it has no room: its `poll_ready` returned `Pending`.
struct ReportsFull<S> {
    inner: S,
    full: Option<futures::channel::oneshot::Sender<()>>,
}

impl<S: futures::Sink<T> + Unpin, T> futures::Sink<T> for ReportsFull<S> {
    type Error = S::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let ready = Pin::new(&mut self.inner).poll_ready(cx);
        if ready.is_pending()
            && let Some(full) = self.full.take()
        {
            let _ = full.send(());
        }
        ready
    }

    fn start_send(mut self: Pin<&mut Self>, item: T) -> Result<(), S::Error> {
        Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// The host drops a `SinkPipe` while the guest's write waits for room in the sink: the
/// guest's write ends with the reader gone, having handed over the batch the pipe read (one
/// write of 10); the sink holds the one item it had room for, in order, and the rest of
/// the batch went with the pipe. The pipe is dropped once the sink has reported it full
/// (no timer decides when).
#[tokio::test]
async fn pipe_to_sink_dropped_while_the_sink_is_full_hangs_up_on_the_guest() {
    let mut g = Guest::new(GUEST).await;
    let write =
        g.func::<(u32, u32, u32), ((StreamReader<String>, FutureReader<u32>),)>("write-strings");
    let (got, taken) = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (1000, 10, 0)).await.unwrap();
            // Room for one item; the receiver stays alive and never reads.
            let (tx, mut rx) = futures::channel::mpsc::channel(0);
            let (full, filled) = futures::channel::oneshot::channel();
            let sink = ReportsFull {
                inner: tx,
                full: Some(full),
            };
            let piped = a.with(|store| pipe_to_sink(store, s, sink)).unwrap();
            match futures::future::select(filled, piped).await {
                futures::future::Either::Left((_, piped)) => drop(piped),
                futures::future::Either::Right(_) => panic!("the pipe ended with the sink full"),
            }
            let taken = a
                .with(|store| GuestFuture::new(store, taken))
                .unwrap()
                .await
                .unwrap();
            let mut got = Vec::new();
            while let Ok(item) = rx.try_recv() {
                got.push(item);
            }
            (got, taken)
        })
        .await;
    g.assert_nothing_open().await;
    assert_eq!(got, ["item 0"], "the sink had room for one item");
    assert_eq!(
        taken, 10,
        "the guest's write was read whole, then the pipe hung up"
    );
}

/// A writer that never accepts a byte (and never wakes anyone); it reports, once, that a
/// write reached it.
struct Stalled {
    asked: Option<futures::channel::oneshot::Sender<()>>,
}

impl futures::io::AsyncWrite for Stalled {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(asked) = self.asked.take() {
            let _ = asked.send(());
        }
        Poll::Pending
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

/// The host drops a `WritePipe` while the guest's write waits for a writer that takes
/// nothing: the guest's write ends with the reader gone, having handed over nothing. The
/// pipe is dropped once the guest's bytes reached the writer (no timer decides when).
#[tokio::test]
async fn pipe_to_write_dropped_while_the_writer_stalls_hangs_up_on_the_guest() {
    let mut g = Guest::new(GUEST).await;
    let write = g.func::<(u64, u32, u32), ((StreamReader<u8>, FutureReader<u64>),)>("write-bytes");
    let taken = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (1 << 20, 4096, 0)).await.unwrap();
            let (asked, stalls) = futures::channel::oneshot::channel();
            let writer = Stalled { asked: Some(asked) };
            let piped = a.with(|store| pipe_to_write(store, s, writer)).unwrap();
            match futures::future::select(stalls, piped).await {
                futures::future::Either::Left((_, piped)) => drop(piped),
                futures::future::Either::Right(_) => {
                    panic!("the pipe ended with the writer stalled")
                }
            }
            a.with(|store| GuestFuture::new(store, taken))
                .unwrap()
                .await
                .unwrap()
        })
        .await;
    g.assert_nothing_open().await;
    assert_eq!(taken, 0);
}

/// An `AsyncWrite` that records what reaches it (behind a `BufWriter` in the tests), and
/// notifies each time something does.
struct Recorder(Arc<std::sync::Mutex<Vec<u8>>>, Arc<tokio::sync::Notify>);

impl futures::io::AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        self.1.notify_one();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A guest writes a request and waits for the reply with its stream open; the host pipes
/// the stream into a buffering writer (`BufWriter`) and replies once the request reached
/// the writer underneath: each guest write is flushed through, so the two never wait on
/// each other.
#[tokio::test]
async fn pipe_to_write_flushes_each_guest_write_so_a_guest_awaiting_a_reply_is_answered() {
    let mut g = Guest::new(GUEST).await;
    let ask = g
        .func::<(Vec<u8>, FutureReader<String>), ((StreamReader<u8>, FutureReader<String>),)>(
            "ask",
        );
    let request = b"GET /answer\n".to_vec();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (answer, written) = g
        .run(async |a| {
            let (reply_tx, reply_rx) = futures::channel::oneshot::channel::<String>();
            let reply = a
                .with(|store| from_future(store, reply_rx.map(|r| r.unwrap_or_default())))
                .unwrap();
            let ((s, answer),) = ask
                .call_concurrent(a, (request.clone(), reply))
                .await
                .unwrap();
            let wrote = Arc::new(tokio::sync::Notify::new());
            let writer = futures::io::BufWriter::new(Recorder(seen.clone(), wrote.clone()));
            let piped = a.with(|store| pipe_to_write(store, s, writer)).unwrap();
            let replying = async {
                // The time limit is only a hang guard.
                let arrived = tokio::time::timeout(Duration::from_secs(20), async {
                    while seen.lock().unwrap().len() < request.len() {
                        wrote.notified().await;
                    }
                })
                .await;
                assert!(
                    arrived.is_ok(),
                    "the guest's request never reached the writer under the BufWriter"
                );
                reply_tx.send("42".to_string()).unwrap();
            };
            let ((), piped) = futures::join!(replying, piped);
            let answer = a
                .with(|store| GuestFuture::new(store, answer))
                .unwrap()
                .await
                .unwrap();
            (answer, piped.map(|(_, written)| written))
        })
        .await;
    g.assert_nothing_open().await;
    assert_eq!(answer, "42");
    assert_eq!(written.unwrap(), request.len() as u64);
    assert_eq!(*seen.lock().unwrap(), request);
}

/// The guest cancels a write while the sink has no room: the write completes with the batch
/// the pipe read, the pipe keeps what the sink did not take yet, and when the guest closes
/// its stream the sink gets every one of them, in order, before it is closed.
#[tokio::test]
async fn pipe_to_sink_delivers_a_cancelled_writes_batch_before_closing() {
    let mut g = Guest::new(GUEST).await;
    let write =
        g.func::<(u32, u32), ((StreamReader<String>, FutureReader<u32>),)>("write-cancelled");
    let (got, taken, piped) = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (10, 20)).await.unwrap();
            // Room for one item until the host reads.
            let (tx, mut rx) = futures::channel::mpsc::channel(0);
            let piped = a.with(|store| pipe_to_sink(store, s, tx)).unwrap();
            let reading = async {
                // Only once the guest has cancelled its write and closed the stream.
                let taken = a
                    .with(|store| GuestFuture::new(store, taken))
                    .unwrap()
                    .await
                    .unwrap();
                let mut got = Vec::new();
                while got.len() < taken as usize {
                    got.push(rx.next().await.unwrap());
                }
                (got, taken)
            };
            let ((got, taken), piped) = futures::join!(reading, piped);
            (got, taken, piped.map(|(_, n)| n))
        })
        .await;
    g.assert_nothing_open().await;
    assert_eq!(
        taken, 10,
        "the cancelled write handed over the batch the pipe read"
    );
    let expected: Vec<String> = (0..10).map(|i| format!("item {i}")).collect();
    assert_eq!(got, expected);
    assert_eq!(piped.unwrap(), 10);
}
