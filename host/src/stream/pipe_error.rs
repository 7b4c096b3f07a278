use core::fmt;
use std::io;

/// How a pipe ([`pipe_to_sink`](super::pipe_to_sink), [`pipe_to_write`](super::pipe_to_write))
/// failed: the sink's or writer's error, how many items it had taken, and the sink or
/// writer itself, to inspect, recover or go on with.
///
/// The guest's write in progress ended with the reader gone, having handed over exactly the
/// items the sink or writer took ([`taken`](Self::taken)).
#[must_use = "a PipeError holds the sink or writer"]
pub struct PipeError<E, Err> {
    /// `None`: the consumer went away without a report.
    error: Option<Err>,
    end: Option<E>,
    taken: u64,
}

impl<E, Err> PipeError<E, Err> {
    pub(super) fn failed(error: Err, end: E, taken: u64) -> Self {
        Self {
            error: Some(error),
            end: Some(end),
            taken,
        }
    }

    pub(super) fn vanished() -> Self {
        Self {
            error: None,
            end: None,
            taken: 0,
        }
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

    /// The error, the sink or writer, and how many items it took.
    pub fn into_parts(self) -> (Option<Err>, Option<E>, u64) {
        (self.error, self.end, self.taken)
    }
}

impl<E, Err: fmt::Debug> fmt::Debug for PipeError<E, Err> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeError")
            .field("error", &self.error)
            .field("taken", &self.taken)
            .field("end", &self.end.as_ref().map(|_| ".."))
            .finish()
    }
}

impl<E, Err: fmt::Display> fmt::Display for PipeError<E, Err> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(e) => write!(f, "pipe failed after {} items: {e}", self.taken),
            None => f.write_str("the pipe's consumer went away without a report"),
        }
    }
}

impl<E, Err: std::error::Error + 'static> std::error::Error for PipeError<E, Err> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.as_ref().map(|e| e as _)
    }
}

/// The writer's own error (its kind and message), or `Other` for a consumer gone without a
/// report; the writer and the count are dropped.
impl<W> From<PipeError<W, io::Error>> for io::Error {
    fn from(e: PipeError<W, io::Error>) -> io::Error {
        e.error.unwrap_or_else(|| {
            io::Error::other("the pipe's consumer went away without a report")
        })
    }
}
