//! The reading core shared by [`ItemStream`](super::ItemStream),
//! [`ChunkStream`](super::ChunkStream) and [`ByteReader`](super::ByteReader): a
//! [`ReadDriver`] and the items it read that were not handed out yet.

use core::task::{Context, Poll};
use std::collections::VecDeque;

use wit_bindgen::StreamReader;

use super::read_driver::ReadDriver;

/// The most memory one read asks for, whatever the capacity says: a huge capacity must not
/// abort the process.
const MAX_READ_BYTES: usize = 16 << 20;

/// `capacity` items, at least 1 and at most [`MAX_READ_BYTES`] worth of `T`.
pub(crate) fn clamp_capacity<T>(capacity: usize) -> usize {
    let max = (MAX_READ_BYTES / core::mem::size_of::<T>().max(1)).max(1);
    capacity.clamp(1, max)
}

pub(crate) struct ReadBuffer<T: Send + 'static> {
    driver: ReadDriver<T>,
    /// Items read and not yet handed out, oldest first. A read fills it from empty, so it
    /// is contiguous unless [`park`](ReadBuffer::park) added to it.
    items: VecDeque<T>,
    capacity: usize,
}

impl<T: Send + 'static> ReadBuffer<T> {
    pub(crate) fn new(reader: StreamReader<T>, capacity: usize) -> Self {
        Self::from_parts(reader, Vec::new(), capacity)
    }

    /// A buffer that hands out `unread` before it reads `reader`.
    pub(crate) fn from_parts(reader: StreamReader<T>, unread: Vec<T>, capacity: usize) -> Self {
        Self {
            driver: ReadDriver::new(reader),
            items: VecDeque::from(unread),
            capacity: clamp_capacity::<T>(capacity),
        }
    }

    /// Sets how many items each read asks for, from the next read on.
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = clamp_capacity::<T>(capacity);
    }

    /// The items read and not handed out.
    pub(crate) fn items(&mut self) -> &mut VecDeque<T> {
        &mut self.items
    }

    /// How many items are buffered.
    pub(crate) fn buffered(&self) -> usize {
        self.items.len()
    }

    /// True while a read is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        self.driver.in_flight()
    }

    /// True once every item was handed out and the writer is gone.
    pub(crate) fn ended(&self) -> bool {
        self.items.is_empty() && self.driver.writer_gone()
    }

    /// True once the writer is gone (items may still be buffered).
    pub(crate) fn writer_gone(&self) -> bool {
        self.driver.writer_gone()
    }

    /// `Ready(true)` once items are buffered, `Ready(false)` at the end of the stream.
    #[inline]
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if !self.items.is_empty() {
            return Poll::Ready(true);
        }
        self.poll_read_batch(cx)
    }

    /// The buffer is empty: reads the next batch. Out of line so that the per-item paths
    /// stay small enough to inline into the caller's loop.
    #[inline(never)]
    pub(crate) fn poll_read_batch(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            if !self.items.is_empty() {
                return Poll::Ready(true);
            }
            if self.driver.writer_gone() {
                return Poll::Ready(false);
            }
            let mut next = None;
            if !self.driver.in_flight() {
                // The emptied buffer's allocation is the next read's buffer.
                let mut buf = Vec::from(core::mem::take(&mut self.items));
                buf.clear();
                if buf.capacity() > self.capacity {
                    buf.shrink_to(self.capacity);
                }
                buf.reserve_exact(self.capacity);
                next = Some(buf);
            }
            let (_, read) = core::task::ready!(self.driver.poll_read(cx, &mut next));
            // A read may complete with no items: the loop reads again.
            self.items = VecDeque::from(read);
        }
    }

    /// Cancels the read in flight, if any, keeping the items that raced in: afterwards
    /// nothing is in flight and every item is in the buffer.
    pub(crate) fn park(&mut self) {
        if let Some((_, raced_in)) = self.driver.cancel() {
            self.items.extend(raced_in);
        }
    }

    /// The reader (with no read in flight; `None` once the writer is gone) and every item
    /// read and not handed out, including those that raced in before the cancellation.
    pub(crate) fn into_parts(self) -> (Option<StreamReader<T>>, Vec<T>) {
        let (reader, last) = self.driver.into_reader();
        let mut unread = Vec::from(self.items);
        if let Some((_, raced_in)) = last {
            unread.extend(raced_in);
        }
        (reader, unread)
    }
}
