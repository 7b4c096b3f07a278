use core::convert::Infallible;
use core::fmt::{self, Display};

use http_body::Body;
use wasip3::http::types::{ErrorCode, Request, Response};

use super::response::response_and_sending;
use super::{Incoming, SendBodyError, Transmitted, from_request};

/// What became of one request [`serve_with`] handled, once its response went out (or
/// failed to).
#[must_use = "an Outcome carries the errors of a request"]
#[non_exhaustive]
pub struct Outcome<H, B> {
    /// The request's method and URI, to say which request this was ("(invalid request)"
    /// if the request could not be read).
    pub request: String,
    /// The handler's error, if it failed: the client got a `500 Internal Server Error`.
    pub handler_error: Option<H>,
    /// How the response went out (the `500`'s, if the handler failed); or the `error-code`
    /// [`serve`] returned to the host, which then answered the client itself: the request
    /// could not be read (the handler did not run), or the host refused the response (e.g.
    /// a forbidden header).
    pub response: Result<Transmitted<B>, ErrorCode>,
}

impl<H, B> Outcome<H, B> {
    /// True if the handler succeeded and its response went out whole.
    pub fn is_ok(&self) -> bool {
        self.handler_error.is_none() && self.response.as_ref().is_ok_and(Transmitted::is_ok)
    }
}

impl<H: Display, B: Display> Display for Outcome<H, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.request)?;
        if let Some(e) = &self.handler_error {
            write!(f, "handler failed, answered 500: {e}; ")?;
        }
        let response = match &self.response {
            Ok(response) => response,
            Err(code) => return write!(f, "not served, the host answered: {code}"),
        };
        match &response.body {
            Ok(bytes) => write!(f, "{bytes} body bytes sent")?,
            Err(e @ SendBodyError::ContentsClosed { .. }) => write!(f, "client went away: {e}")?,
            Err(SendBodyError::EndClosed(_)) => f.write_str(
                "client went away before the end of the response (its trailers or error)",
            )?,
            Err(e @ SendBodyError::Trailers(_)) => write!(f, "response trailers refused: {e}")?,
            Err(e @ SendBodyError::Body(_)) => write!(f, "response body failed: {e}")?,
        }
        if let Err(e) = &response.transmission {
            write!(f, "; transmission failed: {e}")?;
        }
        super::response::write_unannounced(f, &response.unannounced_trailers)
    }
}

impl<H, B> fmt::Debug for Outcome<H, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("request", &self.request)
            .field("handler_failed", &self.handler_error.is_some())
            .field("response", &self.response)
            .finish()
    }
}

/// Runs `handler` on a wasi:http request: the one line a `wasi:http/handler` export needs.
///
/// (Not to be confused with [`stream::serve`](crate::stream::serve), which serves the items
/// of a component-model stream, each on its own task: both answer requests with a handler,
/// for two kinds of request.)
///
/// The request arrives as an `http::Request<`[`Incoming`]`>` (see [`from_request`]). The
/// handler's response goes back as a wasi:http response whose body a spawned task pumps
/// (see [`into_response`](super::into_response)); if the handler fails, the client gets `500 Internal Server
/// Error` instead. Nothing is lost silently: a handler error, a body error, the client
/// hanging up mid-body, trailers no `trailer` header announced (see
/// [the module docs](super#trailers)) and an error in the host's transmission result are
/// each reported as one line on stderr (see [`write_stderr`](super::write_stderr)) naming the request. Use [`serve_with`] to handle
/// the [`Outcome`] yourself.
///
/// # Errors
///
/// The request's `error-code` if it cannot be turned into an `http::Request` (the host
/// then answers the client itself), or `internal-error` if the host refuses the response
/// (a forbidden header, see [`to_fields`](super::to_fields)).
///
/// # Panics
///
/// Panics outside a component-model task (it is meant for an async export).
///
/// # Examples
///
/// ```no_run
/// use http_body_util::BodyExt;
/// use wasip3::http::types::{ErrorCode, Request, Response};
/// use wit_futures::wasi_http::Incoming;
///
/// struct Echo;
///
/// impl wasip3::exports::http::handler::Guest for Echo {
///     async fn handle(request: Request) -> Result<Response, ErrorCode> {
///         wit_futures::wasi_http::serve(request, echo).await
///     }
/// }
///
/// // The request body streams straight back, trailers included.
/// async fn echo(request: http::Request<Incoming>) -> Result<http::Response<Incoming>, ErrorCode> {
///     Ok(http::Response::new(request.into_body()))
/// }
/// # wasip3::http::service::export!(Echo);
/// ```
pub async fn serve<F, Fut, B, H>(request: Request, handler: F) -> Result<Response, ErrorCode>
where
    F: FnOnce(http::Request<Incoming>) -> Fut,
    Fut: Future<Output = Result<http::Response<B>, H>>,
    B: Body + 'static,
    B::Error: Display + 'static,
    H: Display + 'static,
{
    serve_with(request, handler, async |outcome| {
        if !outcome.is_ok() {
            // Nowhere else to report a failure to report.
            let _ = super::write_stderr(&format!("wasi-http: {outcome}\n")).await;
        }
    })
    .await
}

