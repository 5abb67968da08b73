//! Event-port selector (illumos, Solaris).
//!
//! One event port (`port_create(3C)`) per `Poll`. File descriptors are
//! associated with it through `port_associate(3C)` (source
//! `PORT_SOURCE_FD`), events are collected with `port_getn(3C)`, and the
//! public `Waker` posts a user event with `port_send(3C)`.
//!
//! # Design
//!
//! A user-space table behind a mutex holds one entry per registered fd: its
//! token, its interests, the subset of poll(2) conditions currently *armed*,
//! and a registration id. The id is what each association carries as its
//! `portev_user` cookie; the token is looked up in the table when the event
//! is processed, so a `reregister` that changes the token takes effect even
//! for an event already retrieved.
//!
//! Edge-triggered readiness is emulated exactly as in the poll(2) selector:
//! a reported condition is disarmed, and the conditions of a direction are
//! re-armed only when an I/O operation in that direction returns
//! `WouldBlock` through the source's `do_io` hook, or by `reregister`. A
//! read that blocks never re-arms writable interest, so a reader is never
//! woken by a spurious writable event (the problem of mio#1963).
//!
//! # Platform facts relied on (man pages, and where they are silent the
//! illumos kernel sources `portfs/port.c`, `portfs/port_fd.c`,
//! `syscall/poll.c`, read for behaviour only)
//!
//! * **Associations are one-shot** (port_associate(3C): "When an event for a
//!   `PORT_SOURCE_FD` object is retrieved, the object no longer has an
//!   association with the port"). After every delivered event the selector
//!   re-associates the fd itself with the conditions that are still armed;
//!   `do_io` and `reregister` re-associate after changing what is armed.
//!   Re-associating an already associated fd "serves to update the events
//!   and user arguments" and also discards an event of that fd that fired
//!   but was not yet retrieved; either way the kernel polls the fd again at
//!   association time, so no readiness is lost.
//! * **Hang-ups and errors need no interest.** As with poll(2), whose
//!   `POLLHUP`/`POLLERR` "are always set in revents if the conditions they
//!   indicate are true", the port layer delivers them whatever events were
//!   asked for (the kernel masks delivered events with the requested ones
//!   plus `POLLHUP | POLLERR`). An fd whose every condition is disarmed is
//!   therefore still associated, with an empty event set, so a hang-up or
//!   error still surfaces, as it does with epoll. Once one has been
//!   reported the fd is dissociated ("quiet") until something re-arms it,
//!   so a persistent hang-up cannot make the loop spin.
//! * **`port_getn` and time-outs** (port_getn(3C)): `nget = 1` with
//!   `max = capacity` returns as soon as one event is available and
//!   retrieves up to `max`. On `ETIME` "nget is updated with the number of
//!   returned `port_event_t` structures", so events delivered together with
//!   a time-out are kept, not dropped. On any other failure (`EINTR` in
//!   particular) libc leaves `nget` untouched and the kernel has delivered
//!   nothing, so nothing is read; `EINTR` is returned as `Interrupted`, as
//!   epoll does. The time-out is a full-precision `timespec` (no rounding to
//!   milliseconds); `None` passes a null pointer, `Some(ZERO)` a zeroed
//!   timespec ("to poll for an event without waiting"). Very long waits are
//!   clamped to a year per call and the wait is resumed, because the kernel
//!   adds the time-out to the current wall-clock time.
//! * **Internal-only batches.** A batch may hold only stale events (an fd
//!   deregistered, replaced or reregistered while `port_getn` was
//!   collecting) or events with nothing left to report; if the caller's
//!   time-out has not expired, `select` waits again with the time left, so
//!   callers do not see empty wake-ups. `ETIME` is not trusted on its own:
//!   the kernel measures the wait against the wall clock, `select` against
//!   `Instant`, so an early `ETIME` also resumes the wait.
//! * **Stale events.** An event retrieved by one thread may belong to a
//!   registration that another thread removed or replaced in the meantime;
//!   its id no longer matches the table entry and it is dropped.
//! * **`port_dissociate` and `ENOENT`** (port_associate(3C): "The specified
//!   object is not associated with the port"): expected whenever the
//!   association already fired, so it is ignored on deregistration, as are
//!   `EBADF`/`EBADFD`, which mean the fd was closed (closing an fd removes
//!   its associations). Dissociating also discards an event that fired but
//!   was not retrieved, so no event follows a `deregister`.
//! * **Invalid fds.** `port_associate` reports `EBADFD` for an fd that is not
//!   open; it is turned into `EBADF`, the error epoll and poll(2) give.
//! * **`POLLRDHUP`** exists on illumos (sys/poll.h, "read-side hangup") and
//!   is requested with readable interest so a peer's half-close is reported
//!   as read-closed; Solaris has no such flag, and there a half-close shows
//!   only as readable (reading returns 0).
//! * **No priority interest.** `Interest::PRIORITY` does not exist on these
//!   platforms; `POLLPRI` is only interpreted if the kernel reports it
//!   (`is_priority`, and `is_readable` as on epoll).
//! * **Waker.** `port_send(port, POLLIN, token)` queues a `PORT_SOURCE_USER`
//!   event whose `portev_user` is the waker's token and whose events say
//!   readable; events are told apart by `portev_source` (`PORT_SOURCE_USER`
//!   against `PORT_SOURCE_FD`). Wakes are coalesced while one is queued and
//!   not yet retrieved, so a flood of wakes cannot exhaust the port's event
//!   slots (`process.max-port-events`, `EAGAIN` from port_send(3C)).
//! * **Clones share the port fd.** `try_clone` does not `dup` the port:
//!   closing any descriptor of a port that is not its last one dissociates
//!   every fd this process associated and discards its pending events (the
//!   kernel's `port_close` for a reference count above one), so dropping a
//!   cloned `Registry` would silently unregister everything. Clones share
//!   one `Arc` instead, and `AsRawFd` returns the same fd for all of them.
//! * **Close-on-exec.** `port_create` takes no flags; `FD_CLOEXEC` is set
//!   right after it. A `fork` + `exec` in another thread between the two
//!   calls could leak the port fd into the child.
//!
//! # Trade-offs
//!
//! Only I/O performed through nbio (or `try_io`) re-arms a source: a
//! `SourceFd` registration fires once per direction until it is
//! reregistered. Each delivered event costs one extra `port_associate`
//! call. An fd closed without being deregistered loses its association in
//! the kernel but keeps its table entry; registering another file under the
//! same fd number replaces that entry (files are told apart by `st_dev` and
//! `st_ino` from `fstat`), while registering the same file twice is
//! `AlreadyExists`. Where a file system reports the same identity for
//! different files, such a stale entry can only be cleared by deregistering
//! the number.

