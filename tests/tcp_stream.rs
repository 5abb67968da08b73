//! `nbio::net::TcpStream`: connecting, I/O, readiness, shutdown and options.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem;
use std::net::{self, Shutdown, SocketAddr};
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(windows)]
use std::os::windows::io::AsRawSocket;
use std::time::Instant;
use util::{any_local_address, any_local_ipv6_address, expect_events, Expect, DEADLINE};

const CLIENT: Token = Token(1);
const SERVER: Token = Token(2);
const LISTENER: Token = Token(3);

/// Accepts one connection, waiting for it through a private `Poll`.
fn accept_one(listener: &mut TcpListener) -> (TcpStream, SocketAddr) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(listener, LISTENER, Interest::READABLE)
        .unwrap();
    let pair = loop {
        match listener.accept() {
            Ok(pair) => break pair,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    };
    poll.registry().deregister(listener).unwrap();
    pair
}

/// An nbio client connected to an nbio server-side stream.
fn connected_pair(addr: SocketAddr) -> (TcpStream, TcpStream) {
    let mut listener = TcpListener::bind(addr).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = accept_one(&mut listener);
    (client, server)
}

/// Turns a stream into a blocking std stream whose I/O is bounded by
/// [`DEADLINE`], convenient as the far end of a test.
fn blocking(stream: TcpStream) -> net::TcpStream {
    let stream = net::TcpStream::from(stream);
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// An nbio client (registered with `token`/`interests`) and a blocking std
/// peer.
fn registered_pair(poll: &Poll, token: Token, interests: Interest) -> (TcpStream, net::TcpStream) {
    let (mut client, server) = connected_pair(any_local_address());
    poll.registry()
        .register(&mut client, token, interests)
        .unwrap();
    (client, blocking(server))
}

/// Reads exactly `n` bytes from a non-blocking reader, waiting for
/// readable events on `token` when it would block.
fn read_n<R: Read>(
    poll: &mut Poll,
    events: &mut Events,
    token: Token,
    mut reader: R,
    n: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        match reader.read(&mut buf[..(n - out.len()).min(4096)]) {
            Ok(0) => panic!("unexpected EOF after {} bytes", out.len()),
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(poll, events, &[Expect::readable(token)]);
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
    out
}

/// Reads until EOF, waiting for readable events on `token`.
fn read_to_eof<R: Read>(
    poll: &mut Poll,
    events: &mut Events,
    token: Token,
    mut reader: R,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return out,
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(poll, events, &[Expect::readable(token)]);
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

#[cfg(unix)]
fn set_linger_zero(fd: &impl AsRawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a live, correctly sized `struct linger`.
    let res = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(res, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// `SO_LINGER` with a zero timeout: closing the socket then sends a reset.
#[cfg(windows)]
fn set_linger_zero(socket: &impl AsRawSocket) {
    use util::sock;
    let linger = sock::LINGER {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a live, correctly sized `LINGER`.
    let res = unsafe {
        sock::setsockopt(
            socket.as_raw_socket() as sock::SOCKET,
            sock::SOL_SOCKET,
            sock::SO_LINGER,
            (&linger as *const sock::LINGER).cast(),
            mem::size_of::<sock::LINGER>() as i32,
        )
    };
    assert_eq!(res, 0, "setsockopt: {}", io::Error::last_os_error());
}

fn assert_would_block<T: std::fmt::Debug>(res: io::Result<T>) {
    match res {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
}

#[test]
fn is_send_and_sync() {
    util::assert_send_sync::<TcpStream>();
}

#[test]
fn connect_then_writable_event() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();

    let mut stream = TcpStream::connect(addr).unwrap();
    // Windows cannot read back a socket's non-blocking mode.
    #[cfg(unix)]
    util::assert_nonblocking(&stream);
    util::assert_cloexec(&stream);
    poll.registry()
        .register(&mut stream, CLIENT, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(CLIENT)]);

    // The documented protocol: no error, and a peer address once connected.
    assert!(stream.take_error().unwrap().is_none());
    assert_eq!(stream.peer_addr().unwrap(), addr);

    let (server, peer) = accept_one(&mut listener);
    assert_eq!(peer, stream.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), stream.local_addr().unwrap());
}

#[test]
fn connect_ipv6() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut listener = TcpListener::bind(any_local_ipv6_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    poll.registry()
        .register(&mut stream, CLIENT, Interest::WRITABLE | Interest::READABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(CLIENT)]);
    assert!(stream.take_error().unwrap().is_none());
    assert_eq!(stream.peer_addr().unwrap(), addr);
    assert!(stream.local_addr().unwrap().is_ipv6());

    let (server, _) = accept_one(&mut listener);
    let mut server = blocking(server);
    server.write_all(b"v6").unwrap();
    assert_eq!(read_n(&mut poll, &mut events, CLIENT, &stream, 2), b"v6");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri does not support using a socket after a failed connect"
)]
fn connect_to_closed_port_fails() {
    let addr = {
        let listener = net::TcpListener::bind(any_local_address()).unwrap();
        listener.local_addr().unwrap()
    };
    let mut stream = match TcpStream::connect(addr) {
        Ok(stream) => stream,
        // Reporting the refusal synchronously is allowed too.
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e:?}");
            return;
        }
    };
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut stream, CLIENT, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::new(CLIENT)]);
    let event = events.iter().find(|e| e.token() == CLIENT).unwrap();
    assert!(
        event.is_error() || event.is_write_closed() || event.is_read_closed(),
        "a failed connect should be flagged: {event:?}"
    );

    match stream.take_error().unwrap() {
        Some(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e:?}"),
        None => {
            let err = (&stream).read(&mut [0u8; 8]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
        }
    }
    // The error was taken: it is not reported twice.
    #[cfg(unix)]
    assert!(stream.take_error().unwrap().is_none());
    // Windows clears `SO_ERROR` when it is read, but Wine keeps reporting
    // the refusal: accept that, and nothing else.
    #[cfg(windows)]
    if let Some(e) = stream.take_error().unwrap() {
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e:?}");
    }
    assert_eq!(
        stream.peer_addr().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
}

