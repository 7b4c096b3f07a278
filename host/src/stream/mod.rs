//! `stream<T>` on the host: producers from Rust streams and readers, and the guest's streams
//! as a Rust [`Stream`](futures_core::Stream) or into any sink or writer.

mod from_async_read;
mod from_iter;
mod from_stream;
mod guest_stream;
mod pipe;
mod pipe_error;
mod sink_pipe;
mod write_pipe;

pub use self::from_async_read::{FromAsyncRead, ReadDone, ReadOutcome, from_async_read};
pub use self::from_iter::{FromIter, from_iter};
pub use self::from_stream::{FromStream, from_stream};
pub use self::guest_stream::GuestStream;
pub use self::pipe_error::PipeError;
pub use self::sink_pipe::{SinkPipe, pipe_to_sink};
pub use self::write_pipe::{WritePipe, pipe_to_write};

/// Items in one batch on the host, at most: what one read of a host reader takes, and what
/// the host buffers for one guest read or write, whatever its size (a larger one is served
/// in several batches), so a guest cannot make the host allocate by asking for more.
pub const HOST_READ_BATCH: usize = 4096;

/// Bytes one read of a host reader (not a guest) takes at most.
pub const HOST_READ_BYTES: usize = 64 * 1024;

/// An empty buffer for a batch of `n` items (`n` at most [`HOST_READ_BATCH`]): `spent`'s
/// allocation when it has room for `n`, else a new one. A pipe then takes every guest write
/// into the same memory, as a hand-written consumer reusing its `Vec` does, rather than
/// allocating a batch per write. Every batch buffer comes from here, so none holds more
/// than [`HOST_READ_BATCH`] items.
fn batch_buffer<T>(spent: Option<Vec<T>>, n: usize) -> Vec<T> {
    debug_assert!(n <= HOST_READ_BATCH);
    match spent {
        Some(buffer) if buffer.is_empty() && buffer.capacity() >= n => buffer,
        _ => Vec::with_capacity(n),
    }
}

/// The allocation of `items`, once every item was handed out, as an empty `Vec` (collecting
/// a `vec::IntoIter` adapter reuses its allocation; were that to change, this is a new
/// empty `Vec`). `None` while items are left: they are never dropped here.
fn reclaim<T>(items: &mut std::vec::IntoIter<T>) -> Option<Vec<T>> {
    (items.len() == 0).then(|| core::mem::take(items).filter(|_| false).collect())
}
