use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use bytes::Bytes;
use futures_channel::mpsc;
use futures_core::Stream;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

/// Frames a [`BodySender`] holds at most before `send_data` waits for the body to be read.
const CHANNEL_FRAMES: usize = 4;

/// A body produced as you go: a [`BodySender`] that sends data frames (with backpressure)
/// and ends the body with trailers, with an error, or plainly, and the [`ChannelBody`] that
/// yields them, an [`http_body::Body`] any handler can return.
///
/// The body never ends short without saying so: dropping the sender without
/// [`finish`](BodySender::finish), [`send_trailers`](BodySender::send_trailers) or
/// [`abort`](BodySender::abort) ends the body with an error ([`ChannelError::dropped`]),
/// which a wasi:http host passes on as a failed body (the client sees the response cut off,
/// never a complete one). The shape of hyper 0.14's `Body::channel()`.
///
/// Works anywhere (no component-model call is made): the body is read by whoever pumps it,
/// e.g. [`wasi_http::serve`](crate::wasi_http::serve) on its own task, while the handler's
/// task, or one it spawned, sends.
///
/// # Examples
///
/// A response streamed line by line as it is made, ending with a trailer (sent because
/// the `trailer` header announces it):
///
/// ```no_run
/// use wit_futures::http::{ChannelBody, body_channel};
///
/// fn numbered(lines: Vec<String>) -> http::Response<ChannelBody> {
///     let (mut sender, body) = body_channel();
///     wit_futures::task::spawn(async move {
///         for (i, line) in lines.iter().enumerate() {
///             if sender.send_data(format!("{i}: {line}\n")).await.is_err() {
///                 return; // the body was dropped: the client went away
///             }
///         }
///         let mut trailers = http::HeaderMap::new();
///         trailers.insert("x-lines", lines.len().into());
///         let _ = sender.send_trailers(trailers).await;
///     })
///     .detach();
///     http::Response::builder()
///         .header(http::header::TRAILER, "x-lines")
///         .body(body)
///         .unwrap()
/// }
/// ```
pub fn body_channel() -> (BodySender, ChannelBody) {
    let (tx, rx) = mpsc::channel(CHANNEL_FRAMES);
    (
        BodySender { tx },
        ChannelBody {
            state: State::Open(rx),
        },
    )
}

/// What the channel carries: a frame, or how the body ended.
enum Message {
    Data(Bytes),
    Trailers(HeaderMap),
    Error(ChannelError),
    End,
}

/// The sending half of a [`body_channel`].
///
/// `Send`; not `Clone` (one producer, in order).
#[must_use = "dropping a BodySender without finishing ends the body with an error"]
pub struct BodySender {
    tx: mpsc::Sender<Message>,
}

/// Error of a [`BodySender`]: the body was dropped (its reader, e.g. the client, went
/// away). Holds the data that was not sent, if any.
#[derive(Debug)]
pub struct BodyClosed(pub Option<Bytes>);

impl fmt::Display for BodyClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the body was dropped")
    }
}

impl std::error::Error for BodyClosed {}

impl BodySender {
    /// Sends one data frame, waiting while the body holds 4 unread ones.
    ///
    /// # Errors
    ///
    /// [`BodyClosed`] with `data`, if the body was dropped.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropping the future before it completes drops `data`. Use
    /// [`poll_ready`](Self::poll_ready) + [`try_send_data`](Self::try_send_data) where that
    /// matters.
    pub async fn send_data(&mut self, data: impl Into<Bytes>) -> Result<(), BodyClosed> {
        let data = data.into();
        if core::future::poll_fn(|cx| self.poll_ready(cx))
            .await
            .is_err()
        {
            return Err(BodyClosed(Some(data)));
        }
        self.try_send_data(data)
    }

    /// `Ready(Ok(()))` once a data frame can be sent without waiting; `Ready(Err(_))` if
    /// the body was dropped. Only the most recent waker is woken.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyClosed>> {
        self.tx.poll_ready(cx).map_err(|_| BodyClosed(None))
    }

    /// Sends one data frame if there is room now.
    ///
    /// # Errors
    ///
    /// `data` back in [`BodyClosed`] if there is no room (`poll_ready` first) or the body
    /// was dropped.
    pub fn try_send_data(&mut self, data: impl Into<Bytes>) -> Result<(), BodyClosed> {
        self.tx
            .try_send(Message::Data(data.into()))
            .map_err(|e| match e.into_inner() {
                Message::Data(data) => BodyClosed(Some(data)),
                _ => unreachable!("sent data"),
            })
    }

    /// Ends the body with `trailers` (a host sends them if a `trailer` header of the
    /// response or request announced their names; see
    /// [`wasi_http`](crate::wasi_http#trailers)).
    ///
    /// # Errors
    ///
    /// [`BodyClosed`] if the body was dropped.
    pub async fn send_trailers(mut self, trailers: HeaderMap) -> Result<(), BodyClosed> {
        self.end(Message::Trailers(trailers)).await
    }

    /// Ends the body plainly (no trailers).
    ///
    /// # Errors
    ///
    /// [`BodyClosed`] if the body was dropped.
    pub async fn finish(mut self) -> Result<(), BodyClosed> {
        self.end(Message::End).await
    }

    /// Ends the body with `error`: its reader gets it as the body's error (for wasi:http,
    /// the client sees the body fail). Never waits.
    pub fn abort(mut self, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) {
        // Room or not: the body also fails when the sender goes without finishing.
        let _ = self
            .tx
            .try_send(Message::Error(ChannelError::Aborted(error.into())));
    }

    async fn end(&mut self, last: Message) -> Result<(), BodyClosed> {
        if core::future::poll_fn(|cx| self.poll_ready(cx))
            .await
            .is_err()
        {
            return Err(BodyClosed(None));
        }
        self.tx.try_send(last).map_err(|_| BodyClosed(None))
    }

    /// True once the body was dropped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl fmt::Debug for BodySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodySender")
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

