//! kqueue waker: an `EVFILT_USER` knote on the `Poll`'s own kqueue (macOS
//! and the other Apple systems, FreeBSD, DragonFly). No extra file
//! descriptor, no pipe to drain: a wake is one `kevent` call.
//!
//! # How the knote is used, and why
//!
//! kqueue(2) (FreeBSD and macOS; `EVFILT_USER` under the filter list)
//! describes `EVFILT_USER` as a user event "identified by ident which is not
//! associated with any kernel mechanism but is triggered by user level code":
//! a change carrying `NOTE_TRIGGER` in `fflags` triggers it. Everything else
//! follows from the generic flag descriptions on the same page:
//!
//! * **Registered once, with `EV_ADD | EV_CLEAR`.** `EV_CLEAR`: "After the
//!   event is retrieved by the user, its state is reset." For a user event
//!   that state *is* the trigger, so each delivery re-arms the knote: a
//!   wake after the previous wake event was delivered triggers it again and
//!   yields a new event, while several wakes before the next `poll` only
//!   re-trigger an already triggered knote and coalesce into one event (a
//!   knote is queued at most once). Without `EV_CLEAR` the trigger would
//!   stay set after delivery and every later `poll` would return the event
//!   at once: a busy loop.
//! * **Woken without `EV_ADD`.** `EV_ADD`: "Re-adding an existing event will
//!   modify the parameters of the original event". A trigger that re-adds
//!   the knote without repeating `EV_CLEAR` may therefore replace its flags
//!   and leave it level-triggered, the busy loop above; that is the failure
//!   reported in smol-rs/polling#265. A change without `EV_ADD` refers to
//!   the existing knote (kqueue(2) ERRORS: `ENOENT` "The event could not be
//!   found to be modified"), so `wake` submits `NOTE_TRIGGER` with no action
//!   flag at all, cannot create or re-create anything, and still names
//!   `EV_CLEAR`, so that a kernel which did take a modification's flags
//!   would keep the knote edge-style. No `EV_ENABLE` is needed: the knote is
//!   never disabled (no `EV_DISABLE`/`EV_DISPATCH`), and no `EV_ONESHOT`,
//!   which would delete the knote on delivery and force the next wake to
//!   re-add it.
//! * **`udata` carries the token on every change.** FreeBSD copies the
//!   change's `udata` into the knote on any modification, not only on
//!   `EV_ADD`, so a trigger with a zero `udata` would turn the token into
//!   `Token(0)`.
//! * **Its own ident.** A knote is identified by `(ident, filter)`, so an
//!   `EVFILT_USER` ident cannot collide with the fd-based `EVFILT_READ` and
//!   `EVFILT_WRITE` knotes even when it equals an fd number. Each `Waker`
//!   also takes a fresh ident from a process-wide counter, so wakers created
//!   on the same `Poll` (a misuse that only debug builds reject) stay
//!   separate knotes instead of overwriting each other's token.
//! * **Errors, one change at a time.** Registration, trigger and removal are
//!   single changes submitted with an empty event list and no `EV_RECEIPT`:
//!   kqueue(2) RETURN VALUES says a failing change that finds no room in the
//!   event list makes `kevent` return -1 with that errno, which is all that
//!   is needed (with `EV_RECEIPT` and no room FreeBSD returns right after the
//!   first change, so receipts are only used where there is room for them,
//!   in the selector). The zero timeout means the call never waits; `EINTR`
//!   is retried, since triggering twice is the same as triggering once.
//! * **Lifetime.** The waker holds a `dup` of the kqueue fd (the selector's
//!   `try_clone`), so it stays valid however long the `Waker` outlives the
//!   `Poll`. `EVFILT_USER` knotes are not tied to an fd and would live as
//!   long as the kqueue, so dropping the `Waker` deletes its knote (a
//!   pending, undelivered wake is discarded with it; events are only
//!   promised while the `Waker` is alive).
//!
//! The delivered event has filter `EVFILT_USER`, which the selector reports
//! as readable, and the token in `udata`.

use crate::sys::Selector;
use crate::Token;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Source of `EVFILT_USER` idents, one per `Waker`.
static NEXT_IDENT: AtomicUsize = AtomicUsize::new(0);

/// The timeout for submitting a change: return at once.
const NO_WAIT: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

#[derive(Debug)]
pub(crate) struct Waker {
    /// A `dup` of the `Poll`'s kqueue.
    kq: Selector,
    /// This waker's `EVFILT_USER` ident.
    ident: libc::uintptr_t,
    token: Token,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        let kq = selector.try_clone()?;
        let ident = NEXT_IDENT.fetch_add(1, Ordering::Relaxed);
        let mut kev = user_kevent(ident, token);
        kev.flags = libc::EV_ADD | libc::EV_CLEAR;
        submit(&kq, &kev)?;
        Ok(Waker { kq, ident, token })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        let mut kev = user_kevent(self.ident, self.token);
        // No action flag: modify the existing knote only (module docs).
        kev.flags = libc::EV_CLEAR;
        kev.fflags = libc::NOTE_TRIGGER;
        submit(&self.kq, &kev)
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        let mut kev = user_kevent(self.ident, self.token);
        kev.flags = libc::EV_DELETE;
        // Nothing useful can be done with an error here; the knote goes
        // away with the kqueue in any case.
        let _ = submit(&self.kq, &kev);
    }
}

