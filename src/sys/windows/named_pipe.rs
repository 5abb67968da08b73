//! `nbio::windows::NamedPipe`: overlapped named-pipe I/O presented as
//! readiness.
//!
//! # From completions to readiness
//!
//! Pipes cannot be polled through AFD; the only scalable way to use them is
//! overlapped I/O, whose completions arrive on the `Poll`'s completion port.
//! A `NamedPipe` therefore owns internal buffers and runs the overlapped
//! operations itself, and the caller's `read`/`write` only move bytes between
//! those buffers and the caller:
//!
//! * **Reads.** One overlapped read at a time fills the read buffer, sized
//!   from the caller's last buffer (clamped to 4 KiB – 64 KiB). While it is in
//!   flight `read` returns `WouldBlock`; its completion is a readable event;
//!   then `read` serves the buffered bytes and, once they are used up, issues
//!   the next read. End of stream (`ERROR_BROKEN_PIPE`) is `Ok(0)` and a
//!   read-closed event. A pipe starts reading as soon as it is registered and
//!   connected, so data sent before the first `read` is not left waiting.
//! * **Writes.** `write` copies the whole input into the write buffer,
//!   issues one overlapped write and reports the full length. While it is in
//!   flight further writes return `WouldBlock`; its completion is a writable
//!   event. A failure is kept and returned by the next `write`.
//! * **Connecting** (server ends). `connect` issues an overlapped
//!   `ConnectNamedPipe` and returns `WouldBlock`; its completion is a
//!   writable event (an error one, kept for `take_error`, if it failed).
//! * **Interest** is honoured: the read direction produces events only for a
//!   readable interest, writes and connects only for a writable one. (mio
//!   reports both directions whatever the interest.) Registering or
//!   reregistering a pipe that is already readable or writable queues one
//!   event for that state, much like AFD reports present readiness for a
//!   freshly (re)armed socket.
//!
//! # Who owns what, and for how long
//!
//! Everything the kernel may touch — the `OVERLAPPED` of each kind of
//! operation, the two data buffers and the pipe handle — lives in one
//! reference-counted [`Inner`]. Issuing an operation leaks one strong count
//! into it; the count travels with the `OVERLAPPED` pointer through the
//! kernel and is taken back exactly once, when `select` dequeues the
//! operation's packet (the pipe's completion key tells those packets apart
//! from AFD ones) and hands it to [`complete`]. So the buffers and the
//! `OVERLAPPED`s stay at a fixed address, untouched by Rust code, for as long
//! as the kernel may write them — however the `NamedPipe` is deregistered or
//! dropped. The handle is closed only when the last count goes, i.e. after
//! every operation has completed: dropping a `NamedPipe` cancels its read and
//! connect but lets a write in flight finish.
//!
//! From a packet back to its `Inner`: `Inner` is `repr(C)` and starts with
//! an array of [`Op`]s, each beginning with its `OVERLAPPED` and recording its
//! own index, so the `Inner` sits `index * size_of::<Op>()` bytes before the
//! `OVERLAPPED` the packet names.
//!
//! # Deregistration
//!
//! A handle is associated with one completion port for good, so a pipe
//! stays bound to the first `Poll` it is registered with (registering it
//! with another is `AlreadyExists`). Deregistering clears the token under the
//! pipe's lock; every packet handled afterwards — including completions of
//! operations issued before — checks it under the same lock and reports
//! nothing. The operations themselves carry on (reads keep filling the
//! buffer), so the pipe stays usable and can be registered again.
//!
//! The pipe holds its selector weakly: undelivered packets own counts of the
//! pipe, so a strong reference back would keep a dropped `Poll`'s port alive
//! forever. When the `Poll` is gone no new operation is issued; operations
//! still pending then can never be collected and their `Inner` is leaked
//! (memory, never a dangling pointer).

