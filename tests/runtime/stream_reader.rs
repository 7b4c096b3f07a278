//! `into_item_stream`, `into_chunk_stream`, `into_async_read`, `into_try_stream`: the host
//! writes, the guest reads.

use std::time::Duration;

use wit_futures_harness::peer::{Delivery, future_after, future_ready, stream};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

use crate::gated::{gated_future, gated_stream};

const GUEST: &str = "guest-streams";

async fn read_all(g: &mut Guest, items: Vec<u32>, delivery: Delivery, how: &str) -> Vec<u32> {
    let read_all = g.func::<(StreamReader<u32>, String), (Vec<u32>,)>("read-all");
    let (got, dropped) = g
        .run(async |a| {
            let (s, probe) = stream(a, items, delivery);
            let (got,) = read_all.call_concurrent(a, (s, how.into())).await.unwrap();
            (got, probe)
        })
        .await;
    g.assert_nothing_open().await;
    assert!(dropped.dropped(), "the guest left its reader open");
    got
}

#[tokio::test]
async fn empty_stream_yields_nothing() {
    let mut g = Guest::new(GUEST).await;
    for how in ["items", "items-cap1", "chunks"] {
        assert!(
            read_all(&mut g, vec![], Delivery::default(), how)
                .await
                .is_empty(),
            "{how}"
        );
    }
}

#[tokio::test]
async fn one_item() {
    let mut g = Guest::new(GUEST).await;
    for how in ["items", "items-cap1", "chunks"] {
        assert_eq!(
            read_all(&mut g, vec![7], Delivery::default(), how).await,
            [7],
            "{how}"
        );
    }
}

#[tokio::test]
async fn odd_sized_partial_chunks_arrive_whole_and_in_order() {
    let mut g = Guest::new(GUEST).await;
    let items: Vec<u32> = (0..1000).collect();
    for how in ["items", "items-cap1", "chunks"] {
        let delivery = Delivery::chunks(&[1, 3, 2, 7, 13, 1, 64]);
        assert_eq!(
            read_all(&mut g, items.clone(), delivery, how).await,
            items,
            "{how}"
        );
    }
    let slow = Delivery::chunks(&[3, 1, 5]).delay(Duration::from_millis(1));
    assert_eq!(
        read_all(&mut g, items[..60].to_vec(), slow, "items").await,
        items[..60]
    );
}

#[tokio::test]
async fn writer_dropped_mid_stream_ends_the_stream_after_what_was_sent() {
    let mut g = Guest::new(GUEST).await;
    let items: Vec<u32> = (0..100).collect();
    for how in ["items", "items-cap1", "chunks"] {
        let delivery = Delivery::chunks(&[3, 4]).end_after(37);
        assert_eq!(
            read_all(&mut g, items.clone(), delivery, how).await,
            items[..37],
            "{how}"
        );
    }
}

#[tokio::test]
async fn zero_item_completions_are_skipped() {
    let mut g = Guest::new(GUEST).await;
    let items: Vec<u32> = (0..50).collect();
    let delivery = Delivery {
        empty_completions: true,
        ..Delivery::default()
    };
    // With capacity 1, every read is first answered with zero items.
    assert_eq!(
        read_all(&mut g, items.clone(), delivery.clone(), "items-cap1").await,
        items
    );
    let empties = delivery
        .empties_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        empties >= items.len(),
        "only {empties} empty completions were sent"
    );
}

