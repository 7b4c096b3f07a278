use core::fmt::Display;

use http_body::Body;
use wasip3::http::types::ErrorCode;

use super::{Incoming, Transmitted, from_response, into_request};
use crate::task::JoinHandle;

/// Sends an `http::Request` through the component's `wasi:http/client` import and returns
/// the response, with a handle for the request body's [`Transmitted`] outcome.
///
/// The request body is pumped by a spawned task (see [`into_request`]) while the response
/// is awaited; the response body arrives as [`Incoming`]. The handle resolves once the
/// request body went out and the host reported its transmission result.
///
/// # Errors
///
/// The `error-code` of converting the request (see [`into_request`]), of the host's
/// `send`, or of converting the response (see [`from_response`]).
///
/// # Panics
///
/// Panics outside a component-model task, where nothing can be spawned.
///
/// # Examples
///
/// ```no_run
/// # async fn example() -> Result<(), wasip3::http::types::ErrorCode> {
/// use http_body_util::BodyExt;
/// let request = http::Request::get("http://example.com/").body(String::new()).unwrap();
/// let (response, _sent) = wit_futures::wasi_http::send(request).await?;
/// let text = response.into_body().collect().await?.to_bytes();
/// # Ok(())
/// # }
/// ```
#[allow(clippy::type_complexity)]
pub async fn send<B>(
    request: http::Request<B>,
) -> Result<(http::Response<Incoming>, JoinHandle<Transmitted<B::Error>>), ErrorCode>
where
    B: Body + 'static,
    B::Error: Display + 'static,
{
    let (request, sent) = into_request(request)?;
    let response = wasip3::http::client::send(request).await?;
    Ok((from_response(response)?, sent))
}