#[test]
fn write_then_peer_reads() {
    let (mut client, server) = connected_pair(any_local_address());
    let mut server = blocking(server);
    assert_eq!(client.write(b"hello world").unwrap(), 11);
    client.flush().unwrap();
    let mut buf = [0u8; 11];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello world");
}

#[test]
fn readable_event_then_read() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut client, mut peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    assert_would_block(client.read(&mut [0u8; 8]));

    peer.write_all(b"ping").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
    let mut buf = [0u8; 16];
    let mut got = Vec::new();
    while got.len() < 4 {
        match client.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"ping");
    assert_would_block(client.read(&mut buf));
}

#[test]
fn readiness_rearms_after_would_block() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    for round in 0..3u8 {
        let msg = [round; 100];
        peer.write_all(&msg).unwrap();
        expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
        let got = read_n(&mut poll, &mut events, CLIENT, &client, 100);
        assert_eq!(got, msg);
        // Drained down to WouldBlock: the next write is a new edge.
        assert_would_block((&client).read(&mut [0u8; 8]));
    }
}

#[test]
fn peek_does_not_consume() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    assert_would_block(client.peek(&mut [0u8; 8]));

    peer.write_all(b"peekaboo").unwrap();
    let mut buf = [0u8; 8];
    let n = loop {
        match client.peek(&mut buf) {
            Ok(n) if n == 8 => break n,
            Ok(_) => expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(&buf[..n], b"peekaboo");
    // Peeking again sees the same bytes; reading consumes them.
    let mut again = [0u8; 4];
    assert_eq!(client.peek(&mut again).unwrap(), 4);
    assert_eq!(&again, b"peek");
    let mut read = [0u8; 8];
    assert_eq!((&client).read(&mut read).unwrap(), 8);
    assert_eq!(&read, b"peekaboo");
    assert_would_block(client.peek(&mut again));
}

#[test]
fn vectored_io() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut client, mut peer) = registered_pair(&poll, CLIENT, Interest::READABLE);

    let bufs = [
        IoSlice::new(b"abc"),
        IoSlice::new(b""),
        IoSlice::new(b"defg"),
    ];
    assert_eq!(client.write_vectored(&bufs).unwrap(), 7);
    let mut got = [0u8; 7];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"abcdefg");

    peer.write_all(b"0123456789").unwrap();
    let mut first = [0u8; 4];
    let mut second = [0u8; 6];
    let mut total = 0;
    while total < 10 {
        let (a, b) = if total < 4 {
            let (_, a) = first.split_at_mut(total);
            (a, &mut second[..])
        } else {
            (&mut first[4..], &mut second[total - 4..])
        };
        let mut slices = [IoSliceMut::new(a), IoSliceMut::new(b)];
        match client.read_vectored(&mut slices) {
            Ok(0) => panic!("EOF"),
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(&first, b"0123");
    assert_eq!(&second, b"456789");
}

#[test]
fn read_and_write_through_shared_reference() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    let shared: &TcpStream = &client;
    let mut writer = shared;
    assert_eq!(writer.write(b"one").unwrap(), 3);
    assert_eq!(
        writer
            .write_vectored(&[IoSlice::new(b"tw"), IoSlice::new(b"o")])
            .unwrap(),
        3
    );
    writer.flush().unwrap();
    let mut got = [0u8; 6];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"onetwo");

    peer.write_all(b"three").unwrap();
    assert_eq!(read_n(&mut poll, &mut events, CLIENT, shared, 5), b"three");

    peer.write_all(b"four").unwrap();
    let mut a = [0u8; 2];
    let mut b = [0u8; 2];
    let mut reader = shared;
    let mut total = 0;
    while total == 0 {
        match reader.read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]) {
            Ok(n) => total = n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
            }
            Err(e) => panic!("{e}"),
        }
    }
    let rest = read_n(&mut poll, &mut events, CLIENT, shared, 4 - total);
    let mut all = [a, b].concat();
    all.truncate(total);
    all.extend(rest);
    assert_eq!(all, b"four");
}

