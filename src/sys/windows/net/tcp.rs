//! TCP socket creation for `nbio::net::{TcpListener, TcpStream}` on Windows.

use super::{new_ip_socket, set_nonblocking};
use std::io;
use std::net::{self, SocketAddr};
use std::os::windows::io::AsRawSocket;
use windows_sys::Win32::Foundation::{SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT};
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

/// Accepts one connection as a non-blocking, non-inheritable stream.
/// Accepted sockets take the listener's overlapped flag, but whether they
/// also take its no-inherit flag is not something to rely on (Wine's do
/// not), so both modes are set explicitly.
pub(crate) fn accept(listener: &net::TcpListener) -> io::Result<(net::TcpStream, SocketAddr)> {
    let (stream, addr) = listener.accept()?;
    set_nonblocking(&stream)?;
    set_no_inherit(&stream)?;
    Ok((stream, addr))
}

/// Clears `HANDLE_FLAG_INHERIT`, so child processes do not get the socket.
fn set_no_inherit(socket: &impl AsRawSocket) -> io::Result<()> {
    let handle = socket.as_raw_socket() as HANDLE;
    // SAFETY: a socket is a kernel handle; SetHandleInformation only changes
    // its inheritance flag and reports an invalid handle as an error.
    let ok = unsafe { SetHandleInformation(handle, HANDLE_FLAG_INHERIT, 0) };
    if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
