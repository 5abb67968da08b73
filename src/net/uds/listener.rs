//! `UnixListener`: a non-blocking Unix-domain listening socket.

use crate::io_source::IoSource;
use crate::net::UnixStream;
use crate::{sys, Interest};
use std::io;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

/// A non-blocking Unix-domain socket server.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "os-poll")]
/// # fn main() -> std::io::Result<()> {
/// use nbio::net::{UnixListener, UnixStream};
/// use nbio::{Events, Interest, Poll, Token};
/// use std::time::Duration;
///
/// let dir = std::env::temp_dir().join(format!("nbio-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("listener.sock");
/// # let _ = std::fs::remove_file(&path);
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(8);
/// let mut listener = UnixListener::bind(&path)?;
/// poll.registry().register(&mut listener, Token(0), Interest::READABLE)?;
///
/// let _client = UnixStream::connect(&path)?;
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// let (_stream, peer) = listener.accept()?;
/// assert!(peer.is_unnamed());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "os-poll"))]
/// # fn main() {}
/// ```
pub struct UnixListener {
    inner: IoSource<net::UnixListener>,
}

impl UnixListener {
    /// Creates a listener bound to the filesystem path `path`.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when the path exists, `InvalidInput` when it is too long
    /// or contains a NUL byte, or another OS error.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let addr = SocketAddr::from_pathname(path)?;
        UnixListener::bind_addr(&addr)
    }

    /// Creates a listener bound to `address`: a pathname, an abstract name
    /// (Linux, Android) or unnamed (the kernel picks an abstract name).
    pub fn bind_addr(address: &SocketAddr) -> io::Result<UnixListener> {
        sys::net::uds::listener_bind_addr(address).map(UnixListener::from_std)
    }

    /// Wraps a std listener as it is; put it in non-blocking mode first.
    pub fn from_std(listener: net::UnixListener) -> UnixListener {
        UnixListener {
            inner: IoSource::new(listener),
        }
    }

    /// Accepts a connection: a non-blocking, close-on-exec stream and the
    /// peer's address (usually unnamed). Returns
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) when none is pending.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        self.inner
            .do_io(Interest::READABLE, sys::net::uds::accept)
            .map(|(stream, addr)| (UnixStream::from_std(stream), addr))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }
}

net_type_impls!(UnixListener, net::UnixListener);
