//! How the epoll selector waits: `epoll_wait` with a millisecond timeout,
//! or `epoll_pwait2` with a nanosecond one when the wait has a sub-millisecond
//! part and the kernel supports it.
//!
//! # Design notes
//!
//! * `epoll_wait` takes whole milliseconds, so a 100 µs wait must be rounded
//!   up to 1 ms (rounding down would make it a busy loop). `epoll_pwait2`
//!   (Linux 5.11, epoll_wait(2)) takes a `timespec` and removes that
//!   overshoot. It is called through `syscall(2)` because C libraries only
//!   recently gained a wrapper.
//! * The first wait with a sub-millisecond part probes the call; `ENOSYS`
//!   (kernel older than 5.11, or a sandbox such as gVisor) or `EPERM` (a
//!   seccomp filter that does not know the call, as older container
//!   runtimes install) records "unsupported" in a process-wide flag and the
//!   same wait is redone with `epoll_wait`. Every later wait uses the cached
//!   answer, so the probe costs one failed system call per process at most.
//! * Whole-millisecond timeouts, zero and `None` always use `epoll_wait`:
//!   they are exact there, and the common paths never depend on the probe.
//! * Only glibc and musl Linux builds use `epoll_pwait2`. Android is left
//!   out because an app's seccomp policy kills the process (`SIGSYS`) on a
//!   call it does not allow instead of failing it; Miri does not model the
//!   call.
//! * Either way the kernel's timer may fire late by the thread's timer slack
//!   (50 µs by default, prctl(2) `PR_SET_TIMERSLACK`), never early.

use crate::sys::unix::{cvt, timeout_ms};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Waits on `ep` for at most `timeout`, filling `events` (which must be
/// empty) with up to `max_events` records (at most its capacity; non-zero,
/// or the kernel answers `EINVAL`).
#[inline]
pub(super) fn wait(
    ep: RawFd,
    events: &mut Vec<libc::epoll_event>,
    max_events: usize,
    timeout: Option<Duration>,
) -> io::Result<()> {
    debug_assert!(events.is_empty() && max_events > 0);
    // Clamped, so the kernel can never write past the buffer.
    let max_events = max_events.min(events.capacity());
    let max_events = if max_events > libc::c_int::MAX as usize {
        libc::c_int::MAX
    } else {
        max_events as libc::c_int
    };
    let buf = events.as_mut_ptr();
    let n = match timeout {
        None => plain_wait(ep, buf, max_events, -1)?,
        Some(d) if d.subsec_nanos() % 1_000_000 == 0 => {
            plain_wait(ep, buf, max_events, timeout_ms(timeout))?
        }
        Some(d) => match precise::wait(ep, buf, max_events, d) {
            Some(result) => result?,
            None => plain_wait(ep, buf, max_events, timeout_ms(timeout))?,
        },
    };
    // SAFETY: the kernel initialised exactly `n` entries (the vector was
    // empty, so they are its first `n`), and `n` is at most `max_events`,
    // which is clamped to the capacity above.
    unsafe { events.set_len(n) };
    Ok(())
}

/// `epoll_wait` with a timeout in milliseconds (-1: none).
#[inline]
fn plain_wait(
    ep: RawFd,
    events: *mut libc::epoll_event,
    max_events: libc::c_int,
    timeout_ms: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: `events` points to at least `max_events` writable (spare)
    // `epoll_event` slots of the caller's vector; the kernel writes at most
    // `max_events` entries and reports errors for a bad `ep`.
    let n = cvt(unsafe { libc::epoll_wait(ep, events, max_events, timeout_ms) })?;
    Ok(n as usize)
}

cfg_epoll_pwait2! {
    mod precise {
        use std::io;
        use std::os::fd::RawFd;
        use std::sync::atomic::{AtomicU8, Ordering};
        use std::time::Duration;

        const UNKNOWN: u8 = 0;
        const SUPPORTED: u8 = 1;
        const UNSUPPORTED: u8 = 2;

        /// The kernel's `struct __kernel_timespec`, which `epoll_pwait2`
        /// takes on every architecture: 64-bit seconds even where the C
        /// library's `timespec` (and `time_t`) is 32-bit, as on i686.
        #[repr(C)]
        struct KernelTimespec {
            tv_sec: i64,
            tv_nsec: i64,
        }

        /// Whether this process may use `epoll_pwait2` (see the module notes).
        static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

        /// Waits with a nanosecond timeout; `None` when the call is not
        /// available and the caller must use `epoll_wait` instead.
        pub(super) fn wait(
            ep: RawFd,
            events: *mut libc::epoll_event,
            max_events: libc::c_int,
            timeout: Duration,
        ) -> Option<io::Result<usize>> {
            if STATE.load(Ordering::Relaxed) == UNSUPPORTED {
                return None;
            }
            let ts = KernelTimespec {
                // Saturates after ~292 billion years, far beyond any wait.
                tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(timeout.subsec_nanos()),
            };
            // SAFETY: the arguments follow epoll_pwait2(2): `events` points to
            // at least `max_events` writable slots (the caller's contract),
            // `ts` is a valid `__kernel_timespec` that outlives the call, and a null
            // signal mask means "leave the mask alone" (its size is then
            // ignored). Failures come back as -1 and errno.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    ep,
                    events,
                    max_events,
                    &ts as *const KernelTimespec,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if n >= 0 {
                STATE.store(SUPPORTED, Ordering::Relaxed);
                return Some(Ok(n as usize));
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                // Not implemented, or refused by a seccomp filter (possibly
                // installed after an earlier success): nothing else makes
                // the call fail this way on an epoll fd.
                Some(libc::ENOSYS) | Some(libc::EPERM) => {
                    STATE.store(UNSUPPORTED, Ordering::Relaxed);
                    None
                }
                _ => Some(Err(err)),
            }
        }
    }
}

cfg_not_epoll_pwait2! {
    mod precise {
        use std::io;
        use std::os::fd::RawFd;
        use std::time::Duration;

        /// This build never uses `epoll_pwait2` (see the module notes).
        pub(super) fn wait(
            _: RawFd,
            _: *mut libc::epoll_event,
            _: libc::c_int,
            _: Duration,
        ) -> Option<io::Result<usize>> {
            None
        }
    }
}
