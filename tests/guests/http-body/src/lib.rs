//! Test guest for the http-body bridge (world `http-body` in tests/wit/http-body.wit).

wit_bindgen::generate!({ path: "../../wit", world: "http-body" });

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::FusedFuture;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use wit_bindgen::{FutureReader, StreamReader, StreamResult, yield_async};
use wit_futures::http::{BodyWriter, IncomingBody};
use wit_futures::prelude::*;
use wit_futures::task::spawn;

struct Component;

export!(Component);

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

fn to_header_map(fields: Fields) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        let header =
            HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("{name:?}: {e}"))?;
        let value = HeaderValue::from_bytes(&value).map_err(|e| format!("{name}: {e}"))?;
        map.append(header, value);
    }
    Ok(map)
}

fn from_header_map(map: &HeaderMap) -> Result<Fields, String> {
    map.iter()
        .map(|(name, value)| match name.as_str() {
            "x-refuse" => Err(format!("refused trailer {name}")),
            _ => Ok((name.as_str().to_owned(), value.as_bytes().to_vec())),
        })
        .collect()
}

/// What a reader saw of a body.
#[derive(Default)]
struct Seen {
    bytes: u64,
    mismatch: Option<u64>,
    end: Option<String>,
}

impl Seen {
    fn data(&mut self, data: &[u8]) {
        for (i, byte) in data.iter().enumerate() {
            let at = self.bytes + i as u64;
            if self.mismatch.is_none() && *byte != pattern_byte(at) {
                self.mismatch = Some(at);
            }
        }
        self.bytes += data.len() as u64;
    }

    fn frame(&mut self, frame: Frame<Bytes>) {
        match frame.into_data() {
            Ok(data) => self.data(&data),
            Err(frame) => {
                let map = frame.into_trailers().expect("data or trailers");
                let list: Vec<String> = map
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                    .collect();
                self.end = Some(format!("trailers [{}]", list.join(", ")));
            }
        }
    }

    fn report(&self) -> String {
        let pattern = match self.mismatch {
            None => "pattern ok".to_owned(),
            Some(at) => format!("pattern broken at {at}"),
        };
        let end = self.end.as_deref().unwrap_or("no trailers");
        format!("{} bytes, {pattern}, {end}", self.bytes)
    }
}

/// Reads the rest of a raw reader into `seen`.
async fn read_raw(mut reader: StreamReader<u8>, seen: &mut Seen) {
    loop {
        let (result, buf) = reader.read(Vec::with_capacity(1000)).await;
        seen.data(&buf);
        if result == StreamResult::Dropped {
            return;
        }
    }
}

impl Guest for Component {
    async fn read_body(
        contents: Option<StreamReader<u8>>,
        end: FutureReader<Result<Option<Fields>, String>>,
        size_hint: u64,
        race: bool,
    ) -> String {
        let mut body = IncomingBody::new(contents, end, to_header_map);
        if size_hint > 0 {
            body = body.with_size_hint(SizeHint::with_exact(size_hint));
        }
        let mut seen = Seen::default();
        let mut hint_ok = true;
        let mut timer_won = false;
        loop {
            let frame = if race {
                futures::select! {
                    frame = body.frame().fuse() => frame,
                    () = yield_async().fuse() => {
                        timer_won = true;
                        continue;
                    }
                }
            } else {
                body.frame().await
            };
            match frame {
                None => break,
                Some(Ok(frame)) => seen.frame(frame),
                Some(Err(e)) => seen.end = Some(format!("error {e}")),
            }
            if size_hint > 0 && seen.end.is_none() {
                hint_ok &= body.size_hint().exact() == Some(size_hint - seen.bytes);
            }
        }
        // Fused: ended for good.
        let fused = body.is_end_stream() && body.frame().await.is_none();
        let mut report = format!(
            "{}, end_stream {}, size_hint {}",
            seen.report(),
            if fused { "ok" } else { "wrong" },
            if hint_ok { "ok" } else { "wrong" }
        );
        if timer_won {
            report.push_str(", timer won");
        }
        report
    }

