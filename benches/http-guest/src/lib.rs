//! The HTTP benchmark component: an echo handler (request body and trailers back as the
//! response) written three ways, chosen by the path's first segment:
//!
//! - `/adapter`: `wit_futures::wasi_http::serve` with `Response::new(request.into_body())`;
//! - `/raw`: a hand-written `read` / `write_all` loop on the wasi:http streams, reusing one
//!   buffer, then the trailers passed through;
//! - `/raw-head`: the same after reading the request's method, scheme, authority and
//!   headers from the host, as the other two do to make an `http::Request`;
//! - `/compat`: wasip3's `http_compat` conversions (`http_from_wasi_request` /
//!   `http_into_wasi_response`).
//!
//! And a proxy, forwarding the request (its path after the first segment) to the upstream
//! named by the environment variable `UPSTREAM` and its response back, the same three
//! ways: `/proxy-adapter` (`wasi_http::serve` + `wasi_http::send`), `/proxy-raw`
//! (hand-written: both bodies copied with `read` / `write_all` loops, the trailers passed
//! through, on spawned tasks, the header fields handed on as they are), `/proxy-raw-head`
//! (the same, reading the request's scheme and authority and copying both heads' headers
//! through the guest, as the bridge does to make `http` types), `/proxy-compat`
//! (`http_compat` both ways).

use wasip3::http::types::{ErrorCode, Fields, Request, Response};
use wasip3::wit_bindgen::StreamResult;
use wasip3::{wit_future, wit_stream};

wasip3::http::service::export!(Echo);

struct Echo;

impl wasip3::exports::http::handler::Guest for Echo {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let path = request.get_path_with_query().unwrap_or_default();
        if path.starts_with("/proxy-raw-head") {
            proxy_raw(request, true).await
        } else if path.starts_with("/proxy-raw") {
            proxy_raw(request, false).await
        } else if path.starts_with("/proxy-compat") {
            proxy_compat(request).await
        } else if path.starts_with("/proxy-adapter") {
            wit_futures::wasi_http::serve(request, proxy_adapter).await
        } else if path.starts_with("/raw-head") {
            read_head(&request);
            raw(request)
        } else if path.starts_with("/raw") {
            raw(request)
        } else if path.starts_with("/compat") {
            compat(request).await
        } else {
            wit_futures::wasi_http::serve(request, adapter).await
        }
    }
}

async fn adapter(
    request: http::Request<wit_futures::wasi_http::Incoming>,
) -> Result<http::Response<wit_futures::wasi_http::Incoming>, ErrorCode> {
    Ok(http::Response::new(request.into_body()))
}

async fn compat(request: Request) -> Result<Response, ErrorCode> {
    let request = wasip3::http_compat::http_from_wasi_request(request)?;
    wasip3::http_compat::http_into_wasi_response(http::Response::new(request.into_body()))
}

/// What the bridge (and http-compat) reads of every request to make an `http::Request`, and
/// any handler that looks at its request reads: the method, the URI's parts and the
/// headers. `/raw-head` is `/raw` after this, to tell that cost from the bridge's own.
fn read_head(request: &Request) {
    std::hint::black_box((
        request.get_method(),
        request.get_scheme(),
        request.get_authority(),
        request.get_headers().copy_all(),
    ));
}

fn raw(request: Request) -> Result<Response, ErrorCode> {
    let (result, result_reader) = wit_future::new(|| Ok(()));
    drop(result);
    let (mut contents, trailers) = Request::consume_body(request, result_reader);
    let (mut out, out_reader) = wit_stream::new();
    let (end, end_reader) = wit_future::new(|| Ok(None));
    let (response, transmission) = Response::new(Fields::new(), Some(out_reader), end_reader);
    wit_bindgen::spawn_local(async move {
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            let (status, read) = contents.read(buf).await;
            buf = read;
            if !buf.is_empty() {
                buf = out.write_all(buf).await;
                if !buf.is_empty() {
                    return; // the client went away
                }
            }
            if status == StreamResult::Dropped {
                break;
            }
            buf.reserve(64 * 1024);
        }
        drop(out);
        let _ = end.write(trailers.await).await;
        let _ = transmission.await;
    });
    Ok(response)
}

