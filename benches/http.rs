//! `cargo bench --bench http`: the wasi:http echo handler of `benches/http-guest` written
//! three ways (wit-futures' bridge, a hand-written raw loop, wasip3's http-compat), served by
//! the same wasmtime-wasi-http + hyper host on 127.0.0.1 and driven by the same hyper
//! client, alternating, in one run: a 64 MiB echo and 1,000 small requests (these also
//! through the raw loop after reading the request head, `raw-head`, which tells what
//! reading the head from the host costs from what the bridge adds); then the same
//! component as a proxy (`/proxy-<mode>/...`) in front of a plain hyper upstream on
//! loopback, reached through wasmtime-wasi-http's own sender: 64 MiB echoed through the
//! proxy (up to the upstream and back) and 300 small proxied requests (these also through
//! the raw proxy copying both heads through the guest, `raw-head`, as the bridge must).

#[path = "ratio.rs"]
mod ratio;

use std::time::{Duration, Instant};

use ratio::Rounds;

use wit_futures_harness::http::{Client, PatternBody, PatternCheck, Server, Upstream, read_body};

const BIG: u64 = 64 << 20;
const SMALL: usize = 1_000;
const SMALL_BYTES: u64 = 100;
const ROUNDS: usize = 7;
const MODES: [&str; 3] = ["raw", "adapter", "compat"];
/// The raw loop after reading the request head (method, URI, headers) from the host.
const RAW_HEAD: &str = "raw-head";
const PROXIED_SMALL: usize = 300;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let upstream = Upstream::start().await;
    let server = Server::start_with_env(
        "bench-http-guest",
        ([127, 0, 0, 1], 0).into(),
        &[("UPSTREAM", &upstream.url())],
    )
    .await;
    let mut big = Rounds::<3>::new();
    let mut small = Rounds::<4>::new();
    for round in 0..=ROUNDS {
        for (m, mode) in MODES.iter().enumerate() {
            let t = echo_big(&server, mode).await;
            let s = echo_small(&server, mode).await;
            if round > 0 {
                // round 0 warms up
                big.push(m, t.as_secs_f64());
                small.push(m, s.as_secs_f64());
            }
        }
        // The raw loop after reading the request head, as the bridge does: small only.
        let s = echo_small(&server, RAW_HEAD).await;
        if round > 0 {
            small.push(MODES.len(), s.as_secs_f64());
        }
    }
    let big_medians = big.medians();
    let small_medians = small.medians();
    println!(
        "http_body echo of {} MiB (request and response streaming at once), median of {ROUNDS}:",
        BIG >> 20
    );
    for (m, mode) in MODES.iter().enumerate() {
        let mbps = BIG as f64 / big_medians[m] / 1e6;
        println!(
            "  {mode:>7}: {:>7.1} ms, {mbps:>6.0} MB/s",
            big_medians[m] * 1e3
        );
    }
    println!(
        "http_body {SMALL} small requests ({SMALL_BYTES}-byte echo, one connection), median of {ROUNDS}:"
    );
    for (m, mode) in MODES.iter().chain([&RAW_HEAD]).enumerate() {
        let per = small_medians[m] * 1e6 / SMALL as f64;
        println!("  {mode:>8}: {per:>6.0} µs per request");
    }
    ratio::print("http_body adapter/raw", &big.ratios(1, 0), "");
    ratio::print("http_body compat/adapter", &big.ratios(2, 1), "");
    ratio::print("http_body small adapter/raw", &small.ratios(1, 0), "");
    ratio::print("http_body small compat/adapter", &small.ratios(2, 1), "");
    ratio::print(
        "http_body small adapter/raw-head",
        &small.ratios(1, 3),
        "(raw after reading the request's method, URI and headers, as the bridge does)",
    );
    ratio::print(
        "http_body small raw-head/raw",
        &small.ratios(3, 0),
        "(what reading the request head costs)",
    );

    let mut big = Rounds::<3>::new();
    let mut small = Rounds::<4>::new();
    for round in 0..=ROUNDS {
        for (m, mode) in MODES.iter().enumerate() {
            let proxy = format!("proxy-{mode}");
            let t = echo_big(&server, &proxy).await;
            let s = echo_n(&server, &proxy, PROXIED_SMALL).await;
            if round > 0 {
                big.push(m, t.as_secs_f64());
                small.push(m, s.as_secs_f64());
            }
        }
        // The raw proxy copying both heads through the guest, as the bridge does.
        let s = echo_n(&server, &format!("proxy-{RAW_HEAD}"), PROXIED_SMALL).await;
        if round > 0 {
            small.push(MODES.len(), s.as_secs_f64());
        }
    }
    let big_medians = big.medians();
    let small_medians = small.medians();
    println!(
        "http_proxy echo of {} MiB through the proxy to the upstream and back, median of {ROUNDS}:",
        BIG >> 20
    );
    for (m, mode) in MODES.iter().enumerate() {
        let mbps = BIG as f64 / big_medians[m] / 1e6;
        println!(
            "  {mode:>7}: {:>7.1} ms, {mbps:>6.0} MB/s",
            big_medians[m] * 1e3
        );
    }
    println!(
        "http_proxy {PROXIED_SMALL} small proxied requests ({SMALL_BYTES}-byte echo, one client connection, a new upstream connection each), median of {ROUNDS}:"
    );
    for (m, mode) in MODES.iter().chain([&RAW_HEAD]).enumerate() {
        let per = small_medians[m] * 1e6 / PROXIED_SMALL as f64;
        println!("  {mode:>8}: {per:>6.0} µs per request");
    }
    ratio::print("http_proxy adapter/raw", &big.ratios(1, 0), "");
    ratio::print("http_proxy compat/adapter", &big.ratios(2, 1), "");
    ratio::print("http_proxy small adapter/raw", &small.ratios(1, 0), "");
    ratio::print("http_proxy small compat/adapter", &small.ratios(2, 1), "");
    ratio::print(
        "http_proxy small adapter/raw-head",
        &small.ratios(1, 3),
        "(the raw proxy copying both heads through the guest, as the bridge does)",
    );
    ratio::print(
        "http_proxy small raw-head/raw",
        &small.ratios(3, 0),
        "(what copying the heads costs)",
    );
}

