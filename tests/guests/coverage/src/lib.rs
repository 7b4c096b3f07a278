//! Test guest for the paths no other guest walks (world `coverage` in
//! tests/wit/coverage.wit): a relay between two connections, borrowed duplex halves,
//! adapters rebuilt from their parts mid-stream, adapters parked across export calls, abort
//! handles, detached join sets, aborted pumps and `Sender::into_inner`.

wit_bindgen::generate!({ path: "../../wit", world: "coverage" });

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use futures::future::poll_immediate;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{FutureExt, SinkExt, StreamExt};
use guest_common::check_eq;
use http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;
use wit_bindgen::{FutureReader, StreamReader, StreamWriter, yield_async};
use wit_futures::future::{Receiver, Send};
use wit_futures::http::IncomingBody;
use wit_futures::prelude::*;
use wit_futures::stream::{
    ByteReader, ByteWriter, ChunkSink, ChunkStream, Duplex, ItemStream, StreamSink, TryItemStream,
};
use wit_futures::task::{JoinSet, spawn};

struct Component;

export!(Component);

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

fn report_on(report: wit_bindgen::FutureWriter<String>, text: String) {
    spawn(async move {
        let _ = report.into_sender().send(text).await;
    })
    .detach();
}

impl Guest for Component {
    async fn relay(
        a: StreamReader<u8>,
        b: StreamReader<u8>,
    ) -> (StreamReader<u8>, StreamReader<u8>, FutureReader<String>) {
        let (a_tx, a_rx) = wit_stream::new();
        let (b_tx, b_rx) = wit_stream::new();
        let (report, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let mut a = a.into_duplex(a_tx);
            let mut b = b.into_duplex(b_tx);
            let text = match tokio::io::copy_bidirectional(&mut a, &mut b).await {
                Ok((a_to_b, b_to_a)) => format!("a->b {a_to_b}, b->a {b_to_a}"),
                Err(e) => format!("error: {e}"),
            };
            let _ = report.into_sender().send(text).await;
        })
        .detach();
        (a_rx, b_rx, report_rx)
    }

    async fn split_echo(receive: StreamReader<u8>) -> (StreamReader<u8>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let mut duplex = receive.into_duplex(tx);
            let echoed = async {
                // `duplex.split()` would be futures' `AsyncReadExt::split`.
                let (reader, writer) = Duplex::split(&mut duplex);
                let n = futures::io::copy(reader, writer).await?;
                duplex.close().await?;
                std::io::Result::Ok(n)
            };
            let text = match echoed.await {
                Ok(n) => format!("{n} bytes"),
                Err(e) => format!("error: {e}"),
            };
            let _ = report.into_sender().send(text).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn rebuild_items(
        input: StreamReader<u32>,
        end: FutureReader<Result<(), String>>,
        every: u32,
    ) -> (StreamReader<u32>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let text = rebuild_items(input, end.into_oneshot(), tx, every as usize).await;
            let _ = report.into_sender().send(text).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn rebuild_bytes(
        input: StreamReader<u8>,
        every: u32,
    ) -> (StreamReader<u8>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report, report_rx) = wit_future::new(String::new);
        spawn(async move {
            let text = match rebuild_bytes(input, tx, every as usize).await {
                Ok(text) | Err(text) => text,
            };
            let _ = report.into_sender().send(text).await;
        })
        .detach();
        (rx, report_rx)
    }

    async fn session_open(
        input: StreamReader<u8>,
        body: StreamReader<u8>,
        body_end: FutureReader<Result<Option<u32>, String>>,
    ) -> (FutureReader<u32>, StreamReader<u32>, StreamReader<u8>) {
        let (value_tx, value_rx) = wit_future::new(|| 0);
        let (chunks_tx, chunks_rx) = wit_stream::new();
        let (echo_tx, echo_rx) = wit_stream::new();
        let session = Session {
            send: value_tx.into_sender().send(42),
            sent: None,
            chunks: chunks_tx.into_chunk_sink(),
            duplex: input.into_duplex(echo_tx),
            echoed: 0,
            body: IncomingBody::new(Some(body), body_end, trailers_to_header_map),
            body_text: Vec::new(),
            trailers: None,
        };
        SESSION.with(|s| assert!(s.replace(Some(session)).is_none(), "one session at a time"));
        (value_rx, chunks_rx, echo_rx)
    }

    async fn session_step(round: u32, echo: u32) -> String {
        // Parks everything and puts the session back when the call ends, however it ends.
        let mut checkout = Checkout::take();
        let s = checkout.session();
        let mut said = Vec::new();
        // The value: one poll; it stays in flight until the host reads the future.
        if s.sent.is_none() {
            match poll_immediate(&mut s.send).await {
                Some(outcome) => {
                    s.sent = Some(outcome.map_err(|e| e.0));
                    said.push("send done".to_string());
                }
                None => said.push("send in flight".to_string()),
            }
        }
        // A batch: fed, then its write started.
        let batch = (0..3).map(|i| 10 * round + i).collect();
        s.chunks
            .feed(batch)
            .await
            .expect("the host reads the chunks");
        if poll_immediate(s.chunks.flush()).await.is_none() {
            said.push("chunks in flight".to_string());
        }
        // The echo: exactly what the host sent, written back, then one more read started.
        let mut buf = vec![0; echo as usize];
        s.duplex
            .read_exact(&mut buf)
            .await
            .expect("the host sent it");
        s.duplex
            .write_all(&buf)
            .await
            .expect("the host reads the echo");
        s.echoed += buf.len();
        let mut more = [0u8; 64];
        match poll_immediate(s.duplex.read(&mut more)).await {
            None => said.push("echo read in flight".to_string()),
            Some(Ok(n)) => {
                s.duplex.write_all(&more[..n]).await.expect("echo");
                s.echoed += n;
            }
            Some(Err(e)) => panic!("echo read failed: {e}"),
        }
        // The body: what is ready, then one more read started.
        loop {
            match poll_immediate(s.body.frame()).await {
                None => {
                    said.push("body read in flight".to_string());
                    break;
                }
                Some(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => s.body_text.extend_from_slice(&data),
                    Err(frame) => s.trailers = frame.into_trailers().ok(),
                },
                Some(Some(Err(e))) => panic!("body failed: {e}"),
                Some(None) => break,
            }
        }
        said.join(", ")
    }

    async fn session_close() -> String {
        let mut s = SESSION.with(|s| s.take()).expect("session-open first");
        let sent = match s.sent.take() {
            Some(outcome) => outcome,
            None => (&mut s.send).await.map_err(|e| e.0),
        };
        s.chunks.close().await.expect("the host reads the chunks");
        let mut rest = Vec::new();
        s.duplex.read_to_end(&mut rest).await.expect("echo input");
        s.duplex.write_all(&rest).await.expect("echo output");
        s.duplex.close().await.expect("echo close");
        s.echoed += rest.len();
        while let Some(frame) = s.body.frame().await {
            let frame = frame.expect("the body ends well");
            match frame.into_data() {
                Ok(data) => s.body_text.extend_from_slice(&data),
                Err(frame) => s.trailers = frame.into_trailers().ok(),
            }
        }
        let trailers = s
            .trailers
            .as_ref()
            .and_then(|t| t.get("x-n"))
            .map_or("none".to_string(), |v| v.to_str().unwrap().to_string());
        format!(
            "send {}, chunks closed, {} bytes echoed, body {} trailers {}",
            match sent {
                Ok(()) => "ok".to_string(),
                Err(v) => format!("returned {v}"),
            },
            s.echoed,
            String::from_utf8_lossy(&s.body_text),
            trailers
        )
    }

    async fn abort_handles(never: FutureReader<u32>, ready: FutureReader<u32>) -> Vec<String> {
        let mut waiting = spawn(async move { never.into_oneshot().await });
        let mut finishing = spawn(async move { ready.into_oneshot().await });
        let handles = [waiting.abort_handle(), finishing.abort_handle()];
        // The second task finishes first (the host's future is ready); a third task then
        // aborts both through their handles and says what `is_finished` said right after.
        let finished_value = (&mut finishing).await;
        let (done_tx, done_rx) = oneshot::channel();
        spawn(async move {
            for handle in &handles {
                handle.abort();
            }
            let _ = done_tx.send((handles.clone(), handles.map(|h| h.is_finished())));
        })
        .detach();
        let (handles, right_after) = done_rx.await.unwrap();
        let waited = (&mut waiting).await;
        let describe = |joined: Result<Result<u32, _>, wit_futures::task::JoinError>| match joined {
            Ok(Ok(v)) => format!("ok {v}"),
            Ok(Err(_)) => "the host dropped the future".to_string(),
            Err(e) if e.is_cancelled() => "cancelled".to_string(),
            Err(e) => format!("{e}"),
        };
        vec![
            format!(
                "waiting: {}, finished right after the abort {}, after the join {}",
                describe(waited),
                right_after[0],
                handles[0].is_finished()
            ),
            format!(
                "finishing: {}, finished right after the abort {}, after the join {}",
                describe(finished_value),
                right_after[1],
                handles[1].is_finished()
            ),
        ]
    }

    async fn detach_all(fs: Vec<FutureReader<u32>>) -> StreamReader<u32> {
        let (tx, rx) = wit_stream::new();
        let (values, doubled) = mpsc::unbounded();
        let mut set = JoinSet::new();
        for f in fs {
            let values = values.clone();
            set.spawn(async move {
                if let Ok(v) = f.into_oneshot().await {
                    let _ = values.unbounded_send(2 * v);
                }
            });
        }
        drop(values);
        set.detach_all();
        assert!(set.is_empty(), "detach_all empties the set");
        drop(set);
        // The output ends when the last task drops its sender.
        tx.spawn_forward(doubled).detach();
        rx
    }

    async fn abort_forward(
        input: StreamReader<u32>,
        stop: FutureReader<u32>,
    ) -> (StreamReader<u32>, FutureReader<String>) {
        let (tx, rx) = wit_stream::new();
        let (report, report_rx) = wit_future::new(String::new);
        let probe = Rc::new(());
        let guard = probe.clone();
        let source = input.into_item_stream().map(move |item| {
            let _ = &guard;
            item
        });
        let pump = tx.spawn_forward(source);
        spawn(async move {
            let _ = stop.into_oneshot().await;
            pump.abort();
            let cancelled = matches!(pump.await, Err(e) if e.is_cancelled());
            let dropped = Rc::strong_count(&probe) == 1;
            report_on(
                report,
                format!("cancelled {cancelled}, source dropped {dropped}"),
            );
        })
        .detach();
        (rx, report_rx)
    }

    async fn sender_into_inner() -> (FutureReader<u32>, FutureReader<u32>) {
        let (first, first_rx) = wit_future::new(|| 0);
        let (second, second_rx) = wit_future::new(|| 0);
        let writer = first.into_sender().into_inner();
        spawn(async move {
            let _ = writer.write(7).await;
        })
        .detach();
        drop(second.into_sender().into_inner());
        (first_rx, second_rx)
    }

    async fn run_case(name: String) -> Result<String, String> {
        match name.as_str() {
            "join-next-dropped-with-a-ready-output" => {
                join_next_dropped_with_a_ready_output().await
            }
            "join-next-losing-a-select" => join_next_losing_a_select().await,
            other => Err(format!("no case {other}")),
        }
    }
}

