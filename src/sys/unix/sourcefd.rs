//! `SourceFd`: registers any raw file descriptor the caller owns.

use crate::{event, Interest, Registry, Token};
use std::io;
use std::os::fd::RawFd;

/// Adapter that registers an arbitrary file descriptor.
///
/// `SourceFd` borrows the fd and never closes it; build it right before the
/// registry call. Registration errors are the selector's own: registering an
/// fd twice gives `AlreadyExists` (`EEXIST`), reregistering or deregistering
/// an unknown fd gives `NotFound` (`ENOENT`), and regular files give `EPERM`.
/// No re-arm hook is involved, so the I/O performed on the fd is the
/// caller's business.
///
/// # Example
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use nbio::unix::SourceFd;
/// use nbio::{Interest, Poll, Token};
/// use std::os::fd::AsRawFd;
///
/// let poll = Poll::new()?;
/// let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// socket.set_nonblocking(true)?;
/// let fd = socket.as_raw_fd();
///
/// poll.registry().register(&mut SourceFd(&fd), Token(0), Interest::READABLE)?;
/// poll.registry().deregister(&mut SourceFd(&fd))?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SourceFd<'a>(pub &'a RawFd);

impl event::Source for SourceFd<'_> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        registry.selector().register(*self.0, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        registry.selector().reregister(*self.0, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.selector().deregister(*self.0)
    }
}
