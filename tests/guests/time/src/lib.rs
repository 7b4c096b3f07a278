//! Test guest for the timers (world `time` in tests/wit/time.wit).

wit_bindgen::generate!({ path: "../../wit", world: "time" });

use std::time::Duration;

use futures::StreamExt;
use wit_bindgen::FutureReader;
use wit_futures::prelude::*;
use wit_futures::time::{Instant, interval, sleep, timeout};

struct Component;

export!(Component);

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

impl Guest for Component {
    async fn sleep_ms(ms: u64) -> u64 {
        let start = Instant::now();
        sleep(Duration::from_millis(ms)).await;
        start.elapsed().as_nanos() as u64
    }

    async fn answer_within(ms: u64, answer: FutureReader<String>) -> String {
        match timeout(Duration::from_millis(ms), answer.into_oneshot()).await {
            Ok(answer) => format!("answer {}", answer.unwrap()),
            Err(elapsed) => format!("elapsed: {elapsed}"),
        }
    }

    async fn race_sleeps(short_ms: u64, long_ms: u64) -> String {
        let start = Instant::now();
        let mut short = sleep(Duration::from_millis(short_ms));
        let mut long = sleep(Duration::from_millis(long_ms));
        let winner = futures::select! {
            () = short => "short",
            () = long => "long",
        };
        let rest = if winner == "short" {
            &mut long
        } else {
            &mut short
        };
        rest.await;
        format!(
            "{winner} won, then the other completed after {} ms",
            start.elapsed().as_millis()
        )
    }

    async fn ticks(period_ms: u64, n: u32) -> Vec<u64> {
        let ticks: Vec<Instant> = interval(Duration::from_millis(period_ms))
            .take(n as usize)
            .collect()
            .await;
        ticks
            .iter()
            .map(|t| t.duration_since(ticks[0]).as_nanos() as u64)
            .collect()
    }
}
