//! Writing a `stream<T>` batch by batch, on the [`Driver`] core: each batch is written
//! whole (resuming after partial writes) until delivered or the reader is gone; a write
//! can be cancelled at once, giving back exactly the items not delivered.

use core::task::{Context, Poll};

use wit_bindgen::{StreamResult, StreamWriter};

use super::driver::{Cancel, Driver, cancellable};

/// How a batch write ended.
pub(crate) struct Written<T> {
    /// The reader dropped its end.
    pub(crate) reader_gone: bool,
    /// The items not delivered, in order (empty when the whole batch was delivered); the
    /// allocation of the batch, for reuse.
    pub(crate) unsent: Vec<T>,
}

pub(crate) struct WriteDriver<T: Send + 'static> {
    driver: Driver<StreamWriter<T>, Written<T>>,
    /// A write reported the reader gone. The component model traps on a write after that,
    /// so the writer must not be written again or handed out.
    reader_gone: bool,
    /// Items in the batch in flight when it started: at most this many are not yet taken.
    in_flight_len: usize,
}

impl<T: Send + 'static> WriteDriver<T> {
    pub(crate) fn new(writer: StreamWriter<T>) -> Self {
        Self {
            driver: Driver::new(writer),
            reader_gone: false,
            in_flight_len: 0,
        }
    }

    /// True while a batch is being written.
    pub(crate) fn in_flight(&self) -> bool {
        self.driver.in_flight()
    }

    /// Items of the batch in flight not yet known to be taken (0 when none is in flight).
    pub(crate) fn in_flight_len(&self) -> usize {
        if self.driver.in_flight() {
            self.in_flight_len
        } else {
            0
        }
    }

    /// Polls for the outcome of writing a batch, starting to write `batch` if none is in
    /// flight (`batch` is then taken; otherwise it is left alone).
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        batch: &mut Option<Vec<T>>,
    ) -> Poll<Written<T>> {
        if !self.driver.in_flight() {
            debug_assert!(!self.reader_gone, "write after the reader left");
            let batch = batch.take().expect("a batch to write");
            self.in_flight_len = batch.len();
            self.driver
                .start(|writer, cancel| write_all(writer, batch, cancel));
        }
        let written = core::task::ready!(self.driver.poll(cx));
        self.reader_gone |= written.reader_gone;
        Poll::Ready(written)
    }

    /// Cancels the write in flight, if any: the returned `unsent` holds exactly the items the
    /// reader did not take.
    pub(crate) fn cancel(&mut self) -> Option<Written<T>> {
        let written = self.driver.cancel()?;
        self.reader_gone |= written.reader_gone;
        Some(written)
    }

    /// Cancels the write in flight (returning its outcome) and hands back the writer, unless
    /// the reader is gone: then the writer is dropped (writing again would trap).
    pub(crate) fn into_writer(mut self) -> (Option<StreamWriter<T>>, Option<Written<T>>) {
        let last = self.cancel();
        let (writer, _) = self.driver.into_end();
        ((!self.reader_gone).then_some(writer), last)
    }
}

/// Writes `batch` whole: a write delivers part of it when the reader asked for fewer items,
/// so it resumes with the rest, as `StreamWriter::write_all` does, until everything was
/// delivered, the reader left, or the write was cancelled.
async fn write_all<T: Send + 'static>(
    mut writer: StreamWriter<T>,
    batch: Vec<T>,
    cancel: Cancel,
) -> (StreamWriter<T>, Written<T>) {
    let (mut status, mut buf) =
        cancellable(writer.write(batch), cancel, |write| write.cancel()).await;
    while buf.remaining() > 0 && status != StreamResult::Dropped && !cancel.is_set() {
        (status, buf) = cancellable(writer.write_buf(buf), cancel, |write| write.cancel()).await;
    }
    let written = Written {
        reader_gone: status == StreamResult::Dropped,
        unsent: buf.into_vec(),
    };
    (writer, written)
}
