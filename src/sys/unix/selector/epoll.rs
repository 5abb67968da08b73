//! epoll selector (Linux, Android).
//!
//! Every registration is edge-triggered (`EPOLLET`); readable interest also
//! asks for `EPOLLRDHUP` so a peer's half-close is reported. The kernel keeps
//! all per-registration state, so sources need none of their own and events
//! are the kernel's `epoll_event` records, read in place.
//!
//! # Design notes and platform quirks
//!
//! Man page references are to epoll(7), epoll_ctl(2) and epoll_wait(2).
//!
//! * **Edge triggering** (epoll(7), "Level-triggered and edge-triggered"):
//!   an event is reported when readiness *changes*, so callers must drain
//!   until `EAGAIN`; that is nbio's documented contract on every backend.
//! * **Registrations belong to open file descriptions, not fds** (epoll(7),
//!   Q&A 6): closing an fd removes it only when no `dup` of it remains, so a
//!   duplicated fd keeps delivering events under the old token. Documented
//!   on `Source`; nothing here can detect it.
//! * **Regular files and directories are rejected with `EPERM`**
//!   (epoll_ctl(2) ERRORS); the error is returned unchanged.
//! * **`EEXIST` / `ENOENT`** for double registration and for modifying or
//!   deleting an unknown fd (epoll_ctl(2) ERRORS) map to `AlreadyExists` /
//!   `NotFound`; debug builds catch misuse of nbio's own sources earlier.
//! * **`EPOLL_CTL_DEL` with a null event** is allowed since Linux 2.6.9
//!   (epoll_ctl(2) BUGS).
//! * **Flag mapping** (epoll_ctl(2) "events"): `EPOLLHUP` means both
//!   directions are shut; `EPOLLRDHUP` (requested with readable interest) is
//!   the peer's half-close; a bare `EPOLLERR` on a pipe's write end means the
//!   reader is gone. A local `shutdown(SHUT_WR)` produces no event.
//! * **Timeouts**: `epoll_wait` takes milliseconds; a non-zero timeout is
//!   rounded *up* so it never becomes a busy loop, and clamped to
//!   `c_int::MAX` ms. Waits with a sub-millisecond part, and short waits
//!   asked for a timer slack early, use `epoll_pwait2` (nanoseconds) where
//!   the kernel has it: see `epoll_wait.rs`.
//! * **`EINTR`** (epoll_wait(2) ERRORS) is returned as `Interrupted`, never
//!   retried, so signal handlers can break the loop.
//! * **`maxevents` must be positive** (epoll_wait(2) ERRORS, `EINVAL`): an
//!   `Events` of capacity zero is rejected up front with a clear message.
//! * **Close-on-exec**: `epoll_create1(EPOLL_CLOEXEC)`, and `try_clone`
//!   duplicates with `F_DUPFD_CLOEXEC`. An epoll instance is shared across
//!   `fork`; a child must not use its parent's `Poll`.

use crate::sys::unix::cvt;
use crate::sys::unix::waker::{BeforeWait, WakeSlot};
use crate::{Interest, Token};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