fn request(mode: &str, body: PatternBody) -> http::Request<PatternBody> {
    http::Request::post(format!("/{mode}/echo"))
        .header(http::header::HOST, "localhost")
        .body(body)
        .unwrap()
}

/// One 64 MiB echo: the time until the last response byte arrived.
async fn echo_big(server: &Server, mode: &str) -> Duration {
    let mut client = Client::connect(server.addr()).await;
    let start = Instant::now();
    let response = client
        .send(request(mode, PatternBody::new(BIG)))
        .await
        .unwrap();
    let mut check = PatternCheck::default();
    let received = read_body(response.into_body(), Duration::ZERO, |at, d| {
        check.check(at, d)
    })
    .await;
    let elapsed = start.elapsed();
    assert_eq!(
        (received.bytes, received.error, check.first_mismatch),
        (BIG, None, None),
        "{mode}"
    );
    elapsed
}

/// SMALL echoes of SMALL_BYTES each on one connection: the total time.
async fn echo_small(server: &Server, mode: &str) -> Duration {
    echo_n(server, mode, SMALL).await
}

/// `n` echoes of SMALL_BYTES each on one connection: the total time.
async fn echo_n(server: &Server, mode: &str, n: usize) -> Duration {
    let mut client = Client::connect(server.addr()).await;
    let start = Instant::now();
    for _ in 0..n {
        let response = client
            .send(request(mode, PatternBody::new(SMALL_BYTES)))
            .await
            .unwrap();
        let received = read_body(response.into_body(), Duration::ZERO, |_, _| {}).await;
        assert_eq!(received.bytes, SMALL_BYTES, "{mode}");
    }
    start.elapsed()
}
