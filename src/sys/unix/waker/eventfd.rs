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
    #[inline]
    pub(crate) fn notify(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        // The one system call of a wake, made directly: std's `Write`
        // would add its own layers on the path to the other thread.
        // SAFETY: `one` is 8 readable bytes for the duration of the call,
        // and `self.fd` is an open eventfd owned by `self`.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        if n == one.len() as isize {
            return Ok(());
        }
        self.notify_again()
    }

    /// `notify` after its write failed: retries, resetting a full counter.
    #[cold]
    #[inline(never)]
    fn notify_again(&self) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::EventFd;
    use std::os::fd::AsRawFd;

    /// Reads (and so resets) the counter; `None` while it is zero.
    fn take(fd: &EventFd) -> Option<u64> {
        let mut buf = [0u8; 8];
        // SAFETY: `buf` is 8 writable bytes for the duration of the call,
        // and the fd is open.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        (n == 8).then(|| u64::from_ne_bytes(buf))
    }

    #[test]
    fn each_notify_adds_one() {
        let fd = EventFd::new().unwrap();
        assert_eq!(take(&fd), None);
        fd.notify().unwrap();
        fd.notify().unwrap();
        assert_eq!(take(&fd), Some(2));
        assert_eq!(take(&fd), None);
    }

    #[test]
    fn notify_on_a_full_counter_resets_it_and_still_notifies() {
        let fd = EventFd::new().unwrap();
        // The largest value the counter holds: one more write would block.
        let full = (u64::MAX - 1).to_ne_bytes();
        // SAFETY: `full` is 8 readable bytes for the duration of the call,
        // and the fd is open.
        let n = unsafe { libc::write(fd.as_raw_fd(), full.as_ptr().cast(), full.len()) };
        assert_eq!(n, 8, "{}", std::io::Error::last_os_error());
        fd.notify().unwrap();
        assert_eq!(take(&fd), Some(1), "reset, then counted once");
    }
}