/// `join_next` polled while the task runs, then dropped once the task's output is ready:
/// the next `join_next` gets it.
async fn join_next_dropped_with_a_ready_output() -> Result<String, String> {
    let mut set = JoinSet::new();
    let (tx, rx) = oneshot::channel::<u32>();
    set.spawn(async move { rx.await.unwrap() });
    {
        let mut next = set.join_next();
        check_eq!(poll_immediate(&mut next).await.is_none(), true);
        tx.send(7).unwrap();
        // Let the task finish: its output is ready, and nobody polls `next` again.
        for _ in 0..4 {
            yield_async().await;
        }
    }
    let joined = set.join_next().await.map(|r| r.map_err(|e| e.to_string()));
    check_eq!(joined, Some(Ok(7)));
    check_eq!(set.join_next().await.is_none(), true);
    Ok("the output of a dropped join_next is kept".into())
}

/// `join_next` losing a `select!` to a branch that is ready at the same time, twice: every
/// output comes out of a later `join_next`, none is lost.
async fn join_next_losing_a_select() -> Result<String, String> {
    let mut set = JoinSet::new();
    for v in [1u32, 2] {
        set.spawn(async move { v });
    }
    for _ in 0..4 {
        yield_async().await;
    }
    let mut lost_races = 0;
    for _ in 0..2 {
        futures::select_biased! {
            _ = futures::future::ready(()).fuse() => lost_races += 1,
            _ = set.join_next() => return Err("the biased select took join_next".into()),
        }
    }
    let mut joined = Vec::new();
    while let Some(v) = set.join_next().await {
        joined.push(v.map_err(|e| e.to_string())?);
    }
    joined.sort_unstable();
    check_eq!(joined, vec![1, 2]);
    Ok(format!("{lost_races} lost races, both outputs joined"))
}

