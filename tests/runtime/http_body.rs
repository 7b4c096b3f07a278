//! The http-body bridge (`wit_futures::http`) with the host as the peer of the body's
//! `stream<u8>` and `future<result<option<fields>, string>>`.

use std::time::Duration;

use wit_futures_harness::http::pattern_byte;
use wit_futures_harness::peer::{
    Delivery, Intake, close_future, future_after, future_ready, read_future, read_stream, stream,
};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

const GUEST: &str = "guest-http-body";

type Fields = Vec<(String, Vec<u8>)>;
type End = Result<Option<Fields>, String>;

fn pattern(len: u64) -> Vec<u8> {
    (0..len).map(pattern_byte).collect()
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

/// Runs `read-body` on `len` pattern bytes delivered as `delivery`, ending with `end`.
async fn read_body(
    g: &mut Guest,
    contents: Option<(u64, Delivery)>,
    end: End,
    size_hint: u64,
    race: bool,
) -> String {
    let read =
        g.func::<(Option<StreamReader<u8>>, FutureReader<End>, u64, bool), (String,)>("read-body");
    let (report,) = g
        .run(async |a| {
            let contents = contents.map(|(len, delivery)| stream(a, pattern(len), delivery).0);
            let end = future_after(a, Duration::from_millis(1), end);
            read.call_concurrent(a, (contents, end, size_hint, race))
                .await
                .unwrap()
        })
        .await;
    g.assert_nothing_open().await;
    report
}

#[tokio::test]
async fn incoming_body_yields_every_byte_then_the_trailers() {
    let mut g = Guest::new(GUEST).await;
    let report = read_body(
        &mut g,
        Some((300_000, Delivery::chunks(&[1, 7, 4096, 65536, 3]))),
        Ok(Some(fields(&[("x-a", "1"), ("x-b", "2")]))),
        300_000,
        false,
    )
    .await;
    assert_eq!(
        report,
        "300000 bytes, pattern ok, trailers [x-a: 1, x-b: 2], end_stream ok, size_hint ok"
    );
}

#[tokio::test]
async fn incoming_body_without_contents_or_trailers_is_empty() {
    let mut g = Guest::new(GUEST).await;
    for contents in [None, Some((0, Delivery::default()))] {
        let report = read_body(&mut g, contents, Ok(None), 0, false).await;
        assert_eq!(
            report,
            "0 bytes, pattern ok, no trailers, end_stream ok, size_hint ok"
        );
    }
}

#[tokio::test]
async fn incoming_body_ends_with_the_error_of_its_future() {
    let mut g = Guest::new(GUEST).await;
    let report = read_body(
        &mut g,
        Some((1000, Delivery::chunks(&[100]))),
        Err("broken upload".into()),
        0,
        false,
    )
    .await;
    assert_eq!(
        report,
        "1000 bytes, pattern ok, error broken upload, end_stream ok, size_hint ok"
    );
    // Trailers that cannot be turned into a HeaderMap are the body's error too.
    let report = read_body(
        &mut g,
        Some((10, Delivery::default())),
        Ok(Some(fields(&[("bad name", "1")]))),
        0,
        false,
    )
    .await;
    assert!(
        report.starts_with("10 bytes, pattern ok, error \"bad name\": invalid HTTP header name"),
        "{report}"
    );
}

/// Every frame raced against a timer in `select!`: the timer wins some races, and no byte
/// is lost or repeated.
#[tokio::test]
async fn incoming_body_frames_dropped_by_select_lose_nothing() {
    let mut g = Guest::new(GUEST).await;
    let delivery = Delivery::chunks(&[1000, 1, 333]).delay(Duration::from_millis(1));
    let report = read_body(
        &mut g,
        Some((50_000, delivery)),
        Ok(Some(fields(&[("x-a", "1")]))),
        50_000,
        true,
    )
    .await;
    assert_eq!(
        report,
        "50000 bytes, pattern ok, trailers [x-a: 1], end_stream ok, size_hint ok, timer won"
    );
}

/// `into_inner` mid-body gives back the bytes that raced in, a working reader and the end
/// future: reading those parts yields the rest of the body exactly.
#[tokio::test]
async fn incoming_body_into_inner_gives_back_the_rest() {
    let mut g = Guest::new(GUEST).await;
    let read =
        g.func::<(StreamReader<u8>, FutureReader<End>, u32), (String,)>("read-then-into-inner");
    let mut in_flight = 0;
    for (frames, delivery) in [
        (0, Delivery::chunks(&[5000])),
        (3, Delivery::chunks(&[4096, 1, 70000])),
        (2, Delivery::chunks(&[1000]).delay(Duration::from_millis(1))),
        (0, Delivery::chunks(&[1000]).delay(Duration::from_millis(1))),
    ] {
        let (report,) = g
            .run(async |a| {
                let (contents, _) = stream(a, pattern(200_000), delivery);
                let end = future_ready(a, Ok(Some(fields(&[("x-done", "yes")]))));
                read.call_concurrent(a, (contents, end, frames))
                    .await
                    .unwrap()
            })
            .await;
        assert!(
            report
                .starts_with("200000 bytes, pattern ok, trailers [x-done: yes], reader back: true"),
            "{frames} frames: {report}"
        );
        in_flight += usize::from(report.ends_with("read in flight: true"));
    }
    assert!(
        in_flight > 0,
        "no case took the body apart with a read in flight"
    );
    g.assert_nothing_open().await;
}

/// Runs `write-body` and reads its body as `intake` says; `close_end` hangs up on the end
/// future instead of reading it. Returns (bytes, end value, report).
async fn write_body(
    g: &mut Guest,
    len: u32,
    frame: u32,
    ending: &str,
    intake: Intake,
    close_end: bool,
) -> (Vec<u8>, Option<End>, String) {
    type Out = (StreamReader<u8>, FutureReader<End>, FutureReader<String>);
    let write = g.func::<(u32, u32, String), (Out,)>("write-body");
    let out = g
        .run(async |a| {
            let ((contents, end, report),) = write
                .call_concurrent(a, (len, frame, ending.to_string()))
                .await
                .unwrap();
            let bytes = read_stream(a, contents, intake).await;
            let end = if close_end {
                close_future(a, end);
                None
            } else {
                Some(read_future(a, end).await)
            };
            (bytes, end, read_future(a, report).await)
        })
        .await;
    g.assert_nothing_open().await;
    out
}

#[tokio::test]
async fn body_writer_delivers_every_byte_then_the_trailers() {
    let mut g = Guest::new(GUEST).await;
    let intake = Intake {
        per_write: 7000,
        ..Intake::default()
    };
    let (bytes, end, report) = write_body(&mut g, 1 << 20, 1000, "trailers", intake, false).await;
    assert!(bytes == pattern(1 << 20), "{} bytes", bytes.len());
    assert_eq!(end, Some(Ok(Some(fields(&[("x-a", "1"), ("x-b", "2")])))));
    assert_eq!(report, "sent 1048576; body dropped: true; pulled 1048576");
    let (bytes, end, report) = write_body(&mut g, 0, 1, "none", Intake::default(), false).await;
    assert_eq!((bytes.len(), end), (0, Some(Ok(None))));
    assert_eq!(report, "sent 0; body dropped: true; pulled 0");
}

/// A failing body: the bytes before the error arrive, then the error reaches the peer as
/// the future's value (through `map_err`, never the default), and comes back to the caller.
#[tokio::test]
async fn body_writer_sends_the_body_error_as_the_future_value() {
    let mut g = Guest::new(GUEST).await;
    let (bytes, end, report) =
        write_body(&mut g, 5000, 999, "error", Intake::default(), false).await;
    assert!(bytes == pattern(5000));
    assert_eq!(end, Some(Err("mapped: the body failed".into())));
    assert_eq!(report, "Body(..); body dropped: true; pulled 5000");
    let (bytes, end, report) =
        write_body(&mut g, 10, 10, "refused-trailers", Intake::default(), false).await;
    assert!(bytes == pattern(10));
    assert_eq!(end, Some(Err("refused trailer x-refuse".into())));
    assert_eq!(report, "Trailers(1); body dropped: true; pulled 10");
}

/// The reader hangs up mid-body: the pump stops, drops the body, accounts for every byte it
/// took from it (delivered, or handed back as unsent), and the end future gets its default.
#[tokio::test]
async fn body_writer_stops_and_drops_the_body_when_the_reader_hangs_up() {
    let mut g = Guest::new(GUEST).await;
    // (where the host stops, the body's frame size): one frame of the whole body too,
    // whose rest is still being copied when the host stops.
    for (stop, frame) in [
        (0, 4096),
        (1, 4096),
        (5000, 4096),
        (200_000, 4096),
        (100_000, 1 << 20),
    ] {
        let intake = Intake {
            per_write: 3000,
            stop_after: Some(stop),
            ..Intake::default()
        };
        let (bytes, end, report) =
            write_body(&mut g, 1 << 20, frame, "trailers", intake, false).await;
        assert_eq!(bytes.len(), stop);
        assert!(bytes == pattern(stop as u64));
        // The body was cut short: the end future says so with its default, not the
        // trailers.
        assert_eq!(end, Some(Err("the default".into())));
        // "ContentsClosed { written: W, unsent: U }; body dropped: true; pulled P"
        let numbers: Vec<u64> = report
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(report.starts_with("ContentsClosed"), "{report}");
        assert!(report.contains("body dropped: true"), "{report}");
        let [written, unsent, pulled] = numbers[..] else {
            panic!("{report}")
        };
        assert_eq!(written, stop as u64, "{report}");
        // Every byte taken from the body was delivered or handed back (the rest of the frame
        // being copied included).
        assert_eq!(pulled, written + unsent, "{report}");
        // With frames smaller than the body, it stopped pulling when the reader left.
        assert!(
            frame == 1 << 20 || pulled < 1 << 20,
            "the pump ran on after the hang-up: {report}"
        );
    }
}

/// The end future's reader is gone: every byte went out, and the value comes back.
#[tokio::test]
async fn body_writer_gives_back_the_end_value_nobody_took() {
    let mut g = Guest::new(GUEST).await;
    let (bytes, end, report) =
        write_body(&mut g, 100, 30, "trailers", Intake::default(), true).await;
    assert!(bytes == pattern(100));
    assert_eq!(end, None);
    assert_eq!(report, "EndClosed(..); body dropped: true; pulled 100");
}

/// A peer that writes the end future before it closes the contents (wasip3's
/// `http_compat::BodyWriter` does on a body error, and its write waits until it is read):
/// the body reads the future while it reads the contents, so the peer gets on and closes
/// the stream, and the body ends with every byte, then the error. (Reading the future only
/// after the contents ended left both sides waiting.)
#[tokio::test]
async fn incoming_body_reads_an_end_written_before_the_contents_close() {
    use futures::FutureExt;
    use wit_futures_harness::host::future::from_future;
    use wit_futures_harness::host::stream::from_stream;

    let mut g = Guest::new(GUEST).await;
    let read =
        g.func::<(Option<StreamReader<u8>>, FutureReader<End>, u64, bool), (String,)>("read-body");
    let run = g.run(async |a| {
        let (bytes, contents) = futures::channel::mpsc::unbounded();
        let (end_read, end_read_rx) = futures::channel::oneshot::channel::<()>();
        let contents = a.with(|s| from_stream(s, contents)).unwrap();
        // The end's value is made when the guest reads it: only then does the peer close the
        // contents.
        let end = a
            .with(|s| {
                from_future(
                    s,
                    async move {
                        let _ = end_read.send(());
                        Err::<Option<Fields>, String>("broken upload".into())
                    }
                    .boxed(),
                )
            })
            .unwrap();
        for b in pattern(100) {
            bytes.unbounded_send(b).unwrap();
        }
        let peer = async move {
            let _ = end_read_rx.await;
            drop(bytes);
        };
        let (report, ()) = futures::join!(
            read.call_concurrent(a, (Some(contents), end, 0, false)),
            peer
        );
        report.unwrap().0
    });
    let report = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the body and its peer waited on each other");
    assert_eq!(
        report,
        "100 bytes, pattern ok, error broken upload, end_stream ok, size_hint ok"
    );
    g.assert_nothing_open().await;
}
