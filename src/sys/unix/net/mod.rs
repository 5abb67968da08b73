//! Socket plumbing for `nbio::net` on Unix: creating non-blocking,
//! close-on-exec sockets and converting addresses to and from their C form.

pub(crate) mod stream_io;
pub(crate) mod tcp;
pub(crate) mod udp;
pub(crate) mod uds;

use crate::sys::unix::cvt;
use std::io;
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Creates a socket that is non-blocking and close-on-exec.
pub(crate) fn new_socket(domain: libc::c_int, kind: libc::c_int) -> io::Result<OwnedFd> {
    // Set at creation where the platform allows it (no window in which a
    // concurrent fork+exec could inherit the fd).
    #[cfg(not(target_vendor = "apple"))]
    let kind = kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `socket` takes plain integers and returns a new fd or -1.
    let fd = cvt(unsafe { libc::socket(domain, kind, 0) })?;
    // SAFETY: `fd` was just created and is owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    prepare_socket(&socket)?;
    Ok(socket)
}

/// Platform set-up of a socket nbio created or accepted: Apple has no
/// `SOCK_NONBLOCK`/`SOCK_CLOEXEC`/`accept4`, so the flags are set here, and
/// `SO_NOSIGPIPE` turns writes to a closed peer into `EPIPE` errors instead
/// of a SIGPIPE (Apple has no `MSG_NOSIGNAL`).
#[cfg(target_vendor = "apple")]
fn prepare_socket(socket: &OwnedFd) -> io::Result<()> {
    crate::sys::unix::set_cloexec_nonblocking(socket)?;
    setsockopt_int(socket, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, 1)
}

/// Elsewhere the flags were set atomically at creation.
#[cfg(not(target_vendor = "apple"))]
fn prepare_socket(_: &OwnedFd) -> io::Result<()> {
    Ok(())
}

/// A connected pair of non-blocking, close-on-exec sockets.
pub(crate) fn socket_pair(kind: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(target_vendor = "apple"))]
    let kind = kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    let mut fds = [-1; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) })?;
    // SAFETY: `socketpair` succeeded, so both fds are new and owned by us.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    prepare_socket(&a)?;
    prepare_socket(&b)?;
    Ok((a, b))
}

/// Creates a socket of the right family for `addr`.
pub(crate) fn new_ip_socket(addr: &SocketAddr, kind: libc::c_int) -> io::Result<OwnedFd> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    new_socket(domain, kind)
}

/// A C socket address big enough for IPv4 and IPv6.
#[repr(C)]
pub(crate) union SocketAddrCRepr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

impl SocketAddrCRepr {
    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (self as *const SocketAddrCRepr).cast()
    }
}

/// Converts a std address into its C form and length.
pub(crate) fn socket_addr(addr: &SocketAddr) -> (SocketAddrCRepr, libc::socklen_t) {
    match addr {
        SocketAddr::V4(addr) => {
            // SAFETY: `sockaddr_in` is plain data for which all-zeroes is a
            // valid value (and zeroes the padding the kernel expects zeroed).
            let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = addr.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(addr.ip().octets()),
            };
            (
                SocketAddrCRepr { v4: sin },
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        SocketAddr::V6(addr) => {
            // SAFETY: as above, all-zeroes is a valid `sockaddr_in6`.
            let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = addr.port().to_be();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: addr.ip().octets(),
            };
            sin6.sin6_flowinfo = addr.flowinfo();
            sin6.sin6_scope_id = addr.scope_id();
            (
                SocketAddrCRepr { v6: sin6 },
                mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

/// Converts a C address filled in by the kernel back into a std address.
pub(crate) fn to_socket_addr(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a `sockaddr_in`,
            // which is smaller than and alignment-compatible with
            // `sockaddr_storage`.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a `sockaddr_in6`,
            // which is smaller than and alignment-compatible with
            // `sockaddr_storage`.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket address is neither IPv4 nor IPv6",
        )),
    }
}

/// Accepts a connection as a non-blocking, close-on-exec socket (`accept4`
/// where available, else `accept` and then the flags). Fills `storage` with
/// the peer's address.
pub(crate) fn accept(
    listener: RawFd,
    storage: *mut libc::sockaddr,
    len: &mut libc::socklen_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `storage` points to `*len` writable bytes (guaranteed by the
    // callers, which pass a local buffer and its size); bad fds are errors.
    #[cfg(not(target_vendor = "apple"))]
    let fd = cvt(unsafe {
        libc::accept4(
            listener,
            storage,
            len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: as above.
    #[cfg(target_vendor = "apple")]
    let fd = cvt(unsafe { libc::accept(listener, storage, len) })?;
    // SAFETY: `fd` was just created and is owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    prepare_socket(&socket)?;
    Ok(socket)
}

/// Reads an integer socket option.
pub(crate) fn getsockopt_int(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value = MaybeUninit::<libc::c_int>::zeroed();
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` holds the
    // size of `value`, so the kernel writes at most that many bytes.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_mut_ptr().cast(),
            &mut len,
        )
    })?;
    // SAFETY: zero-initialised above, possibly overwritten by the kernel.
    Ok(unsafe { value.assume_init() })
}

/// Sets an integer socket option.
pub(crate) fn setsockopt_int(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, alive for the call.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `connect`, treating "in progress" as success (the caller waits for
/// writability to learn the outcome).
pub(crate) fn connect(
    fd: &OwnedFd,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> io::Result<()> {
    // SAFETY: `addr` points to `len` readable bytes of a socket address
    // (callers pass a local C address and its length).
    match cvt(unsafe { libc::connect(fd.as_raw_fd(), addr, len) }) {
        Ok(_) => Ok(()),
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
        Err(err) => Err(err),
    }
}

/// `bind` of a C address.
pub(crate) fn bind(
    fd: &OwnedFd,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> io::Result<()> {
    // SAFETY: `addr` points to `len` readable bytes of a socket address.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), addr, len) }).map(drop)
}

/// `listen` with the given backlog.
pub(crate) fn listen(fd: &OwnedFd, backlog: libc::c_int) -> io::Result<()> {
    // SAFETY: plain integer arguments; bad fds are reported as errors.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) }).map(drop)
}
