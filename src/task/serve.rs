use core::future::Future;

use futures_util::{StreamExt, future};
use wit_bindgen::{StreamReader, StreamWriter};

use super::{JoinHandle, spawn};
use crate::stream::{StreamReaderExt, StreamWriterExt};

/// In which order [`serve`] writes its results.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Order {
    /// In the order of the input items.
    Input,
    /// As the handlers finish.
    Completion,
}

/// What a [`serve`] run did.
#[derive(Debug)]
pub struct Served<O, E> {
    /// Items read from the input stream.
    pub received: usize,
    /// Results written to the output stream.
    pub written: usize,
    /// Handler failures, with the index of the input item.
    pub failures: Vec<(usize, E)>,
    /// Results not delivered because the output's reader left, in output order.
    pub unsent: Vec<O>,
}

/// Handles each item of `input` with `handler` on its own spawned task, at most `limit` at
/// once, and writes the results to `output`, then closes it.
///
/// A handler returns `Ok(result)`, written to `output` (in input order or as handlers finish,
/// per `order`), or `Err(e)`, recorded in [`Served::failures`] without stopping the others.
/// At most `limit` handlers run at once (a `limit` of 0 means 1); input is read in batches,
/// so up to one batch of input items can be read ahead of the handlers.
/// If the output's reader leaves, serving stops when a write reports it: the input reader
/// is dropped, running handlers are aborted, and the results that were in the output sink
/// are in [`Served::unsent`]. **Known gap:** input items already read but not yet handed to
/// a handler, and results of handlers that finished but were not yet written, are dropped
/// then; they are not reported.
///
/// The handler is a closure rather than a trait: each call's future is spawned as it is,
/// with no boxing per item, and it can capture state, as in `StreamExt::for_each_concurrent`.
/// (A dyn-compatible trait would box every call's future, one allocation per item.)
///
/// # Panics
///
/// Panics outside a component-model task, where nothing can be spawned.
///
/// # Examples
///
/// ```no_run
/// use wit_futures::task::{Order, serve};
/// # async fn lookup(key: String) -> Result<u64, String> { Ok(key.len() as u64) }
/// # async fn example(keys: wit_bindgen::StreamReader<String>, values: wit_bindgen::StreamWriter<u64>) {
/// let served = serve(keys, values, 8, Order::Input, lookup).await.unwrap();
/// for (index, error) in &served.failures {
///     println!("key #{index} failed: {error}");
/// }
/// # }
/// ```
pub fn serve<I, O, E, F, Fut>(
    input: StreamReader<I>,
    output: StreamWriter<O>,
    limit: usize,
    order: Order,
    mut handler: F,
) -> JoinHandle<Served<O, E>>
where
    I: Send + 'static,
    O: Send + 'static,
    E: 'static,
    F: FnMut(I) -> Fut + 'static,
    Fut: Future<Output = Result<O, E>> + 'static,
{
    spawn(async move {
        let mut received = 0;
        let tasks = input.into_item_stream().map(|item| {
            let index = received;
            received += 1;
            // Aborted if serving stops before it finishes.
            let task = spawn(handler(item)).abort_on_drop();
            async move { (index, task.await) }
        });
        let mut failures = Vec::new();
        let mut written = 0;
        let results = {
            let failures = &mut failures;
            let written = &mut written;
            let keep_ok = move |(index, joined)| {
                future::ready(match joined {
                    Ok(Ok(result)) => {
                        *written += 1;
                        Some(result)
                    }
                    Ok(Err(e)) => {
                        failures.push((index, e));
                        None
                    }
                    // Handler tasks are aborted only when serving stops, and then nobody
                    // polls them.
                    Err(_) => None,
                })
            };
            let limit = limit.max(1);
            match order {
                Order::Input => tasks.buffered(limit).filter_map(keep_ok).left_stream(),
                Order::Completion => tasks
                    .buffer_unordered(limit)
                    .filter_map(keep_ok)
                    .right_stream(),
            }
        };
        let forwarded = crate::stream::forward(results, output.into_sink()).await;
        let unsent = forwarded.err().map(|e| e.into_unsent()).unwrap_or_default();
        Served {
            received,
            written: written - unsent.len(),
            failures,
            unsent,
        }
    })
}
