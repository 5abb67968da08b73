//! kqueue selector (macOS, iOS, tvOS, visionOS, watchOS, FreeBSD, NetBSD,
//! OpenBSD, DragonFly).
//!
//! One kqueue per `Poll`. A registration is one *knote* per direction: an
//! `EVFILT_READ` knote for readable interest and an `EVFILT_WRITE` knote for
//! writable interest, both keyed by the fd (a knote is identified by its
//! `(ident, filter)` pair) and both added with `EV_CLEAR`, which resets the
//! knote's state each time it is retrieved: the edge-like behaviour the
//! crate promises everywhere. The token travels in `udata`, which the kernel
//! hands back untouched. Like epoll, the kernel keeps all registration state,
//! so sources need none of their own, and events are the kernel's own
//! `kevent` records, read in place. Read and write readiness of one fd arrive
//! as two separate events.
//!
//! # Design notes and platform quirks
//!
//! Man page references are to kqueue(2) (FreeBSD, macOS, NetBSD, OpenBSD and
//! DragonFly document `kevent` on the same page; kevent(2) is a link to it).
//!
//! * **One call per change set, checked change by change** (kqueue(2),
//!   `EV_RECEIPT` in DESCRIPTION, and RETURN VALUES). `register`,
//!   `reregister` and `deregister` submit all their changes (at most one per
//!   filter) in a single `kevent` call, each flagged `EV_RECEIPT`. With that
//!   flag every change produces an entry in the event list with `EV_ERROR`
//!   set and `data` holding the errno, 0 for success, and no pending event is
//!   drained. The event list is exactly as long as the change list: RETURN
//!   VALUES says a failing change only lands in the event list "if there is
//!   enough room", otherwise `kevent` fails with that errno, and FreeBSD then
//!   stops processing the remaining changes (it also returns right after the
//!   first change when `EV_RECEIPT` meets an empty event list). Receipts are
//!   matched to their change by `(ident, filter)` rather than by position,
//!   and only the errno is read back, because FreeBSD overwrites a receipt's
//!   `flags` with plain `EV_ERROR`.
//! * **`EV_RECEIPT` availability.** FreeBSD has it since 8.1, macOS since
//!   10.5; DragonFly, NetBSD and OpenBSD added it later (exact releases not
//!   verified here). A kernel that ignored the flag would still report
//!   *failing* changes as `EV_ERROR` entries (RETURN VALUES), so errors are
//!   never lost; what it could do is hand back an already pending event in
//!   the spare receipt slots. Changes are therefore submitted with a **zero
//!   timeout** (never a null one), so the call cannot block, and entries
//!   without `EV_ERROR` are not mistaken for failures.
//! * **`ENOENT` on delete** (kqueue(2) ERRORS: "The event could not be found
//!   to be modified or deleted"). `reregister` deletes the filter it no
//!   longer wants without knowing whether it was ever added, and
//!   `deregister` deletes both; a missing knote is the expected outcome, so
//!   `ENOENT` is ignored on `EV_DELETE` changes (and only there). Closing an
//!   fd deletes its knotes (kqueue(2), `EV_DELETE`: "Events which are
//!   attached to file descriptors are automatically deleted on the last close
//!   of the descriptor"), so a source dropped without deregistering never
//!   reports again, unless a `dup` of it is still open.
//! * **`EPIPE` when adding a pipe filter.** Older macOS releases fail
//!   `EV_ADD` on a pipe whose other end is already closed with `EPIPE`, yet
//!   still report events for it; FreeBSD's pipe code refuses an
//!   `EVFILT_WRITE` knote for a pipe without a reader the same way (from
//!   reading the kernel source, not verified on a running system; such a
//!   writer gets no write-closed event there). The peer being gone is a
//!   readiness state, not a registration error, so `EPIPE` on `EV_ADD` is
//!   ignored, as mio does.
//! * **`EV_EOF` is not "the peer closed"** (kqueue(2), `EVFILT_READ` and
//!   `EVFILT_WRITE`, "Sockets"). A local `shutdown(SHUT_WR)` sets `EV_EOF`
//!   on the write filter, `EV_EOF` on the read filter can arrive while data
//!   is still buffered (`data` counts it), and a pending socket error is
//!   returned in `fflags`. Hence `is_read_closed`/`is_write_closed` report
//!   `EV_EOF` per filter, and `is_error` is `EV_ERROR` or `EV_EOF` with a
//!   non-zero `fflags` (an error code), the mapping mio uses.
//! * **Timeouts at full precision** (kqueue(2), the `timeout` argument). The
//!   timeout is a `timespec`, so a `Duration` is passed with its nanoseconds
//!   intact and no rounding to milliseconds is needed; seconds beyond
//!   `time_t::MAX` are clamped (FreeBSD treats anything above `INT32_MAX`
//!   seconds as infinite anyway); `None` is a null pointer, an infinite
//!   wait.
//! * **`EINTR`** (kqueue(2) ERRORS). `select` returns `Interrupted` to the
//!   caller, as mio 1.x does. Change submissions never sleep (zero timeout)
//!   and are idempotent (`EV_ADD` of an existing knote modifies it, a
//!   repeated `EV_DELETE` meets the tolerated `ENOENT`), so they are simply
//!   retried; FreeBSD documents that the change list is applied before
//!   `EINTR` is returned.
//! * **Type differences between the BSDs.** NetBSD declares `filter` and
//!   `flags` as `uint32_t` and the counts of `kevent` as `size_t`; everyone
//!   else uses `short`/`u_short` and `int`. `udata` is `void *` except on
//!   NetBSD before 10, whose header (and older releases of the `libc` crate)
//!   declare it `intptr_t`. The code never names these types: fields are set
//!   from `libc` constants, counts are clamped to `c_int::MAX` and converted
//!   with an inferred cast, and the token goes in and out of `udata` with
//!   inferred `as` casts, which compile whether `udata` is a pointer or an
//!   integer. FreeBSD 12+ adds an `ext` array, so records start zeroed.
//!   Apple's `struct kevent` is `#pragma pack(4)` (`repr(packed(4))` in
//!   `libc`), so fields are only ever copied, never borrowed.
//! * **Tokens round-trip in full.** `udata` is pointer-sized like `usize`,
//!   so every token, `usize::MAX` included, comes back unchanged. It is only
//!   ever an integer; the kernel never dereferences it.
//! * **AIO and LIO** (`Interest::AIO`, `Interest::LIO`) need no knote here:
//!   a custom source points its `aiocb`'s `sigevent` at the kqueue fd (on
//!   FreeBSD `SIGEV_KEVENT`, with the token as `sigev_value`) and the kernel
//!   posts the `EVFILT_AIO`/`EVFILT_LIO` event itself. So `register` with
//!   only those interests submits nothing, and `reregister` to only those
//!   interests deletes the read and write knotes.
//! * **Not supported by kqueue itself.** No priority (out-of-band) readiness;
//!   macOS cannot watch `/dev/tty` (`EINVAL`, surfaced as-is).
//! * **Close-on-exec and fork.** The kqueue fd is created close-on-exec
//!   (`kqueue1(O_CLOEXEC)` on NetBSD, `kqueue` + `FD_CLOEXEC` elsewhere,
//!   since the other systems lack a common atomic variant); clones are
//!   `F_DUPFD_CLOEXEC` duplicates. A kqueue is not inherited by a child
//!   created with fork(2) (kqueue(2) DESCRIPTION), unlike epoll.

