//! Cancellation: [`CancellationToken`], the [`with_cancel`](CancelExt::with_cancel)
//! combinator for futures and streams, and [`scope`], which ties a token to the current
//! export call so that cleanup runs when the caller cancels it.

mod cancellation_token;
mod scope;
mod with_cancel;

pub use self::cancellation_token::{CancellationToken, DropGuard, WaitForCancellation};
pub use self::scope::{Scope, scope};
pub use self::with_cancel::{WithCancel, WithCancelStream};
pub use crate::error::Cancelled;

use core::future::Future;

use futures_core::Stream;

/// [`with_cancel`](Self::with_cancel) for every future.
pub trait CancelExt: Future + Sized {
    /// Runs this future until `token` is cancelled: resolves to `Ok(output)`, or to
    /// `Err(Cancelled)` after dropping the future; a read or write in flight inside it then
    /// does what that future does on drop (see the crate's cancel-safety table).
    ///
    /// ```no_run
    /// use wit_futures::cancel::{CancelExt, CancellationToken};
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::FutureReader<u32>, token: CancellationToken) {
    /// let mut rx = reader.into_oneshot();
    /// match (&mut rx).with_cancel(&token).await {
    ///     Ok(value) => println!("{value:?}"),
    ///     // `rx` was only borrowed: a value that raced in is still inside it.
    ///     Err(_cancelled) => println!("cancelled; {:?}", rx.into_inner()),
    /// }
    /// # }
    /// ```
    fn with_cancel(self, token: &CancellationToken) -> WithCancel<Self> {
        WithCancel::new(self, token)
    }
}

impl<F: Future> CancelExt for F {}

/// [`with_cancel`](Self::with_cancel) for every stream.
pub trait CancelStreamExt: Stream + Sized {
    /// Passes this stream's items on as `Ok` until `token` is cancelled (checked before each
    /// item); then drops the stream and yields one `Err(Cancelled)`.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use wit_futures::cancel::{CancelStreamExt, CancellationToken};
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<u32>, token: CancellationToken) {
    /// let mut items = reader.into_item_stream();
    /// let mut until_cancelled = (&mut items).with_cancel(&token);
    /// while let Some(Ok(item)) = until_cancelled.next().await {
    ///     println!("{item}");
    /// }
    /// let (_reader, unread) = items.into_inner(); // nothing buffered is lost
    /// # }
    /// ```
    fn with_cancel(self, token: &CancellationToken) -> WithCancelStream<Self> {
        WithCancelStream::new(self, token)
    }
}

impl<S: Stream> CancelStreamExt for S {}
