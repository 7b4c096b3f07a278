use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use futures_core::future::FusedFuture;
use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::cancellation_token::{CancellationToken, WaitForCancellation};
use crate::error::Cancelled;

pin_project! {
    /// Future for [`CancelExt::with_cancel`](super::CancelExt::with_cancel): the inner future's
    /// output, or [`Cancelled`] once the token is cancelled.
    ///
    /// The token is checked before each poll of the inner future (as tokio-util's
    /// `run_until_cancelled` does): once it is cancelled, the inner future is not polled
    /// again, so on a token that is already cancelled it never starts (no read or write
    /// begins). On cancellation the inner future is dropped at once (not when `WithCancel`
    /// is): a read or write in flight inside it does what that future does on drop (a raw
    /// wit-bindgen read is cancelled; a dropped [`Send`](crate::future::Send) still
    /// delivers), and whatever the inner adapter promises to keep on drop is kept (wrap
    /// `&mut adapter` to keep the adapter itself, and what it holds). Fused; `Unpin` when
    /// the inner future is.
    ///
    /// # Cancel safety
    ///
    /// As cancel-safe as the inner future: dropping `WithCancel` drops it.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithCancel<F> {
        #[pin]
        state: State<F>,
        cancelled: WaitForCancellation,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateReplace]
    enum State<F> {
        Running { #[pin] inner: F },
        Done,
    }
}

impl<F> WithCancel<F> {
    pub(crate) fn new(inner: F, token: &CancellationToken) -> Self {
        Self {
            state: State::Running { inner },
            cancelled: token.cancelled(),
        }
    }
}

impl<F: Future> Future for WithCancel<F> {
    type Output = Result<F::Output, Cancelled>;

    /// `Ready(Err(Cancelled))` once the token is cancelled (checked first; the inner future
    /// is dropped), `Ready(Ok(output))` when the inner future completes, `Pending`
    /// otherwise, and `Pending` after it resolved.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let StateProj::Running { inner } = this.state.as_mut().project() else {
            return Poll::Pending;
        };
        if Pin::new(this.cancelled).poll(cx).is_ready() {
            this.state.project_replace(State::Done);
            return Poll::Ready(Err(Cancelled));
        }
        let output = ready!(inner.poll(cx));
        this.state.project_replace(State::Done);
        Poll::Ready(Ok(output))
    }
}

impl<F: Future> FusedFuture for WithCancel<F> {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl<F> fmt::Debug for WithCancel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithCancel")
            .field("done", &matches!(self.state, State::Done))
            .finish()
    }
}

pin_project! {
    /// Stream for [`CancelStreamExt::with_cancel`](super::CancelStreamExt::with_cancel): the
    /// inner stream's items as `Ok`, then a single `Err(Cancelled)` once the token is
    /// cancelled, then the end.
    ///
    /// The token is checked before each item, as [`WithCancel`] does, so a stream that
    /// always has an item ready still stops: once the token is cancelled, the next poll
    /// yields `Err(Cancelled)` without polling the inner stream.
    /// The inner stream is then dropped at once; wrap `&mut stream` to keep it and what it
    /// had not handed out (e.g. to call
    /// [`ItemStream::into_inner`](crate::stream::ItemStream::into_inner) and get back what it
    /// had buffered). Fused; `Unpin` when the inner stream is.
    ///
    /// # Cancel safety
    ///
    /// As cancel-safe as the inner stream.
    #[must_use = "streams do nothing unless polled"]
    pub struct WithCancelStream<S> {
        #[pin]
        state: State<S>,
        cancelled: WaitForCancellation,
        ended: bool,
    }
}

impl<S> WithCancelStream<S> {
    pub(crate) fn new(inner: S, token: &CancellationToken) -> Self {
        Self {
            state: State::Running { inner },
            cancelled: token.cancelled(),
            ended: false,
        }
    }
}

impl<S: Stream> Stream for WithCancelStream<S> {
    type Item = Result<S::Item, Cancelled>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let StateProj::Running { inner } = this.state.as_mut().project() else {
            *this.ended = true;
            return Poll::Ready(None);
        };
        // The token first: a stream that always has an item ready must still stop.
        if Pin::new(this.cancelled).poll(cx).is_ready() {
            this.state.project_replace(State::Done);
            return Poll::Ready(Some(Err(Cancelled)));
        }
        let item = ready!(inner.poll_next(cx));
        if item.is_none() {
            this.state.project_replace(State::Done);
            *this.ended = true;
        }
        Poll::Ready(item.map(Ok))
    }
}

impl<S: Stream> FusedStream for WithCancelStream<S> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<S> fmt::Debug for WithCancelStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithCancelStream")
            .field("running", &matches!(self.state, State::Running { .. }))
            .field("ended", &self.ended)
            .finish()
    }
}