/// A zeroed `EVFILT_USER` change for `ident` carrying `token`.
fn user_kevent(ident: libc::uintptr_t, token: Token) -> libc::kevent {
    // SAFETY: `kevent` is plain data (integers and the `udata` pointer), for
    // which all-zero bytes are a valid value; this also zeroes FreeBSD's
    // `ext` array.
    let mut kev: libc::kevent = unsafe { std::mem::zeroed() };
    kev.ident = ident;
    kev.filter = libc::EVFILT_USER;
    // The token as an integer in the pointer-typed field; never
    // dereferenced.
    kev.udata = token.0 as _;
    kev
}

/// Submits one change; an error in it comes back as the call's errno.
fn submit(kq: &Selector, change: &libc::kevent) -> io::Result<()> {
    loop {
        // SAFETY: `change` is one initialised record the kernel only reads;
        // the event list is empty (null, 0), so nothing is written back;
        // `NO_WAIT` is a valid `timespec` that outlives the call.
        let res = unsafe { libc::kevent(kq.as_raw_fd(), change, 1, ptr::null_mut(), 0, &NO_WAIT) };
        if res != -1 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

// These run only where this waker is built (macOS, FreeBSD, DragonFly...).
#[cfg(test)]
mod tests {
    use super::Waker;
    use crate::sys::{event, Events, Selector};
    use crate::Token;
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    /// Bound for every wait that expects an event.
    const DEADLINE: Duration = Duration::from_secs(10);

    fn wait(selector: &Selector, timeout: Duration) -> Events {
        let mut events = Events::with_capacity(8);
        selector.select(&mut events, Some(timeout)).unwrap();
        events
    }

    #[test]
    fn wakes_coalesce_and_rearm_without_busy_looping() {
        let selector = Selector::new().unwrap();
        let token = Token(usize::MAX);
        let waker = Waker::new(&selector, token).unwrap();
        assert!(wait(&selector, Duration::ZERO).is_empty());

        waker.wake().unwrap();
        waker.wake().unwrap();
        let events = wait(&selector, DEADLINE);
        assert_eq!(events.len(), 1, "{:?}", events);
        assert_eq!(event::token(&events[0]), token);
        assert!(event::is_readable(&events[0]));
        assert!(!event::is_error(&events[0]));
        // Delivered once: the knote did not turn level-triggered.
        assert!(wait(&selector, Duration::ZERO).is_empty());
        assert!(wait(&selector, Duration::ZERO).is_empty());

        // A wake after delivery is a new event, with the same token.
        waker.wake().unwrap();
        let events = wait(&selector, DEADLINE);
        assert_eq!(events.len(), 1, "{:?}", events);
        assert_eq!(event::token(&events[0]), token);
        assert!(wait(&selector, Duration::ZERO).is_empty());
    }

    #[test]
    fn wake_from_another_thread() {
        let selector = Selector::new().unwrap();
        let waker = Arc::new(Waker::new(&selector, Token(7)).unwrap());
        let waker2 = Arc::clone(&waker);
        let handle = thread::spawn(move || waker2.wake().unwrap());
        let events = wait(&selector, DEADLINE);
        handle.join().unwrap();
        assert_eq!(events.len(), 1, "{:?}", events);
        assert_eq!(event::token(&events[0]), Token(7));
    }

    #[test]
    fn waker_outlives_the_selector_and_its_drop_removes_the_knote() {
        let selector = Selector::new().unwrap();
        let clone = selector.try_clone().unwrap();
        let waker = Waker::new(&selector, Token(1)).unwrap();
        drop(selector);
        waker.wake().unwrap();
        drop(waker);
        // The pending wake went with the knote.
        assert!(wait(&clone, Duration::ZERO).is_empty());
    }

    #[test]
    fn wakers_on_one_queue_keep_their_own_tokens() {
        let selector = Selector::new().unwrap();
        let first = Waker::new(&selector, Token(1)).unwrap();
        let second = Waker::new(&selector, Token(2)).unwrap();
        first.wake().unwrap();
        let events = wait(&selector, DEADLINE);
        assert_eq!(events.len(), 1, "{:?}", events);
        assert_eq!(event::token(&events[0]), Token(1));
        second.wake().unwrap();
        let events = wait(&selector, DEADLINE);
        assert_eq!(events.len(), 1, "{:?}", events);
        assert_eq!(event::token(&events[0]), Token(2));
    }
}
