//! Byte writes behave like a socket's: what `write` accepted reaches the reader without a
//! flush, while the peer keeps its side open and reads late. The `Duplex` and
//! `into_duplex` doc examples run here against such a peer.

use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use wit_futures_harness::host::stream::{GuestStream, from_stream};
use wit_futures_harness::peer::{read_future, sleep_ms};
use wit_futures_harness::wasmtime::component::TypedFunc;
use wit_futures_harness::{Accessor, Ctx, FutureReader, Guest, StreamReader};

const GUEST: &str = "guest-duplex";

/// Long enough for any loaded machine; the failure it catches is an answer that never comes.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Takes exactly `n` bytes from the guest's output, or fails if they do not come.
async fn take(out: &mut GuestStream<u8>, n: usize, what: &str) -> Vec<u8> {
    let mut got = Vec::with_capacity(n);
    let read = async {
        while got.len() < n {
            match out.next().await {
                Some(b) => got.push(b),
                None => break,
            }
        }
    };
    if tokio::time::timeout(ANSWER_TIMEOUT, read).await.is_err() {
        panic!(
            "{what}: no answer within {ANSWER_TIMEOUT:?} while the peer keeps its side open (got {:?})",
            String::from_utf8_lossy(&got)
        );
    }
    got
}

/// An echo export: `func(receive: stream<u8>) -> stream<u8>`.
type Echo = TypedFunc<(StreamReader<u8>,), (StreamReader<u8>,)>;

/// The host's side of an echo: an input it keeps open and writes to as it likes, and the
/// guest's output.
struct Peer {
    input: mpsc::UnboundedSender<u8>,
    output: GuestStream<u8>,
}

impl Peer {
    async fn start(a: &Accessor<Ctx>, func: Echo) -> Peer {
        let (input, rx) = mpsc::unbounded();
        let receive = a.with(|s| from_stream(s, rx)).unwrap();
        let (send,) = func.call_concurrent(a, (receive,)).await.unwrap();
        let output = a.with(|s| GuestStream::new(s, send)).unwrap();
        Peer { input, output }
    }

    fn send(&self, bytes: &[u8]) {
        for &b in bytes {
            self.input.unbounded_send(b).unwrap();
        }
    }
}

/// The `Duplex` doc example (lines in, `write_all` out, no flush) answers each line while
/// the host keeps its input open, then ends its output when the input ends.
#[tokio::test]
async fn line_echo_answers_each_line_while_the_peer_keeps_its_side_open() {
    let mut g = Guest::new(GUEST).await;
    let echo: Echo = g.func("line-echo");
    g.run(async |a| {
        let mut peer = Peer::start(a, echo).await;
        for line in ["ping\n", "hello, wasi\n", "x\n", "\n", "last\n"] {
            peer.send(line.as_bytes());
            let echo = take(&mut peer.output, line.len(), line.trim_end()).await;
            assert_eq!(String::from_utf8(echo).unwrap(), line);
        }
        drop(peer.input);
        assert_eq!(
            peer.output.next().await,
            None,
            "the echo ends with the input"
        );
    })
    .await;
    g.assert_nothing_open().await;
}

/// The `into_duplex` doc example (`futures::io::copy`, which flushes only at the end)
/// answers each message as it arrives.
#[tokio::test]
async fn copy_echo_answers_each_message_while_the_peer_keeps_its_side_open() {
    let mut g = Guest::new(GUEST).await;
    let echo: Echo = g.func("copy-echo");
    g.run(async |a| {
        let mut peer = Peer::start(a, echo).await;
        for message in ["ping", "a", "no newline at all", "0123456789"] {
            peer.send(message.as_bytes());
            let echo = take(&mut peer.output, message.len(), message).await;
            assert_eq!(String::from_utf8(echo).unwrap(), message);
        }
        drop(peer.input);
        assert_eq!(
            peer.output.next().await,
            None,
            "the echo ends with the input"
        );
    })
    .await;
    g.assert_nothing_open().await;
}