    async fn read_then_into_inner(
        contents: StreamReader<u8>,
        end: FutureReader<Result<Option<Fields>, String>>,
        frames: u32,
    ) -> String {
        let mut body = contents.into_http_body(end, to_header_map);
        let mut seen = Seen::default();
        let mut data_frames = 0;
        while data_frames < frames {
            match body.frame().await {
                Some(Ok(frame)) => {
                    data_frames += u32::from(frame.is_data());
                    seen.frame(frame);
                }
                Some(Err(e)) => seen.end = Some(format!("error {e}")),
                None => break,
            }
        }
        // Start a read that may still be in flight when the body is taken apart.
        let mut in_flight = false;
        match futures::future::poll_immediate(body.frame()).await {
            Some(Some(Ok(frame))) => seen.frame(frame),
            Some(Some(Err(e))) => seen.end = Some(format!("error {e}")),
            Some(None) => {}
            None => in_flight = true,
        }
        let parts = body.into_inner();
        seen.data(&parts.unread);
        let reader_back = parts.contents.is_some();
        if let Some(reader) = parts.contents {
            read_raw(reader, &mut seen).await;
        }
        if !parts.end.is_terminated() {
            match parts.end.await {
                Ok(Ok(Some(fields))) => {
                    let map = to_header_map(fields).unwrap();
                    seen.frame(Frame::trailers(map));
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => seen.end = Some(format!("error {e}")),
                Err(_) => seen.end = Some("end future closed".into()),
            }
        }
        format!(
            "{}, reader back: {reader_back}, read in flight: {in_flight}",
            seen.report()
        )
    }

    async fn write_body(
        len: u32,
        frame: u32,
        ending: String,
    ) -> (
        StreamReader<u8>,
        FutureReader<Result<Option<Fields>, String>>,
        FutureReader<String>,
    ) {
        let (contents_tx, contents_rx) = wit_stream::new();
        let (end_tx, end_rx) = wit_future::new(|| Err("the default".to_owned()));
        let (report_tx, report_rx) = wit_future::new(String::new);
        let dropped = Arc::new(AtomicBool::new(false));
        let pulled = Arc::new(AtomicU64::new(0));
        let body = Generated {
            len: u64::from(len),
            frame: u64::from(frame.max(1)),
            at: 0,
            ending,
            _dropped: DropFlag(dropped.clone()),
            pulled: pulled.clone(),
        };
        let sent = BodyWriter::new(contents_tx, end_tx, from_header_map)
            .spawn_send(body, |e: &String| format!("mapped: {e}"));
        spawn(async move {
            let outcome = match sent.await {
                Ok(Ok(n)) => format!("sent {n}"),
                Ok(Err(e)) => format!("{e:?}"),
                Err(e) => format!("join error {e}"),
            };
            let report = format!(
                "{outcome}; body dropped: {}; pulled {}",
                dropped.load(Ordering::SeqCst),
                pulled.load(Ordering::SeqCst)
            );
            let _ = report_tx.into_sender().send(report).await;
        })
        .detach();
        (contents_rx, end_rx, report_rx)
    }
}

/// Sets a flag when dropped: shows that a pump dropped its body.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `len` pattern bytes in frames of `frame` bytes, then the `ending`.
struct Generated {
    len: u64,
    frame: u64,
    at: u64,
    ending: String,
    _dropped: DropFlag,
    pulled: Arc<AtomicU64>,
}

impl Body for Generated {
    type Data = Bytes;
    type Error = String;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, String>>> {
        let me = self.get_mut();
        if me.at < me.len {
            let end = (me.at + me.frame).min(me.len);
            let data: Bytes = (me.at..end).map(pattern_byte).collect();
            me.pulled.fetch_add(end - me.at, Ordering::SeqCst);
            me.at = end;
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        let ending = std::mem::take(&mut me.ending);
        let mut trailers = HeaderMap::new();
        Poll::Ready(match ending.as_str() {
            "trailers" => {
                trailers.insert("x-a", HeaderValue::from_static("1"));
                trailers.insert("x-b", HeaderValue::from_static("2"));
                Some(Ok(Frame::trailers(trailers)))
            }
            "refused-trailers" => {
                trailers.insert("x-refuse", HeaderValue::from_static("1"));
                Some(Ok(Frame::trailers(trailers)))
            }
            "error" => Some(Err("the body failed".to_owned())),
            _ => None,
        })
    }
}
