//! tokio's I/O traits (feature `tokio`) for the byte adapters, with the same contracts as
//! their futures-io impls: [`ByteReader`] is `tokio::io::AsyncRead` + `AsyncBufRead`,
//! [`ByteWriter`] is `tokio::io::AsyncWrite` (`poll_shutdown` closes the stream), and
//! [`Duplex`] is all three.

use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::io;

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use super::{ByteReader, ByteWriter, Duplex};

impl AsyncRead for ByteReader {
    /// Copies buffered bytes into `buf`, reading a batch first if none are buffered; fills
    /// nothing only at the end of the stream (or if `buf` has no room). Never fails.
    /// Cancel-safe: bytes not copied stay buffered.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let available = ready!(this.poll_bytes(cx));
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        this.consume_bytes(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for ByteReader {
    /// Lends the unconsumed bytes of the current batch, reading a batch first if none are
    /// left; an empty slice means the end of the stream. Never fails.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_bytes(cx).map(Ok)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_bytes(amt);
    }
}

impl AsyncWrite for ByteWriter {
    /// Buffers as many bytes of `buf` as fit, writing a full buffer first. Fails with
    /// `BrokenPipe` (carrying the bytes not delivered) once the reader is gone.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_bytes(cx, buf)
    }

    /// Resolves once the reader took every byte written so far.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_bytes(cx)
    }

    /// Flushes, then drops the writer: the reader sees the end of the stream.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_close_bytes(cx)
    }
}

impl AsyncRead for Duplex {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let (reader, _) = self.get_mut().split();
        Pin::new(reader).poll_read(cx, buf)
    }
}

impl AsyncBufRead for Duplex {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let (reader, _) = self.get_mut().split();
        Pin::new(reader).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let (reader, _) = self.get_mut().split();
        AsyncBufRead::consume(Pin::new(reader), amt);
    }
}

impl AsyncWrite for Duplex {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let (_, writer) = self.get_mut().split();
        AsyncWrite::poll_write(Pin::new(writer), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (_, writer) = self.get_mut().split();
        AsyncWrite::poll_flush(Pin::new(writer), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (_, writer) = self.get_mut().split();
        AsyncWrite::poll_shutdown(Pin::new(writer), cx)
    }
}
