//! The guest side of the host crate's tests (world `host-peer` in tests/wit/host-peer.wit),
//! with raw wit-bindgen operations only.

wit_bindgen::generate!({ path: "../../wit", world: "host-peer" });

use wit_bindgen::{FutureReader, StreamReader, StreamResult, StreamWriter, yield_async};

struct Component;

export!(Component);

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

async fn yields(n: u32) {
    for _ in 0..n {
        yield_async().await;
    }
}

/// Reads up to `stop_after` items in reads of `per_read`, then drops the reader.
async fn read<T>(mut s: StreamReader<T>, per_read: u32, pause: u32, stop_after: u64) -> Vec<T> {
    let mut out = Vec::new();
    while (out.len() as u64) < stop_after {
        let want = (per_read as u64).min(stop_after - out.len() as u64) as usize;
        let (result, got) = s.read(Vec::with_capacity(want)).await;
        out.extend(got);
        if result == StreamResult::Dropped {
            break;
        }
        yields(pause).await;
    }
    out
}

/// Writes `items` in writes of `per_write`; returns how many the reader took.
async fn write<T>(mut s: StreamWriter<T>, items: Vec<T>, per_write: u32, pause: u32) -> u64 {
    let mut taken = 0u64;
    let mut items = items.into_iter();
    loop {
        let batch: Vec<T> = items.by_ref().take(per_write.max(1) as usize).collect();
        if batch.is_empty() {
            return taken;
        }
        let len = batch.len() as u64;
        let rest = s.write_all(batch).await;
        taken += len - rest.len() as u64;
        if !rest.is_empty() {
            return taken;
        }
        yields(pause).await;
    }
}

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Guest for Component {
    async fn read_strings(
        s: StreamReader<String>,
        per_read: u32,
        pause: u32,
        stop_after: u32,
    ) -> Vec<String> {
        read(s, per_read, pause, u64::from(stop_after)).await
    }

    async fn read_lists(
        s: StreamReader<Vec<u8>>,
        per_read: u32,
        pause: u32,
        stop_after: u32,
    ) -> Vec<Vec<u8>> {
        read(s, per_read, pause, u64::from(stop_after)).await
    }

    async fn read_numbers(mut s: StreamReader<u32>, per_read: u32) -> (u64, u64) {
        let (mut count, mut sum) = (0u64, 0u64);
        let mut buf = Vec::with_capacity(per_read as usize);
        loop {
            let (result, got) = s.read(buf).await;
            count += got.len() as u64;
            sum += got.iter().map(|&v| u64::from(v)).sum::<u64>();
            buf = got;
            buf.clear();
            if result == StreamResult::Dropped {
                return (count, sum);
            }
        }
    }

    async fn read_bytes(
        mut s: StreamReader<u8>,
        per_read: u32,
        pause: u32,
        stop_after: u64,
    ) -> (u64, u64) {
        let (mut count, mut hash) = (0u64, 0xcbf2_9ce4_8422_2325u64);
        while count < stop_after {
            let want = (per_read as u64).min(stop_after - count) as usize;
            let (result, got) = s.read(Vec::with_capacity(want)).await;
            count += got.len() as u64;
            hash = fnv1a(hash, &got);
            if result == StreamResult::Dropped {
                break;
            }
            yields(pause).await;
        }
        (count, hash)
    }

    async fn write_strings(
        n: u32,
        per_write: u32,
        pause: u32,
    ) -> (StreamReader<String>, FutureReader<u32>) {
        let (tx, rx) = wit_stream::new();
        let (count_tx, count_rx) = wit_future::new(|| u32::MAX);
        wit_bindgen::spawn_local(async move {
            let items = (0..n).map(|i| format!("item {i}")).collect();
            let taken = write(tx, items, per_write, pause).await;
            let _ = count_tx.write(taken as u32).await;
        });
        (rx, count_rx)
    }

    async fn write_lists(
        n: u32,
        per_write: u32,
        pause: u32,
    ) -> (StreamReader<Vec<u8>>, FutureReader<u32>) {
        let (tx, rx) = wit_stream::new();
        let (count_tx, count_rx) = wit_future::new(|| u32::MAX);
        wit_bindgen::spawn_local(async move {
            let items = (0..n).map(|i| vec![i as u8; (i % 300) as usize]).collect();
            let taken = write(tx, items, per_write, pause).await;
            let _ = count_tx.write(taken as u32).await;
        });
        (rx, count_rx)
    }

    async fn write_bytes(
        n: u64,
        per_write: u32,
        pause: u32,
    ) -> (StreamReader<u8>, FutureReader<u64>) {
        let (tx, rx) = wit_stream::new();
        let (count_tx, count_rx) = wit_future::new(|| u64::MAX);
        wit_bindgen::spawn_local(async move {
            let bytes = (0..n)
                .map(|i| (i.wrapping_mul(31) ^ (i >> 11)) as u8)
                .collect();
            let taken = write(tx, bytes, per_write, pause).await;
            let _ = count_tx.write(taken).await;
        });
        (rx, count_rx)
    }

    async fn count_bytes(mut s: StreamReader<u8>, per_read: u32) -> u64 {
        let mut count = 0u64;
        let mut buf = Vec::with_capacity(per_read as usize);
        loop {
            let (result, got) = s.read(buf).await;
            count += got.len() as u64;
            buf = got;
            buf.clear();
            if result == StreamResult::Dropped {
                return count;
            }
        }
    }

    async fn await_string(f: FutureReader<String>) -> String {
        f.await
    }

    async fn make_string(v: String, pause: u32, write: bool) -> FutureReader<String> {
        let (tx, rx) = wit_future::new(|| String::from("default"));
        wit_bindgen::spawn_local(async move {
            yields(pause).await;
            if write {
                let _ = tx.write(v).await;
            }
        });
        rx
    }

    async fn ask(
        request: Vec<u8>,
        reply: FutureReader<String>,
    ) -> (StreamReader<u8>, FutureReader<String>) {
        let (mut tx, rx) = wit_stream::new();
        let (answer_tx, answer_rx) = wit_future::new(|| String::from("none"));
        wit_bindgen::spawn_local(async move {
            let answer = if tx.write_all(request).await.is_empty() {
                reply.await
            } else {
                String::from("reader gone")
            };
            drop(tx);
            let _ = answer_tx.write(answer).await;
        });
        (rx, answer_rx)
    }

    async fn write_cancelled(n: u32, yields: u32) -> (StreamReader<String>, FutureReader<u32>) {
        let (mut tx, rx) = wit_stream::new();
        let (count_tx, count_rx) = wit_future::new(|| u32::MAX);
        wit_bindgen::spawn_local(async move {
            let items: Vec<String> = (0..n).map(|i| format!("item {i}")).collect();
            let mut write = Box::pin(tx.write(items));
            let mut done = None;
            for _ in 0..yields {
                let poll =
                    std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx)))
                        .await;
                if let std::task::Poll::Ready(result) = poll {
                    done = Some(result);
                    break;
                }
                yield_async().await;
            }
            let (status, _rest) = match done {
                Some(result) => result,
                None => write.as_mut().cancel(),
            };
            drop(write);
            drop(tx);
            let taken = match status {
                StreamResult::Complete(n) => n as u32,
                _ => 0,
            };
            let _ = count_tx.write(taken).await;
        });
        (rx, count_rx)
    }
}