/// A reader that reads late: the first write is taken, the second waits in a write in
/// flight (the host holds its batch unread), the third arrives while the second is in
/// flight. When the host reads again, every message is there without the guest writing or
/// flushing again; `close` then delivers nothing more and ends the stream.
#[tokio::test]
async fn bytes_written_behind_a_write_in_flight_reach_a_late_reader_without_a_flush() {
    let mut g = Guest::new(GUEST).await;
    let func = g
        .func::<(Vec<Vec<u8>>, StreamReader<u8>), ((StreamReader<u8>, FutureReader<String>),)>(
            "write-on-turns",
        );
    let messages: Vec<Vec<u8>> = ["first;", "second;", "third;", "fourth"]
        .iter()
        .map(|m| m.as_bytes().to_vec())
        .collect();
    let total: usize = messages.iter().map(Vec::len).sum();
    g.run(async |a| {
        let (turns, rx) = mpsc::unbounded();
        let turns_reader = a.with(|s| from_stream(s, rx)).unwrap();
        let ((output, report),) = func
            .call_concurrent(a, (messages.clone(), turns_reader))
            .await
            .unwrap();
        let mut output = a.with(|s| GuestStream::new(s, output)).unwrap();
        // "first;" is taken by the host's consumer at once; "second;" waits in a write in
        // flight because the host has not handed out the first batch; "third;" and
        // "fourth" come while it waits. No turn makes the guest flush.
        for _ in 0..messages.len() - 1 {
            turns.unbounded_send(1u8).unwrap();
            sleep_ms(20).await;
        }
        let got = take(&mut output, total - "fourth".len(), "three messages").await;
        assert_eq!(String::from_utf8(got).unwrap(), "first;second;third;");
        turns.unbounded_send(1u8).unwrap();
        let got = take(&mut output, "fourth".len(), "the fourth message").await;
        assert_eq!(got, b"fourth");
        drop(turns);
        assert_eq!(output.next().await, None);
        assert_eq!(read_future(a, report).await, "4 written, close: ok");
    })
    .await;
    g.assert_nothing_open().await;
}

/// The doc examples of `Duplex` and `into_duplex` are the code the tests above run, word for
/// word (hidden `# ` lines aside).
#[test]
fn duplex_doc_examples_are_the_tested_guest_code() {
    let guest = include_str!("../guests/duplex/src/lib.rs");
    let guest: Vec<&str> = guest.lines().map(str::trim).collect();
    for (file, source) in [
        (
            "src/stream/duplex.rs",
            include_str!("../../src/stream/duplex.rs"),
        ),
        ("src/stream/mod.rs", include_str!("../../src/stream/mod.rs")),
    ] {
        let example = doc_example_with(source, "into_duplex(send)")
            .unwrap_or_else(|| panic!("{file}: no doc example using into_duplex(send)"));
        assert!(
            guest
                .windows(example.len())
                .any(|w| w == example.as_slice()),
            "{file}: the doc example is not in tests/guests/duplex/src/lib.rs:\n{}",
            example.join("\n")
        );
    }
}

/// The visible lines (trimmed) of the first doc example in `source` that contains `needle`.
fn doc_example_with<'a>(source: &'a str, needle: &str) -> Option<Vec<&'a str>> {
    let mut block: Option<Vec<&str>> = None;
    for line in source.lines() {
        let Some(doc) = line.trim_start().strip_prefix("///") else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        match &mut block {
            None if doc.starts_with("```") => block = Some(Vec::new()),
            None => {}
            Some(lines) if doc.starts_with("```") => {
                if lines.iter().any(|l| l.contains(needle)) {
                    return block;
                }
                block = None;
            }
            Some(lines) if doc.starts_with("# ") || doc == "#" => {}
            Some(lines) => lines.push(doc.trim()),
        }
    }
    None
}
