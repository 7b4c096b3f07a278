//! The host as the guest's peer: futures and streams the host makes for the guest, with
//! values that arrive when the test says, and readers for the ones the guest makes.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::{
    Accessor, Destination, FutureReader, Lift, Lower, Source, StreamConsumer, StreamProducer,
    StreamReader, StreamResult, VecBuffer,
};
use wit_futures_wasmtime::future::{GuestFuture, from_future};

use crate::Ctx;

/// Observes that wasmtime dropped a host producer or consumer, which happens once both ends
/// of its future/stream are closed (e.g. the guest dropped its end).
#[derive(Clone, Default, Debug)]
pub struct DropProbe(Arc<AtomicBool>);

impl DropProbe {
    /// True once the guard made by [`guard`](Self::guard) was dropped.
    pub fn dropped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A guard to move into a producer or consumer.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }
}

/// Sets its [`DropProbe`] when dropped.
#[derive(Debug)]
pub struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A `future<T>` for the guest whose value is the output of `value`.
pub fn future<T>(
    a: &Accessor<Ctx>,
    value: impl Future<Output = T> + Send + 'static,
) -> FutureReader<T>
where
    T: Lower + Lift + Send + Sync + 'static,
{
    a.with(|s| from_future(s, value)).expect("from_future")
}

/// A `future<T>` for the guest whose value is ready at once.
pub fn future_ready<T>(a: &Accessor<Ctx>, value: T) -> FutureReader<T>
where
    T: Lower + Lift + Send + Sync + 'static,
{
    future(a, async move { value })
}

/// A `future<T>` for the guest whose value arrives after `delay`.
pub fn future_after<T>(a: &Accessor<Ctx>, delay: Duration, value: T) -> FutureReader<T>
where
    T: Lower + Lift + Send + Sync + 'static,
{
    future(a, async move {
        tokio::time::sleep(delay).await;
        value
    })
}

/// A `future<T>` for the guest that never gets a value; the probe tells when the guest
/// dropped its end (wasmtime then drops the host's producer).
pub fn future_never<T>(a: &Accessor<Ctx>) -> (FutureReader<T>, DropProbe)
where
    T: Lower + Lift + Send + Sync + 'static,
{
    let probe = DropProbe::default();
    let guard = probe.guard();
    let reader = future(a, async move {
        let _guard = guard;
        std::future::pending::<T>().await
    });
    (reader, probe)
}

/// Reads the guest's `future<T>`: resolves to its value.
pub async fn read_future<T>(a: &Accessor<Ctx>, reader: FutureReader<T>) -> T
where
    T: Lift + Send + Sync + 'static,
{
    a.with(|s| GuestFuture::new(s, reader))
        .expect("pipe")
        .await
        .expect("the store went away before the guest's value arrived")
}

/// Closes the host's end of the guest's `future<T>` without reading it: the guest's writer
/// sees the reader gone.
pub fn close_future<T>(a: &Accessor<Ctx>, mut reader: FutureReader<T>) {
    a.with(|mut s| reader.close(&mut s)).expect("close");
}

/// Sleeps for `ms` milliseconds (on the test's tokio runtime).
pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// A small seeded random number generator (xorshift64*), so that a failing schedule can be
/// replayed from its seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; equal seeds give equal sequences.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// How the host delivers a `stream<T>` to the guest.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Items per delivery, cycled (e.g. `[1, 3, 2, 7]`); each is also capped by the guest's
    /// read size. Empty: everything at once.
    pub chunks: Vec<usize>,
    /// Wait before each delivery.
    pub delay: Duration,
    /// Drop the writing end after this many items (the rest are never sent).
    pub end_after: Option<usize>,
    /// Stop delivering after this many items, keeping the writing end open.
    pub stall_after: Option<usize>,
    /// Answer every read of capacity 1 first with an empty completion (allowed by the
    /// component model for reads of one item), then with an item.
    pub empty_completions: bool,
    /// Counts the empty completions sent (shared by clones).
    pub empties_sent: Arc<AtomicUsize>,
}

/// Items a host producer handed to the guest, in order: every delivery fits the guest's
/// read, so each recorded item reached guest memory.
pub type Delivered<T> = Arc<std::sync::Mutex<Vec<T>>>;

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            chunks: Vec::new(),
            delay: Duration::ZERO,
            end_after: None,
            stall_after: None,
            empty_completions: false,
            empties_sent: Arc::default(),
        }
    }
}

impl Delivery {
    /// Deliveries of these sizes, cycled.
    pub fn chunks(chunks: &[usize]) -> Delivery {
        Delivery {
            chunks: chunks.to_vec(),
            ..Delivery::default()
        }
    }

