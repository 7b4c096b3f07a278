//! Runs the example components (examples/) with the host playing their peers. Used by
//! `cargo run --example demo`, which prints the lines, and by the tests, which check them.

use std::time::{Duration, Instant};

use crate::http::{Client, ClientBody, PatternBody, Server, read_body, scripted_body};
use crate::peer::{Delivery, Intake, future_after, future_never, read_future, read_stream, stream};
use crate::{FutureReader, Guest, StreamReader};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One scenario of an example: its name and what the component reported.
pub struct Run {
    /// The scenario.
    pub scenario: String,
    /// What the component did.
    pub lines: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// examples/select-race: two replicas, a deadline and a cancel signal with different
/// timings. Each scenario's single line is the race's outcome.
pub async fn select_race() -> Vec<Run> {
    let mut g = Guest::new("example-select-race").await;
    type Args = (
        FutureReader<String>,
        FutureReader<String>,
        FutureReader<u32>,
        FutureReader<u32>,
    );
    let race = g.func::<Args, (String,)>("race");
    // (name, replica a answers after, replica b after, deadline, cancel after); None: never
    let scenarios = [
        ("b is faster", Some(40), Some(10), 100, None),
        ("both answer at once", Some(10), Some(10), 100, None),
        ("both too slow", Some(300), None, 30, None),
        ("host cancels", Some(300), Some(300), 200, Some(20)),
    ];
    let mut runs = Vec::new();
    for (name, a_ms, b_ms, deadline_ms, cancel_ms) in scenarios {
        let start = Instant::now();
        let (outcome,) = g
            .run(async |acc| {
                let answer = |after: Option<u64>, text: &str| match after {
                    Some(after) => future_after(acc, ms(after), text.to_string()),
                    None => future_never(acc).0,
                };
                let cancel = match cancel_ms {
                    Some(after) => future_after(acc, ms(after), 0),
                    None => future_never(acc).0,
                };
                let args = (
                    answer(a_ms, "42 (from a)"),
                    answer(b_ms, "42 (from b)"),
                    future_after(acc, ms(deadline_ms), deadline_ms as u32),
                    cancel,
                );
                race.call_concurrent(acc, args).await.unwrap()
            })
            .await;
        runs.push(Run {
            scenario: name.into(),
            lines: vec![outcome],
            elapsed: start.elapsed(),
        });
    }
    g.assert_nothing_open().await;
    runs
}

/// The log lines examples/stream-pipeline reads.
pub const LOG: &[&str] = &[
    "info: starting",
    "error: disk full",
    "info: retrying",
    "error: disk still full",
    "warn: giving up soon",
    "error: gave up",
];

/// examples/stream-pipeline: the log lines go in (in small, delayed chunks), the numbered
/// errors come out (read slowly), then the summary.
pub async fn stream_pipeline() -> Vec<Run> {
    let mut g = Guest::new("example-stream-pipeline").await;
    let errors = g
        .func::<(StreamReader<String>,), ((StreamReader<String>, FutureReader<String>),)>("errors");
    let start = Instant::now();
    let lines = g
        .run(async |a| {
            let log = LOG.iter().map(|l| l.to_string()).collect::<Vec<_>>();
            let (input, _) = stream(a, log, Delivery::chunks(&[2, 1]).delay(ms(2)));
            let ((output, summary),) = errors.call_concurrent(a, (input,)).await.unwrap();
            let intake = Intake {
                per_write: 1,
                ..Intake::default()
            };
            let mut lines = read_stream(a, output, intake).await;
            lines.push(read_future(a, summary).await);
            lines
        })
        .await;
    g.assert_nothing_open().await;
    vec![Run {
        scenario: format!("{} log lines", LOG.len()),
        lines,
        elapsed: start.elapsed(),
    }]
}

/// examples/fan-out: five jobs whose inputs arrive at different times; the deadline passes
/// before the last two.
pub async fn fan_out() -> Vec<Run> {
    let mut g = Guest::new("example-fan-out").await;
    let squares = g.func::<(Vec<FutureReader<u32>>, FutureReader<u32>), (Vec<String>,)>("squares");
    let start = Instant::now();
    let lines = g
        .run(async |a| {
            // (value, arrives after ms)
            let inputs = [(3, 30), (4, 10), (5, 50), (6, 400), (7, 500)];
            let inputs = inputs
                .iter()
                .map(|&(v, after)| future_after(a, ms(after), v))
                .collect();
            let deadline = future_after(a, ms(150), 150);
            squares
                .call_concurrent(a, (inputs, deadline))
                .await
                .unwrap()
                .0
        })
        .await;
    g.assert_nothing_open().await;
    vec![Run {
        scenario: "5 jobs, deadline at 150 ms".into(),
        lines,
        elapsed: start.elapsed(),
    }]
}

/// examples/byte-copy: 1 MiB in odd-sized chunks, copied back. Lines: the byte count the
/// component reports, and whether the copy matches.
pub async fn byte_copy() -> Vec<Run> {
    let mut g = Guest::new("example-byte-copy").await;
    let copy = g.func::<(StreamReader<u8>,), ((StreamReader<u8>, FutureReader<u64>),)>("copy");
    let data: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(31) >> 3) as u8)
        .collect();
    let start = Instant::now();
    let (copied, count) = g
        .run(async |a| {
            let (input, _) = stream(a, data.clone(), Delivery::chunks(&[1000, 1, 65536, 7]));
            let ((output, count),) = copy.call_concurrent(a, (input,)).await.unwrap();
            let copied = read_stream(a, output, Intake::default()).await;
            (copied, read_future(a, count).await)
        })
        .await;
    g.assert_nothing_open().await;
    vec![Run {
        scenario: "1 MiB".into(),
        lines: vec![
            format!("copied {count} bytes"),
            format!("output identical to input: {}", copied == data),
        ],
        elapsed: start.elapsed(),
    }]
}