use super::iocp::Entry;
use super::selector::{Event, Selector, WeakSelector, PIPE_KEY};
use crate::{event, Interest, Registry, Token};
use std::cell::UnsafeCell;
use std::ffi::OsStr;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::sync::{Arc, Mutex, MutexGuard};
use std::{fmt, mem, ptr};
use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_IO_PENDING, ERROR_OPERATION_ABORTED, ERROR_PIPE_CONNECTED,
    ERROR_PIPE_LISTENING, ERROR_PIPE_NOT_CONNECTED, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    ReadFile, WriteFile, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, PIPE_ACCESS_DUPLEX,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, DisconnectNamedPipe, PIPE_READMODE_BYTE, PIPE_TYPE_BYTE,
    PIPE_UNLIMITED_INSTANCES, PIPE_WAIT,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};

/// In- and out-buffer size of pipes created by [`NamedPipe::new`].
const PIPE_BUFFER: u32 = 64 * 1024;
/// Bounds of a background read.
const MIN_READ: usize = 4 * 1024;
const MAX_READ: usize = 64 * 1024;

/// Operation kinds: indexes into `Inner::ops`.
const READ: usize = 0;
const WRITE: usize = 1;
const CONNECT: usize = 2;
/// Not an I/O operation: a packet the pipe posts itself to report its
/// present readiness after (re)registration.
const NOTIFY: usize = 3;

/// A non-blocking, overlapped named pipe that can be registered with a
/// [`Poll`](crate::Poll).
///
/// Create the server end with [`NamedPipe::new`] and accept a client with
/// [`connect`](NamedPipe::connect); wrap a client end (opened with
/// `OpenOptions` and `FILE_FLAG_OVERLAPPED`) with `FromRawHandle`.
///
/// Reads and writes go through internal buffers and overlapped operations:
/// `read` returns `WouldBlock` until a background read has completed (a
/// readable event), and `write` takes the whole input at once, then returns
/// `WouldBlock` until it has been written (a writable event). Events are
/// reported only for the directions of the registered [`Interest`]; after
/// `deregister` none are reported at all, not even for operations that were
/// in flight. The pipe is bound to the first `Poll` it is registered with.
/// I/O before the first registration fails with `NotFound`.
///
/// The handle must not be associated with another completion port, nor use
/// `FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`.
pub struct NamedPipe {
    inner: Arc<Inner>,
}

/// Everything the kernel may touch, plus the state machine; see the module
/// docs for the layout rule (`ops` first).
#[repr(C)]
struct Inner {
    ops: [Op; 4],
    handle: OwnedHandle,
    state: Mutex<State>,
}

/// One kind of operation's `OVERLAPPED` (first, so a pointer to the `Op` is
/// a pointer to it) and its index in `Inner::ops`.
#[repr(C)]
struct Op {
    overlapped: UnsafeCell<OVERLAPPED>,
    index: usize,
}

// SAFETY: the `OVERLAPPED`s are written by Rust only under `state`'s lock
// while no operation of their kind is in flight, and read only after the
// operation's packet was dequeued; the kernel owns them in between. All other
// fields are a handle (usable from any thread) or behind the mutex.
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

struct State {
    /// The port's selector; set by the first registration, kept for good.
    selector: Option<WeakSelector>,
    /// Token and interests while registered.
    registration: Option<(Token, Interest)>,
    /// The `NamedPipe` is gone: only finishing operations remain.
    dropped: bool,
    /// A client is (believed to be) connected: client ends always, server
    /// ends after a successful connect until `disconnect`.
    connected: bool,
    read: ReadState,
    /// The kernel writes it while a read is in flight; its length is the
    /// size of that read.
    read_buf: Vec<u8>,
    /// Size of the next read.
    read_size: usize,
    write: WriteState,
    /// The kernel reads `write_buf[write_pos..]` while a write is in flight.
    write_buf: Vec<u8>,
    write_pos: usize,
    connect: ConnectState,
    connect_error: Option<io::Error>,
    /// A `NOTIFY` packet is queued.
    notify_queued: bool,
}

enum ReadState {
    Idle,
    /// `discard`: `disconnect` or `drop` cancelled it; drop its result.
    InFlight {
        discard: bool,
    },
    /// Unread bytes `read_buf[pos..len]`.
    Ready {
        pos: usize,
        len: usize,
    },
    Eof,
    Failed(io::Error),
}

