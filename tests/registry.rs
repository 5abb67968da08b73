//! `Registry`: register / reregister / deregister semantics, errors,
//! cloning and use from several threads.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::event::Source;
use nbio::net::UdpSocket;
use nbio::{Events, Interest, Poll, Registry, Token};
use std::io::{self, Write};
// The selector's fd is exposed by the Unix kernel selectors only.
#[cfg(all(unix, not(nbio_force_poll)))]
use std::os::fd::{AsFd, AsRawFd};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use util::{expect_events, expect_no_event_for, Expect, DEADLINE};

fn udp() -> UdpSocket {
    UdpSocket::bind(util::any_local_address()).unwrap()
}

fn send_to(target: &UdpSocket) {
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .send_to(b"ping", target.local_addr().unwrap())
        .unwrap();
}

/// Polls until `DEADLINE` or until `want` is seen, asserting on the way that
/// `forbidden` never shows up.
fn expect_token_never(poll: &mut Poll, events: &mut Events, want: Token, forbidden: Token) {
    let end = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < end, "timed out waiting for {want:?}");
        poll.poll(events, Some(Duration::from_millis(100))).unwrap();
        let mut found = false;
        for event in events.iter() {
            assert_ne!(event.token(), forbidden, "stale token: {event:?}");
            found |= event.token() == want;
        }
        if found {
            return;
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn register_then_receive_event() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    send_to(&sock);
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(1))]);
    let mut buf = [0; 16];
    assert_eq!(sock.recv(&mut buf).unwrap(), 4);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn reregister_replaces_token() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    poll.registry()
        .reregister(&mut sock, Token(2), Interest::READABLE)
        .unwrap();
    send_to(&sock);
    expect_token_never(&mut poll, &mut events, Token(2), Token(1));
    // A second datagram, after the old token would be long "flushed". Drain
    // to `WouldBlock` first, as the readiness contract requires.
    let mut buf = [0; 16];
    sock.recv(&mut buf).unwrap();
    assert_eq!(
        sock.recv(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    send_to(&sock);
    expect_token_never(&mut poll, &mut events, Token(2), Token(1));
}

#[test]
fn reregister_replaces_interest_writable_to_readable() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, mut b) = util::stream_pair();
    poll.registry()
        .register(&mut a, Token(1), Interest::WRITABLE)
        .unwrap();
    // Pending writable readiness must not survive the interest change.
    poll.registry()
        .reregister(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    expect_no_event_for(&mut poll, &mut events, Token(1));

    b.write_all(b"data").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(1))]);
    for event in events.iter() {
        assert!(!event.is_writable(), "writable after reregister: {event:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn reregister_adding_interest_reports_current_readiness() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
    // Data arrives while only writable interest is registered: no event.
    send_to(&sock);
    let mut peek = [0; 8];
    // Wait for the datagram to actually be queued, with a bound.
    let end = Instant::now() + DEADLINE;
    while sock.peek(&mut peek).is_err() {
        assert!(Instant::now() < end);
        thread::yield_now();
    }
    expect_no_event_for(&mut poll, &mut events, Token(1));
    // Adding readable interest reports the already queued data.
    poll.registry()
        .reregister(&mut sock, Token(7), Interest::READABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(7))]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn deregister_drops_pending_readiness() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    send_to(&sock);
    let mut peek = [0; 8];
    let end = Instant::now() + DEADLINE;
    while sock.peek(&mut peek).is_err() {
        assert!(Instant::now() < end);
        thread::yield_now();
    }
    // Readable and writable readiness are both pending now.
    poll.registry().deregister(&mut sock).unwrap();
    expect_no_event_for(&mut poll, &mut events, Token(1));
    // Still usable for I/O.
    assert_eq!(sock.recv(&mut peek).unwrap(), 4);
    send_to(&sock);
    expect_no_event_for(&mut poll, &mut events, Token(1));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn register_again_after_deregister() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
    poll.registry().deregister(&mut sock).unwrap();
    poll.registry()
        .register(&mut sock, Token(2), Interest::READABLE)
        .unwrap();
    send_to(&sock);
    expect_token_never(&mut poll, &mut events, Token(2), Token(1));
    // And once more through the full cycle.
    poll.registry().deregister(&mut sock).unwrap();
    poll.registry()
        .register(&mut sock, Token(3), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(3))]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn try_clone_registers_into_the_same_poll() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let clone = poll.registry().try_clone().unwrap();
    #[cfg(all(unix, not(nbio_force_poll)))]
    {
        assert_ne!(clone.as_raw_fd(), poll.registry().as_raw_fd());
        util::assert_cloexec(&clone);
    }

    let mut sock = udp();
    clone
        .register(&mut sock, Token(11), Interest::READABLE)
        .unwrap();
    send_to(&sock);
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(11))]);

    // The original registry sees the same registration.
    poll.registry()
        .reregister(&mut sock, Token(12), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(12))]);
    clone.deregister(&mut sock).unwrap();
    expect_no_event_for(&mut poll, &mut events, Token(12));

    // The clone outlives neither side's usefulness: dropping it leaves the
    // original working.
    drop(clone);
    poll.registry()
        .register(&mut sock, Token(13), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(13))]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn clone_keeps_working_after_poll_is_dropped() {
    let poll = Poll::new().unwrap();
    let clone = poll.registry().try_clone().unwrap();
    drop(poll);
    let mut sock = udp();
    // The selector lives on through the clone's fd.
    clone
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    clone.deregister(&mut sock).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair supports SOCK_STREAM only")]
fn concurrent_registration_from_several_threads() {
    const THREADS: usize = 4;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let registry = Arc::new(poll.registry().try_clone().unwrap());
    let barrier = Arc::new(Barrier::new(THREADS));

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let registry = Arc::clone(&registry);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let base = t * 100;
                let (mut a, b) = util::datagram_pair();
                let (mut c, d) = util::datagram_pair();
                barrier.wait();
                for round in 0..50 {
                    registry
                        .register(&mut a, Token(base + 1), Interest::READABLE)
                        .unwrap();
                    registry
                        .reregister(&mut a, Token(base + 2), Interest::READABLE)
                        .unwrap();
                    if round < 49 {
                        registry.deregister(&mut a).unwrap();
                    }
                    // `c` is deregistered before it becomes ready, so its
                    // token must never be reported.
                    registry
                        .register(&mut c, Token(base + 3), Interest::READABLE)
                        .unwrap();
                    registry.deregister(&mut c).unwrap();
                }
                b.send(b"x").unwrap();
                d.send(b"y").unwrap();
                // Keep every socket alive until the main thread joins.
                (a, b, c, d)
            })
        })
        .collect();

    let mut pending: Vec<Token> = (0..THREADS).map(|t| Token(t * 100 + 2)).collect();
    let end = Instant::now() + DEADLINE;
    while !pending.is_empty() {
        assert!(Instant::now() < end, "missing {pending:?}");
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for event in events.iter() {
            let t = event.token().0;
            assert_eq!(t % 100, 2, "unexpected event {event:?}");
            assert!(event.is_readable());
            pending.retain(|p| *p != event.token());
        }
    }
    let sockets: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // The data for the `c` sockets is queued; still nothing for them.
    poll.poll(&mut events, Some(Duration::from_millis(100)))
        .unwrap();
    for event in events.iter() {
        assert_ne!(event.token().0 % 100, 3, "deregistered source: {event:?}");
    }
    drop(sockets);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn registration_during_blocked_poll_takes_effect() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let registry = poll.registry().try_clone().unwrap();
    let poller = util::current_tid();
    let handle = thread::spawn(move || {
        // Register only once the main thread is blocked in `poll`, so the
        // registration lands during the call.
        util::wait_until_blocked(poller);
        let mut sock = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        registry
            .register(&mut sock, Token(42), Interest::WRITABLE)
            .unwrap();
        sock
    });
    // One call, long timeout, nothing registered yet: it must return with
    // the event of the source registered while it was blocked.
    poll.poll(&mut events, Some(DEADLINE)).unwrap();
    let sock = handle.join().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.token() == Token(42) && e.is_writable()),
        "poll did not observe the concurrent registration: {events:?}"
    );
    drop(sock);
}

