//! `stream<T>`: the reader as a [`Stream`] ([`ItemStream`],
//! [`ChunkStream`]) or, for bytes, [`AsyncRead`](futures_io::AsyncRead) ([`ByteReader`]); the
//! writer as a [`Sink`](futures_sink::Sink) ([`StreamSink`]) or, for bytes,
//! [`AsyncWrite`](futures_io::AsyncWrite) ([`ByteWriter`]); a pair of byte streams as one
//! bidirectional [`Duplex`]; a pump from any Rust stream, and [`serve`]. With feature
//! `tokio`, the byte adapters also implement tokio's `AsyncRead`, `AsyncBufRead` and
//! `AsyncWrite`.
//!
//! Start from the extension traits [`StreamReaderExt`] and [`StreamWriterExt`], also in the
//! [`prelude`](crate::prelude).
//!
//! The adapters move items in batches, so the steady-state cost per item is a copy, not an
//! allocation (a read allocates its batch and its boxed operation; the sinks reuse their
//! buffers). Each read or write in flight is boxed as `dyn Future + Send`, hence `T: Send`
//! (every type wit-bindgen generates for a WIT payload is `Send`).

mod byte_reader;
mod byte_writer;
mod chunk_sink;
mod chunk_stream;
mod driver;
mod duplex;
pub(crate) mod end;
mod forward;
mod item_stream;
pub(crate) mod read_buffer;
pub(crate) mod read_driver;
mod serve;
mod stream_sink;
#[cfg(feature = "tokio")]
mod tokio_io;
mod try_item_stream;
mod write_driver;

pub use self::byte_reader::{ByteReader, DEFAULT_BYTE_CAPACITY};
pub use self::byte_writer::{ByteWriter, DEFAULT_BYTE_SINK_CAPACITY};
pub use self::chunk_sink::ChunkSink;
pub use self::chunk_stream::ChunkStream;
pub use self::duplex::Duplex;
pub use self::forward::{Forward, forward};
pub use self::item_stream::{DEFAULT_CAPACITY, ItemStream};
pub use self::serve::{DEFAULT_SERVE_LIMIT, Order, Serve, Served, serve};
pub use self::stream_sink::{DEFAULT_SINK_CAPACITY, StreamSink};
pub use self::try_item_stream::TryItemStream;
pub use crate::error::SinkError;

use futures_core::Stream;
use wit_bindgen::{FutureReader, StreamReader, StreamWriter};

use crate::task::JoinHandle;

/// Adapters for the reading end of a component-model `stream<T>`.
///
/// The names differ from wit-bindgen's own `StreamReader::into_stream` (feature
/// `futures-stream`), which would otherwise shadow them: an inherent method wins over a
/// trait method.
pub trait StreamReaderExt<T: Send + 'static>: Sized {
    /// The stream's items, one by one: a [`Stream`] reading in batches.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<String>) {
    /// let mut items = reader.into_item_stream();
    /// while let Some(line) = items.next().await {
    ///     println!("{line}");
    /// }
    /// # }
    /// ```
    fn into_item_stream(self) -> ItemStream<T>;

    /// The stream's items in batches of up to a capacity: a [`Stream`] of `Vec<T>`.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<u32>) {
    /// let batches: Vec<Vec<u32>> = reader.into_chunk_stream().collect().await;
    /// # }
    /// ```
    fn into_chunk_stream(self) -> ChunkStream<T>;

    /// The stream's items, then the error (if any) that `end` reports: the WASI 0.3 pair of a
    /// `stream<T>` and a `future<result<_, E>>` as one stream of `Result<T, E>`.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(
    /// #     data: wit_bindgen::StreamReader<u32>,
    /// #     end: wit_bindgen::FutureReader<Result<(), String>>,
    /// # ) {
    /// let all: Result<Vec<u32>, String> = data.into_try_stream(end).try_collect().await;
    /// # }
    /// ```
    fn into_try_stream<E: 'static>(self, end: FutureReader<Result<(), E>>) -> TryItemStream<T, E>;
}

impl<T: Send + 'static> StreamReaderExt<T> for StreamReader<T> {
    fn into_item_stream(self) -> ItemStream<T> {
        ItemStream::new(self)
    }

    fn into_chunk_stream(self) -> ChunkStream<T> {
        ChunkStream::new(self)
    }

    fn into_try_stream<E: 'static>(self, end: FutureReader<Result<(), E>>) -> TryItemStream<T, E> {
        TryItemStream::new(self, end)
    }
}

