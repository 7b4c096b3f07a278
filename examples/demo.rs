//! `cargo run --example demo`: runs each example component (built for `wasm32-wasip2` by the
//! harness's build script) on embedded wasmtime, with the host playing the other side of
//! its futures and streams (and, for the wasi:http and wasi:sockets examples, a real client
//! on loopback), and prints what happened.

use wit_futures_harness::examples::{self, Run};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    print(
        "select-race: racing component futures with select!, a deadline and a cancellation",
        examples::select_race().await,
    );
    print(
        "stream-pipeline: into_item_stream() + StreamExt + forward into into_sink()",
        examples::stream_pipeline().await,
    );
    print(
        "fan-out: spawned jobs in a JoinSet, joined as they finish, aborted at a deadline",
        examples::fan_out().await,
    );
    print(
        "byte-copy: futures::io::copy from AsyncRead to AsyncWrite",
        examples::byte_copy().await,
    );
    print(
        "framed-kv: tokio-util's Framed + LinesCodec over a connection's two byte streams",
        examples::framed_kv().await,
    );
    print(
        "http-lines: a wasi:http line transform on 127.0.0.1, driven by an HTTP client",
        examples::http_lines().await,
    );
    print(
        "mini-redis: a Redis subset over wasi:sockets, Framed + a RESP codec, on 127.0.0.1",
        examples::mini_redis().await,
    );
}

fn print(title: &str, runs: Vec<Run>) {
    println!("== {title}");
    for run in runs {
        println!("  {} [{:.1?}]", run.scenario, run.elapsed);
        for line in run.lines {
            println!("    {line}");
        }
    }
}
