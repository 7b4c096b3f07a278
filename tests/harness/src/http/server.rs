//! A wasi:http server on loopback: the component (a `wasi:http/service`
//! built with `wasip3` + wit-futures) runs on wasmtime 50 with wasmtime-wasi-http's `p3`
//! support, served by hyper's HTTP/1.1 server, one store and instance per request, as in
//! `shared/reference/wasi-http-p3`. Every request leaves a [`RequestLog`]: whether the store
//! settled with nothing left open, the guest's peak linear memory, and its stderr. Requests
//! the guest sends go out to loopback only (see [`Hooks`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use tokio::sync::oneshot;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use crate::runtime::{component_path, engine};

/// How long a request's store may take to settle after its response body ended.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(20);

/// The body the server answers with.
pub type ServerBody = UnsyncBoxBody<Bytes, HttpError>;

/// What one request did on the server.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    /// `METHOD /path?query`.
    pub request: String,
    /// The store had no guest task, future or stream left once the response ended: the
    /// guest finished all its work and nothing leaked in the runtime.
    pub settled: bool,
    /// Peak size of the guest's linear memory, in bytes.
    pub guest_memory: usize,
    /// What the guest wrote to stderr.
    pub stderr: String,
    /// A trap, a host error, or the guest's `error-code`, if the request failed.
    pub error: Option<String>,
}

/// Store data for one request.
struct Ctx {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: Hooks,
    peak_memory: usize,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Ctx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl ResourceLimiter for Ctx {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// wasi:http hooks: an outgoing request goes out with wasmtime-wasi-http's own sender
/// (`default_send_request`, what `wasmtime serve` uses) if its authority resolves to
/// loopback addresses only (127.0.0.0/8, ::1); anything else is refused with
/// `HTTP-request-denied`.
pub(crate) struct Hooks;

type BoxFuture<T> = Box<dyn Future<Output = T> + Send>;

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _io: BoxFuture<Result<(), HttpError>>,
    ) -> BoxFuture<Result<(http::Response<WasiBody>, BoxFuture<Result<(), HttpError>>), HttpError>>
    {
        Box::new(async move {
            if !to_loopback(request.uri()).await? {
                return Err(HttpError::HttpRequestDenied);
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as BoxFuture<Result<(), HttpError>>,
            ))
        })
    }
}

/// Whether every address `uri`'s authority resolves to is a loopback address.
async fn to_loopback(uri: &http::Uri) -> Result<bool, HttpError> {
    let authority = uri.authority().ok_or(HttpError::HttpRequestUriInvalid)?;
    // `Authority::host` keeps the brackets of an IPv6 literal.
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| HttpError::DnsError {
            rcode: None,
            info_code: None,
        })?
        .collect();
    Ok(!addrs.is_empty() && addrs.iter().all(|a| a.ip().to_canonical().is_loopback()))
}

