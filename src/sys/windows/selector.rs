//! The IOCP + AFD selector.
//!
//! # Design
//!
//! Each `Poll` owns one completion port. A registered socket gets a
//! reference-counted [`SockState`]: its token, the AFD conditions its
//! interests map to, the subset of them currently *armed*, and the buffers of
//! its (at most one) AFD poll request. Requests are issued on a helper handle
//! shared by up to [`AFD_GROUP_SIZE`] sockets (see `afd.rs`) and complete as
//! packets on the port; `select` turns each such packet into at most one
//! event.
//!
//! * **Edge-triggered emulation.** A completed request reports the armed
//!   conditions that hold; exactly those are disarmed and the rest are polled
//!   again. A direction is re-armed only when an operation in that direction
//!   returns `WouldBlock` through the source's `do_io` hook (`try_io` re-arms
//!   both), or by `reregister`. A read that blocks re-arms only the receive
//!   conditions, so readers are not woken by writability they never asked
//!   to hear about again.
//! * **Why changes are queued.** A socket may have only one poll request
//!   outstanding per port, and a request cannot be modified: changing what is
//!   polled means cancelling it and issuing a new one once the cancellation
//!   has completed. Registrations, reregistrations and re-arms therefore mark
//!   the socket and put it on an update queue, which `select` flushes right
//!   before it waits — many changes between two polls cost one request. When
//!   a `select` is blocked at that moment, the changing thread flushes the
//!   queue itself, so the change applies to the running `poll` call. A request
//!   that already covers every armed condition is left alone (conditions
//!   reported but no longer wanted are filtered out when it completes).
//! * **Cancellation and lifetimes.** The kernel writes a request's status
//!   block and result buffer until the request's packet is dequeued, even if
//!   the request was cancelled or the socket deregistered or closed. The
//!   `SockState` holding them is an `Arc` allocation, and issuing a request
//!   leaks one strong count into the request's context pointer; `select`
//!   takes that count back (`Arc::from_raw`) when it dequeues the packet. So
//!   the buffers live, at a fixed address, for as long as the kernel may
//!   write them, however the source is deregistered or dropped (which only
//!   mark the state deleted and cancel the request). Rust code touches the
//!   buffers only under the state's lock and only while no request is in
//!   flight. Dropping the selector cancels every request in flight and drains
//!   their packets; a request whose packet never arrives leaks its state
//!   rather than freeing memory the kernel may still write.
//! * **No steady-state allocation.** A deregistered source keeps its
//!   `SockState`; registering it again reuses the allocation only when
//!   `Arc::get_mut` proves nothing else refers to it (no request in flight,
//!   not in the table, not queued) and its helper handle belongs to the same
//!   selector — otherwise a new one is allocated and the old one lives on
//!   until its packet arrives. The update queue and the table keep their
//!   capacity.
//! * **Timeouts.** `GetQueuedCompletionStatusEx` takes whole milliseconds and
//!   may wake up to a timer tick early, so `select` loops until the deadline
//!   has really passed (or an event arrived); it also loops after packets
//!   that produce no user-visible event (cancellations, stale results).
//!   Durations too large for an `Instant` wait forever.
//! * **Waker.** A packet posted with a null `OVERLAPPED` (never the case for
//!   AFD requests) carries the waker's token as its key.
//! * **Named pipes** (`os-ext`). Pipe handles are associated with the port
//!   under their own completion key, [`PIPE_KEY`], distinct from the AFD
//!   helpers' key; `select` hands packets carrying it (always with a
//!   non-null `OVERLAPPED`) to `named_pipe.rs`, which owns their lifetime
//!   and decides whether they become an event. The AFD path never sees them.

// With `os-poll` alone nothing can be registered (no sockets).
#![cfg_attr(not(feature = "net"), allow(dead_code))]