use crate::sys::unix::cvt;
use crate::sys::unix::waker::WakeSlot;
use crate::{Interest, Token};
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

/// The timeout used when only submitting changes: return at once.
const NO_WAIT: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

/// One kqueue. Clones (`try_clone`) are `dup`s of the same queue and share
/// the waker's coalescing slot.
#[derive(Debug)]
pub(crate) struct Selector {
    kq: OwnedFd,
    wake_slot: Arc<WakeSlot>,
}

impl Selector {
    /// The slot through which a registered-pipe waker (NetBSD, OpenBSD,
    /// forced pipe) coalesces its wakes. The `EVFILT_USER` waker never
    /// claims it: the kernel merges its triggers itself.
    #[allow(dead_code)] // only the registered-pipe waker asks
    pub(crate) fn wake_slot(&self) -> Option<Arc<WakeSlot>> {
        Some(Arc::clone(&self.wake_slot))
    }

    pub(crate) fn new() -> io::Result<Selector> {
        new_kqueue().map(|kq| Selector {
            kq,
            wake_slot: Arc::new(WakeSlot::always_exposed()),
        })
    }

    pub(crate) fn try_clone(&self) -> io::Result<Selector> {
        // `OwnedFd::try_clone` duplicates with F_DUPFD_CLOEXEC.
        self.kq.try_clone().map(|kq| Selector {
            kq,
            wake_slot: Arc::clone(&self.wake_slot),
        })
    }

    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        if events.capacity() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "`Events` has zero capacity: poll cannot return any event",
            ));
        }
        let timeout = timeout.map(to_timespec);
        let spare = events.spare_capacity_mut();
        // SAFETY: `Event` is `repr(transparent)` over `libc::kevent`, and
        // `MaybeUninit<T>` has the layout of `T`, so both slices have the
        // same layout and length; the borrow of `events` is kept.
        let out = unsafe {
            &mut *(spare as *mut [MaybeUninit<Event>] as *mut [MaybeUninit<libc::kevent>])
        };
        let n = kevent(self.kq.as_raw_fd(), &[], out, timeout.as_ref())?;
        // SAFETY: the kernel initialised the first `n` (<= capacity) entries.
        unsafe { events.set_len(n) };
        self.wake_slot
            .after_wait(events.iter().map(|e| event::token(e).0));
        Ok(())
    }

    // Used by the pipe waker and by `IoSource`/`SourceFd`, which not every
    // build has.
    #[allow(dead_code)]
    pub(crate) fn register(&self, fd: RawFd, token: Token, interests: Interest) -> io::Result<()> {
        let mut changes = Changes::new();
        if interests.is_readable() {
            changes.add(fd, Direction::Read, token);
        }
        if interests.is_writable() {
            changes.add(fd, Direction::Write, token);
        }
        self.apply(changes.as_slice())
    }

    // Used by `IoSource` and `SourceFd`, which `os-poll` alone does not build.
    #[allow(dead_code)]
    pub(crate) fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        let mut changes = Changes::new();
        if interests.is_readable() {
            changes.add(fd, Direction::Read, token);
        } else {
            changes.delete(fd, Direction::Read);
        }
        if interests.is_writable() {
            changes.add(fd, Direction::Write, token);
        } else {
            changes.delete(fd, Direction::Write);
        }
        self.apply(changes.as_slice())
    }

    #[allow(dead_code)]
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut changes = Changes::new();
        changes.delete(fd, Direction::Read);
        changes.delete(fd, Direction::Write);
        self.apply(changes.as_slice())
    }

    /// Submits `changes` (all flagged `EV_RECEIPT`) in one call and checks
    /// every receipt.
    fn apply(&self, changes: &[libc::kevent]) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut receipts = [MaybeUninit::<libc::kevent>::uninit(); MAX_CHANGES];
        let receipts = &mut receipts[..changes.len()];
        let n = loop {
            match kevent(self.kq.as_raw_fd(), changes, receipts, Some(&NO_WAIT)) {
                Ok(n) => break n,
                // Nothing blocks with a zero timeout, but if a signal did
                // land, resubmitting is harmless (see the module docs).
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        };
        for receipt in &receipts[..n] {
            // SAFETY: the kernel initialised the first `n` entries.
            let receipt = unsafe { receipt.assume_init_ref() };
            check_receipt(receipt, changes)?;
        }
        Ok(())
    }
}

