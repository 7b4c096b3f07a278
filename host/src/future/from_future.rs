use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;
use wasmtime::component::{FutureProducer, FutureReader, Lift, Lower};
use wasmtime::{AsContextMut, StoreContextMut};

/// A `future<T>` for the guest whose value is the output of `future`: see [`FromFuture`].
///
/// # Errors
///
/// Whatever wasmtime's `FutureReader::new` reports.
///
/// # Examples
///
/// ```no_run
/// use futures::FutureExt;
/// use wit_futures_wasmtime::future::from_future;
/// # fn example<D: 'static>(store: wasmtime::StoreContextMut<'_, D>) -> wasmtime::Result<()> {
/// let (tx, rx) = futures::channel::oneshot::channel::<u32>();
/// // A `future<u32>` must carry a value: say which one if the sender goes away.
/// let answer = from_future(store, rx.map(|r| r.unwrap_or(0)))?;
/// tx.send(42).unwrap();
/// # Ok(())
/// # }
/// ```
pub fn from_future<F, D>(
    store: impl AsContextMut<Data = D>,
    future: F,
) -> wasmtime::Result<FutureReader<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Lower + Lift + Send + Sync + 'static,
    D: 'static,
{
    FutureReader::new(store, FromFuture::new(future))
}

pin_project! {
    /// Any [`Future`] as the producer of a component-model `future<T>`: its output is the
    /// value.
    ///
    /// Made by [`from_future`]. Polled only while the guest reads the future; dropped (with
    /// `future`) when the guest drops its reader. wasmtime's own `FutureProducer` impl
    /// covers futures of `Result<T, E>` and traps the guest on `Err`; this one takes any
    /// future of `T` (map a `oneshot::Receiver`'s `Canceled` to the value the guest should
    /// see, as in the example of [`from_future`]).
    pub struct FromFuture<F> {
        #[pin]
        future: F,
    }
}

impl<F> FromFuture<F> {
    /// The producer of `future`'s output.
    pub fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F, D> FutureProducer<D> for FromFuture<F>
where
    F: Future + Send + 'static,
{
    type Item = F::Output;

    fn poll_produce(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _store: StoreContextMut<D>,
        finish: bool,
    ) -> Poll<wasmtime::Result<Option<F::Output>>> {
        match self.project().future.poll(cx) {
            Poll::Ready(value) => Poll::Ready(Ok(Some(value))),
            Poll::Pending if finish => Poll::Ready(Ok(None)),
            Poll::Pending => Poll::Pending,
        }
    }
}