enum WriteState {
    Idle,
    InFlight { discard: bool },
    Failed(io::Error),
}

enum ConnectState {
    Idle,
    /// `cancelled` by `disconnect`; `again`: `connect` was called since, so
    /// issue a new one when the cancelled one has completed.
    InFlight {
        cancelled: bool,
        again: bool,
    },
}

/// What a completion or notification reports (before the interest filter).
#[derive(Default)]
struct Readiness {
    readable: bool,
    read_closed: bool,
    writable: bool,
    error: bool,
}

impl NamedPipe {
    /// Creates the server end of a new named pipe called `addr` (such as
    /// `\\.\pipe\name`): duplex, byte mode, overlapped, 64 KiB buffers,
    /// unlimited instances, failing if a pipe of that name already exists.
    pub fn new<A: AsRef<OsStr>>(addr: A) -> io::Result<NamedPipe> {
        let name: Vec<u16> = addr.as_ref().encode_wide().chain(Some(0)).collect();
        // SAFETY: `name` is NUL-terminated and outlives the call; no security
        // attributes (the handle is not inheritable).
        let handle = unsafe {
            CreateNamedPipeW(
                name.as_ptr(),
                PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE | FILE_FLAG_OVERLAPPED,
                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                PIPE_UNLIMITED_INSTANCES,
                PIPE_BUFFER,
                PIPE_BUFFER,
                0,
                ptr::null(),
            )
        };
        if handle == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new, valid handle owned by nobody else.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        Ok(NamedPipe::from_owned(handle, false))
    }

    fn from_owned(handle: OwnedHandle, connected: bool) -> NamedPipe {
        let op = |index| Op {
            overlapped: UnsafeCell::new(OVERLAPPED::default()),
            index,
        };
        NamedPipe {
            inner: Arc::new(Inner {
                ops: [op(READ), op(WRITE), op(CONNECT), op(NOTIFY)],
                handle,
                state: Mutex::new(State {
                    selector: None,
                    registration: None,
                    dropped: false,
                    connected,
                    read: ReadState::Idle,
                    read_buf: Vec::new(),
                    read_size: MIN_READ,
                    write: WriteState::Idle,
                    write_buf: Vec::new(),
                    write_pos: 0,
                    connect: ConnectState::Idle,
                    connect_error: None,
                    notify_queued: false,
                }),
            }),
        }
    }

    /// Accepts a client on this server end.
    ///
    /// Returns `Ok` if a client is connected already. Otherwise starts
    /// waiting for one and returns `WouldBlock` (also while a connect is in
    /// flight); the connection is reported as a writable event, and a
    /// failure as an error event whose error [`take_error`] returns.
    /// Requires registration (`NotFound` before).
    ///
    /// [`take_error`]: NamedPipe::take_error
    pub fn connect(&self) -> io::Result<()> {
        let mut st = self.inner.lock();
        if st.selector.is_none() {
            return Err(not_registered());
        }
        match &mut st.connect {
            ConnectState::InFlight {
                cancelled: true,
                again,
            } => {
                *again = true;
                Err(io::ErrorKind::WouldBlock.into())
            }
            ConnectState::InFlight { .. } => Err(io::ErrorKind::WouldBlock.into()),
            ConnectState::Idle => match self.inner.start_connect(&mut st) {
                Ok(true) => {
                    st.connected = true;
                    self.inner.start_read_if_idle(&mut st);
                    Ok(())
                }
                Ok(false) => Err(io::ErrorKind::WouldBlock.into()),
                Err(err) => Err(err),
            },
        }
    }

