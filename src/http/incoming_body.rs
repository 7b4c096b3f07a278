use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use wit_bindgen::{FutureReader, StreamReader};

use crate::future::Receiver;
use crate::stream::end::End;
use crate::stream::read_buffer::ReadBuffer;

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
/// [`HeaderMap`] by the function or closure given at construction), `Ok(None)` ends the
/// body and `Err(e)` is the body's error. After that it is finished:
/// [`is_end_stream`](Body::is_end_stream) is true and every poll returns `Ready(None)`.
///
/// The future is read whenever a read of the contents waits (not before data at hand: a
/// host resolves it after the contents), so a writer that writes it before closing
/// the stream (wasip3's `http_compat` does on a body error) is never left waiting; its
/// value is kept and handed out after the contents, as always.
///
/// Reads are batched (the first asks for about 1 KiB, or what is left of a body of known
/// size; each read that fills its buffer doubles the next, up to [`DEFAULT_BODY_CAPACITY`]
/// bytes, see [`with_capacity`](Self::with_capacity)), and each read is handed out as one
/// data frame, without a copy. `Unpin`, and `Send` when `T`, `E` and the converter are.
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
pub struct IncomingBody<T: 'static, E: 'static, C = fn(T) -> Result<HeaderMap, E>> {
    /// The contents, until they ended (`None`: ended, or there were none).
    contents: Option<ReadBuffer<u8>>,
    end: End<Result<Option<T>, E>>,
    to_header_map: C,
    /// What is left of the body, from [`with_size_hint`](IncomingBody::with_size_hint)
    /// minus the bytes handed out.
    size_hint: SizeHint,
}

// Bytes and the future's value are only moved, never pinned.
impl<T, E, C> Unpin for IncomingBody<T, E, C> {}

/// What [`IncomingBody::into_inner`] gives back.
#[must_use = "dropping the parts drops the unread bytes and hangs up on the writers"]
pub struct IncomingParts<T: 'static, E: 'static> {
    /// The contents reader, with no read in flight; `None` if there was none, or once its
    /// writer is gone (reading it again would trap).
    pub contents: Option<StreamReader<u8>>,
    /// Bytes read from the contents and not yet handed out, in order.
    pub unread: Vec<u8>,
    /// The receiver of the future's value: holding it if it arrived, already terminated if
    /// the body had handed out its end.
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

impl<T: 'static, E: 'static, C> IncomingBody<T, E, C>
where
    C: FnMut(T) -> Result<HeaderMap, E>,
{
    /// A body made of `contents` (`None`: empty) and the future `end` that says how it
    /// ended; `to_header_map` (a function, or a closure that may hold configuration, such
    /// as a header allow-list) turns the trailers `T` into a [`HeaderMap`], or fails with
    /// the body's error.
    ///
    /// See the [type's docs](Self) for an example.
    pub fn new(
        contents: Option<StreamReader<u8>>,
        end: FutureReader<Result<Option<T>, E>>,
        to_header_map: C,
    ) -> Self {
        Self {
            contents: contents.map(|reader| ReadBuffer::new(reader, DEFAULT_BODY_CAPACITY)),
            end: End::new(Receiver::new(end)),
            to_header_map,
            size_hint: SizeHint::default(),
        }
    }
}

impl<T: 'static, E: 'static, C> IncomingBody<T, E, C> {
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
        if let Some(contents) = &mut self.contents {
            contents.set_capacity(capacity);
        }
        self
    }

    /// Sets the size the body reports through [`size_hint`](Body::size_hint) (e.g. an
    /// exact one from `content-length`); the bytes handed out are subtracted from it. A
    /// hint, as `http_body` says: the contents are not checked against it. A body of known
    /// size reads it in one go if it fits the capacity.
    ///
    /// ```no_run
    /// # use wit_futures::http::IncomingBody;
    /// # fn example(body: IncomingBody<(), String>) {
    /// let body = body.with_size_hint(http_body::SizeHint::with_exact(1024));
    /// # }
    /// ```
    pub fn with_size_hint(mut self, size_hint: SizeHint) -> Self {
        self.size_hint = size_hint;
        if let (Some(contents), Some(upper)) = (&mut self.contents, size_hint.upper()) {
            let upper = usize::try_from(upper).unwrap_or(usize::MAX);
            // An exact size is read exactly (the buffer becomes the frame's `Bytes` without
            // another allocation); a bound, at least 1 KiB, so that a loose one costs little.
            let exact = size_hint.exact().is_some();
            contents.set_next_read(if exact { upper } else { upper.max(1024) });
        }
        self
    }

    /// Stops a read in flight (of the contents, and of the end future), keeping what raced
    /// in: afterwards nothing is pending in the component model, and the next poll goes on.
    /// See [`Park`](crate::Park) for why a body kept past the end of an export call must
    /// be parked.
    pub fn park(&mut self) {
        if let Some(contents) = &mut self.contents {
            contents.park();
        }
        self.end.park();
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
        let (contents, unread) = match self.contents {
            Some(contents) => contents.into_parts(),
            None => (None, Vec::new()),
        };
        IncomingParts {
            contents,
            unread,
            end: self.end.into_receiver(),
        }
    }

    /// The next data frame, or `None` once the contents ended.
    fn poll_contents(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let Some(contents) = &mut self.contents else {
            return Poll::Ready(None);
        };
        if ready!(contents.poll_fill(cx)) {
            Poll::Ready(Some(Bytes::from(contents.take_items())))
        } else {
            self.contents = None;
            Poll::Ready(None)
        }
    }
}

impl<T: 'static, E: 'static, C> Body for IncomingBody<T, E, C>
where
    C: FnMut(T) -> Result<HeaderMap, E>,
{
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
        let contents = this.poll_contents(cx);
        if contents.is_pending() {
            // While the contents wait, so does the end's read (see `End`). `Canceled` only
            // follows `Receiver::close`, which this body never calls.
            this.end.poll_arrival(cx, || Ok(None));
        }
        if let Some(data) = ready!(contents) {
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
        let value = ready!(this.end.poll_take(cx, || Ok(None)));
        this.size_hint = SizeHint::with_exact(0);
        Poll::Ready(match value {
            Some(Ok(Some(trailers))) => Some((this.to_header_map)(trailers).map(Frame::trailers)),
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(None)) | None => None,
        })
    }

    /// True once the body handed out its last frame (or its error).
    fn is_end_stream(&self) -> bool {
        self.contents.is_none() && self.end.is_handed()
    }

    fn size_hint(&self) -> SizeHint {
        self.size_hint
    }
}

impl<T: 'static, E: 'static, C> fmt::Debug for IncomingBody<T, E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let contents = match &self.contents {
            Some(contents) if contents.in_flight() => "reading",
            Some(_) => "open",
            None => "ended",
        };
        f.debug_struct("IncomingBody")
            .field("contents", &contents)
            .field("end", &self.end.name())
            .field("size_hint", &self.size_hint)
            .finish()
    }
}
