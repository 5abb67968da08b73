//! Unix backend: the selectors (epoll, kqueue, event ports, poll(2)), the
//! wakers, sockets, pipes and `SourceFd`.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

cfg_os_poll! {
    mod selector;
    pub(crate) use self::selector::{event, Event, Events, Selector};

    mod waker;
    pub(crate) use self::waker::Waker;
}

// Per-source state: none for kernel-level selectors (epoll, kqueue) and
// without `os-poll`; the emulating selectors bring their own.
#[cfg(any(feature = "net", feature = "os-ext"))]
mod stateless_io_source;
#[cfg(all(feature = "os-poll", any(feature = "net", feature = "os-ext")))]
pub(crate) use self::selector::IoSourceState;
#[cfg(all(not(feature = "os-poll"), any(feature = "net", feature = "os-ext")))]
pub(crate) use self::stateless_io_source::IoSourceState;

cfg_os_ext! {
    mod sourcefd;
    pub use self::sourcefd::SourceFd;

    pub(crate) mod pipe;
}

cfg_net! {
    pub(crate) mod net;
}

/// Objects that can hand their OS handle (here a file descriptor) to the
/// selector; `IoSource` registers through it.
#[allow(dead_code)] // used by `IoSource`, which needs `net` or `os-ext`
pub(crate) trait AsRawSource {
    fn as_raw_source(&self) -> RawFd;
}

impl<T: std::os::fd::AsRawFd> AsRawSource for T {
    fn as_raw_source(&self) -> RawFd {
        self.as_raw_fd()
    }
}

/// Creates a pipe whose ends are non-blocking and close-on-exec:
/// `(read end, write end)`.
#[allow(dead_code)] // used by `unix::pipe` and the pipe notifier
pub(crate) fn new_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [-1, -1];
    // Apple's libc has no pipe2: create, then set the flags.
    #[cfg(target_vendor = "apple")]
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    cvt(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    #[cfg(not(target_vendor = "apple"))]
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
    // SAFETY: the call succeeded, so both fds are new and owned by us alone.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(target_vendor = "apple")]
    {
        set_cloexec_nonblocking(&ends.0)?;
        set_cloexec_nonblocking(&ends.1)?;
    }
    Ok(ends)
}

/// Sets `FD_CLOEXEC` and `O_NONBLOCK`, for platforms whose calls cannot
/// create descriptors with them set (no `SOCK_NONBLOCK`, `accept4`,
/// `pipe2`).
#[cfg(target_vendor = "apple")]
pub(crate) fn set_cloexec_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on an fd we own only changes its flags.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    // SAFETY: as above; F_GETFL only reads the status flags.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    Ok(())
}

/// Converts a `poll` timeout to the milliseconds `epoll_wait`/`poll(2)`
/// take: `None` is infinite (-1), zero stays zero, anything else rounds **up**
/// to whole milliseconds so a short wait never becomes a busy loop, and
/// values beyond `c_int::MAX` ms (about 24.8 days, up to `Duration::MAX`)
/// are clamped rather than overflowing.
#[allow(dead_code)] // not used without `os-poll`
#[inline]
pub(crate) fn timeout_ms(timeout: Option<std::time::Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            // `as_millis` truncates; add one for any sub-millisecond rest.
            // u128 cannot overflow, even for `Duration::MAX`.
            let rest = u128::from(d.subsec_nanos() % 1_000_000 != 0);
            (d.as_millis() + rest).min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

/// Converts a libc return value into an `io::Result`, reading `errno` when
/// the call reported failure with -1.
#[allow(dead_code)]
pub(crate) fn cvt<T: MinusOne + PartialEq + Copy>(res: T) -> std::io::Result<T> {
    if res == T::MINUS_ONE {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(res)
    }
}

/// Integer return types whose -1 means "failed, see errno".
pub(crate) trait MinusOne {
    const MINUS_ONE: Self;
}

impl MinusOne for i32 {
    const MINUS_ONE: Self = -1;
}

impl MinusOne for isize {
    const MINUS_ONE: Self = -1;
}

#[cfg(test)]
mod tests {
    use super::timeout_ms;
    use std::time::Duration;

    #[test]
    fn timeout_ms_never_rounds_a_wait_down_to_zero() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(999))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1001))), 2);
        assert_eq!(timeout_ms(Some(Duration::new(5, 1))), 5001);
    }

    #[test]
    fn timeout_ms_clamps_huge_values() {
        let max = libc::c_int::MAX;
        assert_eq!(timeout_ms(Some(Duration::from_millis(max as u64))), max);
        assert_eq!(timeout_ms(Some(Duration::from_millis(max as u64 + 1))), max);
        // Would wrap to 1 if truncated to 32 bits.
        assert_eq!(timeout_ms(Some(Duration::from_millis((1 << 32) + 1))), max);
        assert_eq!(timeout_ms(Some(Duration::MAX)), max);
    }
}