#[tokio::test]
async fn heap_items_arrive_whole_and_leak_nothing() {
    let mut g = Guest::new(GUEST).await;
    let read_strings = g.func::<(StreamReader<String>,), (Vec<String>,)>("read-strings");
    let read_lists = g.func::<(StreamReader<Vec<u8>>,), (Vec<Vec<u8>>,)>("read-lists");
    let round = async |g: &mut Guest, n: usize| {
        let strings: Vec<String> = (0..n)
            .map(|i| format!("item {i} ").repeat(i % 17))
            .collect();
        let lists: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i % 300]).collect();
        let (s, l) = (strings.clone(), lists.clone());
        let (got_strings, got_lists) = g
            .run(async |a| {
                let (ss, _) = stream(a, s, Delivery::chunks(&[5, 1, 9]));
                let (got_s,) = read_strings.call_concurrent(a, (ss,)).await.unwrap();
                let (ls, _) = stream(a, l, Delivery::chunks(&[2, 11]));
                let (got_l,) = read_lists.call_concurrent(a, (ls,)).await.unwrap();
                (got_s, got_l)
            })
            .await;
        assert_eq!(got_strings, strings);
        assert_eq!(got_lists, lists);
    };
    round(&mut g, 10).await;
    let baseline = g.live_bytes().await;
    for n in [0, 1, 100, 500] {
        round(&mut g, n).await;
    }
    assert_eq!(g.live_bytes().await, baseline);
    g.assert_nothing_open().await;
}

/// `select!` drops `items.next()` whenever the timer wins; every item still comes out
/// exactly once, in order.
#[tokio::test]
async fn select_between_next_and_a_future_loses_no_item() {
    let mut g = Guest::new(GUEST).await;
    let select_next = g.func::<(StreamReader<u32>,), ((Vec<u32>, u32),)>("select-next");
    let items: Vec<u32> = (0..300).collect();
    let ((got, ticks),) = g
        .run(async |a| {
            let delivery = Delivery::chunks(&[1, 2, 5]).delay(Duration::from_micros(300));
            let (s, _) = stream(a, items.clone(), delivery);
            select_next.call_concurrent(a, (s,)).await.unwrap()
        })
        .await;
    assert_eq!(got, items);
    assert!(
        ticks > 0,
        "the timer never won: the test did not exercise a dropped next()"
    );
    g.assert_nothing_open().await;
}

/// `into_inner` with a read in flight, at different moments: the items that raced in come
/// back; nothing is lost or duplicated between the adapter and the raw reader handed back.
/// Once the writer is gone, no reader comes back (reading it again would trap).
///
/// The host hands items over and resolves `later` only after it has seen the guest's read
/// in flight (no timers): what `into_inner` finds is decided by the test, not by a race.
#[tokio::test]
async fn into_inner_returns_every_unread_item_and_a_working_reader() {
    let mut g = Guest::new(GUEST).await;
    let into_inner = g.func::<
        (StreamReader<u32>, u32, FutureReader<u32>),
        ((Vec<u32>, Vec<u32>, Vec<u32>, bool),),
    >("into-inner");
    let items: Vec<u32> = (0..40).collect();
    // The guest takes `k` items, starts another read (unless items are buffered), waits
    // for `later`, then calls `into_inner`.
    #[derive(Clone, Copy, Debug)]
    enum Case {
        /// The items come in reads of `chunk` and the stream stays open, all there at once:
        /// the next read completed at once, its items are among the unread ones.
        AllAtOnce { k: u32, chunk: usize },
        /// The next read waits until the host has seen it, then gets `n` items before
        /// `later` resolves: they are the unread ones.
        CompletesWhileWaiting { k: u32, n: usize },
        /// The next read still waits when `later` resolves: `into_inner` cancels it,
        /// nothing is unread, everything else is read raw.
        StillWaiting { k: u32 },
        /// Everything in one read, then the writer is gone: no reader comes back.
        WriterGone,
    }
    let cases = [
        Case::AllAtOnce { k: 6, chunk: 3 },
        Case::CompletesWhileWaiting { k: 2, n: 2 },
        Case::StillWaiting { k: 3 },
        Case::CompletesWhileWaiting { k: 0, n: 4 },
        Case::WriterGone,
    ];
    for case in cases {
        let ((taken, unread, rest, reader_back),) = g
            .run(async |a| match case {
                Case::AllAtOnce { k, chunk } => {
                    let (s, _) = stream(a, items.clone(), Delivery::chunks(&[chunk]));
                    let later = future_ready(a, 0);
                    into_inner.call_concurrent(a, (s, k, later)).await.unwrap()
                }
                Case::WriterGone => {
                    let (s, _) = stream(a, items.clone(), Delivery::chunks(&[40]));
                    let later = future_ready(a, 0);
                    into_inner.call_concurrent(a, (s, 40, later)).await.unwrap()
                }
                Case::CompletesWhileWaiting { k, .. } | Case::StillWaiting { k } => {
                    let (s, input) = gated_stream(a, 0);
                    let (later, later_gate) = gated_future(a, 0);
                    let call = into_inner.call_concurrent(a, (s, k, later));
                    let host = async {
                        let k = k as usize;
                        input.push(items[..k].iter().copied());
                        // The guest took its `k` items and its next read waits.
                        input.waiting_after(k).await;
                        match case {
                            Case::CompletesWhileWaiting { n, .. } => {
                                input.push(items[k..k + n].iter().copied());
                                input
                                    .until("take the items of its read in flight", |s| {
                                        s.delivered == k + n
                                    })
                                    .await;
                                later_gate.release();
                            }
                            _ => {
                                later_gate.release();
                                input
                                    .until("cancel its read in flight", |s| s.cancels == 1)
                                    .await;
                            }
                        }
                        // The rest, for the raw reader (or the read `into_inner` left).
                        input.push(items[input.seen().delivered..].iter().copied());
                        input.end();
                    };
                    futures::join!(call, host).0.unwrap()
                }
            })
            .await;
        let ctx = format!("{case:?}: {taken:?} | {unread:?} | {rest:?}");
        let all: Vec<u32> = [taken.clone(), unread.clone(), rest.clone()].concat();
        assert_eq!(all, items, "{ctx}");
        match case {
            Case::AllAtOnce { .. } => assert!(
                reader_back && !unread.is_empty() && !rest.is_empty(),
                "{ctx}"
            ),
            Case::CompletesWhileWaiting { k, n } => {
                assert!(reader_back, "{ctx}");
                assert_eq!(taken, items[..k as usize], "{ctx}");
                assert_eq!(unread, items[k as usize..k as usize + n], "{ctx}");
            }
            Case::StillWaiting { k } => {
                assert!(reader_back, "{ctx}");
                assert_eq!(taken, items[..k as usize], "{ctx}");
                assert!(unread.is_empty(), "{ctx}");
            }
            Case::WriterGone => assert!(!reader_back && unread.is_empty(), "{ctx}"),
        }
        g.assert_nothing_open().await;
    }
}

