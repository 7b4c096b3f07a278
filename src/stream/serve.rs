use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::collections::VecDeque;

use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::IntoFuture;
use std::rc::Rc;

use futures_core::Stream;
use futures_sink::Sink;
use futures_util::FutureExt;
use futures_util::stream::FuturesUnordered;
use wit_bindgen::{StreamReader, StreamWriter};

use super::{DEFAULT_CAPACITY, ItemStream, StreamSink};
use crate::cancel::{CancellationToken, WaitForCancellation};
use crate::error::{JoinError, SinkError};
use crate::task::{AbortOnDropHandle, JoinHandle, spawn};

/// In which order [`serve`] writes its results.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Order {
    /// In the order of the input items.
    Input,
    /// As the handlers finish.
    Completion,
}

/// What a [`serve`] run did.
///
/// Every input item read from the stream is accounted for exactly once:
/// `received == written + failures.len() + unsent.len() + aborted.len()`, and the items read
/// but never handed to the handler are in `unread`. `Debug` shows the counts, not the
/// payloads.
#[non_exhaustive]
#[must_use = "a Served carries the failures and the undelivered results"]
pub struct Served<I, O, E> {
    /// Input items handed to the handler (each one's index is its position in the input).
    /// A handler is called when its task first runs; the item of a task that never ran
    /// before serving stopped was not handed over: it is in `unread`.
    pub received: usize,
    /// Results written to the output stream.
    pub written: usize,
    /// Handler failures, with the index of the input item.
    pub failures: Vec<(usize, E)>,
    /// Results not delivered because the output's reader left: those that were waiting in
    /// the output, in output order, then those of handlers that had finished, in input order.
    pub unsent: Vec<O>,
    /// Indices of the input items whose handler did not finish: it was still running when
    /// serving stopped (and was aborted), or the component-model task ended under it.
    pub aborted: Vec<usize>,
    /// Input items read from the stream but not handed to the handler when serving stopped:
    /// those whose task had not run yet (in input order), then those still buffered from
    /// the input. Empty unless serving stopped early.
    pub unread: Vec<I>,
    /// Serving stopped because the token given to [`Serve::cancel_on`] was cancelled.
    pub cancelled: bool,
}

impl<I, O, E> fmt::Debug for Served<I, O, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Served")
            .field("received", &self.received)
            .field("written", &self.written)
            .field("failures", &self.failures.len())
            .field("unsent", &self.unsent.len())
            .field("aborted", &self.aborted)
            .field("unread", &self.unread.len())
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

/// Handlers that run at once unless [`Serve::limit`] says otherwise.
pub const DEFAULT_SERVE_LIMIT: usize = 16;

/// Handles each item of `input` with `handler` on its own spawned task and writes the
/// results to `output`, then closes it: the builder for such a run, started by
/// [`spawn`](Serve::spawn) or by awaiting it.
///
/// (Not to be confused with `wasi_http::serve` (feature `wasi-http`), which serves
/// one wasi:http request: both answer requests with a handler, for two kinds of request.)
///
/// A handler returns `Ok(result)`, written to `output` (in input order unless
/// [`order`](Serve::order) says [`Order::Completion`]), or `Err(e)`, recorded in
/// [`Served::failures`] without stopping the others. At most [`limit`](Serve::limit)
/// handlers run at once ([`DEFAULT_SERVE_LIMIT`] unless set), and input is read that many
/// items at a time (at most [`DEFAULT_CAPACITY`]), so at most that many items wait ahead of
/// the handlers. A result is taken from its handler only once the output has room for it.
///
/// If the output's reader leaves, serving stops when a write reports it, and nothing is
/// dropped unreported: results that were waiting in the output or whose handler had
/// finished are in [`Served::unsent`], items read but not yet handed to a handler are in
/// [`Served::unread`], and handlers still running are aborted, their indices in
/// [`Served::aborted`]. The input reader is then dropped (its writer sees the reader gone).
///
/// The handler is a closure, as in `StreamExt::for_each_concurrent`, so it can capture
/// state; each call's future is spawned (one task, so one allocation, per item).
///
/// # Cancel safety
///
/// The work runs on its own task; dropping the returned [`JoinHandle`] detaches it.
/// [Aborting](JoinHandle::abort) it drops everything in flight: the input reader, the output
/// writer with the results it held, and (through their abort-on-drop handles) the running
/// handlers.
///
/// # Examples
///
/// ```no_run
/// use wit_futures::stream::{Order, serve};
/// # async fn lookup(key: String) -> Result<u64, String> { Ok(key.len() as u64) }
/// # async fn example(keys: wit_bindgen::StreamReader<String>, values: wit_bindgen::StreamWriter<u64>) {
/// let served = serve(keys, values, lookup).limit(8).order(Order::Input).await.unwrap();
/// for (index, error) in &served.failures {
///     println!("key #{index} failed: {error}");
/// }
/// if !served.unsent.is_empty() {
///     println!("the reader left; {} values were not delivered", served.unsent.len());
/// }
/// # }
/// ```
pub fn serve<I, O, E, F, Fut>(
    input: StreamReader<I>,
    output: StreamWriter<O>,
    handler: F,
) -> Serve<I, O, F>
where
    I: Send + 'static,
    O: Send + 'static,
    E: 'static,
    F: FnMut(I) -> Fut + 'static,
    Fut: Future<Output = Result<O, E>> + 'static,
{
    Serve {
        input,
        output,
        handler,
        limit: DEFAULT_SERVE_LIMIT,
        order: Order::Input,
        cancel: None,
    }
}

