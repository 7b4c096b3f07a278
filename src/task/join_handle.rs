use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll};
use std::sync::Arc;

use futures_core::future::FusedFuture;
use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;

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
    let inner = wit_bindgen::spawn_local(Abortable {
        future,
        shared: shared.clone(),
    });
    JoinHandle {
        inner: Some(inner),
        handle: AbortHandle { shared },
    }
}

/// Shared by a task and its handles: one allocation per task.
#[derive(Default)]
struct Shared {
    /// The task's future completed or was dropped.
    finished: AtomicBool,
    /// An abort was requested.
    aborted: AtomicBool,
    /// The task, to wake when an abort is requested.
    waker: AtomicWaker,
}

/// The marker a task resolves to when it was aborted before it finished.
struct Aborted;

pin_project! {
    /// The spawned future: the task's future, unless an abort came first. Marks the task
    /// finished when it is dropped (completed, aborted, or torn down).
    struct Abortable<F> {
        #[pin]
        future: F,
        shared: Arc<Shared>,
    }

    impl<F> PinnedDrop for Abortable<F> {
        fn drop(this: Pin<&mut Self>) {
            this.shared.finished.store(true, Ordering::Release);
        }
    }
}

impl<F: Future> Future for Abortable<F> {
    type Output = Result<F::Output, Aborted>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.shared.aborted.load(Ordering::Acquire) {
            return Poll::Ready(Err(Aborted));
        }
        this.shared.waker.register(cx.waker());
        // An abort between the check and the registration would be missed otherwise.
        if this.shared.aborted.load(Ordering::Acquire) {
            return Poll::Ready(Err(Aborted));
        }
        this.future.poll(cx).map(Ok)
    }
}

/// An owned permission to join a spawned task: a future of its output.
///
/// Created by [`spawn`]. Resolves to `Ok(output)`, or to a [`JoinError`] saying whether the
/// task was [aborted](Self::abort) or the component-model task ended under it. `Unpin` and
/// [`FusedFuture`], so `&mut handle` goes into `futures::select!`; `Send` when the output
/// is.
///
/// Dropping the handle detaches the task: it keeps running and its output is dropped. Say
/// so with [`detach`](Self::detach); [`abort_on_drop`](Self::abort_on_drop) makes a handle
/// that aborts instead.
///
/// # Cancel safety
///
/// Polling `&mut handle` is cancel-safe: if another `select!` branch wins, the output stays
/// in the handle for a later poll.
#[must_use = "dropping a JoinHandle detaches the task and drops its output; call .detach() to say so"]
pub struct JoinHandle<T> {
    /// `None` once the handle resolved.
    inner: Option<wit_bindgen::JoinHandle<Result<T, Aborted>>>,
    handle: AbortHandle,
}

/// Aborts a spawned task without owning it: tokio's `AbortHandle`.
///
/// Created by [`JoinHandle::abort_handle`] and [`JoinSet::spawn`](super::JoinSet::spawn).
/// Cloneable; aborting through it has the same effect as [`JoinHandle::abort`], and the
/// task's output still goes to its `JoinHandle`.
///
/// # Examples
///
/// ```no_run
/// # async fn work() {}
/// # async fn example() {
/// let handle = wit_futures::task::spawn(work());
/// let abort = handle.abort_handle();
/// abort.abort();
/// assert!(handle.await.unwrap_err().is_cancelled());
/// # }
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    shared: Arc<Shared>,
}

impl AbortHandle {
    /// Aborts the task: its future is dropped the next time the executor reaches it, without
    /// being polled again. If it had finished already, this does nothing, and its
    /// `JoinHandle` still resolves to its output.
    pub fn abort(&self) {
        self.shared.aborted.store(true, Ordering::Release);
        self.shared.waker.wake();
    }

    /// True once the task's future has completed or been dropped (after an abort).
    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::Acquire)
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// Aborts the task: its future is dropped the next time the executor reaches it,
    /// without being polled again.
    ///
    /// If the task finished before the abort took effect, the handle still resolves to its
    /// output; otherwise to a [`JoinError`] with [`is_cancelled`](JoinError::is_cancelled).
    /// Aborting a finished task does nothing.
    pub fn abort(&self) {
        self.handle.abort();
    }

    /// A handle that can abort the task without owning this one.
    pub fn abort_handle(&self) -> AbortHandle {
        self.handle.clone()
    }

    /// True once the task's future has completed or been dropped (after an abort).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
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
        Poll::Ready(match output {
            Some(Ok(output)) => Ok(output),
            Some(Err(Aborted)) => Err(JoinError::ABORTED),
            // The component-model task ended (or was torn down) under the task.
            None => Err(JoinError::ENDED),
        })
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
