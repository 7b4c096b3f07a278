//! What requests and responses share: the connection-level headers left out, the framing
//! a component adds (`content-length`), and the size hint read back from it.

use http::header::{self, HeaderName};
use http::{HeaderMap, StatusCode};
use http_body::{Body, SizeHint};

/// The size hint of a body whose headers may hold a `content-length`.
pub(super) fn size_hint(headers: &HeaderMap) -> SizeHint {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .map_or_else(SizeHint::default, SizeHint::with_exact)
}

/// Removes the connection-level headers, which belong to the host's transport and which
/// wasi:http hosts refuse in fields a component makes: the fixed ones, and every header the
/// `Connection` header names (RFC 9110, section 7.6.1).
pub(super) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        HeaderName::from_static("http2-settings"),
    ] {
        headers.remove(name);
    }
}

/// Adds `content-length` to a response whose body has an exact size, as hyper's server
/// does: never for statuses without a body (1xx, 204, 304, RFC 9110 section 8.6), and never
/// for a response to a HEAD request (its length is the GET body's, which the handler knows
/// and the body does not).
pub(super) fn frame_response<B: Body>(
    headers: &mut HeaderMap,
    status: StatusCode,
    head: bool,
    body: &B,
) {
    if head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return;
    }
    add_content_length(headers, body.size_hint().exact());
}

/// Adds `content-length` to a request whose body has an exact size that is not zero, as
/// hyper's client does (an empty body gets no length: a GET or HEAD must not carry one).
pub(super) fn frame_request<B: Body>(headers: &mut HeaderMap, body: &B) {
    add_content_length(headers, body.size_hint().exact().filter(|&len| len > 0));
}

/// The trailer names the `trailer` headers announce (RFC 9110, section 6.6.2).
pub(super) fn announced_trailers(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::TRAILER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect()
}

fn add_content_length(headers: &mut HeaderMap, len: Option<u64>) {
    if let Some(len) = len
        && !headers.contains_key(header::CONTENT_LENGTH)
    {
        headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from(len));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_named_by_connection_go_with_it() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "keep-alive, X-Hop".parse().unwrap());
        headers.append(header::CONNECTION, "x-other".parse().unwrap());
        headers.insert("x-hop", "1".parse().unwrap());
        headers.insert("x-other", "1".parse().unwrap());
        headers.insert("keep-alive", "timeout=5".parse().unwrap());
        headers.insert("x-end-to-end", "1".parse().unwrap());
        remove_hop_by_hop(&mut headers);
        let left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-end-to-end"]);
    }

    #[test]
    fn head_and_bodiless_responses_get_no_length() {
        let empty = http_body_util::Empty::<bytes::Bytes>::new();
        let framed = |status: u16, head: bool| {
            let mut headers = HeaderMap::new();
            frame_response(
                &mut headers,
                StatusCode::from_u16(status).unwrap(),
                head,
                &empty,
            );
            headers.get(header::CONTENT_LENGTH).cloned()
        };
        assert_eq!(framed(200, false), Some(0.into()));
        assert_eq!(framed(200, true), None);
        assert_eq!(framed(204, false), None);
        assert_eq!(framed(304, false), None);
        assert_eq!(framed(101, false), None);
    }

    #[test]
    fn requests_get_a_length_only_for_a_body() {
        let framed = |body: &str| {
            let mut headers = HeaderMap::new();
            let body = http_body_util::Full::new(bytes::Bytes::from(body.to_owned()));
            frame_request(&mut headers, &body);
            headers.get(header::CONTENT_LENGTH).cloned()
        };
        assert_eq!(framed(""), None);
        assert_eq!(framed("hello"), Some(5.into()));
    }
}
