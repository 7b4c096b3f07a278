use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_channel::oneshot;
use futures_core::future::FusedFuture;
use futures_io::AsyncRead;
use wasmtime::component::{Destination, StreamProducer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

use super::HOST_READ_BYTES;
use crate::fused_receiver::FusedReceiver;

/// A `stream<u8>` for the guest whose bytes are read from `reader`, and a future of how
/// that ended: see [`FromAsyncRead`].
///
/// # Errors
///
/// Whatever wasmtime's `StreamReader::new` reports.
///
/// # Examples
///
/// ```no_run
/// use wit_futures_wasmtime::stream::{ReadOutcome, from_async_read};
/// # async fn example<D: 'static>(store: wasmtime::StoreContextMut<'_, D>) -> wasmtime::Result<()> {
/// let file = futures::io::Cursor::new(vec![0u8; 1 << 20]);
/// let (bytes, done) = from_async_read(store, file)?;
/// // ... pass `bytes` to a guest export, run the store's event loop ...
/// match done.await {
///     ReadOutcome::Finished(n) => println!("the guest read all {n} bytes"),
///     ReadOutcome::GuestLeft(n) => println!("the guest stopped after {n} bytes"),
///     ReadOutcome::Failed(e, n) => println!("reading failed after {n} bytes: {e}"),
/// }
/// # Ok(())
/// # }
/// ```
pub fn from_async_read<R, D>(
    store: impl AsContextMut<Data = D>,
    reader: R,
) -> wasmtime::Result<(StreamReader<u8>, ReadDone)>
where
    R: AsyncRead + Unpin + Send + 'static,
    D: 'static,
{
    let (producer, done) = FromAsyncRead::new(reader);
    Ok((StreamReader::new(store, producer)?, done))
}

/// Any [`AsyncRead`] as the producer of a component-model `stream<u8>`.
///
/// Made by [`from_async_read`] (or [`FromAsyncRead::new`], for wasmtime's
/// `StreamReader::new`). Each read of the guest reads `reader` straight into the guest's
/// buffer (no copy in between), for at most as many bytes as the guest asked for, so the
/// guest's reads are the backpressure. `Ok(0)` from `reader` ends the stream.
///
/// An I/O error (or a reader claiming more bytes than it had room for) does not trap the
/// guest: the stream ends, and the error goes to the [`ReadDone`] future, which also tells
/// whether the guest read to the end or dropped its reader first (wasmtime then drops this
/// producer and `reader` with it).
pub struct FromAsyncRead<R> {
    reader: R,
    /// Bytes handed to the guest.
    total: u64,
    /// Told how the transfer ended; `None` once told.
    done: Option<oneshot::Sender<ReadOutcome>>,
}

impl<R> FromAsyncRead<R> {
    /// The producer of `reader`'s bytes, and the future of how the transfer ends.
    pub fn new(reader: R) -> (Self, ReadDone) {
        let (tx, rx) = oneshot::channel();
        let producer = Self {
            reader,
            total: 0,
            done: Some(tx),
        };
        (
            producer,
            ReadDone {
                rx: FusedReceiver::new(rx),
            },
        )
    }

    fn finish(&mut self, outcome: ReadOutcome) {
        if let Some(done) = self.done.take() {
            // Nobody is waiting for the outcome: that is the caller's choice.
            let _ = done.send(outcome);
        }
    }
}

impl<R> Drop for FromAsyncRead<R> {
    fn drop(&mut self) {
        let total = self.total;
        self.finish(ReadOutcome::GuestLeft(total));
    }
}

impl<R, D> StreamProducer<D> for FromAsyncRead<R>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    type Item = u8;
    type Buffer = Option<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, D>,
        destination: Destination<'a, u8, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        let capacity = match destination.remaining(&mut store) {
            // Asked whether the stream is ready: it may be; the next read will tell.
            Some(0) => return Poll::Ready(Ok(StreamResult::Completed)),
            Some(room) => room,
            None => HOST_READ_BYTES,
        };
        let mut direct = destination.as_direct(store, capacity);
        loop {
            match Pin::new(&mut me.reader).poll_read(cx, direct.remaining()) {
                Poll::Ready(Ok(0)) => {
                    let total = me.total;
                    me.finish(ReadOutcome::Finished(total));
                    return Poll::Ready(Ok(StreamResult::Dropped));
                }
                Poll::Ready(Ok(n)) if n > direct.remaining().len() => {
                    let total = me.total;
                    let e = io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the reader claims to have read more than it was given room for",
                    );
                    me.finish(ReadOutcome::Failed(e, total));
                    return Poll::Ready(Ok(StreamResult::Dropped));
                }
                Poll::Ready(Ok(n)) => {
                    direct.mark_written(n);
                    me.total += n as u64;
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => {
                    let total = me.total;
                    me.finish(ReadOutcome::Failed(e, total));
                    return Poll::Ready(Ok(StreamResult::Dropped));
                }
                Poll::Pending if finish => return Poll::Ready(Ok(StreamResult::Cancelled)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<R> fmt::Debug for FromAsyncRead<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromAsyncRead")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// How a [`FromAsyncRead`] transfer ended, with the bytes handed to the guest.
#[derive(Debug)]
#[must_use = "a ReadOutcome may carry an I/O error"]
pub enum ReadOutcome {
    /// The reader reached its end and the guest got every byte.
    Finished(u64),
    /// The guest dropped its reader (or the store went away) before the end.
    GuestLeft(u64),
    /// Reading failed; the guest's stream ended there.
    Failed(io::Error, u64),
}

/// Future of a [`FromAsyncRead`] transfer's [`ReadOutcome`]. Fused; `Unpin`.
///
/// It resolves once the reader ended or failed, or once wasmtime dropped the producer (the
/// guest dropped its reader, or the store was dropped).
///
/// # Cancel safety
///
/// Polling `&mut` it is cancel-safe: the outcome waits in it. Dropping it changes nothing
/// in the transfer.
#[must_use = "a ReadDone reports I/O errors; dropping it ignores them"]
pub struct ReadDone {
    rx: FusedReceiver<ReadOutcome>,
}

impl Future for ReadDone {
    type Output = ReadOutcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ReadOutcome> {
        // The producer always reports before it goes away.
        self.rx
            .poll(cx)
            .map(|outcome| outcome.unwrap_or(ReadOutcome::GuestLeft(0)))
    }
}

impl FusedFuture for ReadDone {
    fn is_terminated(&self) -> bool {
        self.rx.is_terminated()
    }
}

impl fmt::Debug for ReadDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDone")
            .field("done", &self.rx.is_terminated())
            .finish()
    }
}
