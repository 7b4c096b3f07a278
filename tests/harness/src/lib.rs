//! Test harness for wit-futures: runs the guest components (built by this crate's build
//! script for `wasm32-wasip2`) in embedded wasmtime 48 with component-model async, and lets
//! tests play the peer of the guest's futures and streams.
//!
//! - [`Guest`]: one instance of a guest component in its own store.
//! - [`peer`]: host-made futures/streams with chosen timing, and readers of the guest's.

pub mod examples;
pub mod http;
pub mod peer;
mod runtime;

pub use runtime::{Ctx, Guest, component_path};
pub use wasmtime;
pub use wasmtime::component::{Accessor, FutureReader, StreamReader};
