//! TCP over wasi:sockets (WASI 0.3) in the shape of `tokio::net` (feature `wasi-sockets`),
//! on the [`wasip3`] bindings.
//!
//! - [`TcpListener`]: bind and listen, [`accept`](TcpListener::accept) connections or use
//!   the listener as a `Stream` of them.
//! - [`TcpStream`]: [`connect`](TcpStream::connect), or accepted; `AsyncRead`,
//!   `AsyncBufRead` and `AsyncWrite` (futures-io, and tokio's with feature `tokio`), so
//!   tokio-util's `Framed` codecs and `futures::io::copy` serve real clients from a
//!   component; [`into_split`](TcpStream::into_split) for a reader task and a writer task;
//!   shut down writing with `close` (tokio: `shutdown`).
//! - [`lookup_host`] and [`ToSocketAddrs`]: addresses as tokio takes them, names resolved
//!   with wasi:sockets/ip-name-lookup.
//! - [`io_error`]: each wasi:sockets `error-code` as the [`io::Error`](std::io::Error) kind a
//!   Rust user expects, the code inside.
//!
//! A WASI 0.3 connection is two `stream<u8>`s (receive and send) and two
//! `future<result<_, error-code>>`s that say how each ended. The streams go through
//! [`ByteReader`](crate::stream::ByteReader) and [`ByteWriter`](crate::stream::ByteWriter),
//! so writes behave like a socket's (on their way when `write` returns, no flush needed)
//! and nothing is lost when a `select!` branch loses; the futures are awaited, and a reset
//! or broken connection is the error of the read or write that meets it, never dropped.
//!
//! What the host allows decides what works: wasmtime turns TCP off by default
//! (`WasiCtxBuilder::allow_tcp(true)`) and checks every bind, listen, accept and connect
//! against its `socket_addr_check`; a refused address is `PermissionDenied`. The examples'
//! hosts allow loopback only.
//!
//! ```no_run
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use wit_futures::wasi_sockets::{TcpListener, TcpStream};
//! # async fn example() -> std::io::Result<()> {
//! let mut listener = TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let mut client = TcpStream::connect(addr).await?;
//! let (mut server, _) = listener.accept().await?;
//! client.write_all(b"ping").await?;
//! let mut ping = [0; 4];
//! server.read_exact(&mut ping).await?;
//! # Ok(())
//! # }
//! ```

mod addr;
mod error;
mod read_half;
mod tcp_listener;
mod tcp_stream;
#[cfg(feature = "tokio")]
mod tokio_io;
mod write_half;

pub use self::addr::{ToSocketAddrs, lookup_host};
pub use self::error::{io_error, lookup_io_error};
pub use self::read_half::{OwnedReadHalf, ReuniteError};
pub use self::tcp_listener::TcpListener;
pub use self::tcp_stream::TcpStream;
pub use self::write_half::OwnedWriteHalf;
