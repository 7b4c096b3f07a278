use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_core::future::FusedFuture;
use futures_io::AsyncWrite;
use wasmtime::component::{Source, StreamConsumer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

use super::PipeError;
use super::pipe::{EndInStore, PipeOutcome, pipe};

/// Pipes the guest's byte stream `reader` into `writer`, writing straight from the guest's
/// buffer and flushing after each guest write; the returned future resolves once the guest
/// closed its stream and `writer` was closed (to the writer and the bytes it took), or once
/// writing failed: see [`WritePipe`].
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
/// let (bytes, written) = piped.await?; // a PipeError converts into an io::Error
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
    let (held, outcome) = pipe(writer);
    reader.pipe(
        store,
        IntoWrite {
            held,
            flushing: false,
        },
    )?;
    Ok(WritePipe { outcome })
}

/// Future of [`pipe_to_write`]: the writer back with the bytes it took, or a
/// [`PipeError`] with the I/O error, the writer and the bytes it took.
///
/// Each guest write is written to the writer straight from the guest's buffer, then the
/// writer is flushed; the guest's write completes with what the writer took once the flush
/// did, so the writer's backpressure holds the guest, and a guest that waits for an answer
/// to what it wrote is not left with its bytes in a buffer (a `BufWriter`, a TLS stream, a
/// compressor). (A write the guest cancels completes at once with what the writer took; the
/// flush then goes on at the next write or when the writer is closed. A zero-length guest
/// write completes at once: an `AsyncWrite` cannot say whether it has room.) When the guest
/// drops its writer, or the store goes away (wasmtime does not tell the two apart), the
/// writer is closed, then this resolves. If writing, flushing or closing fails, or the
/// writer claims to have written more than it was given, the guest's write in progress ends
/// with the reader gone and this resolves to the error, with the writer, so a caller can
/// recover it or go on. Dropping the future hangs up as well: a guest write in progress
/// (even one waiting for the writer) sees the reader gone; with none in progress, the
/// guest's next write does, and the writer is dropped then. Fused; `Unpin`.
///
/// # Cancel safety
///
/// Polling `&mut` it is cancel-safe: the pipe runs in the store, not in this future, which
/// only waits for the outcome (and closes the writer at the end). Dropping it hangs up.
#[must_use = "futures do nothing unless polled; dropping a WritePipe hangs up on the guest"]
pub struct WritePipe<W> {
    outcome: PipeOutcome<W, io::Error, u8>,
}

impl<W: AsyncWrite + Unpin> Future for WritePipe<W> {
    type Output = Result<(W, u64), PipeError<W, io::Error>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.outcome
            .poll(cx, |writer, _held, _taken, cx| writer.poll_close(cx))
    }
}

impl<W: AsyncWrite + Unpin> FusedFuture for WritePipe<W> {
    fn is_terminated(&self) -> bool {
        self.outcome.is_terminated()
    }
}

impl<W> Unpin for WritePipe<W> {}

impl<W> fmt::Debug for WritePipe<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WritePipe")
            .field("state", &self.outcome.name())
            .finish()
    }
}

/// The consumer in the store: writes each guest write straight from the guest's buffer,
/// then flushes.
struct IntoWrite<W> {
    held: EndInStore<W, io::Error, u8>,
    /// Bytes of the guest's write in progress (or of a cancelled one) were written, and the
    /// writer is flushing them: the write completes once the flush does.
    flushing: bool,
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
        let held = &mut me.held;
        if held.hung_up(cx) {
            // The WritePipe was dropped: hang up.
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let mut direct = source.as_direct(store);
        // Whether this write's bytes went to the writer (in this poll or an earlier one).
        let mut wrote = false;
        loop {
            let Some((writer, _, taken)) = held.parts() else {
                return Poll::Ready(Ok(StreamResult::Dropped));
            };
            if me.flushing {
                // The write completes once the writer has sent on what it took.
                match Pin::new(&mut *writer).poll_flush(cx) {
                    Poll::Ready(Ok(())) => me.flushing = false,
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => return held.fail(e),
                    // Cancelling: the bytes are the writer's; the flush goes on at the next
                    // write or when the writer is closed.
                    Poll::Pending if finish && wrote => {
                        return Poll::Ready(Ok(StreamResult::Completed));
                    }
                    // (`hung_up` above registered for the pipe future's drop.)
                    Poll::Pending => return held.wait(cx, finish, false),
                }
                if wrote {
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
                // That was the flush of an earlier, cancelled write: now this one.
                continue;
            }
            if direct.remaining().is_empty() {
                // A zero-length write, or one re-polled after its bytes were flushed.
                return Poll::Ready(Ok(StreamResult::Completed));
            }
            match Pin::new(&mut *writer).poll_write(cx, direct.remaining()) {
                Poll::Ready(Ok(0)) => {
                    return held.fail(io::Error::from(io::ErrorKind::WriteZero));
                }
                Poll::Ready(Ok(n)) if n > direct.remaining().len() => {
                    return held.fail(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the writer claims to have written more than it was given",
                    ));
                }
                Poll::Ready(Ok(n)) => {
                    direct.mark_read(n);
                    *taken += n as u64;
                    me.flushing = true;
                    wrote = true;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return held.fail(e),
                Poll::Pending => return held.wait(cx, finish, false),
            }
        }
    }
}
