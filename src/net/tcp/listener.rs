//! `TcpListener`: a non-blocking TCP listening socket.

use crate::io_source::IoSource;
use crate::net::TcpStream;
use crate::{sys, Interest};
use std::io;
use std::net::{self, SocketAddr};

/// A non-blocking TCP socket server, listening for connections.
///
/// Register it with [`Interest::READABLE`]; on each readable event call
/// [`accept`](TcpListener::accept) until it returns
/// [`WouldBlock`](io::ErrorKind::WouldBlock).
///
/// # Example
///
/// ```
/// # #[cfg(feature = "os-poll")]
/// # fn main() -> std::io::Result<()> {
/// use nbio::net::TcpListener;
/// use nbio::{Events, Interest, Poll, Token};
/// use std::time::Duration;
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(8);
/// let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
/// poll.registry().register(&mut listener, Token(0), Interest::READABLE)?;
///
/// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// let (stream, peer) = listener.accept()?;
/// assert_eq!(peer, stream.peer_addr()?);
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "os-poll"))]
/// # fn main() {}
/// ```
pub struct TcpListener {
    inner: IoSource<net::TcpListener>,
}

impl TcpListener {
    /// Creates a listener bound to `addr`: a non-blocking, close-on-exec
    /// socket with `SO_REUSEADDR`, listening with a backlog of 128. On
    /// Windows the socket is not inheritable and `SO_REUSEADDR` is not set
    /// (there it would let other sockets bind the same address).
    ///
    /// # Errors
    ///
    /// The OS error: `AddrInUse` when another socket listens on `addr`,
    /// `AddrNotAvailable` for a non-local address, `PermissionDenied` for a
    /// privileged port.
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        sys::net::tcp::bind(addr).map(TcpListener::from_std)
    }

    /// Wraps a std listener as it is; put it in non-blocking mode first.
    pub fn from_std(listener: net::TcpListener) -> TcpListener {
        TcpListener {
            inner: IoSource::new(listener),
        }
    }

    /// Accepts a connection: a non-blocking, close-on-exec stream and the
    /// peer's address. Returns [`WouldBlock`](io::ErrorKind::WouldBlock) when
    /// no connection is pending.
    ///
    /// # Errors
    ///
    /// Besides `WouldBlock`, the OS error: for instance `EMFILE` when the
    /// process is out of fds (the connection stays queued).
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.inner
            .do_io(Interest::READABLE, sys::net::tcp::accept)
            .map(|(stream, addr)| (TcpStream::from_std(stream), addr))
    }

    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets `IP_TTL` for sockets accepted from now on.
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
}

net_type_impls!(TcpListener, net::TcpListener);
