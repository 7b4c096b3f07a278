//! futures-rs traits for the WebAssembly component model's `future<T>` and `stream<T>`.
//!
//! Inside a component built with [wit-bindgen], `future<T>` and `stream<T>` values arrive as
//! `FutureReader<T>`, `FutureWriter<T>`, `StreamReader<T>` and `StreamWriter<T>`. This crate
//! turns them into the types the rest of the async ecosystem speaks, with nothing silently
//! lost when a `select!` branch loses or an operation is dropped mid-flight:
//!
//! ```no_run
//! use wit_futures::prelude::*;
//! # async fn example(a: wit_bindgen::FutureReader<u32>, b: wit_bindgen::FutureReader<u32>) {
//! let (mut a, mut b) = (a.into_oneshot(), b.into_oneshot());
//! futures::select! {
//!     v = a => println!("a first: {v:?}"),
//!     v = b => println!("b first: {v:?}"),
//! }
//! // The loser's read is still in flight inside it; its value is not lost.
//! # }
//! ```
//!
//! # Modules
//!
//! - [`future`] adapts `future<T>`: a oneshot [`Receiver`](future::Receiver) and
//!   [`Sender`](future::Sender), and bridges to `futures_channel::oneshot`.
//! - [`stream`] adapts `stream<T>`: a [`Stream`](futures_core::Stream) of items or
//!   batches, a [`Sink`](futures_sink::Sink), [`AsyncRead`](futures_io::AsyncRead) and
//!   [`AsyncWrite`](futures_io::AsyncWrite) for bytes, a cancel-safe
//!   [`forward`](stream::forward) and a pump from any Rust stream.
//! - [`task`] spawns work: [`spawn`](task::spawn) with a [`JoinHandle`](task::JoinHandle),
//!   [`JoinSet`](task::JoinSet) and [`serve`](task::serve).
//! - [`cancel`] stops work: [`CancellationToken`](cancel::CancellationToken),
//!   [`with_cancel`](cancel::CancelExt::with_cancel) and the export-call
//!   [`scope`](cancel::scope).
//! - [`prelude`] holds the extension traits, the front door.
//!
//! Everything here runs inside a component (`wasm32-wasip2`) under a component-model async
//! runtime; on a native target the wit-bindgen intrinsics panic when reached.
//!
//! [wit-bindgen]: https://github.com/bytecodealliance/wit-bindgen
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cancel;
mod error;
pub mod future;
pub mod stream;
pub mod task;

/// The extension traits that adapt wit-bindgen's handles: `use wit_futures::prelude::*;`.
pub mod prelude {
    pub use crate::cancel::{CancelExt, CancelStreamExt};
    pub use crate::future::{FutureReaderExt, FutureWriterExt};
    pub use crate::stream::{
        ByteStreamReaderExt, ByteStreamWriterExt, StreamReaderExt, StreamWriterExt,
    };
}
