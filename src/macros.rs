//! Internal macros: feature/platform gates (the one place cfg conditions are
//! spelled out) and logging shims that compile to nothing without `log`.

/// Items that need the OS selector (feature `os-poll`).
macro_rules! cfg_os_poll {
    ($($item:item)*) => {
        $(
            #[cfg(feature = "os-poll")]
            #[cfg_attr(docsrs, doc(cfg(feature = "os-poll")))]
            $item
        )*
    };
}

/// Items that exist only without the OS selector.
#[allow(unused_macros)]
macro_rules! cfg_not_os_poll {
    ($($item:item)*) => {
        $(
            #[cfg(not(feature = "os-poll"))]
            $item
        )*
    };
}

/// Unix extension items (feature `os-ext` on Unix).
macro_rules! cfg_os_ext {
    ($($item:item)*) => {
        $(
            #[cfg(all(unix, feature = "os-ext"))]
            #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "os-ext"))))]
            $item
        )*
    };
}

/// Windows extension items (feature `os-ext` on Windows).
macro_rules! cfg_windows_os_ext {
    ($($item:item)*) => {
        $(
            #[cfg(all(windows, feature = "os-ext"))]
            #[cfg_attr(docsrs, doc(cfg(all(windows, feature = "os-ext"))))]
            $item
        )*
    };
}

/// The `net` module (feature `net`).
macro_rules! cfg_net {
    ($($item:item)*) => {
        $(
            #[cfg(feature = "net")]
            #[cfg_attr(docsrs, doc(cfg(feature = "net")))]
            $item
        )*
    };
}

/// Items used by every owned I/O source: net types and pipes.
macro_rules! cfg_io_source {
    ($($item:item)*) => {
        $(
            #[cfg(any(feature = "net", all(unix, feature = "os-ext")))]
            $item
        )*
    };
}

/// Items that exist only where the selector is backed by a real file
/// descriptor (epoll, kqueue, event ports; not the poll(2) selector), so
/// `Poll`/`Registry` can expose it.
macro_rules! cfg_selector_fd {
    ($($item:item)*) => {
        $(
            #[cfg(all(
                feature = "os-poll",
                not(nbio_force_poll),
                any(
                    target_os = "linux",
                    target_os = "android",
                    target_os = "macos",
                    target_os = "ios",
                    target_os = "tvos",
                    target_os = "visionos",
                    target_os = "watchos",
                    target_os = "freebsd",
                    target_os = "netbsd",
                    target_os = "openbsd",
                    target_os = "dragonfly",
                    target_os = "illumos",
                    target_os = "solaris"
                )
            ))]
            $item
        )*
    };
}

/// Trace-level log message (no-op without the `log` feature).
macro_rules! trace {
    ($($arg:tt)*) => {
        #[cfg(feature = "log")]
        {
            log::trace!($($arg)*);
        }
    };
}

/// `Interest::AIO` / `Event::is_aio`: kqueue platforms with `EVFILT_AIO`.
macro_rules! cfg_aio {
    ($($item:item)*) => {
        $(
            #[cfg(any(
                target_os = "dragonfly",
                target_os = "freebsd",
                target_os = "ios",
                target_os = "macos",
                target_os = "tvos",
                target_os = "visionos",
                target_os = "watchos"
            ))]
            $item
        )*
    };
}

/// `Interest::LIO`: FreeBSD's `EVFILT_LIO`.
macro_rules! cfg_lio {
    ($($item:item)*) => {
        $(
            #[cfg(target_os = "freebsd")]
            $item
        )*
    };
}

/// `Interest::PRIORITY`: platforms with `EPOLLPRI`.
macro_rules! cfg_priority {
    ($($item:item)*) => {
        $(
            #[cfg(any(target_os = "linux", target_os = "android"))]
            $item
        )*
    };
}

