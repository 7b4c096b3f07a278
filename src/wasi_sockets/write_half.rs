use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_io::AsyncWrite;
use wasip3::sockets::types::ErrorCode;

use super::io_error;
use super::tcp_stream::Connection;
use crate::future::Receiver;
use crate::stream::ByteWriter;

/// The write half of a [`TcpStream`](super::TcpStream): the connection's send stream, as
/// [`AsyncWrite`] (and, with feature `tokio`, tokio's).
///
/// Created by [`TcpStream::into_split`](super::TcpStream::into_split) (or
/// [`split`](super::TcpStream::split), borrowed). Writes like a socket's: what `write`
/// accepted is on its way to the peer when it returns, no flush needed (see
/// [`ByteWriter`]); `write` waits only while 64 KiB are accepted and not yet taken by the
/// host. `flush` resolves once the host took every byte (they are in the kernel's send
/// buffer). `close` (tokio: `shutdown`) flushes, then shuts down writing (the peer reads
/// the end, FIN), and resolves once the host confirmed it, or with the error that ended the
/// connection.
///
/// If the connection fails (the peer reset it, the pipe broke), the write, flush or close
/// that finds out returns the socket's error ([`io_error`] of its `error-code`: e.g.
/// `ConnectionReset`), and so does every later write.
///
/// Dropping the half shuts down writing too; bytes accepted and not yet taken by the host
/// are dropped (close it first).
///
/// # Cancel safety
///
/// Every poll is cancel-safe: accepted bytes stay in the half.
#[must_use = "dropping the write half shuts down writing and drops bytes not yet sent"]
pub struct OwnedWriteHalf {
    state: State,
    /// The send stream's result: an error as soon as a write failed, `Ok` once the host
    /// shut down writing after the writer was dropped.
    result: Option<Receiver<Result<(), ErrorCode>>>,
    pub(super) connection: Arc<Connection>,
}

enum State {
    Open(ByteWriter),
    /// The host stopped taking bytes; waiting for the send result to say why.
    Failing,
    /// `close` flushed and dropped the writer; waiting for the host's confirmation.
    Closing,
    /// Shut down cleanly.
    ShutDown,
    /// Ended by the connection's error (`None`: the host gave no code).
    Failed(Option<ErrorCode>),
}

impl OwnedWriteHalf {
    pub(super) fn new(
        writer: ByteWriter,
        result: Receiver<Result<(), ErrorCode>>,
        connection: Arc<Connection>,
    ) -> Self {
        Self {
            state: State::Open(writer),
            result: Some(result),
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

    /// Stops a write in flight, keeping the bytes the host did not take; see
    /// [`Park`](crate::Park).
    pub fn park(&mut self) {
        if let State::Open(writer) = &mut self.state {
            writer.park();
        }
        if let Some(result) = &mut self.result {
            result.park();
        }
    }

    /// The send stream's result: `None` for `Ok`.
    fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Option<ErrorCode>> {
        let Some(result) = &mut self.result else {
            return Poll::Ready(None);
        };
        let result = core::task::ready!(Pin::new(result).poll(cx));
        self.result = None;
        // `Canceled` cannot happen: nothing closes the receiver.
        Poll::Ready(result.ok().and_then(Result::err))
    }

    /// Waits for the host's result in the `Failing` and `Closing` states.
    fn poll_settled(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if matches!(self.state, State::Failing | State::Closing) {
            let code = core::task::ready!(self.poll_result(cx));
            self.state = match (&self.state, code) {
                (_, Some(code)) => State::Failed(Some(code)),
                (State::Closing, None) => State::ShutDown,
                (_, None) => State::Failed(None),
            };
        }
        Poll::Ready(())
    }

    /// The error for a write after the end.
    fn error(&self) -> io::Error {
        match &self.state {
            State::Failed(Some(code)) => io_error(code.clone()),
            State::ShutDown => io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection's write half was shut down",
            ),
            _ => io::Error::from(io::ErrorKind::BrokenPipe),
        }
    }

    /// Accepts bytes of `buf` (see [`ByteWriter`]). Shared by the futures-io and tokio impls.
    pub(super) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let State::Open(writer) = &mut self.state {
            match core::task::ready!(writer.poll_write_bytes(cx, buf)) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(_) => self.state = State::Failing,
            }
        }
        core::task::ready!(self.poll_settled(cx));
        Poll::Ready(Err(self.error()))
    }

    /// Resolves once the host took every accepted byte.
    pub(super) fn poll_send_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.state {
            State::Open(writer) => match core::task::ready!(writer.poll_flush_bytes(cx)) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(_) => self.state = State::Failing,
            },
            State::ShutDown => return Poll::Ready(Ok(())),
            _ => {}
        }
        core::task::ready!(self.poll_settled(cx));
        match self.state {
            State::ShutDown => Poll::Ready(Ok(())),
            _ => Poll::Ready(Err(self.error())),
        }
    }

    /// Flushes, shuts down writing, and waits for the host's confirmation.
    pub(super) fn poll_shutdown_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Open(writer) = &mut self.state {
            // Closing the writer drops it: the host shuts down writing.
            self.state = match core::task::ready!(writer.poll_close_bytes(cx)) {
                Ok(()) => State::Closing,
                Err(_) => State::Failing,
            };
        }
        core::task::ready!(self.poll_settled(cx));
        match self.state {
            State::ShutDown => Poll::Ready(Ok(())),
            _ => Poll::Ready(Err(self.error())),
        }
    }
}

impl AsyncWrite for OwnedWriteHalf {
    /// Accepts as many bytes of `buf` as fit (64 KiB not yet taken by the host, at most)
    /// and offers them to the host at once; the connection's error once it failed.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, buf)
    }

    /// Resolves once the host took every accepted byte.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send_flush(cx)
    }

    /// Flushes, then shuts down writing (the peer reads the end); resolves once the host
    /// confirmed it.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_shutdown_send(cx)
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("OwnedWriteHalf");
        d.field("local", &self.connection.local)
            .field("peer", &self.connection.peer);
        match &self.state {
            State::Open(writer) => d.field("writer", writer),
            State::Failing => d.field("state", &"failing"),
            State::Closing => d.field("state", &"closing"),
            State::ShutDown => d.field("state", &"shut down"),
            State::Failed(_) => d.field("state", &"failed"),
        };
        d.finish()
    }
}
