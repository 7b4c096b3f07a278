//! `into_sink`, `into_async_write`, `spawn_forward`: the guest writes, the host reads; and
//! guest pipelines from one host stream to another.

use std::time::Duration;

use wit_futures_harness::peer::{Delivery, Intake, future_after, read_future, read_stream, stream};
use wit_futures_harness::wasmtime::component::{ComponentNamedList, Lift, Lower};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

const GUEST: &str = "guest-streams";

/// Calls the guest's `name(params)`, which returns a stream and a report future; the host
/// reads the stream as `intake` says, then the report. Returns both, after checking that
/// nothing was left open.
async fn written<P, T, R>(g: &mut Guest, name: &str, params: P, intake: Intake) -> (Vec<T>, R)
where
    P: ComponentNamedList + Lower + Send + Sync + 'static,
    T: Lift + Send + Sync + 'static,
    R: Lift + Send + Sync + 'static,
    ((StreamReader<T>, FutureReader<R>),): ComponentNamedList + Lift + Send + Sync + 'static,
{
    let func = g.func::<P, ((StreamReader<T>, FutureReader<R>),)>(name);
    let result = g
        .run(async |a| {
            let ((s, report),) = func.call_concurrent(a, params).await.unwrap();
            let received = read_stream(a, s, intake).await;
            (received, read_future(a, report).await)
        })
        .await;
    g.assert_nothing_open().await;
    result
}

/// Runs `write-all(items, cap)`; the host reads as `intake` says. Returns what the host
/// received and the guest's report.
async fn write_all(g: &mut Guest, items: &[u32], cap: u32, intake: Intake) -> (Vec<u32>, String) {
    written(g, "write-all", (items.to_vec(), cap), intake).await
}

#[tokio::test]
async fn sink_delivers_everything_then_closes() {
    let mut g = Guest::new(GUEST).await;
    let items: Vec<u32> = (0..10_000).collect();
    for (cap, per_write) in [(1, 0), (7, 3), (4096, 0), (100, 1)] {
        let intake = Intake {
            per_write,
            ..Intake::default()
        };
        let (received, report) = write_all(&mut g, &items, cap, intake).await;
        assert_eq!(received, items, "cap {cap}, per write {per_write}");
        assert_eq!(report, "closed");
    }
    let (received, report) = write_all(&mut g, &[], 16, Intake::default()).await;
    assert_eq!((received, report.as_str()), (vec![], "closed"));
}

#[tokio::test]
async fn reader_dropped_mid_stream_gives_back_exactly_the_unsent_items() {
    let mut g = Guest::new(GUEST).await;
    let items: Vec<u32> = (0..1000).collect();
    for (cap, per_write, stop) in [
        (16, 3, 100),
        (1000, 7, 1),
        (1, 0, 500),
        (64, 0, 64),
        (5, 2, 0),
    ] {
        let intake = Intake {
            per_write,
            stop_after: Some(stop),
            ..Intake::default()
        };
        let (received, report) = write_all(&mut g, &items, cap, intake).await;
        assert_eq!(received, items[..stop], "cap {cap}");
        assert_eq!(
            report,
            format!("reader dropped; unsent {:?}", &items[stop..]),
            "cap {cap}"
        );
    }
}

#[tokio::test]
async fn chunk_sink_delivers_whole_batches_and_gives_back_exactly_the_unsent_items() {
    let mut g = Guest::new(GUEST).await;
    let items: Vec<u32> = (0..1000).collect();
    for (chunk, per_write, stop) in [
        (100u32, 0, None),
        (7, 3, None),
        (64, 5, Some(333)),
        (1000, 0, Some(0)),
        (1, 0, Some(999)),
    ] {
        let intake = Intake {
            per_write,
            stop_after: stop,
            ..Intake::default()
        };
        let (received, report): (Vec<u32>, String) =
            written(&mut g, "write-chunks", (items.clone(), chunk), intake).await;
        match stop {
            None => {
                assert_eq!(received, items, "chunk {chunk}");
                assert_eq!(report, "closed");
            }
            Some(stop) => {
                assert_eq!(received, items[..stop], "chunk {chunk}");
                assert_eq!(
                    report,
                    format!("reader dropped; unsent {:?}", &items[stop..]),
                    "chunk {chunk}"
                );
            }
        }
    }
}

