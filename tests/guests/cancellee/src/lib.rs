//! Callee of the cancellation tests (world `cancellee` in tests/wit/cancel.wit): its export
//! calls are cancelled by the composed caller.

wit_bindgen::generate!({ path: "../../wit", world: "cancellee" });

use std::sync::Mutex;

use exports::harness::tests::target;
use futures::future::poll_immediate;
use futures::{SinkExt, StreamExt};
use wit_bindgen::{FutureReader, StreamReader, StreamWriter};
use wit_futures::cancel::{CancelExt, Cancelled, scope};
use wit_futures::future::{Receiver, Recovered};
use wit_futures::prelude::*;
use wit_futures::stream::{ItemStream, StreamSink};
use wit_futures::task::spawn;

static REPORT: Mutex<Vec<String>> = Mutex::new(Vec::new());
static RECOVERED: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static OUTPUT: Mutex<Option<StreamWriter<u32>>> = Mutex::new(None);
static SESSION: Mutex<Option<Session>> = Mutex::new(None);

/// Adapters kept between export calls.
struct Session {
    rx: Receiver<u32>,
    items: ItemStream<u32>,
    sink: StreamSink<u32>,
}

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
    fn open() -> StreamReader<u32> {
        let (tx, rx) = wit_stream::new();
        *OUTPUT.lock().unwrap() = Some(tx);
        rx
    }

    async fn run(scenario: String, f: FutureReader<u32>, s: StreamReader<u32>) -> u32 {
        match scenario.as_str() {
            "recv" => {
                drop(s);
                drop(OUTPUT.lock().unwrap().take());
                let cleanup = Cleanup("recv");
                let v = f.into_oneshot().await.unwrap();
                std::mem::forget(cleanup);
                report(format!("recv: finished with {v}"));
                v
            }
            "pipeline" => pipeline(f, s, 8, 4).await,
            other => match other.strip_prefix("pipeline:").map(str::parse::<u64>) {
                Some(Ok(seed)) => {
                    let mut rng = guest_common::Rng::new(seed);
                    let read = 1 + rng.below(10) as usize;
                    let write = 1 + rng.below(10) as usize;
                    pipeline(f, s, read, write).await
                }
                _ => panic!("unknown scenario {other}"),
            },
        }
    }

    fn report() -> Vec<String> {
        std::mem::take(&mut REPORT.lock().unwrap())
    }

    fn recovered() -> Vec<u32> {
        std::mem::take(&mut RECOVERED.lock().unwrap())
    }

    fn session_open(f: FutureReader<u32>, s: StreamReader<u32>) -> StreamReader<u32> {
        let (tx, rx) = wit_stream::new();
        *SESSION.lock().unwrap() = Some(Session {
            rx: f.into_oneshot(),
            items: s.into_item_stream().with_capacity(3),
            sink: tx.into_sink().with_capacity(4),
        });
        rx
    }

    // The guest is single-threaded and the caller makes one session call at a time.
    #[allow(clippy::await_holding_lock)]
    async fn session_step(deadline: FutureReader<u32>) -> Vec<u32> {
        let mut session = SESSION.lock().unwrap();
        let Session { rx, items, sink } = session.as_mut().expect("session-open first");
        // Parked when this call ends, whether it returns or is cancelled.
        let mut rx = rx.park_on_drop();
        let mut items = items.park_on_drop();
        let mut sink = sink.park_on_drop();
        let mut deadline = deadline.into_oneshot();
        let mut copied = Vec::new();
        loop {
            let value = futures::select! {
                v = &mut *rx => v.ok(),
                item = items.next() => item,
                _ = deadline => break,
            };
            if let Some(v) = value {
                copied.push(v);
                sink.push(v)
                    .expect("the output is read until the session closes");
                // Start writing; the write may still be in flight when the call ends.
                let _ = poll_immediate(sink.flush()).await;
            }
        }
        report(format!(
            "step ended with {:?}, {:?}, {:?}",
            *rx, *items, *sink
        ));
        copied
    }

    fn session_close() -> Vec<u32> {
        let Session { rx, items, sink } = SESSION.lock().unwrap().take().expect("open session");
        let mut held = Vec::new();
        if let Recovered::Value(v) = rx.into_inner() {
            held.push(v);
        }
        held.extend(items.into_inner().1);
        held.extend(sink.into_inner().1);
        held
    }
}

/// Copies the future's value, then the stream's items, to the output stream. The work runs
/// in a spawned task under the export call's scope token: when the call is cancelled, the
/// task stops, takes back everything in flight and records it.
async fn pipeline(f: FutureReader<u32>, s: StreamReader<u32>, read: usize, write: usize) -> u32 {
    let output = OUTPUT.lock().unwrap().take().expect("open() first");
    scope(|token| async move {
        let task = spawn(async move {
            let mut rx = f.into_oneshot();
            let mut items = s.into_item_stream().with_capacity(read);
            let mut sink = output.into_sink().with_capacity(write);
            let mut copied = 0u32;
            // Cancel-safe steps: each value is in `rx`, `items` or `sink` at every await.
            let work = async {
                sink.push((&mut rx).await.unwrap())?;
                let mut counted = (&mut items).inspect(|_| copied += 1);
                wit_futures::stream::forward(&mut counted, &mut sink).await
            };
            let outcome = work.with_cancel(&token).await;
            match outcome {
                Ok(_) => report(format!("pipeline: finished, {copied} items")),
                Err(Cancelled) => {
                    let mut recovered = Vec::new();
                    match rx.into_inner() {
                        Recovered::Value(v) => recovered.push(v),
                        Recovered::Reader(_) | Recovered::Nothing => {}
                    }
                    let (_, unread) = items.into_inner();
                    let (_, unsent) = sink.into_inner();
                    report(format!(
                        "pipeline: cancelled; cleanup ran; unread {unread:?}, unsent {unsent:?}"
                    ));
                    recovered.extend(unsent);
                    recovered.extend(unread);
                    RECOVERED.lock().unwrap().extend(recovered);
                }
            }
            copied
        });
        task.await.unwrap()
    })
    .await
}

export!(Callee);
