use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_io::{AsyncBufRead, AsyncRead};
use wit_bindgen::{StreamReader, StreamResult};

use super::read_driver::ReadDriver;

/// Bytes read per batch unless [`ByteReader::with_capacity`] says otherwise.
pub const DEFAULT_BYTE_CAPACITY: usize = 64 * 1024;

/// A component-model `stream<u8>` as [`AsyncRead`] and [`AsyncBufRead`].
///
/// Created by [`ByteStreamReaderExt::into_async_read`](super::ByteStreamReaderExt::into_async_read).
/// Reads in batches of up to [`DEFAULT_BYTE_CAPACITY`] bytes into one reused buffer.
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
pub struct ByteReader {
    driver: Option<ReadDriver<u8>>,
    /// The last batch; bytes before `pos` were consumed.
    buf: Vec<u8>,
    pos: usize,
    capacity: usize,
    ended: bool,
}

impl ByteReader {
    pub(crate) fn new(reader: StreamReader<u8>) -> Self {
        Self {
            driver: Some(ReadDriver::new(reader)),
            buf: Vec::new(),
            pos: 0,
            capacity: DEFAULT_BYTE_CAPACITY,
            ended: false,
        }
    }

    /// Sets the most bytes one read asks for (at least 1), from the next read on.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
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
    pub fn into_inner(mut self) -> (Option<StreamReader<u8>>, Vec<u8>) {
        let driver = self.driver.take().expect("ByteReader without its driver");
        let (reader, last) = driver.into_reader();
        let mut unconsumed = self.buf.split_off(self.pos);
        if let Some((_, raced_in)) = last {
            unconsumed.extend_from_slice(&raced_in);
        }
        (reader, unconsumed)
    }

    /// Polls until the buffer holds unconsumed bytes or the stream ended.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.pos == self.buf.len() && !self.ended {
            let driver = self.driver.as_mut().expect("ByteReader without its driver");
            let mut next = None;
            if !driver.in_flight() {
                let mut buf = core::mem::take(&mut self.buf);
                buf.clear();
                self.pos = 0;
                if buf.capacity() > self.capacity {
                    buf.shrink_to(self.capacity);
                }
                buf.reserve_exact(self.capacity);
                next = Some(buf);
            }
            let (result, buf) = core::task::ready!(driver.poll_read(cx, &mut next));
            self.ended = matches!(result, StreamResult::Dropped);
            self.buf = buf;
            self.pos = 0;
        }
        Poll::Ready(())
    }
}

impl AsyncRead for ByteReader {
    /// Copies buffered bytes into `out`, reading a batch first if none are buffered.
    /// `Ready(Ok(0))` only at the end of the stream (or for an empty `out`).
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let available = core::task::ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

impl AsyncBufRead for ByteReader {
    /// Lends the unconsumed bytes of the current batch, reading a batch first if none are
    /// left; an empty slice means the end of the stream.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        core::task::ready!(this.poll_fill(cx));
        Poll::Ready(Ok(&this.buf[this.pos..]))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        self.pos = (self.pos + amt).min(self.buf.len());
    }
}

impl fmt::Debug for ByteReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteReader")
            .field("buffered", &(self.buf.len() - self.pos))
            .field(
                "reading",
                &self.driver.as_ref().is_some_and(|d| d.in_flight()),
            )
            .field("ended", &self.ended)
            .finish()
    }
}