async fn read_bytes(g: &mut Guest, total: usize, chunks: &[usize], how: &str) -> (u64, u64) {
    let (count, sum, _) = read_bytes_as(g, total, Delivery::chunks(chunks), how).await;
    (count, sum)
}

/// The guest's `read-bytes` over `total` bytes (`i % 251`): (bytes, sum, times the guest's
/// timer won).
async fn read_bytes_as(
    g: &mut Guest,
    total: usize,
    delivery: Delivery,
    how: &str,
) -> (u64, u64, u32) {
    let read_bytes = g.func::<(StreamReader<u8>, String), ((u64, u64, u32),)>("read-bytes");
    let ((count, sum, ticks),) = g
        .run(async |a| {
            let bytes = (0..total).map(|i| (i % 251) as u8);
            let (s, _) = stream(a, bytes, delivery);
            read_bytes
                .call_concurrent(a, (s, how.into()))
                .await
                .unwrap()
        })
        .await;
    g.assert_nothing_open().await;
    (count, sum, ticks)
}

fn expected_bytes(total: usize) -> (u64, u64) {
    (total as u64, (0..total).map(|i| (i % 251) as u64).sum())
}

#[tokio::test]
async fn async_read_sees_every_byte_then_eof() {
    let mut g = Guest::new(GUEST).await;
    for how in ["read", "bufread", "to-end"] {
        for (total, chunks) in [
            (0, &[][..]),
            (1, &[][..]),
            (100_000, &[1, 7000, 3, 65536][..]),
        ] {
            assert_eq!(
                read_bytes(&mut g, total, chunks, how).await,
                expected_bytes(total),
                "{how} {total}"
            );
        }
    }
}

