use core::fmt::Display;

use http::uri::{Authority, PathAndQuery, Scheme as UriScheme, Uri};
use http_body::Body;
use wasip3::http::types::{ErrorCode, Method, Request, RequestOptions, Scheme};
use wasip3::{wit_future, wit_stream};

use super::response::{Transmitted, sending};
use super::{Incoming, internal, message, to_fields, to_header_map};
use crate::http::IncomingBody;
use crate::task::JoinHandle;

/// A wasi:http request as an `http::Request` whose body is [`Incoming`]: method, URI
/// (scheme, authority, path and query), headers, and the body with its trailers. The
/// body's size hint is exact when the request has a `content-length`.
///
/// The body is taken from the request with `consume-body`, whose result future is
/// answered `Ok` at once (the `http` types have no way to report a handling error back
/// through it).
///
/// # Errors
///
/// `HTTP-request-method-invalid` or `HTTP-request-URI-invalid` if the method or URI is not
/// valid for the `http` crate, `internal-error` if a header is not.
///
/// # Examples
///
/// ```no_run
/// # async fn example(request: wasip3::http::types::Request) -> Result<(), wasip3::http::types::ErrorCode> {
/// use http_body_util::BodyExt;
/// let request = wit_futures::wasi_http::from_request(request)?;
/// println!("{} {}", request.method(), request.uri());
/// let body = request.into_body().collect().await?.to_bytes();
/// # Ok(())
/// # }
/// ```
pub fn from_request(request: Request) -> Result<http::Request<Incoming>, ErrorCode> {
    let method = to_method(request.get_method())?;
    let (uri, authority) = to_uri(
        request.get_scheme(),
        request.get_authority(),
        request.get_path_with_query(),
    )?;
    let mut headers = to_header_map(request.get_headers())?;
    if let Some(authority) = authority
        && !headers.contains_key(http::header::HOST)
    {
        let host = http::HeaderValue::from_str(authority.as_str())
            .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
        headers.insert(http::header::HOST, host);
    }
    let (result, result_reader) = wit_future::new(|| Ok(()));
    drop(result);
    let (contents, trailers) = Request::consume_body(request, result_reader);
    let body = IncomingBody::new(Some(contents), trailers, to_header_map as fn(_) -> _)
        .with_size_hint(message::size_hint(&headers));
    let mut out = http::Request::new(body);
    *out.method_mut() = method;
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;
    Ok(out)
}

/// An `http::Request` as a wasi:http request to send (e.g. with
/// `wasip3::http::client::send`, or through [`send`](super::send)), and a spawned task that
/// pumps its body.
///
/// The URI's authority (or, for a URI without one, the `host` header) becomes the request's
/// authority; connection-level headers are left out, as in [`into_response`](super::into_response).
/// A body of exact size gets a `content-length`, an empty one none (as hyper's client
/// does: a GET or HEAD must not carry one).
///
/// The handle resolves once the body was pumped and the host reported the transmission
/// result (the future `request.new` returns): see [`Transmitted`]. Dropping it detaches
/// the task; the body is still sent.
///
/// # Errors
///
/// `HTTP-request-method-invalid`, `HTTP-request-URI-invalid` or `internal-error` if the
/// host refuses the method, URI or a header.
///
/// # Panics
///
/// Panics outside a component-model task, where nothing can be spawned.
///
/// # Examples
///
/// ```no_run
/// # async fn example() -> Result<(), wasip3::http::types::ErrorCode> {
/// let request = http::Request::post("http://example.com/upload").body(String::from("hi")).unwrap();
/// let (request, sent) = wit_futures::wasi_http::into_request(request)?;
/// let response = wasip3::http::client::send(request).await?;
/// # Ok(())
/// # }
/// ```
#[allow(clippy::type_complexity)]
pub fn into_request<B>(
    request: http::Request<B>,
) -> Result<(Request, JoinHandle<Transmitted<B::Error>>), ErrorCode>
where
    B: Body + 'static,
    B::Error: Display + 'static,
{
    let (parts, body) = request.into_parts();
    let mut headers = parts.headers;
    message::remove_hop_by_hop(&mut headers);
    message::frame_request(&mut headers, &body);
    // wasi:http carries the authority on its own and hosts forbid `host` as a header.
    let host = headers.remove(http::header::HOST);
    let authority = match (parts.uri.authority(), host) {
        (Some(authority), _) => Some(authority.as_str().to_owned()),
        (None, Some(host)) => Some(
            host.to_str()
                .map_err(|_| ErrorCode::HttpRequestUriInvalid)?
                .to_owned(),
        ),
        (None, None) => None,
    };
    let (contents_writer, contents) = wit_stream::new();
    let (end_writer, end) = wit_future::new(|| {
        Err(ErrorCode::InternalError(Some(
            "request body dropped before its end".into(),
        )))
    });
    let options = parts
        .extensions
        .get::<RequestOptions>()
        .map(RequestOptions::clone);
    let (wasi, transmission) = Request::new(to_fields(&headers)?, Some(contents), end, options);
    // A new wasi:http request is a GET with no scheme, authority or path: only what
    // differs is set (each set is a call into the host).
    if parts.method != http::Method::GET {
        wasi.set_method(&from_method(&parts.method))
            .map_err(|()| ErrorCode::HttpRequestMethodInvalid)?;
    }
    if let Some(scheme) = parts.uri.scheme() {
        wasi.set_scheme(Some(&from_scheme(scheme)))
            .map_err(|()| ErrorCode::HttpRequestUriInvalid)?;
    }
    if authority.is_some() {
        wasi.set_authority(authority.as_deref())
            .map_err(|()| ErrorCode::HttpRequestUriInvalid)?;
    }
    if let Some(path) = parts.uri.path_and_query() {
        wasi.set_path_with_query(Some(path.as_str()))
            .map_err(|()| ErrorCode::HttpRequestUriInvalid)?;
    }
    let sent = crate::task::spawn(sending(
        body,
        message::announced_trailers(&headers),
        Some(contents_writer),
        end_writer,
        transmission,
    ));
    Ok((wasi, sent))
}