/// One epoll instance. Clones (`try_clone`) are `dup`s of the same instance
/// and share the waker's coalescing slot.
#[derive(Debug)]
pub(crate) struct Selector {
    ep: OwnedFd,
    wake_slot: Arc<WakeSlot>,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        // SAFETY: `epoll_create1` takes only a flags argument and returns a
        // new file descriptor or -1.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just created by the kernel and is owned by nobody
        // else.
        let ep = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Selector {
            ep,
            wake_slot: Arc::new(WakeSlot::new()),
        })
    }

    pub(crate) fn try_clone(&self) -> io::Result<Selector> {
        // `OwnedFd::try_clone` duplicates with F_DUPFD_CLOEXEC.
        self.ep.try_clone().map(|ep| Selector {
            ep,
            wake_slot: Arc::clone(&self.wake_slot),
        })
    }

    #[inline]
    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        let capacity = events.capacity();
        if capacity == 0 {
            return Err(zero_capacity());
        }
        if self.wake_slot.is_claimed() {
            return self.select_with_waker(events, timeout);
        }
        super::epoll_wait::wait(self.ep.as_raw_fd(), events, capacity, timeout)?;
        // A `Waker` may have been created (through a cloned `Registry`)
        // during the wait, and its first write may be in this batch: the
        // slot must learn of the delivery, or the next `select` takes that
        // `WRITTEN` for a write still in the kernel and blocks while later
        // wakes only mark it `MISSED`. A waker that wrote
        // claimed the slot before writing, and the kernel orders that write
        // before this wait's return, so this load sees the claim.
        if self.wake_slot.is_claimed() {
            self.claimed_during_wait(events);
        }
        Ok(())
    }

    /// Records what a wait that began before the slot was claimed
    /// delivered (kept out of line: it happens at most around one wait).
    #[cold]
    #[inline(never)]
    fn claimed_during_wait(&self, events: &Events) {
        self.wake_slot
            .after_wait(events.iter().map(|e| e.u64 as usize));
    }

    /// `select` once a `Waker` coalesces through the slot.
    fn select_with_waker(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        if let BeforeWait::Report { token, after_batch } = self.wake_slot.before_wait(timeout) {
            return self.report_wake(events, token, after_batch);
        }
        let capacity = events.capacity();
        super::epoll_wait::wait(self.ep.as_raw_fd(), events, capacity, timeout)?;
        self.wake_slot
            .after_wait(events.iter().map(|e| e.u64 as usize));
        Ok(())
    }

    /// Returns a batch with the waker's event for a wake the kernel was
    /// never told about (see `waker/coalesce.rs`), plus whatever else is
    /// ready right now, leaving room for that one record; right after a
    /// kernel batch (`after_batch`), the record alone.
    #[cold]
    fn report_wake(&self, events: &mut Events, token: Token, after_batch: bool) -> io::Result<()> {
        let room = if after_batch {
            0
        } else {
            events.capacity() - 1
        };
        if room > 0 {
            let res =
                super::epoll_wait::wait(self.ep.as_raw_fd(), events, room, Some(Duration::ZERO));
            if let Err(err) = res {
                self.wake_slot.report_failed();
                return Err(err);
            }
        }
        let data = token.0 as u64;
        if events.iter().any(|e| e.u64 == data) {
            // The kernel reported the waker too: a write whose event was
            // still pending (a wake marked it `MISSED` before it was
            // delivered), or one made since the selector was exposed while
            // this wake was being reported. This batch delivers that write,
            // so the slot must learn so, as after any wait; otherwise it
            // would keep `WRITTEN` for a write still to come, and later
            // wakes would merge into nothing.
            self.wake_slot
                .after_wait(events.iter().map(|e| e.u64 as usize));
        } else {
            // Within capacity: at most `room` records were written.
            events.push(libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: data,
            });
        }
        Ok(())
    }

    /// The slot through which this selector's first `Waker` coalesces.
    pub(crate) fn wake_slot(&self) -> Option<Arc<WakeSlot>> {
        Some(Arc::clone(&self.wake_slot))
    }

    #[inline]
    pub(crate) fn register(&self, fd: RawFd, token: Token, interests: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interests)
    }

    // Used by `IoSource` and `SourceFd`, which `os-poll` alone does not build.
    #[allow(dead_code)]
    #[inline]
    pub(crate) fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, interests)
    }

    #[allow(dead_code)]
    #[inline]
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: since Linux 2.6.9 the event argument of EPOLL_CTL_DEL is
        // ignored and may be null; invalid fds are reported as errors.
        cvt(unsafe {
            libc::epoll_ctl(
                self.ep.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        })
        .map(drop)
    }

    #[inline]
    fn ctl(&self, op: libc::c_int, fd: RawFd, token: Token, interests: Interest) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: interests_to_epoll(interests),
            u64: token.0 as u64,
        };
        // SAFETY: `event` is a valid, initialised `epoll_event` that outlives
        // the call; invalid fds or ops are reported as errors.
        cvt(unsafe { libc::epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut event) }).map(drop)
    }
}

