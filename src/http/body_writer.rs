use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use bytes::Buf;
use futures_core::future::FusedFuture;
use futures_sink::Sink;
use http::HeaderMap;
use http_body::Body;
use pin_project_lite::pin_project;
use wit_bindgen::{FutureWriter, StreamWriter};

use super::DEFAULT_BODY_CAPACITY;
use crate::error::{SendBodyError, SinkError};
use crate::future::{Send, Sender};
use crate::stream::StreamSink;
use crate::stream::read_buffer::clamp_capacity;
use crate::task::JoinHandle;

/// The writing ends of a body carried as a component-model `stream<u8>` plus a
/// `future<result<option<T>, E>>` (the wasi:http shape), ready to be fed from any
/// [`http_body::Body`].
///
/// Created by [`BodyWriter::new`]; [`send`](Self::send) or [`spawn_send`](Self::spawn_send)
/// pump a body into it:
///
/// - data frames are written to the stream in batches of up to [`DEFAULT_BODY_CAPACITY`]
///   bytes, with backpressure: the body is polled only while the batch has room, and a
///   batch is written as soon as the body has nothing ready;
/// - when the body ends, the stream is closed and the future gets `Ok(None)`, or
///   `Ok(Some(trailers))` for a trailers frame (turned from a [`HeaderMap`] into `T` by the
///   function given at construction), or `Err(e)` for the body's error (turned into `E`
///   by the caller's `map_err`), not the future's default value;
/// - if the reader of the stream hangs up before it took every byte, the pump stops at
///   once and drops the body, and the future gets its default value (the body was cut
///   short; for wasi:http an error); the outcome says how many bytes were delivered and
///   hands back every byte taken from the body that was not.
///
/// # Examples
///
/// ```no_run
/// use wit_futures::http::BodyWriter;
/// # type Fields = Vec<(String, Vec<u8>)>;
/// # fn from_header_map(map: &http::HeaderMap) -> Result<Fields, String> { todo!() }
/// # fn example(
/// #     contents: wit_bindgen::StreamWriter<u8>,
/// #     end: wit_bindgen::FutureWriter<Result<Option<Fields>, String>>,
/// # ) {
/// let body = http_body_util::Full::new(bytes::Bytes::from_static(b"hello"));
/// let sent = BodyWriter::new(contents, end, from_header_map)
///     .spawn_send(body, |never| match *never {});
/// // `sent` resolves to the number of bytes the reader took, or to what went wrong.
/// # }
/// ```
#[must_use = "dropping a BodyWriter ends its stream at once and writes the future's default"]
pub struct BodyWriter<T: 'static, E: 'static, C = fn(&HeaderMap) -> Result<T, E>> {
    contents: StreamWriter<u8>,
    end: FutureWriter<Result<Option<T>, E>>,
    from_header_map: C,
    capacity: usize,
}

impl<T: 'static, E: 'static, C> BodyWriter<T, E, C>
where
    C: FnMut(&HeaderMap) -> Result<T, E>,
{
    /// The writing ends of a body: `contents` for the data, `end` for how the body ended;
    /// `from_header_map` (a function, or a closure that may hold configuration) turns
    /// trailers into `T`, or fails with the error sent instead.
    pub fn new(
        contents: StreamWriter<u8>,
        end: FutureWriter<Result<Option<T>, E>>,
        from_header_map: C,
    ) -> Self {
        Self {
            contents,
            end,
            from_header_map,
            capacity: DEFAULT_BODY_CAPACITY,
        }
    }

    /// Sets how many bytes are batched into one write (at least 1, at most 16 MiB).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = clamp_capacity::<u8>(capacity);
        self
    }

    /// Pumps `body` into the stream, then writes how it ended into the future; resolves to
    /// the number of bytes the reader took.
    ///
    /// `map_err` turns the body's error into the `E` the peer receives; the original error
    /// comes back in [`SendBodyError::Body`].
    ///
    /// # Errors
    ///
    /// See [`SendBodyError`]: the body failed, its trailers could not be converted, the
    /// stream's reader hung up (the body is then dropped), or the future's reader was gone
    /// (the value comes back).
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropping the returned future drops the body and both writers, so
    /// the reader sees the stream end early and the future's default value, which is how a
    /// component says "this body was cut short". Use [`spawn_send`](Self::spawn_send) to
    /// let the pump run on its own task.
    ///
    /// # Panics
    ///
    /// Polling it panics outside a component-model task, like every wit-bindgen write.
    pub fn send<B, F>(self, body: B, map_err: F) -> SendBody<B, T, E, F, C>
    where
        B: Body,
        F: FnOnce(&B::Error) -> E,
    {
        let sink = StreamSink::new(self.contents).with_capacity(self.capacity);
        SendBody {
            body: Some(body),
            stage: Stage::Contents {
                sink,
                end: self.end,
                partial: None,
            },
            map_err: Some(map_err),
            from_header_map: self.from_header_map,
            accepted: 0,
        }
    }

    /// Spawns [`send`](Self::send) on its own task (see [`crate::task::spawn`]); the handle
    /// resolves to its outcome, so no error goes unnoticed unless the handle is dropped.
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task, where nothing can be spawned.
    #[allow(clippy::type_complexity)]
    pub fn spawn_send<B, F>(
        self,
        body: B,
        map_err: F,
    ) -> JoinHandle<Result<u64, SendBodyError<B::Error, T, E>>>
    where
        B: Body + 'static,
        F: FnOnce(&B::Error) -> E + 'static,
        C: 'static,
    {
        crate::task::spawn(self.send(body, map_err))
    }
}

