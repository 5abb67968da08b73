//! `unix::SourceFd`: registering raw file descriptors, and the raw epoll
//! errors it surfaces (no association tracking).
//!
//! Platform notes: kqueue, like epoll, keeps no per-fd state in user space
//! but is lenient (a second `register` updates, `reregister` of an unknown
//! fd adds, `deregister` of one is `Ok`), so the error checks below skip it;
//! the raw errno values are epoll's own.
//!
//! Unix only: `SourceFd` registers Unix file descriptors (as in mio).
#![cfg(all(unix, feature = "os-ext"))]

mod util;

use nbio::unix::SourceFd;
use nbio::{Events, Interest, Poll, Token};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use util::{expect_events, expect_no_event_for, Expect};

/// Tests that reason about fd numbers (closed fds) must not race with fd
/// creation in the other tests of this binary, so every test holds this.
static FD_LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    FD_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn udp() -> std::net::UdpSocket {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    s
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn register_raw_socket_and_receive_events() {
    let _g = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let sock = udp();
    let fd = sock.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap();
    let sender = udp();
    sender.send_to(b"hi", sock.local_addr().unwrap()).unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(1))]);
    let mut buf = [0; 8];
    assert_eq!(sock.recv(&mut buf).unwrap(), 2);

    poll.registry()
        .reregister(&mut SourceFd(&fd), Token(2), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(2))]);

    poll.registry().deregister(&mut SourceFd(&fd)).unwrap();
    sender.send_to(b"hi", sock.local_addr().unwrap()).unwrap();
    expect_no_event_for(&mut poll, &mut events, Token(2));
    expect_no_event_for(&mut poll, &mut events, Token(1));
}

/// A non-blocking, close-on-exec pipe as two raw fds (`pipe2` is missing
/// on Apple platforms, so the flags are set with `fcntl`).
fn raw_pipe() -> [RawFd; 2] {
    let mut fds = [-1; 2];
    // SAFETY: `fds` is a valid two-int array for the kernel to fill.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "pipe: {}", io::Error::last_os_error());
    for fd in fds {
        // SAFETY: `fd` was just created by `pipe` and is ours; F_SETFL and
        // F_SETFD only change its flags.
        let rc = unsafe {
            libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK)
                | libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC)
        };
        assert_eq!(rc, 0, "fcntl: {}", io::Error::last_os_error());
    }
    fds
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not support fcntl(F_SETFD)")]
fn register_raw_pipe() {
    let _g = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let fds = raw_pipe();
    poll.registry()
        .register(&mut SourceFd(&fds[0]), Token(1), Interest::READABLE)
        .unwrap();
    poll.registry()
        .register(&mut SourceFd(&fds[1]), Token(2), Interest::WRITABLE)
        .unwrap();
    // SAFETY: writing one byte from a valid buffer to our own pipe.
    let n = unsafe { libc::write(fds[1], b"x".as_ptr() as *const libc::c_void, 1) };
    assert_eq!(n, 1);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::readable(Token(1)), Expect::writable(Token(2))],
    );
    for fd in fds {
        // SAFETY: both fds are ours and closed exactly once.
        unsafe { libc::close(fd) };
    }
}

// kqueue accepts the second registration (it updates the first).
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
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn double_register_is_raw_eexist() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    let sock = udp();
    let fd = sock.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap();
    let err = poll
        .registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    // No tracking, in any build: the kernel's error as-is.
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn same_fd_in_two_polls_is_allowed() {
    let _g = lock();
    let mut poll1 = Poll::new().unwrap();
    let mut poll2 = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let sock = udp();
    let fd = sock.as_raw_fd();
    poll1
        .registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::WRITABLE)
        .unwrap();
    poll2
        .registry()
        .register(&mut SourceFd(&fd), Token(2), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll1, &mut events, &[Expect::writable(Token(1))]);
    expect_events(&mut poll2, &mut events, &[Expect::writable(Token(2))]);
}

// kqueue adds on `reregister` and ignores ENOENT on `deregister`.
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
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn reregister_and_deregister_unknown_fd_is_raw_enoent() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    let sock = udp();
    let fd = sock.as_raw_fd();
    let err = poll
        .registry()
        .reregister(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let err = poll.registry().deregister(&mut SourceFd(&fd)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

// epoll-specific: poll(2), kqueue and event ports accept regular files.
#[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
#[test]
#[cfg_attr(
    miri,
    ignore = "Miri's epoll rejects regular files as unsupported, not with EPERM"
)]
fn regular_file_is_eperm() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    let path = util::temp_path("regular-file");
    let file = std::fs::File::create(&path).unwrap();
    let fd = file.as_raw_fd();
    let err = poll
        .registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    drop(file);
    std::fs::remove_file(path).unwrap();
}

#[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
fn expect_ebadf(poll: &Poll, fd: RawFd) {
    let err = poll
        .registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF), "fd {fd}");
    let err = poll
        .registry()
        .reregister(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF), "fd {fd}");
    let err = poll.registry().deregister(&mut SourceFd(&fd)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF), "fd {fd}");
}

// epoll validates fds on every registration call; the other selectors
// check them at `register` only (below).
#[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn invalid_fd_is_ebadf() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    expect_ebadf(&poll, -1);
    // A closed fd. The lock keeps other tests here from reusing the number;
    // it was just closed so nothing else holds it.
    let fd = udp().as_raw_fd();
    expect_ebadf(&poll, fd);
}

#[test]
fn debug_text() {
    let fd: RawFd = 5;
    assert_eq!(format!("{:?}", SourceFd(&fd)), "SourceFd(5)");
    let fd: RawFd = 123;
    assert_eq!(format!("{:?}", SourceFd(&fd)), "SourceFd(123)");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn source_fd_as_dyn_source() {
    let _g = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let sock = udp();
    let fd = sock.as_raw_fd();
    let mut source = SourceFd(&fd);
    let dyn_source: &mut dyn nbio::event::Source = &mut source;
    poll.registry()
        .register(dyn_source, Token(usize::MAX), Interest::WRITABLE)
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::writable(Token(usize::MAX))],
    );
}

// poll(2) checks the fd when it is registered, so the mistake is reported
// where it was made (epoll's behaviour), not as a POLLNVAL later; kqueue
// (kevent's EBADF) and event ports (EBADFD, reported as EBADF) do too.
#[cfg(any(nbio_force_poll, not(any(target_os = "linux", target_os = "android"))))]
#[test]
fn invalid_fd_is_ebadf_at_register() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    for fd in [-1, {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.as_raw_fd()
        // `a` is closed here; the lock keeps the number from being reused.
    }] {
        let err = poll
            .registry()
            .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "fd {fd}");
    }
}