/// A wasi:http server for one component, on 127.0.0.1.
pub struct Server {
    addr: SocketAddr,
    logs: Arc<Mutex<Vec<RequestLog>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Server {
    /// Serves the guest component `name` on a free port of 127.0.0.1.
    pub async fn start(name: &str) -> Server {
        Server::start_on(name, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves the guest component `name` on `addr`.
    pub async fn start_on(name: &str, addr: SocketAddr) -> Server {
        Server::start_with_env(name, addr, &[]).await
    }

    /// Serves the guest component `name` on `addr`, with `env` as its environment
    /// (`wasi:cli/environment`), e.g. a proxy's upstream.
    pub async fn start_with_env(name: &str, addr: SocketAddr, env: &[(&str, &str)]) -> Server {
        let env: Arc<Vec<(String, String)>> = Arc::new(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let pre = service_pre(name);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("binding {addr}: {e}"));
        let addr = listener.local_addr().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let logs = logs.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    // Without it, Nagle's algorithm holds the last small write of a chunked
                    // response until the client's delayed ACK (40 ms).
                    let _ = stream.set_nodelay(true);
                    let (pre, logs, env) = (pre.clone(), logs.clone(), env.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |request| {
                            handle(pre.clone(), logs.clone(), env.clone(), request)
                        });
                        // A client that hangs up mid-message is a connection error here.
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Server { addr, logs, accept }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The logs of the first `n` requests, once that many have finished (their stores
    /// settled or gave up), in the order they finished.
    pub async fn logs(&self, n: usize) -> Vec<RequestLog> {
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT * 2;
        loop {
            {
                let logs = self.logs.lock().unwrap();
                if logs.len() >= n {
                    return logs[..n].to_vec();
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} requests finished",
                self.logs.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Requests finished so far.
    pub fn finished(&self) -> usize {
        self.logs.lock().unwrap().len()
    }

    /// The log of the `i`-th request to finish (counting from 0), waiting for it as long as
    /// it takes.
    pub async fn log(&self, i: usize) -> RequestLog {
        loop {
            if let Some(log) = self.logs.lock().unwrap().get(i) {
                return log.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn service_pre(name: &str) -> ServicePre<Ctx> {
    let mut linker = Linker::<Ctx>::new(engine());
    // Rust's std on wasm32-wasip2 imports wasi@0.2; wasip3 imports wasi@0.3.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi p2 linker");
    wasmtime_wasi::p3::add_to_linker(&mut linker).expect("wasi p3 linker");
    wasmtime_wasi_http::p3::add_to_linker(&mut linker).expect("wasi:http p3 linker");
    let path = component_path(name);
    let component = Component::from_file(engine(), &path)
        .unwrap_or_else(|e| panic!("compiling {}: {e:?}", path.display()));
    let pre = linker
        .instantiate_pre(&component)
        .unwrap_or_else(|e| panic!("linking {name}: {e:?}"));
    ServicePre::new(pre).unwrap_or_else(|e| panic!("{name} is not a wasi:http service: {e:?}"))
}

/// The response body, wrapped so that the request's task learns when hyper is done with it
/// (sent whole, or dropped because the client left): the body flows only while the store's
/// event loop runs.
struct Guarded {
    body: ServerBody,
    _done: oneshot::Sender<()>,
}

impl Body for Guarded {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

async fn handle(
    pre: ServicePre<Ctx>,
    logs: Arc<Mutex<Vec<RequestLog>>>,
    env: Arc<Vec<(String, String)>>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<http::Response<ServerBody>, Infallible> {
    let name = format!(
        "{} {}",
        request.method(),
        request.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let (response_tx, response_rx) = oneshot::channel();
    tokio::spawn(async move {
        let stderr = MemoryOutputPipe::new(1 << 20);
        let mut store = Store::new(
            engine(),
            Ctx {
                table: ResourceTable::new(),
                wasi: WasiCtx::builder().stderr(stderr.clone()).envs(&env).build(),
                http: WasiHttpCtx::new(),
                hooks: Hooks,
                peak_memory: 0,
            },
        );
        store.limiter(|ctx| ctx);
        let mut log = RequestLog {
            request: name,
            ..RequestLog::default()
        };
        let run = async {
            let service = pre.instantiate_async(&mut store).await?;
            let (request, io) = wasmtime_wasi_http::p3::Request::from_http(&mut Hooks, request);
            store
                .run_concurrent(async move |acc| -> wasmtime::Result<Option<String>> {
                    let error = match service.handle(acc, request).await? {
                        Ok(response) => {
                            let response = acc.with(|store| response.into_http(store, io))?;
                            let (done_tx, done_rx) = oneshot::channel();
                            let response = response.map(|body| {
                                Guarded {
                                    body,
                                    _done: done_tx,
                                }
                                .boxed_unsync()
                            });
                            let _ = response_tx.send(response);
                            // Keep the event loop running while hyper sends the body.
                            let _ = done_rx.await;
                            None
                        }
                        Err(code) => {
                            let _ = response_tx.send(error_response(&format!("{code:?}")));
                            Some(format!("guest error-code {code:?}"))
                        }
                    };
                    // Then let the guest finish what it does after the response.
                    let settled = tokio::time::timeout(
                        SETTLE_TIMEOUT,
                        std::future::poll_fn(|cx| acc.poll_no_interesting_tasks(cx)),
                    )
                    .await;
                    Ok(match settled {
                        Ok(()) => error,
                        Err(_) => Some("guest tasks still running after the response".into()),
                    })
                })
                .await?
        };
        match run.await {
            Ok(error) => {
                log.error = error;
                log.settled = log.error.is_none()
                    && std::panic::catch_unwind(AssertUnwindSafe(|| {
                        store.assert_concurrent_state_empty()
                    }))
                    .is_ok();
            }
            Err(e) => log.error = Some(format!("{e:?}")),
        }
        log.guest_memory = store.data().peak_memory;
        log.stderr = String::from_utf8_lossy(&stderr.contents()).into_owned();
        logs.lock().unwrap().push(log);
    });
    Ok(response_rx
        .await
        .unwrap_or_else(|_| error_response("the guest failed before answering")))
}

fn error_response(text: &str) -> http::Response<ServerBody> {
    let body = http_body_util::Full::new(Bytes::from(format!("{text}\n")))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}
