//! poll(2) selector: the portable fallback for Unix systems (and sandboxes)
//! where epoll or kqueue is missing or broken. Forced on any Unix with
//! `--cfg nbio_force_poll`.
//!
//! # Design
//!
//! The registration table lives in user space behind a mutex: one entry per
//! fd with its token, its registered interests and the subset currently
//! *armed*. `select` copies the armed entries into a private `pollfd` array
//! (only when the table changed since the last copy), calls `poll(2)` on it
//! **without** holding the lock, then maps the results back through the table.
//!
//! * **Edge-triggered emulation.** When an entry reports a condition (data
//!   readable, priority data, peer half-close, writable), that condition is
//!   disarmed. The conditions of a direction are re-armed only when an I/O
//!   operation in that direction returns `WouldBlock` through the source's
//!   `do_io` hook, or by `reregister`. A read that blocks never
//!   re-arms writable interest, so a reader is never woken by a spurious
//!   writable event (the problem of mio#1963). An entry with every
//!   direction disarmed stays in the poll array with no requested events,
//!   so hang-ups, errors and closed fds (which poll(2) always reports) still
//!   surface, as they do with epoll; once a hang-up or error has been
//!   reported the entry goes quiet until it is re-armed, so a persistent
//!   condition cannot make the loop spin.
//! * **Cross-thread changes.** Registering, reregistering, deregistering or
//!   re-arming from another thread while a `select` is blocked marks the
//!   table dirty and pokes an internal notifier (slot 0 of the poll array),
//!   so the blocked call copies the new table and polls again with the time
//!   it has left. Results for entries that were removed or replaced while the
//!   call was blocked are recognised by a per-registration id and dropped.
//! * **Closed fds.** An fd closed while registered reports `POLLNVAL`; its
//!   entry is dropped from the table instead of being polled forever.
//! * **Waker.** The public `Waker` sets a "wake pending" flag and pokes the
//!   same notifier; `select` reports the waker's token as readable.
//!
//! # Platform quirks and the man pages relied on
//!
//! * poll(2) always reports `POLLERR`, `POLLHUP` and `POLLNVAL`, requested
//!   or not (poll(2), "revents"): that is what keeps fully disarmed entries
//!   useful, and why an entry goes quiet after reporting one.
//! * `POLLNVAL` means the fd is not open (poll(2)): the entry is dropped.
//! * `POLLRDHUP` exists only on Linux and Android (poll(2), "POLLRDHUP (since
//!   Linux 2.6.17)"); elsewhere a half-close shows only as readable (EOF).
//! * `EAGAIN` from poll(2) ("allocation of internal data structures failed")
//!   is treated as "nothing ready" and the wait is repeated; `EINTR` is
//!   returned as `Interrupted`.
//! * The timeout is in milliseconds (poll(2)); it is rounded up, never down
//!   to a busy loop, and clamped to `c_int::MAX`.
//!
//! # Trade-offs
//!
//! Each `select` costs O(number of registered fds) in the kernel, and again
//! in user space when the table changed; epoll and kqueue cost O(ready).
//! Edges are emulated, so only I/O performed through nbio (or `try_io`)
//! re-arms a source: a `SourceFd` registration fires once per direction
//! until it is reregistered. There is no selector fd, so `Poll` and
//! `Registry` do not implement `AsRawFd`/`AsFd` with this backend.

// With `os-poll` alone nothing can be registered (no sockets, no SourceFd).
#![cfg_attr(not(any(feature = "net", feature = "os-ext")), allow(dead_code))]

use crate::sys::unix::timeout_ms;
use crate::sys::unix::waker::Notifier;
use crate::{Interest, Token};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use std::{fmt, io};

/// A handle to one poll(2) selector; clones share it.
#[derive(Clone)]
pub(crate) struct Selector {
    shared: Arc<Shared>,
}

struct Shared {
    table: Mutex<Table>,
    /// The table changed since `select` last copied it.
    dirty: AtomicBool,
    /// A `select` call is (about to be) blocked in `poll(2)`.
    polling: AtomicBool,
    /// Interrupts a blocked `poll(2)`; always slot 0 of the poll array.
    notifier: Notifier,
    /// The `Waker`'s token (every `usize` is a valid token, so whether
    /// there is a waker at all is `has_waker`).
    waker_token: AtomicUsize,
    has_waker: AtomicBool,
    wake_pending: AtomicBool,
    /// The poll array, used only by the (single) polling thread.
    scratch: Mutex<Scratch>,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    /// `slot_of_fd[fd]` is the entry index plus one, or zero.
    slot_of_fd: Vec<u32>,
    next_id: u64,
}

