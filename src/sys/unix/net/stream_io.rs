//! `read` and `write` for connected stream sockets (`TcpStream`,
//! `UnixStream`): one `recv(2)` or `send(2)` each, called directly.
//!
//! std makes the same system calls, but its socket `Read` first wraps the
//! buffer in its generic cursor plumbing and both directions pass through
//! several layers of wrappers: callgrind counts 170 user-space instructions
//! per TCP ping-pong round trip this way instead of 226 through std, and
//! `benches/compare.rs` measures Unix-socket ping-pong (2.5–3.8 µs a round
//! trip on the CI machine) about 1 % faster.
//!
//! Writes pass `MSG_NOSIGNAL`, as std's plain writes do, so writing to a
//! peer that has gone (or after `shutdown(Write)`) returns `EPIPE`
//! (`BrokenPipe`) and never raises `SIGPIPE`, even where a program restored
//! its default action (which kills). That includes vectored writes, sent
//! with `sendmsg(2)`: std's use `writev(2)`, which cannot take the flag, so
//! through std a vectored write to a closed peer can kill a program whose
//! plain writes would not. Apple platforms have no `MSG_NOSIGNAL`; there
//! `SO_NOSIGPIPE`, which nbio and std set on the sockets they create, does
//! the same for every call.
//!
//! Vectored reads still go through std (`readv`): reads raise no signal.

use std::io::{self, IoSlice};
use std::mem;
use std::os::fd::AsRawFd;

/// Flags for every `send`: no `SIGPIPE` where the platform can say so.
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0;

/// The most buffers one `sendmsg` takes (`UIO_MAXIOV`/`IOV_MAX`: 1024 on
/// Linux, Android, Apple and the BSDs; elsewhere POSIX's minimum, 16).
/// Further buffers are left for the caller's next write, as any short
/// write would be.
const MAX_BUFFERS: usize = if cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)) {
    1024
} else {
    16
};

/// Reads what has arrived into `buf`: `Ok(0)` at end of stream (or for an
/// empty `buf`), `WouldBlock` when nothing is there yet.
#[inline]
pub(crate) fn read<S: AsRawFd>(socket: &S, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, which is borrowed
    // mutably for the whole call, and `recv` writes at most `buf.len()`
    // bytes into it. A closed or foreign fd is reported as an error.
    transferred(unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })
}

/// Writes as much of `buf` as the socket takes now: `WouldBlock` when it
/// takes nothing, `BrokenPipe` when the write half or the peer is gone.
#[inline]
pub(crate) fn write<S: AsRawFd>(socket: &S, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, which is borrowed for
    // the whole call and only read by `send`. A closed or foreign fd is
    // reported as an error.
    transferred(unsafe {
        libc::send(
            socket.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            SEND_FLAGS,
        )
    })
}

/// Writes as much of `bufs`, in order, as the socket takes now, with one
/// `sendmsg`: errors as for [`write`].
pub(crate) fn write_vectored<S: AsRawFd>(socket: &S, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: `msghdr` is plain C data, for which all zeroes is a valid
    // value: no address, no control data, no buffers, no flags.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // `IoSlice` is guaranteed to be ABI-compatible with `iovec` on Unix;
    // `sendmsg` only reads the buffers (the pointer is `*mut` in C's
    // declaration only).
    msg.msg_iov = bufs.as_ptr().cast_mut().cast();
    // The field is `size_t` on some platforms and `int` on others; the
    // count is at most `MAX_BUFFERS`, which fits either.
    msg.msg_iovlen = bufs.len().min(MAX_BUFFERS) as _;
    let fd = socket.as_raw_fd();
    // SAFETY: `msg` points at `msg_iovlen` live `iovec`s (borrowed from
    // `bufs` for the whole call), each describing a live, readable buffer;
    // every other pointer in it is null with a zero length.
    #[cfg(not(miri))]
    let n = unsafe { libc::sendmsg(fd, &msg, SEND_FLAGS) };
    // Miri has no `sendmsg`; it has `writev`, which takes the same buffers
    // (only `SIGPIPE`, which Miri cannot deliver, differs).
    // SAFETY: as above, `msg_iov` and `msg_iovlen` describe live, readable
    // buffers.
    #[cfg(miri)]
    let n = unsafe { libc::writev(fd, msg.msg_iov, msg.msg_iovlen as _) };
    transferred(n)
}

/// A byte count from `recv`/`send`, or the error `errno` describes when
/// the call returned -1 (its only negative result).
#[inline]
fn transferred(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
