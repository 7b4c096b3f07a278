//! The machine under [`SinkPipe`](super::SinkPipe) and [`WritePipe`](super::WritePipe):
//! the Rust end (a sink or a writer) lives in the store's consumer while the guest writes,
//! and comes back to the pipe's future, to be closed, when the guest closes its stream.

use core::pin::Pin;
use core::task::{Context, Poll};

use futures_channel::oneshot;
use wasmtime::component::StreamResult;

/// What the consumer hands the pipe's future: the end and how many items it took, or the
/// end's error.
type Handoff<E, Err> = Result<(E, u64), Err>;

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
    /// `None` once it failed.
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

    /// Reports `error` to the future and hangs up on the guest.
    pub(super) fn fail(&mut self, error: Err) -> Poll<wasmtime::Result<StreamResult>> {
        self.end = None;
        if let Some(report) = self.report.take() {
            let _ = report.send(Err(error));
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
            let _ = report.send(Ok((end, self.taken)));
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
    /// Polls for the end and how many items it took, closed with `close`, or the error;
    /// `None` if the consumer went away without a report (which it does not do: it reports
    /// whenever it is dropped).
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        mut close: impl FnMut(Pin<&mut E>, &mut Context<'_>) -> Poll<Result<(), Err>>,
    ) -> Poll<Option<Handoff<E, Err>>> {
        loop {
            match self {
                Self::Piping(rx) => match core::task::ready!(Pin::new(rx).poll(cx)) {
                    Ok(Ok((end, taken))) => *self = Self::Closing(end, taken),
                    Ok(Err(e)) => {
                        *self = Self::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Err(oneshot::Canceled) => {
                        *self = Self::Done;
                        return Poll::Ready(None);
                    }
                },
                Self::Closing(end, _) => {
                    let closed = core::task::ready!(close(Pin::new(end), cx));
                    let Self::Closing(end, taken) = core::mem::replace(self, Self::Done) else {
                        unreachable!("matched above")
                    };
                    return Poll::Ready(Some(closed.map(|()| (end, taken))));
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
