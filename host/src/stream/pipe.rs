//! The machine under [`SinkPipe`](super::SinkPipe) and [`WritePipe`](super::WritePipe):
//! the Rust end (a sink or a writer) lives in the store's consumer while the guest writes,
//! and comes back to the pipe's future, to be closed, when the guest closes its stream, or
//! with the error when it fails.

use core::pin::Pin;
use core::task::{Context, Poll};

use futures_channel::oneshot;
use wasmtime::component::StreamResult;

use super::PipeError;

/// What the consumer hands the pipe's future: the end and how many items it took, and the
/// end's error if it failed.
pub(super) struct Handoff<E, Err> {
    end: E,
    taken: u64,
    error: Option<Err>,
}

/// A pipe's two halves: the consumer's hold on `end`, and the future's side.
pub(super) fn pipe<E, Err>(end: E) -> (EndInStore<E, Err>, PipeOutcome<E, Err>) {
    let (tx, rx) = oneshot::channel();
    let held = EndInStore {
        end: Some(end),
        taken: 0,
        report: Some(tx),
    };
    (held, PipeOutcome::Piping(rx))
}

/// The consumer's hold on the end. Dropped with the consumer (the guest closed its stream,
/// or the store went away: wasmtime does not tell the two apart), it hands the end back.
pub(super) struct EndInStore<E, Err> {
    /// `None` once it failed (and went back with the error).
    end: Option<E>,
    taken: u64,
    report: Option<oneshot::Sender<Handoff<E, Err>>>,
}

impl<E, Err> EndInStore<E, Err> {
    /// The end, unless it failed.
    pub(super) fn end(&mut self) -> Option<&mut E> {
        self.end.as_mut()
    }

    /// Counts `n` more items taken by the end.
    pub(super) fn took(&mut self, n: u64) {
        self.taken += n;
    }

    /// Hands `error` and the end to the future and hangs up on the guest.
    pub(super) fn fail(&mut self, error: Err) -> Poll<wasmtime::Result<StreamResult>> {
        if let (Some(end), Some(report)) = (self.end.take(), self.report.take()) {
            let _ = report.send(Handoff {
                end,
                taken: self.taken,
                error: Some(error),
            });
        }
        Poll::Ready(Ok(StreamResult::Dropped))
    }

    /// True if the pipe's future was dropped; otherwise `cx` is woken when it is, so that a
    /// write waiting on the end learns of the hang-up.
    pub(super) fn hung_up(&mut self, cx: &mut Context<'_>) -> bool {
        self.report
            .as_mut()
            .is_none_or(|report| report.poll_canceled(cx).is_ready())
    }

    /// The answer to a write of which nothing was taken because the end has no room:
    /// `Pending`, or `Cancelled` if the guest is cancelling, or `Dropped` if the future is
    /// gone.
    pub(super) fn wait(
        &mut self,
        cx: &mut Context<'_>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        if self.hung_up(cx) {
            Poll::Ready(Ok(StreamResult::Dropped))
        } else if finish {
            Poll::Ready(Ok(StreamResult::Cancelled))
        } else {
            Poll::Pending
        }
    }
}

impl<E, Err> Drop for EndInStore<E, Err> {
    fn drop(&mut self) {
        if let (Some(end), Some(report)) = (self.end.take(), self.report.take()) {
            let _ = report.send(Handoff {
                end,
                taken: self.taken,
                error: None,
            });
        }
    }
}

/// The future's side: waits for the end to come back, then closes it.
pub(super) enum PipeOutcome<E, Err> {
    /// The guest is writing.
    Piping(oneshot::Receiver<Handoff<E, Err>>),
    /// The guest closed its stream: closing the end.
    Closing(E, u64),
    Done,
}

impl<E: Unpin, Err> PipeOutcome<E, Err> {
    /// Polls for the end and how many items it took, once closed with `close`, or the
    /// error with the end.
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        mut close: impl FnMut(Pin<&mut E>, &mut Context<'_>) -> Poll<Result<(), Err>>,
    ) -> Poll<Result<(E, u64), PipeError<E, Err>>> {
        loop {
            match self {
                Self::Piping(rx) => {
                    let handoff = core::task::ready!(Pin::new(rx).poll(cx));
                    match handoff {
                        Ok(Handoff {
                            end,
                            taken,
                            error: None,
                        }) => *self = Self::Closing(end, taken),
                        Ok(Handoff {
                            end,
                            taken,
                            error: Some(error),
                        }) => {
                            *self = Self::Done;
                            return Poll::Ready(Err(PipeError::failed(error, end, taken)));
                        }
                        // The consumer always reports when dropped; should a store drop it
                        // without running its drop, say so rather than wait forever.
                        Err(oneshot::Canceled) => {
                            *self = Self::Done;
                            return Poll::Ready(Err(PipeError::vanished()));
                        }
                    }
                }
                Self::Closing(end, _) => {
                    let closed = core::task::ready!(close(Pin::new(end), cx));
                    let Self::Closing(end, taken) = core::mem::replace(self, Self::Done) else {
                        unreachable!("matched above")
                    };
                    return Poll::Ready(match closed {
                        Ok(()) => Ok((end, taken)),
                        Err(error) => Err(PipeError::failed(error, end, taken)),
                    });
                }
                Self::Done => return Poll::Pending,
            }
        }
    }
}

impl<E, Err> PipeOutcome<E, Err> {
    /// True once the outcome was handed out.
    pub(super) fn is_terminated(&self) -> bool {
        matches!(self, Self::Done)
    }

    /// The state's name, for `Debug`.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Piping(_) => "piping",
            Self::Closing(..) => "closing",
            Self::Done => "done",
        }
    }
}
