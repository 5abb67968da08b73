//! AFD helper handles and the `IOCTL_AFD_POLL` request.
//!
//! # The technique
//!
//! The Ancillary Function Driver (`\Device\Afd`) is the kernel side of
//! WinSock. Opening the device by name (any path below `\Device\Afd` works;
//! nbio uses `\Device\Afd\Nbio`) yields a handle that is not a usable socket
//! but accepts device-control requests. One of them, `IOCTL_AFD_POLL`, takes
//! a list of socket handles with a mask of conditions each, and completes as
//! soon as one of those conditions holds for one of the sockets — the
//! asynchronous core of `select`. nbio always sends a list of exactly one
//! socket, with an infinite timeout and without "exclusive" mode, and issues
//! the request on a helper handle associated with the `Poll`'s completion
//! port, so its completion shows up as a packet there.
//!
//! The interface is undocumented but stable since Windows XP and relied on by
//! the major event libraries; the values below (the control code
//! `0x0001_2024`, the condition bits, the request layout) are facts of that
//! interface. Wine implements the same request since 7.x. Some sandboxes block
//! the device, in which case `Poll::new` still works but registering a socket
//! fails with the error from opening the device.
//!
//! # Sharing helper handles
//!
//! Every poll request issued on a helper handle is tracked by the driver per
//! handle, and the driver's bookkeeping grows with the number of requests
//! outstanding on one handle, so handles are shared by bounded groups of
//! sockets (see `AfdGroup` in `selector.rs`) rather than one handle for all
//! or one per socket.
//!
//! # Requests in flight
//!
//! A poll request names an `IO_STATUS_BLOCK` and a `PollInfo` that the kernel
//! writes when the request completes — at any time until its completion
//! packet is dequeued. Both must therefore stay at a fixed address and must
//! not be touched by Rust code until then; `poll` and `cancel` are `unsafe`
//! and the selector upholds this by keeping them inside a reference-counted
//! allocation whose count includes the request itself.

// With `os-poll` alone nothing can be registered (no sockets).
#![cfg_attr(not(feature = "net"), allow(dead_code))]

use super::iocp::CompletionPort;
use super::ntstatus_error;
use std::ffi::c_void;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawSocket};
use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{NtCancelIoFileEx, NtCreateFile, FILE_OPEN};
use windows_sys::Wdk::System::IO::NtDeviceIoControlFile;
use windows_sys::Win32::Foundation::{
    HANDLE, NTSTATUS, OBJ_CASE_INSENSITIVE, STATUS_NOT_FOUND, STATUS_PENDING, UNICODE_STRING,
};
use windows_sys::Win32::Networking::WinSock::{
    WSAGetLastError, WSAIoctl, INVALID_SOCKET, SIO_BASE_HANDLE, SIO_BSP_HANDLE,
    SIO_BSP_HANDLE_POLL, SIO_BSP_HANDLE_SELECT, SOCKET, SOCKET_ERROR,
};
use windows_sys::Win32::Storage::FileSystem::{
    SetFileCompletionNotificationModes, FILE_SHARE_READ, FILE_SHARE_WRITE, SYNCHRONIZE,
};
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

/// `IOCTL_AFD_POLL`: device type `FILE_DEVICE_NETWORK` (0x12) shifted by 12,
/// function 9 shifted by 2, `METHOD_BUFFERED`.
const IOCTL_AFD_POLL: u32 = 0x0001_2024;

/// Do not signal the handle's own event on completion (only the completion
/// port is used); `FILE_SKIP_SET_EVENT_ON_HANDLE`.
const FILE_SKIP_SET_EVENT_ON_HANDLE: u8 = 0x2;

/// Completion key of every helper handle. Packets are told apart by their
/// context pointer (never null for a poll request, always null for a
/// `Waker` packet), so the key is informational.
pub(crate) const AFD_KEY: usize = 0;