impl AsRawFd for Selector {
    fn as_raw_fd(&self) -> RawFd {
        self.kq.as_raw_fd()
    }
}

impl AsFd for Selector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kq.as_fd()
    }
}

/// A new close-on-exec kqueue; NetBSD can do it atomically.
#[cfg(target_os = "netbsd")]
fn new_kqueue() -> io::Result<OwnedFd> {
    // SAFETY: `kqueue1` takes only a flags argument and returns a new file
    // descriptor or -1.
    let fd = cvt(unsafe { libc::kqueue1(libc::O_CLOEXEC) })?;
    // SAFETY: `fd` was just created by the kernel and is owned by nobody
    // else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A new close-on-exec kqueue: `kqueue`, then `FD_CLOEXEC`.
#[cfg(not(target_os = "netbsd"))]
fn new_kqueue() -> io::Result<OwnedFd> {
    // SAFETY: `kqueue` takes no arguments and returns a new file descriptor
    // or -1.
    let fd = cvt(unsafe { libc::kqueue() })?;
    // SAFETY: `fd` was just created by the kernel and is owned by nobody
    // else. Owning it first closes it if `fcntl` fails.
    let kq = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `F_SETFD` on an fd we own only changes its descriptor flags.
    cvt(unsafe { libc::fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
    Ok(kq)
}

/// `Duration` to `timespec` at full precision; seconds beyond `time_t::MAX`
/// are clamped.
fn to_timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        // Below one billion, so it fits even a 32-bit `c_long`.
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// One `kevent` call: submits `changes`, then collects up to `out.len()`
/// entries (receipts first, then pending events) waiting at most `timeout`
/// (`None`: forever). Returns how many entries of `out` were filled.
fn kevent(
    kq: RawFd,
    changes: &[libc::kevent],
    out: &mut [MaybeUninit<libc::kevent>],
    timeout: Option<&libc::timespec>,
) -> io::Result<usize> {
    // `int` everywhere but NetBSD (`size_t`); the inferred casts below
    // convert to whichever it is. Change lists are at most two long.
    let max = libc::c_int::MAX as usize;
    debug_assert!(changes.len() <= max);
    let nchanges = changes.len().min(max);
    let nevents = out.len().min(max);
    let timeout = timeout.map_or(ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `changes` holds `nchanges` initialised records the kernel only
    // reads; `out` is writable memory for `nevents` records, which the kernel
    // writes whole (`MaybeUninit` needs no prior initialisation); `timeout`
    // is null or points to a live `timespec`. All outlive the call.
    let n = cvt(unsafe {
        libc::kevent(
            kq,
            changes.as_ptr(),
            nchanges as _,
            out.as_mut_ptr().cast::<libc::kevent>(),
            nevents as _,
            timeout,
        )
    })?;
    Ok(n as usize)
}

/// Checks one `EV_RECEIPT` entry. `ENOENT` on a delete and `EPIPE` on an add
/// are expected platform behaviour (module docs); other errors are returned.
fn check_receipt(receipt: &libc::kevent, changes: &[libc::kevent]) -> io::Result<()> {
    if receipt.flags & libc::EV_ERROR == 0 || receipt.data == 0 {
        // Success, or (kernel without `EV_RECEIPT`) a pending event rather
        // than a receipt: nothing to report.
        return Ok(());
    }
    let errno = libc::c_int::try_from(receipt.data).unwrap_or(libc::EINVAL);
    let deleting = changes.iter().any(|change| {
        change.ident == receipt.ident
            && change.filter == receipt.filter
            && change.flags & libc::EV_DELETE != 0
    });
    let expected = if deleting {
        errno == libc::ENOENT
    } else {
        errno == libc::EPIPE
    };
    if expected {
        // `{ .. }` copies the field out: Apple's `kevent` is packed, and
        // formatting takes references.
        trace!(
            "kqueue: ignoring errno {} for ident {} (delete: {})",
            errno,
            { receipt.ident },
            deleting
        );
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(errno))
    }
}

/// A zeroed `kevent` (covers FreeBSD's `ext` and any other extra fields)
/// with `ident` and `udata` set.
fn new_kevent(ident: libc::uintptr_t, udata: usize) -> libc::kevent {
    // SAFETY: `kevent` is plain data (integers and `udata`, a pointer or
    // an integer), for which all-zero bytes are a valid value.
    let mut kev: libc::kevent = unsafe { std::mem::zeroed() };
    kev.ident = ident;
    // `void *` on most systems, `intptr_t` on NetBSD < 10: infer either.
    kev.udata = udata as _;
    kev
}

/// The most changes one call submits: one per filter.
const MAX_CHANGES: usize = 2;

/// The change list for one `register`/`reregister`/`deregister`.
struct Changes {
    list: [libc::kevent; MAX_CHANGES],
    len: usize,
}

impl Changes {
    fn new() -> Changes {
        Changes {
            list: [new_kevent(0, 0); MAX_CHANGES],
            len: 0,
        }
    }

    /// Adds (or updates) the knote for `fd` in `direction`, edge-style,
    /// with a receipt.
    fn add(&mut self, fd: RawFd, direction: Direction, token: Token) {
        let mut kev = new_kevent(fd as libc::uintptr_t, token.0);
        direction.set_filter(&mut kev);
        kev.flags = libc::EV_ADD | libc::EV_CLEAR | libc::EV_RECEIPT;
        self.push(kev);
    }

    /// Deletes the knote for `fd` in `direction`, with a receipt.
    fn delete(&mut self, fd: RawFd, direction: Direction) {
        let mut kev = new_kevent(fd as libc::uintptr_t, 0);
        direction.set_filter(&mut kev);
        kev.flags = libc::EV_DELETE | libc::EV_RECEIPT;
        self.push(kev);
    }

    fn push(&mut self, kev: libc::kevent) {
        self.list[self.len] = kev;
        self.len += 1;
    }

    fn as_slice(&self) -> &[libc::kevent] {
        &self.list[..self.len]
    }
}

/// Which filter a change is for.
#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

impl Direction {
    /// Sets `filter` from the `libc` constant, whose type (`short`, or
    /// `uint32_t` on NetBSD) is the field's.
    fn set_filter(self, kev: &mut libc::kevent) {
        kev.filter = match self {
            Direction::Read => libc::EVFILT_READ,
            Direction::Write => libc::EVFILT_WRITE,
        };
    }
}

/// One event as `kevent` returns it.
///
/// A transparent wrapper so it can be `Send + Sync`: `libc::kevent` is
/// neither because `udata` is a raw pointer.
#[derive(Clone)]
#[repr(transparent)]
pub(crate) struct Event(libc::kevent);

// SAFETY: the only non-`Send` part of `kevent` is `udata`, a raw pointer
// type, and this crate only ever stores a token integer in it: it is never
// dereferenced, so moving the record to another thread cannot create shared
// access to anything.
unsafe impl Send for Event {}
// SAFETY: as for `Send`; `&Event` only allows reading plain integers (the
// token in `udata` included), so sharing it between threads is sound.
unsafe impl Sync for Event {}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&event::Details(self), f)
    }
}

