use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use futures_channel::oneshot;
use futures_core::future::FusedFuture;
use wit_bindgen::{FutureRead, FutureReader};

use crate::error::Canceled;

/// The receiving half of a component-model `future<T>`, as a oneshot receiver.
///
/// Created by [`FutureReaderExt::into_oneshot`](super::FutureReaderExt::into_oneshot).
/// Shaped after [`futures_channel::oneshot::Receiver`]: it resolves to `Ok(value)` once the
/// writer's value arrives, and to `Err(Canceled)` only after [`close`](Self::close) if no
/// value had arrived. (A `future<T>` always carries a value: a writer dropped without writing
/// sends the default that its creator chose, so `Canceled` never means "writer gone".)
///
/// `Receiver` is [`Unpin`] and [`FusedFuture`], so `&mut receiver` goes straight into
/// `futures::select!`. It is `Send` when `T` is.
///
/// # Cancel safety
///
/// Polling `&mut receiver` is cancel-safe: if another `select!` branch wins, the read stays
/// in flight inside the receiver and a value that arrives meanwhile is returned by a later
/// poll, [`try_recv`](Self::try_recv) or [`into_inner`](Self::into_inner). Nothing is lost
/// until the receiver itself is dropped; dropping it drops a value that had arrived, as
/// dropping a `futures_channel::oneshot::Receiver` does (use `into_inner` to keep it).
///
/// # Examples
///
/// ```no_run
/// use wit_futures::prelude::*;
/// # async fn example(a: wit_bindgen::FutureReader<u32>, b: wit_bindgen::FutureReader<u32>) {
/// let (mut a, mut b) = (a.into_oneshot(), b.into_oneshot());
/// let mut sum = 0;
/// loop {
///     futures::select! {
///         v = a => sum += v.unwrap(),
///         v = b => sum += v.unwrap(),
///         complete => break,
///     }
/// }
/// # }
/// ```
#[must_use = "dropping a Receiver cancels its read and drops a value that already arrived"]
pub struct Receiver<T: 'static> {
    state: State<T>,
}

enum State<T: 'static> {
    /// No read started yet.
    Idle(FutureReader<T>),
    /// A read is in flight; its result may already have arrived.
    Reading(Pin<Box<FutureRead<T>>>),
    /// No read will happen any more ([`Receiver::close`] ran, or [`Receiver::park`] found
    /// the value had arrived); holds the value until it is handed out.
    Settled(Option<T>),
    /// The value (or `Canceled`) was handed out.
    Done,
}

// The payload is only ever moved, never pinned: `Receiver<T>` is `Unpin` for every `T`.
impl<T> Unpin for Receiver<T> {}

/// What [`Receiver::into_inner`] gives back.
#[derive(Debug)]
#[must_use = "dropping it drops the value or the reader"]
pub enum Recovered<T: 'static> {
    /// No value had arrived: the reader, with no read in flight, ready to be read again or
    /// handed on.
    Reader(FutureReader<T>),
    /// The value had already arrived (possibly racing with `into_inner`): here it is. The
    /// reader is gone, as a `future<T>` carries only one value.
    Value(T),
    /// Nothing left: the value was already received, or the receiver was closed before any
    /// value arrived.
    Nothing,
}

