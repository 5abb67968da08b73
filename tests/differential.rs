//! Differential tests: every scenario in `differential/scenarios.rs` is
//! written once against the mio API and compiled twice, once with `lib`
//! bound to mio and once with `lib` bound to nbio. Each scenario returns
//! an observation log (a `Vec<String>` of deterministic, comparable facts:
//! event flags, byte counts, error kinds, Debug strings...), and the test
//! asserts that both libraries produce the same log.
//!
//! Observations are chosen to be independent of timing: a scenario waits
//! (with a deadline) until the condition it is interested in is reached,
//! then records what it saw; port numbers, fd numbers and other ephemeral
//! values are never recorded directly, only compared in-process (for
//! example "peer address equals the listener's address: true").
#![allow(unreachable_pub)]

use std::io;
#[cfg(unix)]
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd as Owned, RawFd as Raw};
#[cfg(windows)]
use std::os::windows::io::{
    AsRawSocket, FromRawSocket, IntoRawSocket, OwnedSocket as Owned, RawSocket as Raw,
};
#[cfg(unix)]
use std::path::PathBuf;
#[cfg(unix)]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Upper bound for every wait in a scenario.
const DEADLINE: Duration = Duration::from_secs(10);

/// How long a scenario polls to observe that *no* event arrives, after the
/// condition that would have caused one already happened.
const QUIET: Duration = Duration::from_millis(100);

/// Appends one formatted observation to a log.
macro_rules! rec {
    ($log:expr, $($arg:tt)*) => {
        $log.push(format!($($arg)*))
    };
}

/// The raw OS handle of a socket under one name: its fd on Unix, its
/// `SOCKET` on Windows (so the portable scenarios are written once).
trait AsRaw {
    fn as_raw(&self) -> Raw;
}

#[cfg(unix)]
impl<T: AsRawFd> AsRaw for T {
    fn as_raw(&self) -> Raw {
        self.as_raw_fd()
    }
}

#[cfg(windows)]
impl<T: AsRawSocket> AsRaw for T {
    fn as_raw(&self) -> Raw {
        self.as_raw_socket()
    }
}

/// `into_raw_fd` / `into_raw_socket` under one name.
trait IntoRaw {
    fn into_raw(self) -> Raw;
}

#[cfg(unix)]
impl<T: IntoRawFd> IntoRaw for T {
    fn into_raw(self) -> Raw {
        self.into_raw_fd()
    }
}

#[cfg(windows)]
impl<T: IntoRawSocket> IntoRaw for T {
    fn into_raw(self) -> Raw {
        self.into_raw_socket()
    }
}

/// `from_raw_fd` / `from_raw_socket` under one name.
trait FromRaw: Sized {
    /// # Safety
    ///
    /// As `from_raw_fd` / `from_raw_socket`: `raw` is an open socket of
    /// the right kind, owned by nobody else.
    unsafe fn from_raw(raw: Raw) -> Self;
}

#[cfg(unix)]
impl<T: FromRawFd> FromRaw for T {
    unsafe fn from_raw(raw: Raw) -> Self {
        // SAFETY: the caller upholds `from_raw_fd`'s contract.
        unsafe { T::from_raw_fd(raw) }
    }
}

#[cfg(windows)]
impl<T: FromRawSocket> FromRaw for T {
    unsafe fn from_raw(raw: Raw) -> Self {
        // SAFETY: the caller upholds `from_raw_socket`'s contract.
        unsafe { T::from_raw_socket(raw) }
    }
}

/// Two ends of one loopback TCP connection as non-blocking std streams
/// (the stream pair of the scenarios on Windows, which has no
/// `socketpair`).
#[cfg(windows)]
fn std_tcp_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// A fresh path for a Unix socket, unique within this test process (both
/// library runs of a scenario get different paths, which are never
/// recorded).
#[cfg(unix)]
fn fresh_path(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("nbio-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{n}.sock"));
    let _ = std::fs::remove_file(&path);
    path
}

/// A fresh abstract socket name, unique within this test process.
/// (Abstract addresses exist on Linux and Android only.)
#[cfg(any(target_os = "linux", target_os = "android"))]
fn fresh_abstract_name(name: &str) -> Vec<u8> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("nbio-diff-{}-{name}-{n}", std::process::id()).into_bytes()
}

/// Whether `fd` has `O_NONBLOCK` set.
#[cfg(unix)]
fn is_nonblocking(fd: Raw) -> bool {
    // SAFETY: F_GETFL only reads the status flags of the descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert!(flags != -1, "fcntl failed: {}", io::Error::last_os_error());
    flags & libc::O_NONBLOCK != 0
}

/// Whether `fd` has `FD_CLOEXEC` set.
#[cfg(unix)]
fn is_cloexec(fd: Raw) -> bool {
    // SAFETY: F_GETFD only reads the descriptor flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    assert!(flags != -1, "fcntl failed: {}", io::Error::last_os_error());
    flags & libc::FD_CLOEXEC != 0
}