#[derive(Clone, Copy)]
struct Entry {
    fd: RawFd,
    id: u64,
    token: Token,
    interests: Interest,
    /// poll(2) flags currently requested: a subset of `interests`' flags.
    armed: libc::c_short,
    /// A hang-up or error was reported and nothing re-armed the entry since:
    /// leave it out of the poll array.
    quiet: bool,
}

#[derive(Default)]
struct Scratch {
    fds: Vec<libc::pollfd>,
    /// Registration id of each `fds` entry (index 0: the notifier).
    ids: Vec<u64>,
}

/// poll(2) flags for each interest.
const READ_FLAGS: libc::c_short = libc::POLLIN | libc::POLLPRI | RDHUP;
const WRITE_FLAGS: libc::c_short = libc::POLLOUT;
#[cfg(any(target_os = "linux", target_os = "android"))]
const RDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const RDHUP: libc::c_short = 0;

fn interest_flags(interests: Interest) -> libc::c_short {
    let mut flags = 0;
    if interests.is_readable() {
        flags |= libc::POLLIN | RDHUP;
    }
    if interests.is_writable() {
        flags |= WRITE_FLAGS;
    }
    if interests.is_priority() {
        flags |= libc::POLLPRI;
    }
    flags
}

fn direction_flags(direction: Interest) -> libc::c_short {
    let mut flags = 0;
    if direction.is_readable() {
        flags |= READ_FLAGS;
    }
    if direction.is_writable() {
        flags |= WRITE_FLAGS;
    }
    flags
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        Ok(Selector {
            shared: Arc::new(Shared {
                table: Mutex::new(Table::default()),
                dirty: AtomicBool::new(true),
                polling: AtomicBool::new(false),
                notifier: Notifier::new()?,
                waker_token: AtomicUsize::new(0),
                has_waker: AtomicBool::new(false),
                wake_pending: AtomicBool::new(false),
                scratch: Mutex::new(Scratch::default()),
            }),
        })
    }

    pub(crate) fn try_clone(&self) -> io::Result<Selector> {
        Ok(self.clone())
    }

    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        if events.capacity() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "`Events` has zero capacity: poll cannot return any event",
            ));
        }
        let shared = &*self.shared;
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut scratch = lock(&shared.scratch);
        let mut first = true;
        loop {
            // Publish "polling" before checking for changes; writers publish
            // their change before checking "polling". With both SeqCst, at
            // least one side sees the other: either this copy includes the
            // change or the writer pokes the notifier.
            shared.polling.store(true, Ordering::SeqCst);
            if shared.dirty.swap(false, Ordering::SeqCst) {
                self.copy_table(&mut scratch);
            }
            let wait = match (timeout, deadline) {
                (None, _) => None,
                (Some(_), None) => Some(Duration::MAX),
                // The first wait uses the caller's timeout as given, so a
                // sub-millisecond one still rounds up to 1 ms instead of
                // shrinking to zero while this loop is set up.
                (Some(t), Some(_)) if first => Some(t),
                (Some(_), Some(end)) => Some(end.saturating_duration_since(Instant::now())),
            };
            first = false;
            let res = poll(&mut scratch.fds, wait);
            shared.polling.store(false, Ordering::SeqCst);
            let ready = res?;
            if ready > 0 {
                self.collect(&mut scratch, events)?;
            }
            // `deadline` is `None` for no timeout and for one too large to
            // represent, which never expires either.
            let expired = deadline.is_some_and(|end| Instant::now() >= end);
            // Only internal activity (a notifier poke, stale results):
            // poll again with the time left.
            if !events.is_empty() || expired || timeout == Some(Duration::ZERO) {
                return Ok(());
            }
        }
    }

    /// Copies the armed table entries into the poll array.
    fn copy_table(&self, scratch: &mut Scratch) {
        let table = lock(&self.shared.table);
        let Scratch { fds, ids } = scratch;
        fds.clear();
        ids.clear();
        fds.push(libc::pollfd {
            fd: self.shared.notifier.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        ids.push(0);
        for entry in table.entries.iter().filter(|e| !e.quiet) {
            fds.push(libc::pollfd {
                fd: entry.fd,
                events: entry.armed,
                revents: 0,
            });
            ids.push(entry.id);
        }
    }

    /// Turns poll results into events, disarming what was reported.
    fn collect(&self, scratch: &mut Scratch, events: &mut Events) -> io::Result<()> {
        let shared = &*self.shared;
        if scratch.fds[0].revents != 0 {
            scratch.fds[0].revents = 0;
            shared.notifier.drain()?;
        }
        // A wake is reported whenever one is pending, whether or not this
        // particular poll saw the notifier (it may have been drained by an
        // earlier pass).
        if shared.wake_pending.swap(false, Ordering::AcqRel)
            && shared.has_waker.load(Ordering::Acquire)
        {
            events.push(Event {
                token: shared.waker_token.load(Ordering::Acquire),
                revents: libc::POLLIN,
            });
        }
        let mut table = lock(&shared.table);
        let mut changed = false;
        let Scratch { fds, ids } = scratch;
        for (pfd, &id) in fds.iter_mut().zip(ids.iter()).skip(1) {
            if pfd.revents == 0 {
                continue;
            }
            if events.len() == events.capacity() {
                // Left armed: reported by the next call.
                break;
            }
            let revents = std::mem::take(&mut pfd.revents);
            let Some(index) = table
                .index_of(pfd.fd)
                .filter(|&i| table.entries[i].id == id)
            else {
                // Removed or replaced while we were polling.
                continue;
            };
            if revents & libc::POLLNVAL != 0 {
                // Closed without deregistering: forget it.
                table.remove(index);
                changed = true;
                continue;
            }
            let entry = &mut table.entries[index];
            // Report only what is still wanted (a concurrent reregister may
            // have changed the interests); errors and hang-ups always count.
            let wanted = entry.armed | libc::POLLERR | libc::POLLHUP;
            let revents = revents & wanted;
            if revents == 0 {
                continue;
            }
            events.push(Event {
                token: entry.token.0,
                revents,
            });
            // Disarm exactly the conditions that were reported: a later,
            // different condition (say a half-close after data was read
            // but not drained) is a new edge, as it is for epoll.
            entry.armed &= !revents;
            if revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                entry.quiet = true;
            }
            changed = true;
        }
        drop(table);
        if changed {
            shared.dirty.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Registers a raw fd (`SourceFd`).
    pub(crate) fn register(&self, fd: RawFd, token: Token, interests: Interest) -> io::Result<()> {
        self.add(fd, token, interests).map(drop)
    }

    /// Reregisters a raw fd, re-arming every registered direction.
    pub(crate) fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.modify(fd, None, token, interests)
    }

    /// Deregisters a raw fd.
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.remove(fd, None)
    }

    /// Adds an fd; returns the registration id.
    pub(crate) fn add(&self, fd: RawFd, token: Token, interests: Interest) -> io::Result<u64> {
        // poll(2) would only report a bad fd later, as POLLNVAL; check now so
        // the caller gets the error where it made the mistake, as with epoll.
        // SAFETY: F_GETFD only reads the descriptor flags of `fd`; an
        // invalid fd makes it fail with EBADF and has no other effect.
        if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        if fd == self.shared.notifier.as_raw_fd() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot register the poll selector's internal notification fd",
            ));
        }
        let id = {
            let mut table = lock(&self.shared.table);
            if table.index_of(fd).is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "fd already registered with this poll selector \
                     (was it closed without being deregistered?)",
                ));
            }
            table.insert(fd, token, interests)
        };
        self.changed();
        Ok(id)
    }

    /// Replaces the token and interests of `fd` (of registration `id` when
    /// given) and re-arms all of its interests.
    pub(crate) fn modify(
        &self,
        fd: RawFd,
        id: Option<u64>,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        {
            let mut table = lock(&self.shared.table);
            let index = table.find(fd, id)?;
            let entry = &mut table.entries[index];
            entry.token = token;
            entry.interests = interests;
            entry.armed = interest_flags(interests);
            entry.quiet = false;
        }
        self.changed();
        Ok(())
    }

    /// Removes `fd` (of registration `id` when given).
    pub(crate) fn remove(&self, fd: RawFd, id: Option<u64>) -> io::Result<()> {
        {
            let mut table = lock(&self.shared.table);
            let index = table.find(fd, id)?;
            table.remove(index);
        }
        self.changed();
        Ok(())
    }

    /// Re-arms `direction` of registration `id` after an operation in that
    /// direction returned `WouldBlock`.
    pub(crate) fn rearm(&self, fd: RawFd, id: u64, direction: Interest) {
        let rearmed = {
            let mut table = lock(&self.shared.table);
            match table.find(fd, Some(id)) {
                Ok(index) => {
                    let entry = &mut table.entries[index];
                    let flags = interest_flags(entry.interests) & direction_flags(direction);
                    let before = (entry.armed, entry.quiet);
                    entry.armed |= flags;
                    entry.quiet &= flags == 0;
                    (entry.armed, entry.quiet) != before
                }
                Err(_) => false,
            }
        };
        if rearmed {
            self.changed();
        }
    }

    /// `true` if both handles refer to the same selector.
    pub(crate) fn same_as(&self, other: &Selector) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Marks the table dirty and, if a `select` may be blocked, pokes it.
    fn changed(&self) {
        self.shared.dirty.store(true, Ordering::SeqCst);
        if self.shared.polling.load(Ordering::SeqCst) {
            // A failed poke can only mean the notifier is broken; the change
            // still takes effect at the next `select`.
            let _ = self.shared.notifier.notify();
        }
    }

    fn set_waker(&self, token: Token) {
        self.shared.waker_token.store(token.0, Ordering::Release);
        self.shared.has_waker.store(true, Ordering::Release);
    }

    /// Coalesced: only the wake that finds no wake pending pokes the
    /// notifier. `collect` clears the flag when it reports the wake, before
    /// `select` returns, so a wake after that delivery always pokes again and
    /// a skipped wake is merged into an event still to be delivered (the
    /// argument of `waker/coalesce.rs`).
    fn wake(&self) -> io::Result<()> {
        if self.shared.wake_pending.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let res = self.shared.notifier.notify();
        if res.is_err() {
            self.shared.wake_pending.store(false, Ordering::Release);
        }
        res
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("notifier", &self.shared.notifier)
            .finish_non_exhaustive()
    }
}

