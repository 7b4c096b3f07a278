//! Test harness for wit-futures: runs the guest components (built by this crate's build
//! script for `wasm32-wasip2`) in embedded wasmtime 50 with component-model async, and lets
//! tests play the peer of the guest's futures and streams.
//!
//! - [`Guest`]: one instance of a guest component in its own store.
//! - [`peer`]: host-made futures/streams with chosen timing, and readers of the guest's.

pub mod command;
pub mod examples;
pub mod http;
pub mod peer;
mod runtime;

pub use runtime::{Ctx, Guest, component_path, loopback_only};
pub use wasmtime;
pub use wasmtime::component::{Accessor, FutureReader, StreamReader};
pub use wit_futures_wasmtime as host;

/// Runs the tests that hold it one at a time: those that load both cores (hundreds of MiB
/// over HTTP, many clients, the torture test) and those whose assertions depend on timers
/// tens of milliseconds apart, which the first kind could delay. Other tests still run in
/// parallel with them. Hold the guard for the whole test.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    // Not poisoned when a test fails while holding it: the others still run.
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