// Release builds on kqueue keep no per-source state and the kernel quietly
// updates a second registration (as mio does): checked elsewhere only.
#[cfg(any(
    debug_assertions,
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
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn double_register_is_already_exists() {
    let poll = Poll::new().unwrap();
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    let err = poll
        .registry()
        .register(&mut sock, Token(2), Interest::WRITABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    #[cfg(debug_assertions)]
    assert_eq!(
        err.to_string(),
        "I/O source already registered with a `Registry`"
    );
    // Release builds surface the kernel's error on epoll; the emulating
    // selectors (poll(2), event ports) report the bare kind.
    #[cfg(all(
        not(debug_assertions),
        any(target_os = "linux", target_os = "android"),
        not(nbio_force_poll)
    ))]
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
    // The failed call did not disturb the existing registration.
    poll.registry()
        .reregister(&mut sock, Token(3), Interest::READABLE)
        .unwrap();
    poll.registry().deregister(&mut sock).unwrap();
}

// Release builds on kqueue add the missing registration (as mio does).
#[cfg(any(
    debug_assertions,
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
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn reregister_unregistered_is_not_found() {
    let poll = Poll::new().unwrap();
    let mut sock = udp();
    let err = poll
        .registry()
        .reregister(&mut sock, Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    #[cfg(debug_assertions)]
    assert_eq!(err.to_string(), "I/O source not registered with `Registry`");
    // Release builds surface the kernel's error on epoll; the emulating
    // selectors (poll(2), event ports) report the bare kind.
    #[cfg(all(
        not(debug_assertions),
        any(target_os = "linux", target_os = "android"),
        not(nbio_force_poll)
    ))]
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

