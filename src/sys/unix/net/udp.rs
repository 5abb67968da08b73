//! UDP socket creation and options for `nbio::net::UdpSocket`.

use super::{new_ip_socket, socket_addr};
use std::io;
use std::net::{self, SocketAddr};

/// Non-blocking UDP socket bound to `addr` (no address reuse).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<net::UdpSocket> {
    let socket = new_ip_socket(&addr, libc::SOCK_DGRAM)?;
    let (raw, len) = socket_addr(&addr);
    super::bind(&socket, raw.as_ptr(), len)?;
    Ok(net::UdpSocket::from(socket))
}

/// `IPV6_V6ONLY` (an error on IPv4 sockets).
pub(crate) fn only_v6(socket: &net::UdpSocket) -> io::Result<bool> {
    super::getsockopt_int(socket, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY).map(|v| v != 0)
}
