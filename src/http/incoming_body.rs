use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use wit_bindgen::{FutureReader, StreamReader, StreamResult};

use crate::future::Receiver;
use crate::stream::read_driver::ReadDriver;

/// Bytes read per batch unless [`IncomingBody::with_capacity`] says otherwise.
pub const DEFAULT_BODY_CAPACITY: usize = 64 * 1024;

/// A body that arrives as a component-model `stream<u8>` plus a
/// `future<result<option<T>, E>>` (the wasi:http shape), as an [`http_body::Body`].
///
/// Created by [`IncomingBody::new`] or
/// [`BodyStreamReaderExt::into_http_body`](super::BodyStreamReaderExt::into_http_body); the
/// [`wasi_http`](crate::wasi_http) glue makes one for every wasi:http request and response.
/// Yields the contents as data frames, then, once the writer closed the stream, the value
/// of the future: `Ok(Some(trailers))` becomes one trailers frame (turned into a
/// [`HeaderMap`] by the function given at construction), `Ok(None)` ends the body and
/// `Err(e)` is the body's error. After that it is finished:
/// [`is_end_stream`](Body::is_end_stream) is true and every poll returns `Ready(None)`.
///
/// Reads are batched (up to [`DEFAULT_BODY_CAPACITY`] bytes, see
/// [`with_capacity`](Self::with_capacity)): a read that fills at least a quarter of the
/// buffer is handed out as it is, without a copy; a smaller one is copied into a frame of
/// its own size and the buffer is reused. `Unpin`, and `Send` when `T` and `E` are.
///
/// # Cancel safety
///
/// `poll_frame` is cancel-safe: dropping a `Frame` future (e.g. the losing branch of a
/// `select!` over `BodyExt::frame`) loses nothing. A read in flight stays in flight, and its
/// bytes come out of the next poll. Dropping the body itself hangs up: the writer of the
/// contents sees the reader gone. [`into_inner`](Self::into_inner) gives back the unread
/// bytes and both ends instead.
///
/// # Examples
///
/// ```no_run
/// use http_body_util::BodyExt;
/// use wit_futures::http::IncomingBody;
/// # type Fields = Vec<(String, Vec<u8>)>;
/// # fn to_header_map(fields: Fields) -> Result<http::HeaderMap, String> { todo!() }
/// # async fn example(
/// #     contents: wit_bindgen::StreamReader<u8>,
/// #     trailers: wit_bindgen::FutureReader<Result<Option<Fields>, String>>,
/// # ) -> Result<(), String> {
/// let body = IncomingBody::new(Some(contents), trailers, to_header_map);
/// let collected = body.collect().await?;
/// let trailers = collected.trailers().cloned();
/// let bytes = collected.to_bytes();
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping an IncomingBody hangs up on its writer"]
pub struct IncomingBody<T: 'static, E: 'static> {
    state: State<T, E>,
    to_header_map: fn(T) -> Result<HeaderMap, E>,
    /// The buffer for the next read (its allocation is reused after a small read).
    spare: Vec<u8>,
    capacity: usize,
    /// What is left of the body, from [`with_size_hint`](IncomingBody::with_size_hint)
    /// minus the bytes handed out.
    size_hint: SizeHint,
    /// Bytes a [`park`](IncomingBody::park) kept: the next data frame.
    parked: Option<Bytes>,
}

enum State<T: 'static, E: 'static> {
    /// Reading the contents; the future waits behind them.
    Contents {
        driver: ReadDriver<u8>,
        end: Receiver<Result<Option<T>, E>>,
    },
    /// The contents ended: waiting for the future's value.
    End(Receiver<Result<Option<T>, E>>),
    /// Everything was handed out.
    Done,
}

// Bytes and the future's value are only moved, never pinned.
impl<T, E> Unpin for IncomingBody<T, E> {}

