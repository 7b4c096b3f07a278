use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use core::task::Waker;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_core::stream::{FusedStream, Stream};
use wasmtime::component::{Lift, Source, StreamConsumer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

use super::{HOST_READ_BATCH, batch_buffer, reclaim};

/// A guest's `stream<T>` as a [`Stream`] of its items, on the host.
///
/// Made by [`GuestStream::new`], which pipes the guest's stream into it. Each guest write
/// is taken as one batch (at most [`HOST_READ_BATCH`](super::HOST_READ_BATCH) items; a
/// larger write is taken in several) once the previous batch was handed over, so at most
/// two batches are on the host: the guest's writes wait while the Rust side does not read
/// (backpressure). Ends when the guest drops its writer; [`FusedStream`], `Unpin`, `Send`.
///
/// Dropping it (or [`close`](Self::close)) hangs up: the guest's write in progress, or its
/// next one, sees the reader gone. The items taken from the guest and not yet handed out
/// (at most two batches) are the host's: dropping the stream drops them;
/// [`into_remaining`](Self::into_remaining) hangs up and gives them back, and after `close`
/// the stream yields them, then ends.
///
/// Items flow only while the store's event loop runs.
///
/// # Cancel safety
///
/// `next()` is cancel-safe: items stay in the stream until handed out.
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
/// use wit_futures_wasmtime::stream::GuestStream;
/// # async fn example<D: Send + 'static>(accessor: &wasmtime::component::Accessor<D>, reader: wasmtime::component::StreamReader<u32>) -> wasmtime::Result<()> {
/// let items = accessor.with(|store| GuestStream::new(store, reader))?;
/// let total: u64 = items.map(u64::from).fold(0, |a, b| async move { a + b }).await;
/// # Ok(())
/// # }
/// ```
#[must_use = "streams do nothing unless polled; dropping one hangs up on the guest"]
pub struct GuestStream<T> {
    shared: Arc<Mutex<Slot<T>>>,
    current: std::vec::IntoIter<T>,
    ended: bool,
}

/// What the consumer in the store and the [`GuestStream`] share. The consumer checks
/// `closed` and takes items from the guest under the same lock, so a hang-up never races
/// with a batch in flight: a batch is either in the slot or still in the guest.
struct Slot<T> {
    /// The batch waiting to be handed out.
    batch: Option<Vec<T>>,
    /// The emptied buffer of the batch handed out before, for the next one.
    spare: Option<Vec<T>>,
    /// The Rust side hung up.
    closed: bool,
    /// The guest closed its stream (the consumer went away).
    ended: bool,
    /// The consumer waits for the slot to empty.
    consumer: Option<Waker>,
    /// The stream waits for a batch.
    stream: Option<Waker>,
}

fn lock<T>(shared: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> GuestStream<T>
where
    T: Lift + Send + Sync + 'static,
{
    /// Takes the guest's stream `reader`: its items arrive in the returned stream.
    ///
    /// # Errors
    ///
    /// Whatever wasmtime's `StreamReader::pipe` reports.
    pub fn new<D: 'static>(
        store: impl AsContextMut<Data = D>,
        reader: StreamReader<T>,
    ) -> wasmtime::Result<Self> {
        let shared = Arc::new(Mutex::new(Slot {
            batch: None,
            spare: None,
            closed: false,
            ended: false,
            consumer: None,
            stream: None,
        }));
        reader.pipe(
            store,
            Forward {
                shared: shared.clone(),
            },
        )?;
        Ok(Self {
            shared,
            current: Vec::new().into_iter(),
            ended: false,
        })
    }
}

impl<T> GuestStream<T> {
    /// Hangs up: the guest's write in progress, or its next one, sees the reader gone.
    /// Items already taken from the guest can still be read, then the stream ends (or take
    /// them with [`into_remaining`](Self::into_remaining)).
    pub fn close(&mut self) {
        let mut slot = lock(&self.shared);
        slot.closed = true;
        if let Some(consumer) = slot.consumer.take() {
            consumer.wake();
        }
    }

    /// Hangs up and gives back every item taken from the guest and not handed out, in
    /// order.
    #[must_use = "dropping them drops the items the guest wrote"]
    pub fn into_remaining(mut self) -> Vec<T> {
        self.close();
        let mut remaining: Vec<T> = core::mem::take(&mut self.current).collect();
        remaining.extend(lock(&self.shared).batch.take().unwrap_or_default());
        remaining
    }
}

impl<T> Drop for GuestStream<T> {
    fn drop(&mut self) {
        self.close();
        // Free the waiting batch and the spare buffer now rather than when the consumer goes.
        let buffers = {
            let mut slot = lock(&self.shared);
            (slot.batch.take(), slot.spare.take())
        };
        drop(buffers);
    }
}

impl<T> Unpin for GuestStream<T> {}

impl<T> Stream for GuestStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(item) = self.current.next() {
            return Poll::Ready(Some(item));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let mut slot = lock(&this.shared);
        if let Some(batch) = slot.batch.take() {
            if let Some(consumer) = slot.consumer.take() {
                consumer.wake();
            }
            // The spent batch's buffer goes back for the consumer's next one.
            slot.spare = reclaim(&mut this.current);
            drop(slot);
            this.current = batch.into_iter();
            // A guest write completes only with items, so the batch is not empty.
            return Poll::Ready(this.current.next());
        }
        // Ended by the guest, or closed by us: no batch comes after either.
        if slot.ended || slot.closed {
            drop(slot);
            this.ended = true;
            return Poll::Ready(None);
        }
        slot.stream = Some(cx.waker().clone());
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.current.len(), None)
    }
}

impl<T> FusedStream for GuestStream<T> {
    fn is_terminated(&self) -> bool {
        self.ended && self.current.len() == 0
    }
}

impl<T> fmt::Debug for GuestStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestStream")
            .field("buffered", &self.current.len())
            .field("ended", &self.ended)
            .finish()
    }
}

/// The consumer in the store: takes each guest write, whole, once the slot is empty.
struct Forward<T> {
    shared: Arc<Mutex<Slot<T>>>,
}

impl<T> Drop for Forward<T> {
    fn drop(&mut self) {
        // The guest closed its stream (or the store went away).
        let mut slot = lock(&self.shared);
        slot.ended = true;
        if let Some(stream) = slot.stream.take() {
            stream.wake();
        }
    }
}

impl<D, T> StreamConsumer<D> for Forward<T>
where
    T: Lift + Send + Sync + 'static,
{
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<D>,
        mut source: Source<'_, T>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let mut slot = lock(&self.shared);
        if slot.closed {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        // Room first: nothing is taken from the guest while a batch waits.
        if slot.batch.is_some() {
            if finish {
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            slot.consumer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let offered = source.remaining(&mut store);
        if offered == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        // The guest's write size does not size the host's buffer: a larger write hands over
        // a batch and is asked again for the rest.
        let mut batch = batch_buffer(slot.spare.take(), offered.min(HOST_READ_BATCH));
        source.read(&mut store, &mut batch)?;
        slot.batch = Some(batch);
        if let Some(stream) = slot.stream.take() {
            stream.wake();
        }
        Poll::Ready(Ok(StreamResult::Completed))
    }
}
