//! The engine under every reading adapter: owns a `StreamReader`, runs one batched read at a
//! time, and can cancel it synchronously keeping whatever raced in.
//!
//! wit-bindgen's `StreamRead<'a>` borrows the reader, so a read cannot be stored next to the
//! reader without unsafe code. Instead one long-lived `async` task (boxed once per adapter,
//! never per read) owns the reader and serves read requests through a shared slot. The
//! adapter polls that task itself: nothing is spawned.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex, MutexGuard};

use wit_bindgen::{StreamReader, StreamResult};

/// Requests and results passed between an adapter and its read task.
struct Slot<T> {
    /// Buffer for the next read (its spare capacity is filled).
    request: Option<Vec<T>>,
    /// Result of the last read.
    result: Option<ReadResult<T>>,
    /// Cancel the read in flight.
    cancel: bool,
    /// End the task and hand the reader back.
    stop: bool,
}

type Task<T> = Pin<Box<dyn Future<Output = StreamReader<T>> + Send>>;

/// What one read produced: its status and the buffer with the items read appended.
pub(crate) type ReadResult<T> = (StreamResult, Vec<T>);

pub(crate) struct ReadDriver<T: Send + 'static> {
    slot: Arc<Mutex<Slot<T>>>,
    task: Task<T>,
    /// A read was requested and its result not yet taken.
    in_flight: bool,
    /// A read reported the writer gone. wit-bindgen does not always remember it, and the
    /// component model traps on a read after that, so the reader must not be handed out.
    writer_gone: bool,
}

fn lock<T>(slot: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T: Send + 'static> ReadDriver<T> {
    pub(crate) fn new(reader: StreamReader<T>) -> Self {
        let slot = Arc::new(Mutex::new(Slot {
            request: None,
            result: None,
            cancel: false,
            stop: false,
        }));
        Self {
            task: Box::pin(serve(reader, slot.clone())),
            slot,
            in_flight: false,
            writer_gone: false,
        }
    }

    /// True while a read is requested and its result not yet taken.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Polls for the result of a read into `buf`'s spare capacity, starting that read if
    /// none is in flight (`buf` is then taken; otherwise it is left alone).
    ///
    /// Returns the read's result and its buffer, with the items appended.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Option<Vec<T>>,
    ) -> Poll<ReadResult<T>> {
        if !self.in_flight {
            lock(&self.slot).request = Some(buf.take().expect("a buffer to read into"));
            self.in_flight = true;
        }
        // The task only returns once asked to stop.
        let _ = self.task.as_mut().poll(cx);
        match lock(&self.slot).result.take() {
            Some(result) => {
                self.in_flight = false;
                self.writer_gone |= result.0 == StreamResult::Dropped;
                Poll::Ready(result)
            }
            None => Poll::Pending,
        }
    }

    /// Cancels the read in flight, if any, and returns its result: the items that raced in
    /// are in the returned buffer.
    pub(crate) fn cancel(&mut self) -> Option<ReadResult<T>> {
        if !self.in_flight {
            return None;
        }
        lock(&self.slot).cancel = true;
        // wit-bindgen's cancel is synchronous: one poll finishes the read.
        let _ = self
            .task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        self.in_flight = false;
        let result = lock(&self.slot).result.take();
        debug_assert!(result.is_some(), "a cancelled read completes at once");
        if let Some((StreamResult::Dropped, _)) = &result {
            self.writer_gone = true;
        }
        result
    }

    /// Cancels the read in flight (returning its result) and hands back the reader, unless
    /// the writer is gone: then the reader is dropped (reading it again would trap).
    pub(crate) fn into_reader(mut self) -> (Option<StreamReader<T>>, Option<ReadResult<T>>) {
        let last = self.cancel();
        lock(&self.slot).stop = true;
        match self
            .task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(reader) => ((!self.writer_gone).then_some(reader), last),
            Poll::Pending => unreachable!("the read task stops when asked to"),
        }
    }
}

/// The read task: serves one read request at a time until asked to stop.
async fn serve<T: Send + 'static>(
    mut reader: StreamReader<T>,
    slot: Arc<Mutex<Slot<T>>>,
) -> StreamReader<T> {
    loop {
        // The adapter polls this task right after making a request, so no waker is needed.
        let request = poll_fn(|_| {
            let mut slot = lock(&slot);
            if slot.stop {
                return Poll::Ready(None);
            }
            slot.request
                .take()
                .map_or(Poll::Pending, |buf| Poll::Ready(Some(buf)))
        })
        .await;
        let Some(buf) = request else {
            return reader;
        };
        let result = {
            let mut read = pin!(reader.read(buf));
            poll_fn(|cx| {
                if lock(&slot).cancel {
                    return Poll::Ready(read.as_mut().cancel());
                }
                read.as_mut().poll(cx)
            })
            .await
        };
        let mut slot = lock(&slot);
        slot.cancel = false;
        slot.result = Some(result);
    }
}
