//! Runs a `wasi:cli/command` component (WASI 0.3, e.g. `examples/mini-redis`) in embedded
//! wasmtime, with the test host's WASI: stdout and stderr inherited, TCP on loopback only.

use std::net::TcpListener;

use wasmtime::Store;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p3::bindings::Command;

use crate::runtime::{Ctx, engine, instance_pre, wasi_builder};

/// A loopback port that was free a moment ago (the OS picked it), for a server to bind.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Instantiates the command component `name` with the environment `env` and calls its
/// `run`; resolves to what `run` returned (a server runs until the process ends).
///
/// # Panics
///
/// If the component cannot be instantiated, or traps.
pub async fn run_command(name: &str, env: &[(&str, &str)]) -> Result<(), ()> {
    run_command_while(name, env, std::future::pending()).await
}

/// As [`run_command`], until `client` completes: a command that serves (e.g. a TCP
/// server) runs while `client` talks to it; returns `client`'s output.
///
/// # Panics
///
/// If the command's `run` returns (or traps) before `client` completes.
pub async fn run_command_while<R>(
    name: &str,
    env: &[(&str, &str)],
    client: impl Future<Output = R>,
) -> R {
    let pre = instance_pre(name);
    let mut wasi = wasi_builder();
    wasi.args(&[name]);
    for (key, value) in env {
        wasi.env(key, value);
    }
    let ctx = Ctx {
        table: ResourceTable::new(),
        wasi: wasi.build(),
    };
    let mut store = Store::new(engine(), ctx);
    let instance = pre
        .instantiate_async(&mut store)
        .await
        .unwrap_or_else(|e| panic!("instantiating {name}: {e:?}"));
    let command = Command::new(&mut store, &instance)
        .unwrap_or_else(|e| panic!("{name} is not a wasi:cli/command: {e:?}"));
    store
        .run_concurrent(async |a| {
            let run = command.wasi_cli_run().call_run(a);
            futures::pin_mut!(run);
            futures::pin_mut!(client);
            match futures::future::select(run, client).await {
                futures::future::Either::Left((ended, _)) => {
                    panic!("{name}'s run ended before its client: {ended:?}")
                }
                futures::future::Either::Right((output, _)) => output,
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {e:?}"))
}