impl<T: 'static> Receiver<T> {
    pub(crate) fn new(reader: FutureReader<T>) -> Self {
        Self {
            state: State::Idle(reader),
        }
    }

    /// A receiver that already handed out its value.
    pub(crate) fn terminated() -> Self {
        Self { state: State::Done }
    }

    /// Returns the value if it has arrived, without waiting.
    ///
    /// Starts the read if none is in flight (a `future<T>` value moves only into a pending
    /// read), so the first call can return `Ok(None)` even if the writer is ready: the value
    /// then arrives into the receiver and a later call or poll returns it.
    ///
    /// Returns `Ok(Some(value))` once, `Ok(None)` while the value has not arrived, and
    /// `Err(Canceled)` after the value was handed out or after [`close`](Self::close) without
    /// a value (as `futures_channel::oneshot::Receiver::try_recv` does).
    ///
    /// # Errors
    ///
    /// [`Canceled`] once the value was handed out, or after [`close`](Self::close) when no
    /// value had arrived.
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task (an async export or `wit_bindgen::block_on`),
    /// like every wit-bindgen read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::FutureReader<u32>) {
    /// let mut rx = reader.into_oneshot();
    /// match rx.try_recv() {
    ///     Ok(Some(v)) => println!("already here: {v}"),
    ///     Ok(None) => println!("not yet"),
    ///     Err(_canceled) => println!("closed, or already received"),
    /// }
    /// # }
    /// ```
    pub fn try_recv(&mut self) -> Result<Option<T>, Canceled> {
        match self.poll_recv(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result.map(Some),
            Poll::Pending => Ok(None),
        }
    }

    /// Hangs up: the writer's pending or later write sees the reader gone.
    ///
    /// A value that had already arrived is kept: the next poll (or `try_recv`) returns it.
    /// Otherwise the next poll returns `Err(Canceled)`. Calling `close` again, or after the
    /// value was received, does nothing.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::FutureReader<u32>) {
    /// let mut rx = reader.into_oneshot();
    /// rx.close();
    /// match rx.await {
    ///     Ok(v) => println!("{v} raced in before the close"),
    ///     Err(_canceled) => println!("no value; the writer sees the reader gone"),
    /// }
    /// # }
    /// ```
    pub fn close(&mut self) {
        self.state = match core::mem::replace(&mut self.state, State::Done) {
            // Dropping the reader is `future.drop-readable`: the writer sees it gone.
            State::Idle(_reader) => State::Settled(None),
            State::Reading(mut read) => State::Settled(read.as_mut().cancel().ok()),
            state @ (State::Settled(_) | State::Done) => state,
        };
    }

    /// Stops a read in flight, keeping the value if it had arrived (the next poll returns
    /// it); otherwise the reader is idle again and the next poll starts a new read. Does
    /// nothing if no read is in flight. See [`Park`](crate::Park) for why an adapter kept
    /// past the end of an export call must be parked.
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::FutureReader<u32>) {
    /// let mut rx = reader.into_oneshot();
    /// let _ = rx.try_recv(); // starts a read
    /// rx.park(); // no read in flight any more; a value that raced in is kept
    /// # }
    /// ```
    pub fn park(&mut self) {
        if let State::Reading(read) = &mut self.state {
            self.state = match read.as_mut().cancel() {
                Ok(value) => State::Settled(Some(value)),
                Err(reader) => State::Idle(reader),
            };
        }
    }

    /// A receiver of what [`into_inner`](Self::into_inner) gave back: it reads the reader,
    /// or returns the value, or is already done (from [`Recovered::Nothing`]: it is then
    /// terminated at once, as the receiver it came from was).
    ///
    /// ```no_run
    /// use wit_futures::future::Receiver;
    /// use wit_futures::prelude::*;
    /// # fn example(reader: wit_bindgen::FutureReader<u32>) {
    /// let recovered = reader.into_oneshot().into_inner();
    /// let rx = Receiver::from_recovered(recovered);
    /// # }
    /// ```
    pub fn from_recovered(recovered: Recovered<T>) -> Self {
        let state = match recovered {
            Recovered::Reader(reader) => State::Idle(reader),
            Recovered::Value(value) => State::Settled(Some(value)),
            Recovered::Nothing => State::Done,
        };
        Self { state }
    }

    /// Takes the reader back, or the value if it arrived first. Never drops a value.
    ///
    /// A read in flight is cancelled; if the value won the race with the cancellation it is
    /// returned as [`Recovered::Value`], otherwise the reader comes back as
    /// [`Recovered::Reader`] with no read in flight.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::future::Recovered;
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::FutureReader<u32>) {
    /// let mut rx = reader.into_oneshot();
    /// let _ = futures::future::poll_immediate(&mut rx).await; // start the read
    /// match rx.into_inner() {
    ///     Recovered::Reader(reader) => { /* hand the reader on, read it later */ }
    ///     Recovered::Value(v) => println!("{v} had already arrived"),
    ///     Recovered::Nothing => unreachable!("neither received nor closed"),
    /// }
    /// # }
    /// ```
    #[must_use = "dropping what into_inner gives back drops the value or the reader"]
    pub fn into_inner(mut self) -> Recovered<T> {
        match core::mem::replace(&mut self.state, State::Done) {
            State::Idle(reader) => Recovered::Reader(reader),
            State::Reading(mut read) => match read.as_mut().cancel() {
                Ok(value) => Recovered::Value(value),
                Err(reader) => Recovered::Reader(reader),
            },
            State::Settled(Some(value)) => Recovered::Value(value),
            State::Settled(None) | State::Done => Recovered::Nothing,
        }
    }

    /// Turns this receiver into a [`futures_channel::oneshot::Receiver`], for APIs that
    /// demand one.
    ///
    /// A spawned task (see [`crate::task::spawn`]) awaits the component value and sends it
    /// into the channel. Dropping (or closing) the returned channel receiver closes this
    /// receiver, so the component writer sees the reader gone; a value that had already
    /// arrived at that point is dropped with the channel, as the channel's own contract says.
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task, where nothing can be spawned.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::FutureReader<u32>) {
    /// let rx: futures::channel::oneshot::Receiver<u32> = reader.into_oneshot().into_channel();
    /// assert!(rx.await.is_ok());
    /// # }
    /// ```
    pub fn into_channel(mut self) -> oneshot::Receiver<T> {
        let (mut tx, rx) = oneshot::channel();
        crate::task::spawn(async move {
            let received = core::future::poll_fn(|cx| {
                if let Poll::Ready(received) = Pin::new(&mut self).poll(cx) {
                    return Poll::Ready(Some(received));
                }
                tx.poll_canceled(cx).map(|()| None)
            })
            .await;
            match received {
                // A send error means the channel receiver went away meanwhile.
                Some(Ok(value)) => drop(tx.send(value)),
                Some(Err(Canceled)) => {}
                None => self.close(),
            }
        })
        .detach();
        rx
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, Canceled>> {
        loop {
            match &mut self.state {
                State::Idle(_) => {
                    let State::Idle(reader) = core::mem::replace(&mut self.state, State::Done)
                    else {
                        unreachable!()
                    };
                    self.state = State::Reading(Box::pin(reader.into_future()));
                }
                State::Reading(read) => {
                    let value = core::task::ready!(read.as_mut().poll(cx));
                    self.state = State::Done;
                    return Poll::Ready(Ok(value));
                }
                State::Settled(value) => {
                    let value = value.take();
                    self.state = State::Done;
                    return Poll::Ready(value.ok_or(Canceled));
                }
                State::Done => return Poll::Ready(Err(Canceled)),
            }
        }
    }
}

impl<T: 'static> Future for Receiver<T> {
    type Output = Result<T, Canceled>;

    /// Polls for the value.
    ///
    /// Returns `Ready(Ok(value))` when it arrives, `Ready(Err(Canceled))` after
    /// [`close`](Self::close) without a value or after the value was handed out, and
    /// `Pending` otherwise; only the waker of the most recent poll is woken.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T: 'static> FusedFuture for Receiver<T> {
    /// True once the value or `Canceled` was handed out (by `poll` or `try_recv`); never
    /// merely because the value arrived.
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl<T: 'static> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(_) => "idle",
            State::Reading(_) => "reading",
            State::Settled(Some(_)) => "value waiting",
            State::Settled(None) => "closed",
            State::Done => "done",
        };
        f.debug_struct("Receiver").field("state", &state).finish()
    }
}
