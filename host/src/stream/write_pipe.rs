use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_channel::oneshot;
use futures_core::future::FusedFuture;
use futures_io::AsyncWrite;
use wasmtime::component::{Source, StreamConsumer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

/// Pipes the guest's byte stream `reader` into `writer`, writing straight from the guest's
/// buffer; the returned future resolves once the guest closed its stream and `writer` was
/// flushed and closed: see [`WritePipe`].
///
/// # Errors
///
/// Whatever wasmtime's `StreamReader::pipe` reports.
///
/// # Examples
///
/// ```no_run
/// use wit_futures_wasmtime::stream::pipe_to_write;
/// # async fn example<D: Send + 'static>(accessor: &wasmtime::component::Accessor<D>, reader: wasmtime::component::StreamReader<u8>) -> wasmtime::Result<()> {
/// let piped = accessor.with(|store| pipe_to_write(store, reader, Vec::new()))?;
/// // ... run the store's event loop ...
/// let (bytes, written) = piped.await?;
/// # Ok(())
/// # }
/// ```
pub fn pipe_to_write<W, D>(
    store: impl AsContextMut<Data = D>,
    reader: StreamReader<u8>,
    writer: W,
) -> wasmtime::Result<WritePipe<W>>
where
    W: AsyncWrite + Unpin + Send + 'static,
    D: 'static,
{
    let (tx, rx) = oneshot::channel();
    reader.pipe(
        store,
        IntoWrite {
            writer: Some(writer),
            written: 0,
            done: Some(tx),
        },
    )?;
    Ok(WritePipe {
        state: State::Piping(rx),
    })
}

/// Future of [`pipe_to_write`]: the writer back and the bytes it took, or the I/O error.
///
/// Each guest write is written to the writer straight from the guest's buffer; the guest's
/// write completes with what the writer took, so the writer's backpressure holds the guest.
/// (A zero-length guest write completes at once: an `AsyncWrite` cannot say whether it has
/// room.) When the guest drops its writer, or the store goes away (wasmtime does not tell
/// the two apart), the writer is closed, then this resolves. If writing fails, or the
/// writer claims to have written more than it was given, the guest's next write sees the
/// reader gone and this resolves to the error. Dropping the future hangs up as well: a guest
/// write in progress (even one waiting for the writer) sees the reader gone; with none in
/// progress, the guest's next write does, and the writer is dropped then. Fused; `Unpin`.
///
/// # Cancel safety
///
/// Polling `&mut` it is cancel-safe: the pipe runs in the store, not in this future, which
/// only waits for the outcome (and closes the writer at the end). Dropping it hangs up.
#[must_use = "futures do nothing unless polled; dropping a WritePipe hangs up on the guest"]
pub struct WritePipe<W> {
    state: State<W>,
}

enum State<W> {
    Piping(oneshot::Receiver<io::Result<(W, u64)>>),
    Closing(W, u64),
    Done,
}

impl<W: AsyncWrite + Unpin> Future for WritePipe<W> {
    type Output = io::Result<(W, u64)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match &mut self.state {
                State::Piping(rx) => match core::task::ready!(Pin::new(rx).poll(cx)) {
                    Ok(Ok((writer, written))) => self.state = State::Closing(writer, written),
                    Ok(Err(e)) => {
                        self.state = State::Done;
                        return Poll::Ready(Err(e));
                    }
                    // Not expected: the consumer reports whenever it goes away.
                    Err(_) => {
                        self.state = State::Done;
                        return Poll::Ready(Err(io::Error::other("the pipe ended unreported")));
                    }
                },
                State::Closing(writer, _) => {
                    let closed = core::task::ready!(Pin::new(writer).poll_close(cx));
                    if let Err(e) = closed {
                        self.state = State::Done;
                        return Poll::Ready(Err(e));
                    }
                    let State::Closing(writer, written) =
                        core::mem::replace(&mut self.state, State::Done)
                    else {
                        unreachable!()
                    };
                    return Poll::Ready(Ok((writer, written)));
                }
                State::Done => return Poll::Pending,
            }
        }
    }
}

impl<W: AsyncWrite + Unpin> FusedFuture for WritePipe<W> {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl<W> Unpin for WritePipe<W> {}

impl<W> fmt::Debug for WritePipe<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Piping(_) => "piping",
            State::Closing(..) => "closing",
            State::Done => "done",
        };
        f.debug_struct("WritePipe").field("state", &state).finish()
    }
}

/// The consumer in the store: writes each guest write straight from the guest's buffer.
struct IntoWrite<W> {
    /// `None` once it failed.
    writer: Option<W>,
    written: u64,
    done: Option<oneshot::Sender<io::Result<(W, u64)>>>,
}

impl<W> IntoWrite<W> {
    fn fail(&mut self, error: io::Error) -> Poll<wasmtime::Result<StreamResult>> {
        self.writer = None;
        if let Some(done) = self.done.take() {
            let _ = done.send(Err(error));
        }
        Poll::Ready(Ok(StreamResult::Dropped))
    }
}

impl<W> IntoWrite<W> {
    /// True if the [`WritePipe`] was dropped; otherwise `cx` is woken when it is, so that a
    /// write waiting on the writer learns of the hang-up.
    fn hung_up(&mut self, cx: &mut Context<'_>) -> bool {
        self.done
            .as_mut()
            .is_none_or(|done| done.poll_canceled(cx).is_ready())
    }
}

impl<W> Drop for IntoWrite<W> {
    fn drop(&mut self) {
        // The guest closed its stream, or the store went away: the pipe closes the writer.
        if let (Some(writer), Some(done)) = (self.writer.take(), self.done.take()) {
            let _ = done.send(Ok((writer, self.written)));
        }
    }
}

impl<D, W> StreamConsumer<D> for IntoWrite<W>
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<D>,
        source: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        if me.hung_up(cx) {
            // The WritePipe was dropped: hang up.
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let Some(writer) = me.writer.as_mut() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        let mut direct = source.as_direct(store);
        if direct.remaining().is_empty() {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        loop {
            match Pin::new(&mut *writer).poll_write(cx, direct.remaining()) {
                Poll::Ready(Ok(0)) => {
                    return me.fail(io::Error::from(io::ErrorKind::WriteZero));
                }
                Poll::Ready(Ok(n)) if n > direct.remaining().len() => {
                    return me.fail(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the writer claims to have written more than it was given",
                    ));
                }
                Poll::Ready(Ok(n)) => {
                    direct.mark_read(n);
                    me.written += n as u64;
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => return me.fail(e),
                Poll::Pending if me.hung_up(cx) => return Poll::Ready(Ok(StreamResult::Dropped)),
                Poll::Pending if finish => return Poll::Ready(Ok(StreamResult::Cancelled)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
