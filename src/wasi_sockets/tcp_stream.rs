use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use wasip3::sockets::types::TcpSocket;

use super::addr::{family, from_wasi, resolve, to_wasi};
use super::{OwnedReadHalf, OwnedWriteHalf, ToSocketAddrs, io_error};
use crate::prelude::*;

/// What both halves of a connection share: the socket and its addresses.
pub(super) struct Connection {
    pub(super) socket: TcpSocket,
    pub(super) local: SocketAddr,
    pub(super) peer: SocketAddr,
}

/// A TCP connection over wasi:sockets (WASI 0.3), in the shape of `tokio::net::TcpStream`.
///
/// Made by [`TcpStream::connect`], or accepted by a [`TcpListener`](super::TcpListener).
/// It is [`AsyncRead`] + [`AsyncBufRead`] + [`AsyncWrite`] (and, with feature `tokio`,
/// tokio's traits), so tokio-util's `Framed`, `futures::io::copy` and
/// `tokio::io::copy_bidirectional` work on it. Reads and writes behave as
/// [`OwnedReadHalf`] and [`OwnedWriteHalf`] say: a write is on its way to the peer when it
/// returns, without a flush; `close` (tokio: `shutdown`) shuts down writing while reading
/// goes on; a reset or broken connection is the `io::Error` of the read or write that
/// meets it (`ConnectionReset`, ...), with the wasi:sockets `error-code` inside.
///
/// Dropping it closes the connection: bytes accepted for writing and not yet taken by the
/// host are dropped (close it first to send them), bytes received and not read too.
///
/// WASI 0.3 has no `TCP_NODELAY`: the host decides (wasmtime leaves Nagle's algorithm
/// on), so write a reply in one go (e.g. `Framed` with `feed` for each frame and one
/// `flush`) rather than in pieces, or the peer may wait for the rest.
///
/// # Cancel safety
///
/// Every poll is cancel-safe: received bytes stay in the stream until read, accepted
/// bytes until sent.
///
/// # Examples
///
/// ```no_run
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use wit_futures::wasi_sockets::TcpStream;
/// # async fn example() -> std::io::Result<()> {
/// let mut stream = TcpStream::connect("127.0.0.1:6379").await?;
/// stream.write_all(b"*1\r\n$4\r\nPING\r\n").await?;
/// let mut reply = [0; 7];
/// stream.read_exact(&mut reply).await?;
/// assert_eq!(&reply, b"+PONG\r\n");
/// stream.close().await?; // shuts down writing; the peer reads the end
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping a TcpStream closes the connection"]
pub struct TcpStream {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
}

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn (see
    /// [`ToSocketAddrs`]).
    ///
    /// The socket is bound by the host as part of the connect: a host whose
    /// `socket_addr_check` allows only some addresses sees that bind as a bind of the
    /// unspecified address with port 0 (wasmtime's `TcpBind` of `0.0.0.0:0`), then the
    /// connect to `addr`.
    ///
    /// # Errors
    ///
    /// The last address's error ([`io_error`] of the `error-code`: `ConnectionRefused`,
    /// `PermissionDenied` when the host does not allow the address, ...), or the lookup's.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropping the future drops the connection being made.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in resolve(addr).await? {
            match Self::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any address",
            )
        }))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = TcpSocket::create(family(&addr)).map_err(io_error)?;
        socket.connect(to_wasi(addr)).await.map_err(io_error)?;
        Self::from_socket(socket)
    }

    /// The connection of a connected wasi:sockets `tcp-socket` (e.g. one you configured
    /// and connected yourself): takes its receive and send streams.
    ///
    /// # Errors
    ///
    /// The socket's error if it is not connected (`NotConnected` for `invalid-state`), or
    /// the error it was accepted with.
    pub fn from_socket(socket: TcpSocket) -> io::Result<TcpStream> {
        let peer = from_wasi(socket.get_remote_address().map_err(io_error)?);
        let local = from_wasi(socket.get_local_address().map_err(io_error)?);
        let (send, to_send) = wasip3::wit_stream::new::<u8>();
        let sent = socket.send(to_send);
        let (received, receive_result) = socket.receive();
        let connection = Arc::new(Connection {
            socket,
            local,
            peer,
        });
        Ok(Self {
            read: OwnedReadHalf::new(
                received.into_async_read(),
                receive_result.into_oneshot(),
                connection.clone(),
            ),
            write: OwnedWriteHalf::new(send.into_async_write(), sent.into_oneshot(), connection),
        })
    }

    pub(super) fn from_halves(read: OwnedReadHalf, write: OwnedWriteHalf) -> Self {
        Self { read, write }
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.read.connection.peer)
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.read.connection.local)
    }

    /// The wasi:sockets socket, for options this type does not wrap (buffer sizes, keep-alive
    /// timing).
    pub fn socket(&self) -> &TcpSocket {
        &self.read.connection.socket
    }

    /// Turns TCP keep-alive on or off (`SO_KEEPALIVE`).
    ///
    /// # Errors
    ///
    /// The socket's error, e.g. `Unsupported` where the host does not offer it.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.socket()
            .set_keep_alive_enabled(keepalive)
            .map_err(io_error)
    }

    /// Whether TCP keep-alive is on.
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.socket().get_keep_alive_enabled().map_err(io_error)
    }

    /// Sets how long the connection is idle before keep-alive probes start.
    ///
    /// # Errors
    ///
    /// The socket's error (`InvalidInput` for zero).
    pub fn set_keepalive_idle(&self, idle: Duration) -> io::Result<()> {
        let nanos = u64::try_from(idle.as_nanos()).unwrap_or(u64::MAX);
        self.socket()
            .set_keep_alive_idle_time(nanos)
            .map_err(io_error)
    }

    /// Sets the IP time-to-live / hop limit (`IP_TTL`, `IPV6_UNICAST_HOPS`) of outgoing
    /// packets.
    ///
    /// # Errors
    ///
    /// The socket's error (`InvalidInput` for zero or more than 255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = u8::try_from(ttl)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ttl above 255"))?;
        self.socket().set_hop_limit(ttl).map_err(io_error)
    }

    /// The IP time-to-live / hop limit of outgoing packets.
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket()
            .get_hop_limit()
            .map(u32::from)
            .map_err(io_error)
    }

    /// The two halves, to read and write from different tasks; see
    /// [`OwnedReadHalf::reunite`] to join them again.
    #[must_use = "dropping the halves closes the connection"]
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (self.read, self.write)
    }

    /// Both halves, borrowed, to read and write at once in one task (e.g. in `select!`).
    ///
    /// With `futures::io::AsyncReadExt` in scope, method syntax (`stream.split()`) picks
    /// that trait's `split`, which takes the stream by value and returns lock-based halves:
    /// call this one as `TcpStream::split(&mut stream)`.
    ///
    /// ```no_run
    /// use wit_futures::wasi_sockets::TcpStream;
    /// # async fn example(mut stream: TcpStream) -> std::io::Result<()> {
    /// let (reader, writer) = TcpStream::split(&mut stream);
    /// futures::io::copy(reader, writer).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(&mut self) -> (&mut OwnedReadHalf, &mut OwnedWriteHalf) {
        (&mut self.read, &mut self.write)
    }

    /// Stops a read or write in flight, keeping what raced in; see [`Park`](crate::Park).
    pub fn park(&mut self) {
        self.read.park();
        self.write.park();
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().read.poll_read_into(cx, out)
    }
}

impl AsyncBufRead for TcpStream {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().read.poll_received(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().read.consume_received(amt);
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write.poll_send(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write.poll_send_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write.poll_shutdown_send(cx)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("read", &self.read)
            .field("write", &self.write)
            .finish()
    }
}