impl Table {
    fn index_of(&self, fd: RawFd) -> Option<usize> {
        let slot = *self.slot_of_fd.get(usize::try_from(fd).ok()?)?;
        (slot != 0).then(|| slot as usize - 1)
    }

    fn find(&self, fd: RawFd, id: Option<u64>) -> io::Result<usize> {
        match self.index_of(fd) {
            Some(index) if id.map_or(true, |id| self.entries[index].id == id) => Ok(index),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "fd not registered with this poll selector",
            )),
        }
    }

    fn insert(&mut self, fd: RawFd, token: Token, interests: Interest) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let fd_index = fd as usize;
        if self.slot_of_fd.len() <= fd_index {
            self.slot_of_fd.resize(fd_index + 1, 0);
        }
        self.entries.push(Entry {
            fd,
            id,
            token,
            interests,
            armed: interest_flags(interests),
            quiet: false,
        });
        self.slot_of_fd[fd_index] = self.entries.len() as u32;
        id
    }

    fn remove(&mut self, index: usize) {
        let removed = self.entries.swap_remove(index);
        self.slot_of_fd[removed.fd as usize] = 0;
        if let Some(moved) = self.entries.get(index) {
            self.slot_of_fd[moved.fd as usize] = index as u32 + 1;
        }
    }
}

