//! wasi:http end to end: `guest-http` (a handler built on `wasip3` + `wit_futures::wasi_http`)
//! served by wasmtime-wasi-http 50 through hyper on 127.0.0.1, driven by hyper's client.
//! Every test also checks the server's log of each request: the store settled with nothing
//! left open, and what the guest reported on stderr.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use wit_futures_harness::http::{
    Client, PatternBody, PatternCheck, Received, RequestLog, Server, read_body,
};

const GUEST: &str = "guest-http";
const MIB: u64 = 1 << 20;

fn request(method: &str, path: &str, body: PatternBody) -> http::Request<PatternBody> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "localhost")
        .body(body)
        .unwrap()
}

/// Sends `request` on a new connection; reads the response body, checking it against the
/// pattern.
async fn exchange(
    server: &Server,
    request: http::Request<PatternBody>,
) -> (http::response::Parts, Received, PatternCheck) {
    let mut client = Client::connect(server.addr()).await;
    let response = client.send(request).await.expect("response head");
    let (parts, body) = response.into_parts();
    let mut check = PatternCheck::default();
    let received = read_body(body, Duration::ZERO, |at, data| check.check(at, data)).await;
    (parts, received, check)
}

/// A text response's body, read whole.
async fn text(server: &Server, request: http::Request<PatternBody>) -> (StatusCode, String) {
    let mut client = Client::connect(server.addr()).await;
    let response = client.send(request).await.expect("response head");
    let status = response.status();
    let mut text = Vec::new();
    let received = read_body(response.into_body(), Duration::ZERO, |_, data| {
        text.extend_from_slice(data)
    })
    .await;
    assert_eq!(received.error, None);
    (status, String::from_utf8(text).unwrap())
}

fn assert_settled(log: &RequestLog) {
    assert!(log.settled, "the store did not settle: {log:?}");
}

/// 256 MiB up and 256 MiB back down at the same time, byte for byte, while the guest's
/// memory stays at a few MiB: the body streams through, it is never buffered.
#[tokio::test]
async fn echo_streams_256_mib_byte_exact_in_bounded_memory() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let server = Server::start(GUEST).await;
    let len = 256 * MIB;
    let (parts, received, check) =
        exchange(&server, request("POST", "/echo", PatternBody::new(len))).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(received.error, None);
    assert_eq!(received.bytes, len);
    assert_eq!(check.first_mismatch, None);
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert!(
        log.guest_memory < 8 * MIB as usize,
        "guest memory grew to {} bytes",
        log.guest_memory
    );
    eprintln!(
        "256 MiB echo: guest memory peak {} KiB",
        log.guest_memory / 1024
    );
}

