use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_sink::Sink;
use wit_bindgen::StreamWriter;

use super::read_buffer::clamp_capacity;
use super::write_driver::{WriteDriver, Written};
use crate::error::SinkError;

/// Items buffered before a write unless [`StreamSink::with_capacity`] says otherwise.
pub const DEFAULT_SINK_CAPACITY: usize = 4096;

/// A component-model `stream<T>` writer as a [`Sink`].
///
/// Created by [`StreamWriterExt::into_sink`](super::StreamWriterExt::into_sink). Accepted
/// items are buffered (up to [`DEFAULT_SINK_CAPACITY`] unless set with
/// [`with_capacity`](Self::with_capacity)) and written in batches; one batch can be in
/// flight while the next fills, and the buffers are reused, so a steady stream allocates
/// nothing per item.
///
/// - `poll_ready` applies backpressure: `Pending` while the buffer is full and the batch in
///   flight is not yet taken by the reader.
/// - `poll_flush` resolves once every accepted item was taken by the reader.
/// - `poll_close` flushes, then drops the writer: the reader sees the end of the stream.
///
/// If the reader drops its end, the sink fails with a [`SinkError`] that carries every
/// accepted item the reader did not take, in order (partial writes counted exactly). The
/// failure is reported by the next call that can carry items back: `start_send` (its item
/// is added at the end), `poll_flush` or `poll_close`. `poll_ready` never fails, so
/// `SinkExt::send`, `feed`, `send_all` and `StreamExt::forward`, which hold an item while
/// they wait for `poll_ready`, never drop one. `Unpin` and `Send` (`T: Send`).
///
/// # Cancel safety
///
/// The sink's own polls are cancel-safe: dropping a `Flush` or `Close` future leaves the
/// accepted items in the sink. futures-util's `Send` / `Feed` futures hold their item while
/// `poll_ready` is `Pending` and drop it if dropped then; use [`push`](Self::push) + `flush`
/// (or [`forward`](super::forward)) where that matters. Dropping the sink itself drops the items it had not yet written
/// (a write in flight is cancelled); [`into_inner`](Self::into_inner) gives them back instead.
///
/// # Examples
///
/// ```no_run
/// use futures::SinkExt;
/// use wit_futures::prelude::*;
/// # async fn example(writer: wit_bindgen::StreamWriter<u32>) {
/// let mut sink = writer.into_sink();
/// for i in 0..10 {
///     if let Err(e) = sink.feed(i).await {
///         println!("reader gone; {} items came back", e.into_unsent().len());
///         return;
///     }
/// }
/// sink.close().await.unwrap(); // flushes, then the reader sees the end
/// # }
/// ```
#[must_use = "sinks do nothing unless polled; dropping one drops the items it holds"]
pub struct StreamSink<T: Send + 'static> {
    state: SinkState<T>,
    /// Accepted items not yet handed to a write.
    buffer: Vec<T>,
    /// What becomes of a written batch's buffer.
    spare: Spare<T>,
    capacity: usize,
}

/// What becomes of a written batch's buffer, emptied.
enum Spare<T> {
    /// Kept for the next batch (`None` until a write finished): items accepted one by one
    /// fill it without a new `Vec` growing for each batch.
    Keep(Option<Vec<T>>),
    /// Freed at once, for sinks of chunks: each chunk brings its own buffer, and the next
    /// chunk's allocation then reuses the memory just freed while it is still in cache
    /// (keeping one more buffer in rotation cost the chunk sink about 8% of its time).
    Free,
}

enum SinkState<T: Send + 'static> {
    /// Writing: at most one batch in flight, the next one filling in `buffer`.
    Open(WriteDriver<T>),
    /// The reader is gone; holds the items not delivered and not yet handed back in an
    /// error.
    Failed(Vec<T>),
    /// Closed (or taken apart): the writer is gone.
    Closed,
}

// Items are only moved, never pinned.
impl<T: Send> Unpin for StreamSink<T> {}

