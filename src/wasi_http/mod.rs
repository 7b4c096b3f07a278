//! wasi:http (WASI 0.3) requests and responses as the [`http`] crate's types (feature
//! `wasi-http`), on the [`wasip3`] bindings.
//!
//! A wasi:http handler becomes an `async fn` over `http::Request` and `http::Response`:
//!
//! ```no_run
//! use wasip3::http::types::{ErrorCode, Request, Response};
//! use wit_futures::wasi_http::Incoming;
//!
//! struct Component;
//!
//! impl wasip3::exports::http::handler::Guest for Component {
//!     async fn handle(request: Request) -> Result<Response, ErrorCode> {
//!         wit_futures::wasi_http::serve(request, hello).await
//!     }
//! }
//!
//! async fn hello(request: http::Request<Incoming>) -> Result<http::Response<String>, String> {
//!     Ok(http::Response::new(format!("hello from {}\n", request.uri().path())))
//! }
//! # wasip3::http::service::export!(Component);
//! ```
//!
//! - [`serve`] (and [`serve_with`]) runs such a handler: the request arrives as
//!   `http::Request<`[`Incoming`]`>`, the response's body is pumped into the wasi:http
//!   body on a spawned task, a handler error becomes a `500` response, and every failure
//!   (the handler's, the body's, the host's transmission result) is reported.
//! - [`from_request`], [`into_response`] are the two halves of a server;
//!   [`into_request`], [`from_response`] and [`send`] those of a client.
//! - [`to_header_map`] and [`to_fields`] convert headers and trailers.
//!
//! Bodies go through [`crate::http`]: [`Incoming`] is an [`IncomingBody`] over the
//! request's (or response's) `stream<u8>` and trailers future; outgoing bodies are pumped
//! by a [`BodyWriter`](crate::http::BodyWriter), which writes the body's trailers or error
//! into the trailers future (not its default) and stops when the peer hangs up. The
//! future that `Request::new` / `Response::new` return (whether the host transmitted the
//! message) is awaited too and its value reported, not dropped.
//!
//! # Trailers
//!
//! A body's trailers travel to the host as the value of its trailers future, but whether
//! the host sends them on is the host's business: hosts built on hyper (wasmtime's
//! `wasmtime serve`, and the test host here) send only the trailers that a `trailer` header
//! of the response (or request) announced, and only when the client sent `TE: trailers`
//! and the body went out chunked (no `content-length`). So announce them:
//!
//! ```no_run
//! # fn example(body: wit_futures::http::ChannelBody) -> http::Response<wit_futures::http::ChannelBody> {
//! http::Response::builder()
//!     .header(http::header::TRAILER, "x-count, x-checksum")
//!     .body(body)
//!     .unwrap()
//! # }
//! ```
//!
//! Trailers a body ends with that no `trailer` header announced are not dropped silently:
//! [`Transmitted::unannounced_trailers`] names them, the [`Outcome`] is not `is_ok`, and
//! [`serve`] reports them on stderr.

mod client;
mod fields;
mod message;
mod request;
mod response;
mod serve;
mod stderr;

pub use self::client::send;
pub use self::fields::{to_fields, to_header_map};
pub use self::request::{from_request, into_request};
pub use self::response::{Transmitted, from_response, into_response};
pub use self::serve::{Outcome, serve, serve_with};
pub use self::stderr::write_stderr;

use core::any::Any;
use core::fmt::Display;

use wasip3::http::types::{ErrorCode, Trailers};

use crate::http::IncomingBody;

/// The body of an incoming wasi:http request or response: an [`http_body::Body`] of
/// [`Bytes`](bytes::Bytes) whose trailers are converted from wasi:http `fields` and whose
/// error is the wasi:http `error-code`.
pub type Incoming = IncomingBody<Trailers, ErrorCode>;

/// The outcome of pumping an `http_body::Body` with error `B` into a wasi:http body.
pub type SendBodyError<B> = crate::http::SendBodyError<B, Trailers, ErrorCode>;

/// The `error-code` a body error becomes for the peer: the error itself if it is one
/// (e.g. a proxied [`Incoming`] body's, also inside the boxed error of http-body-util's
/// combinators or of a [`body_channel`](crate::http::body_channel)'s `abort`), otherwise
/// `internal-error` with its message.
fn error_code<E: Display + 'static>(error: &E) -> ErrorCode {
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    let any: &dyn Any = error;
    let code = if let Some(boxed) = any.downcast_ref::<BoxError>() {
        boxed.downcast_ref::<ErrorCode>()
    } else if let Some(crate::http::ChannelError::Aborted(boxed)) =
        any.downcast_ref::<crate::http::ChannelError>()
    {
        boxed.downcast_ref::<ErrorCode>()
    } else {
        any.downcast_ref::<ErrorCode>()
    };
    match code {
        Some(code) => code.clone(),
        None => ErrorCode::InternalError(Some(error.to_string())),
    }
}

/// An `internal-error` saying what went wrong.
fn internal(what: impl Display) -> ErrorCode {
    ErrorCode::InternalError(Some(what.to_string()))
}