// With `os-poll` alone nothing can be registered (no sockets, no SourceFd).
#![cfg_attr(not(any(feature = "net", feature = "os-ext")), allow(dead_code))]

use crate::{Interest, Token};
use libc::c_int;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use std::{fmt, io, ptr};

/// A handle to one event port; clones (`try_clone`) share it.
#[derive(Clone)]
pub(crate) struct Selector {
    shared: Arc<Shared>,
}

struct Shared {
    port: OwnedFd,
    table: Mutex<Table>,
    /// A waker event was sent and not yet retrieved.
    wake_queued: AtomicBool,
    /// The `port_event` buffer handed to `port_getn`.
    scratch: Mutex<Scratch>,
}

#[derive(Default)]
struct Table {
    /// Indexed by fd.
    entries: Vec<Option<Entry>>,
    next_id: usize,
}

#[derive(Clone, Copy)]
struct Entry {
    /// Registration id, also the association's `portev_user` cookie.
    id: usize,
    token: Token,
    interests: Interest,
    /// poll(2) conditions currently wanted: a subset of `interests`' flags.
    armed: c_int,
    /// A hang-up or error was reported and nothing re-armed the entry since:
    /// the fd is left dissociated.
    quiet: bool,
    /// Identity (`st_dev`, `st_ino`) of the file registered, to recognise an
    /// entry left behind by an fd closed without being deregistered.
    file: FileId,
}

/// `st_dev` and `st_ino` of a file.
type FileId = (libc::dev_t, libc::ino_t);

/// The buffer `port_getn` fills.
#[derive(Default)]
struct Scratch(Vec<libc::port_event>);

// SAFETY: a `port_event` holds a raw pointer only as its opaque `portev_user`
// cookie (a registration id or a token), which is never dereferenced; the
// buffer is plain data and is only used under its mutex.
unsafe impl Send for Scratch {}