#[test]
fn flush_is_ok() {
    let (mut client, server) = connected_pair(any_local_address());
    client.flush().unwrap();
    (&client).flush().unwrap();
    drop(server);
}

#[test]
fn shutdown_write_gives_peer_eof_and_read_closed() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut client, mut server) = connected_pair(any_local_address());
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)
        .unwrap();
    poll.registry()
        .register(&mut client, CLIENT, Interest::READABLE)
        .unwrap();

    client.write_all(b"bye").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    // Windows reports a graceful close (AFD disconnect) only once the data
    // before it has been read, and here the read reaches EOF directly: the
    // data's readable event is all there is (`peer_shutdown_gives_read_closed`
    // covers read-closed without pending data).
    #[cfg(not(windows))]
    let expect = Expect::readable(SERVER).and_read_closed();
    #[cfg(windows)]
    let expect = Expect::readable(SERVER);
    expect_events(&mut poll, &mut events, &[expect]);
    assert_eq!(read_to_eof(&mut poll, &mut events, SERVER, &server), b"bye");
    assert_eq!((&server).read(&mut [0u8; 4]).unwrap(), 0);

    // The other direction still works.
    server.write_all(b"still here").unwrap();
    assert_eq!(
        read_n(&mut poll, &mut events, CLIENT, &client, 10),
        b"still here"
    );
}

#[test]
fn peer_shutdown_gives_read_closed() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    peer.shutdown(Shutdown::Write).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::readable(CLIENT).and_read_closed()],
    );
    assert_eq!((&client).read(&mut [0u8; 4]).unwrap(), 0);
    // The write half is still open.
    (&client).write_all(b"x").unwrap();
}

