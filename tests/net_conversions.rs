//! Conversions shared by every `nbio::net` type: to and from std, raw fds,
//! `OwnedFd`, `AsFd`, and `Debug` delegating to std.
#![cfg(all(unix, feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::net;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net as unix;
use util::{any_local_address, expect_events, Expect, DEADLINE};

/// Whether `fd` is open in this process.
fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads descriptor flags; a closed fd is EBADF.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// A connected TCP pair: (nbio client, std server side).
fn tcp_pair() -> (TcpStream, net::TcpStream) {
    let listener = net::TcpListener::bind(any_local_address()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    // Accept through nbio so the wait is bounded by a deadline.
    listener.set_nonblocking(true).unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    let mut l = TcpListener::from_std(listener);
    poll.registry()
        .register(&mut l, Token(0), Interest::READABLE)
        .unwrap();
    let server = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(Token(0))]);
            }
            Err(e) => panic!("{e}"),
        }
    };
    let server = net::TcpStream::from(server);
    server.set_nonblocking(false).unwrap();
    server.set_read_timeout(Some(DEADLINE)).unwrap();
    (client, server)
}

// ---------------------------------------------------------------- TcpListener

#[test]
fn tcp_listener_into_std() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.as_raw_fd();
    let std_listener = net::TcpListener::from(listener);
    assert_eq!(std_listener.as_raw_fd(), fd);
    assert_eq!(std_listener.local_addr().unwrap(), addr);
    // Still non-blocking, and still a working listener.
    assert_eq!(
        std_listener.accept().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let _client = net::TcpStream::connect(addr).unwrap();
    std_listener.set_nonblocking(false).unwrap();
    let (_, peer) = std_listener.accept().unwrap();
    assert_eq!(peer.ip(), addr.ip());
}

#[test]
fn tcp_listener_raw_fd_round_trip() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.as_raw_fd();
    assert_eq!(listener.as_fd().as_raw_fd(), fd);
    let raw = listener.into_raw_fd();
    assert_eq!(raw, fd);
    assert!(is_open(raw), "into_raw_fd must not close the fd");
    // SAFETY: `raw` came from `into_raw_fd`, so we own it.
    let listener = unsafe { TcpListener::from_raw_fd(raw) };
    assert_eq!(listener.as_raw_fd(), fd);
    assert_eq!(listener.local_addr().unwrap(), addr);
    drop(listener);
    // Dropping closed the socket: nobody listens any more. (Checking the fd
    // number is racy: other test threads may reuse it at once.)
    let err = net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[test]
fn tcp_listener_owned_fd_round_trip() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.as_raw_fd();
    let owned = OwnedFd::from(listener);
    assert_eq!(owned.as_raw_fd(), fd);
    let mut listener = TcpListener::from(owned);
    assert_eq!(listener.as_raw_fd(), fd);
    assert_eq!(listener.local_addr().unwrap(), addr);

    // Fully functional after the round trip.
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let _client = net::TcpStream::connect(addr).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(1))]);
    listener.accept().unwrap();
}

#[test]
fn tcp_listener_debug() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.as_raw_fd();
    let debug = format!("{listener:?}");
    assert!(debug.contains("TcpListener"), "{debug}");
    assert!(debug.contains("addr"), "{debug}");
    assert!(debug.contains(&addr.to_string()), "{debug}");
    let std_debug = format!("{:?}", net::TcpListener::from(listener));
    assert_eq!(debug, std_debug);
    assert!(std_debug.contains(&fd.to_string()));
}

// ------------------------------------------------------------------ TcpStream

#[test]
fn tcp_stream_into_std() {
    let (client, mut server) = tcp_pair();
    let local = client.local_addr().unwrap();
    let fd = client.as_raw_fd();
    let mut std_stream = net::TcpStream::from(client);
    assert_eq!(std_stream.as_raw_fd(), fd);
    assert_eq!(std_stream.local_addr().unwrap(), local);
    std_stream.write_all(b"std").unwrap();
    let mut buf = [0u8; 3];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"std");
    // The mode is kept: reading an empty stream would block.
    assert_eq!(
        std_stream.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
fn tcp_stream_raw_fd_round_trip() {
    let (client, mut server) = tcp_pair();
    let fd = client.as_raw_fd();
    assert_eq!(client.as_fd().as_raw_fd(), fd);
    let raw = client.into_raw_fd();
    assert_eq!(raw, fd);
    assert!(is_open(raw));
    // SAFETY: `raw` came from `into_raw_fd`, so we own it.
    let mut client = unsafe { TcpStream::from_raw_fd(raw) };
    assert_eq!(client.as_raw_fd(), fd);
    client.write_all(b"fd").unwrap();
    let mut buf = [0u8; 2];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"fd");
    drop(client);
    assert_eq!(server.read(&mut buf).unwrap(), 0, "the peer sees EOF");
}

