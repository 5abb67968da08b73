//! `nbio::net::TcpListener`: binding, accepting, readiness and options.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::mem;
use std::net::{self, IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(windows)]
use std::os::windows::io::AsRawSocket;
use util::{any_local_address, any_local_ipv6_address, expect_events, sock, Expect};

const LISTENER: Token = Token(1);

/// Reads an integer socket option straight from the kernel.
#[cfg(unix)]
fn getsockopt_int(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals and `len` is the size of
    // `value`, so the kernel writes at most that many bytes.
    let res = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(res, 0, "getsockopt: {}", io::Error::last_os_error());
    value
}

/// Reads an integer socket option straight from Winsock.
#[cfg(windows)]
fn getsockopt_int(socket: &impl AsRawSocket, level: i32, name: i32) -> i32 {
    let mut value: i32 = 0;
    let mut len = mem::size_of::<i32>() as i32;
    // SAFETY: `value` and `len` are live locals and `len` is the size of
    // `value`, so Winsock writes at most that many bytes.
    let res = unsafe {
        sock::getsockopt(
            socket.as_raw_socket() as sock::SOCKET,
            level,
            name,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    };
    assert_eq!(res, 0, "getsockopt: {}", io::Error::last_os_error());
    value
}

/// Accepts until `WouldBlock`, returning what was accepted.
fn accept_all(listener: &TcpListener) -> Vec<(TcpStream, SocketAddr)> {
    let mut out = Vec::new();
    loop {
        match listener.accept() {
            Ok(pair) => out.push(pair),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

/// Waits (through `poll`) until one connection can be accepted.
fn accept_one(
    poll: &mut Poll,
    events: &mut Events,
    listener: &TcpListener,
) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept() {
            Ok(pair) => return pair,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(poll, events, &[Expect::readable(LISTENER)]);
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

#[test]
fn is_send_and_sync() {
    util::assert_send_sync::<TcpListener>();
}

#[test]
fn bind_ipv4_loopback() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(addr.port(), 0, "the kernel should have picked a port");
    // Windows cannot read back a socket's non-blocking mode.
    #[cfg(unix)]
    util::assert_nonblocking(&listener);
    util::assert_cloexec(&listener);
    // It is listening: a blocking std client can connect.
    net::TcpStream::connect(addr).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not support getsockopt(SO_DOMAIN)")]
fn bind_ipv6_loopback() {
    let listener = TcpListener::bind(any_local_ipv6_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    assert_eq!(addr.ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert_ne!(addr.port(), 0);
    // SO_DOMAIN is missing from Apple's and NetBSD's headers.
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "illumos"
    ))]
    assert_eq!(
        getsockopt_int(&listener, libc::SOL_SOCKET, libc::SO_DOMAIN),
        libc::AF_INET6
    );
    // Windows cannot read back a socket's non-blocking mode.
    #[cfg(unix)]
    util::assert_nonblocking(&listener);
    util::assert_cloexec(&listener);

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = listener;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let client = net::TcpStream::connect(addr).unwrap();
    let (stream, peer) = accept_one(&mut poll, &mut events, &listener);
    assert_eq!(peer, client.local_addr().unwrap());
    assert!(peer.is_ipv6());
    assert_eq!(stream.local_addr().unwrap(), addr);
}

#[test]
fn bind_to_a_specific_port() {
    // Find a free port, release it, then bind to it explicitly.
    let port = TcpListener::bind(any_local_address())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let listener = TcpListener::bind(addr).unwrap();
    assert_eq!(listener.local_addr().unwrap(), addr);
}

#[test]
fn bind_twice_to_the_same_address_fails() {
    let first = TcpListener::bind(any_local_address()).unwrap();
    let addr = first.local_addr().unwrap();
    let err = TcpListener::bind(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");
    // The first listener is unaffected.
    assert_eq!(first.local_addr().unwrap(), addr);
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not support getsockopt(SO_REUSEADDR)")]
fn socket_options_set_by_bind() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    #[cfg(unix)]
    assert_eq!(
        getsockopt_int(&listener, sock::SOL_SOCKET, sock::SO_REUSEADDR),
        1,
        "SO_REUSEADDR must be set"
    );
    // On Windows SO_REUSEADDR would let another socket steal the port, so
    // it is deliberately left off there (as in mio and std).
    #[cfg(windows)]
    assert_eq!(
        getsockopt_int(&listener, sock::SOL_SOCKET, sock::SO_REUSEADDR),
        0,
        "SO_REUSEADDR must not be set on Windows"
    );
    assert_eq!(
        getsockopt_int(&listener, sock::SOL_SOCKET, sock::SO_ACCEPTCONN),
        1,
        "the socket must be listening"
    );
    assert_eq!(
        getsockopt_int(&listener, sock::SOL_SOCKET, sock::SO_TYPE),
        sock::SOCK_STREAM
    );
}

#[test]
fn accept_would_block_without_connections() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    for _ in 0..2 {
        let err = listener.accept().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
    }
}

#[test]
fn readable_event_then_accept() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();

    let mut client = net::TcpStream::connect(addr).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);

    let accepted = accept_all(&listener);
    assert_eq!(accepted.len(), 1);
    let (mut stream, peer) = accepted.into_iter().next().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(stream.peer_addr().unwrap(), peer);
    assert_eq!(stream.local_addr().unwrap(), addr);
    // Windows cannot read back a socket's non-blocking mode.
    #[cfg(unix)]
    util::assert_nonblocking(&stream);
    util::assert_cloexec(&stream);

    // The accepted stream is connected to the client.
    client.write_all(b"hello").unwrap();
    client.shutdown(net::Shutdown::Write).unwrap();
    const STREAM: Token = Token(2);
    poll.registry()
        .register(&mut stream, STREAM, Interest::READABLE)
        .unwrap();
    let mut got = Vec::new();
    loop {
        let mut buf = [0u8; 16];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(STREAM)]);
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
    assert_eq!(got, b"hello");
}

#[test]
fn accept_until_would_block_then_new_event() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();

    // Non-blocking connects: a too-small backlog makes the test fail at the
    // deadline instead of hanging in a blocking connect.
    let clients: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut accepted = Vec::new();
    while accepted.len() < clients.len() {
        expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
        accepted.extend(accept_all(&listener));
    }
    assert_eq!(accepted.len(), 3);
    let mut peers: Vec<_> = accepted.iter().map(|(_, a)| *a).collect();
    let mut locals: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
    peers.sort();
    locals.sort();
    assert_eq!(peers, locals);

    // Drained: a new connection must produce a new edge.
    let late = TcpStream::connect(addr).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
    let (_, peer) = accept_one(&mut poll, &mut events, &listener);
    assert_eq!(peer, late.local_addr().unwrap());
    assert!(accept_all(&listener).is_empty());
}