/// Builder for a [`serve`] run: set [`limit`](Self::limit) and [`order`](Self::order),
/// then [`spawn`](Self::spawn) it (or `.await` it, which spawns it and waits).
#[must_use = "nothing is served until it is spawned or awaited"]
pub struct Serve<I: 'static, O: 'static, F> {
    input: StreamReader<I>,
    output: StreamWriter<O>,
    handler: F,
    limit: usize,
    order: Order,
    cancel: Option<CancellationToken>,
}

impl<I, O, F> Serve<I, O, F> {
    /// At most `limit` handlers run at once (0 means 1; `usize::MAX` means no limit).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }

    /// The order the results are written in: [`Order::Input`] (the default) or
    /// [`Order::Completion`].
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Stops serving when `token` is cancelled, with everything accounted for as when the
    /// output's reader leaves: handlers still running are aborted ([`Served::aborted`]),
    /// results not yet delivered are in [`Served::unsent`] (a write in flight is
    /// cancelled), items read and not handed to a handler are in [`Served::unread`], and
    /// [`Served::cancelled`] is set. Both streams are then dropped. Without it, serving
    /// runs until the input ends or the output's reader leaves (or the task is aborted,
    /// which drops everything in flight).
    pub fn cancel_on(mut self, token: &CancellationToken) -> Self {
        self.cancel = Some(token.clone());
        self
    }
}

impl<I, O, E, F, Fut> Serve<I, O, F>
where
    I: Send + 'static,
    O: Send + 'static,
    E: 'static,
    F: FnMut(I) -> Fut + 'static,
    Fut: Future<Output = Result<O, E>> + 'static,
{
    /// Starts serving on its own task; the handle resolves to what it did.
    ///
    /// # Panics
    ///
    /// Panics outside a component-model task, where nothing can be spawned.
    pub fn spawn(self) -> JoinHandle<Served<I, O, E>> {
        let Serve {
            input,
            output,
            handler,
            limit,
            order,
            cancel,
        } = self;
        let mut server = Server {
            cancelled: cancel.as_ref().map(CancellationToken::cancelled),
            // A `limit` of `usize::MAX` means "no limit", not a buffer of that size.
            input: ItemStream::new(input).with_capacity(limit.min(DEFAULT_CAPACITY)),
            input_done: false,
            output: StreamSink::new(output),
            running: match order {
                Order::Input => Running::Input(VecDeque::new()),
                Order::Completion => Running::Completion(FuturesUnordered::new()),
            },
            handler: Rc::new(RefCell::new(handler)),
            limit,
            next_index: 0,
            received: 0,
            sent: 0,
            failures: Vec::new(),
            aborted: Vec::new(),
            returned: Vec::new(),
        };
        spawn(async move {
            let outcome = poll_fn(|cx| server.poll_serve(cx)).await;
            server.finish(outcome)
        })
    }
}

