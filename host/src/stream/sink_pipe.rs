use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;
use futures_sink::Sink;
use wasmtime::component::{Lift, Source, StreamConsumer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

use super::PipeError;
use super::pipe::{EndInStore, PipeOutcome, pipe};

/// Pipes the guest's stream `reader` into `sink`; the returned future resolves once the
/// guest closed its stream and the sink was closed too (to the sink and the number of items
/// it took), or once the sink failed: see [`SinkPipe`].
///
/// # Errors
///
/// Whatever wasmtime's `StreamReader::pipe` reports.
///
/// # Examples
///
/// ```no_run
/// use wit_futures_wasmtime::stream::pipe_to_sink;
/// # async fn example<D: Send + 'static>(accessor: &wasmtime::component::Accessor<D>, reader: wasmtime::component::StreamReader<String>) -> wasmtime::Result<()> {
/// let (tx, mut rx) = futures::channel::mpsc::channel::<String>(16);
/// let piped = accessor.with(|store| pipe_to_sink(store, reader, tx))?;
/// // ... run the store's event loop; read `rx` ...
/// let (_tx, items) = piped.await?;
/// # Ok(())
/// # }
/// ```
pub fn pipe_to_sink<T, Si, D>(
    store: impl AsContextMut<Data = D>,
    reader: StreamReader<T>,
    sink: Si,
) -> wasmtime::Result<SinkPipe<Si, T>>
where
    T: Lift + Send + Sync + 'static,
    Si: Sink<T> + Unpin + Send + 'static,
    Si::Error: Send + 'static,
    D: 'static,
{
    let (held, outcome) = pipe(sink);
    reader.pipe(
        store,
        IntoSink {
            held,
            flushing: false,
        },
    )?;
    Ok(SinkPipe {
        outcome,
        _items: PhantomData,
    })
}

/// Future of [`pipe_to_sink`]: the sink back with the number of items it took, or a
/// [`PipeError`] with the sink's error, the sink and how many items it took.
///
/// Items are handed to the sink one by one, each after the sink's `poll_ready`, so the
/// sink's backpressure holds the guest's writes, and a guest write completes once the sink
/// has flushed what it was given (a write the guest cancels completes at once; the flush
/// then goes on at the next write or when the sink is closed). When the guest drops its
/// writer, or the store goes away (wasmtime does not tell the two apart), the sink is closed,
/// then this resolves. An item given to the sink belongs to the sink (futures' `Sink` gives
/// none back).
///
/// If the sink fails (or fails to close), the guest's write in progress ends with the
/// reader gone (having handed over the items the sink took, and the one it refused) and
/// this resolves to a [`PipeError`] that holds the error, the sink and how many items it
/// took. Dropping the future hangs up as well: a guest write in progress (even one waiting
/// for the sink) sees the reader gone; with none in progress, the guest's next write does,
/// and the sink is dropped then. Fused; `Unpin`.
///
/// # Cancel safety
///
/// Polling `&mut` it is cancel-safe: the pipe runs in the store, not in this future, which
/// only waits for the outcome (and closes the sink at the end). Dropping it hangs up.
#[must_use = "futures do nothing unless polled; dropping a SinkPipe hangs up on the guest"]
pub struct SinkPipe<Si: Sink<T>, T> {
    outcome: PipeOutcome<Si, Si::Error>,
    _items: PhantomData<fn(T)>,
}

impl<Si, T> Future for SinkPipe<Si, T>
where
    Si: Sink<T> + Unpin,
{
    type Output = Result<(Si, u64), PipeError<Si, Si::Error>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.outcome.poll(cx, |sink, cx| sink.poll_close(cx))
    }
}

impl<Si, T> FusedFuture for SinkPipe<Si, T>
where
    Si: Sink<T> + Unpin,
{
    fn is_terminated(&self) -> bool {
        self.outcome.is_terminated()
    }
}

impl<Si: Sink<T>, T> Unpin for SinkPipe<Si, T> {}

impl<Si: Sink<T>, T> fmt::Debug for SinkPipe<Si, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkPipe")
            .field("state", &self.outcome.name())
            .finish()
    }
}

/// The consumer in the store: hands each item to the sink once it has room.
struct IntoSink<Si: Sink<T>, T> {
    held: EndInStore<Si, Si::Error>,
    /// Items of the guest's write in progress were given to the sink, which is flushing
    /// them: the write completes once the flush does.
    flushing: bool,
}

impl<D, T, Si> StreamConsumer<D> for IntoSink<Si, T>
where
    T: Lift + Send + Sync + 'static,
    Si: Sink<T> + Unpin + Send + 'static,
    Si::Error: Send + 'static,
{
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<D>,
        mut source: Source<'_, T>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        let held = &mut me.held;
        if held.hung_up(cx) {
            // The SinkPipe was dropped: hang up.
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let Some(sink) = held.end() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        if !me.flushing {
            if source.remaining(&mut store) == 0 {
                // A zero-length write asks whether the next item would be taken.
                return match Pin::new(&mut *sink).poll_ready(cx) {
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(StreamResult::Completed)),
                    Poll::Ready(Err(e)) => held.fail(e),
                    Poll::Pending => held.wait(cx, finish),
                };
            }
            let mut taken = 0;
            while source.remaining(&mut store) > 0 {
                // Room first: nothing is taken from the guest that the sink has no room for.
                match Pin::new(&mut *sink).poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return held.fail(e),
                    Poll::Pending => break,
                }
                let mut item = None;
                source.read(&mut store, &mut item)?;
                let Some(item) = item else {
                    // wasmtime gave no item although it offered some: end rather than wait.
                    held.took(taken);
                    return Poll::Ready(Ok(StreamResult::Dropped));
                };
                if let Err(e) = Pin::new(&mut *sink).start_send(item) {
                    return held.fail(e);
                }
                taken += 1;
            }
            held.took(taken);
            if taken == 0 {
                return held.wait(cx, finish);
            }
            me.flushing = true;
        }
        // The write completes once the sink has sent on what it was given, so that a guest
        // waiting for an answer to what it wrote is not left with its items in a buffer.
        let Some(sink) = held.end() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        match Pin::new(sink).poll_flush(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return held.fail(e),
            // Cancelling: the items are the sink's; the flush goes on at the next write or
            // when the sink is closed.
            Poll::Pending if finish => {}
            // (`hung_up` above registered for the pipe future's drop.)
            Poll::Pending => return Poll::Pending,
        }
        me.flushing = false;
        Poll::Ready(Ok(StreamResult::Completed))
    }
}