// Release builds on kqueue ignore the kernel's ENOENT (as mio does).
#[cfg(any(
    debug_assertions,
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
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn deregister_unregistered_is_not_found() {
    let poll = Poll::new().unwrap();
    let mut sock = udp();
    let err = poll.registry().deregister(&mut sock).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    #[cfg(debug_assertions)]
    assert_eq!(err.to_string(), "I/O source not registered with `Registry`");

    // Also after a register/deregister cycle.
    poll.registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    poll.registry().deregister(&mut sock).unwrap();
    let err = poll.registry().deregister(&mut sock).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

// Release builds keep no per-source state, and epoll accepts the same fd in
// two instances, so this is a debug-only guarantee (as in mio).
#[cfg(debug_assertions)]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn register_with_second_poll_is_already_exists() {
    let poll1 = Poll::new().unwrap();
    let poll2 = Poll::new().unwrap();
    let mut sock = udp();
    poll1
        .registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    let err = poll2
        .registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(
        err.to_string(),
        "I/O source already registered with a `Registry`"
    );
    // The original association is kept.
    poll1
        .registry()
        .reregister(&mut sock, Token(2), Interest::READABLE)
        .unwrap();
}

// Release builds on kqueue add the fd to the other kqueue (as mio does).
#[cfg(any(
    debug_assertions,
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
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn reregister_through_other_poll_fails() {
    let poll1 = Poll::new().unwrap();
    let poll2 = Poll::new().unwrap();
    let mut sock = udp();
    poll1
        .registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    let err = poll2
        .registry()
        .reregister(&mut sock, Token(1), Interest::READABLE)
        .unwrap_err();
    #[cfg(debug_assertions)]
    {
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            err.to_string(),
            "I/O source already registered with a different `Registry`"
        );
    }
    // Release: the other selector does not know the fd.
    #[cfg(not(debug_assertions))]
    assert_eq!(err.kind(), io::ErrorKind::NotFound);

    let err = poll2.registry().deregister(&mut sock).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    // The real registration is untouched.
    poll1.registry().deregister(&mut sock).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn clone_shares_registration_identity() {
    let poll = Poll::new().unwrap();
    let clone = poll.registry().try_clone().unwrap();
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    // A clone is the same `Poll`: reregister/deregister through it succeed,
    // and double registration through it is still detected.
    clone
        .reregister(&mut sock, Token(2), Interest::WRITABLE)
        .unwrap();
    let err = clone
        .register(&mut sock, Token(3), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    clone.deregister(&mut sock).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn dyn_source_and_boxed_source() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);

    let mut sock = udp();
    {
        let source: &mut dyn Source = &mut sock;
        poll.registry()
            .register(source, Token(1), Interest::WRITABLE)
            .unwrap();
    }
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
    {
        let source: &mut dyn Source = &mut sock;
        poll.registry()
            .reregister(source, Token(2), Interest::WRITABLE)
            .unwrap();
        expect_events(&mut poll, &mut events, &[Expect::writable(Token(2))]);
        poll.registry().deregister(source).unwrap();
    }

    let mut boxed: Box<dyn Source> = Box::new(udp());
    poll.registry()
        .register(&mut boxed, Token(3), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(3))]);
    poll.registry()
        .reregister(&mut boxed, Token(4), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(4))]);
    poll.registry().deregister(&mut boxed).unwrap();
    expect_no_event_for(&mut poll, &mut events, Token(4));

    // A boxed concrete source works too.
    let mut boxed_udp = Box::new(udp());
    poll.registry()
        .register(&mut boxed_udp, Token(5), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(5))]);
}

