//! examples/http-proxy end to end: hyper's client → the proxy component (served by
//! wasmtime-wasi-http 50 through hyper) → wasmtime-wasi-http's own sender → a plain hyper
//! upstream, all on loopback. Every request's store settles, and the proxy reports each
//! request on stderr.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use wit_futures_harness::http::{
    Client, PatternBody, PatternCheck, Received, RequestLog, Server, Upstream, read_body,
};

const PROXY: &str = "example-http-proxy";
const MIB: u64 = 1 << 20;

/// The proxy in front of `upstream`, with these extra environment variables.
async fn proxy(upstream: &str, env: &[(&str, &str)]) -> Server {
    let mut all = vec![("UPSTREAM", upstream)];
    all.extend_from_slice(env);
    Server::start_with_env(PROXY, ([127, 0, 0, 1], 0).into(), &all).await
}

fn request(method: &str, path: &str, body: PatternBody) -> http::Request<PatternBody> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "localhost")
        .body(body)
        .unwrap()
}

/// Sends `request` through `server`; the response head, what its body delivered (checked
/// against the pattern) and the check.
async fn exchange(
    server: &Server,
    request: http::Request<PatternBody>,
) -> (http::response::Parts, Received, PatternCheck, String) {
    let mut client = Client::connect(server.addr()).await;
    // Hang guards only: a loaded machine with checked guests is slow, never this slow.
    let response = tokio::time::timeout(Duration::from_secs(300), client.send(request))
        .await
        .expect("a response head within five minutes")
        .expect("response head");
    let (parts, body) = response.into_parts();
    let mut check = PatternCheck::default();
    let mut text = Vec::new();
    let received = tokio::time::timeout(
        Duration::from_secs(300),
        read_body(body, Duration::ZERO, |at, data| {
            check.check(at, data);
            if text.len() < 4096 {
                text.extend_from_slice(data);
            }
        }),
    )
    .await
    .expect("the body within five minutes");
    (
        parts,
        received,
        check,
        String::from_utf8_lossy(&text).into_owned(),
    )
}

fn assert_settled(log: &RequestLog) {
    assert!(log.settled, "the store did not settle: {log:?}");
}

/// 256 MiB up through the proxy to the upstream, which checks every byte; and 256 MiB
/// down from the upstream through the proxy, checked by the client; the proxy's memory
/// stays small: the bodies stream, they are never buffered.
#[tokio::test]
async fn proxies_256_mib_byte_exact_both_ways_in_bounded_memory() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let upstream = Upstream::start().await;
    // The upstream answers `/count` only once the whole upload is in: on a loaded machine
    // that can take longer than the proxy's default 10 s for a response head.
    let server = proxy(&upstream.url(), &[("UPSTREAM_TIMEOUT_MS", "600000")]).await;
    let (parts, _, _, text) = exchange(
        &server,
        request("POST", "/count", PatternBody::new(256 * MIB)),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(
        text,
        format!("{} bytes, pattern ok; trailers []", 256 * MIB)
    );
    let (parts, received, check, _) = exchange(
        &server,
        request(
            "GET",
            &format!("/generate?bytes={}", 256 * MIB),
            PatternBody::empty(),
        ),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!((received.bytes, received.error), (256 * MIB, None));
    assert_eq!(check.first_mismatch, None);
    for log in server.logs(2).await {
        assert_settled(&log);
        assert!(
            log.guest_memory < 8 * MIB as usize,
            "the proxy buffered: {} KiB",
            log.guest_memory / 1024
        );
    }
}

/// Request trailers reach the upstream, and the upstream's trailers reach the client (each
/// announced in a `trailer` header, as hosts on hyper require).
#[tokio::test]
async fn trailers_go_through_both_ways() {
    let upstream = Upstream::start().await;
    let server = proxy(&upstream.url(), &[]).await;
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("abc"));
    let mut up = request(
        "POST",
        "/count",
        PatternBody::new(100_000).trailers(trailers),
    );
    up.headers_mut().insert(
        http::header::TRAILER,
        HeaderValue::from_static("x-checksum"),
    );
    let (_, _, _, text) = exchange(&server, up).await;
    assert_eq!(text, "100000 bytes, pattern ok; trailers [x-checksum: abc]");
    let mut down = request("GET", "/generate?bytes=1000", PatternBody::empty());
    down.headers_mut()
        .insert(http::header::TE, HeaderValue::from_static("trailers"));
    let (parts, received, check, _) = exchange(&server, down).await;
    assert_eq!(parts.headers[http::header::TRAILER], "x-bytes");
    assert_eq!((received.bytes, check.first_mismatch), (1000, None));
    assert_eq!(received.trailers.unwrap()["x-bytes"], "1000");
    for log in server.logs(2).await {
        assert_settled(&log);
    }
}