/// What [`IncomingBody::into_inner`] gives back.
#[must_use = "dropping the parts drops the unread bytes and hangs up on the writers"]
pub struct IncomingParts<T: 'static, E: 'static> {
    /// The contents reader, with no read in flight; `None` if there was none, or once its
    /// writer is gone (reading it again would trap).
    pub contents: Option<StreamReader<u8>>,
    /// Bytes read from the contents and not yet handed out, in order.
    pub unread: Vec<u8>,
    /// The receiver of the future's value: already terminated if the body had handed out
    /// its end.
    pub end: Receiver<Result<Option<T>, E>>,
}

impl<T: 'static, E: 'static> fmt::Debug for IncomingParts<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingParts")
            .field("contents", &self.contents.is_some())
            .field("unread", &self.unread.len())
            .field("end", &self.end)
            .finish()
    }
}

impl<T: 'static, E: 'static> IncomingBody<T, E> {
    /// A body made of `contents` (`None`: empty) and the future `end` that says how it
    /// ended; `to_header_map` turns the trailers `T` into a [`HeaderMap`], or fails with the
    /// body's error.
    ///
    /// See the [type's docs](Self) for an example.
    pub fn new(
        contents: Option<StreamReader<u8>>,
        end: FutureReader<Result<Option<T>, E>>,
        to_header_map: fn(T) -> Result<HeaderMap, E>,
    ) -> Self {
        let end = Receiver::new(end);
        Self {
            state: match contents {
                Some(reader) => State::Contents {
                    driver: ReadDriver::new(reader),
                    end,
                },
                None => State::End(end),
            },
            to_header_map,
            spare: Vec::new(),
            capacity: DEFAULT_BODY_CAPACITY,
            size_hint: SizeHint::default(),
            parked: None,
        }
    }

    /// Sets the most bytes one read asks for (at least 1, at most 16 MiB), from the next
    /// read on.
    ///
    /// ```no_run
    /// # use wit_futures::http::IncomingBody;
    /// # fn example(body: IncomingBody<(), String>) {
    /// let body = body.with_capacity(16 * 1024);
    /// # }
    /// ```
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.clamp(1, 16 << 20);
        self
    }

    /// Sets the size the body reports through [`size_hint`](Body::size_hint) (e.g. an
    /// exact one from `content-length`); the bytes handed out are subtracted from it. A
    /// hint, as `http_body` says: the contents are not checked against it.
    ///
    /// ```no_run
    /// # use wit_futures::http::IncomingBody;
    /// # fn example(body: IncomingBody<(), String>) {
    /// let body = body.with_size_hint(http_body::SizeHint::with_exact(1024));
    /// # }
    /// ```
    pub fn with_size_hint(mut self, size_hint: SizeHint) -> Self {
        self.size_hint = size_hint;
        self
    }

    /// Stops a read in flight (of the contents, or of the end future), keeping what raced
    /// in: afterwards nothing is pending in the component model, and the next poll goes on.
    /// See [`Park`](crate::Park) for why a body kept past the end of an export call must
    /// be parked.
    pub fn park(&mut self) {
        match &mut self.state {
            State::Contents { driver, .. } => {
                let Some((result, read)) = driver.cancel() else {
                    return;
                };
                if !read.is_empty() {
                    self.parked = Some(Bytes::from(read));
                }
                if result == StreamResult::Dropped {
                    self.contents_ended();
                }
            }
            State::End(end) => end.park(),
            State::Done => {}
        }
    }

    /// Takes the body apart without losing a byte: the contents reader (a read in flight
    /// is cancelled), every byte read and not handed out (including those that raced in
    /// before the cancellation), and the receiver of the end future.
    ///
    /// ```no_run
    /// # use wit_futures::http::IncomingBody;
    /// # fn example(body: IncomingBody<(), String>) {
    /// let parts = body.into_inner();
    /// println!("{} bytes were read and not handed out", parts.unread.len());
    /// # }
    /// ```
    pub fn into_inner(self) -> IncomingParts<T, E> {
        let mut unread = self.parked.map(Vec::from).unwrap_or_default();
        match self.state {
            State::Contents { driver, end } => {
                let (contents, last) = driver.into_reader();
                unread.extend(last.map(|(_, bytes)| bytes).unwrap_or_default());
                IncomingParts {
                    contents,
                    unread,
                    end,
                }
            }
            State::End(end) => IncomingParts {
                contents: None,
                unread,
                end,
            },
            State::Done => IncomingParts {
                contents: None,
                unread,
                end: Receiver::terminated(),
            },
        }
    }

    /// The contents ended: the end future is next.
    fn contents_ended(&mut self) {
        let State::Contents { end, .. } = core::mem::replace(&mut self.state, State::Done) else {
            unreachable!("contents_ended outside State::Contents")
        };
        self.state = State::End(end);
        self.spare = Vec::new();
    }

    /// The contents are being read: the next data frame, or `None` once they ended.
    fn poll_contents(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(parked) = self.parked.take() {
            return Poll::Ready(Some(parked));
        }
        let State::Contents { driver, .. } = &mut self.state else {
            return Poll::Ready(None);
        };
        loop {
            let mut next = None;
            if !driver.in_flight() {
                // No bigger than what is left, if that is known: a small body costs a small
                // buffer (at least 1 KiB, so that a wrong hint costs little).
                let want = match self.size_hint.upper() {
                    Some(left) => (left.min(self.capacity as u64) as usize).max(1024),
                    None => self.capacity,
                }
                .min(self.capacity);
                let mut buf = core::mem::take(&mut self.spare);
                buf.clear();
                buf.reserve_exact(want);
                next = Some(buf);
            }
            let (result, mut read) = ready!(driver.poll_read(cx, &mut next));
            let frame = if read.is_empty() {
                None
            } else if read.len() * 4 >= read.capacity() {
                Some(Bytes::from(read))
            } else {
                let frame = Bytes::copy_from_slice(&read);
                read.clear();
                self.spare = read;
                Some(frame)
            };
            if result == StreamResult::Dropped {
                self.contents_ended();
                return Poll::Ready(frame);
            }
            if frame.is_some() {
                return Poll::Ready(frame);
            }
            // A read may complete with no bytes: read again.
        }
    }
}