    /// The same, with `delay` before each delivery.
    pub fn delay(mut self, delay: Duration) -> Delivery {
        self.delay = delay;
        self
    }

    /// The same, dropping the writing end after `n` items.
    pub fn end_after(mut self, n: usize) -> Delivery {
        self.end_after = Some(n);
        self
    }

    /// The same, delivering nothing more after `n` items while keeping the stream open.
    pub fn stall_after(mut self, n: usize) -> Delivery {
        self.stall_after = Some(n);
        self
    }
}

/// A `stream<T>` for the guest carrying `items`, delivered as `delivery` says; the probe
/// tells when both ends are gone (the guest dropped its reader).
pub fn stream<T>(
    a: &Accessor<Ctx>,
    items: impl IntoIterator<Item = T, IntoIter: Send + 'static>,
    delivery: Delivery,
) -> (StreamReader<T>, DropProbe)
where
    T: Lower + Lift + Send + Sync + Unpin + 'static,
{
    stream_inner(a, items, delivery, None)
}

/// As [`stream`], recording every item delivered into `delivered`.
pub fn stream_tracked<T>(
    a: &Accessor<Ctx>,
    items: impl IntoIterator<Item = T, IntoIter: Send + 'static>,
    delivery: Delivery,
    delivered: Delivered<T>,
) -> (StreamReader<T>, DropProbe)
where
    T: Lower + Lift + Send + Sync + Unpin + Clone + 'static,
{
    let record: Recorder<T> =
        Box::new(move |items| delivered.lock().unwrap().extend_from_slice(items));
    stream_inner(a, items, delivery, Some(record))
}

/// Called with every batch the guest accepted from a tracked stream.
type Recorder<T> = Box<dyn Fn(&[T]) + Send>;

fn stream_inner<T>(
    a: &Accessor<Ctx>,
    items: impl IntoIterator<Item = T, IntoIter: Send + 'static>,
    delivery: Delivery,
    record: Option<Recorder<T>>,
) -> (StreamReader<T>, DropProbe)
where
    T: Lower + Lift + Send + Sync + Unpin + 'static,
{
    let probe = DropProbe::default();
    let producer = ChunkedProducer {
        items: Box::new(items.into_iter()),
        peeked: None,
        delivery,
        next_chunk: 0,
        delivered: 0,
        sleep: None,
        owe_empty: true,
        record,
        _guard: probe.guard(),
    };
    let reader = a
        .with(|mut s| StreamReader::new(&mut s, producer))
        .expect("StreamReader::new");
    (reader, probe)
}

struct ChunkedProducer<T> {
    items: Box<dyn Iterator<Item = T> + Send>,
    peeked: Option<T>,
    delivery: Delivery,
    next_chunk: usize,
    delivered: usize,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    owe_empty: bool,
    record: Option<Recorder<T>>,
    _guard: DropGuard,
}

impl<T> ChunkedProducer<T> {
    fn finished(&mut self) -> bool {
        if self.delivery.end_after == Some(self.delivered) {
            return true;
        }
        if self.peeked.is_none() {
            self.peeked = self.items.next();
        }
        self.peeked.is_none()
    }
}

impl<T: Lower + Send + Sync + Unpin + 'static> StreamProducer<Ctx> for ChunkedProducer<T> {
    type Item = T;
    type Buffer = VecBuffer<T>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, Ctx>,
        mut dst: Destination<'a, T, VecBuffer<T>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        if me.finished() {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let room = dst.remaining(&mut store);
        if room == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if me.delivery.stall_after == Some(me.delivered) {
            return if finish {
                Poll::Ready(Ok(StreamResult::Cancelled))
            } else {
                Poll::Pending
            };
        }
        if me.delivery.empty_completions && room == Some(1) && me.owe_empty {
            me.owe_empty = false;
            me.delivery.empties_sent.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if !me.delivery.delay.is_zero() {
            let delay = me.delivery.delay;
            let sleep = me
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return if finish {
                    Poll::Ready(Ok(StreamResult::Cancelled))
                } else {
                    Poll::Pending
                };
            }
            me.sleep = None;
        }
        let mut n = match me.delivery.chunks.as_slice() {
            [] => usize::MAX,
            chunks => chunks[me.next_chunk % chunks.len()].max(1),
        };
        me.next_chunk += 1;
        if let Some(room) = room {
            n = n.min(room);
        }
        for limit in [me.delivery.end_after, me.delivery.stall_after]
            .into_iter()
            .flatten()
        {
            n = n.min(limit - me.delivered);
        }
        let mut chunk = Vec::new();
        while chunk.len() < n {
            match me.peeked.take().or_else(|| me.items.next()) {
                Some(item) => chunk.push(item),
                None => break,
            }
        }
        me.delivered += chunk.len();
        me.owe_empty = true;
        if let Some(record) = &me.record {
            record(&chunk);
        }
        dst.set_buffer(chunk.into());
        Poll::Ready(Ok(if me.finished() {
            StreamResult::Dropped
        } else {
            StreamResult::Completed
        }))
    }
}

