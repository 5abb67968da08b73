//! `nbio::net::UnixListener`: pathname, abstract and unnamed addresses,
//! accepting, readiness and errors.
#![cfg(all(unix, feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::{UnixListener, UnixStream};
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
// Abstract addresses (and autobinding to one) exist on Linux and Android
// only; the tests using them are compiled there.
#[cfg(target_os = "android")]
use std::os::android::net::SocketAddrExt;
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{self, SocketAddr};
use util::{expect_events, Expect, DEADLINE};

const LISTENER: Token = Token(1);
const STREAM: Token = Token(2);

#[cfg(any(target_os = "linux", target_os = "android"))]
/// A unique abstract socket name.
fn abstract_name(name: &str) -> Vec<u8> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("nbio-test-{}-{name}-{n}", std::process::id()).into_bytes()
}

/// Reads an integer socket option straight from the kernel.
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

/// The abstract name of `addr`, if it has one.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_of(addr: &SocketAddr) -> Option<&[u8]> {
    addr.as_abstract_name()
}

/// No abstract addresses outside Linux and Android.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_of(_: &SocketAddr) -> Option<&[u8]> {
    None
}

/// The C form of a std Unix address: pathname, abstract or unnamed.
fn c_addr(addr: &SocketAddr) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: all-zeroes is a valid `sockaddr_un`.
    let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let family = mem::size_of::<libc::sa_family_t>();
    let (bytes, start, extra) = if let Some(path) = addr.as_pathname() {
        // Pathnames are NUL-terminated.
        (path.as_os_str().as_bytes(), 0, 1)
    } else if let Some(name) = abstract_of(addr) {
        // Abstract names start with a NUL and are not terminated.
        (name, 1, 0)
    } else {
        // Unnamed: binding it makes the kernel pick an abstract name.
        return (sun, family as libc::socklen_t);
    };
    assert!(start + bytes.len() < sun.sun_path.len());
    for (dst, src) in sun.sun_path[start..].iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = family + start + bytes.len() + extra;
    (sun, len as libc::socklen_t)
}

/// A blocking client socket bound to `client`, connected to `server`.
fn bound_client(client: &SocketAddr, server: &SocketAddr) -> net::UnixStream {
    // SAFETY: plain integer arguments. (No SOCK_CLOEXEC: Apple lacks it,
    // and this blocking test socket is never inherited by anything.)
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
    // SAFETY: `fd` was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let (local, local_len) = c_addr(client);
    // SAFETY: `local` is a valid `sockaddr_un` of at least `local_len` bytes.
    let res = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&local as *const libc::sockaddr_un).cast(),
            local_len,
        )
    };
    assert_eq!(res, 0, "bind: {}", io::Error::last_os_error());
    let (remote, remote_len) = c_addr(server);
    // SAFETY: `remote` is a valid `sockaddr_un` of at least `remote_len`
    // bytes.
    let res = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&remote as *const libc::sockaddr_un).cast(),
            remote_len,
        )
    };
    assert_eq!(res, 0, "connect: {}", io::Error::last_os_error());
    net::UnixStream::from(fd)
}

