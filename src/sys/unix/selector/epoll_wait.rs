//! How the epoll selector waits: `epoll_wait` with a millisecond timeout,
//! or `epoll_pwait2` with a nanosecond one when the kernel supports it and
//! the wait has a sub-millisecond part or is short enough to be asked for a
//! timer slack early.
//!
//! # Design notes
//!
//! * `epoll_wait` takes whole milliseconds, so a 100 µs wait must be rounded
//!   up to 1 ms (rounding down would make it a busy loop). `epoll_pwait2`
//!   (Linux 5.11, epoll_wait(2)) takes a `timespec` and removes that
//!   overshoot. It is called through `syscall(2)` because C libraries only
//!   recently gained a wrapper.
//! * The first wait that needs the call probes it; `ENOSYS`
//!   (kernel older than 5.11, or a sandbox such as gVisor) or `EPERM` (a
//!   seccomp filter that does not know the call, as older container
//!   runtimes install) records "unsupported" in a process-wide flag and the
//!   same wait is redone with `epoll_wait`. Every later wait uses the cached
//!   answer, so the probe costs one failed system call per process at most.
//! * Zero, `None` and whole-millisecond timeouts that are not asked for
//!   early (below) use `epoll_wait`: they are exact there. The common
//!   timeouts of busy loops (zero, a safety deadline of a second or more)
//!   never depend on the probe, the slack or a clock.
//! * Only glibc and musl Linux builds use `epoll_pwait2`. Android is left
//!   out because an app's seccomp policy kills the process (`SIGSYS`) on a
//!   call it does not allow instead of failing it; Miri does not model the
//!   call.
//! * **Timer slack.** The kernel lets a timed wait end anywhere between its
//!   timeout and the timeout plus the thread's timer slack (prctl(2)
//!   `PR_SET_TIMERSLACK`: 50 µs by default, 0 for real-time threads; waits
//!   over 1,000 × that slack get 0.1 % of their length instead), and on an
//!   otherwise idle CPU it ends at the late edge. On a 100 µs wait that is
//!   half the wait again. So a wait of up to 1,000 × the slack (and under a
//!   second) for which `epoll_pwait2` is available asks the kernel for the
//!   timeout *minus* the slack: the window then closes at the caller's
//!   deadline instead of opening there. The kernel may now end the wait inside the window,
//!   before the deadline (when another timer interrupt comes first); a
//!   wait that ends early with no event is repeated for the time left,
//!   measured on the monotonic clock `epoll_pwait2` also uses, so `poll`
//!   still never returns before its timeout. Longer waits, whose slack is a
//!   small fraction of them, keep the plain call, and no clock is read.
//!   A short wait costs a clock read before it and one after a timeout.
//!   On this project's VM none of 2,250 waits (100 µs to 20 ms, the other
//!   CPU idle or busy) needed the repeat.
//! * The slack is read once per process (prctl(2) `PR_GET_TIMERSLACK`, on
//!   the first thread that waits with a timeout under a second). A thread
//!   whose slack was set lower afterwards only sees its waits end early
//!   inside the kernel and be repeated (one more system call per timed-out
//!   wait), as does a real-time thread where the kernel still reports its
//!   old slack (the kernel gives a real-time thread's waits none); one set
//!   higher sees them end late, as without this. Never early.
//! * The clock reads are vDSO calls where the clock source allows it (TSC,
//!   kvm-clock); on a VM whose clock source needs a system call they add
//!   two to each short wait, against a sleep.

use crate::sys::unix::{cvt, timeout_ms};
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Waits longer than this many times the timer slack are late by 0.1 % of
/// their length instead of by the slack (`select_estimate_accuracy` in the
/// kernel), a small fraction of them: they are not asked for early.
const SLACK_COVERS_UP_TO: u32 = 1_000;

