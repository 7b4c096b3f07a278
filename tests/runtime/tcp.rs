//! TCP over wasi:sockets (feature `wasi-sockets`): the guest's `TcpListener` serving tokio
//! clients on loopback, and its `TcpStream` connecting to tokio servers; interactive
//! echoes with the peer keeping its side open, half-closes both ways, resets mid-stream,
//! 64 connections at once, 64 MiB both ways, and the `error-code`s as `io::Error`s.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use wit_futures_harness::peer::read_future;
use wit_futures_harness::{FutureReader, Guest};

const GUEST: &str = "guest-sockets";

/// Long enough for a loaded machine; what it catches is an answer that never comes.
const TIMEOUT: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {TIMEOUT:?}"))
}

fn pattern(i: u64) -> u8 {
    (i * 7 % 251) as u8
}

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Runs the guest's `serve(mode, connections)` and `client(port)` against it; returns the
/// client's result and the guest's report, one line per connection.
async fn serving<R: Send>(
    g: &mut Guest,
    mode: &str,
    connections: u32,
    client: impl AsyncFnOnce(u16) -> R,
) -> (R, Vec<String>) {
    let serve = g.func::<(String, u32), ((u16, FutureReader<Vec<String>>),)>("serve");
    let result = g
        .run(async |a| {
            let ((port, report),) = serve
                .call_concurrent(a, (mode.to_string(), connections))
                .await
                .unwrap();
            let result = client(port).await;
            let report = within("the guest's report", read_future(a, report)).await;
            (result, report)
        })
        .await;
    g.assert_nothing_open().await;
    result
}

/// The guest's `connect(addr, mode, n)` report.
async fn connecting(g: &mut Guest, addr: &str, mode: &str, n: u64) -> String {
    let connect = g.func::<(String, String, u64), (String,)>("connect");
    let (report,) = g
        .run(async |a| {
            connect
                .call_concurrent(a, (addr.to_string(), mode.to_string(), n))
                .await
                .unwrap()
        })
        .await;
    report
}

/// The `TcpListener` doc example's loop answers each line at once while the client keeps
/// its side open, and ends the connection when the client shuts down writing.
#[tokio::test]
async fn line_echo_answers_each_line_while_the_client_keeps_its_side_open() {
    let mut g = Guest::new(GUEST).await;
    let (lines, report) = serving(&mut g, "line-echo", 1, async |port| {
        let stream = within("connect", TcpStream::connect(("127.0.0.1", port)))
            .await
            .unwrap();
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        let mut echoed = Vec::new();
        for line in ["ping\n", "hello, wasi\n", "\n", "last\n"] {
            writer.write_all(line.as_bytes()).await.unwrap();
            let mut echo = String::new();
            within(line.trim_end(), reader.read_line(&mut echo))
                .await
                .unwrap();
            echoed.push(echo);
        }
        writer.shutdown().await.unwrap();
        let mut rest = Vec::new();
        within("the end", reader.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(rest.is_empty(), "{rest:?}");
        echoed
    })
    .await;
    assert_eq!(lines, ["ping\n", "hello, wasi\n", "\n", "last\n"]);
    assert_eq!(report, ["ok 0/0"]);
}

/// 64 MiB through the guest's `futures::io::copy` and back, byte-exact, written by the
/// client while it reads; the client's shutdown ends the echo.
#[tokio::test]
async fn copy_echo_moves_64_mib_both_ways_byte_exact() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let mut g = Guest::new(GUEST).await;
    const LEN: u64 = 64 << 20;
    let ((received, hash), report) = serving(&mut g, "copy-echo", 1, async |port| {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let writing = async {
            let data: Vec<u8> = (0..LEN).map(pattern).collect();
            for part in data.chunks(64 * 1024) {
                writer.write_all(part).await.unwrap();
            }
            writer.shutdown().await.unwrap();
        };
        let reading = async {
            let (mut received, mut hash) = (0u64, FNV_START);
            let mut buf = vec![0; 64 * 1024];
            loop {
                let n = reader.read(&mut buf).await.unwrap();
                if n == 0 {
                    return (received, hash);
                }
                received += n as u64;
                hash = fnv1a(hash, &buf[..n]);
            }
        };
        within("64 MiB echo", async { tokio::join!(writing, reading).1 }).await
    })
    .await;
    let data: Vec<u8> = (0..LEN).map(pattern).collect();
    assert_eq!(received, LEN);
    assert_eq!(hash, fnv1a(FNV_START, &data));
    assert_eq!(report, [format!("ok {LEN}/{LEN}")]);
}

