//! Runs every example component the way `cargo run --example demo` does, and checks what it
//! reports.

use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use wit_futures_harness::examples;
use wit_futures_harness::http::{Client, PatternBody, Server};
use wit_futures_harness::{FutureReader, Guest};

use crate::gated::gated_future;

/// How the host answers in a run of examples/select-race's `race`.
#[derive(Clone, Copy, Debug)]
enum Race {
    /// Replica b answers; replica a never does.
    BFaster,
    /// Both replicas answer, in the same step of the host.
    BothAtOnce,
    /// Neither replica answers; the deadline passes.
    BothTooSlow,
    /// Nothing answers; the host cancels.
    HostCancels,
}

/// Runs examples/select-race's `race` (the component `cargo run --example demo` runs, there
/// with wall-clock delays) with the host answering as `how` says, once the guest races all
/// of its futures: every read of the guest is in flight before the host answers (no
/// timers), so the outcome is the scenario's, not a race of host timers.
async fn race(g: &mut Guest, how: Race) -> String {
    type Args = (
        FutureReader<String>,
        FutureReader<String>,
        FutureReader<u32>,
        FutureReader<u32>,
    );
    let race = g.func::<Args, (String,)>("race");
    let (outcome,) = g
        .run(async |a| {
            let (replica_a, a_gate) = gated_future(a, "42 (from a)".to_string());
            let (replica_b, b_gate) = gated_future(a, "42 (from b)".to_string());
            let (deadline, deadline_gate) = gated_future(a, 30);
            let (cancel, cancel_gate) = gated_future(a, 0);
            let call = race.call_concurrent(a, (replica_a, replica_b, deadline, cancel));
            let host = async {
                for gate in [&a_gate, &b_gate] {
                    gate.read_started(1).await;
                }
                deadline_gate.read_started(1).await;
                cancel_gate.read_started(1).await;
                match how {
                    Race::BFaster => b_gate.release(),
                    Race::BothAtOnce => {
                        a_gate.release();
                        b_gate.release();
                    }
                    Race::BothTooSlow => deadline_gate.release(),
                    Race::HostCancels => cancel_gate.release(),
                }
            };
            let (result, ()) = futures::join!(call, host);
            result.unwrap()
        })
        .await;
    outcome
}

#[tokio::test]
async fn select_race_example() {
    let mut g = Guest::new("example-select-race").await;
    assert_eq!(
        race(&mut g, Race::BFaster).await,
        "replica b answered first: 42 (from b); replica a hung up"
    );
    // Both answers arrive together: either wins, and the other is kept, not dropped.
    let both = race(&mut g, Race::BothAtOnce).await;
    assert!(
        [
            "replica a answered first: 42 (from a); replica b had answered too: 42 (from b)",
            "replica b answered first: 42 (from b); replica a had answered too: 42 (from a)",
        ]
        .contains(&both.as_str()),
        "{both}"
    );
    assert_eq!(
        race(&mut g, Race::BothTooSlow).await,
        "deadline of 30 ms passed, no answer; replica a hung up; replica b hung up"
    );
    assert_eq!(
        race(&mut g, Race::HostCancels).await,
        "cancelled by the host; replica a hung up; replica b hung up"
    );
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn stream_pipeline_example() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let runs = examples::stream_pipeline().await;
    assert_eq!(
        runs[0].lines,
        [
            "#1: ERROR: DISK FULL",
            "#2: ERROR: DISK STILL FULL",
            "#3: ERROR: GAVE UP",
            "read 6 lines, kept 3",
        ]
    );
}

