//! UDP socket creation and options for `nbio::net::UdpSocket` on Windows.

use super::{getsockopt_int, new_ip_socket};
use std::io;
use std::net::{self, SocketAddr};
use windows_sys::Win32::Networking::WinSock::{IPPROTO_IPV6, IPV6_V6ONLY, SOCK_DGRAM};

/// Non-blocking UDP socket bound to `addr` (no address reuse).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<net::UdpSocket> {
    let socket = new_ip_socket(&addr, SOCK_DGRAM)?;
    super::bind(&socket, &addr)?;
    Ok(net::UdpSocket::from(socket))
}

/// `IPV6_V6ONLY` (an error on IPv4 sockets).
pub(crate) fn only_v6(socket: &net::UdpSocket) -> io::Result<bool> {
    getsockopt_int(socket, IPPROTO_IPV6, IPV6_V6ONLY).map(|v| v != 0)
}
