//! Every fd nbio creates is non-blocking and close-on-exec, and creating
//! and dropping nbio objects does not leak fds.
//!
//! Every test here holds `LOCK`: the leak tests count the open fds (on
//! Linux and Android the sockets, pipes and anonymous inodes of
//! `/proc/self/fd`), which must not change under them because of fds
//! created by other tests of this binary.
//!
//! Unix only: file descriptors, their flags and `/proc/self/fd` are Unix
//! notions (the Windows counterpart, handle inheritance, is checked by the
//! net type tests through `util::assert_cloexec`).
#![cfg(all(unix, feature = "os-poll", feature = "net", feature = "os-ext"))]

mod util;

use nbio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use nbio::{Events, Interest, Poll, Token, Waker};
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;
use util::{assert_cloexec, assert_nonblocking, expect_events, Expect, DEADLINE};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The open sockets, pipes and anonymous inodes: files that other threads
/// of this binary open meanwhile (see [`util::io_fds`]) do not count.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_fds() -> usize {
    util::io_fds().len()
}

/// Without `/proc/self/fd`, probes every fd number below a bound far above
/// what this binary uses (at most a few hundred fds at a time).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_fds() -> usize {
    (0..4096)
        .filter(|&fd| {
            // SAFETY: F_GETFD only reads the descriptor flags; an fd that is
            // not open makes it fail with EBADF.
            unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
        })
        .count()
}

fn assert_flags<F: AsRawFd>(fd: &F) {
    assert_nonblocking(fd);
    assert_cloexec(fd);
}

// The selector fd is only exposed by the kernel selectors (not poll(2)).
#[cfg(not(nbio_force_poll))]
#[test]
fn poll_and_registry_clone_are_cloexec() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    assert_cloexec(&poll);
    let clone = poll.registry().try_clone().unwrap();
    assert_cloexec(&clone);
    assert_cloexec(&clone.try_clone().unwrap());
}