const POLLIN: c_int = libc::POLLIN as c_int;
const POLLPRI: c_int = libc::POLLPRI as c_int;
const POLLOUT: c_int = libc::POLLOUT as c_int;
const POLLERR: c_int = libc::POLLERR as c_int;
const POLLHUP: c_int = libc::POLLHUP as c_int;
#[cfg(target_os = "illumos")]
const RDHUP: c_int = libc::POLLRDHUP as c_int;
#[cfg(not(target_os = "illumos"))]
const RDHUP: c_int = 0;

/// Conditions that end an association's usefulness until re-armed.
const HANGUP_OR_ERROR: c_int = POLLHUP | POLLERR;

/// The longest single `port_getn` wait; longer waits are resumed.
const MAX_WAIT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// poll(2) conditions for registered interests.
fn interest_flags(interests: Interest) -> c_int {
    let mut flags = 0;
    if interests.is_readable() {
        flags |= POLLIN | RDHUP;
    }
    if interests.is_writable() {
        flags |= POLLOUT;
    }
    if interests.is_priority() {
        flags |= POLLPRI;
    }
    flags
}

/// poll(2) conditions that an operation in `direction` re-arms.
fn direction_flags(direction: Interest) -> c_int {
    let mut flags = 0;
    if direction.is_readable() {
        flags |= POLLIN | POLLPRI | RDHUP;
    }
    if direction.is_writable() {
        flags |= POLLOUT;
    }
    flags
}

