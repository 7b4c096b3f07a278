use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;
use futures_core::stream::{FusedStream, Stream};
use futures_util::stream::FuturesUnordered;

use super::{AbortHandle, JoinHandle, spawn};
use crate::error::JoinError;

/// A group of spawned tasks, joined in the order they finish.
///
/// Shaped after tokio's `JoinSet`: [`spawn`](Self::spawn) many tasks,
/// [`join_next`](Self::join_next) each output as it is ready, [`abort_all`](Self::abort_all).
/// Dropping the set aborts every task still in it. Also a [`Stream`] of the outputs (fused;
/// it ends whenever the set is empty and resumes after a new `spawn`).
///
/// # Cancel safety
///
/// `join_next` is cancel-safe: if its future is dropped (e.g. a lost `select!` branch), no
/// output is lost; the task stays in the set.
///
/// # Examples
///
/// ```no_run
/// use wit_futures::task::JoinSet;
/// # async fn fetch(i: u32) -> u32 { i }
/// # async fn example() {
/// let mut set = JoinSet::new();
/// for i in 0..10 {
///     set.spawn(fetch(i));
/// }
/// let mut total = 0;
/// while let Some(output) = set.join_next().await {
///     total += output.unwrap();
/// }
/// # }
/// ```
#[must_use = "dropping a JoinSet aborts its tasks"]
pub struct JoinSet<T> {
    tasks: FuturesUnordered<JoinHandle<T>>,
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            tasks: FuturesUnordered::new(),
        }
    }

    /// Tasks in the set: spawned and not yet joined.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Aborts every task in the set. They stay in the set until joined: their outputs are
    /// `Err(JoinError)` with [`is_cancelled`](JoinError::is_cancelled), or `Ok` for a task that
    /// finished before the abort took effect.
    pub fn abort_all(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }

    /// Lets every task run on without the set; their outputs are dropped.
    pub fn detach_all(&mut self) {
        self.tasks.clear();
    }

    /// Polls for the output of the next task to finish: `Ready(None)` when the set is
    /// empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        Pin::new(&mut self.tasks).poll_next(cx)
    }

    /// Waits for the next task to finish and returns its output; `None` when the set is
    /// empty. Cancel-safe.
    pub fn join_next(&mut self) -> JoinNext<'_, T> {
        JoinNext {
            set: self,
            done: false,
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `future` (see [`spawn`]) into the set and returns a handle that can abort it
    /// (the task stays in the set until joined).
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task, where nothing can be spawned.
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let handle = spawn(future);
        let abort = handle.abort_handle();
        self.tasks.push(handle);
        abort
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> Stream for JoinSet<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<T> FusedStream for JoinSet<T> {
    fn is_terminated(&self) -> bool {
        self.tasks.is_terminated()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// Future for [`JoinSet::join_next`]. `Unpin` and fused.
#[must_use = "futures do nothing unless polled"]
pub struct JoinNext<'a, T> {
    set: &'a mut JoinSet<T>,
    done: bool,
}

impl<T> Future for JoinNext<'_, T> {
    type Output = Option<Result<T, JoinError>>;

    /// The next output (`None` if the set is empty); `Pending` after it resolved.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.done {
            return Poll::Pending;
        }
        let output = core::task::ready!(self.set.poll_join_next(cx));
        self.done = true;
        Poll::Ready(output)
    }
}

impl<T> FusedFuture for JoinNext<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> fmt::Debug for JoinNext<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNext").field("set", &self.set).finish()
    }
}
