use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use wit_bindgen::{StreamReader, StreamResult};

use super::read_driver::ReadDriver;

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
/// [`with_capacity`](Self::with_capacity)) and hands the items out one by one: the buffer is
/// reused, so a steady stream allocates nothing per item. Ends (`None`) when the writer
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
pub struct ItemStream<T: Send + 'static> {
    driver: Option<ReadDriver<T>>,
    /// Items read and not yet handed out, in reverse order: handing one out is a `pop`, and
    /// the emptied buffer is the next read's buffer (no allocation per read or per item).
    items: Vec<T>,
    capacity: usize,
    /// A read reported the writer gone; `items` may still hold the last batch.
    ended: bool,
}

// Items are only moved, never pinned.
impl<T: Send> Unpin for ItemStream<T> {}

impl<T: Send + 'static> ItemStream<T> {
    pub(crate) fn new(reader: StreamReader<T>) -> Self {
        Self {
            driver: Some(ReadDriver::new(reader)),
            items: Vec::new(),
            capacity: DEFAULT_CAPACITY,
            ended: false,
        }
    }

    /// Sets how many items each read asks for (at least 1), from the next read on.
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::StreamReader<String>) {
    /// let lines = reader.into_item_stream().with_capacity(64);
    /// # }
    /// ```
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Items read from the component stream and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.items.len()
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
    pub fn into_inner(mut self) -> (Option<StreamReader<T>>, Vec<T>) {
        let driver = self.driver.take().expect("ItemStream without its driver");
        let (reader, last) = driver.into_reader();
        let mut unread = core::mem::take(&mut self.items);
        unread.reverse();
        if let Some((_, raced_in)) = last {
            unread.extend(raced_in);
        }
        (reader, unread)
    }
}

impl<T: Send + 'static> ItemStream<T> {
    /// The buffer is empty: reads the next batch (or reports the end). Kept out of line so
    /// that `poll_next`'s per-item path stays small enough to inline into the caller's loop.
    #[inline(never)]
    fn poll_read_batch(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            if let Some(item) = self.items.pop() {
                return Poll::Ready(Some(item));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            let driver = self.driver.as_mut().expect("ItemStream without its driver");
            let mut buf = None;
            if !driver.in_flight() {
                let mut next = core::mem::take(&mut self.items);
                if next.capacity() > self.capacity {
                    next.shrink_to(self.capacity);
                }
                next.reserve_exact(self.capacity);
                buf = Some(next);
            }
            let (result, mut read) = core::task::ready!(driver.poll_read(cx, &mut buf));
            // A read can complete with zero items; the loop then reads again.
            self.ended = matches!(result, StreamResult::Dropped);
            read.reverse();
            self.items = read;
        }
    }
}

impl<T: Send + 'static> Stream for ItemStream<T> {
    type Item = T;

    /// Returns `Ready(Some(item))` while items are buffered or arrive, `Ready(None)` once
    /// the writer dropped its end (and forever after), `Pending` while a read waits (only
    /// the most recent waker is woken).
    #[inline]
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.items.pop() {
            Some(item) => Poll::Ready(Some(item)),
            None => self.poll_read_batch(cx),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let buffered = self.items.len();
        (buffered, self.ended.then_some(buffered))
    }
}

impl<T: Send + 'static> FusedStream for ItemStream<T> {
    fn is_terminated(&self) -> bool {
        self.ended && self.items.is_empty()
    }
}

impl<T: Send + 'static> fmt::Debug for ItemStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream")
            .field("buffered", &self.items.len())
            .field(
                "reading",
                &self.driver.as_ref().is_some_and(|d| d.in_flight()),
            )
            .field("ended", &self.ended)
            .finish()
    }
}
