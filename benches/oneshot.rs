//! `cargo bench --bench oneshot`: N host-made futures awaited inside one guest export,
//! through `into_oneshot()` vs raw `FutureReader.await`, alternating, in one run.

#[path = "ratio.rs"]
mod ratio;

use wit_futures_harness::peer::future_ready;
use wit_futures_harness::{FutureReader, Guest};

const N: u32 = 10_000;
const ROUNDS: usize = 15;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut g = Guest::new("bench-guest").await;
    let recv = g.func::<(Vec<FutureReader<u32>>, bool), ((u64, u64),)>("oneshot-recv");
    let mut times = ratio::Rounds::<2>::new();
    for round in 0..=ROUNDS {
        for adapter in [false, true] {
            let ((nanos, sum),) = g
                .run(async |a| {
                    let fs = (0..N).map(|i| future_ready(a, i)).collect();
                    recv.call_concurrent(a, (fs, adapter)).await.unwrap()
                })
                .await;
            assert_eq!(sum, u64::from(N) * u64::from(N - 1) / 2);
            if round > 0 {
                // round 0 warms up
                times.push(adapter as usize, nanos as f64 / f64::from(N));
            }
        }
    }
    let [raw, adapter] = times.medians();
    println!(
        "oneshot_recv raw: {raw:.0} ns/future, adapter: {adapter:.0} ns/future ({N} futures x {ROUNDS} rounds, medians)"
    );
    ratio::print("oneshot_recv adapter/raw", &times.ratios(1, 0), "");
}