/// Turns `EBADFD` (what the port functions say for an fd that is not open)
/// into the `EBADF` the other selectors report.
fn port_error(err: io::Error) -> io::Error {
    if err.raw_os_error() == Some(libc::EBADFD) {
        io::Error::from_raw_os_error(libc::EBADF)
    } else {
        err
    }
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        // SAFETY: `port_create` takes no arguments and returns a new file
        // descriptor or -1.
        let fd = unsafe { libc::port_create() };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let port = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: F_SETFD on a valid descriptor only changes its flags.
        if unsafe { libc::fcntl(port.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Selector {
            shared: Arc::new(Shared {
                port,
                table: Mutex::new(Table::default()),
                wake_queued: AtomicBool::new(false),
                scratch: Mutex::new(Scratch::default()),
            }),
        })
    }

    pub(crate) fn try_clone(&self) -> io::Result<Selector> {
        Ok(self.clone())
    }

    fn port(&self) -> RawFd {
        self.shared.port.as_raw_fd()
    }

    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        if events.capacity() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "`Events` has zero capacity: poll cannot return any event",
            ));
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut scratch = lock(&self.shared.scratch);
        let mut first = true;
        loop {
            let wait = match (timeout, deadline) {
                (None, _) => None,
                // Too far away to represent: never expires.
                (Some(_), None) => Some(MAX_WAIT),
                (Some(t), Some(_)) if first => Some(t.min(MAX_WAIT)),
                (Some(_), Some(end)) => {
                    Some(end.saturating_duration_since(Instant::now()).min(MAX_WAIT))
                }
            };
            first = false;
            self.get_events(&mut scratch.0, events.capacity() - events.len(), wait)?;
            self.collect(&scratch.0, events);
            let expired = deadline.is_some_and(|end| Instant::now() >= end);
            // Only stale or internal events: wait again with the time left.
            if !events.is_empty() || expired || timeout == Some(Duration::ZERO) {
                return Ok(());
            }
        }
    }

    /// One `port_getn` call: fills `buf` with up to `max` events. A time-out
    /// is not an error (the events delivered with it are kept).
    fn get_events(
        &self,
        buf: &mut Vec<libc::port_event>,
        max: usize,
        wait: Option<Duration>,
    ) -> io::Result<()> {
        buf.clear();
        let max = max.min(libc::c_uint::MAX as usize);
        buf.reserve(max);
        let mut ts = wait.map(|d| libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_mut()
            .map_or(ptr::null_mut(), |ts| ts as *mut libc::timespec);
        // Wait for at least one event.
        let mut nget: libc::c_uint = 1;
        // SAFETY: `buf` has room for `max` events (reserved above) and the
        // kernel writes at most `max`; `nget` and `ts_ptr` (null or pointing
        // to `ts`) are valid for the duration of the call.
        let res = unsafe {
            libc::port_getn(
                self.port(),
                buf.as_mut_ptr(),
                max as libc::c_uint,
                &mut nget,
                ts_ptr,
            )
        };
        if res == -1 {
            let err = io::Error::last_os_error();
            // Only ETIME updates `nget`; every other error delivers nothing.
            if err.raw_os_error() != Some(libc::ETIME) {
                return Err(err);
            }
        }
        let n = (nget as usize).min(max);
        // SAFETY: the kernel initialised the first `nget` (<= `max`, which
        // is within the reserved capacity) entries.
        unsafe { buf.set_len(n) };
        Ok(())
    }

    /// Turns retrieved port events into nbio events: drops stale ones,
    /// disarms what is reported and re-associates each fd.
    fn collect(&self, batch: &[libc::port_event], events: &mut Events) {
        let mut table = None;
        for pe in batch {
            let source = c_int::from(pe.portev_source);
            if source == libc::PORT_SOURCE_USER {
                // Retrieved: the next wake must send a new event. The swap
                // (rather than a store) synchronises with the wake that sent
                // it, so whatever preceded that wake is visible to the
                // thread that handles this event.
                self.shared.wake_queued.swap(false, Ordering::AcqRel);
                events.push(Event {
                    token: pe.portev_user as usize,
                    revents: POLLIN,
                });
                continue;
            }
            if source != libc::PORT_SOURCE_FD {
                continue;
            }
            let table = table.get_or_insert_with(|| lock(&self.shared.table));
            let fd = pe.portev_object as RawFd;
            let id = pe.portev_user as usize;
            let Some(entry) = table.get_mut(fd).filter(|e| e.id == id) else {
                // Deregistered or replaced after the event was retrieved.
                continue;
            };
            // Report only what is still wanted (a concurrent reregister may
            // have changed the interests); hang-ups and errors always count.
            let reported = pe.portev_events & (entry.armed | HANGUP_OR_ERROR);
            if reported != 0 {
                events.push(Event {
                    token: entry.token.0,
                    revents: reported,
                });
                // Disarm exactly what was reported: a later, different
                // condition is a new edge, as with epoll.
                entry.armed &= !reported;
                if reported & HANGUP_OR_ERROR != 0 {
                    entry.quiet = true;
                }
            }
            let entry = *entry;
            // The association was consumed by this event (or replaced by a
            // concurrent re-arm, which this call merely updates).
            let res = if entry.quiet {
                self.dissociate(fd)
            } else {
                self.associate(fd, entry.armed, entry.id)
            };
            if let Err(_err) = res {
                // Only possible if the fd was closed meanwhile (its
                // association is gone with it) or the kernel is out of
                // event slots; the entry stays for the owner to deregister.
                trace!("event ports: cannot re-associate fd {}: {}", fd, _err);
            }
        }
    }

    /// `port_associate(fd, events, user = id)`.
    fn associate(&self, fd: RawFd, events: c_int, id: usize) -> io::Result<()> {
        // SAFETY: plain system call; an invalid fd is reported as an error,
        // and `id` is an opaque cookie the kernel never dereferences.
        let res = unsafe {
            libc::port_associate(
                self.port(),
                libc::PORT_SOURCE_FD,
                fd as libc::uintptr_t,
                events,
                id as *mut libc::c_void,
            )
        };
        if res == -1 {
            Err(port_error(io::Error::last_os_error()))
        } else {
            Ok(())
        }
    }

    /// `port_dissociate(fd)`; "not associated" (the association already
    /// fired) and "not open" (closing removed it) count as success.
    fn dissociate(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: plain system call; errors are reported through errno.
        let res = unsafe {
            libc::port_dissociate(self.port(), libc::PORT_SOURCE_FD, fd as libc::uintptr_t)
        };
        if res == -1 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::ENOENT | libc::EBADF | libc::EBADFD) => Ok(()),
                _ => Err(err),
            }
        } else {
            Ok(())
        }
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

    /// Adds and associates an fd; returns the registration id.
    pub(crate) fn add(&self, fd: RawFd, token: Token, interests: Interest) -> io::Result<usize> {
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let file = file_identity(fd)?;
        if fd == self.port() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot register an event port with itself",
            ));
        }
        let mut table = lock(&self.shared.table);
        // An entry for another file means the registered fd was closed
        // without being deregistered (closing removed its association) and
        // the number reused: the new registration replaces it.
        if table.get_mut(fd).is_some_and(|e| e.file == file) {
            // The kernel selectors' error, as epoll gives it.
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        table.next_id = table.next_id.wrapping_add(1);
        let entry = Entry {
            id: table.next_id,
            token,
            interests,
            armed: interest_flags(interests),
            quiet: false,
            file,
        };
        // Associate under the lock, so no `select` can see the association
        // before the entry exists.
        self.associate(fd, entry.armed, entry.id)?;
        table.insert(fd, entry);
        Ok(entry.id)
    }

    /// Replaces the token and interests of `fd` (of registration `id` when
    /// given) and re-arms all of its interests.
    pub(crate) fn modify(
        &self,
        fd: RawFd,
        id: Option<usize>,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        let mut table = lock(&self.shared.table);
        let entry = table.find(fd, id)?;
        let updated = Entry {
            token,
            interests,
            armed: interest_flags(interests),
            quiet: false,
            ..*entry
        };
        // Re-association replaces the event set and drops an event that
        // fired for the old one but was not retrieved yet.
        self.associate(fd, updated.armed, updated.id)?;
        *entry = updated;
        Ok(())
    }

    /// Removes and dissociates `fd` (of registration `id` when given).
    pub(crate) fn remove(&self, fd: RawFd, id: Option<usize>) -> io::Result<()> {
        let mut table = lock(&self.shared.table);
        table.find(fd, id)?;
        table.entries[fd as usize] = None;
        // Also discards an event that fired but was not retrieved; one
        // already retrieved by a concurrent `select` is dropped there, its
        // id no longer being in the table.
        self.dissociate(fd)
    }

    /// Re-arms `direction` of registration `id` after an operation in that
    /// direction returned `WouldBlock`.
    pub(crate) fn rearm(&self, fd: RawFd, id: usize, direction: Interest) {
        let mut table = lock(&self.shared.table);
        let Ok(entry) = table.find(fd, Some(id)) else {
            return;
        };
        let flags = interest_flags(entry.interests) & direction_flags(direction);
        if flags == 0 || (entry.armed & flags == flags && !entry.quiet) {
            // Nothing to add: the current association already covers it.
            return;
        }
        entry.armed |= flags;
        entry.quiet = false;
        let (armed, id) = (entry.armed, entry.id);
        if let Err(_err) = self.associate(fd, armed, id) {
            // Nowhere to report it (the caller's result is the
            // `WouldBlock`); the fd was most likely closed.
            trace!("event ports: cannot re-arm fd {}: {}", fd, _err);
        }
    }

    /// `true` if both handles refer to the same selector.
    pub(crate) fn same_as(&self, other: &Selector) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn wake(&self, token: Token) -> io::Result<()> {
        // One queued wake event is enough: later wakes coalesce into it
        // until `select` retrieves it.
        if self.shared.wake_queued.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // SAFETY: plain system call; the token is an opaque cookie the
        // kernel never dereferences.
        let res = unsafe { libc::port_send(self.port(), POLLIN, token.0 as *mut libc::c_void) };
        if res == -1 {
            self.shared.wake_queued.store(false, Ordering::Release);
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl AsRawFd for Selector {
    fn as_raw_fd(&self) -> RawFd {
        self.port()
    }
}

impl AsFd for Selector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.shared.port.as_fd()
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("port", &self.port())
            .finish_non_exhaustive()
    }
}