#[test]
fn local_addr_matches_bound_address() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = net::TcpStream::connect(addr).unwrap();
    assert_eq!(client.peer_addr().unwrap(), addr);
}

#[test]
fn ttl_round_trips_and_is_inherited() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let default = listener.ttl().unwrap();
    assert!(default > 0);
    listener.set_ttl(77).unwrap();
    assert_eq!(listener.ttl().unwrap(), 77);
    assert_eq!(
        getsockopt_int(&listener, sock::IPPROTO_IP, sock::IP_TTL),
        77
    );
    listener.set_ttl(5).unwrap();
    assert_eq!(listener.ttl().unwrap(), 5);

    // Out of range is rejected by Linux (1..=255); BSD-derived stacks
    // store any byte, 0 included.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert!(listener.set_ttl(0).is_err());
    assert_eq!(listener.ttl().unwrap(), 5);

    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let _client = net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stream, _) = accept_one(&mut poll, &mut events, &listener);
    assert_eq!(stream.ttl().unwrap(), 5);
}

#[test]
fn take_error_is_none() {
    let listener = TcpListener::bind(any_local_address()).unwrap();
    assert!(listener.take_error().unwrap().is_none());
    let ipv6 = TcpListener::bind(any_local_ipv6_address()).unwrap();
    assert!(ipv6.take_error().unwrap().is_none());
}

#[test]
fn from_std_listener() {
    let std_listener = net::TcpListener::bind(any_local_address()).unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    #[cfg(unix)]
    let fd = std_listener.as_raw_fd();
    #[cfg(windows)]
    let socket = std_listener.as_raw_socket();

    let mut listener = TcpListener::from_std(std_listener);
    #[cfg(unix)]
    assert_eq!(listener.as_raw_fd(), fd);
    #[cfg(windows)]
    assert_eq!(listener.as_raw_socket(), socket);
    assert_eq!(listener.local_addr().unwrap(), addr);
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let client = net::TcpStream::connect(addr).unwrap();
    let (_, peer) = accept_one(&mut poll, &mut events, &listener);
    assert_eq!(peer, client.local_addr().unwrap());
}

// Reads `O_NONBLOCK` back, which Windows cannot do for a socket.
#[cfg(unix)]
#[test]
fn from_std_keeps_blocking_mode() {
    // `from_std` does not switch modes: the caller is responsible.
    let std_listener = net::TcpListener::bind(any_local_address()).unwrap();
    let listener = TcpListener::from_std(std_listener);
    // SAFETY: F_GETFL only reads the flags of a live fd.
    let flags = unsafe { libc::fcntl(listener.as_raw_fd(), libc::F_GETFL) };
    assert_eq!(flags & libc::O_NONBLOCK, 0);
}

#[test]
fn no_events_after_deregister() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    poll.registry().deregister(&mut listener).unwrap();

    let client = net::TcpStream::connect(addr).unwrap();
    util::expect_no_event_for(&mut poll, &mut events, LISTENER);

    // Still usable, and can be registered again: the pending connection is
    // reported on the new registration.
    const AGAIN: Token = Token(7);
    poll.registry()
        .register(&mut listener, AGAIN, Interest::READABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(AGAIN)]);
    let (_, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
}

#[test]
fn reregister_changes_token() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    const NEW: Token = Token(9);
    poll.registry()
        .reregister(&mut listener, NEW, Interest::READABLE)
        .unwrap();

    let _client = net::TcpStream::connect(addr).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(NEW)]);
    for event in events.iter() {
        assert_ne!(event.token(), LISTENER, "old token reported: {event:?}");
    }
    assert_eq!(accept_all(&listener).len(), 1);
}

#[test]
fn dropping_a_registered_listener_is_harmless() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    drop(listener);
    util::expect_no_event_for(&mut poll, &mut events, LISTENER);
    // The socket is really closed.
    let err = net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[cfg(debug_assertions)]
#[test]
fn double_register_is_an_error_in_debug_builds() {
    let poll = Poll::new().unwrap();
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let err = poll
        .registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("already registered"), "{err}");
}
