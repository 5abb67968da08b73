//! `nbio::net::UdpSocket`: datagrams, connected mode, readiness and options.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::UdpSocket;
use nbio::{Events, Interest, Poll, Token};
use std::io;
use std::net::{self, IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(windows)]
use std::os::windows::io::AsRawSocket;
use util::{any_local_address, any_local_ipv6_address, expect_events, Expect};

const SOCKET: Token = Token(1);
const OTHER: Token = Token(2);

fn assert_would_block<T: std::fmt::Debug>(res: io::Result<T>) {
    match res {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
}

/// Calls `op` until it stops returning `WouldBlock`, waiting for a readable
/// event on `token` in between.
fn wait_readable<T>(
    poll: &mut Poll,
    events: &mut Events,
    token: Token,
    mut op: impl FnMut() -> io::Result<T>,
) -> T {
    loop {
        match op() {
            Ok(v) => return v,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(poll, events, &[Expect::readable(token)]);
            }
            Err(e) => panic!("receive failed: {e}"),
        }
    }
}

/// A socket registered for reading with `token`.
fn registered(poll: &Poll, addr: SocketAddr, token: Token) -> UdpSocket {
    let mut socket = UdpSocket::bind(addr).unwrap();
    poll.registry()
        .register(&mut socket, token, Interest::READABLE)
        .unwrap();
    socket
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn is_send_and_sync() {
    util::assert_send_sync::<UdpSocket>();
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn bind_ipv4() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let addr = socket.local_addr().unwrap();
    assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(addr.port(), 0);
    // Windows cannot read back a socket's non-blocking mode.
    #[cfg(unix)]
    util::assert_nonblocking(&socket);
    util::assert_cloexec(&socket);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn bind_ipv6() {
    let socket = UdpSocket::bind(any_local_ipv6_address()).unwrap();
    let addr = socket.local_addr().unwrap();
    assert_eq!(addr.ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert_ne!(addr.port(), 0);
    // Windows cannot read back a socket's non-blocking mode.
    #[cfg(unix)]
    util::assert_nonblocking(&socket);
    util::assert_cloexec(&socket);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn bind_twice_fails_without_reuse() {
    let first = UdpSocket::bind(any_local_address()).unwrap();
    let err = UdpSocket::bind(first.local_addr().unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn only_v6() {
    // On the wildcard address the default comes from a sysctl; compare with
    // it when we can read it.
    let any = UdpSocket::bind("[::]:0".parse().unwrap()).unwrap();
    let value = any.only_v6().unwrap();
    // (Not on Windows: under Wine this path would reach the Linux host's
    // sysctl, which does not govern Windows sockets.)
    #[cfg(unix)]
    if let Ok(sysctl) = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only") {
        assert_eq!(value, sysctl.trim() == "1");
    }
    // Windows sockets are IPv6-only unless told otherwise.
    #[cfg(windows)]
    assert!(value, "IPV6_V6ONLY is on by default on Windows");
    // Linux marks a socket bound to a specific IPv6 address (not the
    // wildcard, not v4-mapped) as IPv6-only; other kernels need not.
    let v6 = UdpSocket::bind(any_local_ipv6_address()).unwrap();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert!(v6.only_v6().unwrap());
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    v6.only_v6().unwrap();
    let v4 = UdpSocket::bind(any_local_address()).unwrap();
    assert!(v4.only_v6().is_err(), "IPV6_V6ONLY is not an IPv4 option");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn send_to_and_recv_from() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let receiver = registered(&poll, any_local_address(), SOCKET);
    let sender = UdpSocket::bind(any_local_address()).unwrap();

    assert_eq!(
        sender
            .send_to(b"first", receiver.local_addr().unwrap())
            .unwrap(),
        5
    );
    assert_eq!(
        sender
            .send_to(b"second!", receiver.local_addr().unwrap())
            .unwrap(),
        7
    );
    let mut buf = [0u8; 64];
    let (n, from) = wait_readable(&mut poll, &mut events, SOCKET, || {
        receiver.recv_from(&mut buf)
    });
    assert_eq!(&buf[..n], b"first");
    assert_eq!(from, sender.local_addr().unwrap());
    // Datagram boundaries are kept.
    let (n, from) = wait_readable(&mut poll, &mut events, SOCKET, || {
        receiver.recv_from(&mut buf)
    });
    assert_eq!(&buf[..n], b"second!");
    assert_eq!(from, sender.local_addr().unwrap());
    assert_would_block(receiver.recv_from(&mut buf));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn send_to_and_recv_from_ipv6() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let receiver = registered(&poll, any_local_ipv6_address(), SOCKET);
    let sender = UdpSocket::bind(any_local_ipv6_address()).unwrap();
    sender
        .send_to(b"six", receiver.local_addr().unwrap())
        .unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = wait_readable(&mut poll, &mut events, SOCKET, || {
        receiver.recv_from(&mut buf)
    });
    assert_eq!(&buf[..n], b"six");
    assert_eq!(from, sender.local_addr().unwrap());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn empty_socket_would_block() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let mut buf = [0u8; 8];
    assert_would_block(socket.recv_from(&mut buf));
    assert_would_block(socket.peek_from(&mut buf));
    assert_would_block(socket.recv(&mut buf));
    assert_would_block(socket.peek(&mut buf));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn peek_from_does_not_consume() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let receiver = registered(&poll, any_local_address(), SOCKET);
    let sender = UdpSocket::bind(any_local_address()).unwrap();
    sender
        .send_to(b"look", receiver.local_addr().unwrap())
        .unwrap();

    let mut buf = [0u8; 16];
    let (n, from) = wait_readable(&mut poll, &mut events, SOCKET, || {
        receiver.peek_from(&mut buf)
    });
    assert_eq!(
        (&buf[..n], from),
        (&b"look"[..], sender.local_addr().unwrap())
    );
    let (n, from) = receiver.peek_from(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"look"[..], sender.local_addr().unwrap())
    );
    let (n, _) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"look");
    assert_would_block(receiver.peek_from(&mut buf));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn connected_mode() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let a = registered(&poll, any_local_address(), SOCKET);
    let b = registered(&poll, any_local_address(), OTHER);
    let a_addr = a.local_addr().unwrap();
    let b_addr = b.local_addr().unwrap();

    let err = a.peer_addr().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err:?}");
    // `send` needs a destination.
    assert!(a.send(b"nowhere").is_err());

    a.connect(b_addr).unwrap();
    b.connect(a_addr).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b_addr);
    assert_eq!(b.peer_addr().unwrap(), a_addr);

    assert_eq!(a.send(b"to b").unwrap(), 4);
    let mut buf = [0u8; 16];
    let n = wait_readable(&mut poll, &mut events, OTHER, || b.peek(&mut buf));
    assert_eq!(&buf[..n], b"to b");
    let n = b.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to b");
    assert_would_block(b.recv(&mut buf));

    assert_eq!(b.send(b"to a").unwrap(), 4);
    let n = wait_readable(&mut poll, &mut events, SOCKET, || a.recv(&mut buf));
    assert_eq!(&buf[..n], b"to a");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn connected_socket_filters_other_senders() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let socket = registered(&poll, any_local_address(), SOCKET);
    let peer = UdpSocket::bind(any_local_address()).unwrap();
    let stranger = UdpSocket::bind(any_local_address()).unwrap();
    socket.connect(peer.local_addr().unwrap()).unwrap();

    let to = socket.local_addr().unwrap();
    stranger.send_to(b"stranger", to).unwrap();
    peer.send_to(b"peer", to).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = wait_readable(&mut poll, &mut events, SOCKET, || {
        socket.recv_from(&mut buf)
    });
    assert_eq!(&buf[..n], b"peer");
    assert_eq!(from, peer.local_addr().unwrap());
    assert_would_block(socket.recv(&mut buf));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn reconnect_changes_peer() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let one = UdpSocket::bind(any_local_address()).unwrap();
    let two = UdpSocket::bind(any_local_address()).unwrap();
    socket.connect(one.local_addr().unwrap()).unwrap();
    assert_eq!(socket.peer_addr().unwrap(), one.local_addr().unwrap());
    socket.connect(two.local_addr().unwrap()).unwrap();
    assert_eq!(socket.peer_addr().unwrap(), two.local_addr().unwrap());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn datagram_is_truncated_to_the_buffer() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let receiver = registered(&poll, any_local_address(), SOCKET);
    let sender = UdpSocket::bind(any_local_address()).unwrap();
    let big: Vec<u8> = (0..100u8).collect();
    sender
        .send_to(&big, receiver.local_addr().unwrap())
        .unwrap();
    sender
        .send_to(b"next", receiver.local_addr().unwrap())
        .unwrap();

    let mut small = [0u8; 10];
    #[cfg(unix)]
    {
        let (n, _) = wait_readable(&mut poll, &mut events, SOCKET, || {
            receiver.recv_from(&mut small)
        });
        assert_eq!(n, 10);
    }
    // Windows fills the buffer too, but fails the call with WSAEMSGSIZE.
    #[cfg(windows)]
    {
        const WSAEMSGSIZE: i32 = 10040;
        let err = wait_readable(&mut poll, &mut events, SOCKET, || {
            match receiver.recv_from(&mut small) {
                Err(e) if e.raw_os_error() == Some(WSAEMSGSIZE) => Ok(e),
                Err(e) => Err(e),
                Ok(done) => panic!("expected WSAEMSGSIZE, got {done:?}"),
            }
        });
        assert_eq!(err.raw_os_error(), Some(WSAEMSGSIZE));
    }
    assert_eq!(&small[..], &big[..10]);
    // The rest of the datagram is gone: the next receive is the next one.
    let mut buf = [0u8; 128];
    let (n, _) = wait_readable(&mut poll, &mut events, SOCKET, || {
        receiver.recv_from(&mut buf)
    });
    assert_eq!(&buf[..n], b"next");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn writable_event_on_registration() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut socket = UdpSocket::bind(any_local_address()).unwrap();
    poll.registry()
        .register(&mut socket, SOCKET, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SOCKET)]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn readable_event_and_rearm() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let receiver = registered(&poll, any_local_address(), SOCKET);
    let sender = UdpSocket::bind(any_local_address()).unwrap();
    let to = receiver.local_addr().unwrap();
    let mut buf = [0u8; 16];
    for round in 0..3u8 {
        sender.send_to(&[round; 3], to).unwrap();
        expect_events(&mut poll, &mut events, &[Expect::readable(SOCKET)]);
        let n = wait_readable(&mut poll, &mut events, SOCKET, || receiver.recv(&mut buf));
        assert_eq!(&buf[..n], &[round; 3]);
        assert_would_block(receiver.recv(&mut buf));
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn readable_and_writable_together() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut socket = UdpSocket::bind(any_local_address()).unwrap();
    let sender = UdpSocket::bind(any_local_address()).unwrap();
    sender
        .send_to(b"queued", socket.local_addr().unwrap())
        .unwrap();
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::writable(SOCKET), Expect::readable(SOCKET)],
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn broadcast_option() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    assert!(!socket.broadcast().unwrap());
    socket.set_broadcast(true).unwrap();
    assert!(socket.broadcast().unwrap());
    socket.set_broadcast(false).unwrap();
    assert!(!socket.broadcast().unwrap());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn multicast_loop_v4_option() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    assert!(socket.multicast_loop_v4().unwrap(), "on by default");
    socket.set_multicast_loop_v4(false).unwrap();
    assert!(!socket.multicast_loop_v4().unwrap());
    socket.set_multicast_loop_v4(true).unwrap();
    assert!(socket.multicast_loop_v4().unwrap());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn multicast_ttl_v4_option() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    assert_eq!(socket.multicast_ttl_v4().unwrap(), 1, "1 by default");
    socket.set_multicast_ttl_v4(42).unwrap();
    assert_eq!(socket.multicast_ttl_v4().unwrap(), 42);
    socket.set_multicast_ttl_v4(0).unwrap();
    assert_eq!(socket.multicast_ttl_v4().unwrap(), 0);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn multicast_loop_v6_option() {
    let socket = UdpSocket::bind(any_local_ipv6_address()).unwrap();
    assert!(socket.multicast_loop_v6().unwrap(), "on by default");
    socket.set_multicast_loop_v6(false).unwrap();
    assert!(!socket.multicast_loop_v6().unwrap());
    socket.set_multicast_loop_v6(true).unwrap();
    assert!(socket.multicast_loop_v6().unwrap());
    // An IPv6 option on an IPv4 socket is refused.
    let v4 = UdpSocket::bind(any_local_address()).unwrap();
    assert!(v4.set_multicast_loop_v6(false).is_err());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn ttl_option() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    assert!(socket.ttl().unwrap() > 0);
    socket.set_ttl(9).unwrap();
    assert_eq!(socket.ttl().unwrap(), 9);
    socket.set_ttl(255).unwrap();
    assert_eq!(socket.ttl().unwrap(), 255);
    // Linux rejects 0 (valid: 1..=255); BSD-derived stacks store it.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert!(socket.set_ttl(0).is_err());
    assert_eq!(socket.ttl().unwrap(), 255);
}

// Multicast on the loopback interface (named `lo`, usable without a route)
// and the exact errors checked are Linux behaviour.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn join_and_leave_multicast_v4() {
    // A link-local group on the loopback interface works without any route.
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let group = Ipv4Addr::new(224, 0, 0, 123);
    let lo = Ipv4Addr::LOCALHOST;
    socket.join_multicast_v4(&group, &lo).unwrap();
    // Joining twice is refused by the kernel: the first join took effect.
    assert!(socket.join_multicast_v4(&group, &lo).is_err());
    socket.leave_multicast_v4(&group, &lo).unwrap();
    // Leaving a group we are no longer in fails.
    let err = socket.leave_multicast_v4(&group, &lo).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRNOTAVAIL), "{err:?}");
    // Not a multicast address.
    assert!(socket.join_multicast_v4(&Ipv4Addr::LOCALHOST, &lo).is_err());
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn loopback_index() -> u32 {
    // SAFETY: the argument is a NUL-terminated byte string.
    let index = unsafe { libc::if_nametoindex(b"lo\0".as_ptr().cast()) };
    assert_ne!(index, 0, "no loopback interface");
    index
}