    /// Takes the error of a failed asynchronous connect, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(self.inner.lock().connect_error.take())
    }

    /// Disconnects the server end from its client (`DisconnectNamedPipe`).
    ///
    /// Operations in flight are cancelled and their results discarded, as
    /// is buffered data; call [`connect`](NamedPipe::connect) to accept the
    /// next client.
    pub fn disconnect(&self) -> io::Result<()> {
        let inner = &*self.inner;
        let mut st = inner.lock();
        if let ReadState::InFlight { discard } = &mut st.read {
            *discard = true;
            inner.cancel(READ);
        } else {
            st.read = ReadState::Idle;
        }
        if let WriteState::InFlight { discard } = &mut st.write {
            *discard = true;
            inner.cancel(WRITE);
        } else {
            st.write = WriteState::Idle;
        }
        if let ConnectState::InFlight { cancelled, again } = &mut st.connect {
            *cancelled = true;
            *again = false;
            inner.cancel(CONNECT);
        }
        st.connected = false;
        // SAFETY: the handle is open; the call takes no pointers.
        super::cvt_bool(unsafe { DisconnectNamedPipe(inner.raw()) })
    }

    fn registration_change(
        &self,
        registry: &Registry,
        change: impl FnOnce(&mut State) -> io::Result<()>,
    ) -> io::Result<()> {
        let selector = registry.selector();
        let mut st = self.inner.lock();
        if let Some(bound) = &st.selector {
            if !bound.is(selector) {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the named pipe is bound to a different `Poll`",
                ));
            }
        }
        change(&mut st)?;
        if st.registration.is_some() {
            self.inner.start_read_if_idle(&mut st);
            self.inner.notify(&mut st, selector);
        }
        Ok(())
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle() as HANDLE
    }

    /// The `OVERLAPPED` of operation `index`, zeroed for a new operation.
    ///
    /// Only call with the state locked and no operation of this kind in
    /// flight.
    fn fresh_overlapped(&self, index: usize) -> *mut OVERLAPPED {
        let overlapped = self.ops[index].overlapped.get();
        // SAFETY: no operation of this kind is in flight (caller), so the
        // kernel does not use it, and the lock keeps other threads out.
        unsafe { overlapped.write(OVERLAPPED::default()) };
        overlapped
    }

    /// Asks the kernel to cancel operation `index` (in flight). Its packet
    /// still arrives, with `ERROR_OPERATION_ABORTED` or its real result.
    fn cancel(&self, index: usize) {
        // SAFETY: the handle is open; the `OVERLAPPED` is only used to find
        // the operation. Not finding it (already complete) is harmless.
        unsafe { CancelIoEx(self.raw(), self.ops[index].overlapped.get()) };
    }

    /// Issues an overlapped operation through `issue`, which receives the
    /// fresh `OVERLAPPED`. Returns whether a packet will arrive (`Ok`) or the
    /// operation's immediate error. The pipe's port must still exist.
    fn issue(
        self: &Arc<Self>,
        st: &State,
        index: usize,
        issue: impl FnOnce(*mut OVERLAPPED) -> windows_sys::core::BOOL,
    ) -> io::Result<()> {
        if st
            .selector
            .as_ref()
            .and_then(WeakSelector::upgrade)
            .is_none()
        {
            // Never registered, or the `Poll` is gone: nobody would collect
            // the packet.
            return Err(not_registered());
        }
        let overlapped = self.fresh_overlapped(index);
        // The operation owns one count until its packet is dequeued.
        let count = Arc::into_raw(Arc::clone(self));
        let res = issue(overlapped);
        if res != 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(ERROR_IO_PENDING as i32) {
            return Ok(());
        }
        // SAFETY: the operation failed immediately, so no packet will carry
        // this count: take it back exactly once.
        drop(unsafe { Arc::from_raw(count) });
        Err(err)
    }

    /// Issues a read of `read_size` bytes (state `Idle`). On an immediate
    /// failure the state records it (unconnected: stays `Idle`).
    fn start_read(self: &Arc<Self>, st: &mut State) -> io::Result<()> {
        let size = st.read_size;
        st.read_buf.resize(size, 0);
        let buf = st.read_buf.as_mut_ptr();
        let handle = self.raw();
        let res = self.issue(st, READ, |overlapped| {
            // SAFETY: `buf` holds `size` bytes inside this `Inner`, which the
            // operation's count keeps alive; it is neither resized nor read
            // until the packet arrives (state `InFlight`). Same for the
            // `OVERLAPPED`.
            unsafe { ReadFile(handle, buf, size as u32, ptr::null_mut(), overlapped) }
        });
        match res {
            Ok(()) => {
                st.read = ReadState::InFlight { discard: false };
                Ok(())
            }
            Err(err) if is_end_of_stream(st, &err) => {
                st.read = ReadState::Eof;
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Starts the background read if nothing is buffered or in flight and a
    /// client is connected; failures are kept for the next `read`.
    fn start_read_if_idle(self: &Arc<Self>, st: &mut State) {
        if st.dropped || !st.connected || !matches!(st.read, ReadState::Idle) {
            return;
        }
        if let Err(err) = self.start_read(st) {
            if !is_unconnected(&err) && err.kind() != io::ErrorKind::NotFound {
                st.read = ReadState::Failed(err);
            }
        }
    }

    /// Issues a write of `write_buf[write_pos..]` (no write in flight).
    fn start_write(self: &Arc<Self>, st: &mut State) -> io::Result<()> {
        let rest = &st.write_buf[st.write_pos..];
        let (buf, len) = (rest.as_ptr(), rest.len());
        let handle = self.raw();
        self.issue(st, WRITE, |overlapped| {
            // SAFETY: `buf..buf+len` lies in `write_buf` inside this `Inner`,
            // kept alive by the operation's count and not modified until the
            // packet arrives (state `InFlight`). Same for the `OVERLAPPED`.
            unsafe { WriteFile(handle, buf, len as u32, ptr::null_mut(), overlapped) }
        })?;
        st.write = WriteState::InFlight { discard: false };
        Ok(())
    }

    /// Issues a `ConnectNamedPipe` (none in flight). `Ok(true)`: a client is
    /// connected already; `Ok(false)`: in flight.
    fn start_connect(self: &Arc<Self>, st: &mut State) -> io::Result<bool> {
        let handle = self.raw();
        let res = self.issue(st, CONNECT, |overlapped| {
            // SAFETY: the `OVERLAPPED` lives in this `Inner`, kept alive by
            // the operation's count, untouched until the packet arrives.
            unsafe { ConnectNamedPipe(handle, overlapped) }
        });
        match res {
            Ok(()) => {
                st.connect = ConnectState::InFlight {
                    cancelled: false,
                    again: false,
                };
                Ok(false)
            }
            // Failed synchronously (no packet): the client came first.
            Err(err) if is(&err, ERROR_PIPE_CONNECTED) => Ok(true),
            Err(err) => Err(err),
        }
    }

    /// Queues a `NOTIFY` packet if the pipe is ready in a registered
    /// direction right now (after a (re)registration).
    fn notify(self: &Arc<Self>, st: &mut State, selector: &Selector) {
        if st.notify_queued || event_for(st, self.readiness(st)).is_none() {
            return;
        }
        let count = Arc::into_raw(Arc::clone(self));
        let overlapped = self.ops[NOTIFY].overlapped.get();
        match selector.port().post_overlapped(PIPE_KEY, overlapped) {
            Ok(()) => st.notify_queued = true,
            // SAFETY: nothing was queued, so no packet carries the count.
            Err(_) => drop(unsafe { Arc::from_raw(count) }),
        }
    }

    /// The pipe's present readiness.
    fn readiness(&self, st: &State) -> Readiness {
        let readable = matches!(
            st.read,
            ReadState::Ready { .. } | ReadState::Eof | ReadState::Failed(_)
        );
        let write_ok = st.connected && !matches!(st.write, WriteState::InFlight { .. });
        Readiness {
            readable,
            read_closed: matches!(st.read, ReadState::Eof),
            writable: write_ok || st.connect_error.is_some(),
            error: st.connect_error.is_some() || matches!(st.write, WriteState::Failed(_)),
        }
    }

    /// The outcome of the operation of kind `index`, whose packet has been
    /// dequeued: bytes transferred, or its error.
    fn result(&self, index: usize) -> io::Result<u32> {
        let mut bytes = 0u32;
        // SAFETY: the packet was dequeued, so the operation is complete and
        // the kernel is done with the `OVERLAPPED`; `bytes` is a valid
        // out-pointer; bWait is false, so nothing blocks.
        let res = unsafe {
            GetOverlappedResult(self.raw(), self.ops[index].overlapped.get(), &mut bytes, 0)
        };
        super::cvt_bool(res).map(|()| bytes)
    }

    fn read_done(self: &Arc<Self>, st: &mut State) -> Readiness {
        let discard = match st.read {
            ReadState::InFlight { discard } => discard,
            _ => false,
        };
        let result = self.result(READ);
        st.read = ReadState::Idle;
        if discard {
            // Cancelled by `disconnect`: start over if a client connected
            // again in the meantime.
            self.start_read_if_idle(st);
            return Readiness::default();
        }
        match result {
            Ok(0) => {
                // Nothing read (a zero-length message): read again.
                self.start_read_if_idle(st);
                Readiness::default()
            }
            Ok(len) => {
                st.read = ReadState::Ready {
                    pos: 0,
                    len: len as usize,
                };
                Readiness {
                    readable: true,
                    ..Readiness::default()
                }
            }
            Err(err) if is_end_of_stream(st, &err) => {
                st.read = ReadState::Eof;
                Readiness {
                    readable: true,
                    read_closed: true,
                    ..Readiness::default()
                }
            }
            Err(err) if is(&err, ERROR_OPERATION_ABORTED) => {
                // Cancelled by someone else (or the pipe was dropped): try
                // again while it is still in use.
                self.start_read_if_idle(st);
                Readiness::default()
            }
            Err(err) => {
                st.read = ReadState::Failed(err);
                Readiness {
                    readable: true,
                    error: true,
                    ..Readiness::default()
                }
            }
        }
    }

    fn write_done(self: &Arc<Self>, st: &mut State) -> Readiness {
        let discard = match st.write {
            WriteState::InFlight { discard } => discard,
            _ => false,
        };
        let result = self.result(WRITE);
        st.write = WriteState::Idle;
        if discard {
            return Readiness::default();
        }
        match result {
            Ok(written) => {
                st.write_pos += written as usize;
                if st.write_pos < st.write_buf.len() {
                    // A short write: send the rest before reporting.
                    match self.start_write(st) {
                        Ok(()) => return Readiness::default(),
                        Err(err) => st.write = WriteState::Failed(err),
                    }
                }
            }
            Err(err) => st.write = WriteState::Failed(err),
        }
        Readiness {
            writable: true,
            error: matches!(st.write, WriteState::Failed(_)),
            ..Readiness::default()
        }
    }

    fn connect_done(self: &Arc<Self>, st: &mut State) -> Readiness {
        let (cancelled, again) = match st.connect {
            ConnectState::InFlight { cancelled, again } => (cancelled, again),
            ConnectState::Idle => (false, false),
        };
        let result = self.result(CONNECT);
        st.connect = ConnectState::Idle;
        if cancelled {
            if !again || st.dropped {
                return Readiness::default();
            }
            // `connect` was called after the `disconnect` that cancelled this
            // one and returned `WouldBlock`: start the awaited connect now.
            return match self.start_connect(st) {
                Ok(false) => Readiness::default(),
                Ok(true) => self.connected(st),
                Err(err) => self.connect_failed(st, err),
            };
        }
        match result {
            Ok(_) => self.connected(st),
            Err(err) if is(&err, ERROR_PIPE_CONNECTED) => self.connected(st),
            Err(err) if is(&err, ERROR_OPERATION_ABORTED) && st.dropped => Readiness::default(),
            Err(err) => self.connect_failed(st, err),
        }
    }

    fn connected(self: &Arc<Self>, st: &mut State) -> Readiness {
        st.connected = true;
        self.start_read_if_idle(st);
        Readiness {
            writable: true,
            ..Readiness::default()
        }
    }

    fn connect_failed(&self, st: &mut State, err: io::Error) -> Readiness {
        st.connect_error = Some(err);
        Readiness {
            writable: true,
            error: true,
            ..Readiness::default()
        }
    }
}

/// The event `readiness` produces for the pipe's registration, if any.
fn event_for(st: &State, readiness: Readiness) -> Option<Event> {
    let (token, interests) = st.registration?;
    if st.dropped {
        return None;
    }
    let readable = readiness.readable && interests.is_readable();
    let writable = readiness.writable && interests.is_writable();
    if !readable && !writable {
        return None;
    }
    Some(Event::pipe(
        token,
        readable,
        readable && readiness.read_closed,
        writable,
        readiness.error,
    ))
}

/// Handles a dequeued packet carrying [`PIPE_KEY`]: takes back the count the
/// operation owned, updates the pipe and returns the event to report, if
/// any. Called by `select` (and by the selector's drop, which ignores the
/// event).
pub(crate) fn complete(entry: &Entry) -> Option<Event> {
    let op = entry.lpOverlapped as *const Op;
    // SAFETY: packets with the pipe key always name the `OVERLAPPED` at the
    // start of an `Op` inside a live `Inner` (the packet's count keeps it
    // alive); `index` is never written after construction.
    let index = unsafe { (*op).index };
    // SAFETY: `Inner` is `repr(C)` and starts with the `ops` array, so the
    // `Op` of `index` sits `index * size_of::<Op>()` bytes after the start
    // of the `Inner`, which is the pointer `Arc::into_raw` produced when the
    // operation was issued; each packet is dequeued once, so the count is
    // taken back once.
    let inner = unsafe {
        let start = op.cast::<u8>().sub(index * mem::size_of::<Op>());
        Arc::from_raw(start.cast::<Inner>())
    };
    let mut st = inner.lock();
    let readiness = match index {
        READ => inner.read_done(&mut st),
        WRITE => inner.write_done(&mut st),
        CONNECT => inner.connect_done(&mut st),
        _ => {
            st.notify_queued = false;
            inner.readiness(&st)
        }
    };
    event_for(&st, readiness)
}

fn not_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the named pipe has not been registered with a `Poll`",
    )
}

