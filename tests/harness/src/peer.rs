//! The host as the guest's peer: futures and streams the host makes for the guest, with
//! values that arrive when the test says, and readers for the ones the guest makes.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::{Accessor, FutureConsumer, FutureReader, Lift, Lower, Source};

use crate::Ctx;

/// Observes that wasmtime dropped a host producer or consumer, which happens once both ends
/// of its future/stream are closed (e.g. the guest dropped its end).
#[derive(Clone, Default, Debug)]
pub struct DropProbe(Arc<AtomicBool>);

impl DropProbe {
    /// True once the guard made by [`guard`](Self::guard) was dropped.
    pub fn dropped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A guard to move into a producer or consumer.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }
}

/// Sets its [`DropProbe`] when dropped.
#[derive(Debug)]
pub struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A `future<T>` for the guest whose value is the output of `value`.
pub fn future<T>(
    a: &Accessor<Ctx>,
    value: impl Future<Output = T> + Send + 'static,
) -> FutureReader<T>
where
    T: Lower + Lift + Send + Sync + 'static,
{
    a.with(|mut s| FutureReader::new(&mut s, async move { Ok::<_, wasmtime::Error>(value.await) }))
        .expect("FutureReader::new")
}

/// A `future<T>` for the guest whose value is ready at once.
pub fn future_ready<T>(a: &Accessor<Ctx>, value: T) -> FutureReader<T>
where
    T: Lower + Lift + Send + Sync + 'static,
{
    future(a, async move { value })
}

/// A `future<T>` for the guest whose value arrives after `delay`.
pub fn future_after<T>(a: &Accessor<Ctx>, delay: Duration, value: T) -> FutureReader<T>
where
    T: Lower + Lift + Send + Sync + 'static,
{
    future(a, async move {
        tokio::time::sleep(delay).await;
        value
    })
}

/// A `future<T>` for the guest that never gets a value; the probe tells when the guest
/// dropped its end (wasmtime then drops the host's producer).
pub fn future_never<T>(a: &Accessor<Ctx>) -> (FutureReader<T>, DropProbe)
where
    T: Lower + Lift + Send + Sync + 'static,
{
    let probe = DropProbe::default();
    let guard = probe.guard();
    let reader = future(a, async move {
        let _guard = guard;
        std::future::pending::<T>().await
    });
    (reader, probe)
}

/// Reads the guest's `future<T>`: resolves to its value.
pub async fn read_future<T>(a: &Accessor<Ctx>, reader: FutureReader<T>) -> T
where
    T: Lift + Send + Sync + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    a.with(|mut s| reader.pipe(&mut s, OneshotConsumer(Some(tx))))
        .expect("pipe");
    rx.await
        .expect("the guest dropped its future writer without a value")
}

/// Closes the host's end of the guest's `future<T>` without reading it: the guest's writer
/// sees the reader gone.
pub fn close_future<T>(a: &Accessor<Ctx>, mut reader: FutureReader<T>) {
    a.with(|mut s| reader.close(&mut s)).expect("close");
}

struct OneshotConsumer<T>(Option<tokio::sync::oneshot::Sender<T>>);

impl<T: Lift + Send + Sync + 'static> FutureConsumer<Ctx> for OneshotConsumer<T> {
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        store: StoreContextMut<Ctx>,
        mut source: Source<'_, T>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<()>> {
        let mut item = None;
        source.read(store, &mut item)?;
        if let (Some(value), Some(tx)) = (item, self.get_mut().0.take()) {
            let _ = tx.send(value);
        }
        Poll::Ready(Ok(()))
    }
}

/// Sleeps for `ms` milliseconds (on the test's tokio runtime).
pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// A small seeded random number generator (xorshift64*), so that a failing schedule can be
/// replayed from its seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; equal seeds give equal sequences.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