use super::afd::{self, Afd, PollInfo};
use super::iocp::{CompletionPort, Entry};
use crate::{Interest, Token};
use std::cell::UnsafeCell;
use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::io;
use std::os::windows::io::RawSocket;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use std::{fmt, mem, ptr};
use windows_sys::Win32::Foundation::{HANDLE, STATUS_CANCELLED};
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

/// Sockets sharing one AFD helper handle.
const AFD_GROUP_SIZE: usize = 32;

/// Packets dequeued per wait at most.
const MAX_ENTRIES: usize = 256;

/// Completion key of every named-pipe handle (`os-ext`); see the module docs.
#[cfg(feature = "os-ext")]
pub(crate) const PIPE_KEY: usize = 1;
#[cfg(feature = "os-ext")]
const _: () = assert!(afd::AFD_KEY != PIPE_KEY, "pipe and AFD packets share a key");

/// Synthetic event bit (outside AFD's range): a named-pipe operation failed.
/// Only `is_error` reports it; the direction bits travel alongside.
const PIPE_ERROR: u32 = 0x4000_0000;

/// Synthetic event bit (outside AFD's range): the poll request itself failed,
/// typically because the socket handle became invalid. Reported as an error
/// that is readable and writable, so the next operation surfaces it.
const POLL_FAILED: u32 = 0x8000_0000;

/// AFD conditions always requested: an aborted connection or a failed connect
/// ends both directions.
const ALWAYS: u32 = afd::POLL_ABORT | afd::POLL_CONNECT_FAIL;
/// AFD conditions of the readable direction.
const READ_FLAGS: u32 = afd::POLL_RECEIVE | afd::POLL_DISCONNECT | afd::POLL_ACCEPT | ALWAYS;
/// AFD conditions of the writable direction.
const WRITE_FLAGS: u32 = afd::POLL_SEND | ALWAYS;

/// AFD conditions requested for `interests` (also: re-armed for a
/// `direction`).
fn interest_flags(interests: Interest) -> u32 {
    let mut flags = 0;
    if interests.is_readable() {
        flags |= READ_FLAGS;
    }
    if interests.is_writable() {
        flags |= WRITE_FLAGS;
    }
    flags
}

/// A handle to one selector; clones share it (`Registry::try_clone`).
#[derive(Clone)]
pub(crate) struct Selector {
    shared: Arc<Shared>,
}

struct Shared {
    port: CompletionPort,
    /// Helper handles, the newest last; see `afd_for_new_socket`.
    afd_group: Mutex<Vec<Arc<Afd>>>,
    /// Sockets whose request must be (re)issued or cancelled.
    update_queue: Mutex<VecDeque<Arc<SockState>>>,
    /// Every state that is registered or still has a request in flight,
    /// keyed by address, so dropping the selector can cancel them all.
    states: Mutex<HashMap<usize, Arc<SockState>>>,
    /// Requests issued whose packets have not been dequeued yet.
    in_flight: AtomicUsize,
    /// A `select` is (about to be) blocked in the port.
    polling: AtomicBool,
}

/// Per-socket state; see the module docs for who holds it and when.
pub(crate) struct SockState {
    /// The buffers of the poll request: written by the kernel while a request
    /// is in flight, read and written by Rust only under `inner`'s lock while
    /// none is.
    request: UnsafeCell<RequestBuffers>,
    inner: Mutex<SockInner>,
}

// SAFETY: `inner` is a `Mutex`; `request` is only accessed under that mutex
// and only while no request is in flight (the kernel's writes happen before
// the request's packet is dequeued, which the dequeuing thread observes
// before it takes the lock), so no two threads ever access it at once.
unsafe impl Sync for SockState {}
// SAFETY: as above; every field is owned data or a kernel handle.
unsafe impl Send for SockState {}

#[repr(C)]
struct RequestBuffers {
    iosb: IO_STATUS_BLOCK,
    info: PollInfo,
}

