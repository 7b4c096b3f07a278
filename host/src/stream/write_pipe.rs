use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_core::future::FusedFuture;
use futures_io::AsyncWrite;
use wasmtime::component::{Source, StreamConsumer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

use super::pipe::{EndInStore, PipeOutcome, pipe};

/// Pipes the guest's byte stream `reader` into `writer`, writing straight from the guest's
/// buffer; the returned future resolves once the guest closed its stream and `writer` was
/// closed: see [`WritePipe`].
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
    let (held, outcome) = pipe(writer);
    reader.pipe(store, IntoWrite { held })?;
    Ok(WritePipe { outcome })
}

/// Future of [`pipe_to_write`]: the writer back and the bytes it took, or the I/O error.
///
/// Each guest write is written to the writer straight from the guest's buffer; the guest's
/// write completes with what the writer took, so the writer's backpressure holds the guest.
/// (Taken means accepted by `poll_write`: a buffering writer may hold the bytes until it is
/// flushed or closed; `poll_close` flushes them at the end.)
/// (A zero-length guest write completes at once: an `AsyncWrite` cannot say whether it has
/// room.) When the guest drops its writer, or the store goes away (wasmtime does not tell
/// the two apart), the writer is closed, then this resolves. If writing fails, or the
/// writer claims to have written more than it was given, the guest's write in progress ends
/// with the reader gone and this resolves to the error. Dropping the future hangs up as well: a guest
/// write in progress (even one waiting for the writer) sees the reader gone; with none in
/// progress, the guest's next write does, and the writer is dropped then. Fused; `Unpin`.
///
/// # Cancel safety
///
/// Polling `&mut` it is cancel-safe: the pipe runs in the store, not in this future, which
/// only waits for the outcome (and closes the writer at the end). Dropping it hangs up.
#[must_use = "futures do nothing unless polled; dropping a WritePipe hangs up on the guest"]
pub struct WritePipe<W> {
    outcome: PipeOutcome<W, io::Error>,
}

impl<W: AsyncWrite + Unpin> Future for WritePipe<W> {
    type Output = io::Result<(W, u64)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.outcome
            .poll(cx, |writer, cx| writer.poll_close(cx))
            .map(|outcome| {
                outcome.unwrap_or_else(|| Err(io::Error::other("the pipe ended without a report")))
            })
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

/// The consumer in the store: writes each guest write straight from the guest's buffer.
struct IntoWrite<W> {
    held: EndInStore<W, io::Error>,
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
        let held = &mut self.get_mut().held;
        if held.hung_up(cx) {
            // The WritePipe was dropped: hang up.
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let Some(writer) = held.end() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        let mut direct = source.as_direct(store);
        if direct.remaining().is_empty() {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        loop {
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
                    held.took(n as u64);
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => return held.fail(e),
                Poll::Pending => return held.wait(cx, finish),
            }
        }
    }
}