/// Adapters for the reading end of a component-model `stream<u8>`.
pub trait ByteStreamReaderExt: Sized {
    /// The bytes as [`AsyncRead`](futures_io::AsyncRead) and
    /// [`AsyncBufRead`](futures_io::AsyncBufRead).
    ///
    /// ```no_run
    /// use futures::io::AsyncReadExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<u8>) -> std::io::Result<()> {
    /// let mut text = String::new();
    /// reader.into_async_read().read_to_string(&mut text).await?;
    /// # Ok(())
    /// # }
    /// ```
    fn into_async_read(self) -> ByteReader;

    /// This stream to read and `writer` to write, as one bidirectional byte stream (a
    /// connection's receive and send streams): see [`Duplex`].
    ///
    /// An echo (tests/guests/duplex runs this code against a host peer that keeps its side
    /// open):
    ///
    /// ```no_run
    /// # async fn example(receive: wit_bindgen::StreamReader<u8>, send: wit_bindgen::StreamWriter<u8>) -> std::io::Result<()> {
    /// use futures::io::AsyncWriteExt;
    /// use wit_futures::prelude::*;
    /// // An echo: every byte goes back as it arrives, without waiting for the end.
    /// let (mut reader, mut writer) = receive.into_duplex(send).into_split();
    /// futures::io::copy(&mut reader, &mut writer).await?;
    /// writer.close().await?;
    /// # Ok(())
    /// # }
    /// ```
    fn into_duplex(self, writer: StreamWriter<u8>) -> Duplex;
}

impl ByteStreamReaderExt for StreamReader<u8> {
    fn into_async_read(self) -> ByteReader {
        ByteReader::new(self)
    }

    fn into_duplex(self, writer: StreamWriter<u8>) -> Duplex {
        Duplex::new(self, writer)
    }
}

/// Adapters for the writing end of a component-model `stream<T>`.
pub trait StreamWriterExt<T: Send + 'static>: Sized {
    /// The writer as a [`Sink`](futures_sink::Sink) that writes in batches.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<u32>, writer: wit_bindgen::StreamWriter<u32>) {
    /// // Double every item from one component stream into another.
    /// let doubled = reader.into_item_stream().map(|v| v * 2);
    /// wit_futures::stream::forward(doubled, writer.into_sink())
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    fn into_sink(self) -> StreamSink<T>;

    /// The writer as a [`Sink`](futures_sink::Sink) of batches, each written whole.
    ///
    /// ```no_run
    /// use futures::SinkExt;
    /// use wit_futures::prelude::*;
    /// # async fn example(writer: wit_bindgen::StreamWriter<u32>) {
    /// let mut sink = writer.into_chunk_sink();
    /// sink.send((0..4096).collect()).await.unwrap();
    /// sink.close().await.unwrap();
    /// # }
    /// ```
    fn into_chunk_sink(self) -> ChunkSink<T>;

    /// Spawns a task that writes every item of `source` into the stream, with backpressure,
    /// then drops the writer so the reader sees the end.
    ///
    /// # Errors
    ///
    /// If the reader hangs up, the task stops at its next write, drops `source`, and the
    /// handle resolves to a [`SinkError`] holding the items that were not delivered. (A
    /// `stream<T>` writer learns that the reader left only by writing, so a `source` that
    /// never yields again keeps the task alive: abort it through the handle.)
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task, where nothing can be spawned.
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(writer: wit_bindgen::StreamWriter<u64>) {
    /// // e.g. in an export that returns the reader right away:
    /// writer.spawn_forward(futures::stream::iter(0..1_000_000u64)).detach();
    /// # }
    /// ```
    fn spawn_forward<S>(self, source: S) -> JoinHandle<Result<(), SinkError<T>>>
    where
        S: Stream<Item = T> + 'static;
}

impl<T: Send + 'static> StreamWriterExt<T> for StreamWriter<T> {
    fn into_sink(self) -> StreamSink<T> {
        StreamSink::new(self)
    }

    fn into_chunk_sink(self) -> ChunkSink<T> {
        ChunkSink::new(self)
    }

    fn spawn_forward<S>(self, source: S) -> JoinHandle<Result<(), SinkError<T>>>
    where
        S: Stream<Item = T> + 'static,
    {
        crate::task::spawn(forward(source, StreamSink::new(self)))
    }
}

/// Adapters for the writing end of a component-model `stream<u8>`.
pub trait ByteStreamWriterExt: Sized {
    /// The writer as [`AsyncWrite`](futures_io::AsyncWrite).
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::StreamReader<u8>, writer: wit_bindgen::StreamWriter<u8>) {
    /// let mut out = writer.into_async_write();
    /// futures::io::copy(reader.into_async_read(), &mut out).await.unwrap();
    /// futures::io::AsyncWriteExt::close(&mut out).await.unwrap();
    /// # }
    /// ```
    fn into_async_write(self) -> ByteWriter;
}

impl ByteStreamWriterExt for StreamWriter<u8> {
    fn into_async_write(self) -> ByteWriter {
        ByteWriter::new(self)
    }
}
