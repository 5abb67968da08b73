//! Unix-domain socket creation for `nbio::net::{UnixListener, UnixStream,
//! UnixDatagram}`, with conversions between std's `SocketAddr` and
//! `sockaddr_un` for pathname, abstract (Linux, Android) and unnamed
//! addresses.

use super::new_socket;
use std::io;
use std::mem::{self, MaybeUninit};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{self, SocketAddr};

#[cfg(target_os = "android")]
use std::os::android::net::SocketAddrExt;
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;

/// The abstract name of `addr` (Linux and Android only have the abstract
/// namespace).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_name(addr: &SocketAddr) -> Option<&[u8]> {
    addr.as_abstract_name()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_name(_: &SocketAddr) -> Option<&[u8]> {
    None
}

/// A std address for an abstract `name`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn from_abstract_name(name: &[u8]) -> io::Result<SocketAddr> {
    SocketAddr::from_abstract_name(name)
}

/// Without an abstract namespace a leading NUL means no name at all.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn from_abstract_name(_: &[u8]) -> io::Result<SocketAddr> {
    SocketAddr::from_pathname("")
}

/// Offset of `sun_path` inside `sockaddr_un`.
fn path_offset() -> usize {
    // SAFETY: all-zeroes is a valid `sockaddr_un`; only addresses are
    // compared, nothing is read through them.
    let sun: libc::sockaddr_un = unsafe { mem::zeroed() };
    sun.sun_path.as_ptr() as usize - std::ptr::addr_of!(sun) as usize
}

/// Converts a std Unix address to `sockaddr_un` and its length.
fn to_c_addr(addr: &SocketAddr) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: all-zeroes is a valid `sockaddr_un` (and NUL-terminates paths).
    let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let (bytes, prefix): (&[u8], usize) = if let Some(path) = addr.as_pathname() {
        (path.as_os_str().as_bytes(), 0)
    } else if let Some(name) = abstract_name(addr) {
        // Abstract names start with a NUL byte.
        (name, 1)
    } else {
        // Unnamed: only the family (on bind, Linux picks an abstract name).
        return Ok((sun, path_offset() as libc::socklen_t));
    };
    // Pathnames keep a terminating NUL; abstract names use the exact length.
    let terminator = usize::from(prefix == 0);
    if prefix + bytes.len() + terminator > sun.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Unix socket address is longer than `sun_path`",
        ));
    }
    for (dst, src) in sun.sun_path[prefix..].iter_mut().zip(bytes) {
        *dst = libc::c_char::from_ne_bytes([*src]);
    }
    let len = path_offset() + prefix + bytes.len() + terminator;
    Ok((sun, len as libc::socklen_t))
}

/// Converts a `sockaddr_un` filled in by the kernel to std's `SocketAddr`.
fn from_c_addr(sun: &libc::sockaddr_un, len: libc::socklen_t) -> io::Result<SocketAddr> {
    let len = (len as usize).min(mem::size_of::<libc::sockaddr_un>());
    if len <= path_offset() {
        return SocketAddr::from_pathname("");
    }
    let raw = &sun.sun_path[..len - path_offset()];
    // SAFETY: `c_char` is `i8` or `u8`, the same size and alignment as
    // `u8`, and the slice stays borrowed from `sun` for its lifetime.
    let bytes: &[u8] = unsafe { std::slice::from_raw_parts(raw.as_ptr().cast::<u8>(), raw.len()) };
    if bytes[0] == 0 {
        from_abstract_name(&bytes[1..])
    } else {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(&bytes[..end]))
    }
}

fn bind_addr(kind: libc::c_int, addr: &SocketAddr) -> io::Result<OwnedFd> {
    let socket = new_socket(libc::AF_UNIX, kind)?;
    let (sun, len) = to_c_addr(addr)?;
    super::bind(&socket, (&sun as *const libc::sockaddr_un).cast(), len)?;
    Ok(socket)
}

/// The listen backlog: -1 asks for the system maximum where the kernel
/// accepts that (listen(2) on Linux, the BSDs and Apple clamp it); elsewhere
/// `SOMAXCONN`.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
const BACKLOG: libc::c_int = -1;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "openbsd",
    target_vendor = "apple"
)))]
const BACKLOG: libc::c_int = libc::SOMAXCONN;

/// Non-blocking listener bound to `addr`, listening with the system's
/// maximum backlog.
pub(crate) fn listener_bind_addr(addr: &SocketAddr) -> io::Result<net::UnixListener> {
    let socket = bind_addr(libc::SOCK_STREAM, addr)?;
    super::listen(&socket, BACKLOG)?;
    Ok(net::UnixListener::from(socket))
}

/// Accepts one connection as a non-blocking, close-on-exec stream.
pub(crate) fn accept(listener: &net::UnixListener) -> io::Result<(net::UnixStream, SocketAddr)> {
    let mut sun = MaybeUninit::<libc::sockaddr_un>::zeroed();
    let mut len = mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let socket = super::accept(listener.as_raw_fd(), sun.as_mut_ptr().cast(), &mut len)?;
    // SAFETY: zero-initialised above and partly filled by the kernel; every
    // bit pattern is a valid `sockaddr_un`.
    let addr = from_c_addr(unsafe { sun.assume_init_ref() }, len)?;
    Ok((net::UnixStream::from(socket), addr))
}

/// Starts a non-blocking connect to `addr`.
pub(crate) fn connect_addr(addr: &SocketAddr) -> io::Result<net::UnixStream> {
    let socket = new_socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
    let (sun, len) = to_c_addr(addr)?;
    super::connect(&socket, (&sun as *const libc::sockaddr_un).cast(), len)?;
    Ok(net::UnixStream::from(socket))
}

/// A connected pair of non-blocking, close-on-exec stream sockets.
pub(crate) fn stream_pair() -> io::Result<(net::UnixStream, net::UnixStream)> {
    pair(libc::SOCK_STREAM)
}

/// A connected pair of non-blocking, close-on-exec datagram sockets.
pub(crate) fn datagram_pair() -> io::Result<(net::UnixDatagram, net::UnixDatagram)> {
    pair(libc::SOCK_DGRAM)
}

fn pair<T: From<OwnedFd>>(kind: libc::c_int) -> io::Result<(T, T)> {
    super::socket_pair(kind).map(|(a, b)| (T::from(a), T::from(b)))
}

/// Non-blocking datagram socket bound to `addr`.
pub(crate) fn datagram_bind_addr(addr: &SocketAddr) -> io::Result<net::UnixDatagram> {
    bind_addr(libc::SOCK_DGRAM, addr).map(net::UnixDatagram::from)
}

/// Non-blocking datagram socket bound to no address.
pub(crate) fn datagram_unbound() -> io::Result<net::UnixDatagram> {
    new_socket(libc::AF_UNIX, libc::SOCK_DGRAM).map(net::UnixDatagram::from)
}
