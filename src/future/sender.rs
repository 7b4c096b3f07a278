use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_channel::oneshot;
use futures_core::future::FusedFuture;
use wit_bindgen::{FutureWrite, FutureWriteCancel, FutureWriter};

use crate::error::SendError;
use crate::task::JoinHandle;

/// The sending half of a component-model `future<T>`.
///
/// Created by [`FutureWriterExt::into_sender`](super::FutureWriterExt::into_sender). Unlike a
/// bare [`FutureWriter::write`], a value passed to [`send`](Self::send) is not replaced by
/// the writer's default when the [`Send`] future is dropped: a spawned task delivers it,
/// unless the reader is gone. One case is beyond reach: if the component-model task (the
/// export call) that runs that spawned task is torn down first, wit-bindgen drops the write
/// and writes the default; await the `Send` (or keep it parked) where that matters.
///
/// Dropping a `Sender` without sending writes the default value chosen when the future was
/// created (wit-bindgen's rule: a `future<T>` must carry a value).
///
/// # Examples
///
/// ```no_run
/// use wit_futures::prelude::*;
/// # async fn example(writer: wit_bindgen::FutureWriter<u32>) {
/// match writer.into_sender().send(42).await {
///     Ok(()) => println!("the reader took 42"),
///     Err(e) => println!("reader gone; 42 is back: {}", e.into_inner()),
/// }
/// # }
/// ```
#[must_use = "dropping a Sender writes the future's default value"]
pub struct Sender<T: 'static> {
    writer: FutureWriter<T>,
}

impl<T: 'static> Sender<T> {
    pub(crate) fn new(writer: FutureWriter<T>) -> Self {
        Self { writer }
    }

    /// Sends `value`; the returned future says whether the reader took it.
    ///
    /// The write starts when the future is first polled or dropped, whichever comes first.
    /// If the [`Send`] future is dropped before the reader took the value (or never polled
    /// at all), the write goes on in a spawned task (see [`crate::task::spawn`]): the reader
    /// still gets `value`, not the default (unless the component-model task running that
    /// spawned task is torn down first; see [`Sender`]). Await the future to learn the
    /// outcome; use [`Send::cancel`] to take the value back instead.
    ///
    /// # Panics
    ///
    /// Polling or dropping the returned future panics outside a component-model task (an
    /// async export or `wit_bindgen::block_on`), like every wit-bindgen write.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(writer: wit_bindgen::FutureWriter<String>) {
    /// // Fire and forget: the reader gets "done" even though nobody awaits the send.
    /// drop(writer.into_sender().send("done".to_string()));
    /// # }
    /// ```
    pub fn send(self, value: T) -> Send<T> {
        Send {
            state: SendState::Idle(self.writer, value),
        }
    }

    /// Completes the future with the output of `value`, computed by a spawned task.
    ///
    /// The returned [`JoinHandle`] resolves to the outcome of the send: `Err(SendError(v))`
    /// gives the value back if the reader was gone by then. Dropping the handle detaches the
    /// task; the value is still delivered. A component-model `future<T>` gives its writer no
    /// signal that the reader left until a value is written, so `value` runs to completion
    /// even if nobody reads the result.
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task, where nothing can be spawned.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # async fn expensive() -> u32 { 7 }
    /// # fn example(writer: wit_bindgen::FutureWriter<u32>) {
    /// // e.g. in an export that returns the reader right away:
    /// writer.into_sender().spawn_send(async { expensive().await }).detach();
    /// # }
    /// ```
    pub fn spawn_send<F>(self, value: F) -> JoinHandle<Result<(), SendError<T>>>
    where
        F: Future<Output = T> + 'static,
    {
        crate::task::spawn(async move { self.send(value.await).await })
    }

    /// Turns this sender into a [`futures_channel::oneshot::Sender`], for APIs that demand
    /// one.
    ///
    /// A spawned task forwards the value sent on the channel. If the channel sender is
    /// dropped without sending, the component future gets its default value, as when a
    /// `Sender` is dropped. `is_canceled()` on the returned sender does not report the
    /// component reader leaving: a `future<T>` writer learns that only by writing.
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task, where nothing can be spawned.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(writer: wit_bindgen::FutureWriter<u32>) {
    /// let tx: futures::channel::oneshot::Sender<u32> = writer.into_sender().into_channel();
    /// tx.send(5).unwrap();
    /// # }
    /// ```
    #[must_use = "dropping the channel sender writes the future's default value"]
    pub fn into_channel(self) -> oneshot::Sender<T> {
        let (tx, rx) = oneshot::channel();
        crate::task::spawn(async move {
            if let Ok(value) = rx.await {
                // The reader leaving is not an error the channel can report.
                let _ = self.send(value).await;
            }
        })
        .detach();
        tx
    }

    /// Gives back the wit-bindgen writer.
    #[must_use = "dropping the writer writes the future's default value"]
    pub fn into_inner(self) -> FutureWriter<T> {
        self.writer
    }
}

impl<T: 'static> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// Future for [`Sender::send`]: resolves once the reader took the value, or hands the value
/// back if the reader is gone.
///
/// Fused: after it resolved, [`is_terminated`](FusedFuture::is_terminated) is true and
/// further polls return `Pending`.
///
/// # Cancel safety
///
/// Dropping a `Send` before it resolved does not cancel the write: a spawned task finishes
/// it, and the reader gets the value. If that reader is gone too, the value is dropped with
/// the task. To take the value back instead, use [`Send::cancel`].
#[must_use = "dropping a Send still delivers its value (on a spawned task); await it to learn the outcome"]
pub struct Send<T: 'static> {
    state: SendState<T>,
}

