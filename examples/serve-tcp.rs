//! `cargo run --example serve-tcp [port]`: runs the mini-redis example component
//! (`examples/mini-redis`, a `wasi:cli/command`) on 127.0.0.1 (port 6379 unless given) with
//! wasmtime 50 and wasmtime-wasi's WASI 0.3 sockets, TCP allowed on loopback only. Try it
//! with Redis's own tools (Debian: `apt install redis-tools`):
//!
//! ```sh
//! redis-cli -p 6379 set greeting hello
//! redis-cli -p 6379 get greeting
//! redis-benchmark -p 6379 -t set,get -n 100000 -c 50 -P 16 -q
//! ```

#[tokio::main]
async fn main() {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse().expect("usage: serve-tcp [port]"),
        None => 6379,
    };
    println!(
        "serving examples/mini-redis on 127.0.0.1:{port} (wasmtime 50, WASI 0.3 sockets, loopback only)"
    );
    println!("try: redis-cli -p {port} set greeting hello && redis-cli -p {port} get greeting");
    println!("     redis-benchmark -p {port} -t set,get -n 100000 -c 50 -P 16 -q");
    let ended = wit_futures_harness::command::run_command(
        "example-mini-redis",
        &[("PORT", &port.to_string())],
    )
    .await;
    eprintln!("mini-redis ended: {ended:?}");
    std::process::exit(1);
}
