use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use wasip3::http::types::{ErrorCode, Fields, HeaderError};

/// wasi:http `fields` (headers or trailers) as an [`HeaderMap`], every value of every name
/// in order.
///
/// # Errors
///
/// `internal-error` naming the field if a name or value is not valid for the `http` crate
/// (wasi:http hosts validate fields, so this only happens with unusual hosts).
///
/// # Examples
///
/// ```no_run
/// # fn example(request: wasip3::http::types::Request) -> Result<(), wasip3::http::types::ErrorCode> {
/// let headers = wit_futures::wasi_http::to_header_map(request.get_headers())?;
/// # Ok(())
/// # }
/// ```
pub fn to_header_map(fields: Fields) -> Result<HeaderMap, ErrorCode> {
    let entries = fields.copy_all();
    let mut map = HeaderMap::with_capacity(entries.len());
    for (name, value) in entries {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| super::internal(format_args!("header name {name:?}: {e}")))?;
        // From the `Vec` itself: no copy.
        let value = HeaderValue::try_from(value)
            .map_err(|e| super::internal(format_args!("value of header {name}: {e}")))?;
        map.append(header, value);
    }
    Ok(map)
}

/// An [`HeaderMap`] as new, mutable wasi:http `fields`, every value of every name in order.
///
/// # Errors
///
/// `internal-error` naming the header if the host refuses it: wasi:http hosts forbid some
/// headers in fields a component makes (e.g. `connection`, `keep-alive`,
/// `transfer-encoding`, `upgrade`), and may limit their size.
///
/// # Examples
///
/// ```no_run
/// # fn example() -> Result<(), wasip3::http::types::ErrorCode> {
/// let mut map = http::HeaderMap::new();
/// map.insert("x-count", http::HeaderValue::from(3));
/// let trailers = wit_futures::wasi_http::to_fields(&map)?;
/// # Ok(())
/// # }
/// ```
pub fn to_fields(map: &HeaderMap) -> Result<Fields, ErrorCode> {
    let entries: Vec<(String, Vec<u8>)> = map
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    Fields::from_list(&entries).map_err(|e| {
        // Say which header: the host only says what kind of error it was.
        let culprit = entries
            .iter()
            .find(|(name, value)| Fields::from_list(&[(name.clone(), value.clone())]).is_err())
            .map_or_else(String::new, |(name, _)| format!(" (header {name})"));
        super::internal(format_args!("{}{culprit}", describe(&e)))
    })
}

fn describe(e: &HeaderError) -> &'static str {
    match e {
        HeaderError::InvalidSyntax => "invalid header syntax",
        HeaderError::Forbidden => "header forbidden by the host",
        HeaderError::Immutable => "headers are immutable",
        HeaderError::SizeExceeded => "headers too large",
        HeaderError::Other(_) => "header refused by the host",
    }
}
