use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;

use super::JoinHandle;
use crate::error::JoinError;

/// A [`JoinHandle`] that aborts its task when dropped.
///
/// Created by [`JoinHandle::abort_on_drop`] or [`AbortOnDropHandle::new`]; shaped after
/// tokio-util's `AbortOnDropHandle`. A future of the task's output, `Unpin` and fused, like
/// the handle it wraps.
///
/// # Cancel safety
///
/// Polling `&mut handle` is cancel-safe. Dropping the handle aborts the task: the task's
/// future is dropped at the next point the executor reaches it, and with it whatever it
/// held (adapters inside it cancel their component reads and writes).
///
/// # Examples
///
/// ```no_run
/// # async fn work() {}
/// # async fn example() {
/// let handle = wit_futures::task::spawn(work()).abort_on_drop();
/// drop(handle); // the task is aborted
/// # }
/// ```
#[must_use = "dropping an AbortOnDropHandle aborts the task"]
pub struct AbortOnDropHandle<T>(Option<JoinHandle<T>>);

impl<T> AbortOnDropHandle<T> {
    /// Wraps `handle` so that dropping it aborts the task.
    pub fn new(handle: JoinHandle<T>) -> Self {
        Self(Some(handle))
    }

    fn handle(&self) -> &JoinHandle<T> {
        self.0
            .as_ref()
            .expect("AbortOnDropHandle holds its handle until dropped")
    }

    fn handle_mut(&mut self) -> &mut JoinHandle<T> {
        self.0
            .as_mut()
            .expect("AbortOnDropHandle holds its handle until dropped")
    }

    /// Aborts the task now; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.handle().abort();
    }

    /// A handle that can abort the task without owning this one.
    pub fn abort_handle(&self) -> super::AbortHandle {
        self.handle().abort_handle()
    }

    /// True once the task's future completed or was dropped.
    pub fn is_finished(&self) -> bool {
        self.handle().is_finished()
    }

    /// Stops aborting on drop and gives back the plain handle (tokio-util's `detach`):
    /// dropping that one detaches the task instead.
    pub fn detach(mut self) -> JoinHandle<T> {
        self.0
            .take()
            .expect("AbortOnDropHandle holds its handle until dropped")
    }
}

impl<T> Drop for AbortOnDropHandle<T> {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.abort();
        }
    }
}

impl<T> Future for AbortOnDropHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(self.handle_mut()).poll(cx)
    }
}

impl<T> FusedFuture for AbortOnDropHandle<T> {
    fn is_terminated(&self) -> bool {
        self.handle().is_terminated()
    }
}

impl<T> fmt::Debug for AbortOnDropHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AbortOnDropHandle").field(&self.0).finish()
    }
}
