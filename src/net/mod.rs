//! Non-blocking networking: TCP, UDP and Unix-domain sockets.
//!
//! Every type mirrors its std counterpart, is non-blocking and close-on-exec
//! when created by nbio, implements [`event::Source`](crate::event::Source),
//! and routes each operation that can return
//! [`WouldBlock`](std::io::ErrorKind::WouldBlock) through nbio's re-arm hook.
//! Types built from std values or raw fds (`from_std`, `FromRawFd`,
//! `From<OwnedFd>`) are taken as they are: put them in non-blocking mode first.
//!
//! A datagram can be received only once, and a buffer that is too small
//! truncates it on Unix; results are the OS's, passed through unchanged.
//!
//! Writing to a stream whose peer has gone, or whose write half was shut
//! down, returns [`BrokenPipe`](std::io::ErrorKind::BrokenPipe) and never
//! raises `SIGPIPE`, for plain and vectored writes alike, even in a program
//! that restored `SIGPIPE`'s default action (std's vectored writes use
//! `writev`, which can raise it).

/// Implements the traits every net type shares: `Source` (delegating to the
/// inner `IoSource`), `Debug` (std's), the raw-fd and `OwnedFd` conversions
/// (Unix) or raw-socket and `OwnedSocket` conversions (Windows), and
/// conversion into the std type.
macro_rules! net_type_impls {
    ($ty:ident, $std:ty) => {
        impl $crate::event::Source for $ty {
            fn register(
                &mut self,
                registry: &$crate::Registry,
                token: $crate::Token,
                interests: $crate::Interest,
            ) -> std::io::Result<()> {
                $crate::event::Source::register(&mut self.inner, registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &$crate::Registry,
                token: $crate::Token,
                interests: $crate::Interest,
            ) -> std::io::Result<()> {
                $crate::event::Source::reregister(&mut self.inner, registry, token, interests)
            }

            fn deregister(&mut self, registry: &$crate::Registry) -> std::io::Result<()> {
                $crate::event::Source::deregister(&mut self.inner, registry)
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&*self.inner, f)
            }
        }

        impl From<$ty> for $std {
            fn from(value: $ty) -> $std {
                value.inner.into_inner()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.inner.as_raw_fd()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::IntoRawFd for $ty {
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                self.inner.into_inner().into_raw_fd()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::FromRawFd for $ty {
            /// Takes ownership of `fd` as it is: the caller must have put it
            /// in non-blocking mode.
            ///
            /// # Safety
            ///
            /// `fd` must be an open socket of the right kind, owned by nobody
            /// else.
            unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> $ty {
                // SAFETY: the caller upholds `from_raw_fd`'s contract.
                $ty::from_std(unsafe { <$std>::from_raw_fd(fd) })
            }
        }

        #[cfg(unix)]
        impl From<std::os::fd::OwnedFd> for $ty {
            /// Takes ownership of the socket as it is: the caller must have
            /// put it in non-blocking mode.
            fn from(fd: std::os::fd::OwnedFd) -> $ty {
                $ty::from_std(<$std>::from(fd))
            }
        }

        #[cfg(unix)]
        impl From<$ty> for std::os::fd::OwnedFd {
            fn from(value: $ty) -> std::os::fd::OwnedFd {
                value.inner.into_inner().into()
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsRawSocket for $ty {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                std::os::windows::io::AsRawSocket::as_raw_socket(&*self.inner)
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsSocket for $ty {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(&*self.inner)
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::IntoRawSocket for $ty {
            fn into_raw_socket(self) -> std::os::windows::io::RawSocket {
                std::os::windows::io::IntoRawSocket::into_raw_socket(self.inner.into_inner())
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::FromRawSocket for $ty {
            /// Takes ownership of `socket` as it is: the caller must have put
            /// it in non-blocking mode.
            ///
            /// # Safety
            ///
            /// `socket` must be an open socket of the right kind, owned by
            /// nobody else.
            unsafe fn from_raw_socket(socket: std::os::windows::io::RawSocket) -> $ty {
                // SAFETY: the caller upholds `from_raw_socket`'s contract.
                $ty::from_std(unsafe { <$std>::from_raw_socket(socket) })
            }
        }

        #[cfg(windows)]
        impl From<std::os::windows::io::OwnedSocket> for $ty {
            /// Takes ownership of the socket as it is: the caller must have
            /// put it in non-blocking mode.
            fn from(socket: std::os::windows::io::OwnedSocket) -> $ty {
                $ty::from_std(<$std>::from(socket))
            }
        }

        #[cfg(windows)]
        impl From<$ty> for std::os::windows::io::OwnedSocket {
            fn from(value: $ty) -> std::os::windows::io::OwnedSocket {
                value.inner.into_inner().into()
            }
        }
    };
}

mod tcp;
pub use self::tcp::{TcpListener, TcpStream};

mod udp;
pub use self::udp::UdpSocket;

#[cfg(unix)]
mod uds;
#[cfg(unix)]
pub use self::uds::{UnixDatagram, UnixListener, UnixStream};
