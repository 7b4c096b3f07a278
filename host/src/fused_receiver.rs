//! The one fused oneshot receiver under every host future that waits for a value from the
//! store ([`GuestFuture`](crate::future::GuestFuture),
//! [`ReadDone`](crate::stream::ReadDone)).

use core::pin::Pin;
use core::task::{Context, Poll};

use futures_channel::oneshot;

/// A `oneshot::Receiver` that is `Pending` forever once it resolved.
pub(crate) struct FusedReceiver<T> {
    /// `None` once the value (or the sender's drop) was handed out.
    rx: Option<oneshot::Receiver<T>>,
}

impl<T> FusedReceiver<T> {
    pub(crate) fn new(rx: oneshot::Receiver<T>) -> Self {
        Self { rx: Some(rx) }
    }

    /// `Ready(Ok(value))`, or `Ready(Err(Canceled))` if the sender was dropped unsent; once,
    /// then `Pending`.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, oneshot::Canceled>> {
        let Some(rx) = &mut self.rx else {
            return Poll::Pending;
        };
        let value = core::task::ready!(Pin::new(rx).poll(cx));
        self.rx = None;
        Poll::Ready(value)
    }

    /// True once the outcome was handed out.
    pub(crate) fn is_terminated(&self) -> bool {
        self.rx.is_none()
    }
}
