//! The wasi:http handler the end-to-end tests drive with a real HTTP client. Routes:
//!
//! - `POST /echo`: the request body streams back as the response body, trailers included
//!   (the request's `trailer` header is copied so that the host announces them).
//! - `POST /count`: reads the whole body, checks every byte against the shared pattern and
//!   answers `<bytes> bytes, pattern ok` (or where it broke), listing the trailers.
//! - `GET /generate?bytes=N`: N pattern bytes in 16 KiB frames, then the trailer
//!   `x-bytes: N`.
//! - `GET /fail`: the handler fails: the client gets a 500, the error goes to stderr.
//! - `GET /body-error`: 1000 bytes, then the response body fails.
//! - `GET /forbidden-header`: a response with a header the host forbids.
//! - `GET /hop-by-hop`: a response with connection-level headers, which are left out.
//! - `GET /empty`: an empty response.
//! - `GET /unannounced-trailers`: a body that ends with a trailer no `trailer` header
//!   announced.

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use http_body_util::{BodyExt, Either, Empty, StreamBody};
use wasip3::http::types::{ErrorCode, Request, Response};
use wit_futures::wasi_http::Incoming;

wasip3::http::service::export!(Component);

struct Component;

impl wasip3::exports::http::handler::Guest for Component {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        wit_futures::wasi_http::serve(request, route).await
    }
}

/// The byte at offset `i` of every generated body (the harness has the same function).
fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

type Frames = StreamBody<futures::stream::BoxStream<'static, Result<Frame<Bytes>, String>>>;
type AnyBody = Either<Either<Incoming, String>, Either<Frames, Empty<Bytes>>>;

async fn route(request: http::Request<Incoming>) -> Result<http::Response<AnyBody>, String> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    match path.as_str() {
        "/echo" => {
            let announced = request.headers().get(http::header::TRAILER).cloned();
            let mut response = http::Response::new(Either::Left(Either::Left(request.into_body())));
            if let Some(announced) = announced {
                response
                    .headers_mut()
                    .insert(http::header::TRAILER, announced);
            }
            Ok(response)
        }
        "/count" => {
            let collected = count(request.into_body()).await?;
            Ok(http::Response::new(Either::Left(Either::Right(collected))))
        }
        "/generate" => {
            let bytes: u64 = query
                .strip_prefix("bytes=")
                .and_then(|n| n.parse().ok())
                .ok_or("generate needs ?bytes=N")?;
            let mut response = http::Response::new(Either::Right(Either::Left(generate(bytes))));
            response
                .headers_mut()
                .insert(http::header::TRAILER, HeaderValue::from_static("x-bytes"));
            Ok(response)
        }
        "/fail" => Err("the handler failed on purpose".into()),
        "/body-error" => {
            let frames = futures::stream::iter([
                Ok(Frame::data(Bytes::from(vec![b'x'; 1000]))),
                Err("the body failed on purpose".to_owned()),
            ]);
            Ok(http::Response::new(Either::Right(Either::Left(
                StreamBody::new(frames.boxed()),
            ))))
        }
        "/forbidden-header" => {
            let mut response = http::Response::new(Either::Right(Either::Right(Empty::new())));
            response.headers_mut().insert(
                http::header::PROXY_AUTHENTICATE,
                HeaderValue::from_static("Basic"),
            );
            Ok(response)
        }
        "/hop-by-hop" => {
            let mut response = http::Response::new(Either::Right(Either::Right(Empty::new())));
            let headers = response.headers_mut();
            headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(
                http::header::CONNECTION,
                HeaderValue::from_static("upgrade"),
            );
            headers.insert("x-kept", HeaderValue::from_static("yes"));
            Ok(response)
        }
        "/empty" => Ok(http::Response::new(Either::Right(Either::Right(
            Empty::new(),
        )))),
        "/unannounced-trailers" => {
            // Trailers without a `trailer` header announcing them.
            let mut trailers = http::HeaderMap::new();
            trailers.insert("x-secret", HeaderValue::from_static("42"));
            let frames = futures::stream::iter([
                Ok(Frame::data(Bytes::from_static(b"body\n"))),
                Ok(Frame::trailers(trailers)),
            ]);
            Ok(http::Response::new(Either::Right(Either::Left(
                StreamBody::new(frames.boxed()),
            ))))
        }
        other => Err(format!("no route {other}")),
    }
}

/// Reads the body, checking the pattern: "<n> bytes, pattern ok; trailers [..]".
async fn count(mut body: Incoming) -> Result<String, String> {
    let mut n = 0u64;
    let mut broken = None;
    let mut trailers = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("request body failed: {e}"))?;
        match frame.into_data() {
            Ok(data) => {
                for (i, byte) in data.iter().enumerate() {
                    let at = n + i as u64;
                    if broken.is_none() && *byte != pattern_byte(at) {
                        broken = Some(at);
                    }
                }
                n += data.len() as u64;
            }
            Err(frame) => {
                let map = frame.into_trailers().unwrap_or_default();
                trailers = header_list(&map);
            }
        }
    }
    let pattern = match broken {
        None => "pattern ok".to_owned(),
        Some(at) => format!("pattern broken at {at}"),
    };
    Ok(format!("{n} bytes, {pattern}; trailers {trailers:?}"))
}

fn header_list(map: &HeaderMap) -> Vec<String> {
    map.iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
        .collect()
}

/// `bytes` pattern bytes in 16 KiB frames, produced as the client reads them, then the
/// trailer `x-bytes`.
fn generate(bytes: u64) -> Frames {
    const FRAME: u64 = 16 * 1024;
    let frames = futures::stream::unfold(0u64, move |at| async move {
        if at > bytes {
            return None;
        }
        if at == bytes {
            let mut trailers = HeaderMap::new();
            trailers.insert("x-bytes", HeaderValue::from(bytes));
            return Some((Ok(Frame::trailers(trailers)), bytes + 1));
        }
        let end = (at + FRAME).min(bytes);
        let data: Bytes = (at..end).map(pattern_byte).collect();
        Some((Ok(Frame::data(data)), end))
    });
    StreamBody::new(frames.boxed())
}
