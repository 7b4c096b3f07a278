use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use wit_bindgen::{FutureReader, StreamReader};

use super::end::End;
use super::item_stream::ItemStream;
use crate::future::Receiver;

/// The WASI 0.3 pattern of a `stream<T>` plus a `future<result<_, E>>` that says how it
/// ended, as one [`Stream`] of `Result<T, E>`.
///
/// Created by [`StreamReaderExt::into_try_stream`](super::StreamReaderExt::into_try_stream).
/// Yields `Ok(item)` for every item; when the stream ends, waits for the end future and
/// yields `Err(e)` if it reports an error, then ends. [`FusedStream`], `Unpin`, `Send`.
///
/// The end future is read whenever a read of the items waits (not before items at hand),
/// so a writer that writes it before closing the stream (wasip3's `http_compat` does on an
/// error) is never left waiting; its value is kept and handed out after the items, as
/// always.
///
/// # Cancel safety
///
/// As [`ItemStream`]: every poll is cancel-safe.
///
/// # Examples
///
/// ```no_run
/// use futures::TryStreamExt;
/// use wit_futures::prelude::*;
/// # async fn example(
/// #     data: wit_bindgen::StreamReader<u8>,
/// #     end: wit_bindgen::FutureReader<Result<(), String>>,
/// # ) -> Result<(), String> {
/// // e.g. from wasi:filesystem's `read-via-stream`
/// let bytes: Vec<u8> = data.into_try_stream(end).try_collect().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct TryItemStream<T: Send + 'static, E: 'static> {
    items: ItemStream<T>,
    end: End<Result<(), E>>,
}

// Items are only moved, never pinned.
impl<T: Send, E> Unpin for TryItemStream<T, E> {}

impl<T: Send + 'static, E: 'static> TryItemStream<T, E> {
    pub(crate) fn new(items: StreamReader<T>, end: FutureReader<Result<(), E>>) -> Self {
        Self::from_parts(ItemStream::new(items), Receiver::new(end))
    }

    /// Stops whatever is in flight, keeping what raced in: a read of the items, or of the
    /// end future; see [`ItemStream::park`] and [`Receiver::park`].
    pub fn park(&mut self) {
        self.items.park();
        self.end.park();
    }

    /// Gives back the two parts, to take apart further (`into_inner` on each) or to
    /// rebuild this stream with [`from_parts`](Self::from_parts). The receiver holds the
    /// end's value if it arrived and was not handed out.
    #[must_use = "dropping the parts drops the unread items"]
    pub fn into_inner(self) -> (ItemStream<T>, Receiver<Result<(), E>>) {
        (self.items, self.end.into_receiver())
    }

    /// The inverse of [`into_inner`](Self::into_inner).
    pub fn from_parts(items: ItemStream<T>, end: Receiver<Result<(), E>>) -> Self {
        Self {
            items,
            end: End::new(end),
        }
    }
}

impl<T: Send + 'static, E: 'static> Stream for TryItemStream<T, E> {
    type Item = Result<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        let this = &mut *self;
        if this.end.is_handed() {
            return Poll::Ready(None);
        }
        if !this.items.is_terminated() {
            match Pin::new(&mut this.items).poll_next(cx) {
                Poll::Ready(Some(item)) => return Poll::Ready(Some(Ok(item))),
                Poll::Ready(None) => {}
                Poll::Pending => {
                    // While the items wait, so does the end's read (see `End`). `Canceled`
                    // only follows `Receiver::close`, which this stream never calls.
                    this.end.poll_arrival(cx, || Ok(()));
                    return Poll::Pending;
                }
            }
        }
        // Once handed out, the end is gone: so is this stream.
        let end = core::task::ready!(this.end.poll_take(cx, || Ok(())));
        Poll::Ready(match end {
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(())) | None => None,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, _) = self.items.size_hint();
        (low, None)
    }
}

impl<T: Send + 'static, E: 'static> FusedStream for TryItemStream<T, E> {
    fn is_terminated(&self) -> bool {
        self.end.is_handed()
    }
}

impl<T: Send + 'static, E: 'static> fmt::Debug for TryItemStream<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryItemStream")
            .field("items", &self.items)
            .field("end", &self.end.name())
            .finish()
    }
}