/// `true` if a read failing with `err` means the peer has gone: the client
/// closed its end (`ERROR_BROKEN_PIPE`), or the server end of a connected
/// pipe disconnected it (`ERROR_PIPE_NOT_CONNECTED`, seen by the client).
fn is_end_of_stream(st: &State, err: &io::Error) -> bool {
    is(err, ERROR_BROKEN_PIPE) || (st.connected && is(err, ERROR_PIPE_NOT_CONNECTED))
}

/// `true` for the errors of I/O on a server end without a client: not
/// connected yet, or disconnected (by `disconnect`).
fn is_unconnected(err: &io::Error) -> bool {
    is(err, ERROR_PIPE_LISTENING) || is(err, ERROR_PIPE_NOT_CONNECTED)
}

/// `true` if `err` is the Win32 error `code`.
fn is(err: &io::Error, code: u32) -> bool {
    err.raw_os_error() == Some(code as i32)
}

impl Read for &NamedPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_vectored(&mut [IoSliceMut::new(buf)])
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let inner = &self.inner;
        let mut st = inner.lock();
        if st.selector.is_none() {
            return Err(not_registered());
        }
        let wanted: usize = bufs.iter().map(|b| b.len()).sum();
        match mem::replace(&mut st.read, ReadState::Idle) {
            ReadState::Ready { mut pos, len } => {
                let mut copied = 0;
                for buf in bufs.iter_mut() {
                    let n = buf.len().min(len - pos);
                    buf[..n].copy_from_slice(&st.read_buf[pos..pos + n]);
                    pos += n;
                    copied += n;
                    if pos == len {
                        break;
                    }
                }
                if pos < len {
                    st.read = ReadState::Ready { pos, len };
                } else if !st.dropped {
                    st.read_size = wanted.clamp(MIN_READ, MAX_READ);
                    inner.start_read_if_idle(&mut st);
                }
                Ok(copied)
            }
            state @ ReadState::InFlight { .. } => {
                st.read = state;
                Err(io::ErrorKind::WouldBlock.into())
            }
            ReadState::Eof => {
                st.read = ReadState::Eof;
                Ok(0)
            }
            // Reported once; the next read starts over.
            ReadState::Failed(err) => Err(err),
            ReadState::Idle => {
                st.read_size = wanted.clamp(MIN_READ, MAX_READ);
                match inner.start_read(&mut st) {
                    Ok(()) if matches!(st.read, ReadState::Eof) => Ok(0),
                    Ok(()) => Err(io::ErrorKind::WouldBlock.into()),
                    // No client: the connect event will tell.
                    Err(err) if is_unconnected(&err) => Err(io::ErrorKind::WouldBlock.into()),
                    Err(err) => Err(err),
                }
            }
        }
    }
}

