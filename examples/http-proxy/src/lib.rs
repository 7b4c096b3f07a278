//! A streaming reverse proxy as a wasi:http component: each request goes on to the upstream
//! named by the `UPSTREAM` environment variable (e.g. `http://127.0.0.1:9000`), bodies
//! streaming both ways with backpressure, trailers passed both ways, connection-level
//! headers left out.
//!
//! - The upstream has `UPSTREAM_TIMEOUT_MS` (10,000 unless set) to answer: then `504`,
//!   saying so. An upstream that cannot be reached (refused, denied by the host) is `502`,
//!   with the reason.
//! - A client that goes away mid-response stops the proxy's copy, which drops the upstream
//!   response: the host closes that connection, and the upstream sees it. Every request's
//!   outcome is one line on stderr.
//! - `GET /fan-out?n=N` sends N requests (`GET /item/<i>`) to the upstream, 8 at a time on a
//!   `JoinSet`, and answers with one line per request as each finishes (its status and
//!   size), then the trailers `x-requests` and `x-failed`.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Either, Empty, Full};
use wasip3::http::types::{ErrorCode, Request, Response};
use wit_futures::http::{ChannelBody, body_channel};
use wit_futures::task::JoinSet;
use wit_futures::time::timeout;
use wit_futures::wasi_http::{self, Incoming, Outcome, write_stderr};

wasip3::http::service::export!(Proxy);

struct Proxy;

impl wasip3::exports::http::handler::Guest for Proxy {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        wasi_http::serve_with(request, route, report).await
    }
}

/// What the proxy answers with: the upstream's body, a body made as the fan-out goes, or a
/// short text.
type ProxyBody = Either<Incoming, Either<ChannelBody, Full<Bytes>>>;

/// Requests of one fan-out in flight at most.
const FAN_OUT_AT_ONCE: usize = 8;

async fn route(request: http::Request<Incoming>) -> Result<http::Response<ProxyBody>, Infallible> {
    let Some(upstream) = env("UPSTREAM") else {
        return Ok(text(StatusCode::BAD_GATEWAY, "no UPSTREAM configured\n"));
    };
    let deadline = Duration::from_millis(
        env("UPSTREAM_TIMEOUT_MS")
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(10_000),
    );
    if request.uri().path() == "/fan-out" {
        let n = request
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("n="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        return Ok(fan_out(upstream, n, deadline));
    }
    Ok(forward(request, &upstream, deadline).await)
}

/// Sends `request` on to the upstream and its response back, both bodies streaming.
async fn forward(
    request: http::Request<Incoming>,
    upstream: &str,
    deadline: Duration,
) -> http::Response<ProxyBody> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match format!("{upstream}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return text(StatusCode::BAD_GATEWAY, format!("bad UPSTREAM: {e}\n")),
    };
    // The upstream's authority is in the URI.
    parts.headers.remove(http::header::HOST);
    let upstream_request = http::Request::from_parts(parts, body);
    match timeout(deadline, wasi_http::send(upstream_request)).await {
        Err(_) => text(
            StatusCode::GATEWAY_TIMEOUT,
            format!("the upstream did not answer within {deadline:?}\n"),
        ),
        Ok(Err(code)) => text(
            StatusCode::BAD_GATEWAY,
            format!("the upstream request failed: {code}\n"),
        ),
        Ok(Ok((response, request_body))) => {
            // How the request body went up, reported once it is known.
            wit_futures::task::spawn(async move {
                if let Ok(sent) = request_body.await
                    && !sent.is_ok()
                {
                    let _ = write_stderr(&format!("http-proxy: request body: {sent}\n")).await;
                }
            })
            .detach();
            response.map(Either::Left)
        }
    }
}

/// `n` requests to the upstream, `FAN_OUT_AT_ONCE` at a time; a line for each as it ends.
fn fan_out(upstream: String, n: usize, deadline: Duration) -> http::Response<ProxyBody> {
    let (mut lines, body) = body_channel();
    wit_futures::task::spawn(async move {
        let mut requests = JoinSet::new();
        let (mut started, mut failed) = (0, 0);
        while started < n || !requests.is_empty() {
            while started < n && requests.len() < FAN_OUT_AT_ONCE {
                let uri = format!("{upstream}/item/{started}");
                requests.spawn(fetch(started, uri, deadline));
                started += 1;
            }
            let Some(Ok((i, result))) = requests.join_next().await else {
                continue;
            };
            let line = match result {
                Ok((status, bytes)) => format!("{i}: {status}, {bytes} bytes\n"),
                Err(reason) => {
                    failed += 1;
                    format!("{i}: failed: {reason}\n")
                }
            };
            if lines.send_data(line).await.is_err() {
                // The client went away; dropping the set aborts the requests in flight.
                return;
            }
        }
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-requests", HeaderValue::from(n));
        trailers.insert("x-failed", HeaderValue::from(failed));
        let _ = lines.send_trailers(trailers).await;
    })
    .detach();
    http::Response::builder()
        .header(http::header::CONTENT_TYPE, "text/plain")
        // Hosts send only the trailers a `trailer` header announces.
        .header(http::header::TRAILER, "x-requests, x-failed")
        .body(Either::Right(Either::Left(body)))
        .expect("a valid response")
}

/// GET `uri`: its status and body size, or why it failed.
async fn fetch(
    i: usize,
    uri: String,
    deadline: Duration,
) -> (usize, Result<(StatusCode, u64), String>) {
    let request = http::Request::get(uri)
        .body(Empty::<Bytes>::new())
        .expect("a valid request");
    let exchange = async {
        let (response, _) = wasi_http::send(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok((status, body.to_bytes().len() as u64))
    };
    let result = match timeout(deadline, exchange).await {
        Ok(result) => result,
        Err(elapsed) => Err(elapsed.to_string()),
    };
    (i, result)
}

fn text(status: StatusCode, text: impl Into<Bytes>) -> http::Response<ProxyBody> {
    let mut response = http::Response::new(Either::Right(Either::Right(Full::new(text.into()))));
    *response.status_mut() = status;
    response
}

/// One line on stderr per request; the host shows it.
async fn report(outcome: Outcome<Infallible, Box<dyn std::error::Error + Send + Sync>>) {
    let _ = write_stderr(&format!("http-proxy: {outcome}\n")).await;
}

fn env(name: &str) -> Option<String> {
    wasip3::cli::environment::get_environment()
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}
