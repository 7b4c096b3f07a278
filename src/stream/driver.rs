//! The one engine under every stream adapter: it owns one end of a `stream<T>` and runs one
//! batched operation on it at a time, and can stop that operation at once, keeping what
//! raced in.
//!
//! wit-bindgen's `StreamRead<'a>` / `StreamWrite<'a>` borrow their end, so an operation
//! cannot be stored next to the end without unsafe code. Instead each operation is one
//! boxed future that owns the end and gives it back with the result (one allocation per
//! batch, never per item). Cancelling sets a flag that the operation checks on every poll
//! and then polls it once: wit-bindgen's cancel is synchronous, so that poll finishes it.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;

/// An operation on an end: resolves to the end and the operation's result.
type Op<End, Out> = Pin<Box<dyn Future<Output = (End, Out)> + Send>>;

pub(crate) struct Driver<End, Out> {
    state: State<End, Out>,
    /// Set only while [`Driver::cancel`] polls the operation in flight.
    cancel: Arc<AtomicBool>,
}

enum State<End, Out> {
    /// No operation in flight.
    Idle(End),
    /// An operation in flight; it owns the end until it finishes.
    Busy(Op<End, Out>),
    /// Only while the state is being replaced.
    Moving,
}

/// The flag an operation checks to stop early; see [`Driver::start`].
pub(crate) type Cancel = Arc<AtomicBool>;

/// Polls `op` until it finishes, or, once `cancel` is set, cancels it with `stop` (which
/// must finish it at once, as wit-bindgen's cancels do).
pub(crate) async fn cancellable<F: Future>(
    op: F,
    cancel: &Cancel,
    stop: impl Fn(Pin<&mut F>) -> F::Output,
) -> F::Output {
    let mut op = pin!(op);
    poll_fn(|cx| {
        if cancel.load(Ordering::Acquire) {
            return Poll::Ready(stop(op.as_mut()));
        }
        op.as_mut().poll(cx)
    })
    .await
}

impl<End: Send + 'static, Out: Send + 'static> Driver<End, Out> {
    pub(crate) fn new(end: End) -> Self {
        Self {
            state: State::Idle(end),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// True while an operation is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        matches!(self.state, State::Busy(_))
    }

    /// Starts `op` on the end; the driver must be idle. `op` gets the end and the flag to
    /// check (with [`cancellable`]) and must resolve to the end and its result.
    pub(crate) fn start<F, Fut>(&mut self, op: F)
    where
        F: FnOnce(End, Cancel) -> Fut,
        Fut: Future<Output = (End, Out)> + Send + 'static,
    {
        let State::Idle(end) = core::mem::replace(&mut self.state, State::Moving) else {
            unreachable!("an operation started while another is in flight")
        };
        self.state = State::Busy(Box::pin(op(end, self.cancel.clone())));
    }

    /// Polls the operation in flight: `Ready` with its result once it finished (the driver
    /// is then idle). `Pending` if none is in flight.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Out> {
        let State::Busy(op) = &mut self.state else {
            return Poll::Pending;
        };
        let (end, out) = core::task::ready!(op.as_mut().poll(cx));
        self.state = State::Idle(end);
        Poll::Ready(out)
    }

    /// Stops the operation in flight, if any, and returns its result: what raced in before
    /// it stopped. The driver is idle afterwards.
    pub(crate) fn cancel(&mut self) -> Option<Out> {
        if !self.in_flight() {
            return None;
        }
        self.cancel.store(true, Ordering::Release);
        let out = self.poll(&mut Context::from_waker(Waker::noop()));
        // The flag belongs to this one cancellation, never to the next operation.
        self.cancel.store(false, Ordering::Release);
        match out {
            Poll::Ready(out) => Some(out),
            Poll::Pending => unreachable!("a cancelled operation finishes at once"),
        }
    }

    /// Stops the operation in flight (returning its result) and gives back the end.
    pub(crate) fn into_end(mut self) -> (End, Option<Out>) {
        let out = self.cancel();
        match self.state {
            State::Idle(end) => (end, out),
            State::Busy(_) | State::Moving => unreachable!("idle after a cancel"),
        }
    }
}