/// examples/http-lines, served over HTTP on 127.0.0.1 and driven by a real HTTP client
/// (hyper): a small upload with trailers, a client that goes quiet past the deadline, and
/// one that hangs up mid-response. Lines: what the client received, then what the server
/// logged.
pub async fn http_lines() -> Vec<Run> {
    let server = Server::start("example-http-lines").await;
    let post = |path: &str, body: ClientBody| {
        http::Request::post(path)
            .header(http::header::HOST, "localhost")
            .header(http::header::TE, "trailers")
            .body(body)
            .unwrap()
    };
    let mut runs = Vec::new();
    let scenarios: [(&str, &str, ClientBody, Option<u64>); 3] = [
        (
            "three lines, read to the end",
            "/",
            scripted_body(vec![(ms(0), "hello\nwasi\n"), (ms(20), "world\n")]),
            None,
        ),
        (
            "the client goes quiet for 300 ms (idle_ms=100)",
            "/?idle_ms=100",
            scripted_body(vec![(ms(0), "first\n"), (ms(300), "too late\n")]),
            None,
        ),
        (
            "the client hangs up after 64 KiB of a long response",
            "/",
            lines_body(200_000),
            Some(64 * 1024),
        ),
    ];
    for (i, (scenario, path, body, hang_up_after)) in scenarios.into_iter().enumerate() {
        let start = Instant::now();
        let mut client = Client::connect(server.addr()).await;
        let response = client.send(post(path, body)).await.expect("response");
        let mut lines = vec![format!("status {}", response.status())];
        let mut text = Vec::new();
        match hang_up_after {
            None => {
                let received = read_body(response.into_body(), Duration::ZERO, |_, d| {
                    text.extend_from_slice(d)
                })
                .await;
                lines.extend(
                    String::from_utf8_lossy(&text)
                        .lines()
                        .map(|l| format!("< {l}")),
                );
                if let Some(trailers) = received.trailers {
                    let digest = fnv1a(&text);
                    for (name, value) in &trailers {
                        lines.push(format!(
                            "< trailer {name}: {}",
                            value.to_str().unwrap_or("?")
                        ));
                    }
                    let matches = trailers.get("x-fnv1a").and_then(|v| v.to_str().ok())
                        == Some(format!("{digest:016x}").as_str());
                    lines.push(format!("digest of the body matches x-fnv1a: {matches}"));
                }
            }
            Some(limit) => {
                use http_body_util::BodyExt;
                let mut body = response.into_body();
                let mut read = 0;
                while read < limit {
                    match body.frame().await {
                        Some(Ok(frame)) => read += frame.into_data().map_or(0, |d| d.len() as u64),
                        _ => break,
                    }
                }
                lines.push(format!("read {read} bytes, then hung up"));
                drop((body, client));
            }
        }
        let log = server.logs(i + 1).await.pop().unwrap();
        lines.extend(log.stderr.lines().map(|l| format!("server: {l}")));
        lines.push(format!(
            "server: store settled with nothing left open: {}; guest memory peak {} KiB",
            log.settled,
            log.guest_memory / 1024
        ));
        runs.push(Run {
            scenario: scenario.into(),
            lines,
            elapsed: start.elapsed(),
        });
    }
    runs
}