impl<T: Send + 'static> StreamSink<T> {
    pub(crate) fn new(writer: StreamWriter<T>) -> Self {
        Self::from_parts(writer, Vec::new())
    }

    /// A sink that writes `unsent` first, then what it accepts: the inverse of
    /// [`into_inner`](Self::into_inner), e.g. to go on with a writer kept between export
    /// calls. `unsent` is buffered as it is, even past the capacity.
    ///
    /// ```no_run
    /// use futures::SinkExt;
    /// use wit_futures::stream::StreamSink;
    /// # async fn example(writer: wit_bindgen::StreamWriter<u32>) {
    /// let mut sink = StreamSink::from_parts(writer, vec![1, 2, 3]);
    /// sink.flush().await.unwrap(); // 1, 2, 3 are delivered
    /// # }
    /// ```
    pub fn from_parts(writer: StreamWriter<T>, unsent: Vec<T>) -> Self {
        Self {
            state: SinkState::Open(WriteDriver::new(writer)),
            buffer: unsent,
            spare: Spare::Keep(None),
            capacity: clamp_capacity::<T>(DEFAULT_SINK_CAPACITY),
        }
    }

    /// Frees each written batch's buffer at once instead of keeping it for the next batch:
    /// for sinks of chunks, which bring their own.
    pub(crate) fn free_written_buffers(mut self) -> Self {
        self.spare = Spare::Free;
        self
    }

    /// Sets how many items are buffered before a write (at least 1; at most 16 MiB worth of
    /// `T`).
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(writer: wit_bindgen::StreamWriter<String>) {
    /// let sink = writer.into_sink().with_capacity(16);
    /// # }
    /// ```
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = clamp_capacity::<T>(capacity);
        self
    }

    /// Items accepted and waiting for the next write; a batch in flight is not counted.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Buffers `item` at once, even past the capacity (no backpressure, no waiting), so a
    /// value can be handed to the sink without ever being held by a pending future; write
    /// it with [`flush`](futures_util::SinkExt::flush) or the next batch.
    ///
    /// # Errors
    ///
    /// If the reader is gone or the sink was closed: a [`SinkError`] with every item not
    /// yet handed back, `item` last.
    ///
    /// ```no_run
    /// use futures::SinkExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::FutureReader<u32>, writer: wit_bindgen::StreamWriter<u32>) {
    /// let mut rx = reader.into_oneshot();
    /// let mut sink = writer.into_sink();
    /// // Cancel-safe: until the value arrives it stays in `rx`; then it is in `sink`.
    /// sink.push((&mut rx).await.unwrap()).unwrap();
    /// sink.flush().await.unwrap();
    /// # }
    /// ```
    pub fn push(&mut self, item: T) -> Result<(), SinkError<T>> {
        Pin::new(self).start_send(item)
    }

    /// Stops a write in flight, putting back the items the reader did not take in front of
    /// the buffered ones: afterwards no operation is pending in the component model, and
    /// the next poll writes again. Nothing is lost; does nothing if no write is in flight.
    /// See [`Park`](crate::Park) for why an adapter kept past the end of an export call
    /// must be parked.
    pub fn park(&mut self) {
        if let SinkState::Open(driver) = &mut self.state
            && let Some(written) = driver.cancel()
        {
            let mut unsent = written.unsent;
            unsent.append(&mut self.buffer);
            self.buffer = unsent;
            if written.reader_gone {
                self.fail();
            }
        }
    }

    /// Takes the writer back with every accepted item the reader has not taken, in order.
    /// Never drops an item.
    ///
    /// A write in flight is cancelled; items the reader took before the cancellation are not
    /// returned. The writer is `None` if the sink was closed, or if the reader is gone (the
    /// component model traps on a write after a write reported the reader gone).
    ///
    /// ```no_run
    /// use futures::SinkExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(writer: wit_bindgen::StreamWriter<u32>) {
    /// let mut sink = writer.into_sink();
    /// sink.feed(1).await.unwrap();
    /// let (writer, unsent) = sink.into_inner();
    /// assert_eq!(unsent, [1]);
    /// # }
    /// ```
    #[must_use = "dropping the parts drops the unsent items"]
    pub fn into_inner(self) -> (Option<StreamWriter<T>>, Vec<T>) {
        let Self {
            state, mut buffer, ..
        } = self;
        match state {
            SinkState::Open(driver) => {
                let (writer, last) = driver.into_writer();
                let mut unsent = last.map(|w| w.unsent).unwrap_or_default();
                unsent.append(&mut buffer);
                (writer, unsent)
            }
            SinkState::Failed(mut unreported) => {
                unreported.append(&mut buffer);
                (None, unreported)
            }
            SinkState::Closed => (None, buffer),
        }
    }

    /// Waits until the buffer has room, handing a full buffer to a write; returns the room.
    #[cfg(feature = "http")]
    pub(crate) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, SinkError<T>>> {
        core::task::ready!(Pin::new(&mut *self).poll_ready(cx))?;
        // Failed or closed: nothing more can be written, so there is no room to offer.
        if !matches!(self.state, SinkState::Open(_)) {
            return Poll::Ready(Err(self.take_error()));
        }
        Poll::Ready(Ok(self.capacity.saturating_sub(self.buffer.len())))
    }

    /// The error for a sink that stopped accepting, with the items not yet handed back.
    fn take_error(&mut self) -> SinkError<T> {
        match &mut self.state {
            SinkState::Failed(unreported) => SinkError::new(core::mem::take(unreported)),
            SinkState::Open(_) | SinkState::Closed => SinkError::new(Vec::new()),
        }
    }

    /// Buffers `items`; the caller checked the room with `poll_room`.
    #[cfg(feature = "http")]
    pub(crate) fn extend_from_slice(&mut self, items: &[T])
    where
        T: Copy,
    {
        self.buffer.extend_from_slice(items);
    }

    /// Accepts as many of `items` as fit under the capacity and offers them to the reader
    /// at once, as a socket's write does: every accepted item not yet taken is in the one
    /// write in flight, so it reaches the reader without a flush and without another poll.
    ///
    /// With a write in flight, that write is stopped (keeping exactly what the reader did not
    /// take) and started again with the new items behind the old ones; `Pending` only while
    /// the capacity is taken by items the reader has not taken yet. `Ok(0)` only for empty
    /// `items`. The reader gone is reported as for `poll_room`: by this call if it was known
    /// before, otherwise by the next call.
    pub(crate) fn poll_write_through(
        &mut self,
        cx: &mut Context<'_>,
        items: &[T],
    ) -> Poll<Result<usize, SinkError<T>>>
    where
        T: Copy,
    {
        if items.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            let SinkState::Open(driver) = &mut self.state else {
                return Poll::Ready(Err(self.take_error()));
            };
            if driver.in_flight() {
                if let Poll::Ready(written) = driver.poll_write(cx, &mut None) {
                    self.finish_write(written);
                    continue;
                }
                // Still in flight (and `cx` registered for its end).
                if driver.in_flight_len() + self.buffer.len() >= self.capacity {
                    return Poll::Pending;
                }
                let written = driver.cancel().expect("a write in flight");
                let mut unsent = written.unsent;
                unsent.append(&mut self.buffer);
                self.buffer = unsent;
                if written.reader_gone {
                    self.fail();
                    continue;
                }
            }
            let n = items
                .len()
                .min(self.capacity.saturating_sub(self.buffer.len()));
            self.buffer.extend_from_slice(&items[..n]);
            self.start_write(cx);
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
            // Over capacity with what was there before (`from_parts`): wait for the write
            // just started, unless it already finished.
            match &self.state {
                SinkState::Open(driver) if driver.in_flight() => return Poll::Pending,
                _ => {}
            }
        }
    }

    /// For [`ChunkSink`](super::ChunkSink): `Ready` once a new chunk can be taken, handing a
    /// buffered chunk to a write first (one chunk in flight, one waiting).
    pub(crate) fn poll_ready_for_chunk(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if matches!(self.state, SinkState::Open(_)) && !self.buffer.is_empty() {
            core::task::ready!(self.poll_idle(cx));
            self.start_write(cx);
        }
        Poll::Ready(())
    }

    /// For [`ChunkSink`](super::ChunkSink): takes `chunk` as the buffer (no copy if the buffer
    /// is empty), or refuses it if the sink stopped accepting.
    pub(crate) fn push_chunk(&mut self, mut chunk: Vec<T>) -> Result<(), SinkError<T>> {
        if !matches!(self.state, SinkState::Open(_)) {
            let mut error = self.take_error();
            error.extend(chunk);
            return Err(error);
        }
        if self.buffer.is_empty() {
            self.buffer = chunk;
        } else {
            self.buffer.append(&mut chunk);
        }
        Ok(())
    }

    /// Waits until no write is in flight (or the reader is gone).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let SinkState::Open(driver) = &mut self.state
            && driver.in_flight()
        {
            let written = core::task::ready!(driver.poll_write(cx, &mut None));
            self.finish_write(written);
        }
        Poll::Ready(())
    }

    /// Starts writing the buffer if the sink is open, with the spare buffer (if kept) to
    /// fill meanwhile. No write may be in flight.
    fn start_write(&mut self, cx: &mut Context<'_>) {
        let SinkState::Open(driver) = &mut self.state else {
            return;
        };
        let next = match &mut self.spare {
            Spare::Keep(spare) => spare.take().unwrap_or_default(),
            Spare::Free => Vec::new(),
        };
        let mut batch = Some(core::mem::replace(&mut self.buffer, next));
        if let Poll::Ready(written) = driver.poll_write(cx, &mut batch) {
            self.finish_write(written);
        }
    }

    /// `poll_ready` with a full buffer: waits for the batch in flight, then hands this one to
    /// a write. Out of line so that the per-item path inlines into the caller's loop.
    #[inline(never)]
    fn poll_ready_full(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SinkError<T>>> {
        core::task::ready!(self.poll_idle(cx));
        self.start_write(cx);
        Poll::Ready(Ok(()))
    }

    /// `start_send` on a sink that stopped accepting: the error, with `item` last.
    #[cold]
    #[inline(never)]
    fn refuse(&mut self, item: T) -> SinkError<T> {
        let mut error = self.take_error();
        error.push(item);
        error
    }

    /// The reader is gone: everything accepted and not taken is kept to be handed back.
    fn fail(&mut self) {
        let unreported = core::mem::take(&mut self.buffer);
        self.state = SinkState::Failed(unreported);
    }

    fn finish_write(&mut self, written: Written<T>) {
        if written.reader_gone {
            // The rest of the failed batch, then the buffer, in order.
            let mut unsent = written.unsent;
            unsent.append(&mut self.buffer);
            self.buffer = unsent;
            self.fail();
        } else {
            debug_assert!(written.unsent.is_empty());
            if let Spare::Keep(spare) = &mut self.spare {
                *spare = Some(written.unsent);
            }
        }
    }
}

