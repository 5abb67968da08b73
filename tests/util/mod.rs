//! Helpers shared by the integration tests: waiting for events with a
//! deadline, connected socket pairs, temporary socket paths and fd flag
//! checks.
#![allow(dead_code, unreachable_pub)]

use nbio::event::Event;
use nbio::{Events, Poll, Token};
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Upper bound for any wait in the tests: generous, because CI machines
/// are slow, but finite so a bug fails the test instead of hanging it.
/// Miri interprets the tests a thousand times slower, so it gets more.
pub const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 60 } else { 10 });

/// `127.0.0.1:0`.
pub fn any_local_address() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// `[::1]:0`.
pub fn any_local_ipv6_address() -> SocketAddr {
    "[::1]:0".parse().unwrap()
}

/// What an expected event must show; unset flags are not checked.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub token: Token,
    pub readable: bool,
    pub writable: bool,
    pub read_closed: bool,
    pub write_closed: bool,
    pub error: bool,
    pub priority: bool,
}

impl Expect {
    pub fn readable(token: Token) -> Expect {
        Expect::new(token).and_readable()
    }
    pub fn writable(token: Token) -> Expect {
        Expect::new(token).and_writable()
    }
    pub fn new(token: Token) -> Expect {
        Expect {
            token,
            readable: false,
            writable: false,
            read_closed: false,
            write_closed: false,
            error: false,
            priority: false,
        }
    }
    pub fn and_readable(mut self) -> Self {
        self.readable = true;
        self
    }
    pub fn and_writable(mut self) -> Self {
        self.writable = true;
        self
    }
    pub fn and_read_closed(mut self) -> Self {
        self.read_closed = true;
        self
    }
    pub fn and_write_closed(mut self) -> Self {
        self.write_closed = true;
        self
    }
    pub fn and_error(mut self) -> Self {
        self.error = true;
        self
    }
    pub fn and_priority(mut self) -> Self {
        self.priority = true;
        self
    }

    fn matches(&self, event: &Event) -> bool {
        event.token() == self.token
            && (!self.readable || event.is_readable())
            && (!self.writable || event.is_writable())
            && (!self.read_closed || event.is_read_closed())
            && (!self.write_closed || event.is_write_closed())
            && (!self.error || event.is_error())
            && (!self.priority || event.is_priority())
    }
}

/// Polls until every expectation was matched by some event, or panics
/// after [`DEADLINE`] listing what was seen.
pub fn expect_events(poll: &mut Poll, events: &mut Events, expected: &[Expect]) {
    let mut pending: Vec<Expect> = expected.to_vec();
    let mut seen = Vec::new();
    let end = Instant::now() + DEADLINE;
    while !pending.is_empty() {
        let now = Instant::now();
        assert!(now < end, "timed out waiting for {pending:?}; saw {seen:?}");
        match poll.poll(events, Some(end - now)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("poll failed: {e}"),
        }
        for event in events.iter() {
            seen.push(format!("{event:?}"));
            pending.retain(|exp| !exp.matches(event));
        }
    }
}

/// Polls once with a short timeout and asserts that no event carries
/// `token`. Use only after the condition that would produce an event has
/// already happened (so the absence is meaningful).
pub fn expect_no_event_for(poll: &mut Poll, events: &mut Events, token: Token) {
    poll.poll(events, Some(Duration::from_millis(100)))
        .expect("poll failed");
    for event in events.iter() {
        assert_ne!(event.token(), token, "unexpected event: {event:?}");
    }
}

/// Polls once with a short timeout and asserts that nothing was returned.
pub fn expect_no_events(poll: &mut Poll, events: &mut Events) {
    poll.poll(events, Some(Duration::from_millis(100)))
        .expect("poll failed");
    assert!(events.is_empty(), "unexpected events: {events:?}");
}