/// examples/fan-out's five jobs, driven by the host step by step (the demo uses wall-clock
/// delays): the inputs of jobs 1, 0 and 2 arrive in that order, each only once the job
/// before it took its input and let go of its reader (so it has finished, and the guest
/// joined it, before the next input exists); the deadline passes once job 2 finished, with
/// jobs 3 and 4 still waiting.
#[tokio::test]
async fn fan_out_example() {
    let mut g = Guest::new("example-fan-out").await;
    let squares = g.func::<(Vec<FutureReader<u32>>, FutureReader<u32>), (Vec<String>,)>("squares");
    let (lines, waiting) = g
        .run(async |a| {
            let (inputs, gates): (Vec<_>, Vec<_>) = (3..8).map(|v| gated_future(a, v)).unzip();
            let (deadline, deadline_gate) = gated_future(a, 150);
            let call = squares.call_concurrent(a, (inputs, deadline));
            let host = async {
                for gate in &gates {
                    gate.read_started(1).await;
                }
                for job in [1, 0, 2] {
                    gates[job].release();
                    gates[job].dropped().await;
                }
                deadline_gate.read_started(1).await;
                deadline_gate.release();
            };
            let (result, ()) = futures::join!(call, host);
            (result.unwrap().0, gates)
        })
        .await;
    assert_eq!(
        lines,
        [
            "job 1: 4^2 = 16",
            "job 0: 3^2 = 9",
            "job 2: 5^2 = 25",
            "deadline: aborted 2 jobs still waiting",
        ]
    );
    // The aborted jobs' reads were cancelled and their readers dropped.
    g.assert_nothing_open().await;
    for gate in &waiting[3..] {
        let seen = gate.seen();
        assert!(!seen.handed && seen.dropped, "{seen:?}");
    }
}

#[tokio::test]
async fn byte_copy_example() {
    let runs = examples::byte_copy().await;
    assert_eq!(
        runs[0].lines,
        ["copied 1048576 bytes", "output identical to input: true"]
    );
}

#[tokio::test]
async fn framed_kv_example() {
    let runs = examples::framed_kv().await;
    assert_eq!(
        runs[0].lines,
        [
            "> SET color blue              < OK",
            "> SET shape round and large   < OK",
            "> GET color                   < VALUE blue",
            "> GET size                    < NOT FOUND",
            "> DEL color                   < DELETED",
            "> GET color                   < NOT FOUND",
            "> GET shape                   < VALUE round and large",
            "> HELLO                       < ERR unknown request \"HELLO\"",
            "> QUIT                        < (connection closed)",
            "send stream shut down after 8 replies",
        ]
    );
}

/// How long the client waits for the next frame of a response before the test fails as
/// hung.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The digest the example puts in `x-fnv1a`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What the client of an exchange with examples/http-lines does.
enum Upload {
    /// Sends each text once the response so far contains the marker (`None`: at once),
    /// then ends the request, and reads the response to its end.
    Script(Vec<(Option<&'static str>, &'static str)>),
    /// Uploads `n` numbered lines and hangs up after reading `limit` bytes of the response.
    HangUpAfter { n: u64, limit: u64 },
}