// Linux-only, as the IPv4 variant above.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn join_and_leave_multicast_v6() {
    let socket = UdpSocket::bind(any_local_ipv6_address()).unwrap();
    let group: Ipv6Addr = "ff02::1:123".parse().unwrap();
    let lo = loopback_index();
    socket.join_multicast_v6(&group, lo).unwrap();
    assert!(socket.join_multicast_v6(&group, lo).is_err());
    socket.leave_multicast_v6(&group, lo).unwrap();
    let err = socket.leave_multicast_v6(&group, lo).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRNOTAVAIL), "{err:?}");
    // Not a multicast address.
    assert!(socket.join_multicast_v6(&Ipv6Addr::LOCALHOST, lo).is_err());
}

// Unix turns the ICMP "port unreachable" into a pending `SO_ERROR` and an
// error event. Windows does neither: it fails the next receive with
// WSAECONNRESET instead (and AFD's error flag means a failed connect only).
#[cfg(unix)]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn take_error_is_none_then_reports_icmp_errors() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let socket = registered(&poll, any_local_address(), SOCKET);
    assert!(socket.take_error().unwrap().is_none());

    // A port nobody listens on: the ICMP "port unreachable" comes back as a
    // pending error on the connected socket.
    let closed = {
        let tmp = net::UdpSocket::bind(any_local_address()).unwrap();
        tmp.local_addr().unwrap()
    };
    socket.connect(closed).unwrap();
    socket.send(b"anyone?").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::new(SOCKET).and_error()]);
    let err = socket.take_error().unwrap().expect("a pending error");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
    assert!(socket.take_error().unwrap().is_none());
}