/// A fresh path for a Unix socket, unique within the test run.
pub fn temp_path(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("nbio-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{n}.sock"));
    let _ = std::fs::remove_file(&path);
    path
}

/// Socket constants and calls of the platform's C API, for the few tests
/// that talk to the socket layer directly: `libc` on Unix, Winsock on
/// Windows (same names for the constants both share, e.g. `SOL_SOCKET`).
#[cfg(unix)]
#[allow(unused_imports)] // used by some of the test crates only
pub use libc as sock;
#[cfg(windows)]
#[allow(unused_imports)] // used by some of the test crates only
pub use windows_sys::Win32::Networking::WinSock as sock;

/// Asserts the fd has `O_NONBLOCK` set. Unix only: Windows has no way to
/// read back a socket's non-blocking mode (`FIONBIO` can only set it).
#[cfg(unix)]
pub fn assert_nonblocking<F: AsRawFd>(fd: &F) {
    // SAFETY: F_GETFL on a live fd only reads its status flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert!(flags != -1, "fcntl failed: {}", io::Error::last_os_error());
    assert!(flags & libc::O_NONBLOCK != 0, "fd is blocking");
}

/// Asserts the fd has `FD_CLOEXEC` set (a Unix fd flag).
#[cfg(unix)]
pub fn assert_cloexec<F: AsRawFd>(fd: &F) {
    // SAFETY: F_GETFD on a live fd only reads its descriptor flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    assert!(flags != -1, "fcntl failed: {}", io::Error::last_os_error());
    assert!(flags & libc::FD_CLOEXEC != 0, "fd is not close-on-exec");
}

/// The stream type [`stream_pair`] returns: a Unix-domain socket on Unix,
/// a loopback TCP socket on Windows (which has no `socketpair`).
#[cfg(all(unix, feature = "net"))]
pub type PairStream = nbio::net::UnixStream;
/// The stream type [`stream_pair`] returns: a Unix-domain socket on Unix,
/// a loopback TCP socket on Windows (which has no `socketpair`).
#[cfg(all(windows, feature = "net"))]
pub type PairStream = nbio::net::TcpStream;

/// Two connected, non-blocking stream sockets, for tests that only need
/// "a pair of connected streams": `UnixStream::pair()` on Unix, a loopback
/// TCP connection ([`tcp_pair`]) on Windows.
#[cfg(feature = "net")]
pub fn stream_pair() -> (PairStream, PairStream) {
    #[cfg(unix)]
    {
        nbio::net::UnixStream::pair().unwrap()
    }
    #[cfg(windows)]
    {
        tcp_pair()
    }
}

/// The datagram type [`datagram_pair`] returns: a Unix-domain datagram
/// socket on Unix, a loopback UDP socket on Windows.
#[cfg(all(unix, feature = "net"))]
pub type PairDatagram = nbio::net::UnixDatagram;
/// The datagram type [`datagram_pair`] returns: a Unix-domain datagram
/// socket on Unix, a loopback UDP socket on Windows.
#[cfg(all(windows, feature = "net"))]
pub type PairDatagram = nbio::net::UdpSocket;

/// Two connected, non-blocking datagram sockets: `UnixDatagram::pair()` on
/// Unix, two loopback UDP sockets connected to each other on Windows.
#[cfg(feature = "net")]
pub fn datagram_pair() -> (PairDatagram, PairDatagram) {
    #[cfg(unix)]
    {
        nbio::net::UnixDatagram::pair().unwrap()
    }
    #[cfg(windows)]
    {
        let a = nbio::net::UdpSocket::bind(any_local_address()).unwrap();
        let b = nbio::net::UdpSocket::bind(any_local_address()).unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        (a, b)
    }
}

