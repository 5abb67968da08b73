//! eventfd waker.
//!
//! The eventfd is registered readable and edge-triggered. Every `write` to it
//! is a new edge, so `wake` is one `write` and the poller never reads the
//! counter back; only when the counter would overflow (`WouldBlock`) is it
//! reset by a read before writing again.

use crate::sys::unix::cvt;
use crate::sys::Selector;
use crate::{Interest, Token};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};

#[derive(Debug)]
pub(crate) struct Waker {
    fd: File,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        // SAFETY: `eventfd` takes an initial value and flags and returns a
        // new file descriptor or -1.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `fd` was just created and is owned by nobody else.
        let file = unsafe { File::from_raw_fd(fd) };
        selector.register(file.as_raw_fd(), token, Interest::READABLE)?;
        Ok(Waker { fd: file })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        loop {
            match (&self.fd).write(&one) {
                Ok(_) => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    // The counter is at its maximum: reset it and try again.
                    self.reset()?;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    fn reset(&self) -> io::Result<()> {
        let mut buf = [0u8; 8];
        match (&self.fd).read(&mut buf) {
            Ok(_) => Ok(()),
            // Another thread reset it first.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(err) => Err(err),
        }
    }
}