/// The reading adapters in turn.
enum Reader {
    Items(ItemStream<u32>),
    Chunks(ChunkStream<u32>),
    Try(TryItemStream<u32, String>),
}

/// The writing adapters in turn.
enum Writer {
    Items(StreamSink<u32>),
    Chunks(ChunkSink<u32>),
}

impl Writer {
    async fn write(&mut self, items: Vec<u32>) -> Result<(), String> {
        match self {
            Writer::Items(sink) => {
                for item in items {
                    sink.feed(item).await.map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            Writer::Chunks(sink) => sink.feed(items).await.map_err(|e| e.to_string()),
        }
    }

    async fn close(&mut self) -> Result<(), String> {
        match self {
            Writer::Items(sink) => sink.close().await.map_err(|e| e.to_string()),
            Writer::Chunks(sink) => sink.close().await.map_err(|e| e.to_string()),
        }
    }

    /// Starts a write of what is buffered, then takes the writer apart and rebuilds it as
    /// the other adapter: returns whether items were still unsent.
    async fn rebuild(self) -> Result<(Writer, bool), String> {
        let (writer, unsent) = match self {
            Writer::Items(mut sink) => {
                let _ = poll_immediate(sink.flush()).await;
                sink.into_inner()
            }
            Writer::Chunks(mut sink) => {
                let _ = poll_immediate(sink.flush()).await;
                sink.into_inner()
            }
        };
        let had_unsent = !unsent.is_empty();
        let Some(writer) = writer else {
            return Err("the output's reader left".into());
        };
        let next = if had_unsent && unsent.len() % 2 == 0 {
            Writer::Chunks(ChunkSink::from_parts(writer, unsent))
        } else {
            Writer::Items(StreamSink::from_parts(writer, unsent))
        };
        Ok((next, had_unsent))
    }
}

async fn rebuild_items(
    input: StreamReader<u32>,
    end: Receiver<Result<(), String>>,
    output: StreamWriter<u32>,
    every: usize,
) -> String {
    let mut reader = Reader::Items(input.into_item_stream().with_capacity(7));
    let mut end = Some(end);
    let mut writer = Writer::Items(output.into_sink().with_capacity(5));
    let (mut items, mut rebuilds, mut with_unread) = (0usize, 0usize, 0usize);
    let (mut writer_rebuilds, mut with_unsent) = (0usize, 0usize);
    let mut ended: Option<Result<(), String>> = None;
    let mut since = 0;
    loop {
        let got = match &mut reader {
            Reader::Items(s) => s.next().await.map(|v| vec![v]),
            Reader::Chunks(s) => s.next().await,
            Reader::Try(s) => match s.next().await {
                Some(Ok(v)) => Some(vec![v]),
                Some(Err(e)) => {
                    ended = Some(Err(e));
                    None
                }
                None => {
                    ended = Some(Ok(()));
                    None
                }
            },
        };
        let Some(got) = got else { break };
        items += got.len();
        since += got.len();
        if let Err(e) = writer.write(got).await {
            return format!("error: {e}");
        }
        if since < every {
            continue;
        }
        since = 0;
        // The reader: taken apart, rebuilt as the next adapter.
        let (back, unread) = match reader {
            Reader::Items(s) => s.into_inner(),
            Reader::Chunks(s) => s.into_inner(),
            Reader::Try(s) => {
                let (items, receiver) = s.into_inner();
                end = Some(receiver);
                items.into_inner()
            }
        };
        rebuilds += 1;
        with_unread += usize::from(!unread.is_empty());
        reader = match (back, rebuilds % 3) {
            // Ended: what was unread is all that is left.
            (None, _) => {
                items += unread.len();
                if let Err(e) = writer.write(unread).await {
                    return format!("error: {e}");
                }
                break;
            }
            (Some(back), 0) => Reader::Items(ItemStream::from_parts(back, unread)),
            (Some(back), 1) => Reader::Chunks(ChunkStream::from_parts(back, unread)),
            (Some(back), _) => Reader::Try(TryItemStream::from_parts(
                ItemStream::from_parts(back, unread),
                end.take()
                    .expect("the end is held while not in a try stream"),
            )),
        };
        // The writer, likewise.
        match writer.rebuild().await {
            Ok((next, had_unsent)) => {
                writer = next;
                writer_rebuilds += 1;
                with_unsent += usize::from(had_unsent);
            }
            Err(e) => return format!("error: {e}"),
        }
    }
    if let Err(e) = writer.close().await {
        return format!("error: {e}");
    }
    let ended = match ended {
        Some(ended) => ended,
        None => match end.take() {
            Some(end) => end.await.unwrap_or(Err("end dropped".into())),
            None => Err("the end was lost".into()),
        },
    };
    format!(
        "{items} items, {rebuilds} reader rebuilds ({with_unread} with unread items), \
         {writer_rebuilds} writer rebuilds ({with_unsent} with unsent items), end: {}",
        match ended {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("err {e}"),
        }
    )
}

/// The byte reading adapters in turn.
enum ByteSource {
    Read(ByteReader),
    Chunks(ChunkStream<u8>),
}

/// The byte writing adapters in turn.
enum ByteSink {
    Write(ByteWriter),
    Items(StreamSink<u8>),
}

async fn rebuild_bytes(
    input: StreamReader<u8>,
    output: StreamWriter<u8>,
    every: usize,
) -> Result<String, String> {
    let mut source = ByteSource::Read(input.into_async_read().with_capacity(11));
    let mut sink = ByteSink::Write(output.into_async_write().with_capacity(13));
    let (mut bytes, mut rebuilds, mut with_unread) = (0usize, 0usize, 0usize);
    let (mut writer_rebuilds, mut with_unsent) = (0usize, 0usize);
    let mut since = 0;
    let mut buf = [0u8; 5];
    let err = |e: &dyn std::fmt::Display| format!("error: {e}");
    loop {
        let got = match &mut source {
            ByteSource::Read(r) => {
                let n = r.read(&mut buf).await.map_err(|e| err(&e))?;
                buf[..n].to_vec()
            }
            ByteSource::Chunks(s) => s.next().await.unwrap_or_default(),
        };
        if got.is_empty() {
            break;
        }
        bytes += got.len();
        since += got.len();
        match &mut sink {
            ByteSink::Write(w) => w.write_all(&got).await.map_err(|e| err(&e))?,
            ByteSink::Items(s) => {
                for b in got {
                    s.feed(b).await.map_err(|e| err(&e))?;
                }
            }
        }
        if since < every {
            continue;
        }
        since = 0;
        let (back, unread) = match source {
            ByteSource::Read(r) => r.into_inner(),
            ByteSource::Chunks(s) => s.into_inner(),
        };
        rebuilds += 1;
        with_unread += usize::from(!unread.is_empty());
        source = match back {
            // Ended: what was unread is all that is left.
            None => {
                bytes += unread.len();
                match &mut sink {
                    ByteSink::Write(w) => w.write_all(&unread).await.map_err(|e| err(&e))?,
                    ByteSink::Items(s) => {
                        for b in unread {
                            s.feed(b).await.map_err(|e| err(&e))?;
                        }
                    }
                }
                break;
            }
            Some(back) if rebuilds % 2 == 1 => {
                ByteSource::Chunks(ChunkStream::from_parts(back, unread))
            }
            Some(back) => ByteSource::Read(ByteReader::from_parts(back, unread)),
        };
        let (back, unsent) = match sink {
            ByteSink::Write(mut w) => {
                let _ = poll_immediate(w.flush()).await;
                w.into_inner()
            }
            ByteSink::Items(mut s) => {
                let _ = poll_immediate(s.flush()).await;
                s.into_inner()
            }
        };
        writer_rebuilds += 1;
        with_unsent += usize::from(!unsent.is_empty());
        let back = back.ok_or_else(|| "error: the output's reader left".to_string())?;
        sink = if writer_rebuilds % 2 == 1 {
            ByteSink::Items(StreamSink::from_parts(back, unsent))
        } else {
            ByteSink::Write(ByteWriter::from_parts(back, unsent))
        };
    }
    match &mut sink {
        ByteSink::Write(w) => w.close().await.map_err(|e| err(&e))?,
        ByteSink::Items(s) => s.close().await.map_err(|e| err(&e))?,
    }
    Ok(format!(
        "{bytes} bytes, {rebuilds} reader rebuilds ({with_unread} with unread bytes), \
         {writer_rebuilds} writer rebuilds ({with_unsent} with unsent bytes)"
    ))
}

fn trailers_to_header_map(n: u32) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    map.insert("x-n", HeaderValue::from(n));
    Ok(map)
}

/// Adapters kept across export calls.
struct Session {
    send: Send<u32>,
    sent: Option<Result<(), u32>>,
    chunks: ChunkSink<u32>,
    duplex: Duplex,
    echoed: usize,
    body: IncomingBody<u32, String>,
    body_text: Vec<u8>,
    trailers: Option<HeaderMap>,
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// The session, taken out for one call: when the call ends (returns or is cancelled),
/// everything in flight is parked and the session goes back.
struct Checkout(Option<Session>);

impl Checkout {
    fn take() -> Checkout {
        Checkout(Some(
            SESSION.with(|s| s.take()).expect("session-open first"),
        ))
    }

    fn session(&mut self) -> &mut Session {
        self.0.as_mut().unwrap()
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let mut session = self.0.take().unwrap();
        session.send.park();
        session.chunks.park();
        session.duplex.park();
        session.body.park();
        SESSION.with(|s| *s.borrow_mut() = Some(session));
    }
}
