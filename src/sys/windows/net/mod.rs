//! Socket plumbing for `nbio::net` on Windows: WinSock start-up, creating
//! overlapped, non-inheritable, non-blocking sockets, and converting
//! addresses to their C form.
//!
//! Sockets are created with `WSASocketW(..., WSA_FLAG_OVERLAPPED |
//! WSA_FLAG_NO_HANDLE_INHERIT)` — overlapped so AFD can poll them, not
//! inheritable so child processes do not keep connections open (the
//! counterpart of close-on-exec) — and switched to non-blocking mode with
//! `ioctlsocket(FIONBIO)`.

pub(crate) mod stream_io;
pub(crate) mod tcp;
pub(crate) mod udp;

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::windows::io::{AsRawSocket, FromRawSocket, OwnedSocket};
use std::sync::Once;
use windows_sys::Win32::Networking::WinSock::{
    bind as c_bind, connect as c_connect, getsockopt, ioctlsocket, listen as c_listen,
    WSAGetLastError, WSASocketW, AF_INET, AF_INET6, FIONBIO, IN6_ADDR, IN6_ADDR_0, INVALID_SOCKET,
    IN_ADDR, IN_ADDR_0, SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_IN6_0, SOCKET, SOCKET_ERROR,
    WSAEWOULDBLOCK, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED,
};

/// Makes sure WinSock is initialised before the first raw WinSock call.
///
/// std initialises WinSock (and cleans it up at exit) the first time it
/// creates a socket, so the first call here lets std create and drop a
/// throw-away UDP socket; later calls do nothing.
fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = std::net::UdpSocket::bind("127.0.0.1:0");
    });
}

/// The calling thread's last WinSock error.
fn last_error() -> io::Error {
    // SAFETY: reads a thread-local error code; no preconditions.
    io::Error::from_raw_os_error(unsafe { WSAGetLastError() })
}

/// Maps a WinSock `SOCKET_ERROR` result to the thread's last error.
fn cvt(res: i32) -> io::Result<i32> {
    if res == SOCKET_ERROR {
        Err(last_error())
    } else {
        Ok(res)
    }
}

/// Creates a non-blocking, overlapped, non-inheritable socket of the family
/// of `addr`.
pub(crate) fn new_ip_socket(addr: &SocketAddr, kind: i32) -> io::Result<OwnedSocket> {
    init();
    let family = match addr {
        SocketAddr::V4(_) => AF_INET,
        SocketAddr::V6(_) => AF_INET6,
    };
    // SAFETY: plain integer arguments and no protocol info; the result is a
    // new socket or INVALID_SOCKET.
    let raw = unsafe {
        WSASocketW(
            i32::from(family),
            kind,
            0,
            std::ptr::null(),
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if raw == INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: `raw` is a new socket owned by nobody else.
    let socket = unsafe { OwnedSocket::from_raw_socket(raw as _) };
    set_nonblocking(&socket)?;
    Ok(socket)
}

/// Puts `socket` in non-blocking mode.
pub(crate) fn set_nonblocking(socket: &impl AsRawSocket) -> io::Result<()> {
    let mut on: u32 = 1;
    // SAFETY: `on` is a valid in/out argument for FIONBIO; a bad socket is
    // reported as an error.
    cvt(unsafe { ioctlsocket(socket.as_raw_socket() as SOCKET, FIONBIO, &mut on) }).map(drop)
}

/// A C socket address big enough for IPv4 and IPv6.
#[repr(C)]
pub(crate) union SocketAddrCRepr {
    v4: SOCKADDR_IN,
    v6: SOCKADDR_IN6,
}

impl SocketAddrCRepr {
    pub(crate) fn as_ptr(&self) -> *const SOCKADDR {
        (self as *const SocketAddrCRepr).cast()
    }
}

/// Converts a std address into its C form and length.
pub(crate) fn socket_addr(addr: &SocketAddr) -> (SocketAddrCRepr, i32) {
    match addr {
        SocketAddr::V4(addr) => {
            let sin = SOCKADDR_IN {
                sin_family: AF_INET,
                sin_port: addr.port().to_be(),
                sin_addr: IN_ADDR {
                    S_un: IN_ADDR_0 {
                        S_addr: u32::from_ne_bytes(addr.ip().octets()),
                    },
                },
                sin_zero: [0; 8],
            };
            (
                SocketAddrCRepr { v4: sin },
                mem::size_of::<SOCKADDR_IN>() as i32,
            )
        }
        SocketAddr::V6(addr) => {
            let sin6 = SOCKADDR_IN6 {
                sin6_family: AF_INET6,
                sin6_port: addr.port().to_be(),
                sin6_flowinfo: addr.flowinfo(),
                sin6_addr: IN6_ADDR {
                    u: IN6_ADDR_0 {
                        Byte: addr.ip().octets(),
                    },
                },
                Anonymous: SOCKADDR_IN6_0 {
                    sin6_scope_id: addr.scope_id(),
                },
            };
            (
                SocketAddrCRepr { v6: sin6 },
                mem::size_of::<SOCKADDR_IN6>() as i32,
            )
        }
    }
}

/// `bind` to `addr`.
pub(crate) fn bind(socket: &OwnedSocket, addr: &SocketAddr) -> io::Result<()> {
    let (raw, len) = socket_addr(addr);
    // SAFETY: `raw` holds `len` readable bytes of a socket address and lives
    // for the call.
    cvt(unsafe { c_bind(socket.as_raw_socket() as SOCKET, raw.as_ptr(), len) }).map(drop)
}

/// `listen` with the given backlog.
pub(crate) fn listen(socket: &OwnedSocket, backlog: i32) -> io::Result<()> {
    // SAFETY: plain arguments; a bad socket is reported as an error.
    cvt(unsafe { c_listen(socket.as_raw_socket() as SOCKET, backlog) }).map(drop)
}

/// `connect`, treating "would block" (in progress) as success: the caller
/// waits for writability to learn the outcome.
pub(crate) fn connect(socket: &OwnedSocket, addr: &SocketAddr) -> io::Result<()> {
    let (raw, len) = socket_addr(addr);
    // SAFETY: `raw` holds `len` readable bytes of a socket address and lives
    // for the call.
    match cvt(unsafe { c_connect(socket.as_raw_socket() as SOCKET, raw.as_ptr(), len) }) {
        Ok(_) => Ok(()),
        Err(err) if err.raw_os_error() == Some(WSAEWOULDBLOCK) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Reads an integer socket option.
pub(crate) fn getsockopt_int(socket: &impl AsRawSocket, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = mem::size_of::<i32>() as i32;
    // SAFETY: `value` and `len` are valid for writes and `len` holds the size
    // of `value`, so at most that many bytes are written.
    cvt(unsafe {
        getsockopt(
            socket.as_raw_socket() as SOCKET,
            level,
            name,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}
