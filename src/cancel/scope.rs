use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;

use super::cancellation_token::{CancellationToken, DropGuard};

/// Runs `body` with a token that is cancelled if the returned future is dropped before it
/// finishes: ties cancellation to the current export call.
///
/// When a caller cancels an async export call, wit-bindgen drops the export's future at its
/// next poll; nothing inside it runs again, but tasks it [spawned](crate::task::spawn) do.
/// Run the export's body in a `scope` and hand the token to the spawned work: when the call
/// is cancelled the token is cancelled, so that work can clean up (hang up streams, hand
/// values back, record what happened). If the body finishes, the token is left alone.
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
/// use wit_futures::cancel::{CancelStreamExt, scope};
/// use wit_futures::prelude::*;
/// # async fn example(input: wit_bindgen::StreamReader<u32>) -> u64 {
/// // In an async export:
/// scope(|token| async move {
///     let summing = wit_futures::task::spawn(async move {
///         let mut sum = 0;
///         let mut items = input.into_item_stream().with_cancel(&token);
///         while let Some(Ok(v)) = items.next().await {
///             sum += u64::from(v);
///         }
///         // Runs even if the export call was cancelled.
///         println!("summed {sum} before the end or the cancellation");
///         sum
///     });
///     summing.await.unwrap()
/// })
/// .await
/// # }
/// ```
pub fn scope<F, Fut>(body: F) -> Scope<Fut>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future,
{
    let token = CancellationToken::new();
    Scope {
        guard: Some(token.clone().drop_guard()),
        body: body(token),
    }
}

pin_project! {
    /// Future for [`scope`]: the body's output; cancels the scope's token if dropped before.
    ///
    /// Fused; `Unpin` when the body is.
    ///
    /// # Cancel safety
    ///
    /// Dropping it is exactly what it reports: the token is cancelled.
    #[must_use = "futures do nothing unless polled"]
    pub struct Scope<Fut> {
        #[pin]
        body: Fut,
        // `None` once the body finished.
        guard: Option<DropGuard>,
    }
}

impl<Fut: Future> Future for Scope<Fut> {
    type Output = Fut::Output;

    /// The body's output when it finishes; `Pending` before, and after it resolved.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        let this = self.project();
        let Some(guard) = this.guard.take() else {
            return Poll::Pending;
        };
        match this.body.poll(cx) {
            Poll::Ready(output) => {
                guard.disarm();
                Poll::Ready(output)
            }
            Poll::Pending => {
                *this.guard = Some(guard);
                Poll::Pending
            }
        }
    }
}

impl<Fut: Future> FusedFuture for Scope<Fut> {
    fn is_terminated(&self) -> bool {
        self.guard.is_none()
    }
}

impl<Fut> fmt::Debug for Scope<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("finished", &self.guard.is_none())
            .finish()
    }
}
