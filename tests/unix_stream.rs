//! `nbio::net::UnixStream`: connecting (pathname, abstract, autobound),
//! pairs, I/O, readiness and shutdown.
#![cfg(all(unix, feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::{UnixListener, UnixStream};
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
// Abstract addresses (and autobinding to one) exist on Linux and Android
// only; the tests using them are compiled there.
#[cfg(target_os = "android")]
use std::os::android::net::SocketAddrExt;
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{self, SocketAddr};
use std::time::Instant;
use util::{expect_events, Expect, DEADLINE};

const LOCAL: Token = Token(1);
const PEER: Token = Token(2);
const LISTENER: Token = Token(3);

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

/// Accepts one connection, waiting through a private `Poll`.
fn accept_one(listener: &mut UnixListener) -> (UnixStream, SocketAddr) {
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

/// Turns a stream into a blocking std stream with bounded I/O.
fn blocking(stream: UnixStream) -> net::UnixStream {
    let stream = net::UnixStream::from(stream);
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// A pair whose first half is registered with `LOCAL`; the second half is
/// a blocking std stream.
fn registered_pair(poll: &Poll, interests: Interest) -> (UnixStream, net::UnixStream) {
    let (mut local, peer) = UnixStream::pair().unwrap();
    poll.registry()
        .register(&mut local, LOCAL, interests)
        .unwrap();
    (local, blocking(peer))
}

/// Reads exactly `n` bytes, waiting for readable events on `token`.
fn read_n<R: Read>(
    poll: &mut Poll,
    events: &mut Events,
    token: Token,
    mut r: R,
    n: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        match r.read(&mut buf[..(n - out.len()).min(4096)]) {
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

/// Connects `client` (already created), waits for the writable event and
/// checks the connect outcome.
fn finish_connect(client: &mut UnixStream) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(client, LOCAL, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(LOCAL)]);
    assert!(client.take_error().unwrap().is_none());
    poll.registry().deregister(client).unwrap();
}

#[test]
fn is_send_and_sync() {
    util::assert_send_sync::<UnixStream>();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_pathname() {
    let path = util::temp_path("stream-connect");
    let mut listener = UnixListener::bind(&path).unwrap();
    let mut client = UnixStream::connect(&path).unwrap();
    util::assert_nonblocking(&client);
    util::assert_cloexec(&client);
    finish_connect(&mut client);
    assert_eq!(
        client.peer_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(client.local_addr().unwrap().is_unnamed());

    let (server, peer) = accept_one(&mut listener);
    assert!(peer.is_unnamed());
    let mut server = blocking(server);
    client.write_all(b"over the path").unwrap();
    let mut buf = [0u8; 13];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"over the path");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_addr_pathname() {
    let path = util::temp_path("stream-connect-addr");
    let mut listener = UnixListener::bind(&path).unwrap();
    let addr = SocketAddr::from_pathname(&path).unwrap();
    let mut client = UnixStream::connect_addr(&addr).unwrap();
    finish_connect(&mut client);
    assert_eq!(
        client.peer_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    accept_one(&mut listener);
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_addr_abstract() {
    let name = abstract_name("stream");
    let addr = SocketAddr::from_abstract_name(&name).unwrap();
    let mut listener = UnixListener::bind_addr(&addr).unwrap();
    let mut client = UnixStream::connect_addr(&addr).unwrap();
    finish_connect(&mut client);
    assert_eq!(
        client.peer_addr().unwrap().as_abstract_name(),
        Some(&name[..])
    );
    let (server, _) = accept_one(&mut listener);
    let mut server = blocking(server);
    server.write_all(b"abstract").unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut client, LOCAL, Interest::READABLE)
        .unwrap();
    assert_eq!(
        read_n(&mut poll, &mut events, LOCAL, &client, 8),
        b"abstract"
    );
}

// Autobinding an unnamed address to an abstract name is Linux behaviour.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_addr_to_an_autobound_listener() {
    let unnamed = SocketAddr::from_pathname("").unwrap();
    let mut listener = UnixListener::bind_addr(&unnamed).unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.as_abstract_name().is_some());
    let mut client = UnixStream::connect_addr(&addr).unwrap();
    finish_connect(&mut client);
    assert_eq!(
        client.peer_addr().unwrap().as_abstract_name(),
        addr.as_abstract_name()
    );
    accept_one(&mut listener);
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_to_missing_path() {
    let path = util::temp_path("stream-missing");
    let err = UnixStream::connect(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_to_stale_socket_file() {
    let path = util::temp_path("stream-stale");
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let err = UnixStream::connect(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn connect_to_missing_abstract_name() {
    let addr = SocketAddr::from_abstract_name(abstract_name("nobody")).unwrap();
    let err = UnixStream::connect_addr(&addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[test]
fn connect_with_invalid_paths() {
    let long = std::env::temp_dir().join("y".repeat(200));
    let err = UnixStream::connect(&long).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");
    let err = UnixStream::connect("/tmp/nbio\0stream").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no socket addresses for socketpair ends")]
fn pair_is_connected() {
    let (a, b) = UnixStream::pair().unwrap();
    for s in [&a, &b] {
        util::assert_nonblocking(s);
        util::assert_cloexec(s);
        assert!(s.local_addr().unwrap().is_unnamed());
        assert!(s.peer_addr().unwrap().is_unnamed());
        assert!(s.take_error().unwrap().is_none());
    }
    (&a).write_all(b"a->b").unwrap();
    (&b).write_all(b"b->a").unwrap();
    // Unix sockets deliver synchronously, so the data is already there.
    let mut buf = [0u8; 4];
    (&b).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"a->b");
    (&a).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"b->a");
    assert_would_block((&a).read(&mut buf));
    assert_would_block((&b).read(&mut buf));
}

#[test]
fn empty_stream_would_block() {
    let (mut a, _b) = UnixStream::pair().unwrap();
    assert_would_block(a.read(&mut [0u8; 8]));
    let mut x = [0u8; 2];
    let mut y = [0u8; 2];
    assert_would_block(a.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]));
}

#[test]
fn vectored_io() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let n = a
        .write_vectored(&[IoSlice::new(b"vec"), IoSlice::new(b"tored")])
        .unwrap();
    assert_eq!(n, 8);
    let mut x = [0u8; 3];
    let mut y = [0u8; 5];
    let n = b
        .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert_eq!(n, 8);
    assert_eq!(&x, b"vec");
    assert_eq!(&y, b"tored");
}

/// More buffers than one system call takes (1,024 on Linux) is not an
/// error: the write takes a prefix, in order, and the caller writes the
/// rest, as after any short write.
#[test]
fn vectored_write_of_more_buffers_than_one_call_takes() {
    let (a, b) = UnixStream::pair().unwrap();
    let bytes: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let bufs: Vec<IoSlice<'_>> = bytes.chunks(1).map(IoSlice::new).collect();
    let n = (&a).write_vectored(&bufs).unwrap();
    assert!(n > 0 && n <= bytes.len(), "wrote {n} of {}", bytes.len());
    let mut received = vec![0u8; n];
    (&b).read_exact(&mut received).unwrap();
    assert_eq!(received, bytes[..n]);
    assert_would_block((&b).read(&mut [0u8; 1]));
}

#[test]
fn read_and_write_through_shared_reference() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut writer = &a;
    assert_eq!(writer.write(b"shared").unwrap(), 6);
    assert_eq!(
        writer
            .write_vectored(&[IoSlice::new(b"-"), IoSlice::new(b"ref")])
            .unwrap(),
        4
    );
    writer.flush().unwrap();
    let mut reader = &b;
    let mut buf = [0u8; 6];
    assert_eq!(reader.read(&mut buf).unwrap(), 6);
    assert_eq!(&buf, b"shared");
    let mut x = [0u8; 1];
    let mut y = [0u8; 3];
    assert_eq!(
        reader
            .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
            .unwrap(),
        4
    );
    assert_eq!((&x, &y), (b"-", b"ref"));
}

#[test]
fn flush_is_ok() {
    let (mut a, _b) = UnixStream::pair().unwrap();
    a.flush().unwrap();
    (&a).flush().unwrap();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot set socket options (SO_RCVTIMEO) on a socketpair"
)]
fn readable_event_and_rearm() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (local, mut peer) = registered_pair(&poll, Interest::READABLE);
    for round in 0..3u8 {
        peer.write_all(&[round; 50]).unwrap();
        expect_events(&mut poll, &mut events, &[Expect::readable(LOCAL)]);
        assert_eq!(
            read_n(&mut poll, &mut events, LOCAL, &local, 50),
            [round; 50]
        );
        assert_would_block((&local).read(&mut [0u8; 8]));
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot set socket options (SO_RCVTIMEO) on a socketpair"
)]
fn writable_event_on_registration() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (_local, _peer) = registered_pair(&poll, Interest::WRITABLE);
    expect_events(&mut poll, &mut events, &[Expect::writable(LOCAL)]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot shut down a socketpair")]
fn shutdown_write_gives_peer_eof_and_read_closed() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (local, mut peer) = UnixStream::pair().unwrap();
    poll.registry()
        .register(&mut peer, PEER, Interest::READABLE)
        .unwrap();
    (&local).write_all(b"last words").unwrap();
    local.shutdown(Shutdown::Write).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::readable(PEER).and_read_closed()],
    );
    assert_eq!(
        read_n(&mut poll, &mut events, PEER, &peer, 10),
        b"last words"
    );
    assert_eq!((&peer).read(&mut [0u8; 4]).unwrap(), 0);
    // The other direction is still open.
    (&peer).write_all(b"reply").unwrap();
    let mut buf = [0u8; 5];
    (&local).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"reply");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot shut down a socketpair")]
fn write_after_shutdown_write_is_broken_pipe() {
    let (a, _b) = UnixStream::pair().unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    let err = (&a).write(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");
}

/// Writes, plain and vectored, send with `MSG_NOSIGNAL`: even a program
/// that restored `SIGPIPE`'s default action (terminate; the Rust runtime
/// ignores it) gets `BrokenPipe` when the peer is gone or the write half
/// shut down.
#[test]
#[cfg_attr(miri, ignore = "Miri cannot fork")]
fn write_to_a_gone_peer_raises_no_sigpipe() {
    use util::{write_to_gone_peer_in_child, WriteToGonePeer};
    let (a, b) = UnixStream::pair().unwrap();
    drop(b);
    assert_eq!(
        write_to_gone_peer_in_child(|| (&a).write(b"anyone?")),
        WriteToGonePeer::BrokenPipe
    );
    // Vectored writes too (`writev` cannot take `MSG_NOSIGNAL`).
    assert_eq!(
        write_to_gone_peer_in_child(
            || (&a).write_vectored(&[IoSlice::new(b"any"), IoSlice::new(b"one?")])
        ),
        WriteToGonePeer::BrokenPipe
    );
    let (c, _d) = UnixStream::pair().unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        write_to_gone_peer_in_child(|| (&c).write(b"late")),
        WriteToGonePeer::BrokenPipe
    );
    assert_eq!(
        write_to_gone_peer_in_child(|| (&c).write_vectored(&[IoSlice::new(b"late")])),
        WriteToGonePeer::BrokenPipe
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot shut down a socketpair")]
fn shutdown_read_and_both() {
    let (a, b) = UnixStream::pair().unwrap();
    a.shutdown(Shutdown::Read).unwrap();
    assert_eq!((&a).read(&mut [0u8; 4]).unwrap(), 0);
    (&a).write_all(b"ok").unwrap();
    let mut buf = [0u8; 2];
    (&b).read_exact(&mut buf).unwrap();

    let (c, _d) = UnixStream::pair().unwrap();
    c.shutdown(Shutdown::Both).unwrap();
    assert_eq!((&c).read(&mut [0u8; 4]).unwrap(), 0);
    assert_eq!(
        (&c).write(b"x").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot set socket options (SO_RCVTIMEO) on a socketpair"
)]
fn peer_drop_closes_both_directions() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (local, peer) = registered_pair(&poll, Interest::READABLE | Interest::WRITABLE);
    drop(peer);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(LOCAL).and_read_closed().and_write_closed()],
    );
    assert_eq!((&local).read(&mut [0u8; 4]).unwrap(), 0);
    let err = (&local).write(b"anyone?").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot read socket options (SO_ERROR) of a socketpair"
)]
fn take_error_is_none() {
    let (a, b) = UnixStream::pair().unwrap();
    assert!(a.take_error().unwrap().is_none());
    drop(b);
    // A closed peer is EOF, not a pending socket error.
    assert!(a.take_error().unwrap().is_none());
}