/// No wait of this length or more is asked for early, whatever the slack
/// (only a slack over 1 ms, far above the default, would allow it), so a
/// long timeout never needs the slack.
const SHORT_WAITS_BELOW: Duration = Duration::from_secs(1);

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
        Some(d) if d < SHORT_WAITS_BELOW && !d.is_zero() => {
            sub_second_wait(ep, buf, max_events, d)?
        }
        // Zero, or a second or more: a zero-timeout check and a long
        // safety deadline, the timeouts of busy loops, cost two compares.
        Some(d) => wait_as_given(ep, buf, max_events, d)?,
    };
    // SAFETY: the kernel initialised exactly `n` entries (the vector was
    // empty, so they are its first `n`), and `n` is at most `max_events`,
    // which is clamped to the capacity above.
    unsafe { events.set_len(n) };
    Ok(())
}

/// Waits at most `timeout` (non-zero, under a second), returning no
/// earlier unless an event arrives, and as soon after it as the kernel's
/// timer allows (see the module notes on timer slack). Out of line: the
/// thread is about to sleep, and the busy paths stay small.
#[inline(never)]
fn sub_second_wait(
    ep: RawFd,
    events: *mut libc::epoll_event,
    max_events: libc::c_int,
    timeout: Duration,
) -> io::Result<usize> {
    if let Some(slack) = precise::timer_slack() {
        if !ask_early_by(timeout, slack).is_zero() {
            return short_wait(ep, events, max_events, timeout, slack);
        }
    }
    wait_as_given(ep, events, max_events, timeout)
}

/// Waits for `timeout` as it is (not asked early): `epoll_wait` when it is
/// whole milliseconds (zero included), where that call is exact, else
/// [`precise_wait`].
#[inline]
fn wait_as_given(
    ep: RawFd,
    events: *mut libc::epoll_event,
    max_events: libc::c_int,
    timeout: Duration,
) -> io::Result<usize> {
    if timeout.subsec_nanos() % 1_000_000 == 0 {
        plain_wait(ep, events, max_events, timeout_ms(Some(timeout)))
    } else {
        precise_wait(ep, events, max_events, timeout)
    }
}

/// A wait short enough to be asked for a timer `slack` early (see the
/// module notes); waits again for what is left if the kernel ends it
/// before the deadline with nothing ready.
fn short_wait(
    ep: RawFd,
    events: *mut libc::epoll_event,
    max_events: libc::c_int,
    timeout: Duration,
    slack: Duration,
) -> io::Result<usize> {
    // Cannot overflow: `timeout` is under a second.
    let deadline = Instant::now() + timeout;
    let mut left = timeout;
    loop {
        let n = precise_wait(ep, events, max_events, left - ask_early_by(left, slack))?;
        if n > 0 {
            return Ok(n);
        }
        match deadline.checked_duration_since(Instant::now()) {
            Some(rest) if !rest.is_zero() => left = rest,
            _ => return Ok(0),
        }
    }
}

/// How much earlier than `left` to ask the kernel to end a wait, given the
/// thread's timer `slack`: the whole slack when the wait is longer than the
/// slack and short enough for the slack to be all the kernel adds (and
/// under [`SHORT_WAITS_BELOW`]), else nothing. Asking for `left - slack`
/// then makes the kernel's latest end exactly `left`.
fn ask_early_by(left: Duration, slack: Duration) -> Duration {
    if left > slack && left < SHORT_WAITS_BELOW && left <= slack.saturating_mul(SLACK_COVERS_UP_TO)
    {
        slack
    } else {
        Duration::ZERO
    }
}