// kqueue reports per filter: with only READABLE registered there is no
// write filter to carry write-closed.
#[cfg(any(
    nbio_force_poll,
    not(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "visionos",
        target_os = "watchos",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))
))]
#[test]
#[cfg_attr(miri, ignore = "Miri does not support SO_LINGER")]
fn peer_reset_is_reported() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    set_linger_zero(&peer);
    drop(peer);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(CLIENT).and_read_closed().and_write_closed()],
    );
    let res = (&client).read(&mut [0u8; 8]);
    // Windows fails the read with WSAECONNRESET as Unix does; under Wine
    // the reset is already consumed by then and the read returns EOF.
    let wine_eof = cfg!(windows) && matches!(res, Ok(0));
    if !wine_eof {
        let err = res.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err:?}");
    }
    // After the reset is reported the connection is simply closed.
    #[cfg(unix)]
    assert_eq!((&client).read(&mut [0u8; 8]).unwrap(), 0);
    // Windows keeps failing reads of a reset connection with
    // WSAECONNRESET; Wine, on top of Unix sockets, returns EOF.
    #[cfg(windows)]
    match (&client).read(&mut [0u8; 8]) {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        other => panic!("expected EOF or a reset, got {other:?}"),
    }
}

// A reset sets `SO_ERROR` and raises the error flag (`EPOLLERR`) on Unix.
// Windows reports it as an AFD abort (read- and write-closed, never an
// error: AFD's error flag means a failed connect) and leaves `SO_ERROR`
// alone, so this is a Unix-only behaviour; `peer_reset_is_reported` covers
// resets on every platform.
#[cfg(unix)]
#[test]
#[cfg_attr(miri, ignore = "Miri does not support SO_LINGER")]
fn peer_reset_is_reported_by_take_error() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    set_linger_zero(&peer);
    drop(peer);
    expect_events(&mut poll, &mut events, &[Expect::new(CLIENT).and_error()]);
    let err = client.take_error().unwrap().expect("a pending error");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err:?}");
    assert!(client.take_error().unwrap().is_none());
}

#[test]
fn write_after_shutdown_write_is_broken_pipe() {
    let (client, server) = connected_pair(any_local_address());
    client.shutdown(Shutdown::Write).unwrap();
    let err = (&client).write(b"late").unwrap_err();
    assert_broken_pipe(&err);
    drop(server);
}

/// A write after the local write half was shut down returns `BrokenPipe`
/// without raising `SIGPIPE`, even where `SIGPIPE` kills (its default
/// action, which the Rust runtime changes to "ignore").
#[test]
#[cfg(unix)]
#[cfg_attr(miri, ignore = "Miri cannot fork")]
fn write_after_shutdown_write_raises_no_sigpipe() {
    use util::{write_to_gone_peer_in_child, WriteToGonePeer};
    let (client, server) = connected_pair(any_local_address());
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        write_to_gone_peer_in_child(|| (&client).write(b"late")),
        WriteToGonePeer::BrokenPipe
    );
    // std's vectored write (`writev`) would raise it here.
    assert_eq!(
        write_to_gone_peer_in_child(
            || (&client).write_vectored(&[IoSlice::new(b"la"), IoSlice::new(b"te")])
        ),
        WriteToGonePeer::BrokenPipe
    );
    drop(server);
}

/// Writing to a shut-down write half: `EPIPE` on Unix, `WSAESHUTDOWN` on
/// Windows (which std leaves uncategorised).
fn assert_broken_pipe(err: &io::Error) {
    #[cfg(unix)]
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");
    #[cfg(windows)]
    assert_eq!(err.raw_os_error(), Some(WSAESHUTDOWN), "{err:?}");
}

/// Winsock's "socket has been shut down" error.
#[cfg(windows)]
const WSAESHUTDOWN: i32 = 10058;

/// Reading a shut-down read half: EOF on Unix and under Wine; Windows may
/// fail the read with `WSAESHUTDOWN` instead.
fn assert_read_after_shutdown(stream: &TcpStream) {
    let res = (&*stream).read(&mut [0u8; 4]);
    #[cfg(unix)]
    assert_eq!(res.unwrap(), 0);
    #[cfg(windows)]
    match res {
        Ok(0) => {}
        Err(e) if e.raw_os_error() == Some(WSAESHUTDOWN) => {}
        other => panic!("expected EOF or WSAESHUTDOWN, got {other:?}"),
    }
}

