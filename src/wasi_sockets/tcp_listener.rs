use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::net::SocketAddr;

use futures_core::Stream;
use futures_core::stream::FusedStream;
use wasip3::sockets::types::TcpSocket;

use super::addr::{family, from_wasi, resolve, to_wasi};
use super::{TcpStream, ToSocketAddrs, io_error};
use crate::prelude::*;
use crate::stream::ItemStream;

/// A TCP listener over wasi:sockets (WASI 0.3), in the shape of `tokio::net::TcpListener`:
/// [`accept`](Self::accept) connections one at a time, or use it as a [`Stream`] of them.
///
/// Made by [`TcpListener::bind`]. Connections the host accepted wait in its backlog until
/// taken. A connection that failed before it was taken (the host accepts it, then reports
/// its error) is an `Err` item; the listener goes on after it, as tokio's does.
///
/// # Cancel safety
///
/// [`accept`](Self::accept) and `next()` are cancel-safe: a connection that arrives while
/// another branch wins stays in the listener for the next call.
///
/// # Examples
///
/// A line echo serving every connection on its own task, each answering while its peer
/// keeps its side open:
///
/// ```no_run
/// use futures::io::{AsyncBufReadExt, AsyncWriteExt};
/// use futures::StreamExt;
/// use wit_futures::wasi_sockets::TcpListener;
/// # async fn example() -> std::io::Result<()> {
/// let mut listener = TcpListener::bind("127.0.0.1:7878").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     wit_futures::task::spawn(async move {
///         let (reader, mut writer) = stream.into_split();
///         let mut lines = reader.lines();
///         while let Some(Ok(line)) = lines.next().await {
///             let reply = format!("{line}\n");
///             if writer.write_all(reply.as_bytes()).await.is_err() {
///                 break;
///             }
///         }
///         println!("{peer} left");
///     })
///     .detach();
/// }
/// # }
/// ```
#[must_use = "dropping a TcpListener stops listening"]
pub struct TcpListener {
    incoming: ItemStream<TcpSocket>,
    local: SocketAddr,
    /// Dropped after `incoming`: the listening socket.
    socket: TcpSocket,
}

impl TcpListener {
    /// Binds to `addr` and listens, trying each address it resolves to in turn (see
    /// [`ToSocketAddrs`]). Port 0 asks the host for a free port:
    /// [`local_addr`](Self::local_addr) tells which.
    ///
    /// # Errors
    ///
    /// The last address's error: `AddrInUse`, `PermissionDenied` when the host does not
    /// allow the address, ...
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in resolve(addr).await? {
            match Self::bind_addr(addr) {
                Ok(listener) => return Ok(listener),
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

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = TcpSocket::create(family(&addr)).map_err(io_error)?;
        socket.bind(to_wasi(addr)).map_err(io_error)?;
        Self::from_socket(socket)
    }

    /// Listens on a bound wasi:sockets `tcp-socket` (e.g. one whose backlog you set with
    /// `set_listen_backlog_size`).
    ///
    /// # Errors
    ///
    /// The socket's error (`NotConnected` for `invalid-state`: already listening or
    /// connected).
    pub fn from_socket(socket: TcpSocket) -> io::Result<TcpListener> {
        let incoming = socket.listen().map_err(io_error)?.into_item_stream();
        let local = from_wasi(socket.get_local_address().map_err(io_error)?);
        Ok(Self {
            incoming,
            local,
            socket,
        })
    }

    /// The address it listens on (with the port the host chose, for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The wasi:sockets socket, for options this type does not wrap.
    pub fn socket(&self) -> &TcpSocket {
        &self.socket
    }

    /// Waits for the next connection: the stream and the peer's address.
    ///
    /// # Errors
    ///
    /// The error of a connection that failed before it was taken (e.g.
    /// `ConnectionAborted`); the listener goes on. `NotConnected` if the host ended the
    /// listening stream (wasmtime does not).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection that arrives meanwhile stays for the next call.
    pub async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        core::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection, as [`accept`](Self::accept); only the most recent
    /// waker is woken.
    pub fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match core::task::ready!(Pin::new(&mut self.incoming).poll_next(cx)) {
            Some(socket) => Poll::Ready(TcpStream::from_socket(socket).map(|stream| {
                let peer = stream.peer_addr().expect("known at accept");
                (stream, peer)
            })),
            None => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the host stopped listening",
            ))),
        }
    }

    /// Stops a read of the connection stream in flight, keeping a connection that raced
    /// in; see [`Park`](crate::Park).
    pub fn park(&mut self) {
        self.incoming.park();
    }
}

impl Stream for TcpListener {
    type Item = io::Result<TcpStream>;

    /// The next connection (or the error of one that failed), as
    /// [`accept`](TcpListener::accept); `None` only if the host ended the listening stream.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match core::task::ready!(Pin::new(&mut this.incoming).poll_next(cx)) {
            Some(socket) => Poll::Ready(Some(TcpStream::from_socket(socket))),
            None => Poll::Ready(None),
        }
    }
}

impl FusedStream for TcpListener {
    fn is_terminated(&self) -> bool {
        self.incoming.is_terminated()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .field("incoming", &self.incoming)
            .finish()
    }
}