/// `n` numbered lines of text.
fn lines_body(n: u64) -> ClientBody {
    use http_body_util::BodyExt;
    let text: String = (0..n)
        .map(|i| format!("line {i} of a long upload\n"))
        .collect();
    PatternBody::bytes(text).boxed_unsync()
}

/// The digest the example puts in `x-fnv1a`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// examples/framed-kv: a client's requests arrive a few bytes at a time, in odd chunks; the
/// replies are read as they come. Lines: the requests and their replies, then whether the
/// component shut its send stream down.
pub async fn framed_kv() -> Vec<Run> {
    let mut g = Guest::new("example-framed-kv").await;
    let connect = g.func::<(StreamReader<u8>,), (StreamReader<u8>,)>("connect");
    let requests = [
        "SET color blue",
        "SET shape round and large",
        "GET color",
        "GET size",
        "DEL color",
        "GET color",
        "GET shape",
        "HELLO",
        "QUIT",
    ];
    let text: Vec<u8> = requests
        .iter()
        .flat_map(|r| format!("{r}\n").into_bytes())
        .collect();
    let start = Instant::now();
    let replies = g
        .run(async |a| {
            let (receive, _) = stream(a, text.clone(), Delivery::chunks(&[3, 1, 7]).delay(ms(1)));
            let (send,) = connect.call_concurrent(a, (receive,)).await.unwrap();
            // Resolves once the component shut the stream down.
            read_stream(a, send, Intake::default()).await
        })
        .await;
    g.assert_nothing_open().await;
    let replies = String::from_utf8_lossy(&replies).into_owned();
    let mut lines: Vec<String> = requests
        .iter()
        .zip(replies.lines().map(Some).chain(std::iter::repeat(None)))
        .map(|(request, reply)| {
            format!(
                "> {request:<27} < {}",
                reply.unwrap_or("(connection closed)")
            )
        })
        .collect();
    lines.push(format!(
        "send stream shut down after {} replies",
        replies.lines().count()
    ));
    vec![Run {
        scenario: format!("{} requests in 3/1/7-byte chunks", requests.len()),
        lines,
        elapsed: start.elapsed(),
    }]
}

/// examples/mini-redis as a `wasi:cli/command` component on a free loopback port: one
/// client sends a pipeline of requests as raw RESP and reads the replies, then a request
/// that is not RESP ends its connection with an error reply.
pub async fn mini_redis() -> Vec<Run> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    let port = crate::command::free_port();
    let requests: [&[&str]; 7] = [
        &["PING"],
        &["SET", "greeting", "hello"],
        &["GET", "greeting"],
        &["INCR", "visits"],
        &["INCR", "visits"],
        &["GET", "missing"],
        &["DEL", "greeting", "missing"],
    ];
    let resp = |parts: &[&str]| {
        let mut out = format!("*{}\r\n", parts.len());
        for part in parts {
            out.push_str(&format!("${}\r\n{part}\r\n", part.len()));
        }
        out
    };
    let start = Instant::now();
    let (replies, bad) = crate::command::run_command_while(
        "example-mini-redis",
        &[("PORT", &port.to_string())],
        async {
            let mut stream = loop {
                match TcpStream::connect(("127.0.0.1", port)).await {
                    Ok(stream) => break stream,
                    Err(_) => tokio::time::sleep(ms(10)).await,
                }
            };
            let pipeline: String = requests.iter().map(|r| resp(r)).collect();
            stream.write_all(pipeline.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut replies = String::new();
            stream.read_to_string(&mut replies).await.unwrap();
            let mut bad = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            bad.write_all(b"*two\r\n").await.unwrap();
            let mut answer = String::new();
            bad.read_to_string(&mut answer).await.unwrap();
            (replies, answer)
        },
    )
    .await;
    // One reply per request: RESP's bulk strings take two lines.
    let mut lines = Vec::new();
    let mut reply_lines = replies.split("\r\n");
    for request in requests {
        let mut reply = reply_lines.next().unwrap_or("").to_string();
        if reply.starts_with('$') && reply != "$-1" {
            reply = format!("{reply} {}", reply_lines.next().unwrap_or(""));
        }
        lines.push(format!("> {:<26} < {reply}", request.join(" ")));
    }
    lines.push(format!("> {:<26} < {}", "*two (not RESP)", bad.trim_end()));
    vec![Run {
        scenario: format!(
            "a pipeline of {} requests on one connection, then a bad one on another",
            requests.len()
        ),
        lines,
        elapsed: start.elapsed(),
    }]
}
