//! `cargo bench --bench stream`: the stream adapters against the raw wit-bindgen code doing
//! the same job, inside one guest export each, alternating, in one run. Prints medians and
//! `name adapter/raw = ratio (lo-hi)` lines (the median and the range of the per-round
//! ratios), plus allocations per item.

#[path = "ratio.rs"]
mod ratio;

use ratio::Rounds;
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
    let mut at_default = None;
    for cap in [64, 256, 1024, 4096, 16384] {
        let mut times = Rounds::<2>::new();
        let mut adapter_allocs_per_item = Vec::new();
        let (mut raw_allocs, mut adapter_allocs) = (0, 0);
        run(g, "adapter", cap).await; // warm-up
        for _ in 0..ROUNDS {
            let (n, a) = run(g, "raw", cap).await;
            times.push(0, n as f64);
            raw_allocs = a;
            let (n, a) = run(g, "adapter", cap).await;
            times.push(1, n as f64);
            adapter_allocs = a;
            adapter_allocs_per_item.push(a as f64 / f64::from(ITEMS));
        }
        let [raw, adapter] = times.medians();
        println!(
            "  capacity {cap:>5}: raw {:>6.2} ms, adapter {:>6.2} ms, adapter/raw {:.3}; allocations: raw {raw_allocs}, adapter {adapter_allocs} ({:.6} per item)",
            raw / 1e6,
            adapter / 1e6,
            adapter / raw,
            adapter_allocs as f64 / f64::from(ITEMS),
        );
        if cap as usize == wit_futures::stream::DEFAULT_CAPACITY {
            at_default = Some((times.ratios(1, 0), adapter_allocs_per_item));
        }
    }
    let (ratios_at_default, allocs_at_default) =
        at_default.expect("the default capacity is one of the capacities swept");
    let mut chunks = Rounds::<2>::new();
    let cap = wit_futures::stream::DEFAULT_CAPACITY as u32;
    for _ in 0..ROUNDS {
        chunks.push(0, run(g, "raw", cap).await.0 as f64);
        chunks.push(1, run(g, "chunks", cap).await.0 as f64);
    }
    let [raw, chunks_median] = chunks.medians();
    println!(
        "  capacity {cap:>5}: raw {:>6.2} ms, into_chunk_stream {:>6.2} ms, chunks/raw {:.3}",
        raw / 1e6,
        chunks_median / 1e6,
        chunks_median / raw
    );
    let mut iter = Vec::new();
    for _ in 0..ROUNDS {
        iter.push(run(g, "vec-iter-stream", cap).await.0 as f64);
    }
    println!(
        "  for scale: futures::stream::iter over a Vec of the same items, polled the same way: {:.2} ms",
        ratio::median(&iter) / 1e6
    );
    // wit-bindgen's own stream against the adapter at the default capacity, alternating.
    let mut wit_bindgen = Rounds::<2>::new();
    for _ in 0..3 {
        wit_bindgen.push(0, run(g, "adapter", cap).await.0 as f64);
        wit_bindgen.push(1, run(g, "wit-bindgen", 0).await.0 as f64);
    }
    println!(
        "  wit-bindgen into_stream(): {:.1} ms",
        wit_bindgen.median(1) / 1e6
    );
    ratio::print(
        "stream_read adapter/raw",
        &ratios_at_default,
        "(into_item_stream, one item per poll)",
    );
    ratio::print(
        "stream_read chunks/raw",
        &chunks.ratios(1, 0),
        "(into_chunk_stream, one batch per poll)",
    );
    ratio::print_with(
        "stream_read wit-bindgen-into_stream/adapter",
        &wit_bindgen.ratios(1, 0),
        0,
        "",
    );
    ratio::print_with(
        "stream_read allocations/item",
        &allocs_at_default,
        6,
        "(into_item_stream at the default capacity, per round)",
    );
    // The floor for a one-item-per-poll stream: the raw batched read plus the cheapest
    // possible `Stream` (`futures::stream::iter` over a Vec) handing out the same items,
    // measured in alternating rounds.
    let mut floor = Rounds::<3>::new();
    for _ in 0..ROUNDS {
        floor.push(0, run(g, "raw", cap).await.0 as f64);
        floor.push(1, run(g, "adapter", cap).await.0 as f64);
        floor.push(2, run(g, "vec-iter-stream", cap).await.0 as f64);
    }
    let [raw, adapter, iter] = floor.medians();
    println!(
        "  capacity {cap}: raw {:.2} ms + stream::iter {:.2} ms = floor {:.2} ms; into_item_stream {:.2} ms",
        raw / 1e6,
        iter / 1e6,
        (raw + iter) / 1e6,
        adapter / 1e6
    );
    ratio::print(
        "stream_read adapter/floor",
        &floor.per_round(|[raw, adapter, iter]| adapter / (raw + iter)),
        "(into_item_stream vs raw read + stream::iter)",
    );
}