/// The buffer `kevent` writes into.
pub(crate) type Events = Vec<Event>;

/// Accessors for the raw `kevent`, per mio's documented flag mapping.
pub(crate) mod event {
    use super::Event;
    use crate::Token;
    use std::fmt;

    pub(crate) fn token(event: &Event) -> Token {
        // Pointer or `intptr_t` (NetBSD < 10): both convert with `as`.
        Token(event.0.udata as usize)
    }

    pub(crate) fn is_readable(event: &Event) -> bool {
        event.0.filter == libc::EVFILT_READ || is_user(event)
    }

    pub(crate) fn is_writable(event: &Event) -> bool {
        event.0.filter == libc::EVFILT_WRITE
    }

    pub(crate) fn is_error(event: &Event) -> bool {
        // `fflags` holds the socket error that came with an `EV_EOF`.
        event.0.flags & libc::EV_ERROR != 0
            || (event.0.flags & libc::EV_EOF != 0 && event.0.fflags != 0)
    }

    pub(crate) fn is_read_closed(event: &Event) -> bool {
        event.0.filter == libc::EVFILT_READ && event.0.flags & libc::EV_EOF != 0
    }

    pub(crate) fn is_write_closed(event: &Event) -> bool {
        event.0.filter == libc::EVFILT_WRITE && event.0.flags & libc::EV_EOF != 0
    }