impl<T: 'static, E: 'static, C> fmt::Debug for BodyWriter<T, E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyWriter")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// Future for [`BodyWriter::send`]. Fused; `Unpin` when the body is.
    ///
    /// Dropping it before it finished drops the body and both writers: the reader sees the
    /// stream end early and the future's default value (for wasi:http, an error), which is
    /// how a component says "this body was cut short"; but once the end value is being
    /// written, dropping it still delivers that value (see [`future::Send`](crate::future::Send)).
    /// [`park`](SendBody::park) stops the write in flight (contents or end) keeping what
    /// raced in, for a pump kept across export calls; see [`Park`](crate::Park).
    #[must_use = "futures do nothing unless polled"]
    pub struct SendBody<B: Body, T: 'static, E: 'static, F, C = fn(&HeaderMap) -> Result<T, E>> {
        // `None` once the body ended, failed or was dropped because the reader left.
        #[pin]
        body: Option<B>,
        stage: Stage<B::Data, B::Error, T, E>,
        map_err: Option<F>,
        from_header_map: C,
        // Bytes handed to the sink.
        accepted: u64,
    }
}

impl<B: Body, T: 'static, E: 'static, F, C> SendBody<B, T, E, F, C> {
    /// Stops the write in flight (of the contents, or of the end value), keeping what did
    /// not go out: afterwards nothing is pending in the component model, and the next poll
    /// goes on. See [`Park`](crate::Park).
    pub fn park(&mut self) {
        match &mut self.stage {
            Stage::Contents { sink, .. } | Stage::Closing { sink, .. } => sink.park(),
            Stage::Ending { send, .. } => send.park(),
            Stage::Done => {}
        }
    }
}

enum Stage<D, BE, T: 'static, E: 'static> {
    /// Copying data frames into the sink; `partial` is a frame not yet fully copied.
    Contents {
        sink: StreamSink<u8>,
        end: FutureWriter<Result<Option<T>, E>>,
        partial: Option<D>,
    },
    /// The body ended: flushing and closing the sink before the end value is written.
    Closing {
        sink: StreamSink<u8>,
        end: FutureWriter<Result<Option<T>, E>>,
        value: Result<Option<T>, E>,
        outcome: Result<(), SendBodyError<BE, T, E>>,
    },
    /// Writing the end value.
    Ending {
        send: Send<Result<Option<T>, E>>,
        outcome: Result<u64, SendBodyError<BE, T, E>>,
    },
    Done,
}

