//! `cargo bench --bench task`: N tasks spawned and joined inside one guest export, through
//! `wit_futures::task::spawn` vs raw `wit_bindgen::spawn_local`, alternating, in one run.

#[path = "ratio.rs"]
mod ratio;

use wit_futures_harness::Guest;

const N: u32 = 10_000;
const ROUNDS: usize = 15;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut g = Guest::new("bench-guest").await;
    let spawn_join = g.func::<(u32, bool), ((u64, u64, u64),)>("spawn-join");
    let mut times = ratio::Rounds::<2>::new();
    let mut allocs = [0, 0];
    for round in 0..=ROUNDS {
        for adapter in [false, true] {
            let ((nanos, sum, a),) = g.call_func(spawn_join, (N, adapter)).await;
            assert_eq!(sum, u64::from(N) * u64::from(N - 1) / 2);
            if round > 0 {
                times.push(adapter as usize, nanos as f64 / f64::from(N));
                allocs[adapter as usize] = a;
            }
        }
    }
    let [raw, adapter] = times.medians();
    println!(
        "spawn_join raw: {raw:.0} ns/task, adapter: {adapter:.0} ns/task ({N} tasks x {ROUNDS} rounds, medians); allocations per task: raw {:.1}, adapter {:.1}",
        allocs[0] as f64 / f64::from(N),
        allocs[1] as f64 / f64::from(N)
    );
    ratio::print("spawn_join adapter/raw", &times.ratios(1, 0), "");
}