#[test]
fn tcp_fds_are_nonblocking_and_cloexec() {
    let _g = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    for addr in [util::any_local_address(), util::any_local_ipv6_address()] {
        let mut listener = match TcpListener::bind(addr) {
            Ok(l) => l,
            // No IPv6 on this machine.
            Err(_) if addr.is_ipv6() => continue,
            Err(e) => panic!("{e}"),
        };
        assert_flags(&listener);
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert_flags(&stream);
        poll.registry()
            .register(&mut listener, Token(0), Interest::READABLE)
            .unwrap();
        let end = Instant::now() + DEADLINE;
        let accepted = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < end);
                    expect_events(&mut poll, &mut events, &[Expect::readable(Token(0))]);
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_flags(&accepted);
        poll.registry().deregister(&mut listener).unwrap();
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn udp_fds_are_nonblocking_and_cloexec() {
    let _g = lock();
    assert_flags(&UdpSocket::bind(util::any_local_address()).unwrap());
    if let Ok(s) = UdpSocket::bind(util::any_local_ipv6_address()) {
        assert_flags(&s);
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
fn unix_fds_are_nonblocking_and_cloexec() {
    let _g = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let path = util::temp_path("hygiene-listener");
    let mut listener = UnixListener::bind(&path).unwrap();
    assert_flags(&listener);
    let stream = UnixStream::connect(&path).unwrap();
    assert_flags(&stream);
    poll.registry()
        .register(&mut listener, Token(0), Interest::READABLE)
        .unwrap();
    let end = Instant::now() + DEADLINE;
    let accepted = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < end);
                expect_events(&mut poll, &mut events, &[Expect::readable(Token(0))]);
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_flags(&accepted);
    let (a, b) = UnixStream::pair().unwrap();
    assert_flags(&a);
    assert_flags(&b);

    let dpath = util::temp_path("hygiene-datagram");
    assert_flags(&UnixDatagram::bind(&dpath).unwrap());
    assert_flags(&UnixDatagram::unbound().unwrap());
    let (a, b) = UnixDatagram::pair().unwrap();
    assert_flags(&a);
    assert_flags(&b);
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(dpath);
}

#[test]
fn pipe_fds_are_nonblocking_and_cloexec() {
    let _g = lock();
    let (s, r) = nbio::unix::pipe::new().unwrap();
    assert_flags(&s);
    assert_flags(&r);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn exec_does_not_inherit_nbio_fds() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    let sock = UdpSocket::bind(util::any_local_address()).unwrap();
    let (s, r) = nbio::unix::pipe::new().unwrap();
    let fds = [
        sock.as_raw_fd(),
        s.as_raw_fd(),
        r.as_raw_fd(),
        // Only the kernel selectors expose the selector fd.
        #[cfg(not(nbio_force_poll))]
        poll.as_raw_fd(),
    ];
    // The child checks each fd number; none may be open after exec.
    // (`/dev/fd` lists the calling process's fds on the other systems.)
    let dir = if cfg!(any(target_os = "linux", target_os = "android")) {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    let script = fds
        .iter()
        .map(|fd| format!("[ -e {dir}/{fd} ] && echo open {fd};"))
        .collect::<String>();
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("{script} true")])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    drop((poll, sock, s, r));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri's fds are virtual: /proc/self/fd lists the host process's"
)]
fn polls_and_wakers_do_not_leak() {
    let _g = lock();
    let before = open_fds();
    // Sanity check of the counting method. A notifier is an eventfd on
    // Linux and Android, else (or with `nbio_force_waker_pipe`) a pipe, two
    // fds. On epoll each Poll is one fd and each Waker one notifier; on
    // poll(2) each Poll owns a notifier and the Waker reuses it. A kqueue or
    // an event port is one fd; the Waker needs none of its own with
    // `EVFILT_USER` (Apple, FreeBSD, DragonFly) or `port_send`, and is a
    // registered notifier on the other kqueue systems.
    const EVENTFD: bool = cfg!(all(
        not(nbio_force_waker_pipe),
        any(target_os = "linux", target_os = "android")
    ));
    const NOTIFIER_FDS: usize = if EVENTFD { 1 } else { 2 };
    const POLL_SELECTOR: bool = cfg!(any(
        nbio_force_poll,
        not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "tvos",
            target_os = "visionos",
            target_os = "watchos",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
            target_os = "illumos",
            target_os = "solaris"
        ))
    ));
    const SELECTOR_WAKER: bool = cfg!(any(
        target_os = "illumos",
        target_os = "solaris",
        all(
            not(nbio_force_waker_pipe),
            any(
                target_os = "macos",
                target_os = "ios",
                target_os = "tvos",
                target_os = "visionos",
                target_os = "watchos",
                target_os = "freebsd",
                target_os = "dragonfly"
            )
        )
    ));
    const POLL_FDS: usize = if POLL_SELECTOR { NOTIFIER_FDS } else { 1 };
    const WAKER_FDS: usize = if POLL_SELECTOR || SELECTOR_WAKER {
        0
    } else {
        NOTIFIER_FDS
    };
    {
        let polls: Vec<Poll> = (0..50).map(|_| Poll::new().unwrap()).collect();
        assert_eq!(open_fds(), before + 50 * POLL_FDS);
        let wakers: Vec<Waker> = polls
            .iter()
            .map(|p| Waker::new(p.registry(), Token(0)).unwrap())
            .collect();
        assert_eq!(open_fds(), before + 50 * (POLL_FDS + WAKER_FDS));
        drop(wakers);
        assert_eq!(open_fds(), before + 50 * POLL_FDS);
    }
    assert_eq!(open_fds(), before);

    for i in 0..2000 {
        let poll = Poll::new().unwrap();
        let waker = Waker::new(poll.registry(), Token(i)).unwrap();
        waker.wake().unwrap();
        let clone = poll.registry().try_clone().unwrap();
        drop((clone, waker, poll));
    }
    assert_eq!(open_fds(), before);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn sockets_and_pipes_do_not_leak() {
    let _g = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let before = open_fds();
    let mut listener = TcpListener::bind(util::any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.registry()
        .register(&mut listener, Token(0), Interest::READABLE)
        .unwrap();
    for i in 0..1000 {
        match i % 5 {
            0 => {
                // Connect + accept, registered and then dropped.
                let mut stream = TcpStream::connect(addr).unwrap();
                poll.registry()
                    .register(&mut stream, Token(1), Interest::WRITABLE)
                    .unwrap();
                let end = Instant::now() + DEADLINE;
                let accepted = loop {
                    match listener.accept() {
                        Ok((s, _)) => break s,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            assert!(Instant::now() < end);
                            poll.poll(&mut events, Some(DEADLINE)).unwrap();
                        }
                        Err(e) => panic!("{e}"),
                    }
                };
                drop((stream, accepted));
            }
            1 => drop(UdpSocket::bind(util::any_local_address()).unwrap()),
            2 => drop(UnixStream::pair().unwrap()),
            3 => drop(UnixDatagram::pair().unwrap()),
            _ => drop(nbio::unix::pipe::new().unwrap()),
        }
    }
    drop(listener);
    assert_eq!(open_fds(), before);
}