/// Two ends of one loopback TCP connection (127.0.0.1), both std streams
/// in non-blocking mode. The connection is fully established on return.
pub fn std_tcp_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind(any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    // Blocking connect and accept: the handshake completes in the kernel,
    // so neither call waits on the other.
    let a = std::net::TcpStream::connect(addr).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Two ends of one loopback TCP connection as nbio streams (see
/// [`std_tcp_pair`]).
#[cfg(feature = "net")]
pub fn tcp_pair() -> (nbio::net::TcpStream, nbio::net::TcpStream) {
    let (a, b) = std_tcp_pair();
    (
        nbio::net::TcpStream::from_std(a),
        nbio::net::TcpStream::from_std(b),
    )
}

/// Asserts the socket handle is not inheritable by child processes, the
/// Windows counterpart of `FD_CLOEXEC` (`WSA_FLAG_NO_HANDLE_INHERIT`).
#[cfg(windows)]
pub fn assert_cloexec<S: std::os::windows::io::AsRawSocket>(socket: &S) {
    use windows_sys::Win32::Foundation::{GetHandleInformation, HANDLE_FLAG_INHERIT};
    let mut flags = 0u32;
    // SAFETY: the socket is live for the call; `flags` is a valid out
    // pointer for a `u32`.
    let ok = unsafe { GetHandleInformation(socket.as_raw_socket() as _, &mut flags) };
    assert!(
        ok != 0,
        "GetHandleInformation failed: {}",
        io::Error::last_os_error()
    );
    assert!(
        flags & HANDLE_FLAG_INHERIT == 0,
        "socket handle is inheritable"
    );
}

/// Compile-time check that a type is `Send + Sync`.
pub fn assert_send_sync<T: Send + Sync>() {}

/// Reads from `r` until `WouldBlock`, returning everything read.
pub fn drain<R: io::Read>(mut r: R) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A handle on the calling thread that [`wait_until_blocked`] can probe.
#[derive(Debug, Clone, Copy)]
pub struct ThreadProbe {
    // The kernel thread id, to find the thread under `/proc/self/task`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    tid: libc::pid_t,
}

/// A probe for the calling thread, for [`wait_until_blocked`].
pub fn current_tid() -> ThreadProbe {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: `gettid` has no preconditions and cannot fail.
        let tid = unsafe { libc::gettid() };
        ThreadProbe { tid }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    ThreadProbe {}
}

/// Waits until the probed thread of this process is asleep in the kernel
/// (state `S` in `/proc/self/task/<tid>/stat`), i.e. blocked in a system
/// call such as `epoll_wait`. Use it to act on another thread's blocked
/// `poll` without guessing with a sleep. Panics after [`DEADLINE`].
/// Not under Miri, whose threads are not the host's (see below).
#[cfg(all(any(target_os = "linux", target_os = "android"), not(miri)))]
pub fn wait_until_blocked(probe: ThreadProbe) {
    let tid = probe.tid;
    let path = format!("/proc/self/task/{tid}/stat");
    let end = Instant::now() + DEADLINE;
    loop {
        let stat = std::fs::read_to_string(&path).expect("cannot read thread state");
        // The state follows the parenthesised command name.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.trim_start().chars().next());
        if state == Some('S') {
            return;
        }
        assert!(
            Instant::now() < end,
            "thread {tid} never blocked (state {state:?})"
        );
        std::thread::yield_now();
    }
}

/// Without `/proc` there is no portable way to see that another thread is
/// asleep in a system call, so this only gives the probed thread a bounded
/// head start (yielding for a short while) to reach its blocking `poll`.
/// Callers must be correct whichever thread wins the race: acting before
/// the other thread blocks only makes the test less sharp (its `poll`
/// returns at once with the event), never wrong or unbounded. Miri uses this
/// too: its interpreted threads never show in the host's `/proc`.
#[cfg(any(not(any(target_os = "linux", target_os = "android")), miri))]
pub fn wait_until_blocked(_probe: ThreadProbe) {
    let end = Instant::now() + std::time::Duration::from_millis(50);
    while Instant::now() < end {
        std::thread::yield_now();
    }
}

/// How a write to a stream whose peer is gone ended, in a child process
/// where `SIGPIPE` has its default action (terminate) rather than the
/// Rust runtime's "ignore".
#[cfg(unix)]
#[derive(Debug, PartialEq, Eq)]
pub enum WriteToGonePeer {
    /// The write returned `BrokenPipe` and the child went on.
    BrokenPipe,
    /// The write returned something else.
    OtherResult,
    /// The write raised `SIGPIPE`, which killed the child.
    KilledBySigpipe,
    /// The child ended some other way (wait status).
    Other(libc::c_int),
}

/// Runs `write` (a write to a stream whose peer has gone) in a forked child
/// with `SIGPIPE` reset to its default action, and reports how it ended:
/// a library that forgets `MSG_NOSIGNAL` kills the child. Waits at most
/// [`DEADLINE`] for the child (then kills it and panics). Tests calling it
/// are ignored under Miri, which cannot fork.
#[cfg(unix)]
pub fn write_to_gone_peer_in_child(write: impl FnOnce() -> io::Result<usize>) -> WriteToGonePeer {
    // SAFETY: the child only makes system calls (signal, the write, _exit):
    // nothing that takes a lock another thread of this process could have
    // held at the fork, and no allocation (the error is an OS error code).
    let pid = unsafe { libc::fork() };
    assert!(pid != -1, "fork failed: {}", io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: resetting a signal's disposition has no preconditions.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let code = match write() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
            _ => 1,
        };
        // SAFETY: ends the child at once, running nothing of the parent's
        // (no destructors, no atexit handlers).
        unsafe { libc::_exit(code) };
    }
    let end = Instant::now() + DEADLINE;
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our child; `status` is a valid int to fill.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(done != -1, "waitpid failed: {}", io::Error::last_os_error());
        if done == pid {
            break;
        }
        if Instant::now() > end {
            // SAFETY: `pid` is our child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above; reaps it.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            panic!("the writing child did not finish within {DEADLINE:?}");
        }
        std::thread::yield_now();
    }
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => WriteToGonePeer::BrokenPipe,
            _ => WriteToGonePeer::OtherResult,
        }
    } else if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGPIPE {
        WriteToGonePeer::KilledBySigpipe
    } else {
        WriteToGonePeer::Other(status)
    }
}