/// `recv(2)` on the raw fd, as a user of `try_io` would call it.
fn raw_recv(stream: &UnixStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` writable bytes.
    let n = unsafe { libc::recv(stream.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot set socket options (SO_RCVTIMEO) on a socketpair"
)]
fn try_io_with_raw_recv() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (local, mut peer) = registered_pair(&poll, Interest::READABLE);
    let mut buf = [0u8; 16];
    let mut calls = 0;
    assert_would_block(local.try_io(|| {
        calls += 1;
        raw_recv(&local, &mut buf)
    }));
    assert_eq!(calls, 1);

    peer.write_all(b"raw").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(LOCAL)]);
    let n = local.try_io(|| raw_recv(&local, &mut buf)).unwrap();
    assert_eq!(&buf[..n], b"raw");
    assert_eq!(local.try_io(|| Ok::<_, io::Error>(7u8)).unwrap(), 7);

    assert_would_block(local.try_io(|| raw_recv(&local, &mut buf)));
    peer.write_all(b"again").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(LOCAL)]);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot set socket options (SO_RCVTIMEO) on a socketpair"
)]
fn writable_again_after_peer_reads() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (local, mut peer) = registered_pair(&poll, Interest::WRITABLE);
    expect_events(&mut poll, &mut events, &[Expect::writable(LOCAL)]);

    let chunk = vec![7u8; 16 * 1024];
    let mut written = 0usize;
    let end = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < end, "send buffer never filled");
        match (&local).write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    let mut sink = vec![0u8; written];
    peer.read_exact(&mut sink).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(LOCAL)]);
    assert!((&local).write(b"more").unwrap() > 0);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot set socket options (SO_RCVTIMEO) on a socketpair"
)]
fn no_events_after_deregister() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut local, mut peer) = registered_pair(&poll, Interest::READABLE);
    poll.registry().deregister(&mut local).unwrap();
    peer.write_all(b"silent").unwrap();
    util::expect_no_event_for(&mut poll, &mut events, LOCAL);
    let mut buf = [0u8; 6];
    (&local).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"silent");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot set socket options (SO_RCVTIMEO) on a socketpair"
)]
fn dropping_a_registered_stream_closes_it() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (local, mut peer) = registered_pair(&poll, Interest::READABLE);
    drop(local);
    assert_eq!(peer.read(&mut [0u8; 4]).unwrap(), 0);
    let _ = peer.write(b"x");
    util::expect_no_event_for(&mut poll, &mut events, LOCAL);
}

#[test]
fn from_std_stream() {
    let (a, b) = net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let fd = a.as_raw_fd();
    let mut stream = UnixStream::from_std(a);
    assert_eq!(stream.as_raw_fd(), fd);
    assert_would_block(stream.read(&mut [0u8; 4]));

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut stream, LOCAL, Interest::READABLE)
        .unwrap();
    (&b).write_all(b"std").unwrap();
    assert_eq!(read_n(&mut poll, &mut events, LOCAL, &stream, 3), b"std");
}