    pub(crate) fn is_priority(_: &Event) -> bool {
        // kqueue has no priority (out-of-band) filter.
        false
    }

    cfg_aio! {
        pub(crate) fn is_aio(event: &Event) -> bool {
            event.0.filter == libc::EVFILT_AIO
        }
    }

    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    pub(crate) fn is_aio(_: &Event) -> bool {
        false
    }

    cfg_lio! {
        pub(crate) fn is_lio(event: &Event) -> bool {
            event.0.filter == libc::EVFILT_LIO
        }
    }

    #[cfg(not(target_os = "freebsd"))]
    pub(crate) fn is_lio(_: &Event) -> bool {
        false
    }

    /// The waker's `EVFILT_USER` event. Only the systems that use it for
    /// the waker are checked, so older `libc` releases without the NetBSD
    /// and OpenBSD constants still build.
    #[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
    fn is_user(event: &Event) -> bool {
        event.0.filter == libc::EVFILT_USER
    }

    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    fn is_user(_: &Event) -> bool {
        false
    }

    /// `{:#?}` view of the raw record: filter and flag names and the rest of
    /// the fields.
    pub(crate) struct Details<'a>(pub(crate) &'a Event);

    impl fmt::Debug for Details<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let kev = &self.0 .0;
            let filter = kev.filter;

            struct FilterName(&'static str);
            impl fmt::Debug for FilterName {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(self.0)
                }
            }
            /// The set `flags` bits by name.
            struct FlagNames<'a>(&'a libc::kevent);
            impl fmt::Debug for FlagNames<'_> {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    let names = [
                        (libc::EV_ADD, "EV_ADD"),
                        (libc::EV_DELETE, "EV_DELETE"),
                        (libc::EV_ENABLE, "EV_ENABLE"),
                        (libc::EV_DISABLE, "EV_DISABLE"),
                        (libc::EV_ONESHOT, "EV_ONESHOT"),
                        (libc::EV_CLEAR, "EV_CLEAR"),
                        (libc::EV_RECEIPT, "EV_RECEIPT"),
                        (libc::EV_DISPATCH, "EV_DISPATCH"),
                        (libc::EV_ERROR, "EV_ERROR"),
                        (libc::EV_EOF, "EV_EOF"),
                    ];
                    let flags = self.0.flags;
                    let mut first = true;
                    for (bit, name) in names {
                        if flags & bit != 0 {
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

            let mut d = f.debug_struct("kevent");
            // Fields are copied out before formatting: Apple's `kevent` is
            // `packed(4)`, so references to its fields are not allowed.
            let ident = kev.ident;
            d.field("ident", &ident);
            let filter_name = if filter == libc::EVFILT_READ {
                Some("EVFILT_READ")
            } else if filter == libc::EVFILT_WRITE {
                Some("EVFILT_WRITE")
            } else if is_user(self.0) {
                Some("EVFILT_USER")
            } else if is_aio(self.0) {
                Some("EVFILT_AIO")
            } else if is_lio(self.0) {
                Some("EVFILT_LIO")
            } else {
                None
            };
            match filter_name {
                Some(name) => d.field("filter", &FilterName(name)),
                None => d.field("filter", &filter),
            };
            let fflags = kev.fflags;
            let data = kev.data;
            d.field("flags", &FlagNames(kev))
                .field("fflags", &format_args!("{:#x}", fflags))
                .field("data", &data)
                .field("udata", &(kev.udata as usize))
                .finish()
        }
    }
}