// Handing out the epoll fd lets others wait on it (an outer epoll, say), so
// the waker must from now on write for every wake they could need to see.
impl AsRawFd for Selector {
    fn as_raw_fd(&self) -> RawFd {
        self.wake_slot.expose();
        self.ep.as_raw_fd()
    }
}

impl AsFd for Selector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.wake_slot.expose();
        self.ep.as_fd()
    }
}

#[cold]
fn zero_capacity() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "`Events` has zero capacity: poll cannot return any event",
    )
}

/// Maps an `Interest` to epoll flags; always edge-triggered.
fn interests_to_epoll(interests: Interest) -> u32 {
    let mut kind = libc::EPOLLET;
    if interests.is_readable() {
        kind |= libc::EPOLLIN | libc::EPOLLRDHUP;
    }
    if interests.is_writable() {
        kind |= libc::EPOLLOUT;
    }
    if interests.is_priority() {
        kind |= libc::EPOLLPRI;
    }
    kind as u32
}

/// The raw event record filled in by `epoll_wait`.
pub(crate) type Event = libc::epoll_event;
/// The buffer `epoll_wait` writes into.
pub(crate) type Events = Vec<Event>;

/// Accessors for the raw `epoll_event`, per mio's documented flag mapping.
pub(crate) mod event {
    use super::Event;
    use crate::Token;
    use std::fmt;

    #[inline]
    fn flags(event: &Event) -> libc::c_int {
        // Copy out of the (possibly packed) struct before use.
        let events = event.events;
        events as libc::c_int
    }

    #[inline]
    pub(crate) fn token(event: &Event) -> Token {
        let data = event.u64;
        Token(data as usize)
    }

    #[inline]
    pub(crate) fn is_readable(event: &Event) -> bool {
        flags(event) & (libc::EPOLLIN | libc::EPOLLPRI) != 0
    }

    #[inline]
    pub(crate) fn is_writable(event: &Event) -> bool {
        flags(event) & libc::EPOLLOUT != 0
    }

    #[inline]
    pub(crate) fn is_error(event: &Event) -> bool {
        flags(event) & libc::EPOLLERR != 0
    }

    #[inline]
    pub(crate) fn is_read_closed(event: &Event) -> bool {
        let f = flags(event);
        // Both halves shut down, or the peer half-closed while readable.
        f & libc::EPOLLHUP != 0 || (f & libc::EPOLLIN != 0 && f & libc::EPOLLRDHUP != 0)
    }

    #[inline]
    pub(crate) fn is_write_closed(event: &Event) -> bool {
        let f = flags(event);
        // Both halves shut down; or an error on a writable socket; or a bare
        // EPOLLERR, which is how a pipe reports that its reader is gone.
        f & libc::EPOLLHUP != 0
            || (f & libc::EPOLLOUT != 0 && f & libc::EPOLLERR != 0)
            || f == libc::EPOLLERR
    }

    #[inline]
    pub(crate) fn is_priority(event: &Event) -> bool {
        flags(event) & libc::EPOLLPRI != 0
    }

    #[inline]
    pub(crate) fn is_aio(_: &Event) -> bool {
        false
    }

    #[inline]
    pub(crate) fn is_lio(_: &Event) -> bool {
        false
    }

