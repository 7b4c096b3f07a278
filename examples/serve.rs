//! `cargo run --example serve [port]`: serves the wasi:http example component
//! (`examples/http-lines`) on 127.0.0.1 (port 8080 unless given) with wasmtime 50 and
//! wasmtime-wasi-http's WASI 0.3 support behind hyper, one instance per request, and prints
//! what each request did. Try it with:
//!
//! ```sh
//! printf 'hello\nwasi\n' | curl -sS -i -H 'TE: trailers' --data-binary @- http://127.0.0.1:8080/
//! ```
//!
//! `cargo run --example serve -- --proxy [port]` serves `examples/http-proxy` instead, in
//! front of a small upstream it starts on another loopback port (the proxy's requests go out
//! through wasmtime-wasi-http's own sender, to loopback only):
//!
//! ```sh
//! curl -sS http://127.0.0.1:8080/item/42
//! curl -sS -H 'TE: trailers' 'http://127.0.0.1:8080/fan-out?n=5'
//! ```

use std::net::SocketAddr;

use wit_futures_harness::http::{Server, Upstream};

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let proxy = args.first().is_some_and(|a| a == "--proxy");
    if proxy {
        args.remove(0);
    }
    let port: u16 = match args.first() {
        Some(port) => port.parse().expect("usage: serve [--proxy] [port]"),
        None => 8080,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Kept alive while serving.
    let mut _upstream = None;
    let server = if proxy {
        let upstream = Upstream::start().await;
        let url = upstream.url();
        println!(
            "upstream (plain hyper) on {url}: /item/<n>, /echo, /generate?bytes=N, /slow?ms=N"
        );
        let server = Server::start_with_env(
            "example-http-proxy",
            addr,
            &[("UPSTREAM", &url), ("UPSTREAM_TIMEOUT_MS", "2000")],
        )
        .await;
        _upstream = Some(upstream);
        let url = server.url("/");
        println!("serving examples/http-proxy on {url}, forwarding to the upstream");
        println!("try: curl -sS {url}item/42");
        println!("     curl -sS -H 'TE: trailers' '{url}fan-out?n=5'");
        println!("     curl -sS -i '{url}slow?ms=5000'   (the proxy answers 504 after 2 s)");
        server
    } else {
        let server = Server::start_on("example-http-lines", addr).await;
        let url = server.url("/");
        println!("serving examples/http-lines on {url}");
        println!(
            "try: printf 'hello\\nwasi\\n' | curl -sS -i -H 'TE: trailers' --data-binary @- {url}"
        );
        server
    };
    for i in 0.. {
        let log = server.log(i).await;
        let status = match (&log.error, log.settled) {
            (Some(error), _) => format!("failed: {error}"),
            (None, true) => "settled".to_owned(),
            (None, false) => "did not settle".to_owned(),
        };
        print!("{}", log.stderr);
        println!(
            "{} ({status}, guest memory {} KiB)",
            log.request,
            log.guest_memory / 1024
        );
    }
}
