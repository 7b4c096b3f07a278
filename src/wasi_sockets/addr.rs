use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use wasip3::sockets::types::{
    IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

use super::lookup_io_error;

/// `addr` as a wasi:sockets `ip-socket-address`.
pub(super) fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: v4.port(),
                address: (a, b, c, d),
            })
        }
        SocketAddr::V6(v6) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = v6.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: v6.port(),
                flow_info: v6.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: v6.scope_id(),
            })
        }
    }
}

/// A wasi:sockets `ip-socket-address` as a [`SocketAddr`].
pub(super) fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(v4) => {
            let (a, b, c, d) = v4.address;
            SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), v4.port).into()
        }
        IpSocketAddress::Ipv6(v6) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = v6.address;
            let ip = Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7);
            SocketAddrV6::new(ip, v6.port, v6.flow_info, v6.scope_id).into()
        }
    }
}

/// The address family of `addr`.
pub(super) fn family(addr: &SocketAddr) -> IpAddressFamily {
    match addr {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    }
}

fn from_wasi_ip(ip: IpAddress) -> IpAddr {
    match ip {
        IpAddress::Ipv4((a, b, c, d)) => Ipv4Addr::new(a, b, c, d).into(),
        IpAddress::Ipv6((s0, s1, s2, s3, s4, s5, s6, s7)) => {
            Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7).into()
        }
    }
}

/// What [`TcpStream::connect`](super::TcpStream::connect),
/// [`TcpListener::bind`](super::TcpListener::bind) and [`lookup_host`] accept as an
/// address: as `tokio::net::ToSocketAddrs`, a [`SocketAddr`] (or V4/V6), an
/// `(IpAddr, u16)` pair, a `"host:port"` string (`"127.0.0.1:6379"`, `"[::1]:80"`,
/// `"localhost:8080"`), a `(host, port)` pair, or a slice of `SocketAddr`s. Host names are
/// resolved with wasi:sockets/ip-name-lookup (the host must allow name lookups); IP
/// literals are not looked up.
///
/// Sealed: implemented for the types above only.
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    use std::net::SocketAddr;

    /// What an address is before resolution.
    pub enum Target {
        Addrs(Vec<SocketAddr>),
        /// A host name or IP literal, and a port.
        Host(String, u16),
        /// A `"host:port"` string that is not a socket address literal.
        HostPort(String),
    }

    pub trait Sealed {
        fn target(self) -> Target;
    }
}

use sealed::{Sealed, Target};

macro_rules! addrs {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl Sealed for $ty {
            fn target(self) -> Target {
                Target::Addrs(vec![SocketAddr::from(self)])
            }
        }
    )*};
}

addrs!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for &[SocketAddr] {}
impl Sealed for &[SocketAddr] {
    fn target(self) -> Target {
        Target::Addrs(self.to_vec())
    }
}

impl ToSocketAddrs for &str {}
impl Sealed for &str {
    fn target(self) -> Target {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Target::Addrs(vec![addr]),
            Err(_) => Target::HostPort(self.to_string()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn target(self) -> Target {
        self.as_str().target()
    }
}

impl ToSocketAddrs for &String {}
impl Sealed for &String {
    fn target(self) -> Target {
        self.as_str().target()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn target(self) -> Target {
        Target::Host(self.0.to_string(), self.1)
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn target(self) -> Target {
        Target::Host(self.0, self.1)
    }
}

/// Resolves `addr` to socket addresses, as `tokio::net::lookup_host` does: IP literals as
/// they are, host names with wasi:sockets/ip-name-lookup (never empty on success).
///
/// # Errors
///
/// `InvalidInput` for a string that is neither `host:port` nor a socket address; the
/// lookup's error (see [`lookup_io_error`](super::lookup_io_error)) for a name that does not
/// resolve or a host that does not allow name lookups.
///
/// # Examples
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// for addr in wit_futures::wasi_sockets::lookup_host("localhost:6379").await? {
///     println!("{addr}");
/// }
/// # Ok(())
/// # }
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    resolve(addr).await.map(Vec::into_iter)
}

pub(super) async fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let (host, port) = match addr.target() {
        Target::Addrs(addrs) => return Ok(addrs),
        Target::Host(host, port) => (host, port),
        Target::HostPort(host_port) => {
            let invalid = || {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid socket address {host_port:?}: expected host:port"),
                )
            };
            let (host, port) = host_port.rsplit_once(':').ok_or_else(invalid)?;
            let port = port.parse::<u16>().map_err(|_| invalid())?;
            (host.to_string(), port)
        }
    };
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let ips = wasip3::sockets::ip_name_lookup::resolve_addresses(host)
        .await
        .map_err(lookup_io_error)?;
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(from_wasi_ip(ip), port))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip_through_wasi() {
        for addr in [
            "127.0.0.1:6379",
            "0.0.0.0:0",
            "[::1]:80",
            "[fe80::1%7]:443",
            "255.255.255.255:65535",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(from_wasi(to_wasi(addr)), addr);
        }
    }

    #[test]
    fn literals_and_host_port_strings_are_told_apart() {
        assert!(matches!("127.0.0.1:1".target(), Target::Addrs(a) if a.len() == 1));
        assert!(matches!("[::1]:1".target(), Target::Addrs(_)));
        assert!(matches!("localhost:1".target(), Target::HostPort(h) if h == "localhost:1"));
        assert!(matches!(("localhost", 1).target(), Target::Host(h, 1) if h == "localhost"));
    }
}