#[test]
fn shutdown_read_and_both() {
    let (client, server) = connected_pair(any_local_address());
    client.shutdown(Shutdown::Read).unwrap();
    // Reading a shut-down read half returns EOF instead of WouldBlock.
    assert_read_after_shutdown(&client);
    (&client).write_all(b"ok").unwrap();

    let (other, _server2) = connected_pair(any_local_address());
    other.shutdown(Shutdown::Both).unwrap();
    assert_read_after_shutdown(&other);
    let err = (&other).write(b"x").unwrap_err();
    assert_broken_pipe(&err);
    drop(server);
}

#[test]
fn nodelay_round_trips() {
    let (client, _server) = connected_pair(any_local_address());
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    client.set_nodelay(false).unwrap();
    assert!(!client.nodelay().unwrap());
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
}

#[test]
fn ttl_round_trips() {
    let (client, _server) = connected_pair(any_local_address());
    client.set_ttl(42).unwrap();
    assert_eq!(client.ttl().unwrap(), 42);
    client.set_ttl(200).unwrap();
    assert_eq!(client.ttl().unwrap(), 200);
    // Linux rejects 0 (valid: 1..=255); BSD-derived stacks store it.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert!(client.set_ttl(0).is_err());
    assert_eq!(client.ttl().unwrap(), 200);
}

#[test]
fn local_and_peer_addr() {
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(addr).unwrap();
    let (server, peer) = accept_one(&mut listener);
    let local = client.local_addr().unwrap();
    assert_eq!(local, peer);
    assert_eq!(local.ip(), addr.ip());
    assert_ne!(local.port(), addr.port());
    assert_eq!(server.local_addr().unwrap(), addr);
    assert_eq!(server.peer_addr().unwrap(), local);
    assert_eq!(client.peer_addr().unwrap(), addr);
}

#[test]
fn take_error_is_none_on_a_healthy_stream() {
    let (client, server) = connected_pair(any_local_address());
    assert!(client.take_error().unwrap().is_none());
    assert!(server.take_error().unwrap().is_none());
}

