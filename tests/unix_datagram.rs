//! `nbio::net::UnixDatagram`: pathname, abstract, autobound and unbound
//! sockets, pairs, connected mode, readiness and errors.
#![cfg(all(unix, feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::UnixDatagram;
use nbio::{Events, Interest, Poll, Token};
use std::io;
use std::mem;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
// Abstract addresses (and autobinding to one) exist on Linux and Android
// only; the tests using them are compiled there.
#[cfg(target_os = "android")]
use std::os::android::net::SocketAddrExt;
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{self, SocketAddr};
use util::{expect_events, Expect};

const SOCKET: Token = Token(1);
const OTHER: Token = Token(2);

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_name(name: &str) -> Vec<u8> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("nbio-test-{}-{name}-{n}", std::process::id()).into_bytes()
}

fn assert_would_block<T: std::fmt::Debug>(res: io::Result<T>) {
    match res {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
}

fn socket_type(fd: &impl AsRawFd) -> libc::c_int {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals and `len` is the size of
    // `value`, so the kernel writes at most that many bytes.
    let res = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(res, 0, "getsockopt: {}", io::Error::last_os_error());
    value
}

/// Calls `op` until it stops returning `WouldBlock`, waiting for readable
/// events on `token` in between.
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

#[test]
fn is_send_and_sync() {
    util::assert_send_sync::<UnixDatagram>();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_pathname() {
    let path = util::temp_path("dgram-bind");
    let socket = UnixDatagram::bind(&path).unwrap();
    assert_eq!(
        socket.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(path.exists());
    util::assert_nonblocking(&socket);
    util::assert_cloexec(&socket);
    assert_eq!(socket_type(&socket), libc::SOCK_DGRAM);
    // Not connected.
    assert_eq!(
        socket.peer_addr().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_addr_pathname_and_abstract() {
    let path = util::temp_path("dgram-bind-addr");
    let by_path = UnixDatagram::bind_addr(&SocketAddr::from_pathname(&path).unwrap()).unwrap();
    assert_eq!(
        by_path.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );

    // Abstract names: Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let name = abstract_name("dgram");
        let addr = SocketAddr::from_abstract_name(&name).unwrap();
        let by_name = UnixDatagram::bind_addr(&addr).unwrap();
        assert_eq!(
            by_name.local_addr().unwrap().as_abstract_name(),
            Some(&name[..])
        );
        util::assert_nonblocking(&by_name);
        util::assert_cloexec(&by_name);

        // The abstract socket is reachable by name.
        let sender = net::UnixDatagram::unbound().unwrap();
        sender.send_to_addr(b"by name", &addr).unwrap();
        let mut buf = [0u8; 16];
        let n = by_name.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"by name");
    }
}

// Autobinding an unnamed address to an abstract name is Linux behaviour.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_addr_unnamed_autobinds() {
    let unnamed = SocketAddr::from_pathname("").unwrap();
    let socket = UnixDatagram::bind_addr(&unnamed).unwrap();
    let local = socket.local_addr().unwrap();
    let name = local
        .as_abstract_name()
        .expect("an autobound abstract name");
    assert!(!name.is_empty());

    // Datagrams sent to the autobound name arrive, and a reply from the
    // autobound socket carries that name as its source.
    let peer_path = util::temp_path("dgram-autobind-peer");
    let peer = UnixDatagram::bind(&peer_path).unwrap();
    let sender = net::UnixDatagram::unbound().unwrap();
    sender.send_to_addr(b"hi", &local).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(socket.recv(&mut buf).unwrap(), 2);
    socket.send_to(b"from auto", &peer_path).unwrap();
    let mut reply = [0u8; 16];
    let (n, from) = peer.recv_from(&mut reply).unwrap();
    assert_eq!(&reply[..n], b"from auto");
    assert_eq!(from.as_abstract_name(), Some(name));
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unbound_socket() {
    let socket = UnixDatagram::unbound().unwrap();
    util::assert_nonblocking(&socket);
    util::assert_cloexec(&socket);
    assert!(socket.local_addr().unwrap().is_unnamed());

    let path = util::temp_path("dgram-unbound-target");
    let target = UnixDatagram::bind(&path).unwrap();
    assert_eq!(socket.send_to(b"anonymous", &path).unwrap(), 9);
    let mut buf = [0u8; 16];
    let (n, from) = target.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"anonymous");
    assert!(from.is_unnamed());
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn pair_is_connected() {
    let (a, b) = UnixDatagram::pair().unwrap();
    for s in [&a, &b] {
        util::assert_nonblocking(s);
        util::assert_cloexec(s);
        assert!(s.local_addr().unwrap().is_unnamed());
        assert!(s.peer_addr().unwrap().is_unnamed());
    }
    assert_eq!(a.send(b"one").unwrap(), 3);
    assert_eq!(a.send(b"two!").unwrap(), 4);
    let mut buf = [0u8; 16];
    // Boundaries are kept.
    assert_eq!(b.recv(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"one");
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"two!");
    assert!(from.is_unnamed());
    b.send(b"back").unwrap();
    assert_eq!(a.recv(&mut buf).unwrap(), 4);
    assert_would_block(a.recv(&mut buf));
    assert_would_block(b.recv(&mut buf));
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn send_to_and_recv_from_paths() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let a_path = util::temp_path("dgram-a");
    let b_path = util::temp_path("dgram-b");
    let a = UnixDatagram::bind(&a_path).unwrap();
    let mut b = UnixDatagram::bind(&b_path).unwrap();
    poll.registry()
        .register(&mut b, OTHER, Interest::READABLE)
        .unwrap();

    assert_eq!(a.send_to(b"hello b", &b_path).unwrap(), 7);
    let mut buf = [0u8; 16];
    let (n, from) = wait_readable(&mut poll, &mut events, OTHER, || b.recv_from(&mut buf));
    assert_eq!(&buf[..n], b"hello b");
    assert_eq!(from.as_pathname(), Some(a_path.as_path()));

    // Reply to the reported address.
    b.send_to(b"hello a", from.as_pathname().unwrap()).unwrap();
    let (n, from) = a.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello a");
    assert_eq!(from.as_pathname(), Some(b_path.as_path()));
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn send_to_missing_path_fails() {
    let socket = UnixDatagram::unbound().unwrap();
    let err = socket
        .send_to(b"x", util::temp_path("dgram-nobody"))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err:?}");
    // No destination at all.
    assert!(socket.send(b"x").is_err());
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_sets_the_peer() {
    let peer_path = util::temp_path("dgram-connect-peer");
    let peer = UnixDatagram::bind(&peer_path).unwrap();
    let own_path = util::temp_path("dgram-connect-own");
    let socket = UnixDatagram::bind(&own_path).unwrap();
    socket.connect(&peer_path).unwrap();
    assert_eq!(
        socket.peer_addr().unwrap().as_pathname(),
        Some(peer_path.as_path())
    );

    assert_eq!(socket.send(b"connected").unwrap(), 9);
    let mut buf = [0u8; 16];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"connected");
    assert_eq!(from.as_pathname(), Some(own_path.as_path()));

    peer.send_to(b"answer", &own_path).unwrap();
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"answer");

    // A socket connected to someone else refuses strangers.
    let stranger = UnixDatagram::unbound().unwrap();
    let err = stranger.send_to(b"hey", &own_path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_to_missing_path_fails() {
    let socket = UnixDatagram::unbound().unwrap();
    let err = socket
        .connect(util::temp_path("dgram-missing"))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err:?}");
    assert_eq!(
        socket.peer_addr().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn empty_socket_would_block() {
    let socket = UnixDatagram::bind(util::temp_path("dgram-empty")).unwrap();
    let mut buf = [0u8; 8];
    assert_would_block(socket.recv(&mut buf));
    assert_would_block(socket.recv_from(&mut buf));
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn send_would_block_when_the_receiver_is_full() {
    let (a, _b) = UnixDatagram::pair().unwrap();
    let mut sent = 0;
    loop {
        match a.send(&[0u8; 1024]) {
            Ok(_) => sent += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 1_000_000, "never blocked");
    }
    assert!(sent > 0);
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn writable_event_on_registration() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, _b) = UnixDatagram::pair().unwrap();
    poll.registry()
        .register(&mut a, SOCKET, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SOCKET)]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn writable_again_after_the_receiver_drains() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, b) = UnixDatagram::pair().unwrap();
    poll.registry()
        .register(&mut a, SOCKET, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SOCKET)]);
    let mut sent = 0;
    loop {
        match a.send(&[1u8; 512]) {
            Ok(_) => sent += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 1_000_000, "never blocked");
    }
    let mut buf = [0u8; 512];
    for _ in 0..sent {
        assert_eq!(b.recv(&mut buf).unwrap(), 512);
    }
    expect_events(&mut poll, &mut events, &[Expect::writable(SOCKET)]);
    a.send(b"room").unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn readable_event_and_rearm() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, b) = UnixDatagram::pair().unwrap();
    poll.registry()
        .register(&mut a, SOCKET, Interest::READABLE)
        .unwrap();
    let mut buf = [0u8; 8];
    for round in 0..3u8 {
        b.send(&[round; 4]).unwrap();
        expect_events(&mut poll, &mut events, &[Expect::readable(SOCKET)]);
        assert_eq!(a.recv(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], &[round; 4]);
        assert_would_block(a.recv(&mut buf));
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn datagram_is_truncated_to_the_buffer() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let big: Vec<u8> = (0..64u8).collect();
    a.send(&big).unwrap();
    a.send(b"next").unwrap();
    let mut small = [0u8; 8];
    assert_eq!(b.recv(&mut small).unwrap(), 8);
    assert_eq!(&small[..], &big[..8]);
    let mut buf = [0u8; 64];
    assert_eq!(b.recv(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"next");
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn shutdown_halves() {
    let (a, b) = UnixDatagram::pair().unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    let err = a.send(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");

    // Shutting down the read half is accepted (Linux keeps returning
    // WouldBlock for a non-blocking receive on a datagram socket, so only
    // the event is checked, in the next test).
    b.shutdown(Shutdown::Read).unwrap();

    let (c, _d) = UnixDatagram::pair().unwrap();
    c.shutdown(Shutdown::Both).unwrap();
    let err = c.send(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn shutdown_read_is_reported_as_read_closed() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, _b) = UnixDatagram::pair().unwrap();
    poll.registry()
        .register(&mut a, SOCKET, Interest::READABLE)
        .unwrap();
    a.shutdown(Shutdown::Read).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::readable(SOCKET).and_read_closed()],
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn sending_to_a_dropped_peer_fails() {
    let (a, b) = UnixDatagram::pair().unwrap();
    drop(b);
    let err = a.send(b"gone").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn take_error_is_none() {
    let (a, _b) = UnixDatagram::pair().unwrap();
    assert!(a.take_error().unwrap().is_none());
    let bound = UnixDatagram::bind(util::temp_path("dgram-error")).unwrap();
    assert!(bound.take_error().unwrap().is_none());
}

/// `recv(2)` on the raw fd, as a user of `try_io` would call it.
fn raw_recv(socket: &UnixDatagram, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` writable bytes.
    let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn try_io_with_raw_recv() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, b) = UnixDatagram::pair().unwrap();
    poll.registry()
        .register(&mut a, SOCKET, Interest::READABLE)
        .unwrap();
    let mut buf = [0u8; 16];
    let mut calls = 0;
    assert_would_block(a.try_io(|| {
        calls += 1;
        raw_recv(&a, &mut buf)
    }));
    assert_eq!(calls, 1);

    b.send(b"raw").unwrap();
    let n = wait_readable(&mut poll, &mut events, SOCKET, || {
        a.try_io(|| raw_recv(&a, &mut buf))
    });
    assert_eq!(&buf[..n], b"raw");
    assert_eq!(a.try_io(|| Ok::<_, io::Error>(1.5f32)).unwrap(), 1.5);

    assert_would_block(a.try_io(|| raw_recv(&a, &mut buf)));
    b.send(b"again").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(SOCKET)]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_errors() {
    let path = util::temp_path("dgram-in-use");
    let _first = UnixDatagram::bind(&path).unwrap();
    let err = UnixDatagram::bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");

    // Abstract names: Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let name = SocketAddr::from_abstract_name(abstract_name("dgram-in-use")).unwrap();
        let _by_name = UnixDatagram::bind_addr(&name).unwrap();
        let err = UnixDatagram::bind_addr(&name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");
    }

    let long = std::env::temp_dir().join("z".repeat(200));
    let err = UnixDatagram::bind(&long).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");

    let err = UnixDatagram::bind("/tmp/nbio\0dgram").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");

    let socket = UnixDatagram::unbound().unwrap();
    let err = socket.send_to(b"x", "/tmp/nbio\0dgram").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn from_std_socket() {
    let (std_a, std_b) = net::UnixDatagram::pair().unwrap();
    std_a.set_nonblocking(true).unwrap();
    let fd = std_a.as_raw_fd();
    let mut socket = UnixDatagram::from_std(std_a);
    assert_eq!(socket.as_raw_fd(), fd);
    assert_would_block(socket.recv(&mut [0u8; 4]));

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE)
        .unwrap();
    std_b.send(b"std").unwrap();
    let mut buf = [0u8; 8];
    let n = wait_readable(&mut poll, &mut events, SOCKET, || socket.recv(&mut buf));
    assert_eq!(&buf[..n], b"std");
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn no_events_after_deregister() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, b) = UnixDatagram::pair().unwrap();
    poll.registry()
        .register(&mut a, SOCKET, Interest::READABLE)
        .unwrap();
    poll.registry().deregister(&mut a).unwrap();
    b.send(b"unseen").unwrap();
    util::expect_no_event_for(&mut poll, &mut events, SOCKET);
    let mut buf = [0u8; 8];
    assert_eq!(a.recv(&mut buf).unwrap(), 6);
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn dropping_a_registered_socket() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let path = util::temp_path("dgram-drop");
    let mut socket = UnixDatagram::bind(&path).unwrap();
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE)
        .unwrap();
    drop(socket);
    util::expect_no_event_for(&mut poll, &mut events, SOCKET);
    let sender = UnixDatagram::unbound().unwrap();
    let err = sender.send_to(b"x", &path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}