cfg_aio! {
    /// Whether this platform has `Interest::AIO`.
    pub(crate) const HAS_AIO: bool = true;
}
#[cfg(not(any(
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "ios",
    target_os = "macos",
    target_os = "tvos",
    target_os = "visionos",
    target_os = "watchos"
)))]
pub(crate) const HAS_AIO: bool = false;
/// Whether this platform has `Interest::LIO`.
pub(crate) const HAS_LIO: bool = cfg!(target_os = "freebsd");
/// Whether this platform has `Interest::PRIORITY`.
pub(crate) const HAS_PRIORITY: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// `Read` for `$ty` and `&$ty`, every call routed through the source's
/// `do_io` hook in the readable direction. `$ty` has an `inner: IoSource<T>`
/// field where `&T: Read`; `$read`, a `fn(&T, &mut [u8]) ->
/// io::Result<usize>`, makes plain reads (the backend's direct system call
/// for sockets), and vectored reads go through std's `Read for &T`.
#[allow(unused_macros)]
macro_rules! impl_read {
    ($ty:ty, $read:path) => {
        impl std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &*self, buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &*self, bufs)
            }
        }

        impl std::io::Read for &$ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.inner
                    .do_io($crate::Interest::READABLE, |io| $read(io, buf))
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.inner.do_io($crate::Interest::READABLE, |mut io| {
                    std::io::Read::read_vectored(&mut io, bufs)
                })
            }
        }
    };
}

/// `Write` for `$ty` and `&$ty`, every call routed through the source's
/// `do_io` hook in the writable direction. `$ty` has an `inner: IoSource<T>`
/// field where `&T: Write`; `$write`, a `fn(&T, &[u8]) -> io::Result<usize>`,
/// and `$write_vectored`, a `fn(&T, &[IoSlice]) -> io::Result<usize>`, make
/// the writes (the backend's direct system calls for sockets), and `flush`
/// goes through std's `Write for &T`.
#[allow(unused_macros)]
macro_rules! impl_write {
    ($ty:ty, $write:path, $write_vectored:path) => {
        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &*self, buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &*self, bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                std::io::Write::flush(&mut &*self)
            }
        }

        impl std::io::Write for &$ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.inner
                    .do_io($crate::Interest::WRITABLE, |io| $write(io, buf))
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.inner
                    .do_io($crate::Interest::WRITABLE, |io| $write_vectored(io, bufs))
            }

            fn flush(&mut self) -> std::io::Result<()> {
                self.inner.do_io($crate::Interest::WRITABLE, |mut io| {
                    std::io::Write::flush(&mut io)
                })
            }
        }
    };
}

// Backend selection. These macros are the one place that says which
// operating systems get which selector and waker; `src/sys` uses them.

/// Linux and Android use epoll (unless `--cfg nbio_force_poll`).
#[allow(unused_macros)] // not every platform uses every backend
macro_rules! cfg_epoll {
    ($($item:item)*) => {
        $(
            #[cfg(all(not(nbio_force_poll), any(target_os = "linux", target_os = "android")))]
            $item
        )*
    };
}

/// epoll builds that may call `epoll_pwait2` for sub-millisecond timeouts
/// (probed at run time): glibc and musl Linux, not Android (whose seccomp
/// policy kills on unknown calls) and not Miri.
#[allow(unused_macros)]
macro_rules! cfg_epoll_pwait2 {
    ($($item:item)*) => {
        $(
            #[cfg(all(
                not(nbio_force_poll),
                target_os = "linux",
                any(target_env = "gnu", target_env = "musl"),
                not(miri)
            ))]
            $item
        )*
    };
}

/// epoll builds that never call `epoll_pwait2`.
#[allow(unused_macros)]
macro_rules! cfg_not_epoll_pwait2 {
    ($($item:item)*) => {
        $(
            #[cfg(not(all(
                not(nbio_force_poll),
                target_os = "linux",
                any(target_env = "gnu", target_env = "musl"),
                not(miri)
            )))]
            $item
        )*
    };
}