impl Write for &NamedPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let inner = &self.inner;
        let mut st = inner.lock();
        if st.selector.is_none() {
            return Err(not_registered());
        }
        match mem::replace(&mut st.write, WriteState::Idle) {
            state @ WriteState::InFlight { .. } => {
                st.write = state;
                Err(io::ErrorKind::WouldBlock.into())
            }
            // The failure of an earlier write, reported once.
            WriteState::Failed(err) => Err(err),
            WriteState::Idle => {
                let total: usize = bufs.iter().map(|b| b.len()).sum();
                if total == 0 {
                    return Ok(0);
                }
                // A single overlapped write takes at most `u32::MAX` bytes.
                let total = total.min(u32::MAX as usize);
                let mut write_buf = mem::take(&mut st.write_buf);
                write_buf.clear();
                for buf in bufs {
                    let room = total - write_buf.len();
                    write_buf.extend_from_slice(&buf[..buf.len().min(room)]);
                }
                st.write_buf = write_buf;
                st.write_pos = 0;
                match inner.start_write(&mut st) {
                    Ok(()) => Ok(total),
                    Err(err) if !st.connected && is_unconnected(&err) => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(err) => Err(err),
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for NamedPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for NamedPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl event::Source for NamedPipe {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        let selector = registry.selector();
        let inner = &self.inner;
        self.registration_change(registry, |st| {
            if st.registration.is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the named pipe is already registered",
                ));
            }
            if st.selector.is_none() {
                selector.port().add_handle(&inner.handle, PIPE_KEY)?;
                st.selector = Some(selector.downgrade());
            }
            st.registration = Some((token, interests));
            Ok(())
        })
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.registration_change(registry, |st| match &mut st.registration {
            Some(registration) => {
                *registration = (token, interests);
                Ok(())
            }
            None => Err(not_registered()),
        })
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.registration_change(registry, |st| match st.registration.take() {
            Some(_) => Ok(()),
            None => Err(not_registered()),
        })
    }
}

