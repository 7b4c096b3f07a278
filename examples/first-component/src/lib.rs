//! A first wasi:http component: the request body is numbers, one per line; the response
//! answers each line with the running total as soon as the line arrives, and ends with the
//! trailers `x-count` and `x-outcome`. A line that takes more than 10 seconds ends it.

use std::time::Duration;

use futures::io::AsyncBufReadExt;
use futures::{StreamExt, TryStreamExt};
use http_body_util::BodyDataStream;
use wasip3::http::types::{ErrorCode, Request, Response};
use wit_futures::http::{BodySender, ChannelBody, body_channel};
use wit_futures::time::timeout;
use wit_futures::wasi_http::{self, Incoming};

struct Component;

wasip3::http::service::export!(Component);

impl wasip3::exports::http::handler::Guest for Component {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        wasi_http::serve(request, running_totals).await
    }
}

async fn running_totals(
    request: http::Request<Incoming>,
) -> Result<http::Response<ChannelBody>, ErrorCode> {
    let (sender, body) = body_channel();
    wit_futures::task::spawn(answer(request.into_body(), sender)).detach();
    let response = http::Response::builder()
        .header("content-type", "text/plain")
        // Hosts send only the trailers a `trailer` header announces.
        .header("trailer", "x-count, x-outcome")
        .body(body)
        .expect("a valid response");
    Ok(response)
}

async fn answer(body: Incoming, mut sender: BodySender) {
    let mut lines = BodyDataStream::new(body)
        .map_err(std::io::Error::other)
        .into_async_read()
        .lines();
    let (mut count, mut total) = (0u64, 0i64);
    let outcome = loop {
        let line = match timeout(Duration::from_secs(10), lines.next()).await {
            Err(_elapsed) => break "timeout",
            Ok(None) => break "complete",
            Ok(Some(Err(_))) => break "request body failed",
            Ok(Some(Ok(line))) => line,
        };
        let Ok(number) = line.trim().parse::<i64>() else {
            break "not a number";
        };
        count += 1;
        total += number;
        if sender.send_data(format!("{total}\n")).await.is_err() {
            return; // the client went away
        }
    };
    let mut trailers = http::HeaderMap::new();
    trailers.insert("x-count", count.into());
    trailers.insert("x-outcome", http::HeaderValue::from_static(outcome));
    let _ = sender.send_trailers(trailers).await;
}
