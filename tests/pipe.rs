//! `unix::pipe`: creation flags, readiness, hang-ups, vectored I/O,
//! `try_io`, blocking mode, child process stdio and fd conversions.
//!
//! Unix only: `nbio::unix::pipe` exists on Unix only (as in mio).
#![cfg(all(unix, feature = "os-ext"))]

mod util;

use nbio::unix::pipe::{self, Receiver, Sender};
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Instant;
use util::{expect_events, expect_no_event_for, Expect, DEADLINE};

const SENDER: Token = Token(0);
const RECEIVER: Token = Token(1);

fn is_nonblocking<F: AsRawFd>(fd: &F) -> bool {
    // SAFETY: F_GETFL on a live fd only reads its status flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_ne!(flags, -1);
    flags & libc::O_NONBLOCK != 0
}

/// Reads from `receiver`, waiting for events, until at least `len` bytes
/// arrived or EOF. Always reads until `WouldBlock` (or EOF) before
/// returning, as the readiness contract requires.
fn read_with_events(
    poll: &mut Poll,
    events: &mut Events,
    receiver: &mut Receiver,
    token: Token,
    len: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    let end = Instant::now() + DEADLINE;
    let mut buf = [0u8; 256];
    loop {
        match receiver.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if out.len() >= len {
                    return out;
                }
                assert!(Instant::now() < end, "timed out, got {out:?}");
                expect_events(poll, events, &[Expect::readable(token)]);
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

#[test]
fn new_ends_are_nonblocking_and_cloexec() {
    let (sender, receiver) = pipe::new().unwrap();
    util::assert_nonblocking(&sender);
    util::assert_nonblocking(&receiver);
    util::assert_cloexec(&sender);
    util::assert_cloexec(&receiver);
    // Sender is the write end.
    // SAFETY: F_GETFL on live fds.
    let (wf, rf) = unsafe {
        (
            libc::fcntl(sender.as_raw_fd(), libc::F_GETFL),
            libc::fcntl(receiver.as_raw_fd(), libc::F_GETFL),
        )
    };
    assert_eq!(wf & libc::O_ACCMODE, libc::O_WRONLY);
    assert_eq!(rf & libc::O_ACCMODE, libc::O_RDONLY);
}

#[test]
fn receiver_readable_after_write_and_sender_writable() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut sender, mut receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut sender, SENDER, Interest::WRITABLE)
        .unwrap();
    poll.registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SENDER)]);
    // Empty pipe: nothing to read.
    let mut buf = [0u8; 16];
    assert_eq!(
        receiver.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    sender.write_all(b"hello").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(RECEIVER)]);
    assert_eq!(receiver.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
}

#[test]
fn full_pipe_blocks_then_sender_gets_writable_again() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut sender, mut receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut sender, SENDER, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SENDER)]);
    let chunk = [7u8; 4096];
    let mut written = 0;
    loop {
        match sender.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(written > 0);
    let data = util::drain(&mut receiver).unwrap();
    assert_eq!(data.len(), written);
    expect_events(&mut poll, &mut events, &[Expect::writable(SENDER)]);
}

#[test]
fn dropping_sender_gives_one_read_closed_event() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (sender, mut receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap();
    expect_no_event_for(&mut poll, &mut events, RECEIVER);
    drop(sender);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(RECEIVER).and_read_closed()],
    );
    let count = events.iter().filter(|e| e.token() == RECEIVER).count();
    assert_eq!(count, 1);
    // Exactly one: nothing more afterwards.
    expect_no_event_for(&mut poll, &mut events, RECEIVER);
    // EOF.
    let mut buf = [0u8; 4];
    assert_eq!(receiver.read(&mut buf).unwrap(), 0);
}

