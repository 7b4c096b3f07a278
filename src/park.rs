use core::fmt;
use core::ops::{Deref, DerefMut};

/// Adapters that can stop their component-model operation in flight without losing what it
/// carried: [`park`](Park::park) cancels the read or write, keeps whatever raced in (a
/// value, items read, items not yet delivered), and leaves the adapter idle and usable.
///
/// # Keeping an adapter across export calls
///
/// Every read or write in flight belongs to the component-model task (the export call) that
/// first polled it. An adapter kept in a resource or a static and carried into a later call
/// with an operation still in flight ties the earlier call to it: that call cannot finish,
/// so the instance never goes idle (every value still arrives). wit-bindgen 0.63 does move
/// an operation polled from a later task over to that task, but the earlier task is then
/// left waiting on nothing, and if the operation's event is already on its way, wasmtime 48 to 50
/// panic ("BUG: delivering non-present event"; 51 keeps waiting instead). No public, safe wit-bindgen API tells which
/// task is running, so the adapters cannot do this for you: **park an adapter before the
/// call that polled it returns**, with [`park`](Park::park), or with the guard from
/// [`park_on_drop`](Park::park_on_drop), which also parks when the call is cancelled (a
/// cancelled export drops its future inside its own task). Parking from the later call is
/// too late: the operation has already moved.
///
/// Implemented by every adapter that keeps an operation in flight: the future
/// [`Receiver`](crate::future::Receiver) and [`Send`](crate::future::Send), the stream
/// readers ([`ItemStream`](crate::stream::ItemStream),
/// [`ChunkStream`](crate::stream::ChunkStream), [`TryItemStream`](crate::stream::TryItemStream),
/// [`ByteReader`](crate::stream::ByteReader)) and writers
/// ([`StreamSink`](crate::stream::StreamSink), [`ChunkSink`](crate::stream::ChunkSink),
/// [`ByteWriter`](crate::stream::ByteWriter)), and, with feature `http`, the incoming HTTP
/// body. The pumps (`spawn_forward`, `spawn_send`, `serve`) run on tasks of the export call
/// that spawned them, which waits for them: they need no parking.
///
/// # Examples
///
/// ```no_run
/// use std::cell::RefCell;
/// use futures::StreamExt;
/// use wit_futures::Park;
/// use wit_futures::stream::ItemStream;
///
/// /// A session resource: its lines arrive over several export calls.
/// struct Session {
///     lines: RefCell<ItemStream<String>>,
/// }
///
/// impl Session {
///     /// One export call: the next line, or `None` if none came before the deadline.
///     async fn next_line(&self, deadline: wit_futures::future::Receiver<()>) -> Option<String> {
///         let mut lines = self.lines.borrow_mut();
///         // Parked when this call returns or is cancelled: the read the deadline
///         // interrupted, and the line it may have got, stay in the stream for the next call.
///         let mut lines = lines.park_on_drop();
///         let mut deadline = deadline;
///         futures::select! {
///             line = lines.next() => line,
///             _ = deadline => None,
///         }
///     }
/// }
/// ```
pub trait Park {
    /// Stops the operation in flight, if any, keeping what raced in; the adapter is idle
    /// afterwards, and its next poll starts a new operation. Idempotent; it never loses a
    /// value and never waits.
    fn park(&mut self);

    /// A guard that gives `&mut` access to the adapter and [parks](Park::park) it when
    /// dropped: at the end of the scope, and also when the export call is cancelled.
    fn park_on_drop(&mut self) -> Parked<'_, Self>
    where
        Self: Sized,
    {
        Parked(self)
    }
}

/// Guard from [`Park::park_on_drop`]: derefs to the adapter, parks it when dropped.
#[must_use = "the adapter is parked when the guard is dropped: at once, if it is not kept"]
pub struct Parked<'a, A: Park>(&'a mut A);

