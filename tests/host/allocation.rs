//! The guest's read and write sizes do not set the host's allocations: a guest that reads
//! (or writes) millions of items at once makes the host adapters allocate batches of at
//! most [`HOST_READ_BATCH`] items, never one buffer of the guest's size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use wit_futures_harness::{FutureReader, Guest, StreamReader};
use wit_futures_wasmtime::stream::{GuestStream, HOST_READ_BATCH, from_iter, from_stream};

/// Records the largest single allocation since the last [`reset`].
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// The record is process-wide: the tests here take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const GUEST: &str = "guest-host-peer";

/// Items the guest moves in one read or write: 64 MiB of `u32` on the host.
const HUGE: u32 = 1 << 24;

/// Anything the host allocates while moving the items, one batch included, stays far below
/// the guest's one read (`HUGE` items); wasmtime's own bookkeeping is well under this.
const LIMIT: usize = 4 << 20;

#[tokio::test]
async fn a_huge_guest_read_does_not_set_from_iters_allocation() {
    huge_read(false).await;
}

#[tokio::test]
async fn a_huge_guest_read_does_not_set_from_streams_allocation() {
    huge_read(true).await;
}

async fn huge_read(stream: bool) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut g = Guest::new(GUEST).await;
    let read = g.func::<(StreamReader<u32>, u32), ((u64, u64),)>("read-numbers");
    LARGEST.store(0, Ordering::Relaxed);
    let ((count, sum),) = g
        .run(async |a| {
            let s = a
                .with(|store| {
                    if stream {
                        from_stream(store, futures::stream::iter(0..HUGE))
                    } else {
                        from_iter(store, 0..HUGE)
                    }
                })
                .unwrap();
            read.call_concurrent(a, (s, HUGE)).await.unwrap()
        })
        .await;
    let largest = LARGEST.load(Ordering::Relaxed);
    assert_eq!(count, u64::from(HUGE));
    assert_eq!(sum, (0..u64::from(HUGE)).sum::<u64>());
    assert!(
        largest < LIMIT,
        "one guest read of {HUGE} items made the host allocate {largest} bytes at once \
         (a batch is at most {HOST_READ_BATCH} items)"
    );
    g.assert_nothing_open().await;
}

/// The same for a guest's huge write into a `GuestStream`.
#[tokio::test]
async fn a_huge_guest_write_does_not_set_guest_streams_allocation() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut g = Guest::new(GUEST).await;
    let write = g.func::<(u64, u32, u32), ((StreamReader<u8>, FutureReader<u64>),)>("write-bytes");
    let n = u64::from(HUGE) * 4;
    LARGEST.store(0, Ordering::Relaxed);
    let (count, taken) = g
        .run(async |a| {
            let ((s, taken),) = write.call_concurrent(a, (n, u32::MAX, 0)).await.unwrap();
            let bytes = a.with(|store| GuestStream::new(store, s)).unwrap();
            let count = bytes.count().await;
            (
                count,
                wit_futures_harness::peer::read_future(a, taken).await,
            )
        })
        .await;
    let largest = LARGEST.load(Ordering::Relaxed);
    assert_eq!((count as u64, taken), (n, n));
    assert!(
        largest < LIMIT,
        "one guest write of {n} bytes made the host allocate {largest} bytes at once"
    );
    g.assert_nothing_open().await;
}