impl FromRawHandle for NamedPipe {
    /// Wraps an open pipe handle, typically a client end opened with
    /// `OpenOptions` and `FILE_FLAG_OVERLAPPED`; it is taken to be
    /// connected.
    ///
    /// # Safety
    ///
    /// `handle` must be an open, overlapped named-pipe handle owned by the
    /// caller (ownership passes to the `NamedPipe`), not associated with a
    /// completion port.
    unsafe fn from_raw_handle(handle: RawHandle) -> NamedPipe {
        // SAFETY: the caller passes ownership of an open handle.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        NamedPipe::from_owned(handle, true)
    }
}

impl AsRawHandle for NamedPipe {
    fn as_raw_handle(&self) -> RawHandle {
        self.inner.handle.as_raw_handle()
    }
}

impl fmt::Debug for NamedPipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedPipe")
            .field("handle", &self.inner.handle.as_raw_handle())
            .finish()
    }
}

impl Drop for NamedPipe {
    fn drop(&mut self) {
        let inner = &*self.inner;
        let mut st = inner.lock();
        st.dropped = true;
        st.registration = None;
        // A pending read or connect would wait for a peer forever; a write
        // is left to finish (its count keeps the handle open until then).
        if let ReadState::InFlight { discard } = &mut st.read {
            *discard = true;
            inner.cancel(READ);
        }
        if let ConnectState::InFlight { cancelled, again } = &mut st.connect {
            *cancelled = true;
            *again = false;
            inner.cancel(CONNECT);
        }
    }
}