impl<T: Send + 'static> Sink<T> for StreamSink<T> {
    type Error = SinkError<T>;

    /// `Ready(Ok(()))` while the buffer has room, once a full buffer could be handed to a
    /// write, or once the reader is gone or the sink closed (the error comes from the next
    /// call that can carry items back); `Pending` otherwise. Never `Ready(Err(_))`.
    #[inline]
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        // A failed or closed sink holds no buffer: its callers get through to `start_send`.
        if this.buffer.len() < this.capacity {
            return Poll::Ready(Ok(()));
        }
        this.poll_ready_full(cx)
    }

    /// Buffers `item`. If the reader is gone (or the sink was closed), fails with every item
    /// not yet handed back, `item` last.
    #[inline]
    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if let SinkState::Open(_) = this.state {
            this.buffer.push(item);
            return Ok(());
        }
        Err(this.refuse(item))
    }

    /// `Ready(Ok(()))` once the reader took every accepted item, `Ready(Err(_))` with the
    /// items it did not take if it is gone, `Pending` otherwise.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        loop {
            core::task::ready!(this.poll_idle(cx));
            match this.state {
                SinkState::Failed(_) => return Poll::Ready(Err(this.take_error())),
                SinkState::Closed => return Poll::Ready(Ok(())),
                SinkState::Open(_) if this.buffer.is_empty() => return Poll::Ready(Ok(())),
                SinkState::Open(_) => this.start_write(cx),
            }
        }
    }

    /// Flushes, then drops the writer so the reader sees the end of the stream. If the
    /// reader is gone, drops the writer and fails with the items not yet handed back (if
    /// there are none, succeeds).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let flushed = core::task::ready!(Pin::new(&mut *this).poll_flush(cx));
        // Dropping the driver drops the writer: the reader sees the end.
        this.state = SinkState::Closed;
        Poll::Ready(match flushed {
            Err(e) if e.unsent().is_empty() => Ok(()),
            other => other,
        })
    }
}

impl<T: Send + 'static> fmt::Debug for StreamSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            SinkState::Open(driver) if driver.in_flight() => "writing",
            SinkState::Open(_) => "open",
            SinkState::Failed(_) => "reader gone",
            SinkState::Closed => "closed",
        };
        f.debug_struct("StreamSink")
            .field("state", &state)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}
