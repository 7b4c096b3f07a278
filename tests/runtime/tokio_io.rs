//! tokio's I/O traits on the byte adapters (feature `tokio`): tokio-util codecs, tokio's
//! `copy`, shutdown, and cancel safety, with the host as the peer.

use std::time::Duration;

use wit_futures_harness::peer::{Delivery, Intake, read_future, read_stream, stream, stream_vec};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

const GUEST: &str = "guest-tokio-io";

async fn framed_read(
    g: &mut Guest,
    bytes: Vec<u8>,
    delivery: Delivery,
    codec: &str,
) -> Vec<Vec<u8>> {
    let read = g.func::<(StreamReader<u8>, String), (Vec<Vec<u8>>,)>("framed-read");
    let (frames,) = g
        .run(async |a| {
            let (s, _) = stream(a, bytes, delivery);
            read.call_concurrent(a, (s, codec.into())).await.unwrap()
        })
        .await;
    frames
}

fn deliveries() -> [Delivery; 3] {
    [
        Delivery::chunks(&[1]),
        Delivery::chunks(&[3, 7, 1, 64, 5]),
        Delivery::chunks(&[4096]),
    ]
}

/// `FramedRead` + `LinesCodec`: every line exact, whatever the chunking, the last one
/// without its newline too.
#[tokio::test]
async fn framed_read_lines_codec_gets_every_line() {
    let mut g = Guest::new(GUEST).await;
    let lines: Vec<String> = (0..500)
        .map(|i| format!("line {i}: {}", "x".repeat(i % 37)))
        .collect();
    let mut text = lines.join("\n");
    text.push_str("\nlast line, no newline");
    let mut expected: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    expected.push(b"last line, no newline".to_vec());
    for delivery in deliveries() {
        let frames =
            framed_read(&mut g, text.clone().into_bytes(), delivery.clone(), "lines").await;
        assert!(frames == expected, "{delivery:?}: {} frames", frames.len());
    }
    g.assert_nothing_open().await;
}

/// `FramedRead` + `LengthDelimitedCodec`: every frame exact, empty ones included.
#[tokio::test]
async fn framed_read_length_delimited_codec_gets_every_frame() {
    let mut g = Guest::new(GUEST).await;
    let frames: Vec<Vec<u8>> = (0..300u32)
        .map(|i| (0..(i * 7) % 311).map(|j| (i + j) as u8).collect())
        .collect();
    let mut bytes = Vec::new();
    for frame in &frames {
        bytes.extend((frame.len() as u32).to_be_bytes());
        bytes.extend(frame);
    }
    for delivery in deliveries() {
        let got = framed_read(&mut g, bytes.clone(), delivery.clone(), "length-delimited").await;
        assert!(got == frames, "{delivery:?}: {} frames", got.len());
    }
    // A stream that ends inside a frame is an error, not a short frame.
    let mut truncated = bytes[..100].to_vec();
    truncated.truncate(100);
    let got = framed_read(&mut g, truncated, Delivery::default(), "length-delimited").await;
    assert!(
        String::from_utf8_lossy(got.last().unwrap()).starts_with("error: "),
        "{got:?}"
    );
    g.assert_nothing_open().await;
}

/// `tokio::io::copy` from a `ByteReader` to a `ByteWriter`: 64 MiB byte-exact, then the
/// shutdown ends the host's read.
#[tokio::test]
async fn tokio_copy_moves_64_mib_byte_exact_and_shuts_down() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    let mut g = Guest::new(GUEST).await;
    let copy = g.func::<(StreamReader<u8>,), ((StreamReader<u8>, FutureReader<u64>),)>("copy");
    let data: Vec<u8> = (0..64u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (copied, count) = g
        .run(async |a| {
            let input = stream_vec(a, data.clone());
            let ((output, count),) = copy.call_concurrent(a, (input,)).await.unwrap();
            // Resolves only once the guest's shutdown ended the stream.
            let copied = read_stream(a, output, Intake::default()).await;
            (copied, read_future(a, count).await)
        })
        .await;
    assert_eq!(count, data.len() as u64);
    assert!(copied == data, "copy differs ({} bytes)", copied.len());
    g.assert_nothing_open().await;
}

/// `read` and `fill_buf` raced against a timer: the timer wins some races, and every byte
/// still arrives once, in order.
#[tokio::test]
async fn dropped_tokio_reads_lose_no_byte() {
    let mut g = Guest::new(GUEST).await;
    let read = g.func::<(StreamReader<u8>,), (String,)>("racing-read");
    let data: Vec<u8> = (0..200_000usize).map(|i| (i % 251) as u8).collect();
    let delivery = Delivery::chunks(&[1000, 1, 3333]).delay(Duration::from_micros(200));
    let (report,) = g
        .run(async |a| {
            let (s, _) = stream(a, data, delivery);
            read.call_concurrent(a, (s,)).await.unwrap()
        })
        .await;
    assert_eq!(report, "200000 bytes, in order: true, timer won: true");
    g.assert_nothing_open().await;
}

/// `write`, `flush` and `shutdown` raced against a timer while the host reads slowly:
/// every byte arrives once, in order, and the shutdown ends the stream.
#[tokio::test]
async fn dropped_tokio_writes_lose_no_byte_and_shutdown_ends_the_stream() {
    let mut g = Guest::new(GUEST).await;
    let write = g.func::<(u32,), ((StreamReader<u8>, FutureReader<String>),)>("racing-write");
    let (bytes, report) = g
        .run(async |a| {
            let ((s, report),) = write.call_concurrent(a, (200_000,)).await.unwrap();
            let intake = Intake {
                per_write: 5000,
                delay: Duration::from_micros(100),
                ..Intake::default()
            };
            // Resolves only once the shutdown ended the stream.
            let bytes = read_stream(a, s, intake).await;
            (bytes, read_future(a, report).await)
        })
        .await;
    assert!(
        bytes
            == (0..200_000usize)
                .map(|i| (i % 251) as u8)
                .collect::<Vec<_>>()
    );
    assert_eq!(report, "timer won: true, shut down: true");
    g.assert_nothing_open().await;
}