impl<B, T, E, F, C> SendBody<B, T, E, F, C>
where
    B: Body,
    F: FnOnce(&B::Error) -> E,
    C: FnMut(&HeaderMap) -> Result<T, E>,
{
    /// How the body ended, once it did: the value for the future and the outcome. Fails
    /// if the reader hung up, with what it did not take and the rest of the data frame
    /// being copied (taken from the body, never accepted by the sink).
    #[allow(clippy::type_complexity)]
    fn poll_contents(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<
        Result<
            (
                Result<Option<T>, E>,
                Result<(), SendBodyError<B::Error, T, E>>,
            ),
            (SinkError<u8>, Vec<u8>),
        >,
    > {
        let mut this = self.project();
        let Stage::Contents { sink, partial, .. } = this.stage else {
            unreachable!("poll_contents outside Stage::Contents")
        };
        loop {
            if let Some(data) = partial {
                let room = match ready!(sink.poll_room(cx)) {
                    Ok(room) => room,
                    Err(hung_up) => {
                        let rest = data.copy_to_bytes(data.remaining()).to_vec();
                        *partial = None;
                        return Poll::Ready(Err((hung_up, rest)));
                    }
                };
                let mut left = room;
                while left > 0 && data.has_remaining() {
                    let chunk = data.chunk();
                    let n = chunk.len().min(left);
                    sink.extend_from_slice(&chunk[..n]);
                    data.advance(n);
                    left -= n;
                }
                *this.accepted += (room - left) as u64;
                if !data.has_remaining() {
                    *partial = None;
                }
                continue;
            }
            let Some(body) = this.body.as_mut().as_pin_mut() else {
                unreachable!("the body is kept until it ends")
            };
            match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        if data.has_remaining() {
                            *partial = Some(data);
                        }
                    }
                    Err(frame) => {
                        let Ok(trailers) = frame.into_trailers() else {
                            // A frame that is neither data nor trailers: skip it.
                            continue;
                        };
                        // Trailers end the body.
                        this.body.set(None);
                        return Poll::Ready(Ok(match (this.from_header_map)(&trailers) {
                            Ok(t) => (Ok(Some(t)), Ok(())),
                            Err(e) => (Err(e), Err(SendBodyError::Trailers(trailers))),
                        }));
                    }
                },
                Poll::Ready(Some(Err(error))) => {
                    this.body.set(None);
                    let map_err = this.map_err.take().expect("the body fails once");
                    return Poll::Ready(Ok((
                        Err(map_err(&error)),
                        Err(SendBodyError::Body(error)),
                    )));
                }
                Poll::Ready(None) => {
                    this.body.set(None);
                    return Poll::Ready(Ok((Ok(None), Ok(()))));
                }
                Poll::Pending => {
                    // Nothing ready: what the sink holds goes out now.
                    if let Err(hung_up) = ready!(Pin::new(&mut *sink).poll_flush(cx)) {
                        return Poll::Ready(Err((hung_up, Vec::new())));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<B, T, E, F, C> Future for SendBody<B, T, E, F, C>
where
    B: Body,
    F: FnOnce(&B::Error) -> E,
    C: FnMut(&HeaderMap) -> Result<T, E>,
{
    type Output = Result<u64, SendBodyError<B::Error, T, E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match &mut self.as_mut().project().stage {
                Stage::Contents { .. } => {
                    let ended = ready!(self.as_mut().poll_contents(cx));
                    let mut this = self.as_mut().project();
                    let Stage::Contents { sink, end, .. } =
                        core::mem::replace(this.stage, Stage::Done)
                    else {
                        unreachable!()
                    };
                    *this.stage = match ended {
                        Ok((value, outcome)) => Stage::Closing {
                            sink,
                            end,
                            value,
                            outcome,
                        },
                        Err((hung_up, rest)) => {
                            // The reader left: stop, drop the body, and let the end
                            // writer write its default: the body was cut short.
                            this.body.set(None);
                            drop((sink, end));
                            let mut unsent = hung_up.into_unsent();
                            let written = *this.accepted - unsent.len() as u64;
                            unsent.extend(rest);
                            return Poll::Ready(Err(SendBodyError::ContentsClosed {
                                written,
                                unsent,
                            }));
                        }
                    };
                }
                Stage::Closing { sink, .. } => {
                    let closed = ready!(Pin::new(sink).poll_close(cx));
                    let this = self.as_mut().project();
                    let Stage::Closing {
                        end,
                        value,
                        outcome,
                        ..
                    } = core::mem::replace(this.stage, Stage::Done)
                    else {
                        unreachable!()
                    };
                    let outcome = match (closed, outcome) {
                        (Ok(()), Ok(())) => Ok(*this.accepted),
                        (Ok(()), Err(e)) => Err(e),
                        (Err(_), Err(e @ SendBodyError::Body(_))) => {
                            // The body failed first: that is the outcome, whatever the reader
                            // did after. The end writer writes its default (an error too).
                            drop((end, value));
                            return Poll::Ready(Err(e));
                        }
                        (Err(hung_up), _) => {
                            // The reader left before it took everything: the body was cut
                            // short, so the end writer writes its default, not `value`.
                            drop((end, value));
                            let unsent = hung_up.into_unsent();
                            return Poll::Ready(Err(SendBodyError::ContentsClosed {
                                written: *this.accepted - unsent.len() as u64,
                                unsent,
                            }));
                        }
                    };
                    *this.stage = Stage::Ending {
                        send: Sender::new(end).send(value),
                        outcome,
                    };
                }
                Stage::Ending { send, .. } => {
                    let sent = ready!(Pin::new(send).poll(cx));
                    let Stage::Ending { outcome, .. } =
                        core::mem::replace(self.as_mut().project().stage, Stage::Done)
                    else {
                        unreachable!()
                    };
                    return Poll::Ready(match (sent, outcome) {
                        (Err(e), Ok(_)) => Err(SendBodyError::EndClosed(e.into_inner())),
                        (_, outcome) => outcome,
                    });
                }
                Stage::Done => return Poll::Pending,
            }
        }
    }
}

impl<B, T, E, F, C> FusedFuture for SendBody<B, T, E, F, C>
where
    B: Body,
    F: FnOnce(&B::Error) -> E,
    C: FnMut(&HeaderMap) -> Result<T, E>,
{
    fn is_terminated(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }
}

impl<B: Body, T: 'static, E: 'static, F, C> fmt::Debug for SendBody<B, T, E, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.stage {
            Stage::Contents { .. } => "contents",
            Stage::Closing { .. } => "closing",
            Stage::Ending { .. } => "ending",
            Stage::Done => "done",
        };
        f.debug_struct("SendBody")
            .field("stage", &stage)
            .field("accepted", &self.accepted)
            .finish()
    }
}