impl<I, O, E, F, Fut> IntoFuture for Serve<I, O, F>
where
    I: Send + 'static,
    O: Send + 'static,
    E: 'static,
    F: FnMut(I) -> Fut + 'static,
    Fut: Future<Output = Result<O, E>> + 'static,
{
    type Output = Result<Served<I, O, E>, JoinError>;
    type IntoFuture = JoinHandle<Served<I, O, E>>;

    /// Spawns the run (see [`spawn`](Serve::spawn)).
    fn into_future(self) -> Self::IntoFuture {
        self.spawn()
    }
}

impl<I, O, F> fmt::Debug for Serve<I, O, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("limit", &self.limit)
            .field("order", &self.order)
            .field("cancel_on", &self.cancel.is_some())
            .finish_non_exhaustive()
    }
}

/// The state of one [`serve`] run.
struct Server<I: Send + 'static, O: Send + 'static, E, F> {
    /// Resolves when the token of [`Serve::cancel_on`] is cancelled.
    cancelled: Option<WaitForCancellation>,
    input: ItemStream<I>,
    input_done: bool,
    output: StreamSink<O>,
    running: Running<I, Result<O, E>>,
    /// Shared with the handlers' tasks: each calls it when it first runs.
    handler: Rc<RefCell<F>>,
    limit: usize,
    /// The input position of the next item read: an index is never reused, even when an
    /// item comes back unrun and `received` goes down.
    next_index: usize,
    received: usize,
    /// Results handed to `output`, including one it refused because its reader left.
    sent: usize,
    failures: Vec<(usize, E)>,
    aborted: Vec<usize>,
    /// Items of handlers whose task ended before it ran.
    returned: Vec<I>,
}