fn to_method(method: Method) -> Result<http::Method, ErrorCode> {
    Ok(match method {
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Delete => http::Method::DELETE,
        Method::Connect => http::Method::CONNECT,
        Method::Options => http::Method::OPTIONS,
        Method::Trace => http::Method::TRACE,
        Method::Patch => http::Method::PATCH,
        Method::Other(other) => http::Method::from_bytes(other.as_bytes())
            .map_err(|_| ErrorCode::HttpRequestMethodInvalid)?,
    })
}

fn from_method(method: &http::Method) -> Method {
    match *method {
        http::Method::GET => Method::Get,
        http::Method::HEAD => Method::Head,
        http::Method::POST => Method::Post,
        http::Method::PUT => Method::Put,
        http::Method::DELETE => Method::Delete,
        http::Method::CONNECT => Method::Connect,
        http::Method::OPTIONS => Method::Options,
        http::Method::TRACE => Method::Trace,
        http::Method::PATCH => Method::Patch,
        ref other => Method::Other(other.as_str().to_owned()),
    }
}

fn from_scheme(scheme: &UriScheme) -> Scheme {
    if *scheme == UriScheme::HTTP {
        Scheme::Http
    } else if *scheme == UriScheme::HTTPS {
        Scheme::Https
    } else {
        Scheme::Other(scheme.as_str().to_owned())
    }
}

/// The request's URI, and its authority if the URI cannot hold it (an authority with no
/// scheme: it then goes into the `host` header).
fn to_uri(
    scheme: Option<Scheme>,
    authority: Option<String>,
    path_with_query: Option<String>,
) -> Result<(Uri, Option<Authority>), ErrorCode> {
    let invalid = |_| ErrorCode::HttpRequestUriInvalid;
    let scheme = scheme
        .map(|scheme| match scheme {
            Scheme::Http => Ok(UriScheme::HTTP),
            Scheme::Https => Ok(UriScheme::HTTPS),
            Scheme::Other(other) => other.parse().map_err(invalid),
        })
        .transpose()?;
    let authority = authority
        .map(|a| Authority::try_from(a).map_err(invalid))
        .transpose()?;
    // An empty path and query means "/".
    let path_and_query = PathAndQuery::try_from(path_with_query.unwrap_or_else(|| "/".to_owned()))
        .map_err(invalid)?;
    let mut parts = http::uri::Parts::default();
    parts.path_and_query = Some(path_and_query);
    // `http::Uri` holds a scheme only with an authority and the other way round.
    let leftover = match (scheme, authority) {
        (Some(scheme), Some(authority)) => {
            parts.scheme = Some(scheme);
            parts.authority = Some(authority);
            None
        }
        (_, authority) => authority,
    };
    let uri = Uri::from_parts(parts).map_err(|e| internal(format_args!("request URI: {e}")))?;
    Ok((uri, leftover))
}