/// Short streams, as in one HTTP request: make the adapter, read one item, drop it.
async fn stream_short(g: &mut Guest) {
    const N: u32 = 10_000;
    let short = g.func::<(Vec<StreamReader<u32>>, bool), ((u64, u64),)>("stream-short");
    let mut times = Rounds::<2>::new();
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
                times.push(adapter as usize, nanos as f64 / f64::from(N));
            }
        }
    }
    let [raw, adapter] = times.medians();
    println!(
        "stream_short: {N} one-item streams, each read once then dropped: raw {raw:.0} ns, into_item_stream {adapter:.0} ns per stream"
    );
    ratio::print("stream_short adapter/raw", &times.ratios(1, 0), "");
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
    let mut times = Rounds::<5>::new();
    let mut allocs = vec![0; modes.len()];
    for mode in modes {
        run(g, mode).await;
    }
    for _ in 0..ROUNDS {
        for (i, mode) in modes.iter().enumerate() {
            let (n, a) = run(g, mode).await;
            times.push(i, n as f64);
            allocs[i] = a;
        }
    }
    let medians = times.medians();
    for (i, mode) in modes.iter().enumerate() {
        println!(
            "  {mode:<15} {:>7.2} ms, {} allocations",
            medians[i] / 1e6,
            allocs[i]
        );
    }
    ratio::print(
        "stream_bytes adapter/raw",
        &times.ratios(1, 0),
        "(AsyncRead::read into a 64 KiB buffer)",
    );
    ratio::print(
        "stream_bytes bufread/raw",
        &times.ratios(2, 0),
        "(AsyncBufRead::fill_buf, no copy)",
    );
    ratio::print(
        "stream_bytes tokio/raw",
        &times.ratios(3, 0),
        "(tokio::io::AsyncReadExt::read into a 64 KiB buffer)",
    );
    ratio::print(
        "stream_bytes tokio-copy/raw",
        &times.ratios(4, 0),
        "(tokio::io::copy into a writer that sums)",
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
    // Every mode once per round, so that each ratio compares samples of the same round.
    let modes = [
        "raw",
        "adapter",
        "raw-batches",
        "chunks",
        "drain",
        "raw-boxed",
    ];
    let mut times = Rounds::<6>::new();
    let mut adapter_allocs_per_item = Vec::new();
    let (mut raw_allocs, mut adapter_allocs) = (0, 0);
    for _ in 0..ROUNDS {
        for (m, mode) in modes.iter().enumerate() {
            let (n, a) = run(g, mode).await;
            times.push(m, n as f64);
            match *mode {
                "raw" => raw_allocs = a,
                "adapter" => {
                    adapter_allocs = a;
                    adapter_allocs_per_item.push(a as f64 / f64::from(ITEMS));
                }
                _ => {}
            }
        }
    }
    let [raw, adapter, chunks_raw, chunks, drain, _] = times.medians();
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
    ratio::print(
        "sink_write adapter/raw",
        &times.ratios(1, 0),
        "(into_sink + send_all, one item per start_send)",
    );
    ratio::print_with(
        "sink_write allocations/item",
        &adapter_allocs_per_item,
        6,
        "(into_sink, per round)",
    );
    println!(
        "  floor: raw write_all {:.2} ms + send_all of the same items into the cheapest sink that takes each item (black_box) {:.2} ms",
        raw / 1e6,
        drain / 1e6
    );
    ratio::print(
        "sink_write adapter/floor",
        &times.per_round(|[raw, adapter, _, _, drain, _]| adapter / (raw + drain)),
        "(into_sink + send_all vs that floor)",
    );
    println!(
        "  the same batches (a new Vec each) through raw write_all {:.2} ms, through into_chunk_sink {:.2} ms",
        chunks_raw / 1e6,
        chunks / 1e6
    );
    ratio::print(
        "sink_write chunks/raw",
        &times.ratios(3, 2),
        "(into_chunk_sink vs raw write_all of the same batches)",
    );
    ratio::print(
        "sink_write raw-boxed/raw",
        &times.ratios(5, 2),
        "(the same raw writes, each in a boxed future that owns the writer, as the adapters' are: what that box costs)",
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
        let mut times = Rounds::<2>::new();
        let (mut raw_allocs, mut adapter_allocs) = (0, 0);
        for _ in 0..ROUNDS {
            let (t, a) = run(g, n, size, "raw").await;
            times.push(0, t as f64);
            raw_allocs = a;
            let (t, a) = run(g, n, size, "adapter").await;
            times.push(1, t as f64);
            adapter_allocs = a;
        }
        let [raw, adapter] = times.medians();
        println!(
            "{name}: {n} bytes in writes of {size}: raw write_all {:.2} ms, into_async_write {:.2} ms; allocations raw {raw_allocs}, adapter {adapter_allocs}",
            raw / 1e6,
            adapter / 1e6
        );
        ratio::print(&format!("{name} adapter/raw"), &times.ratios(1, 0), "");
    }
}