// Condition bits of a poll request (`Events` in and out).
/// Data (or a zero-length datagram) can be received.
pub(crate) const POLL_RECEIVE: u32 = 0x0001;
/// Out-of-band data can be received.
pub(crate) const POLL_RECEIVE_EXPEDITED: u32 = 0x0002;
/// Data can be sent.
pub(crate) const POLL_SEND: u32 = 0x0004;
/// The peer shut down its sending side (graceful close).
pub(crate) const POLL_DISCONNECT: u32 = 0x0008;
/// The connection was reset or aborted.
pub(crate) const POLL_ABORT: u32 = 0x0010;
/// The socket was closed locally.
pub(crate) const POLL_LOCAL_CLOSE: u32 = 0x0020;
/// A connection can be accepted.
pub(crate) const POLL_ACCEPT: u32 = 0x0080;
/// A non-blocking connect failed.
pub(crate) const POLL_CONNECT_FAIL: u32 = 0x0100;

/// One socket of a poll request (`AFD_POLL_HANDLE_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollHandleInfo {
    pub(crate) handle: HANDLE,
    pub(crate) events: u32,
    pub(crate) status: NTSTATUS,
}

/// The poll request and result buffer (`AFD_POLL_INFO` with one handle).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollInfo {
    /// Absolute/relative NT time; `i64::MAX` means "no timeout".
    pub(crate) timeout: i64,
    /// Number of entries in `handles`; on completion, how many reported.
    pub(crate) number_of_handles: u32,
    /// Non-zero would make this request supersede others on the same socket.
    pub(crate) exclusive: u32,
    pub(crate) handles: [PollHandleInfo; 1],
}

impl PollInfo {
    /// A request for `events` on `socket`, with no timeout.
    pub(crate) fn new(socket: HANDLE, events: u32) -> PollInfo {
        PollInfo {
            timeout: i64::MAX,
            number_of_handles: 1,
            exclusive: 0,
            handles: [PollHandleInfo {
                handle: socket,
                events,
                status: 0,
            }],
        }
    }

    /// An empty value, for buffers that are filled before use.
    pub(crate) fn zeroed() -> PollInfo {
        PollInfo::new(std::ptr::null_mut(), 0)
    }
}

/// A helper handle on the AFD device, associated with a completion port.
#[derive(Debug)]
pub(crate) struct Afd {
    handle: OwnedHandle,
}

// SAFETY: the handle is a kernel object reference; using it from any thread
// is allowed by the kernel, and `Afd` has no other state.
unsafe impl Send for Afd {}
// SAFETY: as above; every operation is a system call on the handle.
unsafe impl Sync for Afd {}

impl Afd {
    /// Opens a new helper handle and associates it with `port`.
    pub(crate) fn new(port: &CompletionPort) -> io::Result<Afd> {
        let mut name: Vec<u16> = "\\Device\\Afd\\Nbio".encode_utf16().collect();
        let bytes = (name.len() * 2) as u16;
        let name_string = UNICODE_STRING {
            Length: bytes,
            MaximumLength: bytes,
            Buffer: name.as_mut_ptr(),
        };
        let attributes = OBJECT_ATTRIBUTES {
            Length: std::mem::size_of::<OBJECT_ATTRIBUTES>() as u32,
            RootDirectory: std::ptr::null_mut(),
            ObjectName: &name_string,
            Attributes: OBJ_CASE_INSENSITIVE,
            SecurityDescriptor: std::ptr::null(),
            SecurityQualityOfService: std::ptr::null(),
        };
        let mut handle: HANDLE = std::ptr::null_mut();
        let mut iosb = IO_STATUS_BLOCK::default();
        // SAFETY: every pointer refers to a live local (`name` outlives the
        // call, and `name_string`'s lengths match its buffer); no allocation
        // size, attributes or extended attributes are passed.
        let status = unsafe {
            NtCreateFile(
                &mut handle,
                SYNCHRONIZE,
                &attributes,
                &mut iosb,
                std::ptr::null(),
                0,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                FILE_OPEN,
                0,
                std::ptr::null(),
                0,
            )
        };
        if status < 0 {
            return Err(ntstatus_error(status));
        }
        // SAFETY: the call succeeded, so `handle` is a new handle owned by
        // nobody else.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        port.add_handle(&handle, AFD_KEY)?;
        // SAFETY: `handle` is open; the call only changes notification modes.
        let res = unsafe {
            SetFileCompletionNotificationModes(
                handle.as_raw_handle(),
                FILE_SKIP_SET_EVENT_ON_HANDLE,
            )
        };
        super::cvt_bool(res)?;
        Ok(Afd { handle })
    }