// These run only on kqueue systems; on Linux they are not even compiled.
#[cfg(test)]
mod tests {
    use super::{
        check_receipt, event, new_kevent, to_timespec, Changes, Direction, Event, Events, Selector,
    };
    use crate::{Interest, Token};
    use std::io::{self, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    /// Bound for every wait that expects an event.
    const DEADLINE: Duration = Duration::from_secs(10);

    fn wait(selector: &Selector, timeout: Duration) -> Events {
        let mut events = Events::with_capacity(16);
        selector.select(&mut events, Some(timeout)).unwrap();
        events
    }

    #[test]
    fn timespec_keeps_nanoseconds_and_clamps_seconds() {
        let ts = to_timespec(Duration::new(5, 1));
        assert_eq!(ts.tv_sec, 5);
        assert_eq!(ts.tv_nsec, 1);
        let ts = to_timespec(Duration::from_nanos(1));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (0, 1));
        let ts = to_timespec(Duration::MAX);
        assert_eq!(ts.tv_sec, libc::time_t::MAX);
        assert_eq!(ts.tv_nsec, 999_999_999);
    }

    #[test]
    fn token_round_trips_through_udata() {
        for token in [0, 1, usize::MAX / 2 + 1, usize::MAX] {
            let ev = Event(new_kevent(3, token));
            assert_eq!(event::token(&ev), Token(token));
        }
    }