    /// `{:#?}` view of the raw record: flag names and the user data.
    pub(crate) struct Details<'a>(pub(crate) &'a Event);

    impl fmt::Debug for Details<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            const NAMES: [(libc::c_int, &str); 9] = [
                (libc::EPOLLIN, "EPOLLIN"),
                (libc::EPOLLPRI, "EPOLLPRI"),
                (libc::EPOLLOUT, "EPOLLOUT"),
                (libc::EPOLLRDNORM, "EPOLLRDNORM"),
                (libc::EPOLLRDBAND, "EPOLLRDBAND"),
                (libc::EPOLLWRNORM, "EPOLLWRNORM"),
                (libc::EPOLLERR, "EPOLLERR"),
                (libc::EPOLLHUP, "EPOLLHUP"),
                (libc::EPOLLRDHUP, "EPOLLRDHUP"),
            ];
            struct Flags(libc::c_int);
            impl fmt::Debug for Flags {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    let mut first = true;
                    for (bit, name) in NAMES {
                        if self.0 & bit != 0 {
                            if !first {
                                f.write_str(" | ")?;
                            }
                            f.write_str(name)?;
                            first = false;
                        }
                    }
                    if first {
                        f.write_str("(empty)")?;
                    }
                    Ok(())
                }
            }
            let data = self.0.u64;
            f.debug_struct("epoll_event")
                .field("events", &Flags(flags(self.0)))
                .field("u64", &data)
                .finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BeforeWait, Events, Selector};
    use crate::sys::unix::waker::Waker;
    use crate::Token;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    const WAKER: Token = Token(7);

    /// The tokens of one zero-timeout `select`.
    fn tokens(selector: &Selector) -> Vec<usize> {
        let mut events = Events::with_capacity(8);
        selector
            .select(&mut events, Some(Duration::ZERO))
            .expect("select");
        events.iter().map(|e| e.u64 as usize).collect()
    }

    /// A selector whose next `select` reports a missed wake with a
    /// zero-timeout wait (a report after a report: one right after a
    /// kernel batch does not wait), stopped just after `before_wait`.
    /// Returns the waker too, and the token being reported.
    fn reporting_with_a_wait() -> (Selector, Waker, Token) {
        let selector = Selector::new().expect("selector");
        let waker = Waker::new(&selector, WAKER).expect("waker");
        waker.wake().expect("wake");
        assert_eq!(tokens(&selector), [WAKER.0], "first wake, from the kernel");
        waker.wake().expect("wake");
        assert_eq!(tokens(&selector), [WAKER.0], "second wake, reported");
        waker.wake().expect("wake");
        let BeforeWait::Report {
            token,
            after_batch: false,
        } = selector.wake_slot.before_wait(Some(Duration::ZERO))
        else {
            panic!("a missed wake must be reported, after a wait");
        };
        (selector, waker, token)
    }

    /// Replays an interleaving threads can produce: a `select` is reporting
    /// a missed wake, the selector's fd is handed out, and the report's
    /// zero-timeout wait fails (say, `EINTR`). The wake must still reach
    /// the kernel, where a waiter on the fd can see it.
    #[test]
    fn a_report_that_fails_after_the_fd_was_handed_out_still_delivers() {
        let (selector, _waker, _) = reporting_with_a_wait();
        let _ = selector.as_raw_fd();
        selector.wake_slot.report_failed();
        assert_eq!(tokens(&selector), [WAKER.0], "the wake was lost");
    }

    /// Replays, in one thread, an interleaving that threads can produce: a
    /// `select` is reporting a missed wake when the selector's fd is handed
    /// out, and a wake lands before the report's zero-timeout wait, which
    /// then collects that wake's write from the kernel. A wake after that
    /// must still produce an event.
    #[test]
    fn a_wake_written_during_a_report_is_delivered_by_it() {
        let (selector, waker, token) = reporting_with_a_wait();
        // The fd is handed out here, then a wake writes to the notifier.
        let _ = selector.as_raw_fd();
        waker.wake().expect("wake");
        let mut events = Events::with_capacity(8);
        selector
            .report_wake(&mut events, token, false)
            .expect("report");
        let reported: Vec<usize> = events.iter().map(|e| e.u64 as usize).collect();
        assert_eq!(reported, [WAKER.0], "the report carries the wake once");
        // Nothing is pending now; a new wake must reach the kernel.
        assert!(tokens(&selector).is_empty(), "nothing left over");
        waker.wake().expect("wake");
        assert_eq!(tokens(&selector), [WAKER.0], "a later wake is not lost");
    }
}
