//! The one engine under every stream adapter: it owns one end of a `stream<T>` and runs one
//! batched operation on it at a time, and can stop that operation at once, keeping what
//! raced in.
//!
//! wit-bindgen's `StreamRead<'a>` / `StreamWrite<'a>` borrow their end, so an operation
//! cannot be stored next to the end without unsafe code. Instead each operation is one
//! boxed future that owns the end and gives it back with the result (one allocation per
//! batch, never per item). Cancelling polls the operation once with a thread-local flag
//! set, which the operation checks on every poll: wit-bindgen's cancel is synchronous, so
//! that poll finishes it. (The flag is thread-local rather than shared with each operation
//! so that a driver costs no allocation of its own: a short stream is one boxed read.)

use core::cell::Cell;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};

/// An operation on an end: resolves to the end and the operation's result.
type Op<End, Out> = Pin<Box<dyn Future<Output = (End, Out)> + Send>>;

pub(crate) struct Driver<End, Out> {
    state: State<End, Out>,
}

enum State<End, Out> {
    /// No operation in flight.
    Idle(End),
    /// An operation in flight; it owns the end until it finishes.
    Busy(Op<End, Out>),
    /// Only while the state is being replaced.
    Moving,
}

std::thread_local! {
    /// Set only while [`Driver::cancel`] polls the operation in flight. Nothing else runs
    /// meanwhile: an operation's poll is a wit-bindgen read or write, which polls no other
    /// driver's operation, and its cancel is a synchronous call during which no other code
    /// of this thread runs, so the flag is seen by the operation being cancelled alone.
    /// (Should wit-bindgen ever run other code of the thread while a cancel blocks, e.g.
    /// with stackful component-model threads, this must become a flag per operation.)
    static CANCELLING: Cell<bool> = const { Cell::new(false) };
}

/// What an operation checks to stop early; see [`Driver::start`].
#[derive(Clone, Copy)]
pub(crate) struct Cancel(());

impl Cancel {
    /// True while the operation is being cancelled: it must finish in this poll.
    pub(crate) fn is_set(self) -> bool {
        CANCELLING.with(Cell::get)
    }
}

/// Sets [`CANCELLING`] for its lifetime (cleared on unwinding too).
struct Cancelling;

impl Cancelling {
    fn set() -> Self {
        CANCELLING.with(|c| c.set(true));
        Cancelling
    }
}

impl Drop for Cancelling {
    fn drop(&mut self) {
        CANCELLING.with(|c| c.set(false));
    }
}

/// Polls `op` until it finishes, or, once `cancel` is set, cancels it with `stop` (which
/// must finish it at once, as wit-bindgen's cancels do).
pub(crate) async fn cancellable<F: Future>(
    op: F,
    cancel: Cancel,
    stop: impl Fn(Pin<&mut F>) -> F::Output,
) -> F::Output {
    let mut op = pin!(op);
    poll_fn(|cx| {
        if cancel.is_set() {
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
        self.state = State::Busy(Box::pin(op(end, Cancel(()))));
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
        let out = {
            // The flag belongs to this one poll, never to the next operation.
            let _cancelling = Cancelling::set();
            self.poll(&mut Context::from_waker(Waker::noop()))
        };
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
