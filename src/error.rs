//! Error types. Every error that stands for an undelivered value carries that value back.

use core::fmt;

pub use futures_channel::oneshot::Canceled;

/// Error of a [`Send`](crate::future::Send): the reader of the `future<T>` was dropped before
/// it took the value.
///
/// The value that could not be delivered is handed back, unchanged.
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a SendError carries the value that was not delivered"]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Returns the value that was not delivered.
    #[must_use = "dropping it drops the value that was not delivered"]
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("future reader dropped")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Error of a [`StreamSink`](crate::stream::StreamSink) (and of the pumps and writers built
/// on it): the reader of the `stream<T>` was dropped, so these items were not delivered.
///
/// The items are every item the sink had accepted and the reader did not take, in order;
/// partial writes are counted exactly. A sink hands each item back once: a later error
/// carries only items passed to the sink after the first one.
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a SinkError carries the items that were not delivered"]
pub struct SinkError<T> {
    unsent: Vec<T>,
}

impl<T> SinkError<T> {
    pub(crate) fn new(unsent: Vec<T>) -> Self {
        Self { unsent }
    }

    pub(crate) fn push(&mut self, item: T) {
        self.unsent.push(item);
    }

    pub(crate) fn extend(&mut self, items: Vec<T>) {
        self.unsent.extend(items);
    }

    /// The items that were not delivered.
    pub fn unsent(&self) -> &[T] {
        &self.unsent
    }

    /// Returns the items that were not delivered.
    #[must_use = "dropping them drops the items that were not delivered"]
    pub fn into_unsent(self) -> Vec<T> {
        self.unsent
    }
}

impl<T> fmt::Debug for SinkError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkError")
            .field("unsent", &self.unsent.len())
            .finish()
    }
}

impl<T> fmt::Display for SinkError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stream reader dropped; {} items not delivered",
            self.unsent.len()
        )
    }
}

impl<T> std::error::Error for SinkError<T> {}

/// Error of [`with_cancel`](crate::cancel::CancelExt::with_cancel): the token was cancelled
/// before the work finished.
///
/// Spelled as tokio-util spells it (`CancellationToken::cancelled`), as is every name this
/// crate chose. The one `Canceled` in the API, [`Canceled`], is futures-channel's own type,
/// re-exported so that [`Receiver`](crate::future::Receiver) resolves to exactly what a
/// `futures_channel::oneshot::Receiver` does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Error of a [`JoinHandle`](crate::task::JoinHandle): the task did not produce its output.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct JoinError {
    aborted: bool,
}

impl JoinError {
    pub(crate) const ABORTED: Self = Self { aborted: true };
    pub(crate) const ENDED: Self = Self { aborted: false };

    /// The task was stopped by [`JoinHandle::abort`](crate::task::JoinHandle::abort) (or an
    /// [`AbortHandle`](crate::task::AbortHandle), a `JoinSet`'s `abort_all`, a dropped
    /// `AbortOnDropHandle`): tokio's name for the same.
    pub fn is_cancelled(&self) -> bool {
        self.aborted
    }

    /// The component-model task that ran the task ended (or was torn down) before the task
    /// finished, without anyone aborting it. (tokio has no such case; it is not a panic:
    /// a panicking guest traps, and nothing runs on to report it.)
    pub fn is_task_ended(&self) -> bool {
        !self.aborted
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.aborted {
            "task aborted"
        } else {
            "component-model task ended before the task finished"
        })
    }
}

impl std::error::Error for JoinError {}

/// Error of [`BodyWriter::send`](crate::http::BodyWriter::send): how pumping a body into a
/// component-model `stream<u8>` + `future<result<option<T>, E>>` went wrong.
///
/// Whatever was not delivered comes back: the body's own error, the trailers that could
/// not be converted, the bytes the stream's reader did not take, or the value the future's
/// reader did not take. `Debug` shows which case, never a payload.
#[cfg(feature = "http")]
#[non_exhaustive]
#[must_use = "a SendBodyError carries what was not delivered"]
pub enum SendBodyError<B, T, E> {
    /// The body returned this error; the stream was closed after the data before it, and
    /// the future got the error as `map_err` turned it into `E`.
    Body(B),
    /// The body's trailers could not be turned into `T`; the future got the conversion's
    /// error instead.
    Trailers(http::HeaderMap),
    /// The stream's reader hung up: `written` bytes were delivered, `unsent` had been taken
    /// from the body and were not (including the rest of a data frame being copied); the
    /// rest of the body was dropped unread, and the future got its default value. (A body
    /// that failed before the reader hung up reports its own error, [`Body`](Self::Body).)
    ContentsClosed {
        /// Bytes the reader took.
        written: u64,
        /// Bytes taken from the body that the reader did not take, in order.
        unsent: Vec<u8>,
    },
    /// Every byte was delivered, but the future's reader was gone: here is the value it did
    /// not take.
    EndClosed(Result<Option<T>, E>),
}

#[cfg(feature = "http")]
impl<B, T, E> fmt::Debug for SendBodyError<B, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body(_) => f.debug_tuple("Body").finish_non_exhaustive(),
            Self::Trailers(map) => f.debug_tuple("Trailers").field(&map.len()).finish(),
            Self::ContentsClosed { written, unsent } => f
                .debug_struct("ContentsClosed")
                .field("written", written)
                .field("unsent", &unsent.len())
                .finish(),
            Self::EndClosed(_) => f.debug_tuple("EndClosed").finish_non_exhaustive(),
        }
    }
}

#[cfg(feature = "http")]
impl<B: fmt::Display, T, E> fmt::Display for SendBodyError<B, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body(e) => write!(f, "body failed: {e}"),
            Self::Trailers(map) => write!(f, "{} trailers could not be converted", map.len()),
            Self::ContentsClosed { written, unsent } => write!(
                f,
                "body reader dropped after {written} bytes; {} bytes not delivered",
                unsent.len()
            ),
            Self::EndClosed(_) => f.write_str("body end reader dropped"),
        }
    }
}

#[cfg(feature = "http")]
impl<B: std::error::Error + 'static, T, E> std::error::Error for SendBodyError<B, T, E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Body(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_error_gives_the_value_back_and_hides_it_in_debug() {
        let e = SendError(String::from("secret"));
        assert_eq!(format!("{e:?}"), "SendError(..)");
        assert_eq!(e.to_string(), "future reader dropped");
        assert_eq!(e.into_inner(), "secret");
    }

    #[test]
    fn sink_error_counts_unsent_items_without_printing_them() {
        let e = SinkError::new(vec![1, 2, 3]);
        assert_eq!(format!("{e:?}"), "SinkError { unsent: 3 }");
        assert_eq!(
            e.to_string(),
            "stream reader dropped; 3 items not delivered"
        );
        assert_eq!(e.unsent(), [1, 2, 3]);
        assert_eq!(e.into_unsent(), [1, 2, 3]);
    }

    #[test]
    fn join_error_says_why() {
        assert!(JoinError::ABORTED.is_cancelled());
        assert!(!JoinError::ABORTED.is_task_ended());
        assert!(JoinError::ENDED.is_task_ended());
        assert_eq!(JoinError::ABORTED.to_string(), "task aborted");
    }
}