/// As [`serve`], but `report` receives the [`Outcome`] of every request (also successful
/// ones, and those [`serve_with`] returns an error for), on a spawned task, once the
/// response went out or failed; the task ends when the future `report` returns is done.
///
/// # Errors
///
/// As [`serve`].
///
/// # Panics
///
/// Panics outside a component-model task (it is meant for an async export).
///
/// # Examples
///
/// ```no_run
/// use wasip3::http::types::{ErrorCode, Request, Response};
/// # async fn hello(_: http::Request<wit_futures::wasi_http::Incoming>) -> Result<http::Response<String>, String> { todo!() }
/// # async fn example(request: Request) -> Result<Response, ErrorCode> {
/// wit_futures::wasi_http::serve_with(request, hello, async |outcome| {
///     // e.g. "GET /: 6 body bytes sent"
///     let _ = wit_futures::wasi_http::write_stderr(&format!("{outcome}\n")).await;
/// })
/// .await
/// # }
/// ```
pub async fn serve_with<F, Fut, B, H, R>(
    request: Request,
    handler: F,
    report: R,
) -> Result<Response, ErrorCode>
where
    F: FnOnce(http::Request<Incoming>) -> Fut,
    Fut: Future<Output = Result<http::Response<B>, H>>,
    B: Body + 'static,
    B::Error: Display + 'static,
    H: Display + 'static,
    R: AsyncFnOnce(Outcome<H, B::Error>) + 'static,
{
    let request = match from_request(request) {
        Ok(request) => request,
        Err(code) => {
            report_refused("(invalid request)".to_owned(), None, code.clone(), report);
            return Err(code);
        }
    };
    let name = format!("{} {}", request.method(), request.uri());
    // A HEAD response's length is the GET body's: none is added for it.
    let head = request.method() == http::Method::HEAD;
    match handler(request).await {
        Ok(response) => match response_and_sending(response, head) {
            Ok((response, sending)) => {
                spawn_report(sending, core::convert::identity, name, None, report);
                Ok(response)
            }
            Err(code) => {
                report_refused(name, None, code.clone(), report);
                Err(code)
            }
        },
        Err(e) => {
            let mut response = http::Response::new(String::from("internal server error\n"));
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            match response_and_sending(response, head) {
                Ok((response, sending)) => {
                    spawn_report(sending, cannot_fail, name, Some(e), report);
                    Ok(response)
                }
                Err(code) => {
                    report_refused(name, Some(e), code.clone(), report);
                    Err(code)
                }
            }
        }
    }
}

/// Reports, on a spawned task, a request [`serve_with`] returned `code` for.
fn report_refused<H, B, R>(request: String, handler_error: Option<H>, code: ErrorCode, report: R)
where
    H: 'static,
    B: 'static,
    R: AsyncFnOnce(Outcome<H, B>) + 'static,
{
    // Detached: no one waits for it (wit-bindgen's handle, dropped, detaches the task).
    drop(wit_bindgen::spawn_local(async move {
        report(Outcome {
            request,
            handler_error,
            response: Err(code),
        })
        .await;
    }));
}

/// Sends the response body, then reports the outcome, on one spawned task.
fn spawn_report<X, B, H, R>(
    sending: impl Future<Output = Transmitted<X>> + 'static,
    convert: fn(SendBodyError<X>) -> SendBodyError<B>,
    request: String,
    handler_error: Option<H>,
    report: R,
) where
    X: 'static,
    B: 'static,
    H: 'static,
    R: AsyncFnOnce(Outcome<H, B>) + 'static,
{
    // Detached: no one waits for it, so wit-bindgen's spawn is enough (its handle,
    // dropped, detaches the task), without the join state of `crate::task::spawn`.
    drop(wit_bindgen::spawn_local(async move {
        let sent = sending.await;
        let response = Transmitted {
            body: sent.body.map_err(convert),
            transmission: sent.transmission,
            unannounced_trailers: sent.unannounced_trailers,
        };
        report(Outcome {
            request,
            handler_error,
            response: Ok(response),
        })
        .await;
    }));
}

/// The errors of the `500` body, which cannot fail itself.
fn cannot_fail<B>(e: SendBodyError<Infallible>) -> SendBodyError<B> {
    match e {
        crate::http::SendBodyError::Body(never) => match never {},
        crate::http::SendBodyError::Trailers(map) => SendBodyError::Trailers(map),
        crate::http::SendBodyError::ContentsClosed { written, unsent } => {
            SendBodyError::ContentsClosed { written, unsent }
        }
        crate::http::SendBodyError::EndClosed(value) => SendBodyError::EndClosed(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(body: Result<u64, SendBodyError<String>>) -> Outcome<String, String> {
        Outcome {
            request: "GET /".into(),
            handler_error: None,
            response: Ok(Transmitted {
                body,
                transmission: Ok(()),
                unannounced_trailers: Vec::new(),
            }),
        }
    }

    #[test]
    fn outcome_says_which_side_failed() {
        assert_eq!(outcome(Ok(6)).to_string(), "GET /: 6 body bytes sent");
        assert_eq!(
            outcome(Err(SendBodyError::EndClosed(Ok(None)))).to_string(),
            "GET /: client went away before the end of the response (its trailers or error)"
        );
        assert_eq!(
            outcome(Err(SendBodyError::Body("disk full".into()))).to_string(),
            "GET /: response body failed: body failed: disk full"
        );
        let refused: Outcome<String, String> = Outcome {
            request: "GET /".into(),
            handler_error: None,
            response: Err(ErrorCode::HttpRequestDenied),
        };
        assert!(!refused.is_ok());
        assert!(
            refused
                .to_string()
                .starts_with("GET /: not served, the host answered: "),
            "{refused}"
        );
    }
}
