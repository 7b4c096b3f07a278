//! `cargo bench --bench host`: each host adapter against the hand-written
//! wasmtime producer or consumer doing the same job, alternating, in one run, with the
//! guest (`guest-host-peer`, raw wit-bindgen) reading or writing as fast as it can.
//!
//! - `host_stream`: 1,000,000 `u32` produced lazily on the host, read by the guest in reads
//!   of 4096 and summed. From a `Stream` (`stream::iter(0..N)`): adapter `from_stream`,
//!   raw a hand-written `StreamProducer` polling the stream into a `Vec` per read. From an
//!   iterator (`0..N`): adapter `from_iter`, raw_iter a hand-written producer collecting
//!   the next numbers of the range per read. For scale, wasmtime's own `Vec<u32>` producer
//!   over the materialized numbers.
//! - `host_bytes`: 100 MiB from host memory, read by the guest in reads of 64 KiB and
//!   counted. adapter: `from_async_read(Cursor)`; raw: a hand-written producer copying
//!   into the guest's buffer (`Destination::as_direct`).
//! - `host_guest_stream` / `host_sink`: 200,000 strings ("item 0", ...) written by the guest
//!   in writes of 4096. adapter: `GuestStream<String>` counted with `StreamExt::count`, and
//!   `pipe_to_sink(sink::drain())`; raw: a hand-written `StreamConsumer` reading each write
//!   into a reused `Vec` and counting (the harness's `drain_stream`).
//! - `host_write`: 100 MiB written by the guest in writes of 64 KiB. adapter:
//!   `pipe_to_write(io::sink())`; raw: the same hand-written consumer for `u8`.
//!
//! The guest formats every string and computes every byte it writes, which both sides pay:
//! the consumer ratios measure the host's share diluted by that work.
//!
//! Prints the median of each and `name adapter/raw = ratio (lo-hi)` lines (the median and
//! the range of the per-round ratios).

#[path = "ratio.rs"]
mod ratio;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ratio::Rounds;
use wasmtime::StoreContextMut;
use wasmtime::component::{Destination, StreamProducer, StreamResult, VecBuffer};
use wit_futures_harness::peer::{drain_stream, read_future};
use wit_futures_harness::{Ctx, FutureReader, Guest, StreamReader};
use wit_futures_wasmtime::stream::{
    GuestStream, from_async_read, from_iter, from_stream, pipe_to_sink, pipe_to_write,
};

const NUMBERS: u32 = 1_000_000;
const NUMBERS_PER_READ: u32 = 4096;
const BYTES: usize = 100 << 20;
const BYTES_PER_OP: u32 = 64 * 1024;
const STRINGS: u32 = 200_000;
const STRINGS_PER_WRITE: u32 = 4096;
const ROUNDS: usize = 9;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut g = Guest::new("guest-host-peer").await;
    host_stream(&mut g).await;
    host_bytes(&mut g).await;
    host_consumers(&mut g).await;
}

/// Runs each mode once per round (after one warm-up round), alternating; the seconds of
/// each mode in each round.
async fn rounds<const N: usize>(
    g: &mut Guest,
    modes: [&str; N],
    mut once: impl AsyncFnMut(&mut Guest, &str) -> Duration,
) -> Rounds<N> {
    let mut samples = Rounds::new();
    for round in 0..=ROUNDS {
        for (m, mode) in modes.iter().enumerate() {
            let t = once(g, mode).await;
            if round > 0 {
                samples.push(m, t.as_secs_f64());
            }
        }
    }
    samples
}

fn print<const N: usize>(name: &str, what: &str, modes: &[&str; N], samples: &Rounds<N>) {
    println!("{name}: {what}, median of {ROUNDS}:");
    for (mode, t) in modes.iter().zip(samples.medians()) {
        println!("  {mode:>9}: {:>8.2} ms", t * 1e3);
    }
}

