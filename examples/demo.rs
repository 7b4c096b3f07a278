//! `cargo run --example demo`: runs each example component (built for `wasm32-wasip2` by the
//! harness's build script) on embedded wasmtime, with the host playing the other side of
//! its futures and streams, and prints what happened.

use std::time::{Duration, Instant};

use wit_futures_harness::peer::{future_after, future_never};
use wit_futures_harness::{FutureReader, Guest};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    select_race().await;
}

/// examples/select-race: two replicas and a deadline, with different timings.
async fn select_race() {
    println!("== select-race: racing component futures with select! and into_oneshot()");
    let mut g = Guest::new("example-select-race").await;
    let race = g.func::<(
        FutureReader<String>,
        FutureReader<String>,
        FutureReader<u32>,
    ), (String,)>("race");
    let ms = Duration::from_millis;
    // (replica a answers after, replica b answers after, deadline), None = never answers
    let scenarios = [
        ("b is faster", Some(40), Some(10), 100),
        ("both answer at once", Some(10), Some(10), 100),
        ("both too slow", Some(300), None, 30),
    ];
    for (name, a_ms, b_ms, deadline_ms) in scenarios {
        let start = Instant::now();
        let (outcome,) = g
            .run(async |acc| {
                let replica = |after: Option<u64>, answer: &str| match after {
                    Some(after) => future_after(acc, ms(after), answer.to_string()),
                    None => future_never(acc).0,
                };
                let args = (
                    replica(a_ms, "42 (from a)"),
                    replica(b_ms, "42 (from b)"),
                    future_after(acc, ms(deadline_ms), deadline_ms as u32),
                );
                race.call_concurrent(acc, args).await.unwrap()
            })
            .await;
        println!("  {name:<20} -> {outcome}  [{:?}]", start.elapsed());
    }
    g.assert_nothing_open().await;
}
