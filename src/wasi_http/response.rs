use core::fmt::{self, Display};

use http_body::Body;
use wasip3::http::types::{ErrorCode, Response, Trailers};
use wasip3::{wit_future, wit_stream};
use wit_bindgen::{FutureReader, FutureWriter, StreamWriter};

use super::{Incoming, SendBodyError, error_code, message, to_fields, to_header_map};
use std::sync::{Arc, Mutex};

use futures_util::future::Either;

use crate::future::{Receiver, Sender};
use crate::http::{BodyWriter, IncomingBody};
use crate::task::JoinHandle;

/// What became of an outgoing wasi:http message: how its body was pumped, and what the
/// host reported for its transmission.
///
/// Returned (through a [`JoinHandle`]) by [`into_response`] and [`into_request`](super::into_request).
#[must_use = "a Transmitted carries the errors of a request or response"]
#[non_exhaustive]
pub struct Transmitted<B> {
    /// How pumping the body ended: the bytes the host took, or what went wrong (see
    /// [`SendBodyError`]: the body's own error, trailers that could not be converted, the
    /// host hanging up on the body, e.g. because the client went away).
    pub body: Result<u64, SendBodyError<B>>,
    /// The transmission result the host reported, through the future that `response.new`
    /// (or `request.new`) returned.
    pub transmission: Result<(), ErrorCode>,
    /// Trailers the body ended with that no `trailer` header of the message announced:
    /// they went to the host, but hosts built on hyper (wasmtime's, among them) send only
    /// announced trailers, so the peer most likely never saw these. See
    /// [the module docs](super#trailers).
    pub unannounced_trailers: Vec<http::HeaderName>,
}

impl<B> Transmitted<B> {
    /// True if the body went out whole, every trailer was announced, and the host reported
    /// no error.
    pub fn is_ok(&self) -> bool {
        self.body.is_ok() && self.transmission.is_ok() && self.unannounced_trailers.is_empty()
    }
}

impl<B> fmt::Debug for Transmitted<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transmitted")
            .field("body", &self.body)
            .field("transmission", &self.transmission)
            .field("unannounced_trailers", &self.unannounced_trailers)
            .finish()
    }
}

impl<B: Display> Display for Transmitted<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.body, &self.transmission) {
            (Ok(bytes), Ok(())) => write!(f, "{bytes} body bytes sent")?,
            (Err(e), Ok(())) => write!(f, "{e}")?,
            (Ok(bytes), Err(e)) => write!(f, "{bytes} body bytes sent; transmission failed: {e}")?,
            (Err(e), Err(t)) => write!(f, "{e}; transmission failed: {t}")?,
        }
        write_unannounced(f, &self.unannounced_trailers)
    }
}

/// "; trailers not announced ..." for a non-empty list.
pub(super) fn write_unannounced(
    f: &mut fmt::Formatter<'_>,
    names: &[http::HeaderName],
) -> fmt::Result {
    if names.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = names.iter().map(http::HeaderName::as_str).collect();
    write!(
        f,
        "; trailers no `trailer` header announced (hosts on hyper drop them): {}",
        names.join(", ")
    )
}

/// An `http::Response` as a wasi:http response (status, headers, body with trailers), and
/// a spawned task that pumps its body into it.
///
/// Connection-level headers (`connection`, the headers it names, `keep-alive`,
/// `transfer-encoding`, `upgrade`, ...) are left out: they belong to the host's transport,
/// and wasi:http hosts refuse them.
/// The body goes through a [`BodyWriter`]: with backpressure, its trailers or its error
/// reach the host as the trailers future's value (a body error becomes that error if it is
/// an [`ErrorCode`], `internal-error` with its message otherwise), and the pump stops and
/// drops the body if the host hangs up. A body with an exact size and no `content-length`
/// header gets one, except for statuses without a body (1xx, 204, 304); for a response to
/// a HEAD request, use [`serve`](super::serve), which adds none (a HEAD response's length is
/// the GET body's), or set the header yourself. The handle resolves to a [`Transmitted`] once the body was pumped and
/// the host reported the transmission result; dropping the handle detaches the task.
///
/// # Errors
///
/// `internal-error` if the host refuses a header (see [`to_fields`]) or the status.
///
/// # Panics
///
/// Panics outside a component-model task, where nothing can be spawned.
///
/// # Examples
///
/// ```no_run
/// # use wasip3::http::types::ErrorCode;
/// # async fn example() -> Result<wasip3::http::types::Response, ErrorCode> {
/// let response = http::Response::new(String::from("hello\n"));
/// let (response, sent) = wit_futures::wasi_http::into_response(response)?;
/// // Return `response` from the handler; `sent` resolves once the body went out.
/// wit_futures::task::spawn(async move {
///     if let Ok(sent) = sent.await && !sent.is_ok() {
///         eprintln!("response not delivered: {sent}");
///     }
/// })
/// .detach();
/// Ok(response)
/// # }
/// ```
#[allow(clippy::type_complexity)]
pub fn into_response<B>(
    response: http::Response<B>,
) -> Result<(Response, JoinHandle<Transmitted<B::Error>>), ErrorCode>
where
    B: Body + 'static,
    B::Error: Display + 'static,
{
    let (response, sending) = response_and_sending(response, false)?;
    Ok((response, crate::task::spawn(sending)))
}

