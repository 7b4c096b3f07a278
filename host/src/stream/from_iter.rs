use core::iter::Fuse;
use core::pin::Pin;
use core::task::{Context, Poll};

use wasmtime::component::{
    Destination, Lift, Lower, StreamProducer, StreamReader, StreamResult, VecBuffer,
};
use wasmtime::{AsContextMut, StoreContextMut};

use super::HOST_READ_BATCH;

/// A `stream<T>` for the guest whose items come from `iter`, produced lazily: see
/// [`FromIter`].
///
/// # Errors
///
/// Whatever wasmtime's `StreamReader::new` reports (e.g. the store's concurrency support
/// is off).
///
/// # Examples
///
/// ```no_run
/// use wit_futures_wasmtime::stream::from_iter;
/// # fn example<D: 'static>(store: wasmtime::StoreContextMut<'_, D>) -> wasmtime::Result<()> {
/// // A million numbers, made as the guest reads them, never all in memory at once.
/// let numbers = from_iter(store, (0..1_000_000u32).map(|n| n * 2))?;
/// // `numbers` is a `StreamReader<u32>` to pass to a guest export.
/// # Ok(())
/// # }
/// ```
pub fn from_iter<I, D>(
    store: impl AsContextMut<Data = D>,
    iter: I,
) -> wasmtime::Result<StreamReader<I::Item>>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Lower + Lift + Send + Sync + 'static,
    D: 'static,
{
    StreamReader::new(store, FromIter::new(iter))
}

/// Any [`Iterator`] as the producer of a component-model `stream<T>`.
///
/// Made by [`from_iter`] (or passed to wasmtime's `StreamReader::new` directly). Each read
/// of the guest takes at most as many items as the guest asked for (and at most
/// [`HOST_READ_BATCH`](super::HOST_READ_BATCH): a larger read gets that many and reads
/// again) from the iterator, in one `extend` (so ranges, `vec::IntoIter` and other exact-size iterators fill the batch
/// at the speed of a copy); nothing is taken ahead of the guest's reads. The `stream<T>`
/// ends when the iterator does. When the guest drops its reader, wasmtime drops this
/// producer and the iterator with it.
///
/// Prefer it to [`FromStream`](super::FromStream) over `futures::stream::iter` when the
/// items are at hand: a `Stream` is polled item by item, which costs about a nanosecond
/// per item more (see the crate's README). The iterator runs on the store's event loop:
/// an iterator that blocks blocks the store.
#[derive(Debug)]
pub struct FromIter<I> {
    iter: Fuse<I>,
}

impl<I: Iterator> FromIter<I> {
    /// The producer of `iter`'s items.
    pub fn new(iter: impl IntoIterator<IntoIter = I>) -> Self {
        Self {
            iter: iter.into_iter().fuse(),
        }
    }
}

impl<I> Unpin for FromIter<I> {}

impl<I, D> StreamProducer<D> for FromIter<I>
where
    I: Iterator + Send + 'static,
    I::Item: Send + Sync + 'static,
{
    type Item = I::Item;
    type Buffer = VecBuffer<I::Item>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, I::Item, Self::Buffer>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let iter = &mut self.get_mut().iter;
        let room = match destination.remaining(&mut store) {
            // Asked whether the stream is ready: it is (or ends); the next read will tell.
            Some(0) => return Poll::Ready(Ok(StreamResult::Completed)),
            // The guest's read size does not size the host's buffer: a larger read gets a
            // batch and reads again for the rest.
            Some(room) => room.min(HOST_READ_BATCH),
            None => HOST_READ_BATCH,
        };
        let batch: Vec<I::Item> = iter.by_ref().take(room).collect();
        // A short batch means the (fused) iterator ended: say so with the last items.
        let result = if batch.len() < room {
            StreamResult::Dropped
        } else {
            StreamResult::Completed
        };
        if !batch.is_empty() {
            destination.set_buffer(batch.into());
        }
        Poll::Ready(Ok(result))
    }
}
