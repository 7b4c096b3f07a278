use core::fmt;
use std::io;

/// How a pipe ([`pipe_to_sink`](super::pipe_to_sink), [`pipe_to_write`](super::pipe_to_write))
/// failed: the sink's or writer's error, how many items it had taken, the sink or writer
/// itself, to inspect, recover or go on with, and the items taken from the guest that it
/// did not take.
///
/// The guest's write in progress ended with the reader gone. A writer writes straight from
/// the guest's buffer, so the guest handed over exactly the bytes it took and
/// [`unsent`](Self::unsent) is empty; a sink takes items from a batch the pipe read from the
/// guest, and the rest of that batch is in [`unsent`](Self::unsent) (the item the sink
/// refused is the sink's, as with any `Sink`).
#[must_use = "a PipeError holds the sink or writer"]
pub struct PipeError<E, Err, T = u8> {
    /// `None`: the consumer went away without a report.
    error: Option<Err>,
    end: Option<E>,
    taken: u64,
    unsent: Vec<T>,
}

impl<E, Err, T> PipeError<E, Err, T> {
    pub(super) fn failed(error: Err, end: E, taken: u64, unsent: Vec<T>) -> Self {
        Self {
            error: Some(error),
            end: Some(end),
            taken,
            unsent,
        }
    }

    pub(super) fn vanished() -> Self {
        Self {
            error: None,
            end: None,
            taken: 0,
            unsent: Vec::new(),
        }
    }

    /// Items taken from the guest that the sink did not take, in order.
    pub fn unsent(&self) -> &[T] {
        &self.unsent
    }

    /// Takes the items taken from the guest that the sink did not take, in order.
    pub fn take_unsent(&mut self) -> Vec<T> {
        core::mem::take(&mut self.unsent)
    }

    /// The sink's or writer's error; `None` only if the store dropped the pipe's consumer
    /// without letting it report (wasmtime does not do that; the sink or writer is then
    /// lost too).
    pub fn error(&self) -> Option<&Err> {
        self.error.as_ref()
    }

    /// Items (bytes, for a writer) the sink or writer took before it failed.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// The sink or writer, as it was when it failed.
    pub fn end(&self) -> Option<&E> {
        self.end.as_ref()
    }

    /// Takes the sink or writer back.
    pub fn into_end(self) -> Option<E> {
        self.end
    }

    /// The error, the sink or writer, how many items it took, and the items it did not take.
    pub fn into_parts(self) -> (Option<Err>, Option<E>, u64, Vec<T>) {
        (self.error, self.end, self.taken, self.unsent)
    }
}

impl<E, Err: fmt::Debug, T> fmt::Debug for PipeError<E, Err, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeError")
            .field("error", &self.error)
            .field("taken", &self.taken)
            .field("unsent", &self.unsent.len())
            .field("end", &self.end.as_ref().map(|_| ".."))
            .finish()
    }
}

impl<E, Err: fmt::Display, T> fmt::Display for PipeError<E, Err, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(e) => write!(f, "pipe failed after {} items: {e}", self.taken),
            None => f.write_str("the pipe's consumer went away without a report"),
        }
    }
}

impl<E, Err: std::error::Error + 'static, T> std::error::Error for PipeError<E, Err, T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.as_ref().map(|e| e as _)
    }
}

/// The writer's own error (its kind and message), or `Other` for a consumer gone without a
/// report; the writer, the count and the unsent items are dropped.
impl<W, T> From<PipeError<W, io::Error, T>> for io::Error {
    fn from(e: PipeError<W, io::Error, T>) -> io::Error {
        e.error
            .unwrap_or_else(|| io::Error::other("the pipe's consumer went away without a report"))
    }
}