/// Sets the calling thread's timer slack (prctl(2) `PR_SET_TIMERSLACK`):
/// how late the kernel may end its timed waits. Non-zero: zero would mean
/// "back to the default".
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn set_timer_slack(slack: Duration) {
    let ns = libc::c_ulong::try_from(slack.as_nanos()).unwrap();
    assert!(ns > 0, "a slack of zero restores the default instead");
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument only.
    let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns, 0, 0, 0) };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
}

/// The open fds of the kinds nbio creates on Linux and Android (sockets,
/// pipes, and anonymous inodes: epoll and eventfd), by number, each with
/// what `/proc/self/fd` says it refers to (`socket:[…]`, `pipe:[…]`,
/// `anon_inode:[eventpoll]`, …).
///
/// Leak tests count these rather than every entry, because other threads
/// of a test binary open files of their own at moments no lock covers:
/// glibc opens `/proc/sys/vm/overcommit_memory` the first time a thread's
/// malloc arena shrinks, which can be a finished test's thread exiting
/// while the next test counts (CI saw exactly that); libtest reads cgroup
/// files; and listing the directory takes a handle of its own. An entry
/// closed while the directory is being read is skipped: it was not an fd
/// the counting test holds.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn io_fds() -> std::collections::BTreeMap<i32, String> {
    const KINDS: [&str; 3] = ["socket:", "pipe:", "anon_inode:"];
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            let target = target.to_str()?;
            KINDS
                .iter()
                .any(|kind| target.starts_with(kind))
                .then(|| (fd, target.to_owned()))
        })
        .collect()
}
