use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_io::AsyncWrite;
use futures_sink::Sink;
use wit_bindgen::StreamWriter;

use super::stream_sink::StreamSink;
use crate::error::SinkError;

/// Bytes accepted and not yet taken by the reader, at most, unless
/// [`ByteWriter::with_capacity`] says otherwise.
pub const DEFAULT_BYTE_SINK_CAPACITY: usize = 64 * 1024;

/// A component-model `stream<u8>` writer as [`AsyncWrite`], with a socket's write
/// semantics.
///
/// Created by [`ByteStreamWriterExt::into_async_write`](super::ByteStreamWriterExt::into_async_write).
/// Bytes accepted by `poll_write` are on their way to the reader when it returns, as with
/// a TCP socket: no flush is needed for the reader to get them. When no write is in
/// flight, `poll_write` starts one with what it accepted; while one is in flight, it is
/// stopped and started again with the new bytes behind the ones the reader had not taken,
/// so every accepted byte is offered to the reader at all times. `poll_write` waits
/// (`Pending`) only while [`DEFAULT_BYTE_SINK_CAPACITY`] bytes (or
/// [`with_capacity`](Self::with_capacity)) are accepted and not yet taken: that is the
/// backpressure. `poll_flush` resolves once the reader took every byte written so far;
/// `poll_close` flushes and drops the writer, so the reader sees the end.
///
/// Many small writes cost one component-model write each while the reader keeps up
/// (and a stop and restart each while it does not): write whole frames or messages where
/// you can, or put a `BufWriter` in front and flush it at message boundaries.
///
/// If the reader drops its end, the writer fails with an [`io::Error`] of kind
/// [`BrokenPipe`](io::ErrorKind::BrokenPipe) whose inner error is a [`SinkError<u8>`]
/// holding the bytes that were not delivered (`err.into_inner()` and `downcast`).
///
/// # Cancel safety
///
/// Every poll is cancel-safe: bytes accepted by `poll_write` stay in the writer.
/// [`into_inner`](Self::into_inner) gives back the writer and the bytes not yet delivered.
/// Dropping the writer stops its write in flight: bytes the reader had not taken are
/// dropped (close it first, or take them back with `into_inner`).
///
/// # Examples
///
/// ```no_run
/// use futures::io::AsyncWriteExt;
/// use wit_futures::prelude::*;
/// # async fn example(writer: wit_bindgen::StreamWriter<u8>) -> std::io::Result<()> {
/// let mut out = writer.into_async_write();
/// out.write_all(b"hello\n").await?; // on its way to the reader, no flush needed
/// out.close().await?; // every byte taken, then the reader sees the end
/// # Ok(())
/// # }
/// ```
#[must_use = "writers do nothing unless written to; dropping one drops the bytes it holds"]
pub struct ByteWriter {
    sink: StreamSink<u8>,
}

impl ByteWriter {
    pub(crate) fn new(writer: StreamWriter<u8>) -> Self {
        Self::from_parts(writer, Vec::new())
    }

    /// A byte writer that writes `unsent` first: the inverse of
    /// [`into_inner`](Self::into_inner).
    pub fn from_parts(writer: StreamWriter<u8>, unsent: Vec<u8>) -> Self {
        Self {
            sink: StreamSink::from_parts(writer, unsent).with_capacity(DEFAULT_BYTE_SINK_CAPACITY),
        }
    }

    /// Sets how many bytes may be accepted and not yet taken by the reader (at least 1, at
    /// most 16 MiB) before `poll_write` waits.
    pub fn with_capacity(self, capacity: usize) -> Self {
        Self {
            sink: self.sink.with_capacity(capacity),
        }
    }

    /// Stops a write in flight, keeping the bytes the reader did not take; see
    /// [`StreamSink::park`].
    pub fn park(&mut self) {
        self.sink.park();
    }

    /// Takes the writer back with every byte accepted and not yet taken by the reader. Never
    /// drops a byte. The writer is `None` if this was closed or the reader is gone.
    #[must_use = "dropping the parts drops the unsent bytes"]
    pub fn into_inner(self) -> (Option<StreamWriter<u8>>, Vec<u8>) {
        self.sink.into_inner()
    }
}

/// The error for a writer whose reader is gone: `BrokenPipe`, carrying the bytes.
fn io_error(e: SinkError<u8>) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, e)
}

impl ByteWriter {
    /// Accepts as many bytes of `buf` as fit under the capacity and offers them to the
    /// reader at once. Shared by the futures-io and tokio impls.
    pub(crate) fn poll_write_bytes(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.sink.poll_write_through(cx, buf).map_err(io_error)
    }

    /// Resolves once the reader took every byte written so far.
    pub(crate) fn poll_flush_bytes(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sink).poll_flush(cx).map_err(io_error)
    }

    /// Flushes, then drops the writer: the reader sees the end of the stream.
    pub(crate) fn poll_close_bytes(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sink).poll_close(cx).map_err(io_error)
    }
}

impl AsyncWrite for ByteWriter {
    /// Accepts as many bytes of `buf` as fit under the capacity and offers them to the
    /// reader at once; `Pending` while the capacity is taken by bytes the reader has not
    /// taken yet.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_bytes(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_bytes(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_close_bytes(cx)
    }
}

impl fmt::Debug for ByteWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteWriter")
            .field("sink", &self.sink)
            .finish()
    }
}
