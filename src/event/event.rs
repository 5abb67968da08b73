//! `Event`: one readiness notification.

use crate::{sys, Token};
use std::fmt;

/// A readiness event returned by [`Poll::poll`](crate::Poll::poll).
///
/// Only [`is_readable`](Event::is_readable) and
/// [`is_writable`](Event::is_writable) are portable guarantees; the other
/// flags are hints that may be missing (never falsely set) on some platforms.
/// An `Event` is a view of the OS's own event record, so reading it costs
/// nothing.
#[derive(Clone)]
#[repr(transparent)]
pub struct Event {
    inner: sys::Event,
}

impl Event {
    /// The token the source was registered with.
    #[inline]
    pub fn token(&self) -> Token {
        sys::event::token(&self.inner)
    }

    /// The source is readable (including a peer hang-up or a pending error,
    /// which the next read reports).
    #[inline]
    pub fn is_readable(&self) -> bool {
        sys::event::is_readable(&self.inner)
    }

    /// The source is writable.
    #[inline]
    pub fn is_writable(&self) -> bool {
        sys::event::is_writable(&self.inner)
    }

    /// The source has a pending error (`EPOLLERR`); retrieve it with
    /// `take_error` on the socket or by performing I/O.
    #[inline]
    pub fn is_error(&self) -> bool {
        sys::event::is_error(&self.inner)
    }

    /// The read half is closed: the peer shut down its write side or the
    /// connection is gone. Best effort: may be missing, never false.
    #[inline]
    pub fn is_read_closed(&self) -> bool {
        sys::event::is_read_closed(&self.inner)
    }

    /// The write half is closed: the peer is gone or the connection was
    /// reset. A local `shutdown(Write)` is not reported on epoll.
    #[inline]
    pub fn is_write_closed(&self) -> bool {
        sys::event::is_write_closed(&self.inner)
    }

    /// Priority (out-of-band) data is available (`EPOLLPRI`).
    #[inline]
    pub fn is_priority(&self) -> bool {
        sys::event::is_priority(&self.inner)
    }

    /// An AIO operation completed (kqueue only; `false` elsewhere).
    #[inline]
    pub fn is_aio(&self) -> bool {
        sys::event::is_aio(&self.inner)
    }

    /// A LIO operation completed (FreeBSD only; `false` elsewhere).
    #[inline]
    pub fn is_lio(&self) -> bool {
        sys::event::is_lio(&self.inner)
    }

    /// Views a raw OS event as an `Event`.
    pub(crate) fn from_sys_event_ref(sys_event: &sys::Event) -> &Event {
        // SAFETY: `Event` is `repr(transparent)` over `sys::Event`, so the two
        // have identical layout and the reference keeps the same lifetime.
        unsafe { &*(sys_event as *const sys::Event as *const Event) }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alternate = f.alternate();
        let mut d = f.debug_struct("Event");
        d.field("token", &self.token())
            .field("readable", &self.is_readable())
            .field("writable", &self.is_writable())
            .field("error", &self.is_error())
            .field("read_closed", &self.is_read_closed())
            .field("write_closed", &self.is_write_closed())
            .field("priority", &self.is_priority())
            .field("aio", &self.is_aio())
            .field("lio", &self.is_lio());
        if alternate {
            d.field("details", &sys::event::Details(&self.inner));
        }
        d.finish()
    }
}