impl<I, O, E, F, Fut> Server<I, O, E, F>
where
    I: Send + 'static,
    O: Send + 'static,
    E: 'static,
    F: FnMut(I) -> Fut + 'static,
    Fut: Future<Output = Result<O, E>> + 'static,
{
    /// Ready once the input ended, every handler finished and the output closed; once the
    /// output's reader left; or once the token was cancelled.
    fn poll_serve(&mut self, cx: &mut Context<'_>) -> Poll<Stop<O>> {
        if let Some(cancelled) = &mut self.cancelled
            && Pin::new(cancelled).poll(cx).is_ready()
        {
            return Poll::Ready(Stop::Cancelled);
        }
        self.poll_work(cx).map(|done| match done {
            Ok(()) => Stop::Done,
            Err(hung_up) => Stop::ReaderLeft(hung_up),
        })
    }

    /// The serving itself: `Ok` once everything is done, the output's error once its reader
    /// left.
    fn poll_work(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SinkError<O>>> {
        loop {
            while !self.input_done && self.running.len() < self.limit {
                match Pin::new(&mut self.input).poll_next(cx) {
                    Poll::Ready(Some(item)) => {
                        // The handler is called when its task first runs: if serving stops
                        // before that, the item is still in `item` and comes back.
                        let item = Rc::new(Cell::new(Some(item)));
                        let (slot, handler) = (item.clone(), self.handler.clone());
                        let task = spawn(async move {
                            let item = slot.take().expect("a handler's item is taken once");
                            let work = (handler.borrow_mut())(item);
                            work.await
                        })
                        // Aborted if serving stops before it finishes.
                        .abort_on_drop();
                        self.running.push(Handler {
                            index: self.next_index,
                            task,
                            item,
                        });
                        self.next_index += 1;
                        self.received += 1;
                    }
                    Poll::Ready(None) => self.input_done = true,
                    Poll::Pending => break,
                }
            }
            // Room first, then a result: no result is ever held across a `Pending`.
            ready!(Pin::new(&mut self.output).poll_ready(cx))?;
            match self.running.poll_next(cx) {
                Poll::Ready(Some((_, Ok(Ok(result)), _))) => {
                    // Counted before it is handed over: a refused result comes back in the
                    // sink's error, which `finish` subtracts from `sent`.
                    self.sent += 1;
                    Pin::new(&mut self.output).start_send(result)?;
                }
                Poll::Ready(Some((index, Ok(Err(e)), _))) => self.failures.push((index, e)),
                // The task ended under the handler (its component-model task was torn
                // down); if it never ran, the item is still there.
                Poll::Ready(Some((index, Err(_), item))) => match item.take() {
                    Some(item) => {
                        self.received -= 1;
                        self.returned.push(item);
                    }
                    None => self.aborted.push(index),
                },
                Poll::Ready(None) if self.input_done => {
                    return Pin::new(&mut self.output).poll_close(cx);
                }
                Poll::Ready(None) | Poll::Pending => {
                    ready!(Pin::new(&mut self.output).poll_flush(cx))?;
                    return Poll::Pending;
                }
            }
        }
    }

    /// Accounts for everything still held once serving stopped.
    fn finish(self, stop: Stop<O>) -> Served<I, O, E> {
        let Server {
            input,
            output,
            running,
            sent,
            received,
            mut failures,
            mut aborted,
            returned,
            ..
        } = self;
        let cancelled = matches!(stop, Stop::Cancelled);
        let mut unsent = match stop {
            Stop::Done => Vec::new(),
            Stop::ReaderLeft(hung_up) => hung_up.into_unsent(),
            // Whatever the output had not delivered; dropping the writer ends the stream.
            Stop::Cancelled => output.into_inner().1,
        };
        let written = sent - unsent.len();
        let mut received = received;
        let mut unread = returned;
        for Handler {
            index,
            mut task,
            item,
        } in running.into_handlers()
        {
            match (&mut task).now_or_never() {
                Some(Ok(Ok(result))) => unsent.push(result),
                Some(Ok(Err(e))) => failures.push((index, e)),
                // Dropping `task` aborts the handler; one that never ran gives its item back.
                Some(Err(_)) | None => match item.take() {
                    Some(item) => {
                        received -= 1;
                        unread.push(item);
                    }
                    None => aborted.push(index),
                },
            }
        }
        aborted.sort_unstable();
        unread.extend(input.into_inner().1);
        Served {
            received,
            written,
            failures,
            unsent,
            aborted,
            unread,
            cancelled,
        }
    }
}

/// Why serving stopped.
enum Stop<O> {
    /// The input ended and everything was written.
    Done,
    /// The output's reader left.
    ReaderLeft(SinkError<O>),
    /// The token of [`Serve::cancel_on`] was cancelled.
    Cancelled,
}

/// One running handler, the index of its input item, and the item until the handler's task
/// takes it.
struct Handler<I, T> {
    index: usize,
    task: AbortOnDropHandle<T>,
    item: Rc<Cell<Option<I>>>,
}

// The item is only moved, never pinned.
impl<I, T> Unpin for Handler<I, T> {}

impl<I, T> Future for Handler<I, T> {
    type Output = (usize, Result<T, JoinError>, Rc<Cell<Option<I>>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (index, item) = (self.index, self.item.clone());
        Pin::new(&mut self.task)
            .poll(cx)
            .map(|joined| (index, joined, item))
    }
}

/// The running handlers, in the order their results are written.
enum Running<I, T> {
    /// Oldest first; only the oldest is polled, the others run on their own tasks.
    Input(VecDeque<Handler<I, T>>),
    Completion(FuturesUnordered<Handler<I, T>>),
}

impl<I, T> Running<I, T> {
    fn len(&self) -> usize {
        match self {
            Running::Input(handlers) => handlers.len(),
            Running::Completion(handlers) => handlers.len(),
        }
    }

    fn push(&mut self, handler: Handler<I, T>) {
        match self {
            Running::Input(handlers) => handlers.push_back(handler),
            Running::Completion(handlers) => handlers.push(handler),
        }
    }

    /// The next result in output order, with its index and item cell; `Ready(None)` when no
    /// handler is running.
    #[allow(clippy::type_complexity)]
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(usize, Result<T, JoinError>, Rc<Cell<Option<I>>>)>> {
        match self {
            Running::Input(handlers) => {
                let Some(oldest) = handlers.front_mut() else {
                    return Poll::Ready(None);
                };
                let joined = ready!(Pin::new(oldest).poll(cx));
                handlers.pop_front();
                Poll::Ready(Some(joined))
            }
            Running::Completion(handlers) => Pin::new(handlers).poll_next(cx),
        }
    }

    /// The handlers left, in input order.
    fn into_handlers(self) -> Vec<Handler<I, T>> {
        match self {
            Running::Input(handlers) => handlers.into(),
            Running::Completion(handlers) => {
                let mut handlers: Vec<_> = handlers.into_iter().collect();
                handlers.sort_unstable_by_key(|handler| handler.index);
                handlers
            }
        }
    }
}