struct SockInner {
    afd: Arc<Afd>,
    /// The base socket AFD polls (as an integer: handles are not `Send`).
    base_socket: usize,
    token: Token,
    /// AFD conditions of the registered interests.
    interests: u32,
    /// The subset of `interests` not reported since it was last armed.
    armed: u32,
    request: Request,
    /// Deregistered or dropped: report nothing, forget it when idle.
    deleted: bool,
    /// On the update queue.
    queued: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Request {
    Idle,
    /// In flight, polling these conditions.
    InFlight(u32),
    /// Cancelled; its packet has not arrived yet.
    Cancelling,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        Ok(Selector {
            shared: Arc::new(Shared {
                port: CompletionPort::new()?,
                afd_group: Mutex::new(Vec::new()),
                update_queue: Mutex::new(VecDeque::new()),
                states: Mutex::new(HashMap::new()),
                in_flight: AtomicUsize::new(0),
                polling: AtomicBool::new(false),
            }),
        })
    }

    pub(crate) fn try_clone(&self) -> io::Result<Selector> {
        Ok(self.clone())
    }

    /// `true` if both handles refer to the same selector.
    pub(crate) fn same_as(&self, other: &Selector) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
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
        // `None` for no timeout and for one too large to represent: both
        // never expire.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut entries = [Entry::default(); MAX_ENTRIES];
        let mut first = true;
        loop {
            // Publish "polling" before flushing; changers publish their change
            // before reading "polling" (both SeqCst), so every change is
            // either flushed here or by its own thread.
            shared.polling.store(true, Ordering::SeqCst);
            self.flush_updates();
            let wait = match (timeout, deadline) {
                (None, _) => None,
                // Not representable: wait in maximal finite steps forever.
                (Some(t), None) => Some(t),
                // First wait: the caller's timeout as given, so a
                // sub-millisecond one rounds up to 1 ms instead of shrinking.
                (Some(t), Some(_)) if first => Some(t),
                (Some(_), Some(end)) => Some(end.saturating_duration_since(Instant::now())),
            };
            first = false;
            let room = (events.capacity() - events.len()).min(MAX_ENTRIES);
            let res = shared.port.get_many(&mut entries[..room], wait);
            shared.polling.store(false, Ordering::SeqCst);
            let got = res?;
            for entry in &entries[..got] {
                if entry.lpOverlapped.is_null() {
                    // A `Waker` packet: readable, with the token as its key.
                    events.push(Event {
                        flags: afd::POLL_RECEIVE,
                        token: entry.lpCompletionKey,
                    });
                    continue;
                }
                #[cfg(feature = "os-ext")]
                if entry.lpCompletionKey == PIPE_KEY {
                    if let Some(event) = super::named_pipe::complete(entry) {
                        events.push(event);
                    }
                    continue;
                }
                if let Some(event) = self.complete(entry.lpOverlapped as *const SockState) {
                    events.push(event);
                }
            }
            let expired = deadline.is_some_and(|end| Instant::now() >= end);
            if !events.is_empty() || expired || timeout == Some(Duration::ZERO) {
                return Ok(());
            }
        }
    }

    /// Registers `socket`; returns its state. `recycled` is the state of an
    /// earlier registration of the same source: it is reused (no allocation)
    /// when nothing else refers to it any more — no request in flight, not
    /// in the table or on the update queue — and it belongs to this
    /// selector; otherwise a new state is allocated.
    pub(crate) fn register(
        &self,
        socket: RawSocket,
        token: Token,
        interests: Interest,
        recycled: Option<Arc<SockState>>,
    ) -> io::Result<Arc<SockState>> {
        let base_socket = afd::base_socket(socket)? as usize;
        let flags = interest_flags(interests);
        let state = match recycled.and_then(|old| self.recycle(old, base_socket, token, flags)) {
            Some(state) => state,
            None => Arc::new(SockState {
                request: UnsafeCell::new(RequestBuffers {
                    iosb: IO_STATUS_BLOCK::default(),
                    info: PollInfo::zeroed(),
                }),
                inner: Mutex::new(SockInner {
                    afd: self.afd_for_new_socket()?,
                    base_socket,
                    token,
                    interests: flags,
                    armed: flags,
                    request: Request::Idle,
                    deleted: false,
                    queued: false,
                }),
            }),
        };
        lock(&self.shared.states).insert(addr(&state), Arc::clone(&state));
        self.enqueue(&state, &mut lock(&state.inner));
        self.changed();
        Ok(state)
    }

    /// Resets `state` for a new registration if this is the only reference
    /// to it (so no request is in flight: a request owns a count until its
    /// packet is dequeued) and its helper handle belongs to this selector.
    fn recycle(
        &self,
        mut state: Arc<SockState>,
        base_socket: usize,
        token: Token,
        flags: u32,
    ) -> Option<Arc<SockState>> {
        let unique = Arc::get_mut(&mut state)?;
        let inner = unique
            .inner
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let ours = lock(&self.shared.afd_group)
            .iter()
            .any(|afd| Arc::ptr_eq(afd, &inner.afd));
        if !ours {
            return None;
        }
        debug_assert!(inner.request == Request::Idle && !inner.queued);
        inner.base_socket = base_socket;
        inner.token = token;
        inner.interests = flags;
        inner.armed = flags;
        inner.request = Request::Idle;
        inner.deleted = false;
        inner.queued = false;
        *unique.request.get_mut() = RequestBuffers {
            iosb: IO_STATUS_BLOCK::default(),
            info: PollInfo::zeroed(),
        };
        Some(state)
    }

    /// Replaces the token and interests of `state` and re-arms everything.
    pub(crate) fn reregister(
        &self,
        state: &Arc<SockState>,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        {
            let mut inner = lock(&state.inner);
            if inner.deleted {
                return Err(io::ErrorKind::NotFound.into());
            }
            let flags = interest_flags(interests);
            inner.token = token;
            inner.interests = flags;
            inner.armed = flags;
            self.enqueue(state, &mut inner);
        }
        self.changed();
        Ok(())
    }

    /// Stops reporting `state` and cancels its request.
    pub(crate) fn deregister(&self, state: &Arc<SockState>) -> io::Result<()> {
        let mut inner = lock(&state.inner);
        if inner.deleted {
            return Err(io::ErrorKind::NotFound.into());
        }
        inner.deleted = true;
        match inner.request {
            Request::InFlight(_) => Self::cancel(state, &mut inner),
            Request::Cancelling => {}
            Request::Idle => {
                lock(&self.shared.states).remove(&addr(state));
            }
        }
        Ok(())
    }

    /// Re-arms `direction` of `state` after an operation in that direction
    /// returned `WouldBlock`.
    pub(crate) fn rearm(&self, state: &Arc<SockState>, direction: Interest) {
        {
            let mut inner = lock(&state.inner);
            let flags = interest_flags(direction) & inner.interests;
            if inner.deleted || inner.armed & flags == flags {
                return;
            }
            inner.armed |= flags;
            // A request in flight that already polls all of them: nothing
            // to change.
            if let Request::InFlight(polled) = inner.request {
                if inner.armed & !polled == 0 {
                    return;
                }
            }
            self.enqueue(state, &mut inner);
        }
        self.changed();
    }

    /// Puts `state` on the update queue (once).
    fn enqueue(&self, state: &Arc<SockState>, inner: &mut SockInner) {
        if !inner.queued {
            inner.queued = true;
            lock(&self.shared.update_queue).push_back(Arc::clone(state));
        }
    }

    /// After a change was queued: if a `select` is blocked, apply it now.
    fn changed(&self) {
        if self.shared.polling.load(Ordering::SeqCst) {
            self.flush_updates();
        }
    }

    /// Issues, replaces or leaves alone the request of every queued socket.
    fn flush_updates(&self) {
        // One at a time: the queue's lock is not held while a state's is
        // taken (`enqueue` nests them the other way round), and the queue
        // keeps its capacity, so steady-state flushes do not allocate.
        // States queued after this point are flushed by whoever queued them
        // (see `select`) or by the next flush.
        let pending = lock(&self.shared.update_queue).len();
        for _ in 0..pending {
            let Some(state) = lock(&self.shared.update_queue).pop_front() else {
                break;
            };
            let mut inner = lock(&state.inner);
            inner.queued = false;
            if inner.deleted {
                continue;
            }
            let wanted = inner.armed & inner.interests;
            match inner.request {
                Request::InFlight(polled) if wanted & !polled == 0 => {}
                // Polling the wrong set: cancel; the cancelled packet queues
                // the state again and the right request follows.
                Request::InFlight(_) => Self::cancel(&state, &mut inner),
                Request::Cancelling => {}
                Request::Idle if wanted == 0 => {}
                Request::Idle => self.submit(&state, &mut inner, wanted),
            }
        }
    }

    /// Issues a poll request for `flags` (state locked, no request in
    /// flight).
    fn submit(&self, state: &Arc<SockState>, inner: &mut SockInner, flags: u32) {
        let buffers = state.request.get();
        // SAFETY: no request is in flight (`Request::Idle`) and we hold the
        // lock, so nothing else accesses the buffers.
        unsafe {
            ptr::write(
                buffers,
                RequestBuffers {
                    iosb: IO_STATUS_BLOCK::default(),
                    info: PollInfo::new(inner.base_socket as HANDLE, flags),
                },
            );
        }
        // The request owns one strong count until its packet is dequeued.
        let context = Arc::into_raw(Arc::clone(state));
        // SAFETY: the buffers live inside the `Arc` allocation kept alive by
        // `context`'s count until `complete` reclaims it when the packet is
        // dequeued; they do not move, and Rust code does not touch them while
        // the request is in flight (module docs). `context` is non-null.
        let res = unsafe {
            inner.afd.poll(
                ptr::addr_of_mut!((*buffers).info),
                ptr::addr_of_mut!((*buffers).iosb),
                context.cast::<c_void>(),
            )
        };
        match res {
            Ok(()) => {
                self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
                inner.request = Request::InFlight(flags);
            }
            Err(_err) => {
                // SAFETY: the request was rejected, so no packet will carry
                // `context`: take its count back exactly once.
                drop(unsafe { Arc::from_raw(context) });
                // Most likely the socket was closed behind nbio's back;
                // nothing to poll until something re-arms it.
                trace!("AFD poll request failed: {}", _err);
                inner.armed = 0;
            }
        }
    }

    /// Cancels the request in flight (state locked).
    fn cancel(state: &SockState, inner: &mut SockInner) {
        // SAFETY: a request is in flight on `inner.afd` with this status
        // block and its packet has not been dequeued (we hold the lock and
        // its state is `InFlight`); the pointer is only used as a key.
        let iosb = unsafe { ptr::addr_of!((*state.request.get()).iosb) };
        // SAFETY: as above.
        let res = unsafe { inner.afd.cancel(iosb) };
        if let Err(_err) = res {
            // The request stays in flight and completes on its own.
            trace!("cancelling an AFD poll request failed: {}", _err);
        }
        inner.request = Request::Cancelling;
    }

    /// Handles the packet of the request whose context is `context`; returns
    /// the event to report, if any.
    fn complete(&self, context: *const SockState) -> Option<Event> {
        // SAFETY: every non-null packet context on this port comes from
        // `Arc::into_raw` in `submit`, and each packet is dequeued once.
        let state = unsafe { Arc::from_raw(context) };
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        let mut inner = lock(&state.inner);
        inner.request = Request::Idle;
        if inner.deleted {
            lock(&self.shared.states).remove(&addr(&state));
            return None;
        }
        // SAFETY: the packet was dequeued, so the kernel is done with the
        // buffers; we hold the lock and no request is in flight.
        let (status, info) = unsafe {
            let buffers = &*state.request.get();
            (buffers.iosb.Anonymous.Status, buffers.info)
        };
        let reported = if status == STATUS_CANCELLED {
            0
        } else if status < 0 {
            POLL_FAILED
        } else if info.number_of_handles == 0 {
            0
        } else {
            let flags = info.handles[0].events;
            if flags & afd::POLL_LOCAL_CLOSE != 0 {
                // The socket was closed: nothing more will happen to it.
                inner.deleted = true;
                lock(&self.shared.states).remove(&addr(&state));
                return None;
            }
            flags & inner.armed
        };
        let event = (reported != 0).then(|| Event {
            flags: reported,
            token: inner.token.0,
        });
        if reported == POLL_FAILED {
            inner.armed = 0;
        } else {
            inner.armed &= !reported;
        }
        if inner.armed & inner.interests != 0 {
            self.enqueue(&state, &mut inner);
        }
        event
    }

    /// A helper handle with room for one more socket.
    fn afd_for_new_socket(&self) -> io::Result<Arc<Afd>> {
        let mut group = lock(&self.shared.afd_group);
        // Close handles nobody uses any more (the group's own reference is
        // the only one; counts only grow under this lock).
        group.retain(|afd| Arc::strong_count(afd) > 1);
        if let Some(afd) = group.last() {
            if Arc::strong_count(afd) <= AFD_GROUP_SIZE {
                return Ok(Arc::clone(afd));
            }
        }
        let afd = Arc::new(Afd::new(&self.shared.port)?);
        group.push(Arc::clone(&afd));
        Ok(afd)
    }

    /// Posts a `Waker` packet.
    pub(crate) fn wake(&self, token: Token) -> io::Result<()> {
        self.shared.port.post(token.0, 0)
    }

    /// The completion port (named pipes associate with it and post to it).
    #[cfg(feature = "os-ext")]
    pub(crate) fn port(&self) -> &CompletionPort {
        &self.shared.port
    }

    /// A handle that does not keep the selector alive.
    #[cfg(feature = "os-ext")]
    pub(crate) fn downgrade(&self) -> WeakSelector {
        WeakSelector {
            shared: Arc::downgrade(&self.shared),
        }
    }
}

