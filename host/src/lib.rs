//! futures-rs adapters for the host side of the WebAssembly component model's `future<T>`
//! and `stream<T>`, in [wasmtime] 50: the same front door that `wit-futures` gives guests,
//! for embedders.
//!
//! wasmtime hands a host the ends of a guest's futures and streams as its own
//! `FutureReader` / `StreamReader`, and asks for hand-written `StreamProducer`,
//! `StreamConsumer`, `FutureProducer` and `FutureConsumer` implementations to feed or drain
//! them. This crate writes them once, over the traits the Rust async ecosystem speaks:
//!
//! | direction | from | to | |
//! |---|---|---|---|
//! | host to guest | any [`Stream`](futures_core::Stream) | a `stream<T>` for the guest | [`stream::from_stream`] |
//! | | any [`Iterator`] (lazily, at the speed of a copy) | a `stream<T>` | [`stream::from_iter`] |
//! | | any [`AsyncRead`](futures_io::AsyncRead) | a `stream<u8>`, read straight into the guest's buffer | [`stream::from_async_read`] |
//! | | any `Future<Output = T>` (e.g. a mapped `oneshot::Receiver`) | a `future<T>` | [`future::from_future`] |
//! | guest to host | a guest's `stream<T>` | a [`Stream`](futures_core::Stream) of `T` | [`stream::GuestStream`] |
//! | | a guest's `stream<T>` | any [`Sink`](futures_sink::Sink) | [`stream::pipe_to_sink`] |
//! | | a guest's `stream<u8>` | any [`AsyncWrite`](futures_io::AsyncWrite), written straight from the guest's buffer | [`stream::pipe_to_write`] |
//! | | a guest's `future<T>` | a `Future` of `T` | [`future::GuestFuture`] |
//!
//! Everything moves in batches with backpressure: a producer is polled only when the guest
//! reads, and takes no more than the guest asked for; a consumer takes items from the guest
//! only once the Rust side has room for them. When either side drops its end, the other
//! learns it: a guest that drops its reader drops the host's source; a host that drops its
//! [`GuestStream`](stream::GuestStream) or pipe makes the guest's next write see the reader
//! gone. What a consumer took from the guest and did not deliver is given back
//! ([`GuestStream::into_remaining`](stream::GuestStream::into_remaining)), and every outcome
//! that can fail resolves to an error instead of trapping the guest.
//!
//! Items flow only while the store's event loop runs (`Store::run_concurrent`), as for every
//! wasmtime future and stream.
//!
//! ```no_run
//! use futures::StreamExt;
//! use wasmtime::component::{Accessor, StreamReader};
//! use wit_futures_wasmtime::stream::{GuestStream, from_stream};
//!
//! # async fn example<D: Send + 'static>(accessor: &Accessor<D>, from_guest: StreamReader<String>) -> wasmtime::Result<()> {
//! // Host to guest: any Rust stream, here numbers produced lazily.
//! let numbers = accessor.with(|store| from_stream(store, futures::stream::iter(0..1_000_000u32)))?;
//! // ... pass `numbers` to a guest export ...
//!
//! // Guest to host: the guest's stream as a Rust stream.
//! let mut lines = accessor.with(|store| GuestStream::new(store, from_guest))?;
//! while let Some(line) = lines.next().await {
//!     println!("{line}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [wasmtime]: https://docs.rs/wasmtime
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod fused_receiver;
pub mod future;
pub mod stream;

/// Compile-time proof that the consumers' Rust ends are `Unpin`, `Send` and fused.
#[cfg(test)]
mod traits {
    use futures_core::future::FusedFuture;
    use futures_core::stream::FusedStream;

    fn stream<S: FusedStream + Unpin + Send>() {}
    fn future<F: FusedFuture + Unpin + Send>() {}

    #[test]
    fn consumers_are_unpin_send_and_fused() {
        stream::<crate::stream::GuestStream<String>>();
        future::<crate::future::GuestFuture<String>>();
        future::<crate::stream::SinkPipe<futures_channel::mpsc::Sender<u32>, u32>>();
        future::<crate::stream::WritePipe<Vec<u8>>>();
        future::<crate::stream::ReadDone>();
    }
}
