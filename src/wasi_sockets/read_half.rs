use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_io::{AsyncBufRead, AsyncRead};
use wasip3::sockets::types::ErrorCode;

use super::tcp_stream::Connection;
use super::{OwnedWriteHalf, TcpStream, io_error};
use crate::future::Receiver;
use crate::stream::ByteReader;

/// The read half of a [`TcpStream`]: the connection's receive stream, as
/// [`AsyncRead`] and [`AsyncBufRead`] (and, with feature `tokio`, tokio's traits).
///
/// Created by [`TcpStream::into_split`] (or [`TcpStream::split`], borrowed). Reads in
/// batches through a [`ByteReader`]. `Ok(0)` means the peer shut down its side (FIN); if
/// the connection failed instead (reset, broken), the read that reaches the end returns
/// that error ([`io_error`] of the socket's `error-code`), and so does every read after it.
/// Dropping the half shuts down reading (`shutdown(SHUT_RD)`); unread bytes are dropped.
///
/// # Cancel safety
///
/// Every poll is cancel-safe: bytes received and not yet read stay in the half.
#[must_use = "dropping the read half shuts down reading and drops unread bytes"]
pub struct OwnedReadHalf {
    reader: ByteReader,
    end: End,
    pub(super) connection: Arc<Connection>,
}

/// How the receive stream ended, once known.
enum End {
    /// The stream has not ended, or its result has not arrived yet.
    Waiting(Receiver<Result<(), ErrorCode>>),
    /// The peer shut down its side (`None`), or the connection failed.
    Ended(Option<ErrorCode>),
}

impl OwnedReadHalf {
    pub(super) fn new(
        reader: ByteReader,
        result: Receiver<Result<(), ErrorCode>>,
        connection: Arc<Connection>,
    ) -> Self {
        Self {
            reader,
            end: End::Waiting(result),
            connection,
        }
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.connection.peer)
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.connection.local)
    }

    /// Joins this half with its write half again.
    ///
    /// # Errors
    ///
    /// If `write` is the write half of another connection: both halves, unchanged.
    // tokio's shape: the error gives both halves back as they are.
    #[allow(clippy::result_large_err)]
    pub fn reunite(self, write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if Arc::ptr_eq(&self.connection, &write.connection) {
            Ok(TcpStream::from_halves(self, write))
        } else {
            Err(ReuniteError(self, write))
        }
    }

    /// Stops a read in flight, keeping the bytes that raced in; see [`Park`](crate::Park).
    pub fn park(&mut self) {
        self.reader.park();
        if let End::Waiting(result) = &mut self.end {
            result.park();
        }
    }

    /// `Ready(Ok(()))` once the peer shut down its side, the error if the connection failed.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let End::Waiting(result) = &mut self.end {
            let result = core::task::ready!(Pin::new(result).poll(cx));
            // A receive result never read (`Canceled`) cannot happen: nothing closes it.
            self.end = End::Ended(result.ok().and_then(Result::err));
        }
        match &self.end {
            End::Ended(None) => Poll::Ready(Ok(())),
            End::Ended(Some(code)) => Poll::Ready(Err(io_error(code.clone()))),
            End::Waiting(_) => unreachable!("set above"),
        }
    }

    /// The unconsumed bytes, reading first if none are left; empty at the end. Shared by
    /// the futures-io and tokio impls.
    pub(super) fn poll_received(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        if core::task::ready!(self.reader.poll_bytes(cx)).is_empty() {
            core::task::ready!(self.poll_end(cx))?;
            return Poll::Ready(Ok(&[]));
        }
        self.reader.poll_bytes(cx).map(Ok)
    }

    pub(super) fn consume_received(&mut self, amt: usize) {
        self.reader.consume_bytes(amt);
    }

    /// Copies received bytes into `out`. Shared by the futures-io and tokio impls.
    pub(super) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let received = core::task::ready!(self.poll_received(cx))?;
        let n = received.len().min(out.len());
        out[..n].copy_from_slice(&received[..n]);
        self.consume_received(n);
        Poll::Ready(Ok(n))
    }
}

impl AsyncRead for OwnedReadHalf {
    /// Copies received bytes into `out`, receiving first if none are buffered. `Ok(0)` once
    /// the peer shut down its side (or for an empty `out`); the connection's error if it
    /// failed.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_into(cx, out)
    }
}

impl AsyncBufRead for OwnedReadHalf {
    /// Lends the received bytes not yet consumed; empty once the peer shut down its side;
    /// the connection's error if it failed.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_received(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_received(amt);
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = match &self.end {
            End::Waiting(_) => "open",
            End::Ended(None) => "peer shut down",
            End::Ended(Some(_)) => "failed",
        };
        f.debug_struct("OwnedReadHalf")
            .field("local", &self.connection.local)
            .field("peer", &self.connection.peer)
            .field("reader", &self.reader)
            .field("end", &end)
            .finish()
    }
}

/// Error of [`OwnedReadHalf::reunite`]: the halves belong to different connections. Holds
/// both, unchanged.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}
