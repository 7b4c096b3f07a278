//! `cargo bench --bench stream`: the stream adapters against the raw wit-bindgen code doing
//! the same job, inside one guest export each, alternating, in one run. Prints medians and
//! `name adapter/raw = ratio` lines, plus allocations per item.

use wit_futures_harness::peer::{drain_stream, read_future, stream_vec};
use wit_futures_harness::{FutureReader, Guest, StreamReader};

const ITEMS: u32 = 1_000_000;
const BYTES: usize = 100 << 20;
const ROUNDS: usize = 9;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench --bench stream -- read` runs only the benchmarks whose name contains "read".
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let run = |name: &str| only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    let mut g = Guest::new("bench-guest").await;
    if run("stream_read") {
        stream_read(&mut g).await;
    }
    if run("stream_bytes") {
        stream_bytes(&mut g).await;
    }
    if run("sink_write") {
        sink_write(&mut g).await;
    }
    if run("stream_short") {
        stream_short(&mut g).await;
    }
    if run("byte_write") {
        byte_write(&mut g).await;
    }
}

/// (median nanoseconds per round, allocations of the last round)
fn summarize(mut nanos: Vec<u64>, allocs: u64) -> (f64, u64) {
    nanos.sort();
    (nanos[nanos.len() / 2] as f64, allocs)
}

async fn stream_read(g: &mut Guest) {
    let read = g.func::<(StreamReader<u32>, String, u32), ((u64, u64, u64),)>("stream-read");
    let items: Vec<u32> = (0..ITEMS).collect();
    let expected: u64 = items.iter().map(|&v| u64::from(v)).sum();
    let run = async |g: &mut Guest, mode: &str, cap: u32| {
        let ((nanos, sum, allocs),) = g
            .run(async |a| {
                let s = stream_vec(a, items.clone());
                read.call_concurrent(a, (s, mode.into(), cap))
                    .await
                    .unwrap()
            })
            .await;
        assert_eq!(sum, expected, "{mode}");
        (nanos, allocs)
    };
    println!("stream_read: {ITEMS} u32 from the host, summed; median of {ROUNDS} rounds");
    let mut ratio_at_default = 0.0;
    let mut raw_at_default = 0.0;
    for cap in [64, 256, 1024, 4096, 16384] {
        let (mut raw, mut adapter) = (Vec::new(), Vec::new());
        let (mut raw_allocs, mut adapter_allocs) = (0, 0);
        run(g, "adapter", cap).await; // warm-up
        for _ in 0..ROUNDS {
            let (n, a) = run(g, "raw", cap).await;
            raw.push(n);
            raw_allocs = a;
            let (n, a) = run(g, "adapter", cap).await;
            adapter.push(n);
            adapter_allocs = a;
        }
        let (raw, raw_allocs) = summarize(raw, raw_allocs);
        let (adapter, adapter_allocs) = summarize(adapter, adapter_allocs);
        println!(
            "  capacity {cap:>5}: raw {:>6.2} ms, adapter {:>6.2} ms, adapter/raw {:.3}; allocations: raw {raw_allocs}, adapter {adapter_allocs} ({:.6} per item)",
            raw / 1e6,
            adapter / 1e6,
            adapter / raw,
            adapter_allocs as f64 / f64::from(ITEMS),
        );
        if cap as usize == wit_futures::stream::DEFAULT_CAPACITY {
            ratio_at_default = adapter / raw;
            raw_at_default = raw;
        }
    }
    let (mut raw, mut chunks) = (Vec::new(), Vec::new());
    let cap = wit_futures::stream::DEFAULT_CAPACITY as u32;
    for _ in 0..ROUNDS {
        raw.push(run(g, "raw", cap).await.0);
        chunks.push(run(g, "chunks", cap).await.0);
    }
    let (raw, _) = summarize(raw, 0);
    let (chunks, _) = summarize(chunks, 0);
    println!(
        "  capacity {cap:>5}: raw {:>6.2} ms, into_chunk_stream {:>6.2} ms, chunks/raw {:.3}",
        raw / 1e6,
        chunks / 1e6,
        chunks / raw
    );
    let mut iter = Vec::new();
    for _ in 0..ROUNDS {
        iter.push(run(g, "vec-iter-stream", cap).await.0);
    }
    println!(
        "  for scale: futures::stream::iter over a Vec of the same items, polled the same way: {:.2} ms",
        summarize(iter, 0).0 / 1e6
    );
    let mut wit_bindgen = Vec::new();
    for _ in 0..3 {
        wit_bindgen.push(run(g, "wit-bindgen", 0).await.0);
    }
    let (wit_bindgen, _) = summarize(wit_bindgen, 0);
    println!("  wit-bindgen into_stream(): {:.1} ms", wit_bindgen / 1e6);
    println!(
        "stream_read adapter/raw = {ratio_at_default:.3}   (into_item_stream, one item per poll)"
    );
    println!(
        "stream_read chunks/raw = {:.3}   (into_chunk_stream, one batch per poll)",
        chunks / raw
    );
    println!(
        "stream_read wit-bindgen-into_stream/adapter = {:.0}",
        wit_bindgen / (raw_at_default * ratio_at_default)
    );
    // The floor for a one-item-per-poll stream: the raw batched read plus the cheapest
    // possible `Stream` (`futures::stream::iter` over a Vec) handing out the same items,
    // measured in alternating rounds.
    let (mut raw, mut adapter, mut iter) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        raw.push(run(g, "raw", cap).await.0);
        adapter.push(run(g, "adapter", cap).await.0);
        iter.push(run(g, "vec-iter-stream", cap).await.0);
    }
    let [raw, adapter, iter] = [raw, adapter, iter].map(|t| summarize(t, 0).0);
    println!(
        "  capacity {cap}: raw {:.2} ms + stream::iter {:.2} ms = floor {:.2} ms; into_item_stream {:.2} ms",
        raw / 1e6,
        iter / 1e6,
        (raw + iter) / 1e6,
        adapter / 1e6
    );
    println!(
        "stream_read adapter/floor = {:.3}   (into_item_stream vs raw read + stream::iter)",
        adapter / (raw + iter)
    );
}

/// Short streams, as in one HTTP request: make the adapter, read one item, drop it.
async fn stream_short(g: &mut Guest) {
    const N: u32 = 10_000;
    let short = g.func::<(Vec<StreamReader<u32>>, bool), ((u64, u64),)>("stream-short");
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..=ROUNDS {
        for adapter in [false, true] {
            let ((nanos, sum),) = g
                .run(async |a| {
                    let ss = (0..N).map(|i| stream_vec(a, vec![i])).collect();
                    short.call_concurrent(a, (ss, adapter)).await.unwrap()
                })
                .await;
            assert_eq!(sum, u64::from(N) * u64::from(N - 1) / 2);
            if round > 0 {
                times[adapter as usize].push(nanos);
            }
        }
    }
    let [raw, adapter] = times.map(|t| summarize(t, 0).0 / f64::from(N));
    println!(
        "stream_short: {N} one-item streams, each read once then dropped: raw {raw:.0} ns, into_item_stream {adapter:.0} ns per stream"
    );
    println!("stream_short adapter/raw = {:.3}", adapter / raw);
}

async fn stream_bytes(g: &mut Guest) {
    let read = g.func::<(StreamReader<u8>, String), ((u64, u64, u64),)>("stream-bytes");
    let bytes: Vec<u8> = (0..BYTES).map(|i| (i % 251) as u8).collect();
    let expected: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
    let run = async |g: &mut Guest, mode: &str| {
        let ((nanos, sum, allocs),) = g
            .run(async |a| {
                let s = stream_vec(a, bytes.clone());
                read.call_concurrent(a, (s, mode.into())).await.unwrap()
            })
            .await;
        assert_eq!(sum, expected, "{mode}");
        (nanos, allocs)
    };
    println!(
        "stream_bytes: {} MiB from the host, summed; median of {ROUNDS} rounds",
        BYTES >> 20
    );
    let modes = [
        "raw",
        "async-read",
        "async-buf-read",
        "tokio-read",
        "tokio-copy",
    ];
    let mut times = vec![Vec::new(); modes.len()];
    let mut allocs = vec![0; modes.len()];
    for mode in modes {
        run(g, mode).await;
    }
    for _ in 0..ROUNDS {
        for (i, mode) in modes.iter().enumerate() {
            let (n, a) = run(g, mode).await;
            times[i].push(n);
            allocs[i] = a;
        }
    }
    let medians: Vec<f64> = times.into_iter().map(|t| summarize(t, 0).0).collect();
    for (i, mode) in modes.iter().enumerate() {
        println!(
            "  {mode:<15} {:>7.2} ms, {} allocations",
            medians[i] / 1e6,
            allocs[i]
        );
    }
    println!(
        "stream_bytes adapter/raw = {:.3}   (AsyncRead::read into a 64 KiB buffer)",
        medians[1] / medians[0]
    );
    println!(
        "stream_bytes bufread/raw = {:.3}   (AsyncBufRead::fill_buf, no copy)",
        medians[2] / medians[0]
    );
    println!(
        "stream_bytes tokio/raw = {:.3}   (tokio::io::AsyncReadExt::read into a 64 KiB buffer)",
        medians[3] / medians[0]
    );
    println!(
        "stream_bytes tokio-copy/raw = {:.3}   (tokio::io::copy into a writer that sums)",
        medians[4] / medians[0]
    );
}

async fn sink_write(g: &mut Guest) {
    let write = g
        .func::<(u32, String, u32), ((StreamReader<u32>, FutureReader<(u64, u64)>),)>("sink-write");
    let cap = wit_futures::stream::DEFAULT_SINK_CAPACITY as u32;
    let run = async |g: &mut Guest, mode: &str| {
        let (count, (nanos, allocs)) = g
            .run(async |a| {
                let ((s, report),) = write
                    .call_concurrent(a, (ITEMS, mode.into(), cap))
                    .await
                    .unwrap();
                let count = drain_stream(a, s).await;
                (count, read_future(a, report).await)
            })
            .await;
        assert_eq!(count, ITEMS as usize, "{mode}");
        (nanos, allocs)
    };
    println!("sink_write: {ITEMS} u32 to the host, batches of {cap}; median of {ROUNDS} rounds");
    run(g, "adapter").await;
    let (mut raw, mut adapter) = (Vec::new(), Vec::new());
    let (mut raw_allocs, mut adapter_allocs) = (0, 0);
    for _ in 0..ROUNDS {
        let (n, a) = run(g, "raw").await;
        raw.push(n);
        raw_allocs = a;
        let (n, a) = run(g, "adapter").await;
        adapter.push(n);
        adapter_allocs = a;
    }
    let (mut chunks, mut chunks_raw, mut drain) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        chunks_raw.push(run(g, "raw-batches").await.0);
        chunks.push(run(g, "chunks").await.0);
        drain.push(run(g, "drain").await.0);
    }
    let (chunks, _) = summarize(chunks, 0);
    let (chunks_raw, _) = summarize(chunks_raw, 0);
    let (drain, _) = summarize(drain, 0);
    let (raw, _) = summarize(raw, 0);
    let (adapter, _) = summarize(adapter, 0);
    println!(
        "  raw write_all {:.2} ms, into_sink + send_all {:.2} ms, into_chunk_sink {:.2} ms",
        raw / 1e6,
        adapter / 1e6,
        chunks / 1e6
    );
    println!(
        "  allocations: raw {raw_allocs}, into_sink {adapter_allocs} ({:.6} per item)",
        adapter_allocs as f64 / f64::from(ITEMS),
    );
    println!(
        "sink_write adapter/raw = {:.3}   (into_sink + send_all, one item per start_send)",
        adapter / raw
    );
    println!(
        "  floor: raw write_all {:.2} ms + send_all of the same items into the cheapest sink that takes each item (black_box) {:.2} ms",
        raw / 1e6,
        drain / 1e6
    );
    println!(
        "sink_write adapter/floor = {:.3}   (into_sink + send_all vs that floor)",
        adapter / (raw + drain)
    );
    println!(
        "  the same batches (a new Vec each) through raw write_all {:.2} ms, through into_chunk_sink {:.2} ms",
        chunks_raw / 1e6,
        chunks / 1e6
    );
    println!(
        "sink_write chunks/raw = {:.3}   (into_chunk_sink vs raw write_all of the same batches)",
        chunks / chunks_raw
    );
}

/// Bytes written by the guest, 100 MiB in writes of 64 KiB and 100 MB in 1,000,000 writes of
/// 100 bytes: `into_async_write()` + `write_all` vs raw `write_all` of a reused `Vec`, the
/// host reading as fast as it can.
async fn byte_write(g: &mut Guest) {
    let write =
        g.func::<(u64, u32, String), ((StreamReader<u8>, FutureReader<(u64, u64)>),)>("byte-write");
    let run = async |g: &mut Guest, n: u64, size: u32, mode: &str| {
        let (count, (nanos, allocs)) = g
            .run(async |a| {
                let ((s, report),) = write
                    .call_concurrent(a, (n, size, mode.into()))
                    .await
                    .unwrap();
                let count = drain_stream(a, s).await;
                (count, read_future(a, report).await)
            })
            .await;
        assert_eq!(count as u64, n, "{mode}");
        (nanos, allocs)
    };
    for (name, n, size) in [
        ("byte_write", BYTES as u64, 64 * 1024),
        ("byte_write small", 100_000_000, 100),
    ] {
        run(g, n, size, "adapter").await;
        let (mut raw, mut adapter) = (Vec::new(), Vec::new());
        let (mut raw_allocs, mut adapter_allocs) = (0, 0);
        for _ in 0..ROUNDS {
            let (t, a) = run(g, n, size, "raw").await;
            raw.push(t);
            raw_allocs = a;
            let (t, a) = run(g, n, size, "adapter").await;
            adapter.push(t);
            adapter_allocs = a;
        }
        let (raw, _) = summarize(raw, 0);
        let (adapter, _) = summarize(adapter, 0);
        println!(
            "{name}: {n} bytes in writes of {size}: raw write_all {:.2} ms, into_async_write {:.2} ms; allocations raw {raw_allocs}, adapter {adapter_allocs}",
            raw / 1e6,
            adapter / 1e6
        );
        println!("{name} adapter/raw = {:.3}", adapter / raw);
    }
}