/// `select!` drops `read` / `fill_buf` whenever the guest's timer wins; every byte still
/// comes out once, in order (the guest checks each byte's position).
#[tokio::test]
async fn dropped_reads_lose_no_byte() {
    let mut g = Guest::new(GUEST).await;
    for how in ["select-read", "select-bufread"] {
        let delivery = Delivery::chunks(&[1, 700, 9000, 3]).delay(Duration::from_micros(300));
        let total = 60_000;
        let (count, sum, ticks) = read_bytes_as(&mut g, total, delivery, how).await;
        assert_eq!((count, sum), expected_bytes(total), "{how}");
        assert!(
            ticks > 0,
            "{how}: the timer never won, so no read was dropped"
        );
    }
}

#[tokio::test]
async fn async_read_moves_100_mb() {
    let mut g = Guest::new(GUEST).await;
    let total = 100 << 20;
    assert_eq!(
        read_bytes(&mut g, total, &[65536], "bufread").await,
        expected_bytes(total)
    );
}

#[tokio::test]
async fn async_buf_read_lines() {
    let mut g = Guest::new(GUEST).await;
    let read_lines = g.func::<(StreamReader<u8>,), (Vec<String>,)>("read-lines");
    let text = "first line\nsecond\n\nlast without newline";
    let (lines,) = g
        .run(async |a| {
            let (s, _) = stream(
                a,
                text.bytes().collect::<Vec<_>>(),
                Delivery::chunks(&[3, 1, 5]),
            );
            read_lines.call_concurrent(a, (s,)).await.unwrap()
        })
        .await;
    assert_eq!(lines, ["first line", "second", "", "last without newline"]);
    g.assert_nothing_open().await;
}

#[tokio::test]
async fn try_stream_ends_with_the_reported_error() {
    let mut g = Guest::new(GUEST).await;
    let read_try = g.func::<(StreamReader<u32>, FutureReader<Result<(), String>>), ((Vec<u32>, Option<String>),)>(
        "read-try",
    );
    for end in [Ok(()), Err("disk on fire".to_string())] {
        let ((items, error),) = g
            .run(async |a| {
                let (s, _) = stream(a, 0..10u32, Delivery::chunks(&[4]));
                let end = future_after(a, Duration::from_millis(5), end.clone());
                read_try.call_concurrent(a, (s, end)).await.unwrap()
            })
            .await;
        assert_eq!(items, (0..10).collect::<Vec<_>>());
        assert_eq!(error, end.err());
        g.assert_nothing_open().await;
    }
}

/// A peer that writes the end future before it closes the stream (as wasip3's
/// `http_compat` does on an error; its write waits until it is read): the stream reads the
/// future while it reads the items, so the peer gets on and closes the stream, and every
/// item comes out, then the error.
#[tokio::test]
async fn try_stream_reads_an_end_written_before_the_stream_closes() {
    use futures::FutureExt;
    use wit_futures_harness::host::future::from_future;
    use wit_futures_harness::host::stream::from_stream;

    let mut g = Guest::new(GUEST).await;
    let read_try = g.func::<(StreamReader<u32>, FutureReader<Result<(), String>>), ((Vec<u32>, Option<String>),)>(
        "read-try",
    );
    let run = g.run(async |a| {
        let (items, rx) = futures::channel::mpsc::unbounded();
        let (end_read, end_read_rx) = futures::channel::oneshot::channel::<()>();
        let s = a.with(|s| from_stream(s, rx)).unwrap();
        let end = a
            .with(|s| {
                from_future(
                    s,
                    async move {
                        let _ = end_read.send(());
                        Err::<(), String>("disk on fire".into())
                    }
                    .boxed(),
                )
            })
            .unwrap();
        for i in 0..10u32 {
            items.unbounded_send(i).unwrap();
        }
        let peer = async move {
            let _ = end_read_rx.await;
            drop(items);
        };
        let (result, ()) = futures::join!(read_try.call_concurrent(a, (s, end)), peer);
        result.unwrap().0
    });
    let (items, error) = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the stream and its peer waited on each other");
    assert_eq!(items, (0..10).collect::<Vec<_>>());
    assert_eq!(error.as_deref(), Some("disk on fire"));
    g.assert_nothing_open().await;
}
