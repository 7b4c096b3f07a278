use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_channel::oneshot;
use futures_core::future::FusedFuture;
use wasmtime::component::{FutureConsumer, FutureReader, Lift, Source};
use wasmtime::{AsContextMut, StoreContextMut};

use crate::fused_receiver::FusedReceiver;

/// A guest's `future<T>` as a [`Future`] of its value, on the host.
///
/// Made by [`GuestFuture::new`]. Resolves to the value the guest writes (a wit-bindgen
/// guest that drops its writer without writing sends the default its bindings chose; a
/// guest that drops it unwritten without such a default traps, and this then waits for the
/// store to go), or to [`GuestGone`] if the store went away first. Dropping it before the
/// value arrives drops the value when it comes (a `future<T>` writer learns nothing else).
/// Fused; `Unpin`; `Send` when `T` is.
///
/// # Cancel safety
///
/// Polling `&mut` it is cancel-safe: the value waits in it.
///
/// # Examples
///
/// ```no_run
/// use wit_futures_wasmtime::future::GuestFuture;
/// # async fn example<D: Send + 'static>(accessor: &wasmtime::component::Accessor<D>, reader: wasmtime::component::FutureReader<String>) -> wasmtime::Result<()> {
/// let answer = accessor.with(|store| GuestFuture::new(store, reader))?.await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless polled; dropping one drops the guest's value"]
pub struct GuestFuture<T> {
    rx: FusedReceiver<T>,
}

/// Error of a [`GuestFuture`]: the store went away before the guest's value arrived.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GuestGone;

impl fmt::Display for GuestGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the store went away before the guest's value arrived")
    }
}

impl std::error::Error for GuestGone {}

impl<T: Lift + Send + Sync + 'static> GuestFuture<T> {
    /// Takes the guest's future `reader`: its value arrives in the returned future.
    ///
    /// # Errors
    ///
    /// Whatever wasmtime's `FutureReader::pipe` reports.
    pub fn new<D: 'static>(
        store: impl AsContextMut<Data = D>,
        reader: FutureReader<T>,
    ) -> wasmtime::Result<Self> {
        let (tx, rx) = oneshot::channel();
        reader.pipe(store, Deliver(Some(tx)))?;
        Ok(Self {
            rx: FusedReceiver::new(rx),
        })
    }
}

impl<T> Future for GuestFuture<T> {
    type Output = Result<T, GuestGone>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.rx.poll(cx).map(|value| value.map_err(|_| GuestGone))
    }
}

impl<T> FusedFuture for GuestFuture<T> {
    fn is_terminated(&self) -> bool {
        self.rx.is_terminated()
    }
}

impl<T> Unpin for GuestFuture<T> {}

impl<T> fmt::Debug for GuestFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestFuture")
            .field("done", &self.rx.is_terminated())
            .finish()
    }
}

/// The consumer in the store: hands the value over.
struct Deliver<T>(Option<oneshot::Sender<T>>);

impl<T> Unpin for Deliver<T> {}

impl<D, T> FutureConsumer<D> for Deliver<T>
where
    T: Lift + Send + Sync + 'static,
{
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        store: StoreContextMut<D>,
        mut source: Source<'_, T>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<()>> {
        let mut value = None;
        source.read(store, &mut value)?;
        if let (Some(value), Some(tx)) = (value, self.get_mut().0.take()) {
            // A GuestFuture dropped meanwhile drops the value with it.
            let _ = tx.send(value);
        }
        Poll::Ready(Ok(()))
    }
}
