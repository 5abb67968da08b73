//! `UnixDatagram`: a non-blocking Unix-domain datagram socket.

use crate::io_source::IoSource;
use crate::{sys, Interest};
use std::io;
use std::net::Shutdown;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

/// A non-blocking Unix-domain datagram socket.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "os-poll")]
/// # fn main() -> std::io::Result<()> {
/// use nbio::net::UnixDatagram;
///
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"datagram")?;
/// let mut buf = [0; 16];
/// let n = b.recv(&mut buf)?;
/// assert_eq!(&buf[..n], b"datagram");
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "os-poll"))]
/// # fn main() {}
/// ```
pub struct UnixDatagram {
    inner: IoSource<net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates a socket bound to the filesystem path `path`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        let addr = SocketAddr::from_pathname(path)?;
        UnixDatagram::bind_addr(&addr)
    }

    /// Creates a socket bound to `address`: pathname, abstract name (Linux,
    /// Android) or unnamed.
    pub fn bind_addr(address: &SocketAddr) -> io::Result<UnixDatagram> {
        sys::net::uds::datagram_bind_addr(address).map(UnixDatagram::from_std)
    }

    /// Wraps a std socket as it is; put it in non-blocking mode first.
    pub fn from_std(socket: net::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            inner: IoSource::new(socket),
        }
    }

    /// Connects the socket to the socket at `path`.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.inner.connect(path)
    }

    /// Creates a socket bound to no address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        sys::net::uds::datagram_unbound().map(UnixDatagram::from_std)
    }

    /// A connected pair of non-blocking, close-on-exec sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        sys::net::uds::datagram_pair()
            .map(|(a, b)| (UnixDatagram::from_std(a), UnixDatagram::from_std(b)))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The address of the connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Receives one datagram and its sender's address.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.do_io(Interest::READABLE, |s| s.recv_from(buf))
    }

    /// Receives one datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.do_io(Interest::READABLE, |s| s.recv(buf))
    }

    /// Sends a datagram to the socket at `path`.
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        self.inner
            .do_io(Interest::WRITABLE, |s| s.send_to(buf, path))
    }

    /// Sends a datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.do_io(Interest::WRITABLE, |s| s.send(buf))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Runs `f`, an operation on the socket performed by the caller, through
    /// nbio's re-arm hook. `f` must return
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) exactly when the OS did.
    pub fn try_io<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T>,
    {
        self.inner
            .do_io(Interest::READABLE.add(Interest::WRITABLE), |_| f())
    }
}

net_type_impls!(UnixDatagram, net::UnixDatagram);
