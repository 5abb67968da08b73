//! The I/O completion port behind each `Poll`.
//!
//! A completion port is a kernel queue of completion packets. Every handle
//! associated with it (here: the AFD helper handles) queues a packet when an
//! overlapped request issued on it finishes, tagged with the handle's
//! completion key and the request's context pointer; anyone holding the port
//! can also post packets of their own (the `Waker` does).
//! `GetQueuedCompletionStatusEx` dequeues up to a given number of packets,
//! waiting at most a given number of milliseconds.

use super::cvt_bool;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::time::Duration;
use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE, WAIT_TIMEOUT};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, PostQueuedCompletionStatus, OVERLAPPED,
    OVERLAPPED_ENTRY,
};

/// `INFINITE` for the wait functions.
const INFINITE: u32 = u32::MAX;

/// An owned completion port.
#[derive(Debug)]
pub(crate) struct CompletionPort {
    handle: OwnedHandle,
}

/// One dequeued completion packet.
pub(crate) type Entry = OVERLAPPED_ENTRY;

impl CompletionPort {
    /// Creates a new completion port that lets one thread run at a time.
    pub(crate) fn new() -> io::Result<CompletionPort> {
        // SAFETY: creating a fresh port takes no pointers; the result is a
        // new handle or null.
        let handle = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0 as HANDLE, 0, 1) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `handle` is a new, valid handle owned by nobody else.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        Ok(CompletionPort { handle })
    }

    /// Associates `handle` with this port: overlapped requests completed on
    /// it will queue packets carrying `key`.
    pub(crate) fn add_handle(&self, handle: &impl AsRawHandle, key: usize) -> io::Result<()> {
        // SAFETY: both handles are open (borrowed from live owners); the call
        // only links them and returns the port or null.
        let res = unsafe { CreateIoCompletionPort(handle.as_raw_handle(), self.raw(), key, 0) };
        if res.is_null() {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Posts a packet without an `OVERLAPPED`, carrying `key` and `bytes`.
    pub(crate) fn post(&self, key: usize, bytes: u32) -> io::Result<()> {
        // SAFETY: the port is open; a null OVERLAPPED pointer is allowed and
        // is passed back verbatim, never dereferenced by the kernel.
        cvt_bool(unsafe {
            PostQueuedCompletionStatus(self.raw(), bytes, key, std::ptr::null::<OVERLAPPED>())
        })
    }

    /// Posts a packet carrying `key` and the opaque pointer `overlapped`
    /// (named pipes post their own packets this way). The kernel neither
    /// reads nor writes through the pointer; it comes back verbatim.
    #[cfg(feature = "os-ext")]
    pub(crate) fn post_overlapped(
        &self,
        key: usize,
        overlapped: *const OVERLAPPED,
    ) -> io::Result<()> {
        // SAFETY: the port is open; the pointer is only carried along.
        cvt_bool(unsafe { PostQueuedCompletionStatus(self.raw(), 0, key, overlapped) })
    }

    /// Dequeues up to `entries.len()` packets, waiting at most `timeout`
    /// (`None`: forever). Returns how many entries were filled; zero when
    /// the wait timed out.
    ///
    /// The timeout is rounded **up** to whole milliseconds and clamped just
    /// below `INFINITE` (about 49.7 days), so a finite timeout never turns
    /// into an infinite wait; callers loop for longer ones.
    pub(crate) fn get_many(
        &self,
        entries: &mut [Entry],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let ms = timeout_ms(timeout);
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let mut removed = 0u32;
        // SAFETY: `entries` is a valid, writable buffer of at least `count`
        // `OVERLAPPED_ENTRY`s and `removed` is a valid out-pointer; the call
        // is not alertable, so no APC runs inside it.
        let res = unsafe {
            GetQueuedCompletionStatusEx(
                self.raw(),
                entries.as_mut_ptr(),
                count,
                &mut removed,
                ms,
                0,
            )
        };
        match cvt_bool(res) {
            Ok(()) => Ok(removed as usize),
            Err(err) if err.raw_os_error() == Some(WAIT_TIMEOUT as i32) => Ok(0),
            Err(err) => Err(err),
        }
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle() as HANDLE
    }
}

impl AsRawHandle for CompletionPort {
    fn as_raw_handle(&self) -> RawHandle {
        self.handle.as_raw_handle()
    }
}

/// Milliseconds for the wait functions: `None` is `INFINITE`, zero stays
/// zero, anything else rounds up (so a short wait never becomes a busy loop)
/// and saturates one below `INFINITE`.
pub(crate) fn timeout_ms(timeout: Option<Duration>) -> u32 {
    match timeout {
        None => INFINITE,
        Some(d) => {
            // u128 arithmetic cannot overflow, even for `Duration::MAX`.
            let rest = u128::from(d.subsec_nanos() % 1_000_000 != 0);
            (d.as_millis() + rest).min(u128::from(INFINITE - 1)) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{timeout_ms, INFINITE};
    use std::time::Duration;

    #[test]
    fn timeout_ms_rounds_up_and_saturates() {
        assert_eq!(timeout_ms(None), INFINITE);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1001))), 2);
        let max = INFINITE - 1;
        assert_eq!(timeout_ms(Some(Duration::from_millis(u64::from(max)))), max);
        assert_eq!(
            timeout_ms(Some(Duration::from_millis(u64::from(u32::MAX) + 7))),
            max
        );
        assert_eq!(timeout_ms(Some(Duration::MAX)), max);
    }
}
