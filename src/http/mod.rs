//! HTTP bodies carried by the component model (feature `http`): a `stream<u8>` of contents
//! plus a `future<result<option<T>, E>>` that says how the body ended, as in wasi:http.
//!
//! - [`IncomingBody`]: the reading ends as an [`http_body::Body`], with data frames, then
//!   one trailers frame, or the error.
//! - [`BodyWriter`]: the writing ends, fed from any [`http_body::Body`] with backpressure;
//!   its trailers or its error reach the reader as the future's value, and the outcome
//!   says what was delivered.
//! - [`body_channel`]: a body produced as you go, by a [`BodySender`] (data with
//!   backpressure, then trailers, an error, or a plain end; never cut short silently), for
//!   any handler to return.
//!
//! Both are generic over the trailers type `T` and the error `E`, and take the function
//! that turns `T` into an [`http::HeaderMap`] (or back). For wasi:http itself, the
//! [`wasi_http`](crate::wasi_http) module (feature `wasi-http`) does all of this for you.

mod body_channel;
mod body_writer;
mod incoming_body;

pub use self::body_channel::{BodyClosed, BodySender, ChannelBody, ChannelError, body_channel};
pub use self::body_writer::{BodyWriter, SendBody};
pub use self::incoming_body::{DEFAULT_BODY_CAPACITY, IncomingBody, IncomingParts};
pub use crate::error::SendBodyError;

use http::HeaderMap;
use wit_bindgen::{FutureReader, FutureWriter, StreamReader, StreamWriter};

/// Adapters for a `stream<u8>` that carries an HTTP body.
pub trait BodyStreamReaderExt: Sized {
    /// This stream's bytes, then the value of `end`, as an [`http_body::Body`]: see
    /// [`IncomingBody`].
    ///
    /// ```no_run
    /// use http_body_util::BodyExt;
    /// use wit_futures::prelude::*;
    /// # type Fields = Vec<(String, Vec<u8>)>;
    /// # fn to_header_map(fields: Fields) -> Result<http::HeaderMap, String> { todo!() }
    /// # async fn example(
    /// #     contents: wit_bindgen::StreamReader<u8>,
    /// #     end: wit_bindgen::FutureReader<Result<Option<Fields>, String>>,
    /// # ) -> Result<(), String> {
    /// let bytes = contents.into_http_body(end, to_header_map).collect().await?.to_bytes();
    /// # Ok(())
    /// # }
    /// ```
    fn into_http_body<T: 'static, E: 'static, C>(
        self,
        end: FutureReader<Result<Option<T>, E>>,
        to_header_map: C,
    ) -> IncomingBody<T, E, C>
    where
        C: FnMut(T) -> Result<HeaderMap, E>;
}

impl BodyStreamReaderExt for StreamReader<u8> {
    fn into_http_body<T: 'static, E: 'static, C>(
        self,
        end: FutureReader<Result<Option<T>, E>>,
        to_header_map: C,
    ) -> IncomingBody<T, E, C>
    where
        C: FnMut(T) -> Result<HeaderMap, E>,
    {
        IncomingBody::new(Some(self), end, to_header_map)
    }
}

/// Adapters for the writing end of a `stream<u8>` that carries an HTTP body.
pub trait BodyStreamWriterExt: Sized {
    /// This writer and `end` as a [`BodyWriter`], to pump an [`http_body::Body`] into.
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # type Fields = Vec<(String, Vec<u8>)>;
    /// # fn from_header_map(map: &http::HeaderMap) -> Result<Fields, String> { todo!() }
    /// # async fn example(
    /// #     contents: wit_bindgen::StreamWriter<u8>,
    /// #     end: wit_bindgen::FutureWriter<Result<Option<Fields>, String>>,
    /// # ) {
    /// let body = http_body_util::Full::new(bytes::Bytes::from_static(b"hello"));
    /// let written = contents
    ///     .into_body_writer(end, from_header_map)
    ///     .send(body, |never| match *never {})
    ///     .await;
    /// # }
    /// ```
    fn into_body_writer<T: 'static, E: 'static, C>(
        self,
        end: FutureWriter<Result<Option<T>, E>>,
        from_header_map: C,
    ) -> BodyWriter<T, E, C>
    where
        C: FnMut(&HeaderMap) -> Result<T, E>;
}

impl BodyStreamWriterExt for StreamWriter<u8> {
    fn into_body_writer<T: 'static, E: 'static, C>(
        self,
        end: FutureWriter<Result<Option<T>, E>>,
        from_header_map: C,
    ) -> BodyWriter<T, E, C>
    where
        C: FnMut(&HeaderMap) -> Result<T, E>,
    {
        BodyWriter::new(self, end, from_header_map)
    }
}
