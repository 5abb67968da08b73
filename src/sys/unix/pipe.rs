//! Non-blocking Unix pipes (`nbio::unix::pipe`).

use crate::io_source::IoSource;
use crate::sys::unix::{cvt, new_pipe};
use crate::{event, Interest, Registry, Token};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::{fmt, ptr};

/// Creates a non-blocking, close-on-exec pipe: `(sender, receiver)`.
///
/// The receiver gets a readable event when data arrives and a read-closed
/// event when every sender is gone; the sender gets a writable event when
/// there is room and a write-closed event when the receiver is gone.
///
/// # Errors
///
/// The OS error if the pipe cannot be created (`EMFILE`, `ENFILE`).
///
/// # Example
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use nbio::unix::pipe;
/// use nbio::{Events, Interest, Poll, Token};
/// use std::io::{Read, Write};
/// use std::time::Duration;
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(8);
/// let (mut sender, mut receiver) = pipe::new()?;
/// poll.registry().register(&mut receiver, Token(1), Interest::READABLE)?;
///
/// sender.write_all(b"hello")?;
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// assert!(events.iter().any(|e| e.token() == Token(1) && e.is_readable()));
///
/// let mut buf = [0; 16];
/// assert_eq!(receiver.read(&mut buf)?, 5);
/// assert_eq!(&buf[..5], b"hello");
/// # Ok(())
/// # }
/// ```
pub fn new() -> io::Result<(Sender, Receiver)> {
    let (r, w) = new_pipe()?;
    Ok((
        Sender {
            inner: IoSource::new(File::from(w)),
        },
        Receiver {
            inner: IoSource::new(File::from(r)),
        },
    ))
}

/// Switches `O_NONBLOCK` on or off with `ioctl(FIONBIO)`.
fn set_nonblocking(fd: RawFd, nonblocking: bool) -> io::Result<()> {
    let mut value = libc::c_int::from(nonblocking);
    // SAFETY: FIONBIO reads one `c_int` through the pointer, which is valid
    // for the duration of the call; bad fds are reported as errors.
    cvt(unsafe { libc::ioctl(fd, libc::FIONBIO, ptr::addr_of_mut!(value)) }).map(drop)
}

/// The writing end of a pipe.
pub struct Sender {
    inner: IoSource<File>,
}

impl Sender {
    /// Sets or clears non-blocking mode on the pipe (needed after
    /// converting a [`ChildStdin`], which is blocking).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        set_nonblocking(self.inner.as_raw_fd(), nonblocking)
    }

    /// Runs `f`, an operation on the pipe's fd performed by the caller,
    /// through nbio's re-arm hook. `f` must return `WouldBlock` exactly when
    /// the OS did.
    pub fn try_io<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T>,
    {
        self.inner.do_io(Interest::WRITABLE, |_| f())
    }
}

/// The reading end of a pipe.
pub struct Receiver {
    inner: IoSource<File>,
}

impl Receiver {
    /// Sets or clears non-blocking mode on the pipe (needed after
    /// converting a [`ChildStdout`] or [`ChildStderr`], which are blocking).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        set_nonblocking(self.inner.as_raw_fd(), nonblocking)
    }

    /// Runs `f`, an operation on the pipe's fd performed by the caller,
    /// through nbio's re-arm hook. `f` must return `WouldBlock` exactly when
    /// the OS did.
    pub fn try_io<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T>,
    {
        self.inner.do_io(Interest::READABLE, |_| f())
    }
}

macro_rules! pipe_end_impls {
    ($end:ident) => {
        impl event::Source for $end {
            fn register(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                self.inner.register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                self.inner.reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
                self.inner.deregister(registry)
            }
        }

        impl fmt::Debug for $end {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($end))
                    .field("fd", &self.inner.as_raw_fd())
                    .finish()
            }
        }

        impl FromRawFd for $end {
            /// Takes ownership of `fd` as-is: the caller must make it
            /// non-blocking.
            ///
            /// # Safety
            ///
            /// `fd` must be an open pipe end owned by nobody else.
            unsafe fn from_raw_fd(fd: RawFd) -> $end {
                $end {
                    // SAFETY: the caller guarantees `fd` is open and owned.
                    inner: IoSource::new(unsafe { File::from_raw_fd(fd) }),
                }
            }
        }

        impl AsRawFd for $end {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl IntoRawFd for $end {
            fn into_raw_fd(self) -> RawFd {
                self.inner.into_inner().into_raw_fd()
            }
        }

        impl AsFd for $end {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl From<OwnedFd> for $end {
            /// Takes ownership of the fd as-is: make it non-blocking first.
            fn from(fd: OwnedFd) -> $end {
                $end {
                    inner: IoSource::new(File::from(fd)),
                }
            }
        }

        impl From<$end> for OwnedFd {
            fn from(end: $end) -> OwnedFd {
                end.inner.into_inner().into()
            }
        }
    };
}

impl_write!(Sender, write_file, write_file_vectored);
impl_read!(Receiver, read_file);
pipe_end_impls!(Sender);
pipe_end_impls!(Receiver);

/// A plain write on a pipe end: std's `Write for &File` (one `write(2)`).
fn write_file(file: &File, buf: &[u8]) -> io::Result<usize> {
    io::Write::write(&mut &*file, buf)
}

/// A vectored write on a pipe end: std's `Write for &File` (one
/// `writev(2)`).
fn write_file_vectored(file: &File, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    io::Write::write_vectored(&mut &*file, bufs)
}

/// A plain read on a pipe end: std's `Read for &File` (one `read(2)`).
fn read_file(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    io::Read::read(&mut &*file, buf)
}

impl From<ChildStdin> for Sender {
    /// Wraps a child's stdin. The fd stays blocking; call
    /// [`Sender::set_nonblocking`] before registering it.
    fn from(stdin: ChildStdin) -> Sender {
        Sender::from(OwnedFd::from(stdin))
    }
}

impl From<ChildStdout> for Receiver {
    /// Wraps a child's stdout. The fd stays blocking; call
    /// [`Receiver::set_nonblocking`] before registering it.
    fn from(stdout: ChildStdout) -> Receiver {
        Receiver::from(OwnedFd::from(stdout))
    }
}

impl From<ChildStderr> for Receiver {
    /// Wraps a child's stderr. The fd stays blocking; call
    /// [`Receiver::set_nonblocking`] before registering it.
    fn from(stderr: ChildStderr) -> Receiver {
        Receiver::from(OwnedFd::from(stderr))
    }
}
