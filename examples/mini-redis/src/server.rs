//! The Redis subset, on any connection that is tokio's `AsyncRead + AsyncWrite`: the
//! component serves it over wasi:sockets, and `cargo bench --bench tcp` runs the very same
//! code natively over tokio's `TcpStream` to compare.
//!
//! Commands: PING [message], ECHO message, SET key value [EX seconds | PX milliseconds],
//! GET key, DEL key..., INCR key, EXISTS key..., and CONFIG GET of `save` and `appendonly`
//! (what redis-benchmark asks for; anything else is an empty list). Requests come as RESP
//! arrays of bulk strings or as inline commands (a line of words). An unknown command or a
//! wrong argument gets an error reply and the connection goes on; a malformed RESP request
//! (a bad length, nested arrays, over 16 MiB) gets "-ERR Protocol error: ..." and the
//! connection is closed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, SinkExt, StreamExt};
use redis_protocol::codec::Resp2;
use redis_protocol::error::{RedisProtocolError, RedisProtocolErrorKind};
use redis_protocol::resp2::types::BytesFrame as Frame;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Decoder, Encoder, Framed};

/// The largest frame a client may send (Redis allows 512 MB bulk strings; a component's
/// memory is better spent otherwise).
pub const MAX_FRAME: usize = 16 << 20;

/// Replies written before the connection flushes, at most, while more requests are waiting:
/// pipelined requests are answered in one write.
const MAX_BATCH: usize = 1024;

/// The keys and values, shared by every connection of one server (single-threaded).
#[derive(Clone, Default)]
pub struct Db(Rc<RefCell<HashMap<Bytes, Entry>>>);

struct Entry {
    value: Bytes,
    expires: Option<Instant>,
}

impl Db {
    fn get(&self, key: &Bytes) -> Option<Bytes> {
        let mut map = self.0.borrow_mut();
        match map.get(key) {
            Some(entry) if entry.expires.is_some_and(|at| at <= Instant::now()) => {
                map.remove(key);
                None
            }
            Some(entry) => Some(entry.value.clone()),
            None => None,
        }
    }

    fn set(&self, key: Bytes, value: Bytes, ttl: Option<Duration>) {
        let expires = ttl.map(|ttl| Instant::now() + ttl);
        self.0.borrow_mut().insert(key, Entry { value, expires });
    }

    fn remove(&self, key: &Bytes) -> bool {
        self.get(key).is_some() && self.0.borrow_mut().remove(key).is_some()
    }
}

/// RESP2 requests (arrays of bulk strings, through redis-protocol's codec), with two guards
/// it does not have (a size limit; no nested arrays: its decoder recurses into them), plus
/// Redis's inline commands (a line of words, as `redis-benchmark`'s `PING_INLINE` and
/// `telnet` send): a request is RESP if it starts with `*`, inline otherwise.
#[derive(Default)]
pub struct Codec(Resp2);

/// The longest inline request (Redis's limit too).
const MAX_INLINE: usize = 64 * 1024;

fn protocol_error(details: &'static str) -> RedisProtocolError {
    RedisProtocolError::new(RedisProtocolErrorKind::DecodeError, details)
}

impl Decoder for Codec {
    type Item = Frame;
    type Error = RedisProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, RedisProtocolError> {
        loop {
            match src.first() {
                None => return Ok(None),
                Some(b'*') => {
                    let header = &src[..src.len().min(24)];
                    if let Some(end) = header.windows(2).position(|w| w == b"\r\n")
                        && src.get(end + 2) == Some(&b'*')
                    {
                        return Err(protocol_error("nested arrays"));
                    }
                    return match self.0.decode(src)? {
                        None if src.len() > MAX_FRAME => Err(protocol_error("frame too large")),
                        frame => Ok(frame),
                    };
                }
                Some(_) => {
                    let Some(end) = src.iter().position(|&b| b == b'\n') else {
                        if src.len() > MAX_INLINE {
                            return Err(protocol_error("too big inline request"));
                        }
                        return Ok(None);
                    };
                    let line = src.split_to(end + 1);
                    let words: Vec<Frame> = line[..]
                        .split(u8::is_ascii_whitespace)
                        .filter(|word| !word.is_empty())
                        .map(|word| Frame::BulkString(Bytes::copy_from_slice(word)))
                        .collect();
                    // An empty line is no request.
                    if !words.is_empty() {
                        return Ok(Some(Frame::Array(words)));
                    }
                }
            }
        }
    }
}

impl Encoder<Frame> for Codec {
    type Error = RedisProtocolError;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), RedisProtocolError> {
        self.0.encode(item, dst)
    }
}

fn error(message: impl Into<String>) -> Frame {
    // A reply error is one line: no CR or LF inside (the encoder does not escape them).
    let message: String = message
        .into()
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    Frame::Error(message.into())
}

fn ok() -> Frame {
    Frame::SimpleString(Bytes::from_static(b"OK"))
}

