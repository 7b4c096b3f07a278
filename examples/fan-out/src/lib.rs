//! Fan-out / fan-in with `spawn` and a task group.
//!
//! Each job runs on its own spawned task in a `JoinSet`; `join_next()` collects the results
//! in the order the jobs finish. `join_next()` is cancel-safe, so it can race a deadline in
//! `select!` without losing a result; when the deadline wins, `abort_all()` stops the jobs
//! still running, and their reads of the host's futures are cancelled.

wit_bindgen::generate!({ path: "wit", world: "fan-out" });

use wit_bindgen::FutureReader;
use wit_futures::prelude::*;
use wit_futures::task::JoinSet;

struct Component;

impl Guest for Component {
    async fn squares(inputs: Vec<FutureReader<u32>>, deadline: FutureReader<u32>) -> Vec<String> {
        let mut jobs = JoinSet::new();
        for (i, input) in inputs.into_iter().enumerate() {
            jobs.spawn(async move {
                let x = input.into_oneshot().await.unwrap();
                (i, x, u64::from(x) * u64::from(x))
            });
        }
        let mut deadline = deadline.into_oneshot();
        let mut lines = Vec::new();
        loop {
            futures::select! {
                done = jobs.join_next() => match done {
                    Some(Ok((i, x, square))) => lines.push(format!("job {i}: {x}^2 = {square}")),
                    Some(Err(e)) => lines.push(format!("a job failed: {e}")),
                    None => break,
                },
                _ = deadline => {
                    let late = jobs.len();
                    jobs.abort_all();
                    lines.push(format!("deadline: aborted {late} jobs still waiting"));
                    break;
                }
            }
        }
        lines
    }
}

export!(Component);
