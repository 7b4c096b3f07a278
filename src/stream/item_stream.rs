use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use wit_bindgen::StreamReader;

use super::read_buffer::ReadBuffer;

/// Items read per batch unless [`ItemStream::with_capacity`] says otherwise.
///
/// Measured on wasmtime 48 with 1M `u32` from the host (`cargo bench --bench stream`): each
/// read costs a host call, so small batches are slow, and past a few thousand items the gain
/// flattens.
pub const DEFAULT_CAPACITY: usize = 4096;

/// A component-model `stream<T>` as a [`Stream`] of its items.
///
/// Created by [`StreamReaderExt::into_item_stream`](super::StreamReaderExt::into_item_stream).
/// Reads in batches (of [`DEFAULT_CAPACITY`] items unless set with
/// [`with_capacity`](Self::with_capacity); the first reads ask for less and grow while the
/// writer has more) and hands the items out one by one: nothing is allocated per item, two
/// allocations per batch (the batch and the read in flight). Ends (`None`) when the writer
/// drops its end; [`FusedStream`], so it stays ended.
///
/// `Unpin` and `Send`; `T: Send` is required because the reading task is boxed as
/// `dyn Future + Send` (every type wit-bindgen generates for a WIT payload is `Send`).
///
/// # Cancel safety
///
/// `next()` (and any poll) is cancel-safe: if the `Next` future is dropped, e.g. by a
/// `select!` branch that lost, no item is lost: a read in flight stays in flight, and the
/// items of a finished read wait in the stream for the next poll. Dropping the stream
/// itself drops the items it had read and not yet handed out; [`into_inner`](Self::into_inner)
/// gives them back with the reader instead.
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
/// use wit_futures::prelude::*;
/// # async fn example(reader: wit_bindgen::StreamReader<u32>) {
/// let total: u64 = reader
///     .into_item_stream()
///     .map(u64::from)
///     .fold(0, |sum, v| async move { sum + v })
///     .await;
/// # }
/// ```
#[must_use = "streams do nothing unless polled; dropping one drops the items it read"]
pub struct ItemStream<T: Send + 'static> {
    buffer: ReadBuffer<T>,
}

// Items are only moved, never pinned.
impl<T: Send> Unpin for ItemStream<T> {}

impl<T: Send + 'static> ItemStream<T> {
    pub(crate) fn new(reader: StreamReader<T>) -> Self {
        Self {
            buffer: ReadBuffer::new(reader, DEFAULT_CAPACITY),
        }
    }

    /// An item stream that hands out `unread` first, then reads `reader`: the inverse of
    /// [`into_inner`](Self::into_inner), e.g. to go on with a reader kept between export
    /// calls.
    ///
    /// ```no_run
    /// use wit_futures::stream::ItemStream;
    /// # fn example(reader: wit_bindgen::StreamReader<u32>) {
    /// let (reader, unread) = ItemStream::from_parts(reader, vec![1, 2]).into_inner();
    /// assert_eq!(unread, [1, 2]);
    /// # }
    /// ```
    pub fn from_parts(reader: StreamReader<T>, unread: Vec<T>) -> Self {
        Self {
            buffer: ReadBuffer::from_parts(reader, unread, DEFAULT_CAPACITY),
        }
    }

    /// Sets how many items each read asks for (at least 1; at most 16 MiB worth of `T`),
    /// from the next read on.
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::StreamReader<String>) {
    /// let lines = reader.into_item_stream().with_capacity(64);
    /// # }
    /// ```
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.buffer.set_capacity(capacity);
        self
    }

    /// Items read from the component stream and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.buffer.buffered()
    }

    /// Stops a read in flight, keeping the items that raced in: afterwards the stream has no
    /// operation pending in the component model, so it can be kept (in a resource, a
    /// static) past the end of the export call that polled it, and polled again from a later
    /// call. Nothing is lost; the next poll reads again. Does nothing if no read is in
    /// flight.
    ///
    /// Call it before the export call that polled the stream returns (or use
    /// [`Parked`](crate::Parked), which does it when dropped, also when the call is
    /// cancelled): an operation left in flight ties the stream to that call, which then
    /// cannot finish (see the crate's docs on keeping adapters across calls).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<u32>, deadline: wit_bindgen::FutureReader<()>) {
    /// let mut items = reader.into_item_stream();
    /// let mut deadline = deadline.into_oneshot();
    /// futures::select! {
    ///     item = items.next() => println!("{item:?}"),
    ///     _ = deadline => {}
    /// }
    /// items.park(); // the losing read, if any, is stopped; what it got is kept
    /// # }
    /// ```
    pub fn park(&mut self) {
        self.buffer.park();
    }

    /// Takes the reader back with every item read and not yet handed out. Never drops an
    /// item.
    ///
    /// A read in flight is cancelled; items that raced in before the cancellation are
    /// included, after the ones already buffered. The reader has no read in flight and can be
    /// read again or handed on; it is `None` once the writer is gone (the component model
    /// traps on a read after a read reported the writer gone, so it is not handed out).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<u32>) {
    /// let mut items = reader.into_item_stream();
    /// let first = items.next().await;
    /// let (reader, unread) = items.into_inner();
    /// // `unread` holds the rest of the batch that `first` came from.
    /// # }
    /// ```
    #[must_use = "dropping the parts drops the unread items"]
    pub fn into_inner(self) -> (Option<StreamReader<T>>, Vec<T>) {
        self.buffer.into_parts()
    }
}

impl<T: Send + 'static> Stream for ItemStream<T> {
    type Item = T;

    /// Returns `Ready(Some(item))` while items are buffered or arrive, `Ready(None)` once
    /// the writer dropped its end (and forever after), `Pending` while a read waits (only
    /// the most recent waker is woken).
    #[inline]
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let buffer = &mut self.buffer;
        if let Some(item) = buffer.items().next() {
            return Poll::Ready(Some(item));
        }
        if core::task::ready!(buffer.poll_read_batch(cx)) {
            return Poll::Ready(buffer.items().next());
        }
        Poll::Ready(None)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let buffered = self.buffer.buffered();
        (buffered, self.buffer.writer_gone().then_some(buffered))
    }
}

impl<T: Send + 'static> FusedStream for ItemStream<T> {
    fn is_terminated(&self) -> bool {
        self.buffer.ended()
    }
}

impl<T: Send + 'static> fmt::Debug for ItemStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream")
            .field("buffered", &self.buffer.buffered())
            .field("reading", &self.buffer.in_flight())
            .field("ended", &self.buffer.ended())
            .finish()
    }
}
