//! Host peers that move only when the test says, and report what the guest did to them, so
//! that a test acts on what it has *seen* the guest do instead of sleeping and hoping.
//!
//! - [`gated_future`]: a `future<T>` whose value is handed over on [`GatedFuture::release`];
//!   it reports each read the guest starts, each read the guest cancels, the hand-over, and
//!   the guest letting go of its end.
//! - [`gated_stream`]: a `stream<T>` that hands over only the items the test
//!   [`push`](GatedStream::push)ed; it reports the items delivered and whether a read of the
//!   guest is waiting for more.
//! - [`gated_intake`]: reads a guest's `stream<T>`, taking only what the test
//!   [`allow`](GatedIntake::allow)s; it reports a write of the guest that waits to be taken.
//!
//! Every wait ([`GatedFuture::until`] and friends) is event-driven; its time limit is only a
//! hang guard that names what the guest never did.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::watch;
use wit_futures_harness::wasmtime::StoreContextMut;
use wit_futures_harness::wasmtime::component::{
    Destination, FutureProducer, Lift, Lower, Source, StreamConsumer, StreamProducer, StreamResult,
    VecBuffer,
};
use wit_futures_harness::{Accessor, Ctx, FutureReader, StreamReader};

/// How long a test waits for the guest to do what it expects before failing as hung; far
/// beyond any real wait, and below the harness's own limit for a whole run so that the
/// failure names the step.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// Waits until `state` satisfies `ready`; panics naming `what` if it never does.
async fn until<S>(state: &watch::Sender<S>, what: &str, ready: impl FnMut(&S) -> bool) {
    let mut seen = state.subscribe();
    match tokio::time::timeout(HANG_GUARD, seen.wait_for(ready)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => unreachable!("the state lives as long as its handle"),
        Err(_) => panic!("hung: waited {HANG_GUARD:?} for the guest: {what}"),
    }
}

/// Wakes the peer's last waker, if any.
fn wake(waker: &Mutex<Option<Waker>>) {
    if let Some(waker) = waker.lock().unwrap().take() {
        waker.wake();
    }
}

/// What the guest did to a [`gated_future`].
#[derive(Clone, Debug, Default)]
pub struct FutureSeen {
    /// Reads the guest started.
    pub reads: usize,
    /// Reads the guest cancelled before the value was handed over.
    pub cancels: usize,
    /// The value went to a read of the guest.
    pub handed: bool,
    /// The guest let go of its end (wasmtime dropped the producer).
    pub dropped: bool,
}

struct FutureShared<T> {
    seen: watch::Sender<FutureSeen>,
    value: Mutex<Option<T>>,
    released: Mutex<bool>,
    waker: Mutex<Option<Waker>>,
}

/// The test's handle on a [`gated_future`].
pub struct GatedFuture<T> {
    shared: Arc<FutureShared<T>>,
}

/// A `future<T>` for the guest whose value `value` is handed to the guest's read only after
/// [`GatedFuture::release`].
pub fn gated_future<T>(a: &Accessor<Ctx>, value: T) -> (FutureReader<T>, GatedFuture<T>)
where
    T: Lower + Lift + Send + Sync + 'static,
{
    let shared = Arc::new(FutureShared {
        seen: watch::Sender::new(FutureSeen::default()),
        value: Mutex::new(Some(value)),
        released: Mutex::new(false),
        waker: Mutex::new(None),
    });
    let producer = FutureGate {
        shared: shared.clone(),
        in_read: false,
    };
    let reader = a
        .with(|mut s| FutureReader::new(&mut s, producer))
        .expect("FutureReader::new");
    (reader, GatedFuture { shared })
}

impl<T> GatedFuture<T> {
    /// Lets the value go to the guest's read in flight, or to its next read.
    pub fn release(&self) {
        *self.shared.released.lock().unwrap() = true;
        wake(&self.shared.waker);
    }

    /// What the guest did so far.
    pub fn seen(&self) -> FutureSeen {
        self.shared.seen.borrow().clone()
    }

    /// Waits until what the guest did satisfies `ready`; panics naming `what` if it never
    /// does.
    pub async fn until(&self, what: &str, ready: impl FnMut(&FutureSeen) -> bool) {
        until(&self.shared.seen, what, ready).await;
    }

    /// Waits until the guest has started its `n`th read.
    pub async fn read_started(&self, n: usize) {
        self.until(&format!("start read {n} of the future"), |s| s.reads >= n)
            .await;
    }

    /// Waits until the value went to a read of the guest.
    pub async fn handed(&self) {
        self.until("take the future's value", |s| s.handed).await;
    }

    /// Waits until the guest let go of its end.
    pub async fn dropped(&self) {
        self.until("drop its end of the future", |s| s.dropped)
            .await;
    }
}

struct FutureGate<T> {
    shared: Arc<FutureShared<T>>,
    in_read: bool,
}

impl<T> Drop for FutureGate<T> {
    fn drop(&mut self) {
        self.shared.seen.send_modify(|s| s.dropped = true);
    }
}

