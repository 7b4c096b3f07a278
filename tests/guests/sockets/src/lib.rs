//! Test guest for TCP over wasi:sockets (world `sockets` in tests/wit/sockets.wit).
//! `line_echo` is the `TcpListener` doc example's connection loop, word for word.

wit_bindgen::generate!({ path: "../../wit", world: "sockets" });

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use wit_bindgen::FutureReader;
use wit_futures::prelude::*;
use wit_futures::task::spawn;
use wit_futures::wasi_sockets::{TcpListener, TcpStream};

struct Component;

export!(Component);

impl exports::harness::tests::probe::Guest for Component {
    fn live_bytes() -> u64 {
        guest_common::live_bytes()
    }
}

fn pattern(i: u64) -> u8 {
    (i * 7 % 251) as u8
}

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn report(e: &io::Error) -> String {
    format!("error {:?}: {e}", e.kind())
}

/// The `TcpListener` doc example's connection loop.
async fn line_echo(stream: TcpStream) {
    use futures::StreamExt;
    use futures::io::{AsyncBufReadExt, AsyncWriteExt};
    let (reader, mut writer) = stream.into_split();
    let mut lines = reader.lines();
    while let Some(Ok(line)) = lines.next().await {
        let reply = format!("{line}\n");
        if writer.write_all(reply.as_bytes()).await.is_err() {
            break;
        }
    }
}

/// Serves one connection with `mode`: "ok <in>/<out>" or the error.
async fn serve_one(mode: &str, stream: TcpStream) -> io::Result<(u64, u64)> {
    match mode {
        "line-echo" => {
            line_echo(stream).await;
            Ok((0, 0))
        }
        "copy-echo" => {
            let (mut reader, mut writer) = stream.into_split();
            let n = futures::io::copy(&mut reader, &mut writer).await?;
            writer.close().await?;
            Ok((n, n))
        }
        "tokio-echo" => {
            use tokio::io::AsyncWriteExt;
            let (mut reader, mut writer) = stream.into_split();
            let n = tokio::io::copy(&mut reader, &mut writer).await?;
            writer.shutdown().await?;
            Ok((n, n))
        }
        "count" => {
            let mut stream = stream;
            let mut received = Vec::new();
            let n = stream.read_to_end(&mut received).await? as u64;
            let answer = format!("{n} bytes\n");
            stream.write_all(answer.as_bytes()).await?;
            stream.close().await?;
            Ok((n, answer.len() as u64))
        }
        other => panic!("unknown mode {other}"),
    }
}

impl Guest for Component {
    async fn serve(mode: String, connections: u32) -> (u16, FutureReader<Vec<String>>) {
        let mut listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        let (report_tx, report_rx) = wit_future::new(Vec::new);
        spawn(async move {
            let lines = Rc::new(RefCell::new(Vec::new()));
            let mut tasks = Vec::new();
            for _ in 0..connections {
                match listener.accept().await {
                    Ok((stream, _peer)) => {
                        let (lines, mode) = (lines.clone(), mode.clone());
                        tasks.push(wit_bindgen::spawn_local(async move {
                            let line = match serve_one(&mode, stream).await {
                                Ok((i, o)) => format!("ok {i}/{o}"),
                                Err(e) => format!("error {:?}", e.kind()),
                            };
                            lines.borrow_mut().push(line);
                        }));
                    }
                    Err(e) => lines
                        .borrow_mut()
                        .push(format!("accept error {:?}", e.kind())),
                }
            }
            drop(listener);
            for task in tasks {
                task.await;
            }
            let lines = lines.borrow().clone();
            let _ = report_tx.into_sender().send(lines).await;
        })
        .detach();
        (port, report_rx)
    }

    async fn connect(addr: String, mode: String, n: u64) -> String {
        let stream = match TcpStream::connect(addr.as_str()).await {
            Ok(stream) => stream,
            Err(e) => return report(&e),
        };
        let result: io::Result<String> = async {
            match mode.as_str() {
                "echo" => {
                    let (mut reader, mut writer) = stream.into_split();
                    let writing = spawn(async move {
                        let chunk: Vec<u8> = (0..n).map(pattern).collect();
                        for part in chunk.chunks(48 * 1024) {
                            writer.write_all(part).await?;
                        }
                        writer.close().await
                    });
                    let mut received = 0u64;
                    let mut hash = FNV_START;
                    let mut buf = vec![0; 64 * 1024];
                    loop {
                        let got = reader.read(&mut buf).await?;
                        if got == 0 {
                            break;
                        }
                        received += got as u64;
                        hash = fnv1a(hash, &buf[..got]);
                    }
                    writing.await.expect("the writer task ends")?;
                    Ok(format!("ok {received} fnv {hash:016x}"))
                }
                "ask" => {
                    let mut stream = stream;
                    let request: Vec<u8> = (0..n).map(pattern).collect();
                    stream.write_all(&request).await?;
                    stream.close().await?;
                    let mut answer = String::new();
                    stream.read_to_string(&mut answer).await?;
                    Ok(format!("ok {answer}"))
                }
                "read" => {
                    let mut stream = stream;
                    let mut received = 0u64;
                    let mut buf = vec![0; 64 * 1024];
                    loop {
                        let got = stream.read(&mut buf).await?;
                        if got == 0 {
                            break;
                        }
                        received += got as u64;
                    }
                    Ok(format!("ok {received}"))
                }
                "write" => {
                    let mut stream = stream;
                    let bytes: Vec<u8> = (0..n).map(pattern).collect();
                    stream.write_all(&bytes).await?;
                    stream.close().await?;
                    Ok("ok".to_string())
                }
                other => panic!("unknown mode {other}"),
            }
        }
        .await;
        result.unwrap_or_else(|e| report(&e))
    }

    async fn bind(addr: String) -> String {
        match TcpListener::bind(addr.as_str()).await {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("error {:?}", e.kind()),
        }
    }
}