#[test]
fn registry_raw_fd_and_debug() {
    let poll = Poll::new().unwrap();
    let registry = poll.registry();
    assert_eq!(format!("{registry:?}"), "Registry");
    let clone = registry.try_clone().unwrap();
    assert_eq!(format!("{clone:?}"), "Registry");
    // The selector fd is only exposed by the Unix kernel selectors (not
    // poll(2), and Windows' completion port is not exposed, as in mio).
    #[cfg(all(unix, not(nbio_force_poll)))]
    {
        assert_eq!(registry.as_fd().as_raw_fd(), registry.as_raw_fd());
        assert_eq!(registry.as_raw_fd(), poll.as_raw_fd());
    }
    // That it is an epoll instance is visible in `/proc` (Linux, Android;
    // not under Miri, whose fds are virtual).
    #[cfg(all(
        any(target_os = "linux", target_os = "android"),
        not(nbio_force_poll),
        not(miri)
    ))]
    {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", clone.as_raw_fd())).unwrap();
        assert_eq!(link.to_str().unwrap(), "anon_inode:[eventpoll]");
    }
}

/// A custom error, to check the registry hands errors back untouched.
#[derive(Debug, PartialEq)]
struct MyError(u32);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "my error {}", self.0)
    }
}

impl std::error::Error for MyError {}

/// An arbitrary OS error code for [`FailingSource::deregister`].
#[cfg(unix)]
const RAW_ERROR: i32 = libc::EXDEV;
/// An arbitrary OS error code for [`FailingSource::deregister`]
/// (`ERROR_NOT_SAME_DEVICE`, Windows' counterpart of `EXDEV`).
#[cfg(windows)]
const RAW_ERROR: i32 = 17;

/// Records every call and fails each with a distinct custom error.
#[derive(Default)]
struct FailingSource {
    calls: Mutex<Vec<String>>,
}

impl Source for FailingSource {
    fn register(&mut self, _: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("register {token:?} {interests:?}"));
        Err(io::Error::new(io::ErrorKind::InvalidData, MyError(1)))
    }

    fn reregister(&mut self, _: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("reregister {token:?} {interests:?}"));
        Err(io::Error::new(io::ErrorKind::ConnectionAborted, MyError(2)))
    }

    fn deregister(&mut self, _: &Registry) -> io::Result<()> {
        self.calls.lock().unwrap().push("deregister".to_owned());
        Err(io::Error::from_raw_os_error(RAW_ERROR))
    }
}

#[test]
fn custom_source_errors_propagate_verbatim() {
    let poll = Poll::new().unwrap();
    let mut source = FailingSource::default();
    let registry = poll.registry();

    let err = registry
        .register(
            &mut source,
            Token(7),
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert_eq!(
        err.get_ref().unwrap().downcast_ref::<MyError>(),
        Some(&MyError(1))
    );

    let err = registry
        .reregister(&mut source, Token(usize::MAX), Interest::WRITABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
    assert_eq!(
        err.get_ref().unwrap().downcast_ref::<MyError>(),
        Some(&MyError(2))
    );

    let err = registry.deregister(&mut source).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(RAW_ERROR));

    // The arguments are passed through unchanged.
    assert_eq!(
        *source.calls.lock().unwrap(),
        [
            "register Token(7) READABLE | WRITABLE".to_owned(),
            format!("reregister Token({}) WRITABLE", usize::MAX),
            "deregister".to_owned(),
        ]
    );
}

/// A user type that delegates to an inner nbio source.
struct Wrapper {
    inner: UdpSocket,
    registrations: usize,
}

impl Source for Wrapper {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.registrations += 1;
        self.inner.register(r, t, i)
    }
    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.inner.reregister(r, t, i)
    }
    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        self.inner.deregister(r)
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn delegating_custom_source() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut wrapper = Wrapper {
        inner: udp(),
        registrations: 0,
    };
    poll.registry()
        .register(&mut wrapper, Token(5), Interest::READABLE)
        .unwrap();
    assert_eq!(wrapper.registrations, 1);
    send_to(&wrapper.inner);
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(5))]);
    poll.registry().deregister(&mut wrapper).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn dropping_registered_source_before_poll_is_harmless() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut sock = udp();
    poll.registry()
        .register(&mut sock, Token(1), Interest::WRITABLE)
        .unwrap();
    drop(sock);
    expect_no_event_for(&mut poll, &mut events, Token(1));
}