/// The same through `tokio::io::copy` on the guest's halves, with `shutdown`.
#[tokio::test]
async fn tokio_copy_echo_answers_and_shuts_down() {
    let mut g = Guest::new(GUEST).await;
    let (echo, report) = serving(&mut g, "tokio-echo", 1, async |port| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut ping = [0; 4];
        within("ping", stream.read_exact(&mut ping)).await.unwrap();
        stream.write_all(b"pong").await.unwrap();
        let mut pong = [0; 4];
        within("pong", stream.read_exact(&mut pong)).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        within("the end", stream.read_to_end(&mut rest))
            .await
            .unwrap();
        [ping, pong, [rest.len() as u8; 4]]
    })
    .await;
    assert_eq!(echo, [*b"ping", *b"pong", [0; 4]]);
    assert_eq!(report, ["ok 8/8"]);
}

/// 64 clients each get their first line answered, then wait for one another: a server
/// that served connections one at a time could not get them all past that point. Then
/// each gets a second answer.
#[tokio::test]
async fn sixty_four_connections_are_served_at_once() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let mut g = Guest::new(GUEST).await;
    const CLIENTS: usize = 64;
    let (answers, report) = serving(&mut g, "line-echo", CLIENTS as u32, async |port| {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CLIENTS));
        let clients = (0..CLIENTS).map(|i| {
            let barrier = barrier.clone();
            async move {
                let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                let (reader, mut writer) = stream.into_split();
                let mut reader = BufReader::new(reader);
                let mut answers = String::new();
                writer
                    .write_all(format!("first {i}\n").as_bytes())
                    .await
                    .unwrap();
                reader.read_line(&mut answers).await.unwrap();
                barrier.wait().await;
                writer
                    .write_all(format!("second {i}\n").as_bytes())
                    .await
                    .unwrap();
                reader.read_line(&mut answers).await.unwrap();
                writer.shutdown().await.unwrap();
                answers
            }
        });
        within("64 clients", futures::future::join_all(clients)).await
    })
    .await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer, &format!("first {i}\nsecond {i}\n"));
    }
    assert_eq!(report.len(), CLIENTS);
    assert!(report.iter().all(|line| line == "ok 0/0"), "{report:?}");
}

/// The client shuts down writing: the guest reads to the end, and its answer still
/// reaches the client, then the end.
#[tokio::test]
async fn client_shutting_down_writing_still_gets_the_answer() {
    let mut g = Guest::new(GUEST).await;
    let (answer, report) = serving(&mut g, "count", 1, async |port| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(&vec![7; 100_000]).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut answer = String::new();
        within("the answer", stream.read_to_string(&mut answer))
            .await
            .unwrap();
        answer
    })
    .await;
    assert_eq!(answer, "100000 bytes\n");
    assert_eq!(report, ["ok 100000/13"]);
}

/// A client resets its connection (SO_LINGER 0) while the guest copies what it sent: the
/// guest's copy fails with `ConnectionReset` (read from the socket's `error-code`), and the
/// guest serves the next connection as usual.
#[tokio::test]
async fn client_reset_mid_stream_is_the_guests_io_error() {
    let mut g = Guest::new(GUEST).await;
    let (echo, report) = serving(&mut g, "copy-echo", 2, async |port| {
        let mut rude = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        // Sent, never read: the guest's echo backs up, then the connection is reset.
        let mut first = [0; 1];
        rude.write_all(&[1]).await.unwrap();
        within("the first echo", rude.read_exact(&mut first))
            .await
            .unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(200), async {
            loop {
                rude.write_all(&[9; 64 * 1024]).await.unwrap();
            }
        })
        .await;
        rude.set_zero_linger().unwrap();
        drop(rude);
        let mut polite = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        polite.write_all(b"still here").await.unwrap();
        polite.shutdown().await.unwrap();
        let mut echo = String::new();
        within("the second connection", polite.read_to_string(&mut echo))
            .await
            .unwrap();
        echo
    })
    .await;
    assert_eq!(echo, "still here");
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(
        report.contains(&"error ConnectionReset".to_string()),
        "{report:?}"
    );
    assert!(report.contains(&"ok 10/10".to_string()), "{report:?}");
}