/// Serves one connection until the client closes it, or sends something that is not RESP.
///
/// # Errors
///
/// The connection's I/O error (e.g. `ConnectionReset`).
pub async fn serve_connection<S>(stream: S, db: Db) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(stream, Codec::default());
    loop {
        let Some(first) = framed.next().await else {
            return Ok(());
        };
        let mut next = Some(first);
        let mut batch = 0;
        // Answer every request already received, then write the replies in one go.
        while let Some(request) = next.take() {
            match request {
                Ok(frame) => framed.feed(execute(frame, &db)).await.map_err(io_error)?,
                Err(e) if matches!(e.kind(), RedisProtocolErrorKind::IO(_)) => {
                    return Err(io_error(e));
                }
                Err(e) => {
                    let reply = error(format!("ERR Protocol error: {}", e.details()));
                    framed.send(reply).await.map_err(io_error)?;
                    return framed.close().await.map_err(io_error);
                }
            }
            batch += 1;
            if batch < MAX_BATCH {
                next = framed.next().now_or_never().flatten();
            }
        }
        framed.flush().await.map_err(io_error)?;
    }
}

fn io_error(e: RedisProtocolError) -> io::Error {
    match e.kind() {
        RedisProtocolErrorKind::IO(inner) => io::Error::new(inner.kind(), e.details().to_string()),
        _ => io::Error::other(e.to_string()),
    }
}

/// The reply to one request.
fn execute(frame: Frame, db: &Db) -> Frame {
    let Frame::Array(parts) = frame else {
        return error("ERR Protocol error: expected an array of bulk strings");
    };
    let mut args = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Frame::BulkString(bytes) | Frame::SimpleString(bytes) => args.push(bytes),
            _ => return error("ERR Protocol error: expected an array of bulk strings"),
        }
    }
    let Some((name, args)) = args.split_first() else {
        return error("ERR empty command");
    };
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    let arity = || {
        error(format!(
            "ERR wrong number of arguments for '{}' command",
            name.to_lowercase()
        ))
    };
    match (name.as_str(), args) {
        ("PING", []) => Frame::SimpleString(Bytes::from_static(b"PONG")),
        ("PING", [message]) | ("ECHO", [message]) => Frame::BulkString(message.clone()),
        ("PING" | "ECHO", _) => arity(),
        ("GET", [key]) => db.get(key).map_or(Frame::Null, Frame::BulkString),
        ("GET", _) => arity(),
        ("SET", [key, value, options @ ..]) => match ttl(options) {
            Ok(ttl) => {
                db.set(key.clone(), value.clone(), ttl);
                ok()
            }
            Err(reply) => reply,
        },
        ("SET", _) => arity(),
        ("DEL", keys) if !keys.is_empty() => {
            Frame::Integer(keys.iter().filter(|key| db.remove(key)).count() as i64)
        }
        ("EXISTS", keys) if !keys.is_empty() => {
            Frame::Integer(keys.iter().filter(|key| db.get(key).is_some()).count() as i64)
        }
        ("DEL" | "EXISTS", _) => arity(),
        ("INCR", [key]) => {
            let current = match db.get(key) {
                None => 0,
                Some(value) => match std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.parse::<i64>().ok())
                {
                    Some(n) => n,
                    None => return error("ERR value is not an integer or out of range"),
                },
            };
            let Some(next) = current.checked_add(1) else {
                return error("ERR increment or decrement would overflow");
            };
            // INCR keeps the key's expiry time, as Redis does.
            let expires = db.0.borrow().get(key).and_then(|e| e.expires);
            db.0.borrow_mut().insert(
                key.clone(),
                Entry {
                    value: Bytes::from(next.to_string()),
                    expires,
                },
            );
            Frame::Integer(next)
        }
        ("INCR", _) => arity(),
        // What redis-benchmark asks at start; no other configuration exists.
        ("CONFIG", [sub, pattern]) if sub.eq_ignore_ascii_case(b"GET") => {
            let value: &'static [u8] = match pattern.to_ascii_lowercase().as_slice() {
                b"save" => b"",
                b"appendonly" => b"no",
                _ => return Frame::Array(Vec::new()),
            };
            Frame::Array(vec![
                Frame::BulkString(pattern.clone()),
                Frame::BulkString(Bytes::from_static(value)),
            ])
        }
        _ => error(format!(
            "ERR unknown command '{}', with args beginning with: {}",
            name.to_lowercase(),
            args.iter()
                .take(3)
                .map(|a| format!("'{}'", String::from_utf8_lossy(a)))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

/// The expiry of SET's options: none, `EX seconds` or `PX milliseconds`.
fn ttl(options: &[Bytes]) -> Result<Option<Duration>, Frame> {
    let syntax = || error("ERR syntax error");
    match options {
        [] => Ok(None),
        [unit, amount] => {
            let amount = std::str::from_utf8(amount)
                .ok()
                .and_then(|a| a.parse::<u64>().ok())
                .filter(|a| *a > 0)
                .ok_or_else(|| error("ERR invalid expire time in 'set' command"))?;
            if unit.eq_ignore_ascii_case(b"EX") {
                Ok(Some(Duration::from_secs(amount)))
            } else if unit.eq_ignore_ascii_case(b"PX") {
                Ok(Some(Duration::from_millis(amount)))
            } else {
                Err(syntax())
            }
        }
        _ => Err(syntax()),
    }
}
