//! The reading core shared by [`ItemStream`](super::ItemStream),
//! [`ChunkStream`](super::ChunkStream) and [`ByteReader`](super::ByteReader): a
//! [`ReadDriver`] and the items it read that were not handed out yet.

use core::task::{Context, Poll};

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
    /// Items read and not yet handed out, oldest first: handing one out is
    /// `vec::IntoIter::next`, the cheapest way to move items out of a `Vec` one by one.
    items: std::vec::IntoIter<T>,
    /// The most items one read asks for.
    capacity: usize,
    /// What the next read asks for: it starts small (a short stream costs a small buffer)
    /// and doubles after each read that filled its buffer, up to `capacity`.
    next_read: usize,
    /// The end was handed out: `poll_fill` returned `Ready(false)`. (The writer can be known
    /// gone before that, e.g. when `park` finds it so; `FusedStream` waits for the end.)
    finished: bool,
}

/// The first read asks for about this many bytes' worth of items.
const FIRST_READ_BYTES: usize = 1024;

impl<T: Send + 'static> ReadBuffer<T> {
    pub(crate) fn new(reader: StreamReader<T>, capacity: usize) -> Self {
        Self::from_parts(reader, Vec::new(), capacity)
    }

    /// A buffer that hands out `unread` before it reads `reader`.
    pub(crate) fn from_parts(reader: StreamReader<T>, unread: Vec<T>, capacity: usize) -> Self {
        let mut buffer = Self {
            driver: ReadDriver::new(reader),
            items: unread.into_iter(),
            capacity: 0,
            next_read: 0,
            finished: false,
        };
        buffer.set_capacity(capacity);
        buffer
    }

    /// Sets how many items each read asks for at most, from the next read on.
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = clamp_capacity::<T>(capacity);
        let first = (FIRST_READ_BYTES / core::mem::size_of::<T>().max(1)).max(1);
        self.next_read = first.min(self.capacity);
    }

    /// Makes the next read ask for `items` (at least 1, at most the capacity), e.g. what
    /// is left of a body of known size.
    #[cfg(feature = "http")]
    pub(crate) fn set_next_read(&mut self, items: usize) {
        self.next_read = items.clamp(1, self.capacity);
    }

    /// The items read and not handed out.
    pub(crate) fn items(&mut self) -> &mut std::vec::IntoIter<T> {
        &mut self.items
    }

    /// Hands out every buffered item at once (without a copy when none was handed out
    /// one by one).
    #[cfg(feature = "http")]
    pub(crate) fn take_items(&mut self) -> Vec<T> {
        core::mem::take(&mut self.items).collect()
    }

    /// How many items are buffered.
    pub(crate) fn buffered(&self) -> usize {
        self.items.len()
    }

    /// True while a read is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        self.driver.in_flight()
    }

    /// True once the end of the stream was handed out (`poll_fill` returned `Ready(false)`).
    pub(crate) fn ended(&self) -> bool {
        self.finished
    }

    /// True once the writer is gone (items may still be buffered).
    pub(crate) fn writer_gone(&self) -> bool {
        self.driver.writer_gone()
    }

    /// `Ready(true)` once items are buffered, `Ready(false)` at the end of the stream.
    #[inline]
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if self.items.len() > 0 {
            return Poll::Ready(true);
        }
        self.poll_read_batch(cx)
    }

    /// The buffer is empty: reads the next batch. Out of line so that the per-item paths
    /// stay small enough to inline into the caller's loop.
    #[inline(never)]
    pub(crate) fn poll_read_batch(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            if self.items.len() > 0 {
                return Poll::Ready(true);
            }
            if self.driver.writer_gone() {
                self.finished = true;
                return Poll::Ready(false);
            }
            let mut next = None;
            if !self.driver.in_flight() {
                next = Some(self.next_buffer());
            }
            let (_, read) = core::task::ready!(self.driver.poll_read(cx, &mut next));
            if read.len() == read.capacity() {
                // The writer had more than we asked for: ask for more next time.
                self.next_read = (self.next_read * 2).min(self.capacity);
            }
            // A read may complete with no items: the loop reads again.
            self.items = read.into_iter();
        }
    }

    /// An empty buffer of `next_read` items for the next read: the spent one's allocation
    /// when it has that size (a long stream then reads into one buffer, still in cache,
    /// with no allocation per read), else a new one.
    fn next_buffer(&mut self) -> Vec<T> {
        // Only an exhausted buffer is taken back: items left would be dropped.
        if self.items.len() == 0 {
            // Collecting a `vec::IntoIter` adapter into a `Vec` reuses the source's
            // allocation (std's in-place collection); were that to change, this is a new
            // empty `Vec`.
            let spent: Vec<T> = core::mem::take(&mut self.items).filter(|_| false).collect();
            if spent.capacity() == self.next_read {
                return spent;
            }
        }
        Vec::with_capacity(self.next_read)
    }

    /// Cancels the read in flight, if any, keeping the items that raced in: afterwards
    /// nothing is in flight and every item is in the buffer.
    pub(crate) fn park(&mut self) {
        if let Some((_, raced_in)) = self.driver.cancel()
            && !raced_in.is_empty()
        {
            let mut items: Vec<T> = core::mem::take(&mut self.items).collect();
            items.extend(raced_in);
            self.items = items.into_iter();
        }
    }

    /// The reader (with no read in flight; `None` once the writer is gone) and every item
    /// read and not handed out, including those that raced in before the cancellation.
    pub(crate) fn into_parts(self) -> (Option<StreamReader<T>>, Vec<T>) {
        let (reader, last) = self.driver.into_reader();
        let mut unread: Vec<T> = self.items.collect();
        if let Some((_, raced_in)) = last {
            unread.extend(raced_in);
        }
        (reader, unread)
    }
}