/// Whether the socket handle is kept from child processes, the Windows
/// counterpart of `FD_CLOEXEC`.
#[cfg(windows)]
fn is_cloexec(socket: Raw) -> bool {
    use windows_sys::Win32::Foundation::{GetHandleInformation, HANDLE_FLAG_INHERIT};
    let mut flags = 0u32;
    // SAFETY: `flags` is a valid out pointer; the handle is a live socket.
    let ok = unsafe { GetHandleInformation(socket as _, &mut flags) };
    assert!(
        ok != 0,
        "GetHandleInformation failed: {}",
        io::Error::last_os_error()
    );
    flags & HANDLE_FLAG_INHERIT == 0
}

/// The creation flags of a socket as one observation:
/// `nonblocking=.. cloexec=..` on Unix.
#[cfg(unix)]
fn fd_flags(fd: Raw) -> String {
    format!(
        "nonblocking={} cloexec={}",
        is_nonblocking(fd),
        is_cloexec(fd)
    )
}

/// The creation flags of a socket as one observation: `cloexec=..` (not
/// inheritable) on Windows, where a socket's non-blocking mode cannot be
/// read back (`FIONBIO` only sets it).
#[cfg(windows)]
fn fd_flags(socket: Raw) -> String {
    format!("cloexec={}", is_cloexec(socket))
}

