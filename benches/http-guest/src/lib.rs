//! The HTTP benchmark component: an echo handler (request body and trailers back as the
//! response) written three ways, chosen by the path's first segment:
//!
//! - `/adapter`: `wit_futures::wasi_http::serve` with `Response::new(request.into_body())`;
//! - `/raw`: a hand-written `read` / `write_all` loop on the wasi:http streams, reusing one
//!   buffer, then the trailers passed through;
//! - `/compat`: wasip3's `http_compat` conversions (`http_from_wasi_request` /
//!   `http_into_wasi_response`).

use wasip3::http::types::{ErrorCode, Fields, Request, Response};
use wasip3::wit_bindgen::StreamResult;
use wasip3::{wit_future, wit_stream};

wasip3::http::service::export!(Echo);

struct Echo;

impl wasip3::exports::http::handler::Guest for Echo {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let path = request.get_path_with_query().unwrap_or_default();
        if path.starts_with("/raw") {
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
