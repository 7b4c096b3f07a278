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
//!   an [`AbortHandle`](task::AbortHandle) and [`JoinSet`](task::JoinSet).
//! - [`cancel`] stops work: [`CancellationToken`](cancel::CancellationToken),
//!   [`with_cancel`](cancel::CancelExt::with_cancel) and the export-call
//!   [`scope`](cancel::scope).
//! - [`prelude`] holds the extension traits, the front door.
//! - `http` (feature `http`) bridges an HTTP body carried as `stream<u8>` plus a trailers
//!   future to `http_body::Body`, both ways.
//! - `wasi_http` (feature `wasi-http`) turns wasi:http (WASI 0.3) requests and responses
//!   into the `http` crate's types and back, on the `wasip3` bindings; a handler is an
//!   `async fn` over them.
//!
//! # Features
//!
//! - `http`: the `http` module (adds the `http`, `http-body` and `bytes` crates).
//! - `wasi-http`: the `wasi_http` module (adds `wasip3` 0.10, which is built on the same
//!   wit-bindgen 0.63).
//! - `tokio`: tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for
//!   [`ByteReader`](stream::ByteReader), [`ByteWriter`](stream::ByteWriter) and
//!   [`Duplex`](stream::Duplex), so tokio-util's codecs and `tokio::io::copy` work on
//!   component byte streams (adds `tokio` with no features: the traits only).
//!
//! Everything here runs inside a component (`wasm32-wasip2`) under a component-model async
//! runtime; on a native target the wit-bindgen intrinsics panic when reached. Spawning
//! needs a component-model task (an async export or `wit_bindgen::block_on`).
//!
//! # `select!` and cancel safety
//!
//! Every adapter future and stream in this crate is `Unpin` and fused, so `futures::select!`
//! takes `&mut` to it directly, with no `.fuse()` or `pin_mut!`; the combinators
//! ([`WithCancel`](cancel::WithCancel), [`WithCancelStream`](cancel::WithCancelStream),
//! [`Forward`](stream::Forward), [`Scope`](cancel::Scope)) are fused, and `Unpin` when what
//! they wrap is. What a dropped call (a `select!`
//! branch that lost, a `with_cancel` that fired, an aborted task) loses:
//!
//! | call | cancel-safe | if dropped before it completes |
//! |---|---|---|
//! | [`Receiver`](future::Receiver) polled through `&mut` | yes | nothing: the read stays in flight in the receiver; the value comes out of a later poll, `try_recv`, `close` or `into_inner` |
//! | [`Receiver`](future::Receiver) by value | — | the receiver is dropped, with a value that had arrived (as a `futures_channel` receiver); `into_inner` keeps it |
//! | [`Sender::send`](future::Sender::send) → [`Send`](future::Send) | yes | nothing: a spawned task finishes the write and the reader gets the value, never the default; [`Send::cancel`](future::Send::cancel) takes it back instead |
//! | [`Sender::spawn_send`](future::Sender::spawn_send), [`into_channel`](future::Sender::into_channel) | yes | the task runs on (the handle detaches) |
//! | `next()` on [`ItemStream`](stream::ItemStream), [`ChunkStream`](stream::ChunkStream), [`TryItemStream`](stream::TryItemStream) | yes | nothing: a read in flight stays in flight, read items stay buffered; `into_inner` returns them with the reader |
//! | `read` / `fill_buf` on [`ByteReader`](stream::ByteReader) | yes | nothing: unread bytes stay buffered |
//! | `poll_ready` / `poll_flush` / `poll_close` of [`StreamSink`](stream::StreamSink), [`ChunkSink`](stream::ChunkSink) | yes | nothing: accepted items stay in the sink; `into_inner` returns them |
//! | `SinkExt::send` / `feed` / `send_all`, `StreamExt::forward` (futures-util) | **no** | the one item the future holds while it waits for room (futures-util's design, with any sink); use [`StreamSink::push`](stream::StreamSink::push) + `flush`, or [`stream::forward`] |
//! | [`stream::forward`] | yes | nothing: every item is still in the source or already in the sink |
//! | `write` / `flush` / `close` on [`ByteWriter`](stream::ByteWriter) | yes | nothing: accepted bytes stay in the writer |
//! | [`JoinHandle`](task::JoinHandle) polled through `&mut` | yes | nothing: the output stays in the handle; dropping the handle detaches the task |
//! | [`AbortOnDropHandle`](task::AbortOnDropHandle) | yes | dropping it aborts the task |
//! | [`JoinSet::join_next`](task::JoinSet::join_next) | yes | nothing: the task stays in the set; dropping the set aborts its tasks |
//! | [`CancellationToken::cancelled`](cancel::CancellationToken::cancelled) | yes | nothing |
//! | [`with_cancel`](cancel::CancelExt::with_cancel) on a future | as the inner future | the inner future (wrap `&mut adapter` to keep the adapter); the token is checked before each poll, so on a cancelled token nothing starts |
//! | [`with_cancel`](cancel::CancelStreamExt::with_cancel) on a stream | as the inner stream | the inner stream (wrap `&mut stream` to keep it); the token is checked before each item |
//! | [`stream::serve`] → [`JoinHandle`](task::JoinHandle) | yes | nothing: serving runs on its own task; aborting it drops what it holds |
//! | [`scope`](cancel::scope) | — | dropping it cancels the scope's token: that is its purpose |
//!
//! Reads and writes cancelled this way go through wit-bindgen's own cancellation: the peer
//! sees the read or write cancelled, never a trap.
//!
//! # Keeping an adapter across export calls
//!
//! An operation in flight belongs to the export call that first polled it: an adapter kept
//! in a resource or a static must be [parked](Park) before that call returns (or with the
//! [`park_on_drop`](Park::park_on_drop) guard, which also covers a cancelled call), and can
//! be rebuilt from its parts with `from_parts`. See [`Park`].
//!
//! [wit-bindgen]: https://github.com/bytecodealliance/wit-bindgen
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod cancel;
mod error;
pub mod future;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod park;
pub mod stream;
pub mod task;
#[cfg(feature = "wasi-clocks")]
#[cfg_attr(docsrs, doc(cfg(feature = "wasi-clocks")))]
pub mod time;
#[cfg(feature = "wasi-http")]
#[cfg_attr(docsrs, doc(cfg(feature = "wasi-http")))]
pub mod wasi_http;
#[cfg(feature = "wasi-sockets")]
#[cfg_attr(docsrs, doc(cfg(feature = "wasi-sockets")))]
pub mod wasi_sockets;