/// A non-owning handle to a selector, held by named pipes: a pipe must not
/// keep its `Poll`'s port alive (the port's undelivered packets would keep
/// the pipe alive in turn).
#[cfg(feature = "os-ext")]
#[derive(Clone)]
pub(crate) struct WeakSelector {
    shared: std::sync::Weak<Shared>,
}

#[cfg(feature = "os-ext")]
impl WeakSelector {
    /// The selector, unless it has been dropped.
    pub(crate) fn upgrade(&self) -> Option<Selector> {
        self.shared.upgrade().map(|shared| Selector { shared })
    }

    /// `true` if this refers to `selector`.
    pub(crate) fn is(&self, selector: &Selector) -> bool {
        std::ptr::eq(self.shared.as_ptr(), Arc::as_ptr(&selector.shared))
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("port", &self.shared.port)
            .finish_non_exhaustive()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Cancel every request in flight, then collect their packets so the
        // states (and through them the helper handles) are released.
        let states = mem::take(&mut *lock(&self.states));
        for state in states.values() {
            let mut inner = lock(&state.inner);
            inner.deleted = true;
            if let Request::InFlight(_) = inner.request {
                Selector::cancel(state, &mut inner);
            }
        }
        drop(states);
        let mut entries = [Entry::default(); 64];
        let mut idle_waits = 0;
        // Cancellation completes promptly; give up (leaking the remaining
        // states, which is safe) only if the kernel stops delivering.
        while self.in_flight.load(Ordering::Acquire) > 0 && idle_waits < 100 {
            match self
                .port
                .get_many(&mut entries, Some(Duration::from_millis(10)))
            {
                Ok(0) => idle_waits += 1,
                Ok(n) => {
                    for entry in &entries[..n] {
                        self.release(entry);
                    }
                }
                Err(_) => break,
            }
        }
        // Packets already queued for named pipes (or AFD packets that
        // arrived with the last batch) still own references: collect them.
        // Pipe operations that have not completed yet cannot be waited for
        // here (a read may wait forever); their pipe state is leaked.
        while let Ok(n @ 1..) = self.port.get_many(&mut entries, Some(Duration::ZERO)) {
            for entry in &entries[..n] {
                self.release(entry);
            }
        }
    }
}