#[tokio::test]
async fn heap_items_through_the_sink_leak_nothing_even_when_unsent() {
    let mut g = Guest::new(GUEST).await;
    let round = async |g: &mut Guest, stop: Option<usize>| {
        let items: Vec<String> = (0..200)
            .map(|i| format!("string number {i}").repeat(i % 5 + 1))
            .collect();
        let intake = Intake {
            per_write: 4,
            stop_after: stop,
            ..Intake::default()
        };
        let (received, unsent): (Vec<String>, Vec<String>) =
            written(g, "write-strings", (items.clone(), 9u32), intake).await;
        assert_eq!([received, unsent].concat(), items);
    };
    round(&mut g, None).await;
    round(&mut g, Some(50)).await;
    let baseline = g.live_bytes().await;
    for stop in [None, Some(0), Some(33), Some(199)] {
        round(&mut g, stop).await;
    }
    assert_eq!(g.live_bytes().await, baseline);
    g.assert_nothing_open().await;
}

/// `into_inner` while a write is in flight to a slow reader: exactly the items it did not
/// take come back, and the writer handed back delivers them. Once the reader is gone, no
/// writer comes back (writing to it again would trap).
#[tokio::test]
async fn sink_into_inner_cancels_the_write_and_returns_the_rest() {
    let mut g = Guest::new(GUEST).await;
    let take_back = g.func::<
        (Vec<u32>, FutureReader<u32>),
        ((StreamReader<u32>, FutureReader<(Vec<u32>, bool, Vec<u32>)>),),
    >("write-take-back");
    let items: Vec<u32> = (0..50).collect();
    let mut taken_back = 0;
    // (later ms, host stops reading after): 50 items at 3 per 2 ms take the host ~33 ms.
    for (later_ms, stop_after) in [
        (1, None),
        (15, None),
        (40, None),
        (1000, None),
        (1000, Some(7)),
    ] {
        let (received, (unsent, writer_back, undelivered)) = g
            .run(async |a| {
                let later = future_after(a, Duration::from_millis(later_ms), 0);
                let ((s, report),) = take_back
                    .call_concurrent(a, (items.clone(), later))
                    .await
                    .unwrap();
                let intake = Intake {
                    per_write: 3,
                    delay: Duration::from_millis(2),
                    stop_after,
                };
                let received = read_stream(a, s, intake).await;
                (received, read_future(a, report).await)
            })
            .await;
        let ctx = format!("later {later_ms}: {received:?} | {unsent:?} | {undelivered:?}");
        match stop_after {
            None => {
                // Through the sink, then the rest through the writer it handed back.
                assert!(writer_back, "{ctx}");
                assert_eq!(received, items, "{ctx}");
                assert_eq!(unsent, items[50 - unsent.len()..], "{ctx}");
                assert!(undelivered.is_empty(), "{ctx}");
                taken_back += unsent.len();
            }
            Some(n) => {
                assert!(!writer_back, "{ctx}");
                assert_eq!(received, items[..n], "{ctx}");
                assert_eq!(unsent, items[n..], "{ctx}");
            }
        }
        g.assert_nothing_open().await;
    }
    assert!(taken_back > 0, "into_inner never found a write in flight");
}

/// `select!` drops `write`, `flush` and `close` whenever the guest's timer wins; the host
/// still receives every byte once, in order.
#[tokio::test]
async fn dropped_writes_lose_no_byte() {
    let mut g = Guest::new(GUEST).await;
    let intake = Intake {
        per_write: 5000,
        delay: Duration::from_micros(300),
        ..Intake::default()
    };
    let (received, report): (Vec<u8>, String) =
        written(&mut g, "write-bytes-select", (200_000u64, 3000u32), intake).await;
    assert_eq!(received.len(), 200_000, "{report}");
    assert!(
        received
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 251) as u8),
        "bytes out of order"
    );
    let ticks: u32 = report
        .strip_prefix("closed; timer won ")
        .and_then(|r| r.strip_suffix(" times"))
        .unwrap_or_else(|| panic!("{report}"))
        .parse()
        .unwrap();
    assert!(ticks > 0, "the timer never won, so no call was dropped");
}

/// Bytes written after `close` are refused, not accepted and silently never sent.
#[tokio::test]
async fn write_after_close_fails() {
    let mut g = Guest::new(GUEST).await;
    let (received, report): (Vec<u8>, String) =
        written(&mut g, "write-after-close", (), Intake::default()).await;
    assert_eq!(received, b"early");
    assert_eq!(report, "late write: BrokenPipe");
}

