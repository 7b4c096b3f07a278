//! The machine under [`SinkPipe`](super::SinkPipe) and [`WritePipe`](super::WritePipe):
//! the Rust end (a sink or a writer) lives in the store's consumer while the guest writes,
//! with the items taken from the guest and not yet given to it (a sink's batch; a writer
//! holds none), and comes back to the pipe's future, to be closed, when the guest closes
//! its stream, or with the error when it fails.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::vec;

use futures_channel::oneshot;
use wasmtime::component::StreamResult;

use super::PipeError;

/// What the consumer hands the pipe's future: the end, how many items it took, the items
/// it holds, and the end's error if it failed.
pub(super) struct Handoff<E, Err, T> {
    end: E,
    taken: u64,
    held: vec::IntoIter<T>,
    error: Option<Err>,
}

/// A pipe's two halves: the consumer's hold on `end`, and the future's side.
pub(super) fn pipe<E, Err, T>(end: E) -> (EndInStore<E, Err, T>, PipeOutcome<E, Err, T>) {
    let (tx, rx) = oneshot::channel();
    let held = EndInStore {
        end: Some(end),
        taken: 0,
        held: Vec::new().into_iter(),
        report: Some(tx),
    };
    (held, PipeOutcome::Piping(rx))
}

/// The consumer's hold on the end. Dropped with the consumer (the guest closed its stream,
/// or the store went away: wasmtime does not tell the two apart), it hands the end back.
pub(super) struct EndInStore<E, Err, T> {
    /// `None` once it failed (and went back with the error).
    end: Option<E>,
    taken: u64,
    /// Items taken from the guest, not yet given to the end.
    held: vec::IntoIter<T>,
    report: Option<oneshot::Sender<Handoff<E, Err, T>>>,
}

impl<E, Err, T> EndInStore<E, Err, T> {
    /// The end, the items held for it and its count, unless it failed.
    pub(super) fn parts(&mut self) -> Option<(&mut E, &mut vec::IntoIter<T>, &mut u64)> {
        let end = self.end.as_mut()?;
        Some((end, &mut self.held, &mut self.taken))
    }

    /// Hands `error`, the end and the items it did not take to the future, and hangs up on
    /// the guest.
    pub(super) fn fail(&mut self, error: Err) -> Poll<wasmtime::Result<StreamResult>> {
        self.report(Some(error));
        Poll::Ready(Ok(StreamResult::Dropped))
    }

    fn report(&mut self, error: Option<Err>) {
        if let (Some(end), Some(report)) = (self.end.take(), self.report.take()) {
            let _ = report.send(Handoff {
                end,
                taken: self.taken,
                held: core::mem::take(&mut self.held),
                error,
            });
        }
    }

    /// True if the pipe's future was dropped; otherwise `cx` is woken when it is, so that a
    /// write waiting on the end learns of the hang-up.
    pub(super) fn hung_up(&mut self, cx: &mut Context<'_>) -> bool {
        self.report
            .as_mut()
            .is_none_or(|report| report.poll_canceled(cx).is_ready())
    }

    /// The answer to a write that waits for the end: `Pending`; if the guest is cancelling,
    /// `Completed` when the write handed over items (`took`; they stay here and reach the
    /// end at the next write or when the stream ends), `Cancelled` otherwise; `Dropped` if
    /// the future is gone.
    pub(super) fn wait(
        &mut self,
        cx: &mut Context<'_>,
        finish: bool,
        took: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        if self.hung_up(cx) {
            Poll::Ready(Ok(StreamResult::Dropped))
        } else if finish && took {
            Poll::Ready(Ok(StreamResult::Completed))
        } else if finish {
            Poll::Ready(Ok(StreamResult::Cancelled))
        } else {
            Poll::Pending
        }
    }
}

impl<E, Err, T> Drop for EndInStore<E, Err, T> {
    fn drop(&mut self) {
        self.report(None);
    }
}

/// The future's side: waits for the end to come back, then closes it.
pub(super) enum PipeOutcome<E, Err, T> {
    /// The guest is writing.
    Piping(oneshot::Receiver<Handoff<E, Err, T>>),
    /// The guest closed its stream: giving the end what is held, then closing it.
    Closing(E, u64, vec::IntoIter<T>),
    Done,
}

impl<E: Unpin, Err, T> PipeOutcome<E, Err, T> {
    /// Polls for the end and how many items it took, once `close` gave it the held items
    /// and closed it, or for the error with the end.
    #[allow(clippy::type_complexity)]
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        mut close: impl FnMut(
            Pin<&mut E>,
            &mut vec::IntoIter<T>,
            &mut u64,
            &mut Context<'_>,
        ) -> Poll<Result<(), Err>>,
    ) -> Poll<Result<(E, u64), PipeError<E, Err, T>>> {
        loop {
            match self {
                Self::Piping(rx) => {
                    let handoff = core::task::ready!(Pin::new(rx).poll(cx));
                    match handoff {
                        Ok(Handoff {
                            end,
                            taken,
                            held,
                            error: None,
                        }) => *self = Self::Closing(end, taken, held),
                        Ok(Handoff {
                            end,
                            taken,
                            held,
                            error: Some(error),
                        }) => {
                            *self = Self::Done;
                            let unsent = held.collect();
                            return Poll::Ready(Err(PipeError::failed(error, end, taken, unsent)));
                        }
                        // The consumer always reports when dropped; should a store drop it
                        // without running its drop, say so rather than wait forever.
                        Err(oneshot::Canceled) => {
                            *self = Self::Done;
                            return Poll::Ready(Err(PipeError::vanished()));
                        }
                    }
                }
                Self::Closing(end, taken, held) => {
                    let closed = core::task::ready!(close(Pin::new(end), held, taken, cx));
                    let Self::Closing(end, taken, held) = core::mem::replace(self, Self::Done)
                    else {
                        unreachable!("matched above")
                    };
                    return Poll::Ready(match closed {
                        Ok(()) => Ok((end, taken)),
                        Err(error) => Err(PipeError::failed(error, end, taken, held.collect())),
                    });
                }
                Self::Done => return Poll::Pending,
            }
        }
    }
}

impl<E, Err, T> PipeOutcome<E, Err, T> {
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