enum SendState<T: 'static> {
    /// Not started yet, or parked: the writer and the value to write.
    Idle(FutureWriter<T>, T),
    /// The write is in flight.
    Writing(Pin<Box<FutureWrite<T>>>),
    /// Parked after the write had finished: its outcome, for the next poll.
    Finished(Result<(), SendError<T>>),
    /// The outcome was handed out (or taken by `cancel`).
    Done,
}

/// What [`Send::cancel`] found.
#[derive(Debug)]
#[must_use = "dropping it drops the value that was not delivered"]
pub enum SendCancel<T: 'static> {
    /// The reader had already taken the value.
    Delivered,
    /// The reader is gone; here is the value.
    ReaderDropped(T),
    /// The write was stopped before the reader took the value; here are the value and the
    /// sender, to send again later.
    Cancelled(T, Sender<T>),
    /// The `Send` had already resolved and reported its outcome through `poll`.
    Finished,
}

impl<T: 'static> Send<T> {
    /// Stops the write, unless it already completed, and gives back what was not delivered.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::future::SendCancel;
    /// use wit_futures::prelude::*;
    /// # async fn example(writer: wit_bindgen::FutureWriter<u32>) {
    /// let mut send = writer.into_sender().send(1);
    /// let _ = futures::future::poll_immediate(&mut send).await;
    /// match send.cancel() {
    ///     SendCancel::Delivered => {}
    ///     SendCancel::ReaderDropped(v) | SendCancel::Cancelled(v, _) => assert_eq!(v, 1),
    ///     SendCancel::Finished => unreachable!(),
    /// }
    /// # }
    /// ```
    pub fn cancel(mut self) -> SendCancel<T> {
        match core::mem::replace(&mut self.state, SendState::Done) {
            SendState::Idle(writer, value) => SendCancel::Cancelled(value, Sender::new(writer)),
            SendState::Writing(mut write) => match write.as_mut().cancel() {
                FutureWriteCancel::AlreadySent => SendCancel::Delivered,
                FutureWriteCancel::Dropped(value) => SendCancel::ReaderDropped(value),
                FutureWriteCancel::Cancelled(value, writer) => {
                    SendCancel::Cancelled(value, Sender::new(writer))
                }
            },
            SendState::Finished(Ok(())) => SendCancel::Delivered,
            SendState::Finished(Err(SendError(value))) => SendCancel::ReaderDropped(value),
            SendState::Done => SendCancel::Finished,
        }
    }

    /// Stops a write in flight and keeps its value (or its outcome, if it had finished):
    /// the next poll starts the write again (or resolves). Does nothing if no write is in
    /// flight. See [`Park`](crate::Park) for why an adapter kept past the end of an export
    /// call must be parked.
    pub fn park(&mut self) {
        if let SendState::Writing(write) = &mut self.state {
            self.state = match write.as_mut().cancel() {
                FutureWriteCancel::AlreadySent => SendState::Finished(Ok(())),
                FutureWriteCancel::Dropped(value) => SendState::Finished(Err(SendError(value))),
                FutureWriteCancel::Cancelled(value, writer) => SendState::Idle(writer, value),
            };
        }
    }
}

// The write is boxed; the payload is never pinned.
impl<T> Unpin for Send<T> {}

impl<T: 'static> Future for Send<T> {
    type Output = Result<(), SendError<T>>;

    /// Returns `Ready(Ok(()))` once the reader took the value, `Ready(Err(SendError(value)))`
    /// if the reader is gone, `Pending` otherwise (only the most recent waker is woken) and
    /// `Pending` forever after it resolved.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match &mut self.state {
                SendState::Idle(..) => {
                    let SendState::Idle(writer, value) =
                        core::mem::replace(&mut self.state, SendState::Done)
                    else {
                        unreachable!()
                    };
                    self.state = SendState::Writing(Box::pin(writer.write(value)));
                }
                SendState::Writing(write) => {
                    let result = core::task::ready!(write.as_mut().poll(cx));
                    self.state = SendState::Done;
                    return Poll::Ready(result.map_err(|e| SendError(e.value)));
                }
                SendState::Finished(_) => {
                    let SendState::Finished(outcome) =
                        core::mem::replace(&mut self.state, SendState::Done)
                    else {
                        unreachable!()
                    };
                    return Poll::Ready(outcome);
                }
                SendState::Done => return Poll::Pending,
            }
        }
    }
}

impl<T: 'static> FusedFuture for Send<T> {
    fn is_terminated(&self) -> bool {
        matches!(self.state, SendState::Done)
    }
}

impl<T: 'static> Drop for Send<T> {
    fn drop(&mut self) {
        // Finish the write in the background rather than let wit-bindgen's drop cancel it
        // and write the default instead of the caller's value.
        match core::mem::replace(&mut self.state, SendState::Done) {
            SendState::Idle(writer, value) => crate::task::spawn(async move {
                let _ = writer.write(value).await;
            })
            .detach(),
            SendState::Writing(write) => crate::task::spawn(async move {
                let _ = write.await;
            })
            .detach(),
            SendState::Finished(_) | SendState::Done => {}
        }
    }
}

impl<T: 'static> fmt::Debug for Send<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            SendState::Idle(..) => "idle",
            SendState::Writing(_) => "writing",
            SendState::Finished(_) => "finished",
            SendState::Done => "done",
        };
        f.debug_struct("Send").field("state", &state).finish()
    }
}
