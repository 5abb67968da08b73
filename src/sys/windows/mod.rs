//! Windows backend: an I/O completion port per `Poll`, socket readiness
//! through the AFD driver's poll request, and WinSock socket creation.
//!
//! # How readiness works on Windows
//!
//! Windows has no readiness API for sockets that scales: `select` and
//! `WSAPoll` are level-triggered and O(n), and completion ports report
//! finished *operations*, not readiness. Underneath WinSock, however, every
//! socket is a handle of the Ancillary Function Driver (AFD), and AFD accepts
//! an asynchronous "poll" request (`IOCTL_AFD_POLL`) that completes once one
//! of the requested conditions (data to receive, room to send, a pending
//! connection, a disconnect, …) holds for the socket it names. Issued on a
//! handle that is associated with a completion port, that request turns into
//! a completion packet — a readiness notification delivered through the port.
//! This driver interface is not formally documented; the request layout and
//! flag values used here are the ones every user of the technique relies on
//! (see `afd.rs`).
//!
//! The pieces, one per file:
//!
//! * `iocp.rs` — the completion port: create, associate handles, post
//!   packets, dequeue many packets at once;
//! * `afd.rs` — a helper handle opened on the AFD device, shared by a bounded
//!   group of sockets, through which poll requests are issued and cancelled;
//! * `selector.rs` — the `Selector`: per-socket state, the queue of pending
//!   (re)submissions, the edge-triggered emulation and the `select` loop;
//! * `waker.rs` — the `Waker`: a packet posted straight to the port;
//! * `named_pipe.rs` — `nbio::windows::NamedPipe` (`os-ext`): overlapped
//!   pipe I/O bridged to readiness events through internal buffers;
//! * `io_source_state.rs` — what every `IoSource` keeps: its registration,
//!   used by `do_io` to re-arm a direction that returned `WouldBlock`;
//! * `net/` — creating non-blocking, non-inheritable sockets.

#[cfg(feature = "os-poll")]
mod afd;
#[cfg(feature = "os-poll")]
mod iocp;
#[cfg(feature = "os-poll")]
mod selector;
#[cfg(feature = "os-poll")]
pub(crate) use self::selector::{event, Event, Events, Selector};
#[cfg(feature = "os-poll")]
mod waker;
#[cfg(feature = "os-poll")]
pub(crate) use self::waker::Waker;

#[cfg(feature = "os-ext")]
mod named_pipe;
#[cfg(feature = "os-ext")]
pub use self::named_pipe::NamedPipe;

#[cfg(feature = "net")]
mod io_source_state;
#[cfg(feature = "net")]
pub(crate) use self::io_source_state::IoSourceState;

#[cfg(feature = "net")]
pub(crate) mod net;

/// Objects that can hand their OS handle (here a socket) to the selector;
/// `IoSource` registers through it.
#[cfg(feature = "net")]
pub(crate) trait AsRawSource {
    fn as_raw_source(&self) -> std::os::windows::io::RawSocket;
}

#[cfg(feature = "net")]
impl<T: std::os::windows::io::AsRawSocket> AsRawSource for T {
    fn as_raw_source(&self) -> std::os::windows::io::RawSocket {
        self.as_raw_socket()
    }
}

/// Converts a Win32 `BOOL` result into an `io::Result`, reading the thread's
/// last error when the call failed.
#[cfg(feature = "os-poll")]
pub(crate) fn cvt_bool(res: windows_sys::core::BOOL) -> std::io::Result<()> {
    if res == 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Converts a failed `NTSTATUS` into the matching Win32 error.
#[cfg(feature = "os-poll")]
pub(crate) fn ntstatus_error(status: windows_sys::Win32::Foundation::NTSTATUS) -> std::io::Error {
    // SAFETY: a pure translation function without preconditions.
    let code = unsafe { windows_sys::Win32::Foundation::RtlNtStatusToDosError(status) };
    std::io::Error::from_raw_os_error(code as i32)
}
