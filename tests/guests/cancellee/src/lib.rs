//! Callee of the cancellation tests (world `cancellee` in tests/wit/cancel.wit): its export
//! calls are cancelled by the composed caller.

wit_bindgen::generate!({ path: "../../wit", world: "cancellee" });

use std::sync::Mutex;

use exports::harness::tests::target;
use wit_bindgen::FutureReader;
use wit_futures::prelude::*;

static REPORT: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn report(line: String) {
    REPORT.lock().unwrap().push(line);
}

/// Records that the export's future was dropped (the call was cancelled) before finishing.
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        report(format!("{}: cleanup ran", self.0));
    }
}

struct Callee;

impl target::Guest for Callee {
    async fn run(scenario: String, f: FutureReader<u32>) -> u32 {
        match scenario.as_str() {
            "recv" => {
                let cleanup = Cleanup("recv");
                let v = f.into_oneshot().await.unwrap();
                std::mem::forget(cleanup);
                report(format!("recv: finished with {v}"));
                v
            }
            other => panic!("unknown scenario {other}"),
        }
    }

    fn report() -> Vec<String> {
        std::mem::take(&mut REPORT.lock().unwrap())
    }
}

export!(Callee);
