//! TCP socket creation for `nbio::net::{TcpListener, TcpStream}` on Windows.

use super::{new_ip_socket, set_nonblocking};
use std::io;
use std::net::{self, SocketAddr};
use windows_sys::Win32::Networking::WinSock::SOCK_STREAM;

/// Non-blocking listener: bind, listen(128).
///
/// Deliberately without `SO_REUSEADDR`: on Windows it would let another
/// socket bind the very same address and port while this one listens.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<net::TcpListener> {
    let socket = new_ip_socket(&addr, SOCK_STREAM)?;
    super::bind(&socket, &addr)?;
    super::listen(&socket, 128)?;
    Ok(net::TcpListener::from(socket))
}

/// Starts a non-blocking connect; the stream may not be connected yet.
pub(crate) fn connect(addr: SocketAddr) -> io::Result<net::TcpStream> {
    let socket = new_ip_socket(&addr, SOCK_STREAM)?;
    super::connect(&socket, &addr)?;
    Ok(net::TcpStream::from(socket))
}

/// Accepts one connection as a non-blocking stream. Accepted sockets inherit
/// the listener's creation flags (overlapped, not inheritable); non-blocking
/// mode is set explicitly.
pub(crate) fn accept(listener: &net::TcpListener) -> io::Result<(net::TcpStream, SocketAddr)> {
    let (stream, addr) = listener.accept()?;
    set_nonblocking(&stream)?;
    Ok((stream, addr))
}
