//! `cargo run --example serve [port]`: serves the wasi:http example component
//! (`examples/http-lines`) on 127.0.0.1 (port 8080 unless given) with wasmtime 50 and
//! wasmtime-wasi-http's WASI 0.3 support behind hyper, one instance per request, and prints
//! what each request did. Try it with:
//!
//! ```sh
//! printf 'hello\nwasi\n' | curl -sS -i -H 'TE: trailers' --data-binary @- http://127.0.0.1:8080/
//! ```

use std::net::SocketAddr;

use wit_futures_harness::http::Server;

#[tokio::main]
async fn main() {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse().expect("usage: serve [port]"),
        None => 8080,
    };
    let server = Server::start_on(
        "example-http-lines",
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await;
    let url = server.url("/");
    println!("serving examples/http-lines on {url}");
    println!(
        "try: printf 'hello\\nwasi\\n' | curl -sS -i -H 'TE: trailers' --data-binary @- {url}"
    );
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
