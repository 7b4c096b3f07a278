use std::io;

use wasip3::sockets::ip_name_lookup::ErrorCode as LookupErrorCode;
use wasip3::sockets::types::ErrorCode;

/// A wasi:sockets `error-code` as the [`io::Error`] a Rust user expects: its
/// [`kind`](io::Error::kind) is the one `std::net` or tokio reports for the same condition,
/// and the code itself is the inner error (`err.get_ref()` and `downcast_ref::<ErrorCode>()`).
///
/// | `error-code` | [`io::ErrorKind`] |
/// |---|---|
/// | `access-denied` | `PermissionDenied` |
/// | `not-supported` | `Unsupported` |
/// | `invalid-argument` | `InvalidInput` |
/// | `out-of-memory` | `OutOfMemory` |
/// | `timeout` | `TimedOut` |
/// | `invalid-state` | `NotConnected` |
/// | `address-not-bindable` | `AddrNotAvailable` |
/// | `address-in-use` | `AddrInUse` |
/// | `remote-unreachable` | `HostUnreachable` |
/// | `connection-refused` | `ConnectionRefused` |
/// | `connection-broken` | `BrokenPipe` |
/// | `connection-reset` | `ConnectionReset` |
/// | `connection-aborted` | `ConnectionAborted` |
/// | `datagram-too-large` | `InvalidInput` |
/// | `other` | `Other` |
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use wasip3::sockets::types::ErrorCode;
///
/// let error = wit_futures::wasi_sockets::io_error(ErrorCode::ConnectionRefused);
/// assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
/// assert!(matches!(
///     error.get_ref().and_then(|e| e.downcast_ref::<ErrorCode>()),
///     Some(ErrorCode::ConnectionRefused)
/// ));
/// ```
pub fn io_error(code: ErrorCode) -> io::Error {
    use io::ErrorKind as K;
    let kind = match &code {
        ErrorCode::AccessDenied => K::PermissionDenied,
        ErrorCode::NotSupported => K::Unsupported,
        ErrorCode::InvalidArgument => K::InvalidInput,
        ErrorCode::OutOfMemory => K::OutOfMemory,
        ErrorCode::Timeout => K::TimedOut,
        ErrorCode::InvalidState => K::NotConnected,
        ErrorCode::AddressNotBindable => K::AddrNotAvailable,
        ErrorCode::AddressInUse => K::AddrInUse,
        ErrorCode::RemoteUnreachable => K::HostUnreachable,
        ErrorCode::ConnectionRefused => K::ConnectionRefused,
        ErrorCode::ConnectionBroken => K::BrokenPipe,
        ErrorCode::ConnectionReset => K::ConnectionReset,
        ErrorCode::ConnectionAborted => K::ConnectionAborted,
        ErrorCode::DatagramTooLarge => K::InvalidInput,
        ErrorCode::Other(_) => K::Other,
    };
    io::Error::new(kind, code)
}

/// A wasi:sockets/ip-name-lookup `error-code` as an [`io::Error`]: `access-denied` is
/// `PermissionDenied`, `invalid-argument` `InvalidInput`, `name-unresolvable` `NotFound`,
/// the resolver failures and `other` are `Other`. The code is the inner error.
pub fn lookup_io_error(code: LookupErrorCode) -> io::Error {
    use io::ErrorKind as K;
    let kind = match &code {
        LookupErrorCode::AccessDenied => K::PermissionDenied,
        LookupErrorCode::InvalidArgument => K::InvalidInput,
        LookupErrorCode::NameUnresolvable => K::NotFound,
        LookupErrorCode::TemporaryResolverFailure
        | LookupErrorCode::PermanentResolverFailure
        | LookupErrorCode::Other(_) => K::Other,
    };
    io::Error::new(kind, code)
}