impl<T: 'static, E: 'static> Body for IncomingBody<T, E> {
    type Data = Bytes;
    type Error = E;

    /// Returns `Ready(Some(Ok(data)))` for each read of the contents (never empty), then
    /// `Ready(Some(Ok(trailers)))` or `Ready(Some(Err(e)))` from the end future, then
    /// `Ready(None)` (also when the future carried `Ok(None)`), forever after. `Pending`
    /// while a read or the future waits; only the most recent waker is woken.
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, E>>> {
        let this = self.get_mut();
        if let Some(data) = ready!(this.poll_contents(cx)) {
            let len = data.len() as u64;
            let upper = this
                .size_hint
                .upper()
                .map(|upper| upper.saturating_sub(len));
            this.size_hint
                .set_lower(this.size_hint.lower().saturating_sub(len));
            if let Some(upper) = upper {
                this.size_hint.set_upper(upper);
            }
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        let State::End(end) = &mut this.state else {
            return Poll::Ready(None);
        };
        let value = ready!(Pin::new(end).poll(cx));
        this.state = State::Done;
        this.size_hint = SizeHint::with_exact(0);
        Poll::Ready(match value {
            Ok(Ok(Some(trailers))) => Some((this.to_header_map)(trailers).map(Frame::trailers)),
            Ok(Err(e)) => Some(Err(e)),
            // `Canceled` only follows `Receiver::close`, which this body never calls.
            Ok(Ok(None)) | Err(_) => None,
        })
    }

    /// True once the body handed out its last frame (or its error).
    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done) && self.parked.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.size_hint
    }
}

impl<T: 'static, E: 'static> fmt::Debug for IncomingBody<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Contents { driver, .. } if driver.in_flight() => "reading",
            State::Contents { .. } => "contents",
            State::End(_) => "end",
            State::Done => "done",
        };
        f.debug_struct("IncomingBody")
            .field("state", &state)
            .field("size_hint", &self.size_hint)
            .finish()
    }
}