/// Locks a mutex, ignoring poisoning: the data it guards stays consistent
/// because no code panics while holding these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One `poll(2)` call (timeout conversion as for epoll: rounded up, clamped).
fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let timeout_ms = timeout_ms(timeout);
    // SAFETY: `fds` is a valid, initialised slice of `pollfd`s and its
    // length is passed alongside; the kernel writes only `revents`.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        // EAGAIN: the kernel ran short of memory; nothing was reported.
        if err.raw_os_error() == Some(libc::EAGAIN) {
            return Ok(0);
        }
        return Err(err);
    }
    Ok(n as usize)
}

/// An event produced by the poll(2) selector.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    token: usize,
    revents: libc::c_short,
}

pub(crate) type Events = Vec<Event>;

/// Accessors for poll(2) events, following the same flag mapping as epoll.
pub(crate) mod event {
    use super::{Event, RDHUP};
    use crate::Token;
    use std::fmt;

    pub(crate) fn token(event: &Event) -> Token {
        Token(event.token)
    }

    pub(crate) fn is_readable(event: &Event) -> bool {
        event.revents & (libc::POLLIN | libc::POLLPRI) != 0
    }

    pub(crate) fn is_writable(event: &Event) -> bool {
        event.revents & libc::POLLOUT != 0
    }