#[test]
fn tcp_stream_owned_fd_round_trip() {
    let (client, mut server) = tcp_pair();
    let fd = client.as_raw_fd();
    let owned: OwnedFd = client.into();
    assert_eq!(owned.as_raw_fd(), fd);
    let mut client = TcpStream::from(owned);
    assert_eq!(client.as_raw_fd(), fd);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.registry()
        .register(&mut client, Token(1), Interest::READABLE)
        .unwrap();
    server.write_all(b"owned").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(1))]);
    let mut buf = [0u8; 8];
    assert!(client.read(&mut buf).unwrap() > 0);
}

#[test]
fn tcp_stream_debug() {
    let (client, _server) = tcp_pair();
    let local = client.local_addr().unwrap();
    let peer = client.peer_addr().unwrap();
    let debug = format!("{client:?}");
    assert!(debug.contains("TcpStream"), "{debug}");
    assert!(debug.contains("addr"), "{debug}");
    assert!(debug.contains(&local.to_string()), "{debug}");
    assert!(debug.contains(&peer.to_string()), "{debug}");
    assert_eq!(debug, format!("{:?}", net::TcpStream::from(client)));
}

// ------------------------------------------------------------------ UdpSocket

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn udp_socket_into_std() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let addr = socket.local_addr().unwrap();
    let fd = socket.as_raw_fd();
    let std_socket = net::UdpSocket::from(socket);
    assert_eq!(std_socket.as_raw_fd(), fd);
    assert_eq!(std_socket.local_addr().unwrap(), addr);
    std_socket.send_to(b"self", addr).unwrap();
    std_socket.set_nonblocking(false).unwrap();
    std_socket.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = std_socket.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"self"[..], addr));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn udp_socket_raw_fd_round_trip() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let addr = socket.local_addr().unwrap();
    let fd = socket.as_raw_fd();
    assert_eq!(socket.as_fd().as_raw_fd(), fd);
    let raw = socket.into_raw_fd();
    assert_eq!(raw, fd);
    assert!(is_open(raw));
    // SAFETY: `raw` came from `into_raw_fd`, so we own it.
    let socket = unsafe { UdpSocket::from_raw_fd(raw) };
    assert_eq!(socket.as_raw_fd(), fd);
    assert_eq!(socket.local_addr().unwrap(), addr);
    drop(socket);
    // Closed: the address is free again (UDP sockets do not reuse).
    UdpSocket::bind(addr).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn udp_socket_owned_fd_round_trip() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let addr = socket.local_addr().unwrap();
    let fd = socket.as_raw_fd();
    let owned = OwnedFd::from(socket);
    assert_eq!(owned.as_raw_fd(), fd);
    let mut socket = UdpSocket::from(owned);
    assert_eq!(socket.local_addr().unwrap(), addr);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.registry()
        .register(&mut socket, Token(1), Interest::READABLE)
        .unwrap();
    socket.send_to(b"loop", addr).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(1))]);
    let mut buf = [0u8; 8];
    assert_eq!(socket.recv(&mut buf).unwrap(), 4);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn udp_socket_debug() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let addr = socket.local_addr().unwrap();
    let debug = format!("{socket:?}");
    assert!(debug.contains("UdpSocket"), "{debug}");
    assert!(debug.contains("addr"), "{debug}");
    assert!(debug.contains(&addr.to_string()), "{debug}");
    assert_eq!(debug, format!("{:?}", net::UdpSocket::from(socket)));
}

