//! `UnixStream`: a non-blocking Unix-domain stream socket.

use crate::io_source::IoSource;
use crate::{sys, Interest};
use std::io;
use std::net::Shutdown;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

/// A non-blocking Unix-domain stream socket.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "os-poll")]
/// # fn main() -> std::io::Result<()> {
/// use nbio::net::UnixStream;
/// use std::io::{Read, Write};
///
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "os-poll"))]
/// # fn main() {}
/// ```
pub struct UnixStream {
    inner: IoSource<net::UnixStream>,
}

impl UnixStream {
    /// Starts connecting to the socket at `path` without blocking.
    ///
    /// # Errors
    ///
    /// `NotFound`/`ConnectionRefused` when nothing listens there, or
    /// `WouldBlock` when the listener's backlog is full.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = SocketAddr::from_pathname(path)?;
        UnixStream::connect_addr(&addr)
    }

    /// Starts connecting to `address` (pathname or abstract) without
    /// blocking.
    pub fn connect_addr(address: &SocketAddr) -> io::Result<UnixStream> {
        sys::net::uds::connect_addr(address).map(UnixStream::from_std)
    }

    /// Wraps a std stream as it is; put it in non-blocking mode first.
    pub fn from_std(stream: net::UnixStream) -> UnixStream {
        UnixStream {
            inner: IoSource::new(stream),
        }
    }

    /// A connected pair of non-blocking, close-on-exec streams.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        sys::net::uds::stream_pair()
            .map(|(a, b)| (UnixStream::from_std(a), UnixStream::from_std(b)))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Runs `f`, an operation on the socket performed by the caller (for
    /// instance `sendmsg` with file descriptors), through nbio's re-arm hook.
    /// `f` must return [`WouldBlock`](io::ErrorKind::WouldBlock) exactly when
    /// the OS did.
    pub fn try_io<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T>,
    {
        self.inner
            .do_io(Interest::READABLE.add(Interest::WRITABLE), |_| f())
    }
}

impl_read!(UnixStream, crate::sys::net::stream_io::read);
impl_write!(
    UnixStream,
    crate::sys::net::stream_io::write,
    crate::sys::net::stream_io::write_vectored
);
net_type_impls!(UnixStream, net::UnixStream);