/// One POST to examples/http-lines on `server` (its `nth` request), with the lines that
/// `cargo run --example demo` prints for it: what the client received, then what the
/// server logged. The client acts on what it has received (no timers).
async fn http_lines_exchange(
    server: &Server,
    nth: usize,
    path: &str,
    upload: Upload,
) -> Vec<String> {
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Frame<Bytes>, std::io::Error>>();
    let (body, mut script, hang_up_after) = match upload {
        Upload::Script(script) => (
            http_body_util::StreamBody::new(rx).boxed_unsync(),
            Some(script.into_iter().peekable()),
            None,
        ),
        Upload::HangUpAfter { n, limit } => {
            let text: String = (0..n)
                .map(|i| format!("line {i} of a long upload\n"))
                .collect();
            (PatternBody::bytes(text).boxed_unsync(), None, Some(limit))
        }
    };
    let mut tx = Some(tx);
    let mut text = Vec::new();
    // Sends what the response so far allows; ends the request after the last text.
    let mut send = |text: &[u8]| {
        let Some(script) = &mut script else { return };
        let received = String::from_utf8_lossy(text);
        while let Some((after, data)) = script.peek() {
            if after.is_some_and(|marker| !received.contains(marker)) {
                return;
            }
            let frame = Frame::data(Bytes::from_static(data.as_bytes()));
            tx.as_ref().unwrap().unbounded_send(Ok(frame)).unwrap();
            script.next();
        }
        tx = None;
    };
    send(&text);
    let request = http::Request::post(path)
        .header(http::header::HOST, "localhost")
        .header(http::header::TE, "trailers")
        .body(body)
        .unwrap();
    let mut client = Client::connect(server.addr()).await;
    let response = client.send(request).await.expect("response");
    let mut lines = vec![format!("status {}", response.status())];
    let mut body = response.into_body();
    let mut trailers = None;
    if let Some(limit) = hang_up_after {
        let mut read = 0;
        while read < limit {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.into_data().map_or(0, |d| d.len() as u64),
                _ => break,
            }
        }
        lines.push(format!("read {read} bytes, then hung up"));
        drop((body, client));
    } else {
        loop {
            let frame = tokio::time::timeout(HANG_GUARD, body.frame())
                .await
                .unwrap_or_else(|_| panic!("{path}: no response frame within {HANG_GUARD:?}"));
            match frame {
                None => break,
                Some(Err(e)) => panic!("{path}: the response failed: {e}"),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        text.extend_from_slice(&data);
                        send(&text);
                    }
                    Err(frame) => trailers = frame.into_trailers().ok(),
                },
            }
        }
        lines.extend(
            String::from_utf8_lossy(&text)
                .lines()
                .map(|l| format!("< {l}")),
        );
        if let Some(trailers) = trailers {
            for (name, value) in &trailers {
                lines.push(format!(
                    "< trailer {name}: {}",
                    value.to_str().unwrap_or("?")
                ));
            }
            let matches = trailers.get("x-fnv1a").and_then(|v| v.to_str().ok())
                == Some(format!("{:016x}", fnv1a(&text)).as_str());
            lines.push(format!("digest of the body matches x-fnv1a: {matches}"));
        }
    }
    let log = server.logs(nth).await.pop().unwrap();
    lines.extend(log.stderr.lines().map(|l| format!("server: {l}")));
    lines.push(format!(
        "server: store settled with nothing left open: {}",
        log.settled
    ));
    lines
}

/// examples/http-lines served over HTTP and driven by a real client, as the demo does, but
/// with a client that acts on what it received instead of pausing for set times: the
/// quiet client sends its late line only once the server has given up on it.
#[tokio::test]
async fn http_lines_example() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let server = Server::start("example-http-lines").await;
    let settled = "server: store settled with nothing left open: true";
    let complete = http_lines_exchange(
        &server,
        1,
        "/",
        Upload::Script(vec![(None, "hello\nwasi\n"), (Some("WASI"), "world\n")]),
    )
    .await;
    assert_eq!(
        complete[..9],
        [
            "status 200 OK",
            "<      1  HELLO",
            "<      2  WASI",
            "<      3  WORLD",
            "< trailer x-lines: 3",
            "< trailer x-bytes: 41",
            "< trailer x-fnv1a: 1f16010db3058127",
            "< trailer x-outcome: complete",
            "digest of the body matches x-fnv1a: true",
        ]
    );
    assert_eq!(complete[9], "server: http-lines: POST /: 3 lines, 41 bytes");
    assert_eq!(complete[10], settled, "{complete:?}");
    let quiet = http_lines_exchange(
        &server,
        2,
        "/?idle_ms=100",
        Upload::Script(vec![(None, "first\n"), (Some("giving up"), "too late\n")]),
    )
    .await;
    assert_eq!(
        quiet[..3],
        [
            "status 200 OK",
            "<      1  FIRST",
            "< ! no data for 100 ms: giving up"
        ]
    );
    assert!(
        quiet.contains(&"< trailer x-outcome: timeout".to_string()),
        "{quiet:?}"
    );
    assert!(quiet.contains(&"digest of the body matches x-fnv1a: true".to_string()));
    assert_eq!(quiet.last().unwrap(), settled, "{quiet:?}");
    let gone = http_lines_exchange(
        &server,
        3,
        "/",
        Upload::HangUpAfter {
            n: 200_000,
            limit: 64 * 1024,
        },
    )
    .await;
    assert!(
        gone.iter()
            .any(|l| l.contains("client went away after")
                && l.contains("stopped reading its request")),
        "{gone:?}"
    );
    assert_eq!(gone.last().unwrap(), settled, "{gone:?}");
}