    pub(crate) fn is_error(event: &Event) -> bool {
        event.revents & libc::POLLERR != 0
    }

    pub(crate) fn is_read_closed(event: &Event) -> bool {
        event.revents & (libc::POLLHUP | RDHUP) != 0
    }

    pub(crate) fn is_write_closed(event: &Event) -> bool {
        let r = event.revents;
        r & libc::POLLHUP != 0
            || (r & libc::POLLOUT != 0 && r & libc::POLLERR != 0)
            || r == libc::POLLERR
    }

    pub(crate) fn is_priority(event: &Event) -> bool {
        event.revents & libc::POLLPRI != 0
    }

    pub(crate) fn is_aio(_: &Event) -> bool {
        false
    }

    pub(crate) fn is_lio(_: &Event) -> bool {
        false
    }

    /// `{:#?}` view of the raw record.
    pub(crate) struct Details<'a>(pub(crate) &'a Event);

    impl fmt::Debug for Details<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("pollfd")
                .field("token", &self.0.token)
                .field("revents", &format_args!("{:#06x}", self.0.revents))
                .finish()
        }
    }
}

/// The public `Waker` on this selector: a flag plus a poke of the
/// selector's own notifier.
#[derive(Debug)]
pub(crate) struct Waker {
    selector: Selector,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        selector.set_waker(token);
        Ok(Waker {
            selector: selector.clone(),
        })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.selector.wake()
    }
}

/// Per-source state: the registration (selector handle, fd, id), used to
/// re-arm on `WouldBlock` and to deregister when the source is dropped.
pub(crate) struct IoSourceState {
    registration: Option<Registration>,
}

struct Registration {
    selector: Selector,
    fd: RawFd,
    id: u64,
}

impl IoSourceState {
    pub(crate) fn new() -> IoSourceState {
        IoSourceState { registration: None }
    }

    #[inline]
    pub(crate) fn do_io<T, F, R>(&self, direction: Interest, f: F, io: &T) -> io::Result<R>
    where
        F: FnOnce(&T) -> io::Result<R>,
    {
        let result = f(io);
        if let Err(err) = &result {
            if err.kind() == io::ErrorKind::WouldBlock {
                if let Some(reg) = &self.registration {
                    reg.selector.rearm(reg.fd, reg.id, direction);
                }
            }
        }
        result
    }

    pub(crate) fn register(
        &mut self,
        selector: &Selector,
        token: Token,
        interests: Interest,
        fd: RawFd,
    ) -> io::Result<()> {
        // Plain error kinds, as the kernel selectors give in release builds
        // (debug builds report misuse earlier, with mio's messages).
        if self.registration.is_some() {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let id = selector.add(fd, token, interests)?;
        self.registration = Some(Registration {
            selector: selector.clone(),
            fd,
            id,
        });
        Ok(())
    }

    pub(crate) fn reregister(
        &mut self,
        selector: &Selector,
        token: Token,
        interests: Interest,
        fd: RawFd,
    ) -> io::Result<()> {
        match &self.registration {
            Some(reg) if reg.selector.same_as(selector) && reg.fd == fd => {
                selector.modify(fd, Some(reg.id), token, interests)
            }
            // Not registered with *this* selector: epoll's ENOENT.
            _ => Err(io::ErrorKind::NotFound.into()),
        }
    }

    pub(crate) fn deregister(&mut self, selector: &Selector, fd: RawFd) -> io::Result<()> {
        match &self.registration {
            Some(reg) if reg.selector.same_as(selector) && reg.fd == fd => {
                let reg = self.registration.take().expect("checked above");
                match selector.remove(fd, Some(reg.id)) {
                    // Dropped by the selector after a POLLNVAL: already gone.
                    Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
                    res => res,
                }
            }
            _ => Err(io::ErrorKind::NotFound.into()),
        }
    }
}

impl Drop for IoSourceState {
    fn drop(&mut self) {
        if let Some(reg) = self.registration.take() {
            // The fd is about to be closed: forget it. NotFound (already
            // dropped after POLLNVAL) is fine.
            let _ = reg.selector.remove(reg.fd, Some(reg.id));
        }
    }
}