/// How the host reads a guest's `stream<T>`.
#[derive(Clone, Debug, Default)]
pub struct Intake {
    /// Most items taken per guest write (0: all offered).
    pub per_write: usize,
    /// Wait before taking each write's items.
    pub delay: Duration,
    /// Drop the reading end after this many items.
    pub stop_after: Option<usize>,
}

/// Reads the guest's `stream<T>` as `intake` says; resolves to every item taken, once the
/// guest dropped its writing end.
pub async fn read_stream<T>(a: &Accessor<Ctx>, reader: StreamReader<T>, intake: Intake) -> Vec<T>
where
    T: Lift + Send + Sync + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let consumer = ChanConsumer {
        tx,
        intake,
        taken: 0,
        sleep: None,
    };
    a.with(|mut s| reader.pipe(&mut s, consumer)).expect("pipe");
    let mut items = Vec::new();
    while let Some(chunk) = rx.recv().await {
        items.extend(chunk);
    }
    items
}

struct ChanConsumer<T> {
    tx: tokio::sync::mpsc::UnboundedSender<Vec<T>>,
    intake: Intake,
    taken: usize,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T: Lift + Send + Sync + 'static> StreamConsumer<Ctx> for ChanConsumer<T> {
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<Ctx>,
        mut source: Source<'_, T>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        if me.intake.stop_after == Some(me.taken) {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        if !me.intake.delay.is_zero() {
            let delay = me.intake.delay;
            let sleep = me
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return if finish {
                    Poll::Ready(Ok(StreamResult::Cancelled))
                } else {
                    Poll::Pending
                };
            }
            me.sleep = None;
        }
        let offered = source.remaining(&mut store);
        if offered == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let mut n = offered;
        if me.intake.per_write > 0 {
            n = n.min(me.intake.per_write);
        }
        if let Some(stop) = me.intake.stop_after {
            n = n.min(stop - me.taken);
        }
        let mut buf = Vec::with_capacity(n);
        source.read(&mut store, &mut buf)?;
        me.taken += buf.len();
        let _ = me.tx.send(buf);
        Poll::Ready(Ok(if me.intake.stop_after == Some(me.taken) {
            StreamResult::Dropped
        } else {
            StreamResult::Completed
        }))
    }
}

/// A `stream<T>` for the guest carrying `items`, delivered by wasmtime's own `Vec` producer
/// (as fast as the guest reads, whole reads at a time): for benchmarks.
pub fn stream_vec<T>(a: &Accessor<Ctx>, items: Vec<T>) -> StreamReader<T>
where
    T: Lower + Lift + Send + Sync + Unpin + 'static,
{
    a.with(|mut s| StreamReader::new(&mut s, items))
        .expect("StreamReader::new")
}

/// Reads the guest's `stream<T>` as fast as it writes, dropping the items; resolves to how
/// many there were, once the guest dropped its writing end. For benchmarks.
pub async fn drain_stream<T>(a: &Accessor<Ctx>, reader: StreamReader<T>) -> usize
where
    T: Lift + Send + Sync + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let consumer = CountConsumer {
        count: 0,
        buf: Vec::new(),
        done: Some(tx),
    };
    a.with(|mut s| reader.pipe(&mut s, consumer)).expect("pipe");
    rx.await.expect("count")
}

struct CountConsumer<T> {
    count: usize,
    buf: Vec<T>,
    done: Option<tokio::sync::oneshot::Sender<usize>>,
}

impl<T> Unpin for CountConsumer<T> {}

impl<T> Drop for CountConsumer<T> {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(self.count);
        }
    }
}

impl<T: Lift + Send + Sync + 'static> StreamConsumer<Ctx> for CountConsumer<T> {
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        mut store: StoreContextMut<Ctx>,
        mut source: Source<'_, T>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        let offered = source.remaining(&mut store);
        me.buf.clear();
        me.buf.reserve(offered);
        source.read(&mut store, &mut me.buf)?;
        me.count += me.buf.len();
        Poll::Ready(Ok(StreamResult::Completed))
    }
}