#[tokio::test]
async fn empty_bodies_go_both_ways() {
    let server = Server::start(GUEST).await;
    let (parts, received, _) =
        exchange(&server, request("POST", "/echo", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!((received.bytes, received.error), (0, None));
    let (parts, received, _) =
        exchange(&server, request("GET", "/empty", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers[http::header::CONTENT_LENGTH], "0");
    assert_eq!((received.bytes, received.error), (0, None));
    assert_eq!(
        text(&server, request("POST", "/count", PatternBody::empty())).await,
        (StatusCode::OK, "0 bytes, pattern ok; trailers []".into())
    );
    // A HEAD response gets no `content-length: 0` (its length would be the GET body's).
    let (parts, received, _) =
        exchange(&server, request("HEAD", "/empty", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers.get(http::header::CONTENT_LENGTH), None);
    assert_eq!((received.bytes, received.error), (0, None));
    for log in server.logs(4).await {
        assert_settled(&log);
        assert_eq!(log.stderr, "");
    }
}

fn with_trailers(mut request: http::Request<PatternBody>) -> http::Request<PatternBody> {
    let headers = request.headers_mut();
    headers.insert(
        http::header::TRAILER,
        HeaderValue::from_static("x-checksum, x-note"),
    );
    headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
    request
}

/// Client trailers reach the handler; handler trailers (here the same ones, echoed) reach
/// the client.
#[tokio::test]
async fn trailers_go_both_ways() {
    let server = Server::start(GUEST).await;
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("12345"));
    trailers.insert("x-note", HeaderValue::from_static("end of upload"));
    let body = || {
        PatternBody::new(300_000)
            .chunk(7_000)
            .trailers(trailers.clone())
    };
    let (status, text) = text(&server, with_trailers(request("POST", "/count", body()))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text,
        r#"300000 bytes, pattern ok; trailers ["x-checksum: 12345", "x-note: end of upload"]"#
    );
    let (parts, received, check) =
        exchange(&server, with_trailers(request("POST", "/echo", body()))).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!((received.bytes, &received.error), (300_000, &None));
    assert_eq!(check.first_mismatch, None);
    assert_eq!(received.trailers, Some(trailers));
    let (parts, received, check) = exchange(
        &server,
        with_trailers(request(
            "GET",
            "/generate?bytes=100000",
            PatternBody::empty(),
        )),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!((received.bytes, check.first_mismatch), (100_000, None));
    assert_eq!(received.trailers.unwrap()["x-bytes"], "100000");
    for log in server.logs(3).await {
        assert_settled(&log);
    }
}

/// The client aborts its upload mid-body: the handler sees the request body fail, answers
/// 500 (to nobody) and reports it; the store settles.
#[tokio::test]
async fn client_abort_mid_request_is_reported_and_settles() {
    let server = Server::start(GUEST).await;
    for path in ["/count", "/echo"] {
        let mut client = Client::connect(server.addr()).await;
        let body = PatternBody::new(4 * MIB).fail_after(MIB);
        // hyper fails the exchange once the body fails.
        let _ = client.send(request("POST", path, body)).await;
    }
    let logs = server.logs(2).await;
    for log in &logs {
        assert_settled(log);
    }
    let count = logs.iter().find(|l| l.request == "POST /count").unwrap();
    assert!(
        count
            .stderr
            .contains("handler failed, answered 500: request body failed"),
        "{count:?}"
    );
    let echo = logs.iter().find(|l| l.request == "POST /echo").unwrap();
    assert!(echo.stderr.contains("POST /echo"), "{echo:?}");
}

/// The client reads 1 MiB of a 64 MiB response and hangs up: the guest's body pump stops
/// (reported as the client going away), the store settles, and the guest never held more
/// than a few MiB.
#[tokio::test]
async fn client_abort_mid_response_stops_the_body_and_settles() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let server = Server::start(GUEST).await;
    let mut client = Client::connect(server.addr()).await;
    let response = client
        .send(request(
            "GET",
            &format!("/generate?bytes={}", 64 * MIB),
            PatternBody::empty(),
        ))
        .await
        .unwrap();
    let mut body = response.into_body();
    let mut read = 0;
    while read < MIB {
        use http_body_util::BodyExt;
        let frame = body.frame().await.unwrap().unwrap();
        read += frame.into_data().map_or(0, |d| d.len() as u64);
    }
    drop((body, client));
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert!(log.stderr.contains("client went away"), "{log:?}");
    assert!(log.guest_memory < 8 * MIB as usize, "{log:?}");
}

/// A slow client: the guest produces only as fast as the client reads, its memory stays
/// bounded, and every byte arrives.
#[tokio::test]
async fn slow_client_gets_every_byte_with_backpressure() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let server = Server::start(GUEST).await;
    let len = 8 * MIB;
    let mut client = Client::connect(server.addr()).await;
    let response = client
        .send(request(
            "GET",
            &format!("/generate?bytes={len}"),
            PatternBody::empty(),
        ))
        .await
        .unwrap();
    let mut check = PatternCheck::default();
    let received = read_body(
        response.into_body(),
        Duration::from_micros(500),
        |at, data| check.check(at, data),
    )
    .await;
    assert_eq!((received.bytes, check.first_mismatch), (len, None));
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert!(log.guest_memory < 4 * MIB as usize, "{log:?}");
}

/// 64 clients at once, each with its own upload echoed back.
#[tokio::test]
async fn serves_64_concurrent_requests() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let server = Server::start(GUEST).await;
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..64u64 {
        let addr = server.addr();
        clients.spawn(async move {
            let mut client = Client::connect(addr).await;
            let len = 10_000 + i * 1_000;
            let response = client
                .send(request("POST", "/echo", PatternBody::new(len).chunk(4096)))
                .await
                .unwrap();
            let mut check = PatternCheck::default();
            let received = read_body(response.into_body(), Duration::ZERO, |at, d| {
                check.check(at, d)
            })
            .await;
            (len, received, check)
        });
    }
    while let Some(done) = clients.join_next().await {
        let (len, received, check) = done.unwrap();
        assert_eq!(
            (received.bytes, received.error, check.first_mismatch),
            (len, None, None)
        );
    }
    for log in server.logs(64).await {
        assert_settled(&log);
    }
}

/// A handler error becomes a 500 and is reported on stderr with the request it belongs to.
#[tokio::test]
async fn handler_error_becomes_500_and_is_reported() {
    let server = Server::start(GUEST).await;
    let (status, text) = text(&server, request("GET", "/fail", PatternBody::empty())).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(text, "internal server error\n");
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert!(
        log.stderr
            .contains("GET /fail: handler failed, answered 500: the handler failed on purpose"),
        "{log:?}"
    );
}

/// A response body that fails mid-way: the client sees the body fail after the data before
/// it, the guest reports it.
#[tokio::test]
async fn response_body_error_reaches_the_client_and_is_reported() {
    let server = Server::start(GUEST).await;
    let (parts, received, _) =
        exchange(&server, request("GET", "/body-error", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(received.bytes <= 1000);
    assert!(received.error.is_some(), "{received:?}");
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert!(
        log.stderr
            .contains("response body failed: body failed: the body failed on purpose"),
        "{log:?}"
    );
}

/// Connection-level headers are left out of a response; a header the host forbids fails
/// the response with an error naming it.
#[tokio::test]
async fn response_headers_the_host_refuses() {
    let server = Server::start(GUEST).await;
    let (parts, _, _) =
        exchange(&server, request("GET", "/hop-by-hop", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers["x-kept"], "yes");
    assert!(!parts.headers.contains_key(http::header::UPGRADE));
    let (parts, _, _) = exchange(
        &server,
        request("GET", "/forbidden-header", PatternBody::empty()),
    )
    .await;
    assert_eq!(parts.status, StatusCode::INTERNAL_SERVER_ERROR);
    let logs = server.logs(2).await;
    let forbidden = logs
        .iter()
        .find(|l| l.request.contains("forbidden"))
        .unwrap();
    let error = forbidden.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("header forbidden by the host (header proxy-authenticate)"),
        "{forbidden:?}"
    );
    // `serve` returned the error to the host, and reported the request all the same.
    assert_eq!(
        forbidden.stderr,
        "wasi-http: GET /forbidden-header: not served, the host answered: \
         ErrorCode::InternalError(Some(\"header forbidden by the host (header proxy-authenticate)\"))\n",
    );
}

/// A body that ends in trailers no `trailer` header announced: the host (on hyper) drops
/// them, and `serve` does not let that pass silently: the report names them on stderr.
#[tokio::test]
async fn unannounced_trailers_are_reported_not_silently_dropped() {
    let server = Server::start(GUEST).await;
    let mut request = request("GET", "/unannounced-trailers", PatternBody::empty());
    request
        .headers_mut()
        .insert(http::header::TE, HeaderValue::from_static("trailers"));
    let (parts, received, _) = exchange(&server, request).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!((received.bytes, received.trailers), (5, None));
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert_eq!(
        log.stderr,
        "wasi-http: GET /unannounced-trailers: 5 body bytes sent; trailers no `trailer` header \
         announced (hosts on hyper drop them): x-secret\n"
    );
}
