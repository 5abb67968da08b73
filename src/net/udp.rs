//! `UdpSocket`: a non-blocking UDP socket.

use crate::io_source::IoSource;
use crate::{sys, Interest};
use std::io;
use std::net::{self, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A non-blocking UDP socket.
///
/// Sends and receives return [`WouldBlock`](io::ErrorKind::WouldBlock)
/// instead of blocking. Each datagram is delivered to one receive call; a
/// buffer too small for it truncates the datagram.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "os-poll")]
/// # fn main() -> std::io::Result<()> {
/// use nbio::net::UdpSocket;
/// use nbio::{Events, Interest, Poll, Token};
/// use std::time::Duration;
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(8);
/// let mut receiver = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// let sender = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// poll.registry().register(&mut receiver, Token(0), Interest::READABLE)?;
///
/// sender.send_to(b"hi", receiver.local_addr()?)?;
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// let mut buf = [0; 8];
/// let (n, from) = receiver.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"hi"[..], sender.local_addr()?));
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "os-poll"))]
/// # fn main() {}
/// ```
pub struct UdpSocket {
    inner: IoSource<net::UdpSocket>,
}

impl UdpSocket {
    /// Creates a non-blocking, close-on-exec UDP socket bound to `addr`.
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        sys::net::udp::bind(addr).map(UdpSocket::from_std)
    }

    /// Wraps a std socket as it is; put it in non-blocking mode first.
    pub fn from_std(socket: net::UdpSocket) -> UdpSocket {
        UdpSocket {
            inner: IoSource::new(socket),
        }
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The address the socket is connected to; `NotConnected` otherwise.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Sends a datagram to `target`; returns the number of bytes sent.
    pub fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.inner
            .do_io(Interest::WRITABLE, |s| s.send_to(buf, target))
    }

    /// Receives one datagram and its sender's address.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.do_io(Interest::READABLE, |s| s.recv_from(buf))
    }

    /// Like [`recv_from`](UdpSocket::recv_from) but leaves the datagram
    /// queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.do_io(Interest::READABLE, |s| s.peek_from(buf))
    }

    /// Sends a datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.do_io(Interest::WRITABLE, |s| s.send(buf))
    }

    /// Receives a datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.do_io(Interest::READABLE, |s| s.recv(buf))
    }

    /// Like [`recv`](UdpSocket::recv) but leaves the datagram queued.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.do_io(Interest::READABLE, |s| s.peek(buf))
    }

    /// Connects the socket to `addr`: `send`/`recv` then use that peer and
    /// datagrams from other addresses are dropped.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.connect(addr)
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.set_broadcast(on)
    }

    /// Reads `SO_BROADCAST`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.broadcast()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.inner.set_multicast_loop_v4(on)
    }

    /// Reads `IP_MULTICAST_LOOP`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.inner.multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.inner.set_multicast_ttl_v4(ttl)
    }

    /// Reads `IP_MULTICAST_TTL`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.inner.multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.inner.set_multicast_loop_v6(on)
    }

    /// Reads `IPV6_MULTICAST_LOOP`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.inner.multicast_loop_v6()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.set_ttl(ttl)
    }

    /// Reads `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.ttl()
    }

    /// Joins an IPv4 multicast group on `interface` (`0.0.0.0`: any).
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.join_multicast_v4(multiaddr, interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface`
    /// (0: any).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group.
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.leave_multicast_v4(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.leave_multicast_v6(multiaddr, interface)
    }

    /// Reads `IPV6_V6ONLY`; an error on an IPv4 socket.
    pub fn only_v6(&self) -> io::Result<bool> {
        sys::net::udp::only_v6(&self.inner)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Runs `f`, an operation on the socket performed by the caller (for
    /// instance `recvmmsg`), through nbio's re-arm hook. `f` must return
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) exactly when the OS did.
    pub fn try_io<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T>,
    {
        self.inner
            .do_io(Interest::READABLE.add(Interest::WRITABLE), |_| f())
    }
}

net_type_impls!(UdpSocket, net::UdpSocket);
