//! mini-redis as a component: a Redis subset over wasi:sockets (WASI 0.3), served with
//! `wit_futures::wasi_sockets::TcpListener`, tokio-util's `Framed` and redis-protocol's
//! RESP2 codec, one task per connection, pipelined requests answered in one write.
//!
//! A `wasi:cli/command` component: it listens on 127.0.0.1:`PORT` (environment; 6379
//! unless set) and serves at most `MAX_CLIENTS` connections at once (128 unless set; a
//! client over the limit gets "-ERR max number of clients reached", as from Redis). Run it
//! with `cargo run --example serve-tcp`, then use `redis-cli` or `redis-benchmark`. The
//! commands are in `server.rs`.

mod server;

use std::cell::Cell;
use std::rc::Rc;

use futures::io::AsyncWriteExt;
use wit_futures::task::spawn;
use wit_futures::wasi_sockets::TcpListener;

struct MiniRedis;

wasip3::cli::command::export!(MiniRedis);

impl wasip3::exports::cli::run::Guest for MiniRedis {
    async fn run() -> Result<(), ()> {
        let port: u16 = env("PORT").unwrap_or(6379);
        let max_clients: usize = env("MAX_CLIENTS").unwrap_or(128);
        let mut listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("mini-redis: cannot listen on 127.0.0.1:{port}: {e}");
                return Err(());
            }
        };
        println!(
            "mini-redis: listening on {}",
            listener.local_addr().map_err(|_| ())?
        );
        let db = server::Db::default();
        let clients = Rc::new(Cell::new(0usize));
        loop {
            let (mut stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("mini-redis: a connection failed before it was taken: {e}");
                    continue;
                }
            };
            if clients.get() >= max_clients {
                spawn(async move {
                    let _ = stream
                        .write_all(b"-ERR max number of clients reached\r\n")
                        .await;
                    let _ = stream.close().await;
                })
                .detach();
                continue;
            }
            clients.set(clients.get() + 1);
            let (db, clients) = (db.clone(), clients.clone());
            spawn(async move {
                if let Err(e) = server::serve_connection(stream, db).await {
                    eprintln!("mini-redis: {peer}: {e}");
                }
                clients.set(clients.get() - 1);
            })
            .detach();
        }
    }
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    wasip3::cli::environment::get_environment()
        .into_iter()
        .find(|(key, _)| key == name)
        .and_then(|(_, value)| value.parse().ok())
}
