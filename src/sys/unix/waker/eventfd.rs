//! eventfd notifier (Linux, Android).
//!
//! An eventfd is a kernel counter with a file descriptor: `notify` adds one
//! (one `write`), and the fd polls readable while the counter is non-zero.
//! Registered edge-triggered with epoll, every `write` is a new edge, so the
//! epoll waker never needs to read the counter back; only when the counter
//! would overflow (`WouldBlock`) is it reset by a read before writing again.

use crate::sys::unix::cvt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

#[derive(Debug)]
pub(crate) struct EventFd {
    fd: File,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: `eventfd` takes an initial value and flags and returns a
        // new file descriptor or -1.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { File::from_raw_fd(fd) };
        Ok(EventFd { fd })
    }

    /// Makes the fd readable (and, under edge triggering, a new edge).
    pub(crate) fn notify(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        loop {
            match (&self.fd).write(&one) {
                Ok(_) => return Ok(()),
                // The counter is at its maximum: reset it and try again.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.drain()?,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Resets the counter so the fd is no longer readable.
    pub(crate) fn drain(&self) -> io::Result<()> {
        let mut buf = [0u8; 8];
        match (&self.fd).read(&mut buf) {
            Ok(_) => Ok(()),
            // Already zero (another thread drained it first).
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(err) => Err(err),
        }
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