/// [`into_response`], with the work that sends the body not yet spawned; `head`: the
/// response answers a HEAD request (no `content-length` is added).
pub(super) fn response_and_sending<B>(
    response: http::Response<B>,
    head: bool,
) -> Result<
    (
        Response,
        impl Future<Output = Transmitted<B::Error>> + 'static,
    ),
    ErrorCode,
>
where
    B: Body + 'static,
    B::Error: Display + 'static,
{
    let (parts, body) = response.into_parts();
    let mut headers = parts.headers;
    message::remove_hop_by_hop(&mut headers);
    message::frame_response(&mut headers, parts.status, head, &body);
    let (end_writer, end) = wit_future::new(|| {
        Err(ErrorCode::InternalError(Some(
            "response body dropped before its end".into(),
        )))
    });
    // A response to HEAD has no body: none is given to the host (which would otherwise
    // hold an empty body against the `content-length` of the GET body).
    let (contents_writer, contents) = if head {
        (None, None)
    } else {
        let (writer, reader) = wit_stream::new();
        (Some(writer), Some(reader))
    };
    let (wasi, transmission) = Response::new(to_fields(&headers)?, contents, end);
    // A new wasi:http response is a 200: a call into the host only for another status.
    if parts.status != http::StatusCode::OK {
        wasi.set_status_code(parts.status.as_u16())
            .map_err(|()| super::internal(format_args!("status {} refused", parts.status)))?;
    }
    Ok((
        wasi,
        sending(
            body,
            message::announced_trailers(&headers),
            contents_writer,
            end_writer,
            transmission,
        ),
    ))
}

/// A wasi:http response (e.g. from `wasip3::http::client::send`) as an `http::Response`
/// whose body is [`Incoming`]: status, headers, and the body with its trailers.
///
/// The body is taken with `consume-body`, whose result future is answered `Ok` at once.
///
/// # Errors
///
/// `internal-error` if the status or a header is not valid for the `http` crate.
///
/// # Examples
///
/// ```no_run
/// # async fn example(response: wasip3::http::types::Response) -> Result<(), wasip3::http::types::ErrorCode> {
/// let response = wit_futures::wasi_http::from_response(response)?;
/// println!("{}", response.status());
/// # Ok(())
/// # }
/// ```
pub fn from_response(response: Response) -> Result<http::Response<Incoming>, ErrorCode> {
    let status = http::StatusCode::from_u16(response.get_status_code())
        .map_err(|e| super::internal(format_args!("response status: {e}")))?;
    let headers = to_header_map(response.get_headers())?;
    let (result, result_reader) = wit_future::new(|| Ok(()));
    drop(result);
    let (contents, trailers) = Response::consume_body(response, result_reader);
    let body = IncomingBody::new(Some(contents), trailers, to_header_map as fn(_) -> _)
        .with_size_hint(message::size_hint(&headers));
    let mut out = http::Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// Pumps `body` into a wasi:http body (with no `contents`, drops it and ends the body
/// plainly), then waits for the host's transmission result. `announced`: the names the
/// message's `trailer` headers announce.
pub(super) fn sending<B>(
    body: B,
    announced: Vec<http::HeaderName>,
    contents: Option<StreamWriter<u8>>,
    end: FutureWriter<Result<Option<Trailers>, ErrorCode>>,
    transmission: FutureReader<Result<(), ErrorCode>>,
) -> impl Future<Output = Transmitted<B::Error>> + 'static
where
    B: Body + 'static,
    B::Error: Display + 'static,
{
    let unannounced = Arc::new(Mutex::new(Vec::new()));
    let from_header_map = {
        let unannounced = unannounced.clone();
        move |trailers: &http::HeaderMap| {
            let mut missing: Vec<http::HeaderName> = trailers
                .keys()
                .filter(|name| !announced.contains(name))
                .cloned()
                .collect();
            if let Ok(mut list) = unannounced.lock() {
                list.append(&mut missing);
            }
            to_fields(trailers)
        }
    };
    let body = match contents {
        Some(contents) => {
            Either::Left(BodyWriter::new(contents, end, from_header_map).send(body, error_code))
        }
        None => {
            drop(body);
            Either::Right(async move {
                match Sender::new(end).send(Ok(None)).await {
                    Ok(()) => Ok(0),
                    Err(e) => Err(SendBodyError::EndClosed(e.into_inner())),
                }
            })
        }
    };
    async move {
        let body = body.await;
        // The value, or `Canceled` if the receiver was closed: it never is here.
        let transmission = Receiver::new(transmission)
            .await
            .unwrap_or(Err(ErrorCode::InternalError(None)));
        let unannounced_trailers = unannounced
            .lock()
            .map(|mut list| core::mem::take(&mut *list))
            .unwrap_or_default();
        Transmitted {
            body,
            transmission,
            unannounced_trailers,
        }
    }
}
