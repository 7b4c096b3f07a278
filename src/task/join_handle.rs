use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll};
use std::sync::Arc;

use futures_core::future::FusedFuture;

use crate::error::JoinError;

/// Spawns `future` on the current component-model task, like `wit_bindgen::spawn_local`, and
/// returns a [`JoinHandle`] for its output.
///
/// The task runs concurrently (not in parallel) with the code that spawned it, inside the
/// component-model task (async export call or `wit_bindgen::block_on`) that is running when
/// `spawn` is called, and keeps that task alive until it finishes. Dropping the handle
/// detaches the task.
///
/// # Panics
///
/// Panics outside a component-model task, as `wit_bindgen::spawn_local` does.
///
/// # Examples
///
/// ```no_run
/// # async fn example() {
/// let handle = wit_futures::task::spawn(async { 6 * 7 });
/// assert_eq!(handle.await.unwrap(), 42);
/// # }
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = Arc::new(Shared::default());
    let guard = FinishGuard(shared.clone());
    let inner = wit_bindgen::spawn_local(async move {
        let _guard = guard;
        future.await
    });
    JoinHandle {
        inner: Some(inner),
        shared,
    }
}

#[derive(Default)]
struct Shared {
    finished: AtomicBool,
    aborted: AtomicBool,
}

/// Marks the task finished when its future completes or is dropped (aborted).
struct FinishGuard(Arc<Shared>);

impl Drop for FinishGuard {
    fn drop(&mut self) {
        self.0.finished.store(true, Ordering::Release);
    }
}

/// An owned permission to join a spawned task: a future of its output.
///
/// Created by [`spawn`]. Resolves to `Ok(output)`, or to a [`JoinError`] saying whether the
/// task was [aborted](Self::abort) or the component-model task ended under it. `Unpin` and
/// [`FusedFuture`], so `&mut handle` goes into `futures::select!`; `Send` when the output
/// is.
///
/// Dropping the handle detaches the task: it keeps running and its output is dropped.
///
/// # Cancel safety
///
/// Polling `&mut handle` is cancel-safe: if another `select!` branch wins, the output stays
/// in the handle for a later poll.
pub struct JoinHandle<T> {
    /// `None` once the handle resolved.
    inner: Option<wit_bindgen::JoinHandle<T>>,
    shared: Arc<Shared>,
}

impl<T> JoinHandle<T> {
    /// Aborts the task: its future is dropped at the next point the executor reaches it,
    /// without being polled again.
    ///
    /// If the task finished before the abort took effect, the handle still resolves to its
    /// output; otherwise to a [`JoinError`] with [`is_aborted`](JoinError::is_aborted).
    /// Aborting a finished task does nothing.
    pub fn abort(&mut self) {
        if let Some(inner) = &mut self.inner {
            self.shared.aborted.store(true, Ordering::Relaxed);
            inner.cancel();
        }
    }

    /// True once the task's future has completed or been dropped (after an abort).
    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::Acquire)
    }

    /// Lets the task run on without a handle; its output is dropped.
    pub fn detach(self) {}

    /// Turns this handle into one that aborts the task when dropped.
    pub fn abort_on_drop(self) -> super::AbortOnDropHandle<T> {
        super::AbortOnDropHandle::new(self)
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// Returns `Ready(Ok(output))` once the task finished, `Ready(Err(_))` if it was aborted
    /// or ended first, `Pending` otherwise (only the most recent waker is woken) and
    /// `Pending` forever after it resolved.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Pending;
        };
        let output = core::task::ready!(Pin::new(inner).poll(cx));
        self.inner = None;
        Poll::Ready(
            output.ok_or(if self.shared.aborted.load(Ordering::Relaxed) {
                JoinError::ABORTED
            } else {
                JoinError::ENDED
            }),
        )
    }
}

impl<T> FusedFuture for JoinHandle<T> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .field("terminated", &self.inner.is_none())
            .finish()
    }
}