/// `epoll_pwait2` with a nanosecond timeout, or `epoll_wait` with it
/// rounded up to milliseconds where that call is unavailable.
#[inline]
fn precise_wait(
    ep: RawFd,
    events: *mut libc::epoll_event,
    max_events: libc::c_int,
    timeout: Duration,
) -> io::Result<usize> {
    match precise::wait(ep, events, max_events, timeout) {
        Some(result) => result,
        None => plain_wait(ep, events, max_events, timeout_ms(Some(timeout))),
    }
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
        use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
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

        /// The timer slack read by the first wait under a second, in
        /// nanoseconds; [`SLACK_UNREAD`] until then. 32 bits hold any
        /// slack `prctl` can return (a C `int`), and every target has
        /// 32-bit atomics.
        static SLACK_NS: AtomicU32 = AtomicU32::new(SLACK_UNREAD);
        const SLACK_UNREAD: u32 = u32::MAX;

        /// The timer slack to ask waits early by (see the module notes), or
        /// `None` when `epoll_pwait2` is known to be unavailable, and with
        /// it any timeout finer than a millisecond.
        #[inline]
        pub(super) fn timer_slack() -> Option<Duration> {
            if STATE.load(Ordering::Relaxed) == UNSUPPORTED {
                return None;
            }
            let ns = match SLACK_NS.load(Ordering::Relaxed) {
                SLACK_UNREAD => read_timer_slack(),
                ns => ns,
            };
            Some(Duration::from_nanos(u64::from(ns)))
        }

        #[cold]
        fn read_timer_slack() -> u32 {
            // SAFETY: PR_GET_TIMERSLACK takes no pointer argument; it
            // returns the calling thread's slack in nanoseconds, or -1.
            let ns = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
            // A failure (or a slack too large for the C `int` the wrapper
            // returns) means "unknown": ask nothing early.
            let ns = u32::try_from(ns).unwrap_or(0);
            // Racing threads store the same value, or each its own; either
            // is a valid reading.
            SLACK_NS.store(ns, Ordering::Relaxed);
            ns
        }

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

        /// Without `epoll_pwait2` there are only millisecond timeouts, and
        /// no wait is asked for early.
        #[inline]
        pub(super) fn timer_slack() -> Option<Duration> {
            None
        }

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

#[cfg(test)]
mod tests {
    use super::ask_early_by;
    use std::time::Duration;

    const SLACK: Duration = Duration::from_micros(50);

    #[test]
    fn a_short_wait_is_asked_for_one_slack_early() {
        let just_over = SLACK + Duration::from_nanos(1);
        assert_eq!(ask_early_by(just_over, SLACK), SLACK);
        assert_eq!(ask_early_by(Duration::from_micros(100), SLACK), SLACK);
        assert_eq!(ask_early_by(Duration::from_millis(50), SLACK), SLACK);
    }

    #[test]
    fn a_wait_no_longer_than_the_slack_is_asked_for_as_it_is() {
        // Asking for less would let the kernel end it at once: a busy loop.
        assert_eq!(ask_early_by(SLACK, SLACK), Duration::ZERO);
        assert_eq!(ask_early_by(Duration::from_nanos(1), SLACK), Duration::ZERO);
    }

    #[test]
    fn a_wait_whose_slack_is_proportional_is_asked_for_as_it_is() {
        let over = Duration::from_millis(50) + Duration::from_nanos(1);
        assert_eq!(ask_early_by(over, SLACK), Duration::ZERO);
        assert_eq!(ask_early_by(Duration::from_secs(10), SLACK), Duration::ZERO);
        assert_eq!(ask_early_by(Duration::MAX, SLACK), Duration::ZERO);
    }

    #[test]
    fn no_wait_of_a_second_or_more_is_asked_early() {
        let large = Duration::from_millis(2);
        let just_under = Duration::from_secs(1) - Duration::from_nanos(1);
        assert_eq!(ask_early_by(just_under, large), large);
        assert_eq!(ask_early_by(Duration::from_secs(1), large), Duration::ZERO);
    }

    #[test]
    fn no_slack_asks_nothing_early() {
        assert_eq!(
            ask_early_by(Duration::from_micros(100), Duration::ZERO),
            Duration::ZERO
        );
        let huge = Duration::MAX;
        assert_eq!(ask_early_by(Duration::from_secs(1), huge), Duration::ZERO);
    }
}
