use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use futures_core::future::FusedFuture;

/// A token that signals cancellation to every task holding a clone of it or of one of its
/// children.
///
/// Shaped after tokio-util's `CancellationToken`: [`cancel`](Self::cancel) wakes every
/// [`cancelled`](Self::cancelled) future of this token and of its
/// [children](Self::child_token) (recursively); cancelling a child does not cancel its
/// parent. Clones share one state. Runtime-agnostic, `Send + Sync`; the future it returns is
/// `'static`, `Unpin` and fused, so it goes straight into `futures::select!`.
///
/// # Examples
///
/// ```no_run
/// use wit_futures::cancel::CancellationToken;
/// # async fn example() {
/// let token = CancellationToken::new();
/// let child = token.child_token();
/// let worker = wit_futures::task::spawn(async move {
///     futures::select! {
///         () = child.cancelled() => "cancelled",
///         () = futures::future::pending::<()>() => unreachable!(),
///     }
/// });
/// token.cancel();
/// assert_eq!(worker.await.unwrap(), "cancelled");
/// # }
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    state: Mutex<State>,
    /// Keeps the chain to the root alive while this node lives: a grandchild must be
    /// cancelled with its grandparent even if the child token in between was dropped.
    _parent: Option<Arc<Node>>,
}

#[derive(Default)]
struct State {
    cancelled: bool,
    /// Wakers of pending `WaitForCancellation` futures, by key; `None` marks a free slot.
    waiters: Vec<Option<Waker>>,
    children: Vec<Weak<Node>>,
}

fn lock(node: &Node) -> MutexGuard<'_, State> {
    node.state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl CancellationToken {
    /// A new token, not cancelled.
    pub fn new() -> Self {
        Self::with_parent(None)
    }

    fn with_parent(parent: Option<Arc<Node>>) -> Self {
        Self {
            node: Arc::new(Node {
                state: Mutex::new(State::default()),
                _parent: parent,
            }),
        }
    }

    /// A new token that is cancelled when this one is (already cancelled if this one is);
    /// cancelling it does not cancel this one.
    pub fn child_token(&self) -> Self {
        let child = Self::with_parent(Some(self.node.clone()));
        let mut state = lock(&self.node);
        if state.cancelled {
            lock(&child.node).cancelled = true;
        } else {
            state.children.retain(|c| c.strong_count() > 0);
            state.children.push(Arc::downgrade(&child.node));
        }
        child
    }

    /// Cancels this token and its children, waking every task waiting on
    /// [`cancelled`](Self::cancelled). Idempotent.
    pub fn cancel(&self) {
        let mut pending = vec![self.node.clone()];
        while let Some(node) = pending.pop() {
            let (waiters, children) = {
                let mut state = lock(&node);
                if state.cancelled {
                    continue;
                }
                state.cancelled = true;
                (
                    core::mem::take(&mut state.waiters),
                    core::mem::take(&mut state.children),
                )
            };
            // Wake outside the lock: a waker may run code that touches this token.
            waiters.into_iter().flatten().for_each(Waker::wake);
            pending.extend(children.iter().filter_map(Weak::upgrade));
        }
    }

    /// True once this token (or an ancestor) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        lock(&self.node).cancelled
    }

    /// A future that resolves once this token is cancelled. Cancel-safe; `'static`.
    pub fn cancelled(&self) -> WaitForCancellation {
        WaitForCancellation {
            node: self.node.clone(),
            key: None,
            done: false,
        }
    }

    /// A guard that cancels this token when dropped, unless [disarmed](DropGuard::disarm).
    ///
    /// ```no_run
    /// use wit_futures::cancel::CancellationToken;
    /// # async fn work(_: CancellationToken) {}
    /// # async fn example() {
    /// let token = CancellationToken::new();
    /// let guard = token.clone().drop_guard();
    /// work(token).await; // if this is dropped mid-way, `guard` cancels the token
    /// guard.disarm();
    /// # }
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }
}