/// Apple platforms and the BSDs use kqueue (unless `--cfg nbio_force_poll`).
#[allow(unused_macros)] // not every platform uses every backend
macro_rules! cfg_kqueue {
    ($($item:item)*) => {
        $(
            #[cfg(all(
                not(nbio_force_poll),
                any(
                    target_os = "macos",
                    target_os = "ios",
                    target_os = "tvos",
                    target_os = "visionos",
                    target_os = "watchos",
                    target_os = "freebsd",
                    target_os = "netbsd",
                    target_os = "openbsd",
                    target_os = "dragonfly"
                )
            ))]
            $item
        )*
    };
}

/// illumos and Solaris use event ports (unless `--cfg nbio_force_poll`).
#[allow(unused_macros)] // not every platform uses every backend
macro_rules! cfg_event_ports {
    ($($item:item)*) => {
        $(
            #[cfg(all(not(nbio_force_poll), any(target_os = "illumos", target_os = "solaris")))]
            $item
        )*
    };
}

/// Every other Unix, and any Unix with `--cfg nbio_force_poll`, uses the
/// poll(2) selector.
#[allow(unused_macros)] // not every platform uses every backend
macro_rules! cfg_poll_selector {
    ($($item:item)*) => {
        $(
            #[cfg(any(
                nbio_force_poll,
                not(any(
                    target_os = "linux",
                    target_os = "android",
                    target_os = "macos",
                    target_os = "ios",
                    target_os = "tvos",
                    target_os = "visionos",
                    target_os = "watchos",
                    target_os = "freebsd",
                    target_os = "netbsd",
                    target_os = "openbsd",
                    target_os = "dragonfly",
                    target_os = "illumos",
                    target_os = "solaris"
                ))
            ))]
            $item
        )*
    };
}

/// Kernels with `EVFILT_USER` for the kqueue waker (NetBSD gained it only in
/// 10 and OpenBSD in 7.8, so those use a pipe); `--cfg
/// nbio_force_waker_pipe` forces the pipe everywhere.
#[allow(unused_macros)] // used only on kqueue platforms
macro_rules! cfg_kqueue_user_waker {
    ($($item:item)*) => {
        $(
            #[cfg(all(
                not(nbio_force_waker_pipe),
                any(
                    target_os = "macos",
                    target_os = "ios",
                    target_os = "tvos",
                    target_os = "visionos",
                    target_os = "watchos",
                    target_os = "freebsd",
                    target_os = "dragonfly"
                )
            ))]
            $item
        )*
    };
}

/// kqueue platforms without (or not using) `EVFILT_USER`: the waker is a
/// registered pipe notifier.
#[allow(unused_macros)] // used only on kqueue platforms
macro_rules! cfg_kqueue_pipe_waker {
    ($($item:item)*) => {
        $(
            #[cfg(not(all(
                not(nbio_force_waker_pipe),
                any(
                    target_os = "macos",
                    target_os = "ios",
                    target_os = "tvos",
                    target_os = "visionos",
                    target_os = "watchos",
                    target_os = "freebsd",
                    target_os = "dragonfly"
                )
            )))]
            $item
        )*
    };
}

/// The eventfd notifier (Linux, Android); others use a pipe.
#[allow(unused_macros)] // not every platform uses every backend
macro_rules! cfg_eventfd {
    ($($item:item)*) => {
        $(
            #[cfg(all(not(nbio_force_waker_pipe), any(target_os = "linux", target_os = "android")))]
            $item
        )*
    };
}

/// Not the eventfd notifier: the pipe notifier.
#[allow(unused_macros)] // not every platform uses every backend
macro_rules! cfg_pipe_notifier {
    ($($item:item)*) => {
        $(
            #[cfg(not(all(not(nbio_force_waker_pipe), any(target_os = "linux", target_os = "android"))))]
            $item
        )*
    };
}