pub use self::park::{Park, Parked};

/// The extension traits that adapt wit-bindgen's handles: `use wit_futures::prelude::*;`.
pub mod prelude {
    pub use crate::Park;
    pub use crate::cancel::{CancelExt, CancelStreamExt};
    pub use crate::future::{FutureReaderExt, FutureWriterExt};
    #[cfg(feature = "http")]
    pub use crate::http::{BodyStreamReaderExt, BodyStreamWriterExt};
    pub use crate::stream::{
        ByteStreamReaderExt, ByteStreamWriterExt, StreamReaderExt, StreamWriterExt,
    };
}

/// Compile-time proof of the `select!` promise: every adapter future and stream is `Unpin`,
/// fused and `Send`, for any `Send` payload, even one that is not `Unpin` itself.
#[cfg(test)]
mod select_ready {
    use core::marker::PhantomPinned;

    use futures_core::future::FusedFuture;
    use futures_core::stream::FusedStream;

    use crate::{cancel, future, stream, task};

    /// A `Send` payload that is not `Unpin`.
    struct Pinned(#[allow(dead_code)] PhantomPinned);

    fn future<F: FusedFuture + Unpin + Send>() {}
    fn stream<S: FusedStream + Unpin + Send>() {}

    #[test]
    fn every_adapter_is_unpin_fused_and_send() {
        future::<future::Receiver<Pinned>>();
        future::<future::Send<Pinned>>();
        future::<task::JoinHandle<Pinned>>();
        future::<task::AbortOnDropHandle<Pinned>>();
        future::<task::JoinNext<'static, Pinned>>();
        future::<cancel::WaitForCancellation>();
        future::<cancel::WithCancel<future::Receiver<Pinned>>>();
        future::<stream::Forward<stream::ItemStream<Pinned>, stream::StreamSink<Pinned>>>();
        stream::<stream::ItemStream<Pinned>>();
        stream::<stream::ChunkStream<Pinned>>();
        stream::<stream::TryItemStream<Pinned, Pinned>>();
        stream::<cancel::WithCancelStream<stream::ItemStream<Pinned>>>();
        future::<cancel::Scope<core::future::Ready<Pinned>>>();
    }

    /// The timers go into `select!` as they are.
    #[cfg(feature = "wasi-clocks")]
    #[test]
    fn timers_are_unpin_fused_and_send() {
        future::<crate::time::Sleep>();
        future::<crate::time::Timeout<future::Receiver<Pinned>>>();
        stream::<crate::time::Interval>();
    }

    /// The sinks and the byte adapters are `Unpin` and `Send` too, so `&mut` to them goes
    /// into `select!` branches (`SinkExt::flush`, `AsyncReadExt::read`, ...).
    #[test]
    fn every_sink_and_byte_adapter_is_unpin_and_send() {
        fn sink<S: futures_sink::Sink<Pinned> + Unpin + Send>() {}
        fn chunk_sink<S: futures_sink::Sink<Vec<Pinned>> + Unpin + Send>() {}
        fn reader<R: futures_io::AsyncBufRead + Unpin + Send>() {}
        fn writer<W: futures_io::AsyncWrite + Unpin + Send>() {}
        sink::<stream::StreamSink<Pinned>>();
        chunk_sink::<stream::ChunkSink<Pinned>>();
        reader::<stream::ByteReader>();
        writer::<stream::ByteWriter>();
        reader::<stream::Duplex>();
        writer::<stream::Duplex>();
    }

    /// With feature `tokio`, the byte adapters speak tokio's I/O traits too.
    #[cfg(feature = "tokio")]
    #[test]
    fn byte_adapters_speak_tokio_io() {
        fn reader<R: tokio::io::AsyncBufRead + Unpin + Send>() {}
        fn writer<W: tokio::io::AsyncWrite + Unpin + Send>() {}
        reader::<stream::ByteReader>();
        writer::<stream::ByteWriter>();
        reader::<stream::Duplex>();
        writer::<stream::Duplex>();
    }

    /// The http bridge: the incoming body is `Unpin` and `Send`, the pump a fused `Unpin`
    /// `Send` future for an `Unpin` `Send` body.
    #[cfg(feature = "http")]
    #[test]
    fn http_bodies_are_unpin_and_send() {
        fn body<B: http_body::Body + Unpin + Send>() {}
        type Pump = crate::http::SendBody<
            crate::http::IncomingBody<Pinned, Pinned>,
            Pinned,
            Pinned,
            fn(&Pinned) -> Pinned,
        >;
        body::<crate::http::IncomingBody<Pinned, Pinned>>();
        future::<Pump>();
    }

    /// Everything that keeps an operation in flight can be parked, the HTTP pump and the
    /// TCP types included; header converters may be closures that hold configuration.
    #[cfg(all(feature = "http", feature = "wasi-sockets"))]
    #[test]
    fn operations_in_flight_can_be_parked() {
        fn park<P: crate::Park>() {}
        type Convert = fn(&Pinned) -> Result<Pinned, Pinned>;
        park::<
            crate::http::SendBody<
                crate::http::IncomingBody<Pinned, Pinned>,
                Pinned,
                Pinned,
                Convert,
            >,
        >();
        park::<crate::http::IncomingBody<Pinned, Pinned>>();
        park::<crate::wasi_sockets::TcpStream>();
        park::<crate::wasi_sockets::OwnedReadHalf>();
        park::<crate::wasi_sockets::OwnedWriteHalf>();
        park::<crate::wasi_sockets::TcpListener>();
    }

    /// Trailers as a list of name/value pairs.
    #[cfg(feature = "http")]
    type Pairs = Vec<(String, String)>;

    /// A header converter may capture configuration (here, an allow-list).
    #[cfg(feature = "http")]
    #[allow(dead_code)]
    fn converters_may_be_closures(
        contents: wit_bindgen::StreamReader<u8>,
        end: wit_bindgen::FutureReader<Result<Option<Pairs>, String>>,
    ) -> impl http_body::Body + Send {
        let allowed = [String::from("x-checksum")];
        crate::http::IncomingBody::new(Some(contents), end, move |fields: Pairs| {
            let mut map = http::HeaderMap::new();
            for (name, value) in fields.into_iter().filter(|(n, _)| allowed.contains(n)) {
                let name = http::HeaderName::try_from(name).map_err(|e| e.to_string())?;
                let value = http::HeaderValue::try_from(value).map_err(|e| e.to_string())?;
                map.insert(name, value);
            }
            Ok(map)
        })
    }
}