/// `recv(2)` on the raw fd, as a user of `try_io` would call it.
#[cfg(unix)]
fn raw_recv(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` writable bytes.
    let n = unsafe { libc::recv(stream.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Winsock's `recv` on the raw socket, as a user of `try_io` would call it.
#[cfg(windows)]
fn raw_recv(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let len = i32::try_from(buf.len()).unwrap_or(i32::MAX);
    // SAFETY: `buf` is valid for `len <= buf.len()` writable bytes.
    let n = unsafe {
        util::sock::recv(
            stream.as_raw_socket() as util::sock::SOCKET,
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
fn try_io_runs_the_closure() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    let mut buf = [0u8; 16];

    let mut calls = 0;
    let res = client.try_io(|| {
        calls += 1;
        raw_recv(&client, &mut buf)
    });
    assert_eq!(calls, 1);
    assert_would_block(res);

    peer.write_all(b"raw").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
    let n = loop {
        match client.try_io(|| raw_recv(&client, &mut buf)) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(&buf[..n], b"raw");
    // Values and errors are passed through unchanged.
    assert_eq!(client.try_io(|| Ok::<_, io::Error>(42)).unwrap(), 42);
    let err = client
        .try_io(|| Err::<(), _>(io::Error::other("custom")))
        .unwrap_err();
    assert_eq!(err.to_string(), "custom");

    // A `WouldBlock` from `try_io` re-arms: new data is a new event.
    assert_would_block(client.try_io(|| raw_recv(&client, &mut buf)));
    peer.write_all(b"more").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(CLIENT)]);
}

#[test]
fn dropping_a_registered_stream_closes_it() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut peer) =
        registered_pair(&poll, CLIENT, Interest::READABLE | Interest::WRITABLE);
    expect_events(&mut poll, &mut events, &[Expect::writable(CLIENT)]);
    drop(client);

    // The peer sees EOF (bounded by the read timeout).
    let mut buf = [0u8; 8];
    assert_eq!(peer.read(&mut buf).unwrap(), 0);
    // Activity on the far side produces nothing for the dropped source.
    let _ = peer.write(b"into the void");
    drop(peer);
    util::expect_no_event_for(&mut poll, &mut events, CLIENT);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fills the kernel's loopback send buffer (megabytes): far too slow interpreted"
)]
fn writable_again_after_peer_reads() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut peer) = registered_pair(&poll, CLIENT, Interest::WRITABLE);
    expect_events(&mut poll, &mut events, &[Expect::writable(CLIENT)]);

    let chunk = vec![0x5au8; 64 * 1024];
    let mut written = 0usize;
    let end = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < end, "send buffer never filled");
        match (&client).write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(written > 0);

    let mut sink = vec![0u8; written];
    peer.read_exact(&mut sink).unwrap();
    assert!(sink.iter().all(|&b| b == 0x5a));
    expect_events(&mut poll, &mut events, &[Expect::writable(CLIENT)]);
    assert!((&client).write(b"room again").unwrap() > 0);
}

#[test]
fn no_events_after_deregister() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut client, mut peer) = registered_pair(&poll, CLIENT, Interest::READABLE);
    poll.registry().deregister(&mut client).unwrap();
    peer.write_all(b"quiet").unwrap();
    util::expect_no_event_for(&mut poll, &mut events, CLIENT);
    // The stream is still usable and the data is there.
    let mut buf = [0u8; 5];
    let mut got = 0;
    let end = Instant::now() + DEADLINE;
    while got < 5 {
        assert!(Instant::now() < end);
        match client.read(&mut buf[got..]) {
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Not registered: wait on a fresh registration instead.
                const AGAIN: Token = Token(11);
                poll.registry()
                    .register(&mut client, AGAIN, Interest::READABLE)
                    .unwrap();
                expect_events(&mut poll, &mut events, &[Expect::readable(AGAIN)]);
                poll.registry().deregister(&mut client).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(&buf, b"quiet");
}

#[test]
fn reregister_replaces_token_and_interest() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut client, mut peer) = registered_pair(&poll, CLIENT, Interest::WRITABLE);
    expect_events(&mut poll, &mut events, &[Expect::writable(CLIENT)]);

    const NEW: Token = Token(12);
    poll.registry()
        .reregister(&mut client, NEW, Interest::READABLE)
        .unwrap();
    peer.write_all(b"x").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(NEW)]);
    for event in events.iter() {
        assert_ne!(event.token(), CLIENT, "old token reported: {event:?}");
    }
}

#[test]
fn from_std_stream() {
    let listener = net::TcpListener::bind(any_local_address()).unwrap();
    let std_stream = net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(DEADLINE)).unwrap();
    std_stream.set_nonblocking(true).unwrap();
    let local = std_stream.local_addr().unwrap();
    #[cfg(unix)]
    let fd = std_stream.as_raw_fd();
    #[cfg(windows)]
    let socket = std_stream.as_raw_socket();

    let mut stream = TcpStream::from_std(std_stream);
    #[cfg(unix)]
    assert_eq!(stream.as_raw_fd(), fd);
    #[cfg(windows)]
    assert_eq!(stream.as_raw_socket(), socket);
    assert_eq!(stream.local_addr().unwrap(), local);
    assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    assert_would_block(stream.read(&mut [0u8; 4]));

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut stream, CLIENT, Interest::READABLE)
        .unwrap();
    peer.write_all(b"std").unwrap();
    assert_eq!(read_n(&mut poll, &mut events, CLIENT, &stream, 3), b"std");
    stream.write_all(b"back").unwrap();
    let mut buf = [0u8; 4];
    peer.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"back");
}

#[test]
fn large_transfer_both_ways() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let (mut client, mut server) = connected_pair(any_local_address());
    poll.registry()
        .register(&mut client, CLIENT, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)
        .unwrap();

    let len: u32 = if cfg!(miri) { 100_000 } else { 1_000_000 };
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut sent = 0;
    let mut received = Vec::with_capacity(data.len());
    let end = Instant::now() + DEADLINE;
    while received.len() < data.len() {
        assert!(Instant::now() < end, "transfer stalled");
        while sent < data.len() {
            match (&client).write(&data[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        received.extend(util::drain(&server).unwrap());
        if received.len() < data.len() {
            poll.poll(
                &mut events,
                Some(end.saturating_duration_since(Instant::now())),
            )
            .unwrap();
        }
    }
    assert_eq!(received, data);
}