impl Shared {
    /// Drops the reference a dequeued packet owns, reporting nothing.
    fn release(&self, entry: &Entry) {
        if entry.lpOverlapped.is_null() {
            return;
        }
        #[cfg(feature = "os-ext")]
        if entry.lpCompletionKey == PIPE_KEY {
            // The pipe sees that its selector is gone (its weak handle no
            // longer upgrades) and issues nothing new.
            let _ = super::named_pipe::complete(entry);
            return;
        }
        // SAFETY: as in `complete`: a context from `submit`, dequeued
        // exactly once.
        drop(unsafe { Arc::from_raw(entry.lpOverlapped as *const SockState) });
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Identity of a state (its address) for the `states` map.
fn addr(state: &Arc<SockState>) -> usize {
    Arc::as_ptr(state) as usize
}

/// Locks a mutex, ignoring poisoning: no code panics while holding these
/// locks, so the data stays consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An event: the reported AFD conditions and the token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    flags: u32,
    token: usize,
}

impl Event {
    /// An event for a named pipe, expressed in AFD conditions: readable is
    /// `POLL_RECEIVE`, read-closed adds `POLL_DISCONNECT`, writable is
    /// `POLL_SEND`, and an error adds the synthetic `PIPE_ERROR` bit.
    #[cfg(feature = "os-ext")]
    pub(crate) fn pipe(
        token: Token,
        readable: bool,
        read_closed: bool,
        writable: bool,
        error: bool,
    ) -> Event {
        let mut flags = 0;
        if readable {
            flags |= afd::POLL_RECEIVE;
        }
        if read_closed {
            flags |= afd::POLL_DISCONNECT;
        }
        if writable {
            flags |= afd::POLL_SEND;
        }
        if error {
            flags |= PIPE_ERROR;
        }
        Event {
            flags,
            token: token.0,
        }
    }
}

pub(crate) type Events = Vec<Event>;

/// Accessors mapping AFD conditions to nbio's readiness flags.
pub(crate) mod event {
    use super::{afd, Event, PIPE_ERROR, POLL_FAILED};
    use crate::Token;
    use std::fmt;