async fn host_stream(g: &mut Guest) {
    let read = g.func::<(StreamReader<u32>, u32), ((u64, u64),)>("read-numbers");
    let expected: u64 = (0..u64::from(NUMBERS)).sum();
    let modes = ["raw", "adapter", "raw_iter", "from_iter", "vec"];
    let samples = rounds(g, modes, async |g, mode| {
        let numbers: Vec<u32> = if mode == "vec" {
            (0..NUMBERS).collect()
        } else {
            Vec::new()
        };
        let (t, (count, sum)) = g
            .run(async |a| {
                let start = Instant::now();
                let s = a
                    .with(|store| match mode {
                        "raw" => StreamReader::new(
                            store,
                            PolledProducer(futures::stream::iter(0..NUMBERS)),
                        ),
                        "adapter" => from_stream(store, futures::stream::iter(0..NUMBERS)),
                        "raw_iter" => StreamReader::new(store, RangeProducer(0..NUMBERS)),
                        "from_iter" => from_iter(store, 0..NUMBERS),
                        _ => StreamReader::new(store, numbers),
                    })
                    .unwrap();
                let (counted,) = read
                    .call_concurrent(a, (s, NUMBERS_PER_READ))
                    .await
                    .unwrap();
                (start.elapsed(), counted)
            })
            .await;
        assert_eq!((count, sum), (u64::from(NUMBERS), expected), "{mode}");
        t
    })
    .await;
    print(
        "host_stream",
        &format!("{NUMBERS} u32 host to guest, reads of {NUMBERS_PER_READ}"),
        &modes,
        &samples,
    );
    ratio::print("host_stream adapter/raw", &samples.ratios(1, 0), "");
    ratio::print("host_stream from_iter/raw_iter", &samples.ratios(3, 2), "");
    ratio::print("host_stream adapter/raw_iter", &samples.ratios(1, 2), "");
    ratio::print("host_stream vec/raw_iter", &samples.ratios(4, 2), "");
}

/// The hand-written producer of `host_stream` over an iterator: a `Vec` of the next numbers
/// per read, collected from the range.
struct RangeProducer(std::ops::Range<u32>);

