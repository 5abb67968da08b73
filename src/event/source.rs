//! `Source`: anything that can be registered with a `Registry`.

use crate::{Interest, Registry, Token};
use std::io;

/// A value that can be registered with a [`Registry`] to receive readiness
/// events.
///
/// nbio's own types ([`net`](crate::net) sockets, pipes, `SourceFd`)
/// implement it. To make a type of your own a source, delegate these methods
/// to an inner nbio source. Call them through [`Registry::register`],
/// [`Registry::reregister`] and [`Registry::deregister`], never directly.
///
/// Deregister a source before dropping it if its file descriptor may live on
/// elsewhere (for instance after `dup`).
///
/// # Example
///
/// ```
/// # #[cfg(all(feature = "os-poll", feature = "net"))]
/// # fn main() -> std::io::Result<()> {
/// use nbio::event::Source;
/// use nbio::net::TcpStream;
/// use nbio::{Interest, Poll, Registry, Token};
/// use std::io;
///
/// struct Connection {
///     socket: TcpStream,
///     // ... the connection's own state
/// }
///
/// impl Source for Connection {
///     fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
///         self.socket.register(r, t, i)
///     }
///     fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
///         self.socket.reregister(r, t, i)
///     }
///     fn deregister(&mut self, r: &Registry) -> io::Result<()> {
///         self.socket.deregister(r)
///     }
/// }
///
/// let poll = Poll::new()?;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let socket = TcpStream::connect(listener.local_addr()?)?;
/// let mut conn = Connection { socket };
/// poll.registry().register(&mut conn, Token(0), Interest::READABLE)?;
/// poll.registry().deregister(&mut conn)?;
/// # Ok(())
/// # }
/// # #[cfg(not(all(feature = "os-poll", feature = "net")))]
/// # fn main() {}
/// ```
pub trait Source {
    /// Registers `self` with `registry`. Use [`Registry::register`] instead.
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()>;

    /// Replaces the token and interests of an existing registration. Use
    /// [`Registry::reregister`] instead.
    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()>;

    /// Removes the registration. Use [`Registry::deregister`] instead.
    fn deregister(&mut self, registry: &Registry) -> io::Result<()>;
}

impl<T> Source for Box<T>
where
    T: Source + ?Sized,
{
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        (**self).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        (**self).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        (**self).deregister(registry)
    }
}