/// The upstream URI for `path`: `UPSTREAM` + the path after its first segment.
fn upstream_uri(path: &str) -> String {
    let upstream = wasip3::cli::environment::get_environment()
        .into_iter()
        .find_map(|(k, v)| (k == "UPSTREAM").then_some(v))
        .expect("UPSTREAM");
    let rest = path[1..].find('/').map_or("/", |i| &path[1 + i..]);
    format!("{upstream}{rest}")
}

async fn proxy_adapter(
    request: http::Request<wit_futures::wasi_http::Incoming>,
) -> Result<http::Response<wit_futures::wasi_http::Incoming>, ErrorCode> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = upstream_uri(&path)
        .parse()
        .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    parts.headers.remove(http::header::HOST);
    let (response, _sent) =
        wit_futures::wasi_http::send(http::Request::from_parts(parts, body)).await?;
    Ok(response)
}

async fn proxy_compat(request: Request) -> Result<Response, ErrorCode> {
    let request = wasip3::http_compat::http_from_wasi_request(request)?;
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = upstream_uri(&path)
        .parse()
        .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    parts.headers.remove(http::header::HOST);
    let upstream =
        wasip3::http_compat::http_into_wasi_request(http::Request::from_parts(parts, body))?;
    let response = wasip3::http::client::send(upstream).await?;
    let response = wasip3::http_compat::http_from_wasi_response(response)?;
    wasip3::http_compat::http_into_wasi_response(response)
}

/// Copies `contents` into a new stream on a spawned task, then `trailers` into a new
/// future: the reading ends of both.
fn relay(
    mut contents: wasip3::wit_bindgen::StreamReader<u8>,
    trailers: wasip3::wit_bindgen::FutureReader<Result<Option<Fields>, ErrorCode>>,
) -> (
    wasip3::wit_bindgen::StreamReader<u8>,
    wasip3::wit_bindgen::FutureReader<Result<Option<Fields>, ErrorCode>>,
) {
    let (mut out, out_reader) = wit_stream::new();
    let (end, end_reader) = wit_future::new(|| Ok(None));
    wit_bindgen::spawn_local(async move {
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            let (status, read) = contents.read(buf).await;
            buf = read;
            if !buf.is_empty() {
                buf = out.write_all(buf).await;
                if !buf.is_empty() {
                    return; // the reader went away
                }
            }
            if status == StreamResult::Dropped {
                break;
            }
            buf.reserve(64 * 1024);
        }
        drop(out);
        let _ = end.write(trailers.await).await;
    });
    (out_reader, end_reader)
}

async fn proxy_raw(request: Request, copy_heads: bool) -> Result<Response, ErrorCode> {
    let path = request.get_path_with_query().unwrap_or_default();
    let method = request.get_method();
    let headers = if copy_heads {
        // As the bridge does: the head read into the guest, the headers written back.
        std::hint::black_box((request.get_scheme(), request.get_authority()));
        Fields::from_list(&request.get_headers().copy_all())
            .map_err(|_| ErrorCode::InternalError(None))?
    } else {
        request.get_headers().clone()
    };
    let _ = headers.delete("host");
    let (result, result_reader) = wit_future::new(|| Ok(()));
    drop(result);
    let (contents, trailers) = Request::consume_body(request, result_reader);
    let (contents, trailers) = relay(contents, trailers);
    let (upstream, sent) = Request::new(headers, Some(contents), trailers, None);
    let uri: http::Uri = upstream_uri(&path)
        .parse()
        .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    let _ = upstream.set_method(&method);
    let _ = upstream.set_scheme(Some(&wasip3::http::types::Scheme::Http));
    let _ = upstream.set_authority(uri.authority().map(|a| a.as_str()));
    let _ = upstream.set_path_with_query(uri.path_and_query().map(|p| p.as_str()));
    wit_bindgen::spawn_local(async move {
        let _ = sent.await;
    });
    let response = wasip3::http::client::send(upstream).await?;
    let status = response.get_status_code();
    let headers = if copy_heads {
        Fields::from_list(&response.get_headers().copy_all())
            .map_err(|_| ErrorCode::InternalError(None))?
    } else {
        response.get_headers().clone()
    };
    let (result, result_reader) = wit_future::new(|| Ok(()));
    drop(result);
    let (contents, trailers) = Response::consume_body(response, result_reader);
    let (contents, trailers) = relay(contents, trailers);
    let (out, transmission) = Response::new(headers, Some(contents), trailers);
    let _ = out.set_status_code(status);
    wit_bindgen::spawn_local(async move {
        let _ = transmission.await;
    });
    Ok(out)
}
