use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use wit_bindgen::StreamReader;

use super::item_stream::DEFAULT_CAPACITY;
use super::read_buffer::ReadBuffer;

/// A component-model `stream<T>` as a [`Stream`] of batches: each item is a non-empty
/// `Vec<T>` holding what one read returned (at most the capacity).
///
/// Created by [`StreamReaderExt::into_chunk_stream`](super::StreamReaderExt::into_chunk_stream).
/// For callers that process items in bulk; each batch is a new `Vec` the caller owns (one
/// allocation per batch). Ends when the writer drops its end; [`FusedStream`]. `Unpin`, and
/// `Send` (`T: Send`).
///
/// # Cancel safety
///
/// `next()` is cancel-safe: a dropped `Next` leaves the read in flight, and its batch comes
/// out of the next poll. [`park`](Self::park) stops a read in flight and keeps what raced
/// in; [`into_inner`](Self::into_inner) cancels it and returns what raced in.
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
#[must_use = "streams do nothing unless polled; dropping one drops the items it read"]
pub struct ChunkStream<T: Send + 'static> {
    buffer: ReadBuffer<T>,
}

// Items are only moved, never pinned.
impl<T: Send> Unpin for ChunkStream<T> {}

impl<T: Send + 'static> ChunkStream<T> {
    pub(crate) fn new(reader: StreamReader<T>) -> Self {
        Self {
            buffer: ReadBuffer::new(reader, DEFAULT_CAPACITY),
        }
    }

    /// A chunk stream whose first batch is `unread` (if not empty), then reads `reader`:
    /// the inverse of [`into_inner`](Self::into_inner).
    pub fn from_parts(reader: StreamReader<T>, unread: Vec<T>) -> Self {
        Self {
            buffer: ReadBuffer::from_parts(reader, unread, DEFAULT_CAPACITY),
        }
    }

    /// Sets the most items one batch holds (at least 1; at most 16 MiB worth of `T`), from
    /// the next read on.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.buffer.set_capacity(capacity);
        self
    }

    /// Stops a read in flight, keeping the items that raced in as the next batch; see
    /// [`ItemStream::park`](super::ItemStream::park).
    pub fn park(&mut self) {
        self.buffer.park();
    }

    /// Takes the reader back, with the items of a read in flight that raced in before it was
    /// cancelled (and a batch kept by [`park`](Self::park)). Never drops an item. The reader
    /// is `None` once the writer is gone (reading it again would trap).
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::StreamReader<u32>) {
    /// let (reader, raced_in) = reader.into_chunk_stream().into_inner();
    /// # }
    /// ```
    #[must_use = "dropping the parts drops the unread items"]
    pub fn into_inner(self) -> (Option<StreamReader<T>>, Vec<T>) {
        self.buffer.into_parts()
    }
}

impl<T: Send + 'static> Stream for ChunkStream<T> {
    type Item = Vec<T>;

    /// Returns `Ready(Some(batch))` when a read returns items, `Ready(None)` once the writer
    /// dropped its end (and forever after), `Pending` while a read waits (only the most
    /// recent waker is woken).
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<T>>> {
        let buffer = &mut self.buffer;
        if core::task::ready!(buffer.poll_fill(cx)) {
            // The batch's allocation goes to the caller (collecting an iterator that was
            // not advanced gives its `Vec` back without a copy).
            return Poll::Ready(Some(core::mem::take(buffer.items()).collect()));
        }
        Poll::Ready(None)
    }
}

impl<T: Send + 'static> FusedStream for ChunkStream<T> {
    fn is_terminated(&self) -> bool {
        self.buffer.ended()
    }
}

impl<T: Send + 'static> fmt::Debug for ChunkStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkStream")
            .field("reading", &self.buffer.in_flight())
            .field("ended", &self.buffer.ended())
            .finish()
    }
}
