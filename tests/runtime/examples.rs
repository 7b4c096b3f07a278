//! Runs every example component the way `cargo run --example demo` does, and checks what it
//! reports.

use wit_futures_harness::examples;

#[tokio::test]
async fn select_race_example() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let runs = examples::select_race().await;
    let outcome = |i: usize| runs[i].lines[0].as_str();
    assert_eq!(
        outcome(0),
        "replica b answered first: 42 (from b); replica a hung up"
    );
    // Both answers arrive together: either wins, and the other is kept, not dropped.
    assert!(
        [
            "replica a answered first: 42 (from a); replica b had answered too: 42 (from b)",
            "replica b answered first: 42 (from b); replica a had answered too: 42 (from a)",
        ]
        .contains(&outcome(1)),
        "{}",
        outcome(1)
    );
    assert_eq!(
        outcome(2),
        "deadline of 30 ms passed, no answer; replica a hung up; replica b hung up"
    );
    assert_eq!(
        outcome(3),
        "cancelled by the host; replica a hung up; replica b hung up"
    );
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

#[tokio::test]
async fn fan_out_example() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let runs = examples::fan_out().await;
    assert_eq!(
        runs[0].lines,
        [
            "job 1: 4^2 = 16",
            "job 0: 3^2 = 9",
            "job 2: 5^2 = 25",
            "deadline: aborted 2 jobs still waiting",
        ]
    );
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

#[tokio::test]
async fn http_lines_example() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let runs = examples::http_lines().await;
    let settled = "server: store settled with nothing left open: true";
    let complete = &runs[0].lines;
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
    assert!(complete[10].starts_with(settled), "{complete:?}");
    let quiet = &runs[1].lines;
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
    assert!(quiet.last().unwrap().starts_with(settled), "{quiet:?}");
    let gone = &runs[2].lines;
    assert!(
        gone.iter()
            .any(|l| l.contains("client went away after")
                && l.contains("stopped reading its request")),
        "{gone:?}"
    );
    assert!(gone.last().unwrap().starts_with(settled), "{gone:?}");
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
