//! `TcpStream`: a non-blocking TCP connection.

use crate::io_source::IoSource;
use crate::{sys, Interest};
use std::io;
use std::net::{self, Shutdown, SocketAddr};

/// A non-blocking TCP stream between a local and a remote socket.
///
/// Reads and writes return [`WouldBlock`](io::ErrorKind::WouldBlock) instead
/// of blocking; register the stream to learn when to retry. `Read` and
/// `Write` are implemented for `&TcpStream` too, so one stream can be read
/// and written through shared references.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "os-poll")]
/// # fn main() -> std::io::Result<()> {
/// use nbio::net::TcpStream;
/// use nbio::{Events, Interest, Poll, Token};
/// use std::io::{Read, Write};
/// use std::time::Duration;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(8);
/// let mut stream = TcpStream::connect(listener.local_addr()?)?;
/// poll.registry().register(&mut stream, Token(0), Interest::READABLE)?;
///
/// let (mut peer, _) = listener.accept()?;
/// peer.write_all(b"ping")?;
///
/// let mut buf = [0; 4];
/// loop {
///     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
///     match stream.read(&mut buf) {
///         Ok(n) => { assert_eq!(&buf[..n], b"ping"); break; }
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
///         Err(e) => return Err(e),
///     }
/// }
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "os-poll"))]
/// # fn main() {}
/// ```
pub struct TcpStream {
    inner: IoSource<net::TcpStream>,
}

impl TcpStream {
    /// Starts connecting to `addr` without blocking.
    ///
    /// The returned stream may not be connected yet. To learn the outcome,
    /// register it with [`Interest::WRITABLE`] and, on the event, check
    /// [`take_error`](TcpStream::take_error) (an error means the connect
    /// failed) and then [`peer_addr`](TcpStream::peer_addr) (`NotConnected`
    /// means not yet: wait for another event).
    ///
    /// # Errors
    ///
    /// Errors the OS reports synchronously, such as `ConnectionRefused` or
    /// `AddrNotAvailable`.
    pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        sys::net::tcp::connect(addr).map(TcpStream::from_std)
    }

    /// Wraps a std stream as it is; put it in non-blocking mode first.
    pub fn from_std(stream: net::TcpStream) -> TcpStream {
        TcpStream {
            inner: IoSource::new(stream),
        }
    }

    /// The remote address; `NotConnected` while the connect is in progress.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Reads `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.set_ttl(ttl)
    }

    /// Reads `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Reads data without removing it from the receive queue.
    /// `WouldBlock` re-arms like a read.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.do_io(Interest::READABLE, |s| s.peek(buf))
    }

    /// Runs `f`, an operation on the socket performed by the caller (for
    /// instance a `libc::send` with flags), through nbio's re-arm hook.
    ///
    /// `f` must return [`WouldBlock`](io::ErrorKind::WouldBlock) exactly when
    /// the OS did, so that selectors emulating edge triggering re-arm.
    ///
    /// ```
    /// # #[cfg(feature = "os-poll")]
    /// # fn main() -> std::io::Result<()> {
    /// use nbio::net::TcpStream;
    /// use std::io::Read;
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?)?;
    /// let mut buf = [0u8; 8];
    /// // Nothing was sent: the read must block.
    /// let err = stream.try_io(|| (&stream).read(&mut buf)).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "os-poll"))]
    /// # fn main() {}
    /// ```
    pub fn try_io<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T>,
    {
        self.inner
            .do_io(Interest::READABLE.add(Interest::WRITABLE), |_| f())
    }
}

impl_read!(TcpStream, crate::sys::net::stream_io::read);
impl_write!(
    TcpStream,
    crate::sys::net::stream_io::write,
    crate::sys::net::stream_io::write_vectored
);
net_type_impls!(TcpStream, net::TcpStream);
