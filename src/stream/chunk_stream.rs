use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use wit_bindgen::{StreamReader, StreamResult};

use super::item_stream::DEFAULT_CAPACITY;
use super::read_driver::ReadDriver;

/// A component-model `stream<T>` as a [`Stream`] of batches: each item is a non-empty
/// `Vec<T>` holding what one read returned (at most the capacity).
///
/// Created by [`StreamReaderExt::into_chunk_stream`](super::StreamReaderExt::into_chunk_stream).
/// For callers that process items in bulk; each batch is a fresh `Vec` the caller owns.
/// Ends when the writer drops its end; [`FusedStream`]. `Unpin`, and `Send` (`T: Send`).
///
/// # Cancel safety
///
/// `next()` is cancel-safe: a dropped `Next` leaves the read in flight, and its batch comes
/// out of the next poll. [`into_inner`](Self::into_inner) cancels a read in flight and returns
/// what raced in.
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
/// use wit_futures::prelude::*;
/// # async fn example(reader: wit_bindgen::StreamReader<u8>) {
/// let mut chunks = reader.into_chunk_stream().with_capacity(64 * 1024);
/// while let Some(chunk) = chunks.next().await {
///     println!("{} bytes", chunk.len());
/// }
/// # }
/// ```
pub struct ChunkStream<T: Send + 'static> {
    driver: Option<ReadDriver<T>>,
    capacity: usize,
    ended: bool,
}

// Items are only moved, never pinned.
impl<T: Send> Unpin for ChunkStream<T> {}

impl<T: Send + 'static> ChunkStream<T> {
    pub(crate) fn new(reader: StreamReader<T>) -> Self {
        Self {
            driver: Some(ReadDriver::new(reader)),
            capacity: DEFAULT_CAPACITY,
            ended: false,
        }
    }

    /// Sets the most items one batch holds (at least 1), from the next read on.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Takes the reader back, with the items of a read in flight that raced in before it was
    /// cancelled. Never drops an item. The reader is `None` once the writer is gone (reading
    /// it again would trap).
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::StreamReader<u32>) {
    /// let (reader, raced_in) = reader.into_chunk_stream().into_inner();
    /// # }
    /// ```
    pub fn into_inner(mut self) -> (Option<StreamReader<T>>, Vec<T>) {
        let driver = self.driver.take().expect("ChunkStream without its driver");
        let (reader, last) = driver.into_reader();
        (reader, last.map(|(_, items)| items).unwrap_or_default())
    }
}

impl<T: Send + 'static> Stream for ChunkStream<T> {
    type Item = Vec<T>;

    /// Returns `Ready(Some(batch))` when a read returns items, `Ready(None)` once the writer
    /// dropped its end (and forever after), `Pending` while a read waits (only the most
    /// recent waker is woken).
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<T>>> {
        let this = &mut *self;
        while !this.ended {
            let driver = this
                .driver
                .as_mut()
                .expect("ChunkStream without its driver");
            let mut buf = (!driver.in_flight()).then(|| Vec::with_capacity(this.capacity));
            let (result, batch) = core::task::ready!(driver.poll_read(cx, &mut buf));
            this.ended = matches!(result, StreamResult::Dropped);
            if !batch.is_empty() {
                return Poll::Ready(Some(batch));
            }
        }
        Poll::Ready(None)
    }
}

impl<T: Send + 'static> FusedStream for ChunkStream<T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T: Send + 'static> fmt::Debug for ChunkStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkStream")
            .field(
                "reading",
                &self.driver.as_ref().is_some_and(|d| d.in_flight()),
            )
            .field("ended", &self.ended)
            .finish()
    }
}
