//! Benchmark component: adapter vs the raw wit-bindgen code doing the same job, each timed
//! inside the guest so the host call cost (~4 µs) does not drown the difference.

wit_bindgen::generate!({ path: "wit", world: "bench" });

use std::time::Instant;

use wit_bindgen::FutureReader;
use wit_futures::prelude::*;

struct Component;

impl Guest for Component {
    async fn oneshot_recv(fs: Vec<FutureReader<u32>>, adapter: bool) -> (u64, u64) {
        let mut sum = 0u64;
        let start = Instant::now();
        if adapter {
            for f in fs {
                sum += u64::from(f.into_oneshot().await.unwrap());
            }
        } else {
            for f in fs {
                sum += u64::from(f.await);
            }
        }
        (start.elapsed().as_nanos() as u64, sum)
    }
}

export!(Component);