// The hang-up must be reported although the writable readiness was never
// consumed up to `WouldBlock` (poll(2) keeps disarmed entries polled for
// errors and hang-ups, as epoll always reports them).
#[test]
fn dropping_receiver_gives_write_closed_and_broken_pipe() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut sender, receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut sender, SENDER, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SENDER)]);
    drop(receiver);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(SENDER).and_write_closed()],
    );
    let count = events.iter().filter(|e| e.token() == SENDER).count();
    assert_eq!(count, 1);
    expect_no_event_for(&mut poll, &mut events, SENDER);
    // SIGPIPE is ignored by the Rust runtime, so this is an error.
    let err = sender.write(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

// On kqueue the hang-up is an `EVFILT_WRITE` event with `EV_EOF` (so it
// reads as writable, and without an error code it is not an error).
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
#[cfg_attr(
    miri,
    ignore = "Miri reports a pipe's closed reader as EPOLLOUT|EPOLLERR|EPOLLHUP, Linux as a bare EPOLLERR"
)]
fn dropping_receiver_of_full_pipe_gives_write_closed() {
    // With the buffer full there is no EPOLLOUT, so the hang-up arrives as
    // a bare EPOLLERR, which must still read as write-closed.
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut sender, receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut sender, SENDER, Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SENDER)]);
    let chunk = [1u8; 4096];
    loop {
        match sender.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    drop(receiver);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(SENDER).and_write_closed().and_error()],
    );
    let event = events.iter().find(|e| e.token() == SENDER).unwrap();
    assert!(!event.is_writable(), "{event:?}");
    assert_eq!(
        sender.write(b"x").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[test]
fn vectored_io() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut sender, mut receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap();
    let bufs = [
        IoSlice::new(b"abc"),
        IoSlice::new(b""),
        IoSlice::new(b"defg"),
    ];
    assert_eq!(sender.write_vectored(&bufs).unwrap(), 7);
    expect_events(&mut poll, &mut events, &[Expect::readable(RECEIVER)]);
    let mut a = [0u8; 2];
    let mut b = [0u8; 10];
    let n = {
        let mut slices = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
        receiver.read_vectored(&mut slices).unwrap()
    };
    assert_eq!(n, 7);
    assert_eq!(&a, b"ab");
    assert_eq!(&b[..5], b"cdefg");
    assert!(util::drain(&receiver).unwrap().is_empty());
    // The `&Sender` / `&Receiver` impls work too.
    (&sender).write_all(b"zz").unwrap();
    (&sender).flush().unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(RECEIVER)]);
    let mut c = [0u8; 4];
    assert_eq!((&receiver).read(&mut c).unwrap(), 2);
}

