//! A plain hyper server on loopback, the upstream a proxy component forwards to, recording
//! what it saw (a body cut off, a connection gone) so tests can check the far end.
//!
//! Routes:
//! - `POST /echo`: the request body back as it arrives, trailers included (the request's
//!   `trailer` header is copied so that they go out).
//! - `POST /count`: reads the whole body, checks it against the pattern: "<n> bytes,
//!   pattern ok; trailers [k: v, ..]" (or where the pattern broke).
//! - `GET /generate?bytes=N`: N pattern bytes, then the trailer `x-bytes: N` (announced).
//! - `GET /item/<i>`: "item <i>\n".
//! - `GET /slow?ms=N`: waits N ms before it answers "slow\n".
//! - `GET /cut?bytes=N`: announces 2N bytes, sends N, then (10 ms later) fails: hyper drops
//!   the connection mid-body.
//! - `GET /drip`: a line every 20 ms ("drip <i>\n") until the body is dropped (the client,
//!   or the proxy, went away): records "drip: body dropped".
//! - anything else: 404.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use wasmtime_wasi_http::io::TokioIo;

use super::{PatternBody, PatternCheck, pattern_byte};

type UpstreamBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The upstream server: see the module docs for its routes.
pub struct Upstream {
    addr: SocketAddr,
    events: Arc<Mutex<Vec<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Upstream {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> Upstream {
        Upstream::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr`.
    pub async fn start_on(addr: SocketAddr) -> Upstream {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("binding {addr}: {e}"));
        let addr = listener.local_addr().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let events = events.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let events = events.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| route(request, events.clone()));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Upstream {
            addr,
            events,
            accept,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it recorded so far.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until `event` was recorded.
    pub async fn wait_for(&self, event: &str) -> bool {
        for _ in 0..2000 {
            if self.events().iter().any(|e| e == event) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

fn text(status: StatusCode, text: impl Into<String>) -> http::Response<UpstreamBody> {
    let body = Full::new(Bytes::from(text.into()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response
}

fn query_number(request: &hyper::Request<hyper::body::Incoming>, key: &str) -> u64 {
    request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix(key)))
        .and_then(|v| v.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn route(
    request: hyper::Request<hyper::body::Incoming>,
    events: Arc<Mutex<Vec<String>>>,
) -> Result<http::Response<UpstreamBody>, Infallible> {
    let path = request.uri().path().to_owned();
    Ok(match (request.method().as_str(), path.as_str()) {
        ("POST", "/echo") => {
            let announced = request.headers().get(http::header::TRAILER).cloned();
            let mut response =
                http::Response::new(request.into_body().map_err(Into::into).boxed_unsync());
            if let Some(announced) = announced {
                response
                    .headers_mut()
                    .insert(http::header::TRAILER, announced);
            }
            response
        }
        ("POST", "/count") => {
            let mut body = request.into_body();
            let (mut bytes, mut check, mut trailers) = (0u64, PatternCheck::default(), Vec::new());
            let mut error = None;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => {
                            check.check(bytes, &data);
                            bytes += data.len() as u64;
                        }
                        Err(frame) => {
                            if let Ok(map) = frame.into_trailers() {
                                for (k, v) in &map {
                                    trailers.push(format!("{k}: {}", v.to_str().unwrap_or("?")));
                                }
                            }
                        }
                    },
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            if let Some(error) = error {
                events
                    .lock()
                    .unwrap()
                    .push(format!("count: body failed after {bytes} bytes"));
                text(StatusCode::BAD_REQUEST, format!("body failed: {error}"))
            } else {
                let pattern = match check.first_mismatch {
                    None => "pattern ok".to_owned(),
                    Some(at) => format!("pattern broken at {at}"),
                };
                text(
                    StatusCode::OK,
                    format!(
                        "{bytes} bytes, {pattern}; trailers [{}]",
                        trailers.join(", ")
                    ),
                )
            }
        }
        ("GET" | "HEAD", "/generate") => {
            let n = query_number(&request, "bytes");
            let mut trailers = HeaderMap::new();
            trailers.insert("x-bytes", HeaderValue::from(n));
            let body = PatternBody::new(n)
                .trailers(trailers)
                .map_err(Into::into)
                .boxed_unsync();
            let mut response = http::Response::new(body);
            response
                .headers_mut()
                .insert(http::header::TRAILER, HeaderValue::from_static("x-bytes"));
            response
        }
        ("GET" | "HEAD", p) if p.starts_with("/item/") => {
            text(StatusCode::OK, format!("item {}\n", &p["/item/".len()..]))
        }
        ("GET", "/slow") => {
            tokio::time::sleep(Duration::from_millis(query_number(&request, "ms"))).await;
            text(StatusCode::OK, "slow\n")
        }
        ("GET", "/cut") => {
            let n = query_number(&request, "bytes");
            // One frame of N bytes, and the failure a moment later: hyper has sent the head
            // and the frame by then.
            let body = PatternBody::new(2 * n)
                .fail_after(n)
                .chunk(n.max(1) as usize)
                .delay(Duration::from_millis(10))
                .map_err(Into::into)
                .boxed_unsync();
            let mut response = http::Response::new(body);
            response
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from(2 * n));
            response
        }
        ("GET", "/drip") => {
            let body = Drip {
                sent: 0,
                sleep: None,
                events,
            };
            http::Response::new(body.boxed_unsync())
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

/// A line every 20 ms until it is dropped, which it records.
struct Drip {
    sent: u64,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    events: Arc<Mutex<Vec<String>>>,
}

impl Drop for Drip {
    fn drop(&mut self) {
        self.events
            .lock()
            .unwrap()
            .push("drip: body dropped".into());
    }
}

impl Body for Drip {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.sent > 0 {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(20))));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        let line = format!("drip {}\n", self.sent);
        self.sent += 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(line)))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The body of `/generate?bytes=n`, for checking a response through a proxy.
pub fn generated(n: u64) -> Vec<u8> {
    (0..n).map(pattern_byte).collect()
}