/// The guest's `TcpStream::connect` to a tokio echo server: 64 MiB written by one guest
/// task while another reads the echo, byte-exact, then both ends see the end.
#[tokio::test]
async fn guest_client_echo_moves_64_mib_byte_exact() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let mut g = Guest::new(GUEST).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let n = tokio::io::copy(&mut reader, &mut writer).await.unwrap();
        writer.shutdown().await.unwrap();
        n
    });
    const LEN: u64 = 64 << 20;
    let report = connecting(&mut g, &addr.to_string(), "echo", LEN).await;
    let data: Vec<u8> = (0..LEN).map(pattern).collect();
    assert_eq!(
        report,
        format!("ok {LEN} fnv {:016x}", fnv1a(FNV_START, &data))
    );
    assert_eq!(within("the server", server).await.unwrap(), LEN);
    g.assert_nothing_open().await;
}

/// The guest shuts down writing after its request and still reads the server's answer;
/// the server saw the end of the request first.
#[tokio::test]
async fn guest_client_shutting_down_writing_still_reads_the_answer() {
    let mut g = Guest::new(GUEST).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        stream.read_to_end(&mut request).await.unwrap();
        stream
            .write_all(format!("got {} bytes", request.len()).as_bytes())
            .await
            .unwrap();
        stream.shutdown().await.unwrap();
    });
    let report = connecting(&mut g, &addr.to_string(), "ask", 70_000).await;
    assert_eq!(report, "ok got 70000 bytes");
    within("the server", server).await.unwrap();
    g.assert_nothing_open().await;
}

/// The server resets the connection while the guest reads: the read fails with
/// `ConnectionReset`, not a quiet end.
#[tokio::test]
async fn server_reset_is_the_guests_read_error() {
    let mut g = Guest::new(GUEST).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(&[1; 1000]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.set_zero_linger().unwrap();
        drop(stream);
    });
    let report = connecting(&mut g, &addr.to_string(), "read", 0).await;
    assert!(report.starts_with("error ConnectionReset"), "{report}");
    within("the server", server).await.unwrap();
    g.assert_nothing_open().await;
}

/// Refused, denied and malformed addresses are `io::Error`s of the kinds `std::net` uses.
#[tokio::test]
async fn socket_errors_are_io_errors_of_the_expected_kind() {
    let mut g = Guest::new(GUEST).await;
    // A port nobody listens on: bound and dropped.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let refused = connecting(&mut g, &closed.to_string(), "read", 0).await;
    assert!(refused.starts_with("error ConnectionRefused"), "{refused}");
    // The host allows loopback only.
    let denied = connecting(&mut g, "192.0.2.1:80", "read", 0).await;
    assert!(denied.starts_with("error PermissionDenied"), "{denied}");
    let bind = g.func::<(String,), (String,)>("bind");
    for (addr, expected) in [
        ("127.0.0.1:0", "ok"),
        ("[::1]:0", "ok"),
        ("192.0.2.1:0", "error PermissionDenied"),
        ("no port", "error InvalidInput"),
    ] {
        let (got,) = g
            .run(async |a| bind.call_concurrent(a, (addr.to_string(),)).await.unwrap())
            .await;
        assert_eq!(got, expected, "{addr}");
    }
    g.assert_nothing_open().await;
}

/// A host name is resolved with wasi:sockets/ip-name-lookup: "localhost" reaches a server
/// on 127.0.0.1.
#[tokio::test]
async fn host_names_are_resolved_by_the_host() {
    let mut g = Guest::new(GUEST).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"hello").await.unwrap();
    });
    let report = connecting(&mut g, &format!("localhost:{port}"), "read", 0).await;
    assert_eq!(report, "ok 5");
    within("the server", server).await.unwrap();
    g.assert_nothing_open().await;
}

/// The `TcpListener` doc example's connection loop is the code the line-echo tests run,
/// word for word.
#[test]
fn listener_doc_example_is_the_tested_guest_code() {
    let guest = include_str!("../guests/sockets/src/lib.rs");
    let guest: Vec<&str> = guest.lines().map(str::trim).collect();
    let doc = include_str!("../../src/wasi_sockets/tcp_listener.rs");
    let doc: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("///"))
        .map(str::trim)
        .collect();
    let start = doc
        .iter()
        .position(|l| l.starts_with("let (reader, mut writer) = stream.into_split();"))
        .expect("the doc example's connection loop");
    // Through the `while` loop's closing brace (the second `}`).
    let end = start
        + doc[start..]
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == "}")
            .nth(1)
            .unwrap()
            .0;
    let lines = &doc[start..=end];
    assert!(
        guest.windows(lines.len()).any(|w| w == lines),
        "the TcpListener doc example is not in tests/guests/sockets/src/lib.rs:\n{}",
        lines.join("\n")
    );
}
