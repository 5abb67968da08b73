//! `read` and `write` for connected stream sockets (`TcpStream`,
//! `UnixStream`): one `recv(2)` or `send(2)` each, called directly.
//!
//! std makes the same system calls, but its socket `Read` first wraps the
//! buffer in its generic cursor plumbing and both directions pass through
//! several layers of wrappers: callgrind counts 170 user-space instructions
//! per TCP ping-pong round trip this way instead of 226 through std, and
//! `benches/compare.rs` measures Unix-socket ping-pong (2.5 µs a round
//! trip) about 1 % faster.
//!
//! Writes pass `MSG_NOSIGNAL`, as std's do, so writing to a peer that has
//! gone (or after `shutdown(Write)`) returns `EPIPE` (`BrokenPipe`) and
//! never raises `SIGPIPE`, even where a program restored its default
//! action. Apple platforms have no such flag; there `SO_NOSIGPIPE`, which
//! nbio and std set on the sockets they create, does the same.
//!
//! Vectored reads and writes still go through std (`readv`/`writev`).

use std::io;
use std::os::fd::AsRawFd;

/// Flags for every `send`: no `SIGPIPE` where the platform can say so.
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0;

/// Reads what has arrived into `buf`: `Ok(0)` at end of stream (or for an
/// empty `buf`), `WouldBlock` when nothing is there yet.
#[inline]
pub(crate) fn read<S: AsRawFd>(socket: &S, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, which is borrowed
    // mutably for the whole call, and `recv` writes at most `buf.len()`
    // bytes into it. A closed or foreign fd is reported as an error.
    transferred(unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            0,
        )
    })
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
