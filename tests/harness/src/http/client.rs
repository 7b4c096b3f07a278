//! A real HTTP client for the tests: hyper's HTTP/1.1 client over a TCP connection to the
//! server, with request bodies generated on the fly (so that hundreds of MiB cost no
//! memory) and responses checked as they stream in.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use wasmtime_wasi_http::io::TokioIo;

/// The byte at offset `i` of every generated body: a pattern that catches lost, repeated
/// and reordered bytes.
pub fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

/// How long a response head, or the next frame of a body, may take before a test fails
/// as hung.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(120);

/// A request body of any kind, boxed.
pub type ClientBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// One HTTP/1.1 connection to a server.
pub struct Client {
    sender: SendRequest<ClientBody>,
}

impl Client {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(async move {
            // Ends with an error when a test aborts the connection on purpose.
            let _ = connection.await;
        });
        Client { sender }
    }

    /// Sends `request` and returns the response head; its body streams in as it is read.
    ///
    /// # Panics
    ///
    /// If no response head comes within [`EXCHANGE_TIMEOUT`]: a hang fails the test instead
    /// of stalling it.
    pub async fn send<B>(
        &mut self,
        request: http::Request<B>,
    ) -> hyper::Result<http::Response<Incoming>>
    where
        B: Body<Data = Bytes, Error = std::io::Error> + Send + 'static,
    {
        let what = format!("{} {}", request.method(), request.uri());
        let exchange = async {
            self.sender.ready().await?;
            self.sender
                .send_request(request.map(BodyExt::boxed_unsync))
                .await
        };
        tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{what}: no response head within {EXCHANGE_TIMEOUT:?}"))
    }
}

/// A request body generated on the fly: `len` bytes of [`pattern_byte`] in frames of
/// `chunk` bytes, optionally paced, then trailers, or an error after some bytes.
pub struct PatternBody {
    len: u64,
    sent: u64,
    chunk: usize,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    trailers: Option<HeaderMap>,
    fail_after: Option<u64>,
    /// Sent bytes are also delivered as frames of these bytes, if set.
    data: Option<Bytes>,
}

impl PatternBody {
    /// `len` pattern bytes in 64 KiB frames.
    pub fn new(len: u64) -> PatternBody {
        PatternBody {
            len,
            sent: 0,
            chunk: 64 * 1024,
            delay: Duration::ZERO,
            sleep: None,
            trailers: None,
            fail_after: None,
            data: None,
        }
    }

    /// An empty body.
    pub fn empty() -> PatternBody {
        PatternBody::new(0)
    }

    /// These bytes as the body (in frames of the chunk size).
    pub fn bytes(data: impl Into<Bytes>) -> PatternBody {
        let data = data.into();
        PatternBody {
            data: Some(data.clone()),
            ..PatternBody::new(data.len() as u64)
        }
    }

    /// Frames of `chunk` bytes.
    pub fn chunk(mut self, chunk: usize) -> PatternBody {
        self.chunk = chunk.max(1);
        self
    }

    /// Waits `delay` before each frame.
    pub fn delay(mut self, delay: Duration) -> PatternBody {
        self.delay = delay;
        self
    }

    /// Ends with these trailers (they go out only with chunked encoding: announce them in
    /// a `trailer` header and send no `content-length`).
    pub fn trailers(mut self, trailers: HeaderMap) -> PatternBody {
        self.trailers = Some(trailers);
        self
    }

    /// Fails after `n` bytes: hyper then aborts the request mid-body.
    pub fn fail_after(mut self, n: u64) -> PatternBody {
        self.fail_after = Some(n);
        self
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let me = self.get_mut();
        if me.fail_after == Some(me.sent) {
            me.fail_after = None;
            me.len = me.sent;
            return Poll::Ready(Some(Err(std::io::Error::other("client body failed"))));
        }
        if me.sent == me.len {
            return Poll::Ready(me.trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
        if !me.delay.is_zero() {
            let delay = me.delay;
            let sleep = me
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            me.sleep = None;
        }
        let mut n = (me.len - me.sent).min(me.chunk as u64);
        if let Some(fail) = me.fail_after {
            n = n.min(fail - me.sent);
        }
        let frame = match &me.data {
            Some(data) => data.slice(me.sent as usize..(me.sent + n) as usize),
            None => (me.sent..me.sent + n).map(pattern_byte).collect(),
        };
        me.sent += n;
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent == self.len && self.trailers.is_none() && self.fail_after.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        if self.trailers.is_some() || self.fail_after.is_some() {
            // Announcing a length would make hyper drop the trailers.
            SizeHint::default()
        } else {
            SizeHint::with_exact(self.len - self.sent)
        }
    }
}

/// What a response body delivered.
#[derive(Debug, Default)]
pub struct Received {
    /// Data bytes, in total.
    pub bytes: u64,
    /// The trailers, if any arrived.
    pub trailers: Option<HeaderMap>,
    /// The body's error, if it failed.
    pub error: Option<String>,
}

/// Reads `body` to its end, handing each data frame to `check` with its offset, optionally
/// waiting `delay` before each frame (a slow client).
pub async fn read_body(
    mut body: Incoming,
    delay: Duration,
    mut check: impl FnMut(u64, &[u8]),
) -> Received {
    let mut received = Received::default();
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let frame = match tokio::time::timeout(EXCHANGE_TIMEOUT, body.frame()).await {
            Ok(frame) => frame,
            Err(_) => {
                received.error = Some(format!("no frame within {EXCHANGE_TIMEOUT:?} (hung)"));
                return received;
            }
        };
        match frame {
            None => return received,
            Some(Err(e)) => {
                received.error = Some(e.to_string());
                return received;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    check(received.bytes, &data);
                    received.bytes += data.len() as u64;
                }
                Err(frame) => received.trailers = frame.into_trailers().ok(),
            },
        }
    }
}

/// Checks data against [`pattern_byte`] as it streams in; remembers the first offset that
/// differs.
#[derive(Debug, Default)]
pub struct PatternCheck {
    /// The first offset whose byte was not the pattern's.
    pub first_mismatch: Option<u64>,
}

impl PatternCheck {
    /// Checks `data`, found at `offset`.
    pub fn check(&mut self, offset: u64, data: &[u8]) {
        if self.first_mismatch.is_some() {
            return;
        }
        if let Some(i) = data
            .iter()
            .enumerate()
            .position(|(i, b)| *b != pattern_byte(offset + i as u64))
        {
            self.first_mismatch = Some(offset + i as u64);
        }
    }
}

/// A request body written as a script: each frame is sent after its pause, as a client
/// typing lines would.
pub fn scripted_body(frames: Vec<(Duration, &'static str)>) -> ClientBody {
    let frames = futures::stream::unfold(frames.into_iter(), |mut frames| async move {
        let (pause, text) = frames.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok(Frame::data(Bytes::from_static(text.as_bytes()))), frames))
    });
    http_body_util::StreamBody::new(frames).boxed_unsync()
}