#[tokio::test]
async fn mini_redis_example() {
    let runs = examples::mini_redis().await;
    assert_eq!(
        runs[0].lines,
        [
            "> PING                       < +PONG",
            "> SET greeting hello         < +OK",
            "> GET greeting               < $5 hello",
            "> INCR visits                < :1",
            "> INCR visits                < :2",
            "> GET missing                < $-1",
            "> DEL greeting missing       < :1",
            "> *two (not RESP)            < -ERR Protocol error: to_isize: Failed to parse as integer.",
        ]
    );
}

/// The README's first component, served as the README serves it (here by the test host):
/// each number's running total comes back, then the trailers.
#[tokio::test]
async fn first_component_answers_running_totals_with_trailers() {
    use http::HeaderValue;
    use wit_futures_harness::http::{Client, PatternBody, Server, read_body};

    let server = Server::start("first-component").await;
    let mut client = Client::connect(server.addr()).await;
    for (input, expected, count, outcome) in [
        ("1\n2\n3\n", "1\n3\n6\n", "3", "complete"),
        ("10\n-4\nten\n7\n", "10\n6\n", "2", "not a number"),
        ("", "", "0", "complete"),
    ] {
        let request = http::Request::post("/")
            .header(http::header::HOST, "localhost")
            .header(http::header::TE, HeaderValue::from_static("trailers"))
            .body(PatternBody::bytes(input))
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.headers()["trailer"], "x-count, x-outcome");
        let mut text = Vec::new();
        let received = read_body(
            response.into_body(),
            std::time::Duration::ZERO,
            |_, data| text.extend_from_slice(data),
        )
        .await;
        assert_eq!(String::from_utf8(text).unwrap(), expected, "{input:?}");
        let trailers = received.trailers.expect("trailers");
        assert_eq!(trailers["x-count"], count);
        assert_eq!(trailers["x-outcome"], outcome);
    }
    for log in server.logs(3).await {
        assert!(log.settled, "{log:?}");
        assert_eq!(log.stderr, "");
    }
}

/// The first code block after `marker` in `text`: the lines between its fences.
fn block_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}"));
    let open = at + text[at..].find("```").unwrap();
    let body = open + text[open..].find('\n').unwrap() + 1;
    let close = body + text[body..].find("```").unwrap();
    &text[body..close]
}

/// The README's first component is the code the tests build and serve: `src/lib.rs` word
/// for word, `Cargo.toml` but for the wit-futures line (the README points at a clone next to
/// it, the workspace at itself).
#[test]
fn readme_first_component_is_the_tested_example() {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("## Your first component").unwrap()..];
    assert_eq!(
        block_after(section, "`src/lib.rs`:"),
        include_str!("../../examples/first-component/src/lib.rs"),
        "README.md's src/lib.rs differs from examples/first-component/src/lib.rs"
    );
    let readme_toml: Vec<&str> = block_after(section, "`Cargo.toml`:")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            if l.starts_with("wit-futures =") {
                "wit-futures = ..."
            } else {
                l
            }
        })
        .collect();
    let workspace_toml: Vec<&str> = include_str!("../../examples/first-component/Cargo.toml")
        .lines()
        .map(|l| {
            if l.starts_with("wit-futures =") {
                "wit-futures = ..."
            } else {
                l
            }
        })
        .collect();
    assert_eq!(readme_toml, workspace_toml);
    assert!(block_after(section, "`Cargo.toml`:").contains(
        r#"wit-futures = { version = "0.1", path = "../wit-futures", features = ["wasi-http"] }"#
    ));
}