#[test]
fn try_io_runs_caller_syscalls() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (sender, mut receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap();
    let n = sender
        .try_io(|| {
            // SAFETY: writing 4 bytes from a valid buffer to our pipe.
            let n = unsafe {
                libc::write(
                    sender.as_raw_fd(),
                    b"ping".as_ptr() as *const libc::c_void,
                    4,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
        .unwrap();
    assert_eq!(n, 4);
    expect_events(&mut poll, &mut events, &[Expect::readable(RECEIVER)]);
    let raw_read = |buf: &mut [u8]| {
        // SAFETY: reading into a valid, writable buffer of the given length.
        let n = unsafe {
            libc::read(
                receiver.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    };
    let mut buf = [0u8; 8];
    assert_eq!(receiver.try_io(|| raw_read(&mut buf)).unwrap(), 4);
    assert_eq!(&buf[..4], b"ping");
    // WouldBlock passes through unchanged.
    let err = receiver.try_io(|| raw_read(&mut buf)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    // The closure's value and custom errors are returned as-is.
    assert_eq!(sender.try_io(|| Ok(17)).unwrap(), 17);
    let err = receiver
        .try_io(|| -> io::Result<()> { Err(io::Error::from_raw_os_error(libc::EIO)) })
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not support ioctl(FIONBIO) on pipes")]
fn set_nonblocking_toggles_o_nonblock() {
    let (sender, receiver) = pipe::new().unwrap();
    sender.set_nonblocking(false).unwrap();
    receiver.set_nonblocking(false).unwrap();
    assert!(!is_nonblocking(&sender));
    assert!(!is_nonblocking(&receiver));
    sender.set_nonblocking(true).unwrap();
    receiver.set_nonblocking(true).unwrap();
    assert!(is_nonblocking(&sender));
    assert!(is_nonblocking(&receiver));
    // Close-on-exec is untouched.
    util::assert_cloexec(&sender);
    util::assert_cloexec(&receiver);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn child_stdin_and_stdout() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sender = Sender::from(child.stdin.take().unwrap());
    let mut receiver = Receiver::from(child.stdout.take().unwrap());
    // The conversions keep the fds blocking, as mio does.
    assert!(!is_nonblocking(&sender));
    assert!(!is_nonblocking(&receiver));
    sender.set_nonblocking(true).unwrap();
    receiver.set_nonblocking(true).unwrap();
    poll.registry()
        .register(&mut sender, SENDER, Interest::WRITABLE)
        .unwrap();
    poll.registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(SENDER)]);
    sender.write_all(b"hello cat\n").unwrap();
    let got = read_with_events(&mut poll, &mut events, &mut receiver, RECEIVER, 10);
    assert_eq!(got, b"hello cat\n");
    // Closing stdin ends `cat`, which closes its stdout.
    drop(sender);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(RECEIVER).and_read_closed()],
    );
    let rest = read_with_events(&mut poll, &mut events, &mut receiver, RECEIVER, usize::MAX);
    assert!(rest.is_empty());
    assert!(child.wait().unwrap().success());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn child_stdout_and_stderr() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut child = Command::new("sh")
        .args(["-c", "echo hi; echo err >&2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = Receiver::from(child.stdout.take().unwrap());
    let mut err = Receiver::from(child.stderr.take().unwrap());
    assert!(!is_nonblocking(&err));
    out.set_nonblocking(true).unwrap();
    err.set_nonblocking(true).unwrap();
    poll.registry()
        .register(&mut out, Token(1), Interest::READABLE)
        .unwrap();
    poll.registry()
        .register(&mut err, Token(2), Interest::READABLE)
        .unwrap();
    // Read both until EOF. Readiness of either end may show up while
    // waiting for the other, so every wake-up retries both.
    let mut got_out = Vec::new();
    let mut got_err = Vec::new();
    let (mut out_done, mut err_done) = (false, false);
    let end = Instant::now() + DEADLINE;
    while !(out_done && err_done) {
        for (r, got, done) in [
            (&mut out, &mut got_out, &mut out_done),
            (&mut err, &mut got_err, &mut err_done),
        ] {
            let mut buf = [0u8; 64];
            while !*done {
                match r.read(&mut buf) {
                    Ok(0) => *done = true,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
        if !(out_done && err_done) {
            assert!(Instant::now() < end, "timed out: {got_out:?} {got_err:?}");
            poll.poll(&mut events, Some(DEADLINE)).unwrap();
        }
    }
    assert_eq!(got_out, b"hi\n");
    assert_eq!(got_err, b"err\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn raw_fd_conversions() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (sender, receiver) = pipe::new().unwrap();
    assert_eq!(sender.as_fd().as_raw_fd(), sender.as_raw_fd());
    assert_eq!(receiver.as_fd().as_raw_fd(), receiver.as_raw_fd());

    // IntoRawFd + FromRawFd keep the same fd and a working pipe.
    let sfd = sender.into_raw_fd();
    let rfd = receiver.into_raw_fd();
    // SAFETY: both fds were just released by their owners and are open.
    let (sender, receiver) = unsafe { (Sender::from_raw_fd(sfd), Receiver::from_raw_fd(rfd)) };
    assert_eq!(sender.as_raw_fd(), sfd);
    assert_eq!(receiver.as_raw_fd(), rfd);

    // Into and from OwnedFd.
    let sfd: OwnedFd = sender.into();
    let rfd: OwnedFd = OwnedFd::from(receiver);
    assert_eq!(sfd.as_raw_fd(), sfd.as_fd().as_raw_fd());
    let mut sender = Sender::from(sfd);
    let mut receiver = Receiver::from(rfd);

    poll.registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap();
    sender.write_all(b"round trip").unwrap();
    let got = read_with_events(&mut poll, &mut events, &mut receiver, RECEIVER, 10);
    assert_eq!(got, b"round trip");
    // The OwnedFd round trip closes exactly once: dropping the sender is a
    // hang-up seen by the receiver.
    drop(sender);
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(RECEIVER).and_read_closed()],
    );
}

#[test]
fn pipe_registration_tracking() {
    let poll = Poll::new().unwrap();
    let (mut sender, mut receiver) = pipe::new().unwrap();
    poll.registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap();
    let err = poll
        .registry()
        .register(&mut receiver, RECEIVER, Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    let err = poll
        .registry()
        .reregister(&mut sender, SENDER, Interest::WRITABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = poll.registry().deregister(&mut sender).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    poll.registry().deregister(&mut receiver).unwrap();
}

#[test]
fn debug_is_implemented() {
    let (sender, receiver) = pipe::new().unwrap();
    assert!(format!("{sender:?}").starts_with("Sender"));
    assert!(format!("{receiver:?}").starts_with("Receiver"));
}
