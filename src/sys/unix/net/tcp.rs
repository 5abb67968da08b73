//! TCP socket creation for `nbio::net::{TcpListener, TcpStream}`.

use super::{new_ip_socket, socket_addr, to_socket_addr};
use std::io;
use std::mem::{self, MaybeUninit};
use std::net::{self, SocketAddr};
use std::os::fd::AsRawFd;

/// Non-blocking listener: `SO_REUSEADDR`, bind, listen(128) (std's backlog).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<net::TcpListener> {
    let socket = new_ip_socket(&addr, libc::SOCK_STREAM)?;
    super::setsockopt_int(&socket, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    let (raw, len) = socket_addr(&addr);
    super::bind(&socket, raw.as_ptr(), len)?;
    super::listen(&socket, 128)?;
    Ok(net::TcpListener::from(socket))
}

/// Starts a non-blocking connect; the stream may not be connected yet.
pub(crate) fn connect(addr: SocketAddr) -> io::Result<net::TcpStream> {
    let socket = new_ip_socket(&addr, libc::SOCK_STREAM)?;
    let (raw, len) = socket_addr(&addr);
    super::connect(&socket, raw.as_ptr(), len)?;
    Ok(net::TcpStream::from(socket))
}

/// Accepts one connection as a non-blocking, close-on-exec stream.
pub(crate) fn accept(listener: &net::TcpListener) -> io::Result<(net::TcpStream, SocketAddr)> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let socket = super::accept(listener.as_raw_fd(), storage.as_mut_ptr().cast(), &mut len)?;
    // SAFETY: zero-initialised above and partly filled by the kernel; every
    // bit pattern is a valid `sockaddr_storage`.
    let addr = to_socket_addr(unsafe { storage.assume_init_ref() })?;
    Ok((net::TcpStream::from(socket), addr))
}
