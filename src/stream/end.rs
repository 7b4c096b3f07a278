//! The end future that comes with a stream in the WASI 0.3 shape (`stream<T>` plus
//! `future<result<..>>`), read while the stream is: shared by
//! [`TryItemStream`](super::TryItemStream) and the HTTP body.
//!
//! A writer may write the end future before it closes the stream (wasip3's `http_compat`
//! does on a body error), and that write waits until it is read: a reader that waited for
//! the stream to end before reading the future would wait forever, and so would the
//! writer. So the end's read is in flight whenever a read of the stream waits, and its value
//! is kept once it arrives. It is not started while the stream's reads complete at once: a
//! host resolves the end only after the stream (wasmtime-wasi-http does), so reading it
//! then would add a wait to every short body for nothing.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;

use crate::future::{Receiver, Recovered};

pub(crate) enum End<T: 'static> {
    /// The value has not arrived (its read may be in flight).
    Waiting(Receiver<T>),
    /// The value arrived and was not handed out yet.
    Arrived(T),
    /// The value was handed out.
    Handed,
}

impl<T: 'static> End<T> {
    pub(crate) fn new(receiver: Receiver<T>) -> Self {
        if receiver.is_terminated() {
            Self::Handed
        } else {
            Self::Waiting(receiver)
        }
    }

    /// Starts or goes on with the read of the value, keeping it if it arrives: `cx` is woken
    /// when it does. `Canceled` (only after `Receiver::close`, which no user of this calls)
    /// counts as `default`.
    pub(crate) fn poll_arrival(&mut self, cx: &mut Context<'_>, default: impl FnOnce() -> T) {
        if let Self::Waiting(receiver) = self
            && let Poll::Ready(value) = Pin::new(receiver).poll(cx)
        {
            *self = Self::Arrived(value.unwrap_or_else(|_| default()));
        }
    }

    /// Waits for the value and hands it out: `None` if it was handed out already.
    pub(crate) fn poll_take(
        &mut self,
        cx: &mut Context<'_>,
        default: impl FnOnce() -> T,
    ) -> Poll<Option<T>> {
        self.poll_arrival(cx, default);
        match core::mem::replace(self, Self::Handed) {
            Self::Arrived(value) => Poll::Ready(Some(value)),
            Self::Handed => Poll::Ready(None),
            waiting @ Self::Waiting(_) => {
                *self = waiting;
                Poll::Pending
            }
        }
    }

    /// True once the value was handed out.
    pub(crate) fn is_handed(&self) -> bool {
        matches!(self, Self::Handed)
    }

    /// Stops the read in flight, keeping a value that raced in.
    pub(crate) fn park(&mut self) {
        if let Self::Waiting(receiver) = self {
            receiver.park();
        }
    }

    /// The receiver of the value: settled with it if it arrived, terminated if it was
    /// handed out.
    pub(crate) fn into_receiver(self) -> Receiver<T> {
        match self {
            Self::Waiting(receiver) => receiver,
            Self::Arrived(value) => Receiver::from_recovered(Recovered::Value(value)),
            Self::Handed => Receiver::terminated(),
        }
    }

    /// The state's name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Waiting(_) => "waiting",
            Self::Arrived(_) => "arrived",
            Self::Handed => "handed out",
        }
    }
}
