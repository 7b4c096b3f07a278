use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use std::net::SocketAddr;
use wasmtime::component::{
    Accessor, ComponentNamedList, InstancePre, Lift, Linker, Lower, ResourceTable, TypedFunc,
};
use wasmtime::component::{Component, Instance};
use wasmtime::{Config, Engine, Store};

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// How long one `run` may take before the test fails as hung (wasmtime's `run_concurrent`
/// hangs rather than reporting a deadlock).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Store data: WASI p2 context (the guests are `wasm32-wasip2` components).
pub struct Ctx {
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Path of a built guest component, e.g. `component_path("guest-oneshot")`, or
/// `component_path("composed_cancel")` for a composition.
pub fn component_path(name: &str) -> PathBuf {
    PathBuf::from(env!("WIT_FUTURES_GUEST_DIR")).join(format!("{}.wasm", name.replace('-', "_")))
}

pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        // WIT_FUTURES_PERFMAP=1: guest functions by name in `perf report` (/tmp/perf-<pid>.map).
        if std::env::var_os("WIT_FUTURES_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Engine::new(&config).expect("wasmtime engine")
    })
}

fn linker() -> &'static Linker<Ctx> {
    static LINKER: OnceLock<Linker<Ctx>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        // Rust's std imports WASI 0.2; wasi:sockets and the rest of WASI 0.3 come from p3.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi p2 linker");
        wasmtime_wasi::p3::add_to_linker(&mut linker).expect("wasi p3 linker");
        linker
    })
}

/// Each component is compiled once per test process and shared by every test.
pub(crate) fn instance_pre(name: &str) -> InstancePre<Ctx> {
    type Cache = Mutex<HashMap<String, Arc<OnceLock<InstancePre<Ctx>>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cell = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_default()
        .clone();
    cell.get_or_init(|| {
        let path = component_path(name);
        let component = Component::from_file(engine(), &path)
            .unwrap_or_else(|e| panic!("compiling {}: {e:?}", path.display()));
        linker()
            .instantiate_pre(&component)
            .unwrap_or_else(|e| panic!("linking {name}: {e:?}"))
    })
    .clone()
}

/// The guests' WASI: stdout and stderr inherited, TCP and name lookups allowed on loopback
/// only (see [`loopback_only`]).
pub(crate) fn wasi_ctx() -> WasiCtx {
    wasi_builder().build()
}

/// The builder of [`wasi_ctx`], to add arguments or the environment.
pub(crate) fn wasi_builder() -> WasiCtxBuilder {
    let mut builder = WasiCtx::builder();
    builder
        .inherit_stdout()
        .inherit_stderr()
        .allow_tcp(true)
        .allow_udp(false)
        .allow_ip_name_lookup(true)
        .socket_addr_check(|addr, usage| Box::pin(async move { loopback_only(addr, usage) }));
    builder
}

/// The sockets policy of the test host and the examples' hosts: loopback addresses
/// (127.0.0.0/8, ::1) only, plus the implicit bind of a `connect` on an unbound socket,
/// which wasmtime checks as a bind of the unspecified address with port 0.
pub fn loopback_only(addr: SocketAddr, usage: SocketAddrUse) -> bool {
    addr.ip().is_loopback()
        || (matches!(usage, SocketAddrUse::TcpBind)
            && addr.ip().is_unspecified()
            && addr.port() == 0)
}

/// One instance of a guest component, in its own store.
pub struct Guest {
    store: Store<Ctx>,
    instance: Instance,
}

impl Guest {
    /// Instantiates the guest component `name` (see [`component_path`]).
    pub async fn new(name: &str) -> Guest {
        let pre = instance_pre(name);
        let ctx = Ctx {
            table: ResourceTable::new(),
            wasi: wasi_ctx(),
        };
        let mut store = Store::new(engine(), ctx);
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .unwrap_or_else(|e| panic!("instantiating {name}: {e:?}"));
        Guest { store, instance }
    }

    /// The export `name`: a root function (`"recv"`) or a function of an exported interface
    /// (`"harness:tests/probe#live-bytes"`).
    pub fn func<P, R>(&mut self, name: &str) -> TypedFunc<P, R>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        let index = match name.split_once('#') {
            None => self.instance.get_export_index(&mut self.store, None, name),
            Some((interface, func)) => {
                let interface = self
                    .instance
                    .get_export_index(&mut self.store, None, interface)
                    .unwrap_or_else(|| panic!("no exported interface {interface}"));
                self.instance
                    .get_export_index(&mut self.store, Some(&interface), func)
            }
        }
        .unwrap_or_else(|| panic!("no export {name}"));
        self.instance
            .get_typed_func(&mut self.store, index)
            .unwrap_or_else(|e| panic!("export {name} has another type: {e:?}"))
    }

    /// Runs `body` on the store's event loop, where guest calls and host peers progress.
    ///
    /// Panics, with wasmtime's error, if the guest traps or a host peer fails, and if the
    /// run takes longer than a minute (a hang).
    pub async fn run<R: Send>(&mut self, body: impl AsyncFnOnce(&Accessor<Ctx>) -> R) -> R {
        self.try_run(body)
            .await
            .unwrap_or_else(|e| panic!("guest run failed: {e:?}"))
    }

    /// As [`run`](Self::run), but returns a trap or host error instead of panicking.
    pub async fn try_run<R: Send>(
        &mut self,
        body: impl AsyncFnOnce(&Accessor<Ctx>) -> R,
    ) -> wasmtime::Result<R> {
        match tokio::time::timeout(RUN_TIMEOUT, self.store.run_concurrent(body)).await {
            Ok(result) => result,
            Err(_) => panic!("guest run hung for {RUN_TIMEOUT:?}"),
        }
    }

    /// Calls the export `name` with `params` and waits for its result.
    pub async fn call<P, R>(&mut self, name: &str, params: P) -> R
    where
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let func = self.func::<P, R>(name);
        self.call_func(func, params).await
    }

    /// Calls `func` with `params` and waits for its result.
    pub async fn call_func<P, R>(&mut self, func: TypedFunc<P, R>, params: P) -> R
    where
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        self.run(async move |a| func.call_concurrent(a, params).await)
            .await
            .unwrap_or_else(|e| panic!("calling an export: {e:?}"))
    }

    /// Runs the event loop until every guest task has finished, including work that goes
    /// on after an export returned (spawned tasks, background writes).
    pub async fn settle(&mut self) {
        self.run(async |a| std::future::poll_fn(|cx| a.poll_no_interesting_tasks(cx)).await)
            .await;
    }

    /// Bytes the guest has allocated and not freed (its counting allocator, exported as
    /// `harness:tests/probe#live-bytes`), once every guest task has finished.
    pub async fn live_bytes(&mut self) -> u64 {
        self.settle().await;
        self.call::<(), (u64,)>("harness:tests/probe#live-bytes", ())
            .await
            .0
    }

    /// Waits for every guest task to finish, then panics unless every future, stream and
    /// task the store knows of is gone: nothing was left open on either side.
    pub async fn assert_nothing_open(&mut self) {
        self.settle().await;
        self.store.assert_concurrent_state_empty();
    }
}