impl<T: Send + Sync + 'static> FutureProducer<Ctx> for FutureGate<T> {
    type Item = T;

    fn poll_produce(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _store: StoreContextMut<Ctx>,
        finish: bool,
    ) -> Poll<wasmtime::Result<Option<T>>> {
        let me = self.get_mut();
        let shared = &me.shared;
        if !me.in_read {
            me.in_read = true;
            shared.seen.send_modify(|s| s.reads += 1);
        }
        if *shared.released.lock().unwrap() {
            let value = shared.value.lock().unwrap().take().expect("one value");
            me.in_read = false;
            shared.seen.send_modify(|s| s.handed = true);
            return Poll::Ready(Ok(Some(value)));
        }
        if finish {
            me.in_read = false;
            shared.seen.send_modify(|s| s.cancels += 1);
            return Poll::Ready(Ok(None));
        }
        *shared.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// What the guest did to a [`gated_stream`].
#[derive(Clone, Debug, Default)]
pub struct StreamSeen {
    /// Reads the guest started.
    pub reads: usize,
    /// A read of the guest waits: nothing pushed is left to hand over.
    pub waiting: bool,
    /// Items handed to the guest's reads.
    pub delivered: usize,
    /// Reads the guest cancelled while they waited.
    pub cancels: usize,
    /// The guest let go of its end (wasmtime dropped the producer).
    pub dropped: bool,
}

struct StreamFeed<T> {
    items: VecDeque<T>,
    /// Hang up (drop the writing end) once `items` is empty.
    end: bool,
}

struct StreamShared<T> {
    seen: watch::Sender<StreamSeen>,
    feed: Mutex<StreamFeed<T>>,
    waker: Mutex<Option<Waker>>,
}

/// The test's handle on a [`gated_stream`].
pub struct GatedStream<T> {
    shared: Arc<StreamShared<T>>,
}

/// A `stream<T>` for the guest that hands over only what the test pushes, at most `chunk`
/// items per read (0: as many as the read has room for).
pub fn gated_stream<T>(a: &Accessor<Ctx>, chunk: usize) -> (StreamReader<T>, GatedStream<T>)
where
    T: Lower + Lift + Send + Sync + Unpin + 'static,
{
    let shared = Arc::new(StreamShared {
        seen: watch::Sender::new(StreamSeen::default()),
        feed: Mutex::new(StreamFeed {
            items: VecDeque::new(),
            end: false,
        }),
        waker: Mutex::new(None),
    });
    let producer = StreamGate {
        shared: shared.clone(),
        chunk: if chunk == 0 { usize::MAX } else { chunk },
        in_read: false,
    };
    let reader = a
        .with(|mut s| StreamReader::new(&mut s, producer))
        .expect("StreamReader::new");
    (reader, GatedStream { shared })
}

impl<T> GatedStream<T> {
    /// Lets `items` go to the guest's reads, after those pushed before.
    pub fn push(&self, items: impl IntoIterator<Item = T>) {
        self.shared.feed.lock().unwrap().items.extend(items);
        wake(&self.shared.waker);
    }

    /// Drops the writing end once everything pushed was handed over.
    pub fn end(&self) {
        self.shared.feed.lock().unwrap().end = true;
        wake(&self.shared.waker);
    }

    /// What the guest did so far.
    pub fn seen(&self) -> StreamSeen {
        self.shared.seen.borrow().clone()
    }

    /// Waits until what the guest did satisfies `ready`; panics naming `what` if it never
    /// does.
    pub async fn until(&self, what: &str, ready: impl FnMut(&StreamSeen) -> bool) {
        until(&self.shared.seen, what, ready).await;
    }

    /// Waits until the guest took `n` items in all and a read of it waits for more.
    pub async fn waiting_after(&self, n: usize) {
        self.until(&format!("take {n} items and read again"), |s| {
            s.delivered == n && s.waiting
        })
        .await;
    }
}

struct StreamGate<T> {
    shared: Arc<StreamShared<T>>,
    chunk: usize,
    in_read: bool,
}

impl<T> Drop for StreamGate<T> {
    fn drop(&mut self) {
        self.shared.seen.send_modify(|s| {
            s.waiting = false;
            s.dropped = true;
        });
    }
}

impl<T: Lower + Send + Sync + Unpin + 'static> StreamProducer<Ctx> for StreamGate<T> {
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
        let shared = &me.shared;
        if !me.in_read {
            me.in_read = true;
            shared.seen.send_modify(|s| s.reads += 1);
        }
        let room = dst.remaining(&mut store).unwrap_or(usize::MAX);
        let mut feed = shared.feed.lock().unwrap();
        if room == 0 {
            // A zero-length read: the guest asks whether it may read, nothing to hand over.
            me.in_read = false;
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if !feed.items.is_empty() {
            let n = feed.items.len().min(room).min(me.chunk);
            let chunk: Vec<T> = feed.items.drain(..n).collect();
            let ended = feed.end && feed.items.is_empty();
            drop(feed);
            me.in_read = false;
            shared.seen.send_modify(|s| {
                s.delivered += n;
                s.waiting = false;
            });
            dst.set_buffer(chunk.into());
            return Poll::Ready(Ok(if ended {
                StreamResult::Dropped
            } else {
                StreamResult::Completed
            }));
        }
        if feed.end {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        drop(feed);
        if finish {
            me.in_read = false;
            shared.seen.send_modify(|s| {
                s.cancels += 1;
                s.waiting = false;
            });
            return Poll::Ready(Ok(StreamResult::Cancelled));
        }
        *shared.waker.lock().unwrap() = Some(cx.waker().clone());
        shared
            .seen
            .send_if_modified(|s| !std::mem::replace(&mut s.waiting, true));
        Poll::Pending
    }
}

/// What the guest did to a [`gated_intake`].
#[derive(Clone, Debug, Default)]
pub struct IntakeSeen {
    /// Items in the guest's write that waits to be taken (0: none waits).
    pub offered: usize,
    /// Items taken in all.
    pub taken: usize,
    /// The guest dropped its writing end, or the test hung up (wasmtime dropped the
    /// consumer).
    pub dropped: bool,
}

struct IntakeFeed<T> {
    /// Items the test still allows to be taken.
    allowed: usize,
    hang_up: bool,
    received: Vec<T>,
}

struct IntakeShared<T> {
    seen: watch::Sender<IntakeSeen>,
    feed: Mutex<IntakeFeed<T>>,
    waker: Mutex<Option<Waker>>,
}

/// The test's handle on a [`gated_intake`].
pub struct GatedIntake<T> {
    shared: Arc<IntakeShared<T>>,
}

/// Reads the guest's `stream<T>`, taking only what the test allows.
pub fn gated_intake<T>(a: &Accessor<Ctx>, reader: StreamReader<T>) -> GatedIntake<T>
where
    T: Lift + Send + Sync + 'static,
{
    let shared = Arc::new(IntakeShared {
        seen: watch::Sender::new(IntakeSeen::default()),
        feed: Mutex::new(IntakeFeed {
            allowed: 0,
            hang_up: false,
            received: Vec::new(),
        }),
        waker: Mutex::new(None),
    });
    let consumer = IntakeGate {
        shared: shared.clone(),
    };
    a.with(|mut s| reader.pipe(&mut s, consumer)).expect("pipe");
    GatedIntake { shared }
}

impl<T> GatedIntake<T> {
    /// Lets `n` more items be taken.
    pub fn allow(&self, n: usize) {
        let mut feed = self.shared.feed.lock().unwrap();
        feed.allowed = feed.allowed.saturating_add(n);
        drop(feed);
        wake(&self.shared.waker);
    }

    /// Drops the reading end at the guest's next or waiting write, taking nothing more.
    pub fn hang_up(&self) {
        self.shared.feed.lock().unwrap().hang_up = true;
        wake(&self.shared.waker);
    }

    /// What the guest did so far.
    pub fn seen(&self) -> IntakeSeen {
        self.shared.seen.borrow().clone()
    }

    /// The items taken so far.
    pub fn received(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.shared.feed.lock().unwrap().received.clone()
    }

    /// Waits until what the guest did satisfies `ready`; panics naming `what` if it never
    /// does.
    pub async fn until(&self, what: &str, ready: impl FnMut(&IntakeSeen) -> bool) {
        until(&self.shared.seen, what, ready).await;
    }
}

struct IntakeGate<T> {
    shared: Arc<IntakeShared<T>>,
}

impl<T> Drop for IntakeGate<T> {
    fn drop(&mut self) {
        self.shared.seen.send_modify(|s| {
            s.offered = 0;
            s.dropped = true;
        });
    }
}

impl<T: Lift + Send + Sync + 'static> StreamConsumer<Ctx> for IntakeGate<T> {
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<Ctx>,
        mut source: Source<'_, T>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let shared = &self.shared;
        let mut feed = shared.feed.lock().unwrap();
        if feed.hang_up {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let offered = source.remaining(&mut store);
        if offered == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if feed.allowed > 0 {
            let mut buf = Vec::with_capacity(offered.min(feed.allowed));
            source.read(&mut store, &mut buf)?;
            feed.allowed -= buf.len();
            let n = buf.len();
            feed.received.extend(buf);
            drop(feed);
            shared.seen.send_modify(|s| {
                s.taken += n;
                s.offered = 0;
            });
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        drop(feed);
        if finish {
            shared.seen.send_modify(|s| s.offered = 0);
            return Poll::Ready(Ok(StreamResult::Cancelled));
        }
        *shared.waker.lock().unwrap() = Some(cx.waker().clone());
        shared
            .seen
            .send_if_modified(|s| std::mem::replace(&mut s.offered, offered) != offered);
        Poll::Pending
    }
}