#[tokio::test]
async fn async_write_delivers_every_byte() {
    let mut g = Guest::new(GUEST).await;
    for (n, chunk, intake) in [
        (0u64, 10u32, Intake::default()),
        (100_000, 333, Intake::default()),
        (
            1 << 20,
            65536,
            Intake {
                per_write: 1000,
                ..Intake::default()
            },
        ),
    ] {
        let (received, report): (Vec<u8>, String) =
            written(&mut g, "write-bytes", (n, chunk), intake).await;
        let expected: Vec<u8> = (0..n)
            .map(|i| ((i % u64::from(chunk)) % 251) as u8)
            .collect();
        assert!(received == expected, "{n} bytes in writes of {chunk}");
        assert_eq!(report, "closed");
    }
}

#[tokio::test]
async fn async_write_to_a_dropped_reader_fails_with_broken_pipe() {
    let mut g = Guest::new(GUEST).await;
    let intake = Intake {
        per_write: 300,
        stop_after: Some(2500),
        ..Intake::default()
    };
    let (received, report): (Vec<u8>, String) =
        written(&mut g, "write-bytes", (10_000u64, 1000u32), intake).await;
    assert_eq!(received.len(), 2500);
    // 10,000 bytes fit in the writer's buffer: write_all accepted them all, and the flush in
    // close found the reader gone with 7,500 bytes undelivered.
    assert_eq!(report, "BrokenPipe; 7500 bytes unsent, 0 not written");
}

#[tokio::test]
async fn io_copy_from_async_read_to_async_write() {
    let mut g = Guest::new(GUEST).await;
    let copy = g.func::<(StreamReader<u8>,), (StreamReader<u8>,)>("copy-bytes");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let received = g
        .run(async |a| {
            let (input, _) = stream(a, data.clone(), Delivery::chunks(&[4096, 1, 100_000]));
            let (output,) = copy.call_concurrent(a, (input,)).await.unwrap();
            read_stream(
                a,
                output,
                Intake {
                    per_write: 50_000,
                    ..Intake::default()
                },
            )
            .await
        })
        .await;
    assert!(received == data);
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn forward_from_item_stream_into_sink_across_two_host_streams() {
    let mut g = Guest::new(GUEST).await;
    let double = g.func::<(StreamReader<u32>,), (StreamReader<u32>,)>("double");
    let items: Vec<u32> = (0..100_000).collect();
    let received = g
        .run(async |a| {
            let (input, _) = stream(a, items.clone(), Delivery::chunks(&[1000, 7, 5000]));
            let (output,) = double.call_concurrent(a, (input,)).await.unwrap();
            read_stream(
                a,
                output,
                Intake {
                    per_write: 3000,
                    ..Intake::default()
                },
            )
            .await
        })
        .await;
    assert_eq!(received, items.iter().map(|v| v * 2).collect::<Vec<_>>());
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn pump_fills_the_stream_from_a_rust_stream() {
    let mut g = Guest::new(GUEST).await;
    let (received, report): (Vec<u32>, String) =
        written(&mut g, "pump", (20_000u32,), Intake::default()).await;
    assert_eq!(received, (0..20_000).collect::<Vec<_>>());
    assert_eq!(report, "done; source dropped: true");
}

#[tokio::test]
async fn pump_stops_and_drops_its_source_when_the_reader_hangs_up() {
    let mut g = Guest::new(GUEST).await;
    let intake = Intake {
        per_write: 100,
        stop_after: Some(5_000),
        ..Intake::default()
    };
    let (received, report): (Vec<u32>, String) =
        written(&mut g, "pump", (20_000u32,), intake).await;
    assert_eq!(received, (0..5_000).collect::<Vec<_>>());
    // Every item the pump pulled from its source was received or came back, in order: the
    // pump's sink held what the reader had not taken when it left.
    let pulled: u32 = report
        .strip_prefix("reader dropped; unsent 5000..=")
        .and_then(|r| r.strip_suffix("; source dropped: true"))
        .and_then(|r| {
            let (last, pulled) = r.split_once("; pulled ")?;
            (last.parse::<u32>().ok()? + 1 == pulled.parse::<u32>().ok()?).then_some(pulled)
        })
        .unwrap_or_else(|| panic!("{report}"))
        .parse()
        .unwrap();
    assert!(
        pulled < 20_000,
        "the source was drained, not dropped: {report}"
    );
}
