use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;
use wasmtime::component::{
    Destination, Lift, Lower, StreamProducer, StreamReader, StreamResult, VecBuffer,
};
use wasmtime::{AsContextMut, StoreContextMut};

use super::HOST_READ_BATCH;

/// A `stream<T>` for the guest whose items come from `stream`: see [`FromStream`].
///
/// # Errors
///
/// Whatever wasmtime's `StreamReader::new` reports (e.g. the store's concurrency support
/// is off).
///
/// # Examples
///
/// ```no_run
/// use wit_futures_wasmtime::stream::from_stream;
/// # fn example<D: 'static>(store: wasmtime::StoreContextMut<'_, D>) -> wasmtime::Result<()> {
/// let numbers = from_stream(store, futures::stream::iter(0..1_000_000u32))?;
/// // `numbers` is a `StreamReader<u32>` to pass to a guest export.
/// # Ok(())
/// # }
/// ```
pub fn from_stream<S, D>(
    store: impl AsContextMut<Data = D>,
    stream: S,
) -> wasmtime::Result<StreamReader<S::Item>>
where
    S: Stream + Send + 'static,
    S::Item: Lower + Lift + Send + Sync + 'static,
    D: 'static,
{
    StreamReader::new(store, FromStream::new(stream))
}

pin_project! {
    /// Any [`Stream`] as the producer of a component-model `stream<T>`.
    ///
    /// Made by [`from_stream`] (or passed to wasmtime's `StreamReader::new` directly). Each
    /// read of the guest polls `stream` for at most as many items as the guest asked for
    /// (and at most [`HOST_READ_BATCH`]: a larger read gets that many and reads again), and
    /// takes only those that are ready (waiting only if none is), so the guest's reads are
    /// the backpressure: nothing is read ahead. The stream ends the `stream<T>` when it
    /// ends. When the guest drops its reader, wasmtime drops this producer and `stream`
    /// with it.
    ///
    /// No item is lost: an item taken from `stream` is always handed to the guest's read in
    /// progress. A zero-length read (the guest asking whether the stream is ready) is
    /// answered at once, without polling `stream`.
    pub struct FromStream<S> {
        #[pin]
        stream: S,
    }
}

impl<S> FromStream<S> {
    /// The producer of `stream`'s items.
    pub fn new(stream: S) -> Self {
        Self { stream }
    }
}

impl<S, D> StreamProducer<D> for FromStream<S>
where
    S: Stream + Send + 'static,
    S::Item: Send + Sync + 'static,
{
    type Item = S::Item;
    type Buffer = VecBuffer<S::Item>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, S::Item, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let mut stream = self.project().stream;
        let room = match destination.remaining(&mut store) {
            // Asked whether the stream is ready: it may be; the next read will tell.
            Some(0) => return Poll::Ready(Ok(StreamResult::Completed)),
            // The guest's read size does not size the host's buffer: a larger read gets a
            // batch and reads again for the rest.
            Some(room) => room.min(HOST_READ_BATCH),
            None => HOST_READ_BATCH,
        };
        let (ready, _) = stream.size_hint();
        let mut batch = Vec::with_capacity(ready.clamp(1, room));
        let result = loop {
            if batch.len() == room {
                break StreamResult::Completed;
            }
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => batch.push(item),
                Poll::Ready(None) => break StreamResult::Dropped,
                Poll::Pending if batch.is_empty() => {
                    return if finish {
                        Poll::Ready(Ok(StreamResult::Cancelled))
                    } else {
                        Poll::Pending
                    };
                }
                Poll::Pending => break StreamResult::Completed,
            }
        };
        if !batch.is_empty() {
            destination.set_buffer(batch.into());
        }
        Poll::Ready(Ok(result))
    }
}
