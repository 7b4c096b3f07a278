//! `cargo bench --bench tcp`: TCP over wasi:sockets against hand-written code, one run,
//! printing `name kind = ratio` lines.
//!
//! - `tcp_echo`: 64 MiB sent by a tokio client on loopback and echoed by the guest, through
//!   `wasi_sockets::TcpListener` + `TcpStream::into_split` + `futures::io::copy_buf`
//!   (adapter; `futures::io::copy`, which goes through an 8 KiB buffer of its own, as copy)
//!   vs wasip3's raw `tcp-socket` streams with a `read` / `write_all` loop (raw), in the
//!   same component (`bench-guest`), alternating.
//! - `mini_redis`: examples/mini-redis as a component vs the same handler and codec
//!   (`examples/mini-redis/src/server.rs`) compiled natively on tokio's `TcpListener`, each
//!   server on a thread of its own; 50 connections pipelining SET/GET (16 requests a batch,
//!   one write each, replies read whole) from a tokio client on this thread. Requests per
//!   second for both.

#[path = "ratio.rs"]
mod ratio;
#[path = "../examples/mini-redis/src/server.rs"]
#[allow(dead_code)]
mod server;

use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wit_futures_harness::command::{free_port, run_command};
use wit_futures_harness::peer::read_future;
use wit_futures_harness::{FutureReader, Guest};

const ROUNDS: usize = 9;
const ECHO_BYTES: usize = 64 << 20;
const CONNECTIONS: usize = 50;
const PIPELINE: usize = 16;
const BATCHES: usize = 250;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let run = |name: &str| only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    if run("tcp_echo") {
        tcp_echo().await;
    }
    if run("mini_redis") {
        mini_redis().await;
    }
}

/// Writes `ECHO_BYTES` to the echo server on `port` while reading the echo; the time from
/// connect to the end of the echo.
async fn echo_once(port: u16) -> Duration {
    let data: Vec<u8> = (0..ECHO_BYTES).map(|i| (i % 251) as u8).collect();
    let start = Instant::now();
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = async {
        for part in data.chunks(64 * 1024) {
            writer.write_all(part).await.unwrap();
        }
        writer.shutdown().await.unwrap();
    };
    let reading = async {
        let mut received = 0;
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).await.unwrap();
            if n == 0 {
                return received;
            }
            received += n;
        }
    };
    let ((), received) = tokio::join!(writing, reading);
    assert_eq!(received, ECHO_BYTES);
    start.elapsed()
}

async fn tcp_echo() {
    let mut g = Guest::new("bench-guest").await;
    let echo = g.func::<(String, u32), ((u16, FutureReader<u64>),)>("tcp-echo");
    let modes = ["raw", "adapter", "copy"];
    let mut samples = ratio::Rounds::<3>::new();
    for round in 0..=ROUNDS {
        for (m, mode) in modes.iter().enumerate() {
            let t = g
                .run(async |a| {
                    let ((port, total),) = echo
                        .call_concurrent(a, (mode.to_string(), 1))
                        .await
                        .unwrap();
                    let t = echo_once(port).await;
                    assert_eq!(read_future(a, total).await, ECHO_BYTES as u64);
                    t
                })
                .await;
            if round > 0 {
                samples.push(m, t.as_secs_f64());
            }
        }
    }
    let [raw, adapter, copy] = samples.medians();
    let ms = |t: f64| t * 1e3;
    let mbs = |t: f64| ECHO_BYTES as f64 / t / 1e6;
    println!(
        "tcp_echo: {} MiB echoed by the guest, median of {ROUNDS}: raw {:.1} ms ({:.0} MB/s), copy_buf {:.1} ms ({:.0} MB/s), copy {:.1} ms ({:.0} MB/s)",
        ECHO_BYTES >> 20,
        ms(raw),
        mbs(raw),
        ms(adapter),
        mbs(adapter),
        ms(copy),
        mbs(copy),
    );
    ratio::print(
        "tcp_echo adapter/raw",
        &samples.ratios(1, 0),
        "(TcpStream halves + futures::io::copy_buf)",
    );
    ratio::print(
        "tcp_echo copy/raw",
        &samples.ratios(2, 0),
        "(futures::io::copy: its own 8 KiB buffer, 8 writes per 64 KiB)",
    );
}

/// The RESP for one SET or GET.
fn request(i: usize, connection: usize) -> String {
    let key = format!("key:{connection}:{}", i % 100);
    if i.is_multiple_of(2) {
        let value = format!("value-{i:08}");
        format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
            key.len(),
            value.len()
        )
    } else {
        format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len())
    }
}

/// Takes one whole reply off the front of `buf`, if it is there.
fn take_reply(buf: &mut BytesMut) -> bool {
    let Some(line) = buf.windows(2).position(|w| w == b"\r\n") else {
        return false;
    };
    let len = match buf[0] {
        b'$' => {
            let n: i64 = std::str::from_utf8(&buf[1..line]).unwrap().parse().unwrap();
            if n < 0 { 0 } else { n as usize + 2 }
        }
        b'+' | b'-' | b':' => 0,
        other => panic!("unexpected reply {:?}", other as char),
    };
    if buf.len() < line + 2 + len {
        return false;
    }
    buf.advance(line + 2 + len);
    true
}

/// 50 connections, each sending `BATCHES` batches of `PIPELINE` requests and reading the
/// replies; the requests per second.
async fn load(port: u16) -> f64 {
    let start = Instant::now();
    let clients = (0..CONNECTIONS).map(|c| async move {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        for batch in 0..BATCHES {
            let requests: String = (0..PIPELINE)
                .map(|i| request(batch * PIPELINE + i, c))
                .collect();
            stream.write_all(requests.as_bytes()).await.unwrap();
            let mut replies = 0;
            while replies < PIPELINE {
                while take_reply(&mut buf) {
                    replies += 1;
                }
                if replies < PIPELINE {
                    assert!(stream.read_buf(&mut buf).await.unwrap() > 0, "closed");
                }
            }
        }
    });
    futures::future::join_all(clients).await;
    (CONNECTIONS * BATCHES * PIPELINE) as f64 / start.elapsed().as_secs_f64()
}

/// Waits until something listens on `port`.
async fn listening(port: u16) {
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn mini_redis() {
    // The component, on a thread of its own.
    let component_port = free_port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run_command(
            "example-mini-redis",
            &[("PORT", &component_port.to_string())],
        ))
    });
    // The same server natively, on a thread of its own.
    let native_port = free_port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", native_port))
                .await
                .unwrap();
            let db = server::Db::default();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let db = db.clone();
                tokio::task::spawn_local(async move {
                    let _ = server::serve_connection(stream, db).await;
                });
            }
        });
    });
    listening(component_port).await;
    listening(native_port).await;
    let mut samples = ratio::Rounds::<2>::new();
    for round in 0..=ROUNDS {
        for (i, port) in [native_port, component_port].into_iter().enumerate() {
            let rps = load(port).await;
            if round > 0 {
                samples.push(i, rps);
            }
        }
    }
    let [native, component] = samples.medians();
    println!(
        "mini_redis: {CONNECTIONS} connections x {BATCHES} batches of {PIPELINE} pipelined SET/GET, median of {ROUNDS}: native {native:.0} requests/s, component {component:.0} requests/s"
    );
    // Requests per second: the component's time per request over the native one's.
    ratio::print("mini_redis component/native", &samples.ratios(0, 1), "");
}
