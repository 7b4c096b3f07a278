use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use wit_bindgen::{StreamReader, StreamWriter};

use super::{ByteReader, ByteWriter};

/// Two component-model byte streams, one read and one written, as one bidirectional byte
/// stream: the shape of a WASI 0.3 TCP connection (a receive stream and a send stream).
///
/// Created by [`Duplex::new`] or
/// [`ByteStreamReaderExt::into_duplex`](super::ByteStreamReaderExt::into_duplex). Reads go
/// through a [`ByteReader`], writes through a [`ByteWriter`], with their batching and
/// their contracts; [`AsyncRead`], [`AsyncBufRead`] and [`AsyncWrite`] (and, with feature
/// `tokio`, tokio's traits), so `Framed`, `futures::io::copy` and
/// `tokio::io::copy_bidirectional` work on it. `close` (or tokio's `shutdown`) ends the
/// written stream; the read side is unaffected. Split it with
/// [`into_split`](Self::into_split) (owned halves) or [`split`](Self::split) (borrowed).
///
/// # Cancel safety
///
/// As its halves: every poll is cancel-safe; nothing read or accepted for writing is lost.
/// [`into_split`](Self::into_split) and each half's `into_inner` give everything back.
///
/// # Examples
///
/// A line echo that answers each line while the peer keeps its side open (the writes go
/// out without a flush; tests/guests/duplex runs this code against a host peer):
///
/// ```no_run
/// # async fn example(receive: wit_bindgen::StreamReader<u8>, send: wit_bindgen::StreamWriter<u8>) -> std::io::Result<()> {
/// use futures::StreamExt;
/// use futures::io::{AsyncBufReadExt, AsyncWriteExt};
/// use wit_futures::prelude::*;
/// // A line echo over a connection's two streams: each line goes back as soon as it
/// // is written, while the peer keeps its side open.
/// let (reader, mut writer) = receive.into_duplex(send).into_split();
/// let mut lines = reader.lines();
/// while let Some(line) = lines.next().await {
///     writer.write_all(format!("{}\n", line?).as_bytes()).await?;
/// }
/// writer.close().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "a Duplex does nothing unless used; dropping it drops the bytes it holds"]
pub struct Duplex {
    reader: ByteReader,
    writer: ByteWriter,
}

impl Duplex {
    /// Reads `reader`, writes `writer`.
    pub fn new(reader: StreamReader<u8>, writer: StreamWriter<u8>) -> Self {
        Self::from_split(ByteReader::new(reader), ByteWriter::new(writer))
    }

    /// Joins two halves: the inverse of [`into_split`](Self::into_split).
    pub fn from_split(reader: ByteReader, writer: ByteWriter) -> Self {
        Self { reader, writer }
    }

    /// The owned halves, to read and write from different tasks.
    #[must_use = "dropping the halves drops the bytes they hold"]
    pub fn into_split(self) -> (ByteReader, ByteWriter) {
        (self.reader, self.writer)
    }

    /// Both halves, borrowed, to read and write at once in one task (e.g. in `select!`).
    ///
    /// With `futures::io::AsyncReadExt` in scope, method syntax (`duplex.split()`) picks
    /// that trait's `split`, which takes the `Duplex` by value and returns lock-based
    /// halves: call this one as `Duplex::split(&mut duplex)`.
    ///
    /// ```no_run
    /// use futures::io::AsyncWriteExt;
    /// use wit_futures::prelude::*;
    /// use wit_futures::stream::Duplex;
    /// # async fn example(receive: wit_bindgen::StreamReader<u8>, send: wit_bindgen::StreamWriter<u8>) -> std::io::Result<()> {
    /// let mut duplex = receive.into_duplex(send);
    /// let (reader, writer) = Duplex::split(&mut duplex);
    /// futures::io::copy(reader, writer).await?;
    /// duplex.close().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(&mut self) -> (&mut ByteReader, &mut ByteWriter) {
        (&mut self.reader, &mut self.writer)
    }

    /// Stops a read or write in flight, keeping what raced in; see
    /// [`Park`](crate::Park).
    pub fn park(&mut self) {
        self.reader.park();
        self.writer.park();
    }
}

impl AsyncRead for Duplex {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().reader).poll_read(cx, out)
    }
}

impl AsyncBufRead for Duplex {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().reader).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().reader).consume(amt);
    }
}

impl AsyncWrite for Duplex {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_close(cx)
    }
}

impl fmt::Debug for Duplex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Duplex")
            .field("reader", &self.reader)
            .field("writer", &self.writer)
            .finish()
    }
}
