use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_sink::Sink;
use wit_bindgen::StreamWriter;

use super::stream_sink::StreamSink;
use crate::error::SinkError;

/// A component-model `stream<T>` writer as a [`Sink`] of batches (`Vec<T>`), each written
/// whole, without copying.
///
/// Created by [`StreamWriterExt::into_chunk_sink`](super::StreamWriterExt::into_chunk_sink);
/// the counterpart of [`ChunkStream`](super::ChunkStream), for callers that produce items in
/// bulk. One chunk can be in flight while the next waits; `poll_ready` is `Pending` while
/// both slots are taken (backpressure). `poll_flush`, `poll_close` and the error on a
/// dropped reader behave as [`StreamSink`]'s: the [`SinkError`] carries every item not
/// delivered, in order, and `poll_ready` never fails. `Unpin`, `Send` (`T: Send`).
///
/// # Cancel safety
///
/// Every poll is cancel-safe; [`into_inner`](Self::into_inner) gives back the writer with
/// every item not yet delivered.
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
/// use wit_futures::prelude::*;
/// # async fn example(reader: wit_bindgen::StreamReader<u32>, writer: wit_bindgen::StreamWriter<u32>) {
/// // Copy batch by batch: no per-item work at all.
/// let chunks = reader.into_chunk_stream();
/// wit_futures::stream::forward(chunks, writer.into_chunk_sink()).await.unwrap();
/// # }
/// ```
#[must_use = "sinks do nothing unless polled; dropping one drops the items it holds"]
pub struct ChunkSink<T: Send + 'static> {
    sink: StreamSink<T>,
}

impl<T: Send + 'static> ChunkSink<T> {
    pub(crate) fn new(writer: StreamWriter<T>) -> Self {
        Self {
            sink: StreamSink::new(writer).free_written_buffers(),
        }
    }

    /// A chunk sink that writes `unsent` first: the inverse of
    /// [`into_inner`](Self::into_inner).
    pub fn from_parts(writer: StreamWriter<T>, unsent: Vec<T>) -> Self {
        Self {
            sink: StreamSink::from_parts(writer, unsent).free_written_buffers(),
        }
    }

    /// Stops a write in flight, keeping what the reader did not take; see
    /// [`StreamSink::park`].
    pub fn park(&mut self) {
        self.sink.park();
    }

    /// Takes the writer back with every item not yet delivered, in order. Never drops an
    /// item. The writer is `None` if the sink was closed or the reader is gone.
    #[must_use = "dropping the parts drops the unsent items"]
    pub fn into_inner(self) -> (Option<StreamWriter<T>>, Vec<T>) {
        self.sink.into_inner()
    }
}

impl<T: Send + 'static> Sink<Vec<T>> for ChunkSink<T> {
    type Error = SinkError<T>;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.sink.poll_ready_for_chunk(cx).map(Ok)
    }

    /// Takes `chunk` for writing. Fails, with every item not yet handed back (`chunk`'s
    /// last), if the reader is gone or the sink closed.
    fn start_send(mut self: Pin<&mut Self>, chunk: Vec<T>) -> Result<(), Self::Error> {
        self.sink.push_chunk(chunk)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.sink).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.sink).poll_close(cx)
    }
}

impl<T: Send + 'static> fmt::Debug for ChunkSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSink")
            .field("sink", &self.sink)
            .finish()
    }
}