impl Table {
    fn get_mut(&mut self, fd: RawFd) -> Option<&mut Entry> {
        self.entries.get_mut(usize::try_from(fd).ok()?)?.as_mut()
    }

    fn find(&mut self, fd: RawFd, id: Option<usize>) -> io::Result<&mut Entry> {
        match self.get_mut(fd) {
            Some(entry) if id.map_or(true, |id| entry.id == id) => Ok(entry),
            // As epoll: EBADF for an fd that is not open, else ENOENT.
            _ if fd < 0 || !is_open(fd) => Err(io::Error::from_raw_os_error(libc::EBADF)),
            _ => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }

    fn insert(&mut self, fd: RawFd, entry: Entry) {
        let index = fd as usize;
        if self.entries.len() <= index {
            self.entries.resize(index + 1, None);
        }
        self.entries[index] = Some(entry);
    }
}

/// `true` if `fd` is an open descriptor.
fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor flags; an invalid fd makes it
    // fail with EBADF and has no other effect.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// The (`st_dev`, `st_ino`) pair of the file `fd` refers to; `EBADF` if
/// `fd` is not open.
fn file_identity(fd: RawFd) -> io::Result<FileId> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is valid for writes of one `struct stat`; an invalid fd
    // makes `fstat` fail with EBADF without writing.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fstat` succeeded, so it initialised the structure.
    let stat = unsafe { stat.assume_init() };
    Ok((stat.st_dev, stat.st_ino))
}