    #[test]
    fn flag_mapping() {
        let mut kev = new_kevent(3, 7);
        Direction::Read.set_filter(&mut kev);
        let ev = Event(kev);
        assert!(event::is_readable(&ev));
        assert!(!event::is_writable(&ev));
        assert!(!event::is_read_closed(&ev));
        assert!(!event::is_error(&ev));

        kev.flags = libc::EV_EOF;
        let ev = Event(kev);
        assert!(event::is_readable(&ev));
        assert!(event::is_read_closed(&ev));
        assert!(!event::is_write_closed(&ev));
        assert!(!event::is_error(&ev), "EV_EOF alone is not an error");

        kev.fflags = libc::ECONNRESET as _;
        assert!(
            event::is_error(&Event(kev)),
            "EV_EOF with an errno in fflags"
        );

        let mut kev = new_kevent(3, 7);
        Direction::Write.set_filter(&mut kev);
        kev.flags = libc::EV_EOF;
        let ev = Event(kev);
        assert!(event::is_writable(&ev));
        assert!(event::is_write_closed(&ev));
        assert!(!event::is_readable(&ev));
        assert!(!event::is_read_closed(&ev));
        assert!(!event::is_priority(&ev));
        assert!(!event::is_aio(&ev));
        assert!(!event::is_lio(&ev));

        let mut kev = new_kevent(3, 7);
        kev.flags = libc::EV_ERROR;
        assert!(event::is_error(&Event(kev)));
    }

    #[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
    #[test]
    fn user_events_are_readable() {
        let mut kev = new_kevent(0, 7);
        kev.filter = libc::EVFILT_USER;
        assert!(event::is_readable(&Event(kev)));
        assert!(!event::is_writable(&Event(kev)));
    }

    /// A receipt as FreeBSD writes it: `flags` replaced by `EV_ERROR`.
    fn receipt(change: &libc::kevent, errno: libc::c_int) -> libc::kevent {
        let mut receipt = *change;
        receipt.flags = libc::EV_ERROR;
        receipt.data = errno as _;
        receipt
    }

    fn errno(res: io::Result<()>) -> Option<i32> {
        res.unwrap_err().raw_os_error()
    }

    #[test]
    fn receipts_tolerate_only_the_documented_errors() {
        let mut changes = Changes::new();
        changes.add(5, Direction::Read, Token(1));
        changes.delete(5, Direction::Write);
        let list = changes.as_slice();
        let (add, delete) = (&list[0], &list[1]);

        assert!(check_receipt(&receipt(add, 0), list).is_ok());
        assert!(check_receipt(&receipt(add, libc::EPIPE), list).is_ok());
        let res = check_receipt(&receipt(add, libc::EBADF), list);
        assert_eq!(errno(res), Some(libc::EBADF));
        let res = check_receipt(&receipt(add, libc::ENOENT), list);
        assert_eq!(errno(res), Some(libc::ENOENT));

        assert!(check_receipt(&receipt(delete, 0), list).is_ok());
        assert!(check_receipt(&receipt(delete, libc::ENOENT), list).is_ok());
        let res = check_receipt(&receipt(delete, libc::EPIPE), list);
        assert_eq!(errno(res), Some(libc::EPIPE));

        // An entry without `EV_ERROR` is a pending event, not a failure.
        let mut pending = *add;
        pending.flags = libc::EV_CLEAR;
        pending.data = 10;
        assert!(check_receipt(&pending, list).is_ok());
    }

