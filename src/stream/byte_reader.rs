use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_io::{AsyncBufRead, AsyncRead};
use wit_bindgen::StreamReader;

use super::read_buffer::ReadBuffer;

/// Bytes read per batch unless [`ByteReader::with_capacity`] says otherwise.
pub const DEFAULT_BYTE_CAPACITY: usize = 64 * 1024;

/// A component-model `stream<u8>` as [`AsyncRead`] and [`AsyncBufRead`].
///
/// Created by [`ByteStreamReaderExt::into_async_read`](super::ByteStreamReaderExt::into_async_read).
/// Reads in batches of up to [`DEFAULT_BYTE_CAPACITY`] bytes (the first reads ask for less
/// and grow while the writer has more), one allocation per batch.
/// `poll_read` copies out of that buffer; `poll_fill_buf` / `consume` lend it without a copy.
/// `Ok(0)` means the writer dropped its end (a read that completes with zero bytes is not
/// reported: the reader reads again). `Unpin` and `Send`.
///
/// # Cancel safety
///
/// Every poll is cancel-safe: a read in flight stays in flight and bytes already read stay in
/// the buffer. [`into_inner`](Self::into_inner) cancels a read in flight and returns the reader
/// with every byte read and not yet consumed.
///
/// # Examples
///
/// ```no_run
/// use futures::io::{AsyncBufReadExt, BufReader};
/// use futures::StreamExt;
/// use wit_futures::prelude::*;
/// # async fn example(reader: wit_bindgen::StreamReader<u8>) {
/// let mut lines = reader.into_async_read().lines();
/// while let Some(line) = lines.next().await {
///     println!("{}", line.unwrap());
/// }
/// # }
/// ```
#[must_use = "readers do nothing unless read; dropping one drops the bytes it read"]
pub struct ByteReader {
    buffer: ReadBuffer<u8>,
}

impl ByteReader {
    pub(crate) fn new(reader: StreamReader<u8>) -> Self {
        Self {
            buffer: ReadBuffer::new(reader, DEFAULT_BYTE_CAPACITY),
        }
    }

    /// A byte reader that yields `unconsumed` first, then reads `reader`: the inverse of
    /// [`into_inner`](Self::into_inner).
    pub fn from_parts(reader: StreamReader<u8>, unconsumed: Vec<u8>) -> Self {
        Self {
            buffer: ReadBuffer::from_parts(reader, unconsumed, DEFAULT_BYTE_CAPACITY),
        }
    }

    /// Sets the most bytes one read asks for (at least 1, at most 16 MiB), from the next
    /// read on.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.buffer.set_capacity(capacity);
        self
    }

    /// Stops a read in flight, keeping the bytes that raced in; see
    /// [`ItemStream::park`](super::ItemStream::park).
    pub fn park(&mut self) {
        self.buffer.park();
    }

    /// Takes the reader back with every byte read and not yet consumed, including bytes of a
    /// read in flight that raced in before it was cancelled. Never drops a byte. The reader is
    /// `None` once the writer is gone (reading it again would trap).
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::StreamReader<u8>) {
    /// let (reader, unconsumed) = reader.into_async_read().into_inner();
    /// # }
    /// ```
    #[must_use = "dropping the parts drops the unconsumed bytes"]
    pub fn into_inner(self) -> (Option<StreamReader<u8>>, Vec<u8>) {
        self.buffer.into_parts()
    }
}

impl ByteReader {
    /// The unconsumed bytes of the current batch, reading a batch first if none are left;
    /// empty at the end of the stream. Shared by the futures-io and tokio impls.
    pub(crate) fn poll_bytes(&mut self, cx: &mut Context<'_>) -> Poll<&[u8]> {
        core::task::ready!(self.buffer.poll_fill(cx));
        Poll::Ready(self.buffer.items().as_slice())
    }

    /// Marks `amt` bytes of [`poll_bytes`](Self::poll_bytes) consumed.
    pub(crate) fn consume_bytes(&mut self, amt: usize) {
        if amt > 0 {
            // Skips `amt` bytes (or all of them) without touching them.
            self.buffer.items().nth(amt - 1);
        }
    }

    /// Copies buffered bytes into `out`, reading a batch first if none are buffered.
    pub(crate) fn poll_copy(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<usize> {
        if out.is_empty() {
            return Poll::Ready(0);
        }
        let available = core::task::ready!(self.poll_bytes(cx));
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume_bytes(n);
        Poll::Ready(n)
    }
}

impl AsyncRead for ByteReader {
    /// Copies buffered bytes into `out`, reading a batch first if none are buffered.
    /// `Ready(Ok(0))` only at the end of the stream (or for an empty `out`). Never fails.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_copy(cx, out).map(Ok)
    }
}

impl AsyncBufRead for ByteReader {
    /// Lends the unconsumed bytes of the current batch, reading a batch first if none are
    /// left; an empty slice means the end of the stream. Never fails.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_bytes(cx).map(Ok)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_bytes(amt);
    }
}

impl fmt::Debug for ByteReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteReader")
            .field("buffered", &self.buffer.buffered())
            .field("reading", &self.buffer.in_flight())
            .field("ended", &self.buffer.ended())
            .finish()
    }
}