/// Sets `SO_LINGER` to `{on, 0}` so that closing `fd` sends a RST.
#[cfg(unix)]
fn set_linger_zero(fd: Raw) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a valid, initialised `struct linger` and the
    // length passed matches its size.
    let res = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(res, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// Sets `SO_LINGER` to `{on, 0}` so that closing `socket` sends a RST.
#[cfg(windows)]
fn set_linger_zero(socket: Raw) {
    use windows_sys::Win32::Networking::WinSock::{setsockopt, LINGER, SOL_SOCKET, SO_LINGER};
    let linger = LINGER {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a valid, initialised `LINGER` and the length
    // passed matches its size.
    let res = unsafe {
        setsockopt(
            socket as _,
            SOL_SOCKET,
            SO_LINGER,
            (&linger as *const LINGER).cast(),
            std::mem::size_of::<LINGER>() as i32,
        )
    };
    assert_eq!(res, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// Sends `data` as out-of-band (urgent) TCP data on `fd` (for the
/// priority scenario, Linux and Android only).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_oob(fd: Raw, data: &[u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe the live `data` slice.
    let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_OOB) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `recv(2)` on a raw fd, used inside `try_io` closures.
#[cfg(unix)]
fn raw_recv(fd: Raw, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the pointer and length describe the live, writable `buf`.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `send(2)` on a raw fd, used inside `try_io` closures.
#[cfg(unix)]
fn raw_send(fd: Raw, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe the live `buf` slice.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Winsock's `recv` on a raw socket, used inside `try_io` closures.
#[cfg(windows)]
fn raw_recv(socket: Raw, buf: &mut [u8], flags: i32) -> io::Result<usize> {
    let len = i32::try_from(buf.len()).unwrap_or(i32::MAX);
    // SAFETY: the pointer and `len <= buf.len()` describe the live,
    // writable `buf`.
    let n = unsafe {
        windows_sys::Win32::Networking::WinSock::recv(socket as _, buf.as_mut_ptr(), len, flags)
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Winsock's `send` on a raw socket, used inside `try_io` closures
/// (Windows raises no `SIGPIPE`, so no flag is needed).
#[cfg(windows)]
fn raw_send(socket: Raw, buf: &[u8]) -> io::Result<usize> {
    let len = i32::try_from(buf.len()).unwrap_or(i32::MAX);
    // SAFETY: the pointer and `len <= buf.len()` describe the live `buf`.
    let n =
        unsafe { windows_sys::Win32::Networking::WinSock::send(socket as _, buf.as_ptr(), len, 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Formats a result as `Ok(<value>)` or `Err(<ErrorKind>)`.
fn kind<T: std::fmt::Debug>(res: io::Result<T>) -> String {
    match res {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({:?})", e.kind()),
    }
}

/// Formats a result as `Ok` or `Err(<ErrorKind>)`, dropping the value
/// (for values that are ephemeral, like fds or ports).
fn ok_or_kind<T>(res: &io::Result<T>) -> String {
    match res {
        Ok(_) => "Ok".to_string(),
        Err(e) => format!("Err({:?})", e.kind()),
    }
}

mod with_mio {
    use mio as lib;
    include!("differential/scenarios.rs");
}

mod with_nbio {
    use nbio as lib;
    include!("differential/scenarios.rs");
}

/// Runs a scenario against both libraries and compares the logs.
fn compare(name: &str, mio_run: fn() -> Vec<String>, nbio_run: fn() -> Vec<String>) {
    let mio_log = mio_run();
    // `DIFF_DUMP=1 cargo test --test differential -- --nocapture` shows
    // every log, for reviewing what the scenarios observe.
    if std::env::var_os("DIFF_DUMP").is_some() {
        eprintln!("{name}: {mio_log:#?}");
    }
    let nbio_log = nbio_run();
    if mio_log != nbio_log {
        let mut report = format!("scenario `{name}` differs\n");
        let len = mio_log.len().max(nbio_log.len());
        for i in 0..len {
            let m = mio_log.get(i).map(String::as_str).unwrap_or("<missing>");
            let n = nbio_log.get(i).map(String::as_str).unwrap_or("<missing>");
            let marker = if m == n { "  " } else { "!!" };
            report.push_str(&format!("{marker} {i:3} mio : {m}\n"));
            if m != n {
                report.push_str(&format!("{marker} {i:3} nbio: {n}\n"));
            }
        }
        panic!("{report}");
    }
    assert!(!mio_log.is_empty(), "scenario `{name}` recorded nothing");
    // A wait that hit its deadline means the scenario did not reach the
    // state it was written for: fail even if both libraries agree.
    let timeouts: Vec<&String> = mio_log
        .iter()
        .filter(|l| l.contains("timeout waiting for"))
        .collect();
    assert!(
        timeouts.is_empty(),
        "scenario `{name}` timed out: {timeouts:?}"
    );
}

macro_rules! differential {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$attr])*
            #[test]
            // On illumos mio uses epoll while nbio uses event ports, so the
            // two logs describe different kernels' mechanisms (poll(2)
            // forced in both crates is comparable, as everywhere).
            #[cfg_attr(
                all(target_os = "illumos", not(nbio_force_poll)),
                ignore = "mio (epoll) and nbio (event ports) use different backends here"
            )]
            fn $name() {
                compare(stringify!($name), with_mio::$name, with_nbio::$name);
            }
        )*
    };
}

differential! {
    poll_debug_and_zero_timeout,
    poll_timeout_expiry_is_empty,
    events_capacity_zero,
    events_capacity_limits_batch,
    events_iter_and_size_hint,
    token_max_round_trip,
    token_traits,
    interest_debug_and_ops,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    registry_double_register,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    registry_reregister_unregistered,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    registry_deregister_unregistered,
    registry_reregister_replaces_token,
    registry_reregister_changes_interest,
    registry_try_clone,
    registry_register_with_second_poll,
    registry_register_during_poll,
    registry_box_dyn_source,
    deregister_then_no_events,
    drop_registered_source_no_events,
    event_debug_format,
    waker_wake,
    tcp_listener_bind_and_accept_would_block,
    tcp_listener_bind_in_use,
    tcp_accept_after_connect,
    tcp_listener_options,
    tcp_connect_protocol,
    tcp_read_write_peek_vectored,
    tcp_peer_shutdown_write,
    #[cfg_attr(miri, ignore = "Miri does not support SO_LINGER")]
    tcp_peer_reset,
    tcp_local_shutdown_write,
    tcp_stream_options,
    tcp_try_io,
    #[cfg_attr(miri, ignore = "Miri does not support using a socket after a failed connect")]
    tcp_connect_refused,
    tcp_drop_closes_connection,
    // Priority (out-of-band) interest: Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[cfg_attr(miri, ignore = "Miri's epoll does not support EPOLLPRI")]
    tcp_priority_oob,
    tcp_std_conversions,
    tcp_ipv6,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    udp_send_to_recv_from,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    udp_connected,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    udp_options,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    udp_ipv6_only_v6,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    udp_truncation,
    #[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
    udp_std_conversions,
    // From here on: Unix-domain sockets, `SourceFd` and pipes, which exist
    // on Unix only (as in mio).
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_listener_pathname,
    // Abstract addresses: Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_listener_abstract,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_listener_bind_in_use,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no socket addresses for socketpair ends")]
    unix_stream_pair,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_stream_connect_missing,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no socket addresses for socketpair ends")]
    unix_stream_peer_dropped,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_datagram_pathname,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_datagram_unbound_and_pair,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_datagram_connect,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri has no Unix-domain sockets other than socketpair")]
    unix_std_conversions,
    #[cfg(unix)]
    sourcefd_register,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri's epoll rejects regular files as unsupported, not with EPERM")]
    sourcefd_errors,
    #[cfg(unix)]
    pipe_events,
    #[cfg(unix)]
    pipe_sender_dropped,
    #[cfg(unix)]
    pipe_receiver_dropped,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri does not support ioctl(FIONBIO) on pipes")]
    pipe_set_nonblocking,
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
    pipe_from_child_stdout,
    #[cfg(unix)]
    pipe_conversions,
}