/// Empty bodies both ways, and HEAD: the upstream's length comes back, no body.
#[tokio::test]
async fn empty_bodies_and_head_go_through() {
    let upstream = Upstream::start().await;
    let server = proxy(&upstream.url(), &[]).await;
    let (parts, received, _, _) =
        exchange(&server, request("POST", "/echo", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!((received.bytes, received.error), (0, None));
    let (parts, received, _, _) =
        exchange(&server, request("HEAD", "/item/7", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers[http::header::CONTENT_LENGTH], "7");
    assert_eq!((received.bytes, received.error), (0, None));
    for log in server.logs(2).await {
        assert_settled(&log);
        assert!(!log.stderr.contains("failed"), "{log:?}");
    }
}

/// The upstream drops its connection mid-body: the client's body fails (it is not a short,
/// complete one), and the proxy's report names the failure.
#[tokio::test]
async fn upstream_closing_mid_body_fails_the_clients_body() {
    let upstream = Upstream::start().await;
    let server = proxy(&upstream.url(), &[]).await;
    let (parts, received, _, text) = exchange(
        &server,
        request("GET", "/cut?bytes=100000", PatternBody::empty()),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK, "{text}");
    assert!(received.error.is_some(), "{received:?}");
    assert!(received.bytes < 200_000, "{received:?}");
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert!(
        log.stderr
            .starts_with("http-proxy: GET /cut?bytes=100000: response body failed"),
        "{log:?}"
    );
}

/// An upstream that does not answer within `UPSTREAM_TIMEOUT_MS` is a 504 saying so; one
/// that cannot be reached is a 502 with the reason (refused; denied by the host for an
/// address that is not loopback).
#[tokio::test]
async fn slow_unreachable_and_denied_upstreams_are_gateway_errors() {
    let upstream = Upstream::start().await;
    let server = proxy(&upstream.url(), &[("UPSTREAM_TIMEOUT_MS", "200")]).await;
    let (parts, _, _, text) = exchange(
        &server,
        request("GET", "/slow?ms=5000", PatternBody::empty()),
    )
    .await;
    assert_eq!(parts.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(text, "the upstream did not answer within 200ms\n");
    assert_settled(&server.logs(1).await[0]);

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let server = proxy(&format!("http://{closed}"), &[]).await;
    let (parts, _, _, text) = exchange(&server, request("GET", "/", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::BAD_GATEWAY);
    assert!(
        text.starts_with("the upstream request failed: ErrorCode::ConnectionRefused"),
        "{text}"
    );
    assert_settled(&server.logs(1).await[0]);

    let server = proxy("http://192.0.2.1:80", &[]).await;
    let (parts, _, _, text) = exchange(&server, request("GET", "/", PatternBody::empty())).await;
    assert_eq!(parts.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        text,
        "the upstream request failed: ErrorCode::HttpRequestDenied\n"
    );
    assert_settled(&server.logs(1).await[0]);
}

/// A client that goes away mid-response: at the upstream's next line the proxy learns it
/// (a component-model writer learns that its reader left when it writes), stops copying
/// and drops the upstream response; the upstream sees its body dropped, the store
/// settles, and the report says the client went away.
#[tokio::test]
async fn client_abort_cancels_the_upstream_request() {
    let upstream = Upstream::start().await;
    let server = proxy(&upstream.url(), &[]).await;
    let mut client = Client::connect(server.addr()).await;
    let response = client
        .send(request("GET", "/drip", PatternBody::empty()))
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = http_body_util::BodyExt::frame(&mut body)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "drip 0\n");
    drop(body);
    drop(client);
    assert!(
        upstream.wait_for("drip: body dropped").await,
        "the upstream never saw the request end: {:?}",
        upstream.events()
    );
    let log = &server.logs(1).await[0];
    assert_settled(log);
    assert!(log.stderr.contains("client went away"), "{log:?}");
}

/// 64 requests through the proxy at once, each body exact.
#[tokio::test]
async fn proxies_64_concurrent_requests() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let upstream = Upstream::start().await;
    let server = proxy(&upstream.url(), &[]).await;
    let requests = (0..64u64).map(|i| {
        let server = &server;
        async move {
            let len = 1000 + i * 997;
            let (parts, received, check, _) =
                exchange(server, request("POST", "/echo", PatternBody::new(len))).await;
            assert_eq!(parts.status, StatusCode::OK);
            assert_eq!(
                (received.bytes, received.error, check.first_mismatch),
                (len, None, None)
            );
        }
    });
    futures::future::join_all(requests).await;
    for log in server.logs(64).await {
        assert_settled(&log);
    }
}

/// `/fan-out?n=20`: 20 upstream requests, 8 at a time, one line each as they finish, then
/// the trailers.
#[tokio::test]
async fn fan_out_answers_each_upstream_request_as_it_finishes() {
    let upstream = Upstream::start().await;
    let server = proxy(&upstream.url(), &[]).await;
    let mut fan = request("GET", "/fan-out?n=20", PatternBody::empty());
    fan.headers_mut()
        .insert(http::header::TE, HeaderValue::from_static("trailers"));
    let (parts, received, _, text) = exchange(&server, fan).await;
    assert_eq!(parts.status, StatusCode::OK);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_by_key(|l| l.split(':').next().unwrap().parse::<u32>().unwrap());
    let expected: Vec<String> = (0..20)
        .map(|i| format!("{i}: 200 OK, {} bytes", format!("item {i}\n").len()))
        .collect();
    assert_eq!(lines, expected);
    let trailers = received.trailers.expect("trailers");
    assert_eq!(
        (&trailers["x-requests"], &trailers["x-failed"]),
        (&HeaderValue::from(20), &HeaderValue::from(0))
    );
    assert_settled(&server.logs(1).await[0]);
}