/// Accepts until `WouldBlock`.
fn accept_all(listener: &UnixListener) -> Vec<(UnixStream, SocketAddr)> {
    let mut out = Vec::new();
    loop {
        match listener.accept() {
            Ok(pair) => out.push(pair),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

/// Waits (through `poll`, with `LISTENER` registered) for one connection.
fn accept_one(
    poll: &mut Poll,
    events: &mut Events,
    listener: &UnixListener,
) -> (UnixStream, SocketAddr) {
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

fn registered(poll: &Poll, addr: &SocketAddr) -> UnixListener {
    let mut listener = UnixListener::bind_addr(addr).unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    listener
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn is_send_and_sync() {
    util::assert_send_sync::<UnixListener>();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_pathname() {
    let path = util::temp_path("listener-bind");
    let listener = UnixListener::bind(&path).unwrap();
    let local = listener.local_addr().unwrap();
    assert_eq!(local.as_pathname(), Some(path.as_path()));
    assert!(!local.is_unnamed());
    assert!(std::fs::metadata(&path).unwrap().file_type().is_socket());
    util::assert_nonblocking(&listener);
    util::assert_cloexec(&listener);
    assert_eq!(
        getsockopt_int(&listener, libc::SOL_SOCKET, libc::SO_ACCEPTCONN),
        1,
        "the socket must be listening"
    );
    assert_eq!(
        getsockopt_int(&listener, libc::SOL_SOCKET, libc::SO_TYPE),
        libc::SOCK_STREAM
    );
    // A blocking std client can connect.
    net::UnixStream::connect(&path).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_addr_pathname() {
    let path = util::temp_path("listener-bind-addr");
    let addr = SocketAddr::from_pathname(&path).unwrap();
    let listener = UnixListener::bind_addr(&addr).unwrap();
    assert_eq!(
        listener.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    net::UnixStream::connect_addr(&addr).unwrap();
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_addr_abstract() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let name = abstract_name("listener");
    let addr = SocketAddr::from_abstract_name(&name).unwrap();
    let listener = registered(&poll, &addr);
    let local = listener.local_addr().unwrap();
    assert_eq!(local.as_abstract_name(), Some(&name[..]));
    assert_eq!(local.as_pathname(), None);
    util::assert_nonblocking(&listener);
    util::assert_cloexec(&listener);

    let _client = net::UnixStream::connect_addr(&addr).unwrap();
    let (stream, peer) = accept_one(&mut poll, &mut events, &listener);
    assert!(peer.is_unnamed());
    assert_eq!(
        stream.local_addr().unwrap().as_abstract_name(),
        Some(&name[..])
    );
}

// Autobinding an unnamed address to an abstract name is Linux behaviour.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_addr_unnamed_autobinds() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let unnamed = SocketAddr::from_pathname("").unwrap();
    assert!(unnamed.is_unnamed());
    let listener = registered(&poll, &unnamed);
    let local = listener.local_addr().unwrap();
    // Linux gives the socket a unique abstract name.
    let name = local
        .as_abstract_name()
        .expect("an autobound abstract name");
    assert!(!name.is_empty());

    // Other sockets can connect to that name.
    let _client = UnixStream::connect_addr(&local).unwrap();
    let (_, peer) = accept_one(&mut poll, &mut events, &listener);
    assert!(peer.is_unnamed());

    // Two autobound listeners get different names.
    let other = UnixListener::bind_addr(&unnamed).unwrap();
    assert_ne!(other.local_addr().unwrap().as_abstract_name(), Some(name));
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_existing_path_is_addr_in_use() {
    let path = util::temp_path("listener-in-use");
    let _first = UnixListener::bind(&path).unwrap();
    let err = UnixListener::bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");

    // Any existing file counts, not only live sockets.
    let file_path = util::temp_path("listener-regular-file");
    std::fs::write(&file_path, b"not a socket").unwrap();
    let err = UnixListener::bind(&file_path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_abstract_name_in_use() {
    let name = abstract_name("in-use");
    let addr = SocketAddr::from_abstract_name(&name).unwrap();
    let _first = UnixListener::bind_addr(&addr).unwrap();
    let err = UnixListener::bind_addr(&addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_path_too_long() {
    let long = std::env::temp_dir().join("x".repeat(200));
    let err = UnixListener::bind(&long).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");
    assert!(!long.exists());
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_path_with_nul() {
    let err = UnixListener::bind("/tmp/nbio\0bad.sock").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn bind_in_missing_directory() {
    let path = util::temp_path("no-such-dir").join("listener.sock");
    let err = UnixListener::bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn accept_would_block_without_connections() {
    let listener = UnixListener::bind(util::temp_path("listener-empty")).unwrap();
    for _ in 0..2 {
        let err = listener.accept().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn readable_event_then_accept() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let path = util::temp_path("listener-accept");
    let listener = registered(&poll, &SocketAddr::from_pathname(&path).unwrap());

    let mut client = net::UnixStream::connect(&path).unwrap();
    client.set_read_timeout(Some(DEADLINE)).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
    let accepted = accept_all(&listener);
    assert_eq!(accepted.len(), 1);
    let (mut stream, peer) = accepted.into_iter().next().unwrap();

    // The client did not bind, so its address is unnamed.
    assert!(peer.is_unnamed());
    assert_eq!(peer.as_pathname(), None);
    assert_eq!(
        stream.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(stream.peer_addr().unwrap().is_unnamed());
    util::assert_nonblocking(&stream);
    util::assert_cloexec(&stream);

    // The accepted stream talks to the client.
    stream.write_all(b"welcome").unwrap();
    let mut buf = [0u8; 7];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"welcome");

    client.write_all(b"thanks").unwrap();
    poll.registry()
        .register(&mut stream, STREAM, Interest::READABLE)
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 6 {
        let mut buf = [0u8; 16];
        match stream.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                expect_events(&mut poll, &mut events, &[Expect::readable(STREAM)]);
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"thanks");
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn accept_reports_a_pathname_client_address() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let server = SocketAddr::from_pathname(util::temp_path("listener-server")).unwrap();
    let listener = registered(&poll, &server);
    let client_path = util::temp_path("listener-client");
    let client = bound_client(&SocketAddr::from_pathname(&client_path).unwrap(), &server);
    assert_eq!(
        client.local_addr().unwrap().as_pathname(),
        Some(client_path.as_path())
    );

    let (stream, peer) = accept_one(&mut poll, &mut events, &listener);
    assert_eq!(peer.as_pathname(), Some(client_path.as_path()));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert!(peer.as_abstract_name().is_none());
    assert_eq!(
        stream.peer_addr().unwrap().as_pathname(),
        Some(client_path.as_path())
    );
}

// nbio reports the address the kernel gives `accept`, as std's
// `UnixListener::accept` does. (mio 1.2.5 reports abstract peer addresses as
// unnamed instead; these two tests fail against it.)
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn accept_reports_an_abstract_client_address() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let server = SocketAddr::from_abstract_name(abstract_name("server")).unwrap();
    let listener = registered(&poll, &server);
    let name = abstract_name("client");
    let _client = bound_client(&SocketAddr::from_abstract_name(&name).unwrap(), &server);

    let (_, peer) = accept_one(&mut poll, &mut events, &listener);
    assert_eq!(peer.as_abstract_name(), Some(&name[..]));
    assert!(peer.as_pathname().is_none());
    assert!(!peer.is_unnamed());
}

// Autobinding (a client bound to an unnamed address) is Linux behaviour.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn accept_reports_an_autobound_client_address() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let server = SocketAddr::from_pathname(util::temp_path("listener-auto")).unwrap();
    let listener = registered(&poll, &server);
    let client = bound_client(&SocketAddr::from_pathname("").unwrap(), &server);
    let client_addr = client.local_addr().unwrap();
    let name = client_addr.as_abstract_name().expect("autobound name");

    let (_, peer) = accept_one(&mut poll, &mut events, &listener);
    assert_eq!(peer.as_abstract_name(), Some(name));
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn accept_until_would_block_then_new_event() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let path = util::temp_path("listener-many");
    let listener = registered(&poll, &SocketAddr::from_pathname(&path).unwrap());

    // Non-blocking connects: a too-small backlog fails (WouldBlock) instead
    // of hanging in a blocking connect.
    let clients: Vec<_> = (0..4)
        .map(|_| UnixStream::connect(&path).unwrap())
        .collect();
    let mut accepted = Vec::new();
    while accepted.len() < clients.len() {
        expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
        accepted.extend(accept_all(&listener));
    }
    assert_eq!(accepted.len(), 4);

    let _late = UnixStream::connect(&path).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
    accept_one(&mut poll, &mut events, &listener);
    assert!(accept_all(&listener).is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn take_error_is_none() {
    let listener = UnixListener::bind(util::temp_path("listener-error")).unwrap();
    assert!(listener.take_error().unwrap().is_none());
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn from_std_listener() {
    let path = util::temp_path("listener-from-std");
    let std_listener = net::UnixListener::bind(&path).unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let fd = std_listener.as_raw_fd();
    let mut listener = UnixListener::from_std(std_listener);
    assert_eq!(listener.as_raw_fd(), fd);
    assert_eq!(
        listener.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let _client = net::UnixStream::connect(&path).unwrap();
    let (stream, _) = accept_one(&mut poll, &mut events, &listener);
    util::assert_nonblocking(&stream);
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn no_events_after_deregister() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let path = util::temp_path("listener-deregister");
    let mut listener = registered(&poll, &SocketAddr::from_pathname(&path).unwrap());
    poll.registry().deregister(&mut listener).unwrap();
    let _client = net::UnixStream::connect(&path).unwrap();
    util::expect_no_event_for(&mut poll, &mut events, LISTENER);
    // The connection is still pending and can be accepted.
    assert_eq!(accept_all(&listener).len(), 1);
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn reregister_reports_pending_connection() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let path = util::temp_path("listener-reregister");
    let mut listener = UnixListener::bind(&path).unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::WRITABLE)
        .unwrap();
    let _client = net::UnixStream::connect(&path).unwrap();
    // Adding READABLE re-evaluates readiness: the queued connection shows.
    const NEW: Token = Token(5);
    poll.registry()
        .reregister(&mut listener, NEW, Interest::READABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(NEW)]);
    assert_eq!(accept_all(&listener).len(), 1);
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn dropping_a_registered_listener() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let path = util::temp_path("listener-drop");
    let listener = registered(&poll, &SocketAddr::from_pathname(&path).unwrap());
    drop(listener);
    util::expect_no_event_for(&mut poll, &mut events, LISTENER);
    // The socket file stays behind, but nobody listens any more.
    assert!(path.exists());
    let err = net::UnixStream::connect(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}