/// `recv(2)` on the raw fd, as a user of `try_io` would call it.
#[cfg(unix)]
fn raw_recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` writable bytes.
    let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Winsock's `recv` on the raw socket, as a user of `try_io` would call it.
#[cfg(windows)]
fn raw_recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
    let len = i32::try_from(buf.len()).unwrap_or(i32::MAX);
    // SAFETY: `buf` is valid for `len <= buf.len()` writable bytes.
    let n = unsafe {
        util::sock::recv(
            socket.as_raw_socket() as util::sock::SOCKET,
            buf.as_mut_ptr(),
            len,
            0,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn try_io_with_raw_recv() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let socket = registered(&poll, any_local_address(), SOCKET);
    let sender = UdpSocket::bind(any_local_address()).unwrap();
    let mut buf = [0u8; 16];

    let mut calls = 0;
    assert_would_block(socket.try_io(|| {
        calls += 1;
        raw_recv(&socket, &mut buf)
    }));
    assert_eq!(calls, 1);

    sender
        .send_to(b"raw", socket.local_addr().unwrap())
        .unwrap();
    let n = wait_readable(&mut poll, &mut events, SOCKET, || {
        socket.try_io(|| raw_recv(&socket, &mut buf))
    });
    assert_eq!(&buf[..n], b"raw");
    assert_eq!(
        socket.try_io(|| Ok::<_, io::Error>("value")).unwrap(),
        "value"
    );

    // WouldBlock through try_io re-arms: the next datagram is a new event.
    assert_would_block(socket.try_io(|| raw_recv(&socket, &mut buf)));
    sender
        .send_to(b"again", socket.local_addr().unwrap())
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(SOCKET)]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn from_std_socket() {
    let std_socket = net::UdpSocket::bind(any_local_address()).unwrap();
    std_socket.set_nonblocking(true).unwrap();
    let addr = std_socket.local_addr().unwrap();
    #[cfg(unix)]
    let fd = std_socket.as_raw_fd();
    #[cfg(windows)]
    let raw = std_socket.as_raw_socket();
    let mut socket = UdpSocket::from_std(std_socket);
    #[cfg(unix)]
    assert_eq!(socket.as_raw_fd(), fd);
    #[cfg(windows)]
    assert_eq!(socket.as_raw_socket(), raw);
    assert_eq!(socket.local_addr().unwrap(), addr);
    assert_would_block(socket.recv(&mut [0u8; 4]));

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE)
        .unwrap();
    let sender = net::UdpSocket::bind(any_local_address()).unwrap();
    sender.send_to(b"std", addr).unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = wait_readable(&mut poll, &mut events, SOCKET, || {
        socket.recv_from(&mut buf)
    });
    assert_eq!(
        (&buf[..n], from),
        (&b"std"[..], sender.local_addr().unwrap())
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn no_events_after_deregister() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut socket = registered(&poll, any_local_address(), SOCKET);
    poll.registry().deregister(&mut socket).unwrap();
    let sender = UdpSocket::bind(any_local_address()).unwrap();
    sender
        .send_to(b"unseen", socket.local_addr().unwrap())
        .unwrap();
    util::expect_no_event_for(&mut poll, &mut events, SOCKET);

    // Registering again reports the queued datagram.
    poll.registry()
        .register(&mut socket, OTHER, Interest::READABLE)
        .unwrap();
    let mut buf = [0u8; 8];
    let n = wait_readable(&mut poll, &mut events, OTHER, || socket.recv(&mut buf));
    assert_eq!(&buf[..n], b"unseen");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn send_to_wrong_family_fails() {
    let v4 = UdpSocket::bind(any_local_address()).unwrap();
    let v6 = UdpSocket::bind(any_local_ipv6_address()).unwrap();
    assert!(v4.send_to(b"x", v6.local_addr().unwrap()).is_err());
}