    /// Issues a poll request. Its completion queues a packet on the port
    /// whose `lpOverlapped` is `context`. Returns `Ok` when the request is
    /// in flight (or already done: the packet is queued all the same).
    ///
    /// # Safety
    ///
    /// `info` and `iosb` must be valid for reads and writes, must not move
    /// and must not be accessed by anything else until the completion packet
    /// for this request has been dequeued from the port — unless this call
    /// returns an error, in which case nothing was queued and they are free
    /// again. `context` must be non-null.
    pub(crate) unsafe fn poll(
        &self,
        info: *mut PollInfo,
        iosb: *mut IO_STATUS_BLOCK,
        context: *const c_void,
    ) -> io::Result<()> {
        let size = std::mem::size_of::<PollInfo>() as u32;
        // SAFETY: the caller guarantees `iosb` is valid for writes.
        unsafe { (*iosb).Anonymous.Status = STATUS_PENDING };
        // SAFETY: the handle is open; `info` serves as input and output
        // buffer of `size` bytes and, with `iosb`, stays valid until the
        // completion packet (caller's contract); no event or APC is used.
        let status = unsafe {
            NtDeviceIoControlFile(
                self.handle.as_raw_handle(),
                std::ptr::null_mut(),
                None,
                context,
                iosb,
                IOCTL_AFD_POLL,
                info as *const c_void,
                size,
                info as *mut c_void,
                size,
            )
        };
        // Success and STATUS_PENDING both mean a packet will be queued.
        if status < 0 {
            Err(ntstatus_error(status))
        } else {
            Ok(())
        }
    }

    /// Asks the driver to cancel the poll request that uses `iosb`. The
    /// request still completes (with `STATUS_CANCELLED`, or normally if it
    /// won the race) and still queues its packet.
    ///
    /// # Safety
    ///
    /// `iosb` must be the status block of a request issued on this handle
    /// whose packet has not been dequeued yet (it is only used as a key).
    pub(crate) unsafe fn cancel(&self, iosb: *const IO_STATUS_BLOCK) -> io::Result<()> {
        let mut cancel_iosb = IO_STATUS_BLOCK::default();
        // SAFETY: `iosb` identifies an in-flight request (caller's contract)
        // and is not written by this call; `cancel_iosb` is a live local.
        let status =
            unsafe { NtCancelIoFileEx(self.handle.as_raw_handle(), iosb, &mut cancel_iosb) };
        // Not found: it completed already and its packet is on the way.
        if status >= 0 || status == STATUS_NOT_FOUND {
            Ok(())
        } else {
            Err(ntstatus_error(status))
        }
    }
}

/// Finds the base service provider's socket behind `socket`, which is the
/// handle AFD knows about. Layered service providers (LSPs) hand out their
/// own socket handles that AFD would reject, so ask for the base handle,
/// falling back to the older queries some LSPs answer instead.
pub(crate) fn base_socket(socket: RawSocket) -> io::Result<RawSocket> {
    let mut first_error = None;
    for code in [
        SIO_BASE_HANDLE,
        SIO_BSP_HANDLE_SELECT,
        SIO_BSP_HANDLE_POLL,
        SIO_BSP_HANDLE,
    ] {
        match socket_ioctl(socket, code) {
            Ok(base) if base != INVALID_SOCKET as RawSocket => return Ok(base),
            Ok(_) => {}
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::InvalidInput)))
}

/// A `WSAIoctl` that returns a socket handle.
fn socket_ioctl(socket: RawSocket, code: u32) -> io::Result<RawSocket> {
    let mut out: SOCKET = INVALID_SOCKET;
    let mut bytes = 0u32;
    // SAFETY: no input buffer; the output buffer is `out`, of the size
    // passed; `bytes` is a valid out-pointer; the call is synchronous (no
    // OVERLAPPED, no completion routine). A bad socket is reported as an
    // error.
    let res = unsafe {
        WSAIoctl(
            socket as SOCKET,
            code,
            std::ptr::null(),
            0,
            (&mut out as *mut SOCKET).cast(),
            std::mem::size_of::<SOCKET>() as u32,
            &mut bytes,
            std::ptr::null_mut(),
            None,
        )
    };
    if res == SOCKET_ERROR {
        // SAFETY: reads the calling thread's last WinSock error.
        Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }))
    } else {
        Ok(out as RawSocket)
    }
}