// --------------------------------------------------------------- UnixListener

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unix_listener_into_std() {
    let path = util::temp_path("conv-listener");
    let listener = UnixListener::bind(&path).unwrap();
    let fd = listener.as_raw_fd();
    let std_listener = unix::UnixListener::from(listener);
    assert_eq!(std_listener.as_raw_fd(), fd);
    assert_eq!(
        std_listener.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert_eq!(
        std_listener.accept().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let _client = unix::UnixStream::connect(&path).unwrap();
    // Unix connects are queued synchronously.
    std_listener.accept().unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unix_listener_raw_fd_and_owned_fd() {
    let path = util::temp_path("conv-listener-fd");
    let listener = UnixListener::bind(&path).unwrap();
    let fd = listener.as_raw_fd();
    assert_eq!(listener.as_fd().as_raw_fd(), fd);
    let raw = listener.into_raw_fd();
    assert_eq!(raw, fd);
    assert!(is_open(raw));
    // SAFETY: `raw` came from `into_raw_fd`, so we own it.
    let listener = unsafe { UnixListener::from_raw_fd(raw) };
    assert_eq!(listener.as_raw_fd(), fd);
    let owned = OwnedFd::from(listener);
    assert_eq!(owned.as_raw_fd(), fd);
    let listener = UnixListener::from(owned);
    assert_eq!(listener.as_raw_fd(), fd);
    assert_eq!(
        listener.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    let _client = unix::UnixStream::connect(&path).unwrap();
    listener.accept().unwrap();
    drop(listener);
    let err = unix::UnixStream::connect(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unix_listener_debug() {
    let path = util::temp_path("conv-listener-debug");
    let listener = UnixListener::bind(&path).unwrap();
    let debug = format!("{listener:?}");
    assert!(debug.contains("UnixListener"), "{debug}");
    assert!(debug.contains("local"), "{debug}");
    assert!(debug.contains(path.to_str().unwrap()), "{debug}");
    assert_eq!(debug, format!("{:?}", unix::UnixListener::from(listener)));
}

// ----------------------------------------------------------------- UnixStream

#[test]
fn unix_stream_into_std() {
    let (a, b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let mut std_a = unix::UnixStream::from(a);
    assert_eq!(std_a.as_raw_fd(), fd);
    std_a.write_all(b"to b").unwrap();
    let mut buf = [0u8; 4];
    (&b).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"to b");
    assert_eq!(
        std_a.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
fn unix_stream_raw_fd_and_owned_fd() {
    let (a, b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    assert_eq!(a.as_fd().as_raw_fd(), fd);
    let raw = a.into_raw_fd();
    assert_eq!(raw, fd);
    assert!(is_open(raw));
    // SAFETY: `raw` came from `into_raw_fd`, so we own it.
    let a = unsafe { UnixStream::from_raw_fd(raw) };
    assert_eq!(a.as_raw_fd(), fd);
    let owned: OwnedFd = a.into();
    assert_eq!(owned.as_raw_fd(), fd);
    let a = UnixStream::from(owned);
    (&a).write_all(b"ok").unwrap();
    let mut buf = [0u8; 2];
    (&b).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ok");
    drop(a);
    assert_eq!((&b).read(&mut buf).unwrap(), 0, "the peer sees EOF");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unix_stream_debug() {
    let path = util::temp_path("conv-stream-debug");
    let _listener = UnixListener::bind(&path).unwrap();
    let stream = UnixStream::connect(&path).unwrap();
    let debug = format!("{stream:?}");
    assert!(debug.contains("UnixStream"), "{debug}");
    assert!(debug.contains("peer"), "{debug}");
    assert!(debug.contains(path.to_str().unwrap()), "{debug}");
    assert_eq!(debug, format!("{:?}", unix::UnixStream::from(stream)));
}

// --------------------------------------------------------------- UnixDatagram

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn unix_datagram_into_std() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let fd = a.as_raw_fd();
    let std_a = unix::UnixDatagram::from(a);
    assert_eq!(std_a.as_raw_fd(), fd);
    std_a.send(b"dgram").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(&mut buf).unwrap(), 5);
    assert_eq!(
        std_a.recv(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unix_datagram_raw_fd_and_owned_fd() {
    let path = util::temp_path("conv-dgram-fd");
    let socket = UnixDatagram::bind(&path).unwrap();
    let fd = socket.as_raw_fd();
    assert_eq!(socket.as_fd().as_raw_fd(), fd);
    let raw = socket.into_raw_fd();
    assert_eq!(raw, fd);
    assert!(is_open(raw));
    // SAFETY: `raw` came from `into_raw_fd`, so we own it.
    let socket = unsafe { UnixDatagram::from_raw_fd(raw) };
    assert_eq!(socket.as_raw_fd(), fd);
    let owned = OwnedFd::from(socket);
    assert_eq!(owned.as_raw_fd(), fd);
    let socket = UnixDatagram::from(owned);
    assert_eq!(
        socket.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    let sender = UnixDatagram::unbound().unwrap();
    sender.send_to(b"x", &path).unwrap();
    assert_eq!(socket.recv(&mut [0u8; 4]).unwrap(), 1);
    drop(socket);
    let err = sender.send_to(b"x", &path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unix_datagram_debug() {
    let path = util::temp_path("conv-dgram-debug");
    let socket = UnixDatagram::bind(&path).unwrap();
    let debug = format!("{socket:?}");
    assert!(debug.contains("UnixDatagram"), "{debug}");
    assert!(debug.contains("local"), "{debug}");
    assert!(debug.contains(path.to_str().unwrap()), "{debug}");
    assert_eq!(debug, format!("{:?}", unix::UnixDatagram::from(socket)));
}

// --------------------------------------------------------------------- shared

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn as_fd_borrows_without_closing() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    let fd = socket.as_raw_fd();
    {
        let borrowed = socket.as_fd();
        let dup = borrowed.try_clone_to_owned().unwrap();
        assert_ne!(dup.as_raw_fd(), fd);
    }
    assert!(is_open(fd));
    assert!(socket.local_addr().is_ok());
}

#[test]
fn every_net_type_is_send_and_sync() {
    util::assert_send_sync::<TcpListener>();
    util::assert_send_sync::<TcpStream>();
    util::assert_send_sync::<UdpSocket>();
    util::assert_send_sync::<UnixListener>();
    util::assert_send_sync::<UnixStream>();
    util::assert_send_sync::<UnixDatagram>();
}
