use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;
use futures_core::stream::Stream;
use futures_sink::Sink;
use pin_project_lite::pin_project;

/// Sends every item of `source` into `sink`, then closes the sink: a cancel-safe
/// `StreamExt::forward`.
///
/// `futures`' `forward` (and `SinkExt::send_all`) take an item from the source and then
/// wait for the sink: dropped at that moment, they drop the item. This one waits for the
/// sink's [`poll_ready`](Sink::poll_ready) *before* it takes an item and hands the item to
/// [`start_send`](Sink::start_send) at once, so dropping it never drops an item: each one
/// is still in the source or already in the sink. That holds for any source whose
/// `poll_next` is cancel-safe and any sink that accepts an item after `poll_ready`, which
/// includes every stream and sink in this crate. Pass `&mut source` / `&mut sink` to keep
/// them (e.g. to [`into_inner`](crate::stream::StreamSink::into_inner) them after a cancel).
///
/// While the source has nothing ready, the sink is flushed, so items do not wait in its
/// buffer. Resolves to `Ok(())` once the source ended and the sink closed, or to the sink's
/// error. Fused.
///
/// # Errors
///
/// The sink's error, at the first call that returns one; for this crate's sinks, a
/// [`SinkError`](crate::stream::SinkError) with every item the reader did not take.
///
/// # Examples
///
/// ```no_run
/// use wit_futures::prelude::*;
/// # async fn example(reader: wit_bindgen::StreamReader<u32>, writer: wit_bindgen::StreamWriter<u32>) {
/// let mut items = reader.into_item_stream();
/// let mut sink = writer.into_sink();
/// if let Err(e) = wit_futures::stream::forward(&mut items, &mut sink).await {
///     println!("reader left; {} items came back", e.into_unsent().len());
/// }
/// # }
/// ```
pub fn forward<S, Si>(source: S, sink: Si) -> Forward<S, Si>
where
    S: Stream,
    Si: Sink<S::Item>,
{
    Forward {
        source,
        sink,
        source_done: false,
        done: false,
    }
}

pin_project! {
    /// Future for [`forward`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe (see [`forward`]): dropping it never drops an item.
    #[must_use = "futures do nothing unless polled"]
    pub struct Forward<S, Si> {
        #[pin]
        source: S,
        #[pin]
        sink: Si,
        source_done: bool,
        done: bool,
    }
}

impl<S, Si> Future for Forward<S, Si>
where
    S: Stream,
    Si: Sink<S::Item>,
{
    type Output = Result<(), Si::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if *this.done {
            return Poll::Pending;
        }
        let result = loop {
            if *this.source_done {
                break core::task::ready!(this.sink.as_mut().poll_close(cx));
            }
            // Room first, then an item: no item is ever held across a `Pending`.
            if let Err(e) = core::task::ready!(this.sink.as_mut().poll_ready(cx)) {
                break Err(e);
            }
            match this.source.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if let Err(e) = this.sink.as_mut().start_send(item) {
                        break Err(e);
                    }
                }
                Poll::Ready(None) => *this.source_done = true,
                Poll::Pending => {
                    if let Err(e) = core::task::ready!(this.sink.as_mut().poll_flush(cx)) {
                        break Err(e);
                    }
                    return Poll::Pending;
                }
            }
        };
        *this.done = true;
        Poll::Ready(result)
    }
}

impl<S, Si> FusedFuture for Forward<S, Si>
where
    S: Stream,
    Si: Sink<S::Item>,
{
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<S, Si> fmt::Debug for Forward<S, Si> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forward")
            .field("source_done", &self.source_done)
            .field("done", &self.done)
            .finish()
    }
}
