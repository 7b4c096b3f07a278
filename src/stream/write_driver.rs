//! The engine under every writing adapter: owns a `StreamWriter`, writes one batch at a time
//! until the whole batch is delivered or the reader is gone, and can cancel a write
//! synchronously, giving back exactly the items that were not delivered.
//!
//! Same shape as `read_driver`: one long-lived task owns the writer (wit-bindgen's
//! `StreamWrite<'a>` borrows it) and serves requests through a shared slot.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex, MutexGuard};

use wit_bindgen::{StreamResult, StreamWriter};

/// How a batch write ended.
pub(crate) struct Written<T> {
    /// The reader dropped its end.
    pub(crate) reader_gone: bool,
    /// The items not delivered, in order (empty when the whole batch was delivered); the
    /// allocation of the batch, for reuse.
    pub(crate) unsent: Vec<T>,
}

struct Slot<T> {
    request: Option<Vec<T>>,
    result: Option<Written<T>>,
    cancel: bool,
    stop: bool,
}

type Task<T> = Pin<Box<dyn Future<Output = StreamWriter<T>> + Send>>;

pub(crate) struct WriteDriver<T: Send + 'static> {
    slot: Arc<Mutex<Slot<T>>>,
    task: Task<T>,
    in_flight: bool,
    /// A write reported the reader gone. The component model traps on a write after that,
    /// so the writer must not be handed out.
    reader_gone: bool,
}

fn lock<T>(slot: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T: Send + 'static> WriteDriver<T> {
    pub(crate) fn new(writer: StreamWriter<T>) -> Self {
        let slot = Arc::new(Mutex::new(Slot {
            request: None,
            result: None,
            cancel: false,
            stop: false,
        }));
        Self {
            task: Box::pin(serve(writer, slot.clone())),
            slot,
            in_flight: false,
            reader_gone: false,
        }
    }

    /// True while a batch is being written.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Polls for the outcome of writing a batch, starting to write `batch` if none is in
    /// flight (`batch` is then taken; otherwise it is left alone).
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        batch: &mut Option<Vec<T>>,
    ) -> Poll<Written<T>> {
        if !self.in_flight {
            lock(&self.slot).request = Some(batch.take().expect("a batch to write"));
            self.in_flight = true;
        }
        let _ = self.task.as_mut().poll(cx);
        match lock(&self.slot).result.take() {
            Some(written) => {
                self.in_flight = false;
                self.reader_gone |= written.reader_gone;
                Poll::Ready(written)
            }
            None => Poll::Pending,
        }
    }

    /// Cancels the write in flight, if any: the returned `unsent` holds exactly the items the
    /// reader did not take.
    pub(crate) fn cancel(&mut self) -> Option<Written<T>> {
        if !self.in_flight {
            return None;
        }
        lock(&self.slot).cancel = true;
        let _ = self
            .task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        self.in_flight = false;
        let written = lock(&self.slot).result.take();
        if let Some(w) = &written {
            self.reader_gone |= w.reader_gone;
        }
        written
    }

    /// Cancels the write in flight (returning its outcome) and hands back the writer, unless
    /// the reader is gone: then the writer is dropped (writing again would trap).
    pub(crate) fn into_writer(mut self) -> (Option<StreamWriter<T>>, Option<Written<T>>) {
        let last = self.cancel();
        lock(&self.slot).stop = true;
        match self
            .task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(writer) => ((!self.reader_gone).then_some(writer), last),
            Poll::Pending => unreachable!("the write task stops when asked to"),
        }
    }
}

/// The write task: writes one batch at a time, whole, until asked to stop.
async fn serve<T: Send + 'static>(
    mut writer: StreamWriter<T>,
    slot: Arc<Mutex<Slot<T>>>,
) -> StreamWriter<T> {
    loop {
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
        let Some(batch) = request else {
            return writer;
        };
        let (mut status, mut buf) = {
            let mut write = pin!(writer.write(batch));
            poll_fn(|cx| {
                if lock(&slot).cancel {
                    return Poll::Ready(write.as_mut().cancel());
                }
                write.as_mut().poll(cx)
            })
            .await
        };
        let mut cancelled = lock(&slot).cancel;
        // A write delivers part of the batch when the reader asked for fewer items; resume
        // with the rest, as `StreamWriter::write_all` does.
        while buf.remaining() > 0 && !cancelled && status != StreamResult::Dropped {
            let mut write = pin!(writer.write_buf(buf));
            (status, buf) = poll_fn(|cx| {
                if lock(&slot).cancel {
                    return Poll::Ready(write.as_mut().cancel());
                }
                write.as_mut().poll(cx)
            })
            .await;
            cancelled = lock(&slot).cancel;
        }
        let mut slot = lock(&slot);
        slot.cancel = false;
        slot.result = Some(Written {
            reader_gone: status == StreamResult::Dropped,
            unsent: buf.into_vec(),
        });
    }
}
