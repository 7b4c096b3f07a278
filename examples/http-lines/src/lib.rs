//! A streaming line transform, served over wasi:http (WASI 0.3).
//!
//! `POST` lines of text: each comes back numbered and upper-cased as soon as it is read, and
//! the response ends with trailers counting the lines and bytes, with an FNV-1a digest of the
//! response body and how it ended. Try it with `cargo run --example serve` and:
//!
//! ```sh
//! printf 'hello\nwasi\n' | curl -sS -i -H 'TE: trailers' --data-binary @- http://127.0.0.1:8080/
//! ```
//!
//! What it shows:
//!
//! - `wit_futures::wasi_http::serve_with`: the handler is an `async fn` over `http` types;
//!   the response body is pumped while it is produced, with backpressure (a slow client
//!   slows the transform down, nothing piles up in memory).
//! - The request body as `AsyncBufRead` lines, raced with `select!` against a deadline: a
//!   client that sends nothing for `idle_ms` milliseconds (default 5000, `?idle_ms=N`) gets a
//!   last line saying so and the trailer `x-outcome: timeout`.
//! - A client that hangs up mid-response: the pump stops, drops the transform (which stops
//!   reading the request), and the report says how far it got.

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use futures::FutureExt;
use futures::io::AsyncBufReadExt;
use futures::stream::{LocalBoxStream, StreamExt, TryStreamExt};
use http::{HeaderMap, HeaderValue, Method};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use wasip3::http::types::{ErrorCode, Request, Response};
use wit_futures::wasi_http::{Incoming, Outcome, SendBodyError, serve_with, write_stderr};

wasip3::http::service::export!(LineTransform);

struct LineTransform;

impl wasip3::exports::http::handler::Guest for LineTransform {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let lines = Lines::default();
        let seen = lines.clone();
        serve_with(
            request,
            |request| transform(request, lines),
            async move |outcome| report(outcome, &seen).await,
        )
        .await
    }
}

/// Lines transformed so far, shared with the report.
#[derive(Clone, Default)]
struct Lines(Rc<Cell<u64>>);

type Body = StreamBody<LocalBoxStream<'static, Result<Frame<Bytes>, Infallible>>>;

const USAGE: &str = "POST lines of text: they come back numbered and upper-cased, \
    as they arrive, with trailers x-lines, x-bytes, x-fnv1a and x-outcome \
    (send 'TE: trailers' to get them). ?idle_ms=N sets how long to wait for the next line.\n";

async fn transform(
    request: http::Request<Incoming>,
    lines: Lines,
) -> Result<http::Response<Body>, String> {
    if request.method() != Method::POST {
        let usage =
            futures::stream::once(async { Ok(Frame::data(Bytes::from_static(USAGE.as_bytes()))) });
        return Ok(http::Response::new(StreamBody::new(usage.boxed_local())));
    }
    let idle_ms: u64 = match request
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("idle_ms="))
    {
        Some(ms) => ms.parse().map_err(|e| format!("idle_ms={ms}: {e}"))?,
        None => 5000,
    };
    // The request body as lines: `http_body` frames -> bytes -> `AsyncBufRead` -> lines.
    let input = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other)
        .into_async_read()
        .lines()
        .boxed_local();
    let state = Transform {
        input,
        idle_ms,
        lines,
        bytes: 0,
        digest: Fnv1a::default(),
        ending: None,
    };
    let mut response = http::Response::new(StreamBody::new(
        futures::stream::unfold(Some(state), step).boxed_local(),
    ));
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    // HTTP/1.1 sends trailers only if they are announced.
    headers.insert(
        http::header::TRAILER,
        HeaderValue::from_static("x-lines, x-bytes, x-fnv1a, x-outcome"),
    );
    Ok(response)
}

struct Transform {
    input: LocalBoxStream<'static, std::io::Result<String>>,
    idle_ms: u64,
    lines: Lines,
    bytes: u64,
    digest: Fnv1a,
    /// Set once reading stopped: how it ended; the trailers come next.
    ending: Option<&'static str>,
}

/// The next frame of the response: a transformed line, a last word, or the trailers.
async fn step(
    state: Option<Transform>,
) -> Option<(Result<Frame<Bytes>, Infallible>, Option<Transform>)> {
    let mut t = state?;
    if let Some(outcome) = t.ending {
        return Some((Ok(Frame::trailers(t.trailers(outcome))), None));
    }
    let idle = std::time::Duration::from_millis(t.idle_ms).as_nanos() as u64;
    let out = futures::select! {
        line = t.input.next().fuse() => match line {
            Some(Ok(line)) => {
                let n = t.lines.0.get() + 1;
                t.lines.0.set(n);
                format!("{n:>6}  {}\n", line.to_uppercase())
            }
            Some(Err(e)) => {
                t.ending = Some("request-failed");
                format!("! the request failed: {e}\n")
            }
            None => {
                let trailers = t.trailers("complete");
                return Some((Ok(Frame::trailers(trailers)), None));
            }
        },
        () = wasip3::clocks::monotonic_clock::wait_for(idle).fuse() => {
            t.ending = Some("timeout");
            format!("! no data for {} ms: giving up\n", t.idle_ms)
        }
    };
    t.bytes += out.len() as u64;
    t.digest.update(out.as_bytes());
    Some((Ok(Frame::data(Bytes::from(out))), Some(t)))
}

impl Transform {
    fn trailers(&self, outcome: &'static str) -> HeaderMap {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-lines", HeaderValue::from(self.lines.0.get()));
        trailers.insert("x-bytes", HeaderValue::from(self.bytes));
        let digest = format!("{:016x}", self.digest.0);
        trailers.insert("x-fnv1a", HeaderValue::from_str(&digest).expect("hex"));
        trailers.insert("x-outcome", HeaderValue::from_static(outcome));
        trailers
    }
}

/// One line on stderr per request; the host shows it.
async fn report(outcome: Outcome<String, Infallible>, lines: &Lines) {
    let lines = lines.0.get();
    let text = match outcome.response.as_ref().map(|response| &response.body) {
        Ok(Err(SendBodyError::ContentsClosed { written, .. })) => format!(
            "{}: client went away after {lines} lines ({written} bytes delivered); stopped reading its request\n",
            outcome.request
        ),
        Ok(Ok(bytes)) if outcome.is_ok() => {
            let s = if lines == 1 { "" } else { "s" };
            format!("{}: {lines} line{s}, {bytes} bytes\n", outcome.request)
        }
        _ => format!("{outcome}\n"),
    };
    let _ = write_stderr(&format!("http-lines: {text}")).await;
}

/// FNV-1a, 64 bits: a digest the client can recompute in a few lines.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
