//! examples/mini-redis, run as a `wasi:cli/command` component on the test host (TCP on
//! loopback), answering the `redis` crate (a real client, not ours) and raw RESP.

use std::time::Duration;

use redis::AsyncCommands;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wit_futures_harness::command::{free_port, run_command_while};

const COMPONENT: &str = "example-mini-redis";

/// Long enough for a loaded machine; what it catches is an answer that never comes.
const TIMEOUT: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {TIMEOUT:?}"))
}

/// Runs mini-redis on a free port (with `MAX_CLIENTS` if given) while `client` talks to
/// it; `client` gets the port once the server accepts connections.
async fn with_server<R: Send>(max_clients: Option<&str>, client: impl AsyncFnOnce(u16) -> R) -> R {
    let port = free_port();
    let port_text = port.to_string();
    let mut env = vec![("PORT", port_text.as_str())];
    if let Some(max) = max_clients {
        env.push(("MAX_CLIENTS", max));
    }
    run_command_while(COMPONENT, &env, async move {
        // The component binds after it starts: wait for it.
        within("mini-redis to listen", async {
            while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        client(port).await
    })
    .await
}

async fn connection(port: u16) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    within("connect", client.get_multiplexed_async_connection())
        .await
        .unwrap()
}

/// Every supported command through the `redis` crate, with the answers Redis gives.
#[tokio::test]
async fn redis_crate_gets_the_answers_redis_gives() {
    with_server(None, async |port| {
        let mut con = connection(port).await;
        let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
        assert_eq!(pong, "PONG");
        let echo: String = redis::cmd("ECHO")
            .arg("hi there")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(echo, "hi there");
        let () = con.set("greeting", "hello").await.unwrap();
        let got: Option<String> = con.get("greeting").await.unwrap();
        assert_eq!(got.as_deref(), Some("hello"));
        let missing: Option<String> = con.get("nothing here").await.unwrap();
        assert_eq!(missing, None);
        // (`AsyncCommands::incr` sends INCRBY, which mini-redis does not have.)
        let n: i64 = redis::cmd("INCR")
            .arg("counter")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let n: i64 = redis::cmd("INCR")
            .arg("counter")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(n, 2);
        let not_a_number: redis::RedisResult<i64> = redis::cmd("INCR")
            .arg("greeting")
            .query_async(&mut con)
            .await;
        assert!(
            not_a_number
                .unwrap_err()
                .to_string()
                .contains("not an integer"),
            "INCR of a string is an error reply"
        );
        let exists: i64 = redis::cmd("EXISTS")
            .arg("greeting")
            .arg("counter")
            .arg("nothing here")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(exists, 2);
        let deleted: i64 = con.del(&["greeting", "nothing here"]).await.unwrap();
        assert_eq!(deleted, 1);
        let gone: Option<String> = con.get("greeting").await.unwrap();
        assert_eq!(gone, None);
        // SET with PX: the key expires (polled until it does; never before it was set).
        let () = redis::cmd("SET")
            .arg("short-lived")
            .arg("x")
            .arg("PX")
            .arg(20)
            .query_async(&mut con)
            .await
            .unwrap();
        within("the key to expire", async {
            while con
                .get::<_, Option<String>>("short-lived")
                .await
                .unwrap()
                .is_some()
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        let () = redis::cmd("SET")
            .arg("long-lived")
            .arg("y")
            .arg("EX")
            .arg(3600)
            .query_async(&mut con)
            .await
            .unwrap();
        let kept: Option<String> = con.get("long-lived").await.unwrap();
        assert_eq!(kept.as_deref(), Some("y"));
        // An unknown command is an error reply; the connection goes on.
        let unknown: redis::RedisResult<String> =
            redis::cmd("FLUSHALL").query_async(&mut con).await;
        assert!(unknown.unwrap_err().to_string().contains("unknown command"));
        let config: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("save")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(config, ["save", ""]);
        let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
        assert_eq!(pong, "PONG");
    })
    .await;
}

/// A pipeline of 2,000 commands comes back whole and in order; 50 clients pipelining at
/// once each read back their own values.
#[tokio::test]
async fn pipelined_commands_from_fifty_clients_come_back_in_order() {
    let _one_at_a_time = wit_futures_harness::exclusive().await;
    with_server(None, async |port| {
        let clients = (0..50).map(|c| async move {
            let mut con = connection(port).await;
            let mut pipe = redis::pipe();
            for i in 0..1000 {
                pipe.cmd("SET").arg(format!("{c}:{i}")).arg(i * c).ignore();
                pipe.cmd("GET").arg(format!("{c}:{i}"));
            }
            let values: Vec<i64> = pipe.query_async(&mut con).await.unwrap();
            assert_eq!(
                values,
                (0..1000).map(|i| i * c).collect::<Vec<i64>>(),
                "client {c}"
            );
        });
        within("50 pipelining clients", futures::future::join_all(clients)).await;
    })
    .await;
}

/// Reads what the server sends until it closes the connection.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    within("the server to close", stream.read_to_end(&mut reply))
        .await
        .unwrap();
    String::from_utf8(reply).unwrap()
}

/// A malformed RESP request (a bad length, nested arrays) gets one error reply, then the
/// connection is closed; the server goes on serving others.
#[tokio::test]
async fn a_malformed_frame_gets_an_error_reply_then_the_connection_closes() {
    with_server(None, async |port| {
        for garbage in [
            &b"*x\r\n"[..],
            b"*1\r\n*1\r\n$4\r\nPING\r\n",
            b"*1\r\n$-5\r\n",
        ] {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stream.write_all(garbage).await.unwrap();
            let reply = read_until_closed(&mut stream).await;
            assert!(
                reply.starts_with("-ERR Protocol error") && reply.ends_with("\r\n"),
                "{garbage:?}: {reply:?}"
            );
        }
        // Valid requests before the bad one are answered first.
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream
            .write_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*?\r\n")
            .await
            .unwrap();
        let reply = read_until_closed(&mut stream).await;
        assert!(
            reply.starts_with("+PONG\r\n$2\r\nhi\r\n-ERR Protocol error"),
            "{reply:?}"
        );
        let mut con = connection(port).await;
        let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
        assert_eq!(pong, "PONG");
    })
    .await;
}

/// With `MAX_CLIENTS=4`, a fifth client gets "-ERR max number of clients reached" and is
/// closed; once a client leaves, a new one is served.
#[tokio::test]
async fn clients_over_the_limit_are_refused_with_an_error_reply() {
    with_server(Some("4"), async |port| {
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stream.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
            let mut pong = [0; 7];
            within("PONG", stream.read_exact(&mut pong)).await.unwrap();
            assert_eq!(&pong, b"+PONG\r\n");
            held.push(stream);
        }
        let mut fifth = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(
            read_until_closed(&mut fifth).await,
            "-ERR max number of clients reached\r\n"
        );
        drop(held.pop());
        within("a place to free up", async {
            loop {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                stream.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
                let mut reply = [0; 7];
                if stream.read_exact(&mut reply).await.is_ok() && &reply == b"+PONG\r\n" {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    })
    .await;
}

/// Inline commands (a line of words, as `telnet` and redis-benchmark's `PING_INLINE` send)
/// are answered like RESP ones; an empty line is no request.
#[tokio::test]
async fn inline_commands_are_answered() {
    with_server(None, async |port| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream
            .write_all(b"PING\r\n\r\nSET  inline   value\nGET inline\r\nNOPE a b\r\n")
            .await
            .unwrap();
        stream.shutdown().await.unwrap();
        assert_eq!(
            read_until_closed(&mut stream).await,
            "+PONG\r\n+OK\r\n$5\r\nvalue\r\n-ERR unknown command 'nope', with args beginning with: 'a' 'b'\r\n"
        );
    })
    .await;
}