    pub(crate) fn token(event: &Event) -> Token {
        Token(event.token)
    }

    pub(crate) fn is_readable(event: &Event) -> bool {
        event.flags
            & (afd::POLL_RECEIVE
                | afd::POLL_DISCONNECT
                | afd::POLL_ACCEPT
                | afd::POLL_ABORT
                | afd::POLL_CONNECT_FAIL
                | POLL_FAILED)
            != 0
    }

    pub(crate) fn is_writable(event: &Event) -> bool {
        event.flags & (afd::POLL_SEND | afd::POLL_ABORT | afd::POLL_CONNECT_FAIL | POLL_FAILED) != 0
    }

    pub(crate) fn is_error(event: &Event) -> bool {
        event.flags & (afd::POLL_CONNECT_FAIL | POLL_FAILED | PIPE_ERROR) != 0
    }

    pub(crate) fn is_read_closed(event: &Event) -> bool {
        event.flags & (afd::POLL_DISCONNECT | afd::POLL_ABORT | afd::POLL_CONNECT_FAIL) != 0
    }

    pub(crate) fn is_write_closed(event: &Event) -> bool {
        event.flags & (afd::POLL_ABORT | afd::POLL_CONNECT_FAIL) != 0
    }

    pub(crate) fn is_priority(event: &Event) -> bool {
        event.flags & afd::POLL_RECEIVE_EXPEDITED != 0
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
            f.debug_struct("afd_event")
                .field("token", &self.0.token)
                .field("flags", &format_args!("{:#x}", self.0.flags))
                .finish()
        }
    }
}
