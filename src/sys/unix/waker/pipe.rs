//! Pipe notifier: for platforms (or sandboxes) without eventfd, and forced
//! with `--cfg nbio_force_waker_pipe` for testing.
//!
//! `notify` writes one byte to a non-blocking pipe, which makes the read end
//! readable; `drain` reads everything back. When the pipe is full the reader
//! is already readable, so the pipe is drained and the write retried: a
//! wake-up is never lost and the pipe never blocks the waker.

use crate::sys::unix::new_pipe;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

#[derive(Debug)]
pub(crate) struct PipeNotify {
    receiver: File,
    sender: File,
}

impl PipeNotify {
    pub(crate) fn new() -> io::Result<PipeNotify> {
        let (receiver, sender) = new_pipe()?;
        Ok(PipeNotify {
            receiver: File::from(receiver),
            sender: File::from(sender),
        })
    }

    /// Makes the read end readable (and, under edge triggering, a new edge).
    pub(crate) fn notify(&self) -> io::Result<()> {
        loop {
            match (&self.sender).write(&[1]) {
                Ok(_) => return Ok(()),
                // Full: the reader is readable anyway; make room and retry so
                // that this call still produces a fresh edge.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.drain()?,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Empties the pipe so the read end is no longer readable.
    pub(crate) fn drain(&self) -> io::Result<()> {
        let mut buf = [0u8; 256];
        loop {
            match (&self.receiver).read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

impl AsRawFd for PipeNotify {
    /// The read end, the one to poll.
    fn as_raw_fd(&self) -> RawFd {
        self.receiver.as_raw_fd()
    }
}
