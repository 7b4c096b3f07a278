use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::vec;

use futures_core::future::FusedFuture;
use futures_sink::Sink;
use wasmtime::component::{Lift, Source, StreamConsumer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

use super::pipe::{EndInStore, PipeOutcome, pipe};
use super::{HOST_READ_BATCH, PipeError, batch_buffer, reclaim};

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
            took: false,
        },
    )?;
    Ok(SinkPipe { outcome })
}

/// Future of [`pipe_to_sink`]: the sink back with the number of items it took, or a
/// [`PipeError`] with the sink's error, the sink, how many items it took and those it did
/// not.
///
/// Each guest write is read in batches (up to [`HOST_READ_BATCH`] items, one wasmtime read
/// each), and the batch is given to the sink item by item, each after the sink's
/// `poll_ready`, so the sink's backpressure holds the guest: the guest's write completes
/// only once every item of it is in the sink and the sink has flushed them (so a guest that
/// waits for an answer to what it wrote is not left with its items in a buffer). A write
/// the guest cancels while the sink has no room completes with the items read so far: the
/// pipe keeps the rest of its batch and gives it to the sink at the guest's next write, or
/// before closing the sink. When the guest drops its writer, or the store goes away
/// (wasmtime does not tell the two apart), the sink gets what is held, is closed, then this
/// resolves. An item given to the sink belongs to the sink (futures' `Sink` gives none
/// back).
///
/// If the sink fails (or fails to close), the guest's write in progress ends with the
/// reader gone and this resolves to a [`PipeError`] that holds the error, the sink, how many
/// items it took and the items read from the guest that it did not take (in order; the item
/// the sink refused is the sink's). Dropping the future hangs up as well: a guest write in
/// progress (even one waiting for the sink) sees the reader gone; with none in progress, the
/// guest's next write does, and the sink and the items held for it are dropped then. Fused;
/// `Unpin`.
///
/// # Cancel safety
///
/// Polling `&mut` it is cancel-safe: the pipe runs in the store, not in this future, which
/// only waits for the outcome (and closes the sink at the end). Dropping it hangs up.
#[must_use = "futures do nothing unless polled; dropping a SinkPipe hangs up on the guest"]
pub struct SinkPipe<Si: Sink<T>, T> {
    outcome: PipeOutcome<Si, Si::Error, T>,
}

impl<Si, T> Future for SinkPipe<Si, T>
where
    Si: Sink<T> + Unpin,
{
    type Output = Result<(Si, u64), PipeError<Si, Si::Error, T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.outcome.poll(cx, |mut sink, held, taken, cx| {
            core::task::ready!(deliver(&mut *sink, held, taken, cx))?;
            sink.poll_close(cx)
        })
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

/// Gives the `held` items to `sink` while it has room: `Ready(Ok(()))` once all are in.
fn deliver<Si: Sink<T> + Unpin, T>(
    sink: &mut Si,
    held: &mut vec::IntoIter<T>,
    taken: &mut u64,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Si::Error>> {
    while held.len() > 0 {
        core::task::ready!(Pin::new(&mut *sink).poll_ready(cx))?;
        let item = held.next().expect("an item is held");
        Pin::new(&mut *sink).start_send(item)?;
        *taken += 1;
    }
    Poll::Ready(Ok(()))
}

/// The consumer in the store: reads each guest write in batches and gives them to the sink
/// as it has room.
struct IntoSink<Si: Sink<T>, T> {
    held: EndInStore<Si, Si::Error, T>,
    /// Items the sink was given since its last flush: the write completes once it flushed.
    flushing: bool,
    /// The guest's write in progress handed over items (in this poll or an earlier one).
    took: bool,
}

// Items are only moved, never pinned.
impl<Si: Sink<T>, T> Unpin for IntoSink<Si, T> {}

impl<Si: Sink<T>, T> IntoSink<Si, T> {
    /// Ends the guest's write in progress with `result`.
    fn done(&mut self, result: StreamResult) -> Poll<wasmtime::Result<StreamResult>> {
        self.took = false;
        Poll::Ready(Ok(result))
    }
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
        if me.held.hung_up(cx) {
            // The SinkPipe was dropped: hang up.
            return me.done(StreamResult::Dropped);
        }
        loop {
            let Some((sink, held, taken)) = me.held.parts() else {
                return me.done(StreamResult::Dropped);
            };
            // What is held first (the rest of this write's batch, or of a cancelled one).
            match deliver(sink, held, taken, cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    me.took = false;
                    return me.held.fail(e);
                }
                Poll::Pending => {
                    let waited = me.held.wait(cx, finish, me.took);
                    if waited.is_ready() {
                        me.took = false;
                    }
                    return waited;
                }
            }
            if me.flushing {
                // The write completes once the sink has sent on what it was given.
                match Pin::new(&mut *sink).poll_flush(cx) {
                    Poll::Ready(Ok(())) => me.flushing = false,
                    Poll::Ready(Err(e)) => {
                        me.took = false;
                        return me.held.fail(e);
                    }
                    // Cancelling: the items are the sink's; the flush goes on at the next
                    // write or when the sink is closed.
                    Poll::Pending if finish && me.took => return me.done(StreamResult::Completed),
                    // (`hung_up` above registered for the pipe future's drop.)
                    Poll::Pending => {
                        let waited = me.held.wait(cx, finish, false);
                        if waited.is_ready() {
                            me.took = false;
                        }
                        return waited;
                    }
                }
            }
            if me.took {
                return me.done(StreamResult::Completed);
            }
            let offered = source.remaining(&mut store);
            if offered == 0 {
                // A zero-length write asks whether the next item would be taken.
                return match Pin::new(&mut *sink).poll_ready(cx) {
                    Poll::Ready(Ok(())) => me.done(StreamResult::Completed),
                    Poll::Ready(Err(e)) => me.held.fail(e),
                    Poll::Pending => me.held.wait(cx, finish, false),
                };
            }
            // Everything held was delivered: its buffer takes this batch.
            let mut batch = batch_buffer(reclaim(held), offered.min(HOST_READ_BATCH));
            source.read(&mut store, &mut batch)?;
            if batch.is_empty() {
                // wasmtime gave no item although it offered some: end rather than wait.
                return me.done(StreamResult::Dropped);
            }
            *held = batch.into_iter();
            me.took = true;
            me.flushing = true;
        }
    }
}
