//! Reading a `stream<T>` in batches, on the [`Driver`] core: one read at a time into a
//! caller's buffer, cancellable at once with whatever raced in.

use core::task::{Context, Poll};

use wit_bindgen::{StreamReader, StreamResult};

use super::driver::{Cancel, Driver, cancellable};

/// What one read produced: its status and the buffer with the items read appended.
pub(crate) type ReadResult<T> = (StreamResult, Vec<T>);

pub(crate) struct ReadDriver<T: Send + 'static> {
    driver: Driver<StreamReader<T>, ReadResult<T>>,
    /// A read reported the writer gone. wit-bindgen does not always remember it, and the
    /// component model traps on a read after that, so the reader must not be read again or
    /// handed out.
    writer_gone: bool,
}

impl<T: Send + 'static> ReadDriver<T> {
    pub(crate) fn new(reader: StreamReader<T>) -> Self {
        Self {
            driver: Driver::new(reader),
            writer_gone: false,
        }
    }

    /// True while a read is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        self.driver.in_flight()
    }

    /// True once a read reported the writer gone: no more reads.
    pub(crate) fn writer_gone(&self) -> bool {
        self.writer_gone
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
        if !self.driver.in_flight() {
            debug_assert!(!self.writer_gone, "read after the writer left");
            let buf = buf.take().expect("a buffer to read into");
            self.driver
                .start(|reader, cancel| read(reader, buf, cancel));
        }
        let result = core::task::ready!(self.driver.poll(cx));
        self.writer_gone |= result.0 == StreamResult::Dropped;
        Poll::Ready(result)
    }

    /// Cancels the read in flight, if any, and returns its result: the items that raced in
    /// are in the returned buffer.
    pub(crate) fn cancel(&mut self) -> Option<ReadResult<T>> {
        let result = self.driver.cancel()?;
        self.writer_gone |= result.0 == StreamResult::Dropped;
        Some(result)
    }

    /// Cancels the read in flight (returning its result) and hands back the reader, unless
    /// the writer is gone: then the reader is dropped (reading it again would trap).
    pub(crate) fn into_reader(mut self) -> (Option<StreamReader<T>>, Option<ReadResult<T>>) {
        let last = self.cancel();
        let (reader, _) = self.driver.into_end();
        ((!self.writer_gone).then_some(reader), last)
    }
}

/// One read into `buf`'s spare capacity.
async fn read<T: Send + 'static>(
    mut reader: StreamReader<T>,
    buf: Vec<T>,
    cancel: Cancel,
) -> (StreamReader<T>, ReadResult<T>) {
    let result = cancellable(reader.read(buf), cancel, |read| read.cancel()).await;
    (reader, result)
}