    #[test]
    fn zero_capacity_is_invalid_input() {
        let selector = Selector::new().unwrap();
        let mut events = Events::with_capacity(0);
        let err = selector
            .select(&mut events, Some(Duration::ZERO))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn register_rejects_a_bad_fd() {
        let selector = Selector::new().unwrap();
        let err = selector
            .register(-1, Token(0), Interest::READABLE)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        let err = selector
            .register(-1, Token(0), Interest::READABLE | Interest::WRITABLE)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn deregister_ignores_missing_filters() {
        let selector = Selector::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        selector.deregister(a.as_raw_fd()).unwrap();
        selector
            .register(a.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap();
        // Only the read filter exists; deleting both still succeeds.
        selector.deregister(a.as_raw_fd()).unwrap();
        selector.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn readable_is_edge_triggered_and_keeps_the_full_token() {
        let selector = Selector::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let token = Token(usize::MAX);
        selector
            .register(a.as_raw_fd(), token, Interest::READABLE)
            .unwrap();
        assert!(wait(&selector, Duration::ZERO).is_empty());

        b.write_all(b"x").unwrap();
        let events = wait(&selector, DEADLINE);
        assert_eq!(events.len(), 1, "{:?}", events);
        assert_eq!(event::token(&events[0]), token);
        assert!(event::is_readable(&events[0]));
        assert!(!event::is_read_closed(&events[0]));
        // `EV_CLEAR`: the same readiness is not reported twice.
        assert!(wait(&selector, Duration::ZERO).is_empty());

        drop(b);
        let events = wait(&selector, DEADLINE);
        assert!(events.iter().any(event::is_read_closed), "{:?}", events);
        assert!(events.iter().all(|e| event::token(e) == token));
    }

    #[test]
    fn reregister_swaps_filters_and_token() {
        let selector = Selector::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let fd = a.as_raw_fd();
        selector
            .register(fd, Token(1), Interest::READABLE | Interest::WRITABLE)
            .unwrap();
        let events = wait(&selector, DEADLINE);
        assert!(events.iter().any(event::is_writable), "{:?}", events);

        selector
            .reregister(fd, Token(2), Interest::READABLE)
            .unwrap();
        b.write_all(b"x").unwrap();
        let events = wait(&selector, DEADLINE);
        assert!(events.iter().any(event::is_readable), "{:?}", events);
        assert!(events.iter().all(|e| event::token(e) == Token(2)));
        assert!(!events.iter().any(event::is_writable), "{:?}", events);

        selector.deregister(fd).unwrap();
        b.write_all(b"y").unwrap();
        assert!(wait(&selector, Duration::ZERO).is_empty());
    }

    #[test]
    fn clones_share_the_queue() {
        let selector = Selector::new().unwrap();
        let clone = selector.try_clone().unwrap();
        assert_ne!(selector.as_raw_fd(), clone.as_raw_fd());
        // SAFETY: F_GETFD on an fd we own only reads its descriptor flags.
        let flags = unsafe { libc::fcntl(clone.as_raw_fd(), libc::F_GETFD) };
        assert!(flags != -1 && flags & libc::FD_CLOEXEC != 0);
        // SAFETY: as above.
        let flags = unsafe { libc::fcntl(selector.as_raw_fd(), libc::F_GETFD) };
        assert!(flags != -1 && flags & libc::FD_CLOEXEC != 0);

        let (a, mut b) = UnixStream::pair().unwrap();
        clone
            .register(a.as_raw_fd(), Token(3), Interest::READABLE)
            .unwrap();
        b.write_all(b"x").unwrap();
        let events = wait(&selector, DEADLINE);
        assert_eq!(events.len(), 1, "{:?}", events);
        assert_eq!(event::token(&events[0]), Token(3));
    }
}
