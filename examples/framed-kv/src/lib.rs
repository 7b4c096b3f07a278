//! A tiny key-value protocol over a connection's two byte streams, with tokio-util's
//! `Framed` and `LinesCodec`.
//!
//! `into_duplex()` makes the receive and send streams of a connection (as WASI 0.3 TCP gives
//! them) one bidirectional byte stream with tokio's `AsyncRead` and `AsyncWrite` (feature
//! `tokio`), so any tokio-util codec frames it: here, one request per line
//! (`SET key value`, `GET key`, `DEL key`, `QUIT`), one reply per line.

wit_bindgen::generate!({ path: "wit", world: "framed-kv" });

use std::collections::BTreeMap;

use futures::{SinkExt, StreamExt};
use tokio_util::codec::{Framed, LinesCodec};
use wit_bindgen::StreamReader;
use wit_futures::prelude::*;

struct Component;

impl Guest for Component {
    async fn connect(receive: StreamReader<u8>) -> StreamReader<u8> {
        let (send, replies) = wit_stream::new();
        wit_futures::task::spawn(async move {
            let connection = receive.into_duplex(send);
            let mut framed = Framed::new(connection, LinesCodec::new_with_max_length(1024));
            let mut store = BTreeMap::new();
            while let Some(request) = framed.next().await {
                let reply = match request {
                    Ok(line) => match handle(&mut store, &line) {
                        Some(reply) => reply,
                        None => break, // QUIT
                    },
                    // A line over the limit, or bytes that are not UTF-8.
                    Err(e) => format!("ERR {e}"),
                };
                if framed.send(reply).await.is_err() {
                    return; // the client stopped reading
                }
            }
            // Flushes, then shuts the send stream down: the client sees the end.
            let _ = SinkExt::<String>::close(&mut framed).await;
        })
        .detach();
        replies
    }
}

/// One request: the reply, or `None` to end the connection.
fn handle(store: &mut BTreeMap<String, String>, line: &str) -> Option<String> {
    let mut words = line.splitn(3, ' ');
    Some(match (words.next(), words.next(), words.next()) {
        (Some("SET"), Some(key), Some(value)) => {
            store.insert(key.to_owned(), value.to_owned());
            "OK".to_owned()
        }
        (Some("GET"), Some(key), None) => match store.get(key) {
            Some(value) => format!("VALUE {value}"),
            None => "NOT FOUND".to_owned(),
        },
        (Some("DEL"), Some(key), None) => match store.remove(key) {
            Some(_) => "DELETED".to_owned(),
            None => "NOT FOUND".to_owned(),
        },
        (Some("QUIT"), None, None) => return None,
        _ => format!("ERR unknown request {line:?}"),
    })
}

export!(Component);