impl StreamProducer<Ctx> for RangeProducer {
    type Item = u32;
    type Buffer = VecBuffer<u32>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, Ctx>,
        mut destination: Destination<'a, u32, VecBuffer<u32>>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let range = &mut self.get_mut().0;
        if range.start == range.end {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let room = match destination.remaining(&mut store) {
            Some(0) => return Poll::Ready(Ok(StreamResult::Completed)),
            Some(room) => room,
            None => 4096,
        };
        let batch: Vec<u32> = range.by_ref().take(room).collect();
        destination.set_buffer(batch.into());
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// A hand-written producer polling the same `Stream` as the adapter, item by item, into a
/// `Vec` per read: what a producer over a `Stream` costs when written by hand.
struct PolledProducer<S>(S);

impl<S: futures::Stream<Item = u32> + Send + Unpin + 'static> StreamProducer<Ctx>
    for PolledProducer<S>
{
    type Item = u32;
    type Buffer = VecBuffer<u32>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, Ctx>,
        mut destination: Destination<'a, u32, VecBuffer<u32>>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let stream = &mut self.get_mut().0;
        let room = match destination.remaining(&mut store) {
            Some(0) => return Poll::Ready(Ok(StreamResult::Completed)),
            Some(room) => room,
            None => 4096,
        };
        let mut batch = Vec::with_capacity(room);
        while batch.len() < room {
            match stream.poll_next_unpin(cx) {
                Poll::Ready(Some(n)) => batch.push(n),
                Poll::Ready(None) if batch.is_empty() => {
                    return Poll::Ready(Ok(StreamResult::Dropped));
                }
                Poll::Pending if batch.is_empty() => return Poll::Pending,
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        destination.set_buffer(batch.into());
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

async fn host_bytes(g: &mut Guest) {
    let count = g.func::<(StreamReader<u8>, u32), (u64,)>("count-bytes");
    let data: Vec<u8> = (0..BYTES).map(|i| ((i * 31) ^ (i >> 11)) as u8).collect();
    let modes = ["raw", "adapter"];
    let samples = rounds(g, modes, async |g, mode| {
        let source = data.clone();
        let (t, counted) = g
            .run(async |a| {
                let start = Instant::now();
                let (s, done) = a
                    .with(|store| match mode {
                        "raw" => StreamReader::new(store, CopyProducer { source, at: 0 })
                            .map(|s| (s, None)),
                        _ => from_async_read(store, futures::io::Cursor::new(source))
                            .map(|(s, done)| (s, Some(done))),
                    })
                    .unwrap();
                let (counted,) = count.call_concurrent(a, (s, BYTES_PER_OP)).await.unwrap();
                let t = start.elapsed();
                if let Some(done) = done {
                    let outcome = done.await;
                    assert!(
                        matches!(outcome, wit_futures_wasmtime::stream::ReadOutcome::Finished(n) if n == BYTES as u64),
                        "{outcome:?}"
                    );
                }
                (t, counted)
            })
            .await;
        assert_eq!(counted, BYTES as u64, "{mode}");
        t
    })
    .await;
    print(
        "host_bytes",
        &format!(
            "{} MiB host to guest, reads of {} KiB",
            BYTES >> 20,
            BYTES_PER_OP >> 10
        ),
        &modes,
        &samples,
    );
    ratio::print("host_bytes adapter/raw", &samples.ratios(1, 0), "");
}

/// The hand-written producer of `host_bytes`: copies the next bytes straight into the
/// guest's buffer.
struct CopyProducer {
    source: Vec<u8>,
    at: usize,
}

impl StreamProducer<Ctx> for CopyProducer {
    type Item = u8;
    type Buffer = Option<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, Ctx>,
        destination: Destination<'a, u8, Option<u8>>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        if me.at == me.source.len() {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let room = match destination.remaining(&mut store) {
            Some(0) => return Poll::Ready(Ok(StreamResult::Completed)),
            Some(room) => room,
            None => 64 * 1024,
        };
        let mut direct = destination.as_direct(store, room);
        let out = direct.remaining();
        let n = out.len().min(me.source.len() - me.at);
        out[..n].copy_from_slice(&me.source[me.at..me.at + n]);
        direct.mark_written(n);
        me.at += n;
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

async fn host_consumers(g: &mut Guest) {
    let write =
        g.func::<(u32, u32, u32), ((StreamReader<String>, FutureReader<u32>),)>("write-strings");
    let modes = ["raw", "stream", "sink"];
    let samples = rounds(g, modes, async |g, mode| {
        let (t, counted) = g
            .run(async |a| {
                let start = Instant::now();
                let ((s, taken),) = write
                    .call_concurrent(a, (STRINGS, STRINGS_PER_WRITE, 0))
                    .await
                    .unwrap();
                let counted = match mode {
                    "raw" => drain_stream(a, s).await as u64,
                    "stream" => {
                        let stream = a.with(|store| GuestStream::new(store, s)).unwrap();
                        stream.count().await as u64
                    }
                    _ => {
                        let sink = futures::sink::drain();
                        let pipe = a.with(|store| pipe_to_sink(store, s, sink)).unwrap();
                        pipe.await.unwrap().1
                    }
                };
                let t = start.elapsed();
                assert_eq!(read_future(a, taken).await, STRINGS, "{mode}");
                (t, counted)
            })
            .await;
        assert_eq!(counted, u64::from(STRINGS), "{mode}");
        t
    })
    .await;
    print(
        "host_guest_stream",
        &format!("{STRINGS} strings guest to host, writes of {STRINGS_PER_WRITE}"),
        &modes,
        &samples,
    );
    ratio::print("host_guest_stream adapter/raw", &samples.ratios(1, 0), "");
    ratio::print("host_sink adapter/raw", &samples.ratios(2, 0), "");

    let write = g.func::<(u64, u32, u32), ((StreamReader<u8>, FutureReader<u64>),)>("write-bytes");
    let modes = ["raw", "adapter"];
    let samples = rounds(g, modes, async |g, mode| {
        let (t, counted) = g
            .run(async |a| {
                let start = Instant::now();
                let ((s, taken),) = write
                    .call_concurrent(a, (BYTES as u64, BYTES_PER_OP, 0))
                    .await
                    .unwrap();
                let counted = if mode == "raw" {
                    drain_stream(a, s).await as u64
                } else {
                    let pipe = a
                        .with(|store| pipe_to_write(store, s, futures::io::sink()))
                        .unwrap();
                    pipe.await.unwrap().1
                };
                let t = start.elapsed();
                assert_eq!(read_future(a, taken).await, BYTES as u64, "{mode}");
                (t, counted)
            })
            .await;
        assert_eq!(counted, BYTES as u64, "{mode}");
        t
    })
    .await;
    print(
        "host_write",
        &format!(
            "{} MiB guest to host, writes of {} KiB",
            BYTES >> 20,
            BYTES_PER_OP >> 10
        ),
        &modes,
        &samples,
    );
    ratio::print("host_write adapter/raw", &samples.ratios(1, 0), "");
}