impl Default for CancellationToken {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Future of [`CancellationToken::cancelled`]: resolves once the token is cancelled.
///
/// `Unpin`, `'static` and fused ([`is_terminated`](FusedFuture::is_terminated) is true once
/// it returned `Ready`; later polls return `Ready` again).
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only removes its waker from the token.
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellation {
    node: Arc<Node>,
    /// Slot of this future's waker in the token's waiter list.
    key: Option<usize>,
    done: bool,
}

impl Future for WaitForCancellation {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut state = lock(&this.node);
        if state.cancelled {
            drop(state);
            this.key = None;
            this.done = true;
            return Poll::Ready(());
        }
        match this.key {
            Some(key) => match &mut state.waiters[key] {
                // Polled again by the same task (e.g. before every item of a stream).
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            },
            None => {
                let key = match state.waiters.iter().position(Option::is_none) {
                    Some(free) => free,
                    None => {
                        state.waiters.push(None);
                        state.waiters.len() - 1
                    }
                };
                state.waiters[key] = Some(cx.waker().clone());
                this.key = Some(key);
            }
        }
        Poll::Pending
    }
}

impl FusedFuture for WaitForCancellation {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for WaitForCancellation {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut state = lock(&self.node);
            // After a cancel the list was taken; the slot may be gone.
            if let Some(slot) = state.waiters.get_mut(key) {
                *slot = None;
            }
        }
    }
}

impl fmt::Debug for WaitForCancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellation")
            .field("done", &self.done)
            .finish()
    }
}

/// Cancels its token when dropped, unless disarmed. Created by
/// [`CancellationToken::drop_guard`].
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuard {
    /// `None` once disarmed.
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives back the token without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a DropGuard holds its token until dropped")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(f: &mut WaitForCancellation, wakes: &Arc<CountWakes>) -> Poll<()> {
        let waker = Waker::from(wakes.clone());
        Pin::new(f).poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn cancel_wakes_waiters_of_the_token_and_its_children() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let token = CancellationToken::new();
        let child = token.child_token();
        let grandchild = child.child_token();
        let mut waits = [token.cancelled(), child.cancelled(), grandchild.cancelled()];
        for w in &mut waits {
            assert_eq!(poll(w, &wakes), Poll::Pending);
            assert!(!w.is_terminated());
        }
        token.cancel();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 3);
        for w in &mut waits {
            assert_eq!(poll(w, &wakes), Poll::Ready(()));
            assert!(w.is_terminated());
        }
        assert!(grandchild.is_cancelled());
    }

    #[test]
    fn cancelling_a_child_leaves_the_parent() {
        let token = CancellationToken::new();
        let child = token.child_token();
        child.cancel();
        assert!(child.is_cancelled());
        assert!(!token.is_cancelled());
    }

    #[test]
    fn child_of_a_cancelled_token_starts_cancelled() {
        let token = CancellationToken::new();
        token.cancel();
        assert!(token.child_token().is_cancelled());
    }

    #[test]
    fn repolling_reuses_the_waker_slot_and_drop_frees_it() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let token = CancellationToken::new();
        let mut a = token.cancelled();
        for _ in 0..10 {
            assert_eq!(poll(&mut a, &wakes), Poll::Pending);
        }
        assert_eq!(lock(&token.node).waiters.len(), 1);
        drop(a);
        let mut b = token.cancelled();
        assert_eq!(poll(&mut b, &wakes), Poll::Pending);
        assert_eq!(
            lock(&token.node).waiters.len(),
            1,
            "the freed slot is reused"
        );
        token.cancel();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn grandchild_is_cancelled_even_if_the_child_in_between_was_dropped() {
        let token = CancellationToken::new();
        let grandchild = token.child_token().child_token();
        token.cancel();
        assert!(grandchild.is_cancelled());
    }

    #[test]
    fn dead_children_are_pruned() {
        let token = CancellationToken::new();
        for _ in 0..100 {
            drop(token.child_token());
        }
        assert!(lock(&token.node).children.len() <= 1);
    }

    #[test]
    fn drop_guard_cancels_unless_disarmed() {
        let token = CancellationToken::new();
        token.clone().drop_guard().disarm();
        assert!(!token.is_cancelled());
        drop(token.clone().drop_guard());
        assert!(token.is_cancelled());
    }

    #[test]
    fn auto_traits() {
        fn is_send_sync_unpin<T: Send + Sync + Unpin + 'static>() {}
        is_send_sync_unpin::<CancellationToken>();
        is_send_sync_unpin::<WaitForCancellation>();
        is_send_sync_unpin::<DropGuard>();
    }
}