impl<A: Park> Deref for Parked<'_, A> {
    type Target = A;

    fn deref(&self) -> &A {
        self.0
    }
}

impl<A: Park> DerefMut for Parked<'_, A> {
    fn deref_mut(&mut self) -> &mut A {
        self.0
    }
}

impl<A: Park> Drop for Parked<'_, A> {
    fn drop(&mut self) {
        self.0.park();
    }
}

impl<A: Park + fmt::Debug> fmt::Debug for Parked<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Parked").field(&self.0).finish()
    }
}

// Every adapter's own `park` method, through the trait.

impl<T: 'static> Park for crate::future::Receiver<T> {
    fn park(&mut self) {
        crate::future::Receiver::park(self);
    }
}

impl<T: 'static> Park for crate::future::Send<T> {
    fn park(&mut self) {
        crate::future::Send::park(self);
    }
}

impl<T: core::marker::Send + 'static> Park for crate::stream::ItemStream<T> {
    fn park(&mut self) {
        crate::stream::ItemStream::park(self);
    }
}

impl<T: core::marker::Send + 'static> Park for crate::stream::ChunkStream<T> {
    fn park(&mut self) {
        crate::stream::ChunkStream::park(self);
    }
}

impl<T: core::marker::Send + 'static, E: 'static> Park for crate::stream::TryItemStream<T, E> {
    fn park(&mut self) {
        crate::stream::TryItemStream::park(self);
    }
}

impl Park for crate::stream::ByteReader {
    fn park(&mut self) {
        crate::stream::ByteReader::park(self);
    }
}

impl<T: core::marker::Send + 'static> Park for crate::stream::StreamSink<T> {
    fn park(&mut self) {
        crate::stream::StreamSink::park(self);
    }
}

impl<T: core::marker::Send + 'static> Park for crate::stream::ChunkSink<T> {
    fn park(&mut self) {
        crate::stream::ChunkSink::park(self);
    }
}

impl Park for crate::stream::ByteWriter {
    fn park(&mut self) {
        crate::stream::ByteWriter::park(self);
    }
}

impl Park for crate::stream::Duplex {
    fn park(&mut self) {
        crate::stream::Duplex::park(self);
    }
}

#[cfg(feature = "http")]
impl<T: 'static, E: 'static, C> Park for crate::http::IncomingBody<T, E, C> {
    fn park(&mut self) {
        crate::http::IncomingBody::park(self);
    }
}

#[cfg(feature = "http")]
impl<B: http_body::Body, T: 'static, E: 'static, F, C> Park
    for crate::http::SendBody<B, T, E, F, C>
{
    fn park(&mut self) {
        crate::http::SendBody::park(self);
    }
}

#[cfg(feature = "wasi-sockets")]
impl Park for crate::wasi_sockets::TcpStream {
    fn park(&mut self) {
        crate::wasi_sockets::TcpStream::park(self);
    }
}

#[cfg(feature = "wasi-sockets")]
impl Park for crate::wasi_sockets::OwnedReadHalf {
    fn park(&mut self) {
        crate::wasi_sockets::OwnedReadHalf::park(self);
    }
}

#[cfg(feature = "wasi-sockets")]
impl Park for crate::wasi_sockets::OwnedWriteHalf {
    fn park(&mut self) {
        crate::wasi_sockets::OwnedWriteHalf::park(self);
    }
}

#[cfg(feature = "wasi-sockets")]
impl Park for crate::wasi_sockets::TcpListener {
    fn park(&mut self) {
        crate::wasi_sockets::TcpListener::park(self);
    }
}

#[cfg(feature = "wasi-clocks")]
impl Park for crate::time::Sleep {
    fn park(&mut self) {
        crate::time::Sleep::park(self);
    }
}

#[cfg(feature = "wasi-clocks")]
impl Park for crate::time::Interval {
    fn park(&mut self) {
        crate::time::Interval::park(self);
    }
}