/// The error a [`ChannelBody`] ends with when it was not finished.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChannelError {
    /// The [`BodySender`] was dropped without finishing the body: the body was cut short.
    Dropped,
    /// The sender called [`abort`](BodySender::abort) with this error.
    Aborted(Box<dyn std::error::Error + Send + Sync>),
}

impl ChannelError {
    /// The error for a sender dropped without finishing.
    pub fn dropped() -> Self {
        Self::Dropped
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dropped => f.write_str("the body's sender was dropped before it finished"),
            Self::Aborted(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ChannelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Dropped => None,
            Self::Aborted(e) => Some(&**e),
        }
    }
}

/// The body of a [`body_channel`]: an [`http_body::Body`] of what its [`BodySender`]
/// sends. Ends with the sender's trailers, its error, or plainly; ends with
/// [`ChannelError::Dropped`] if the sender went away without finishing. Fused; `Unpin`;
/// `Send`. Dropping it makes the sender's next send fail with [`BodyClosed`].
#[must_use = "a body does nothing unless polled"]
pub struct ChannelBody {
    state: State,
}

enum State {
    Open(mpsc::Receiver<Message>),
    Done,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = ChannelError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ChannelError>>> {
        let State::Open(rx) = &mut self.state else {
            return Poll::Ready(None);
        };
        let message = core::task::ready!(Pin::new(rx).poll_next(cx));
        let frame = match message {
            Some(Message::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
            Some(Message::Trailers(trailers)) => Some(Ok(Frame::trailers(trailers))),
            Some(Message::Error(e)) => Some(Err(e)),
            Some(Message::End) => None,
            None => Some(Err(ChannelError::Dropped)),
        };
        self.state = State::Done;
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl fmt::Debug for ChannelBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Open(_) => "open",
            State::Done => "done",
        };
        f.debug_struct("ChannelBody")
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use http_body_util::BodyExt;

    use super::*;

    #[test]
    fn frames_arrive_in_order_then_the_trailers() {
        let (mut sender, body) = body_channel();
        let reading = std::thread::spawn(move || block_on(body.collect()));
        block_on(async {
            for i in 0..100 {
                sender.send_data(format!("{i}\n")).await.unwrap();
            }
            let mut trailers = HeaderMap::new();
            trailers.insert("x-n", 100.into());
            sender.send_trailers(trailers).await.unwrap();
        });
        let collected = reading.join().unwrap().unwrap();
        assert_eq!(collected.trailers().unwrap()["x-n"], "100");
        let expected: String = (0..100).map(|i| format!("{i}\n")).collect();
        assert_eq!(collected.to_bytes(), expected.as_bytes());
    }

    #[test]
    fn a_sender_dropped_unfinished_is_an_error_not_a_short_body() {
        let (mut sender, body) = body_channel();
        block_on(sender.send_data("partial")).unwrap();
        drop(sender);
        let error = block_on(body.collect()).unwrap_err();
        assert!(matches!(error, ChannelError::Dropped), "{error}");
    }

    #[test]
    fn finish_ends_plainly_and_abort_fails_the_body() {
        let (sender, body) = body_channel();
        block_on(sender.finish()).unwrap();
        let collected = block_on(body.collect()).unwrap();
        assert!(collected.trailers().is_none());
        let (sender, body) = body_channel();
        sender.abort("upstream failed");
        let error = block_on(body.collect()).unwrap_err();
        assert_eq!(error.to_string(), "upstream failed");
    }

    #[test]
    fn a_dropped_body_fails_the_sender_with_the_data_back() {
        let (mut sender, body) = body_channel();
        drop(body);
        let BodyClosed(data) = block_on(sender.send_data("lost?")).unwrap_err();
        assert_eq!(data.as_deref(), Some(&b"lost?"[..]));
        assert!(sender.is_closed());
    }

    #[test]
    fn send_data_waits_for_room() {
        let (mut sender, mut body) = body_channel();
        let mut sent = 0;
        while block_on(core::future::poll_fn(|cx| {
            Poll::Ready(sender.poll_ready(cx))
        }))
        .is_ready()
        {
            sender.try_send_data("x").unwrap();
            sent += 1;
            assert!(sent < 100, "no backpressure");
        }
        assert!(sender.try_send_data("y").is_err());
        block_on(body.frame()).unwrap().unwrap();
        assert!(sender.try_send_data("y").is_ok());
    }
}