/// Locks a mutex, ignoring poisoning: the data it guards stays consistent
/// because no code panics while holding these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An event produced by the event-port selector: the token and the poll(2)
/// conditions reported.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    token: usize,
    revents: c_int,
}

pub(crate) type Events = Vec<Event>;

/// Accessors for event-port events, following the same flag mapping as
/// epoll.
pub(crate) mod event {
    use super::{Event, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, RDHUP};
    use crate::Token;
    use std::fmt;

    pub(crate) fn token(event: &Event) -> Token {
        Token(event.token)
    }

    pub(crate) fn is_readable(event: &Event) -> bool {
        event.revents & (POLLIN | POLLPRI) != 0
    }

    pub(crate) fn is_writable(event: &Event) -> bool {
        event.revents & POLLOUT != 0
    }

    pub(crate) fn is_error(event: &Event) -> bool {
        event.revents & POLLERR != 0
    }

    pub(crate) fn is_read_closed(event: &Event) -> bool {
        event.revents & POLLHUP != 0 || (RDHUP != 0 && event.revents & RDHUP != 0)
    }

    pub(crate) fn is_write_closed(event: &Event) -> bool {
        let r = event.revents;
        // Both halves shut down; an error on a writable fd; or a bare error,
        // which is how a pipe reports that its reader is gone.
        r & POLLHUP != 0 || (r & POLLOUT != 0 && r & POLLERR != 0) || r == POLLERR
    }

    pub(crate) fn is_priority(event: &Event) -> bool {
        event.revents & POLLPRI != 0
    }

    pub(crate) fn is_aio(_: &Event) -> bool {
        false
    }

    pub(crate) fn is_lio(_: &Event) -> bool {
        false
    }

    /// `{:#?}` view of the record: token and flag names.
    pub(crate) struct Details<'a>(pub(crate) &'a Event);

    impl fmt::Debug for Details<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            const NAMES: [(libc::c_int, &str); 6] = [
                (POLLIN, "POLLIN"),
                (POLLPRI, "POLLPRI"),
                (POLLOUT, "POLLOUT"),
                (POLLERR, "POLLERR"),
                (POLLHUP, "POLLHUP"),
                (RDHUP, "POLLRDHUP"),
            ];
            struct Flags(libc::c_int);
            impl fmt::Debug for Flags {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    let mut first = true;
                    for (bit, name) in NAMES {
                        if bit != 0 && self.0 & bit != 0 {
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
            f.debug_struct("port_event")
                .field("token", &self.0.token)
                .field("events", &Flags(self.0.revents))
                .finish()
        }
    }
}

/// The public `Waker` on this selector: `port_send` of a readable user
/// event carrying the token.
#[derive(Debug)]
pub(crate) struct Waker {
    selector: Selector,
    token: Token,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        Ok(Waker {
            selector: selector.clone(),
            token,
        })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.selector.wake(self.token)
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
    id: usize,
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
        // The errors epoll gives in release builds (debug builds report
        // misuse earlier, with mio's messages).
        if self.registration.is_some() {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
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
            _ => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }

    pub(crate) fn deregister(&mut self, selector: &Selector, fd: RawFd) -> io::Result<()> {
        match &self.registration {
            Some(reg) if reg.selector.same_as(selector) && reg.fd == fd => {
                let reg = self.registration.take().expect("checked above");
                selector.remove(fd, Some(reg.id))
            }
            _ => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }
}

impl Drop for IoSourceState {
    fn drop(&mut self) {
        if let Some(reg) = self.registration.take() {
            // The fd is about to be closed; forget it and its association.
            let _ = reg.selector.remove(reg.fd, Some(reg.id));
        }
    }
}
