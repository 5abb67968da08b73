//! Per-source state of every `IoSource` on Windows.
//!
//! With `os-poll`, a registered source keeps its selector handle and its
//! shared `SockState`. `do_io` uses them to re-arm the direction whose
//! operation returned `WouldBlock` (the edge-triggered emulation described
//! in `selector.rs`); registration errors come from this state in every
//! build profile: registering twice is `AlreadyExists`, reregistering or
//! deregistering a source that is not registered with *this* selector is
//! `NotFound`. Dropping a registered source deregisters it, which cancels
//! its AFD request; the `SockState` itself lives on until the request's
//! packet is dequeued. Deregistering keeps the source's reference to its
//! `SockState`, which the next `register` hands back to the selector for
//! reuse, so register/deregister cycles do not allocate.
//!
//! Without `os-poll` nothing can be registered and `do_io` is a plain call.

use crate::sys::Selector;
use crate::{Interest, Token};
use std::io;
use std::os::windows::io::RawSocket;

#[cfg(feature = "os-poll")]
pub(crate) use self::registered::IoSourceState;
#[cfg(not(feature = "os-poll"))]
pub(crate) use self::unregistered::IoSourceState;

#[cfg(feature = "os-poll")]
mod registered {
    use super::*;
    use crate::sys::windows::selector::SockState;
    use std::sync::Arc;

    pub(crate) struct IoSourceState {
        registration: Option<Registration>,
        /// The state of the last registration after a deregistration, kept
        /// so that registering again can reuse its allocation (the selector
        /// decides whether it can; see `Selector::register`).
        spare: Option<Arc<SockState>>,
    }

    struct Registration {
        selector: Selector,
        state: Arc<SockState>,
    }

    // Unwind safety is a logical property, not a memory-safety one: the
    // shared socket state is only read or changed under the selector's
    // locks, which poison if a panic interrupts them, so code that catches a
    // panic cannot observe a half-made change through this state, the same
    // reasoning that makes `Mutex` unwind-safe. mio's Windows sockets are
    // unwind-safe, and nbio's must be too to stay a drop-in replacement.
    impl std::panic::UnwindSafe for IoSourceState {}
    impl std::panic::RefUnwindSafe for IoSourceState {}

    impl IoSourceState {
        pub(crate) fn new() -> IoSourceState {
            IoSourceState {
                registration: None,
                spare: None,
            }
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
                        reg.selector.rearm(&reg.state, direction);
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
            socket: RawSocket,
        ) -> io::Result<()> {
            if self.registration.is_some() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            let state = selector.register(socket, token, interests, self.spare.take())?;
            self.registration = Some(Registration {
                selector: selector.clone(),
                state,
            });
            Ok(())
        }

        pub(crate) fn reregister(
            &mut self,
            selector: &Selector,
            token: Token,
            interests: Interest,
            _socket: RawSocket,
        ) -> io::Result<()> {
            match &self.registration {
                Some(reg) if reg.selector.same_as(selector) => {
                    selector.reregister(&reg.state, token, interests)
                }
                _ => Err(io::ErrorKind::NotFound.into()),
            }
        }

        pub(crate) fn deregister(
            &mut self,
            selector: &Selector,
            _socket: RawSocket,
        ) -> io::Result<()> {
            match &self.registration {
                Some(reg) if reg.selector.same_as(selector) => {
                    let reg = self.registration.take().expect("checked above");
                    let res = selector.deregister(&reg.state);
                    self.spare = Some(reg.state);
                    res
                }
                _ => Err(io::ErrorKind::NotFound.into()),
            }
        }
    }

    impl Drop for IoSourceState {
        fn drop(&mut self) {
            if let Some(reg) = self.registration.take() {
                // The socket is about to be closed; a NotFound (already
                // deleted after a local close) is fine.
                let _ = reg.selector.deregister(&reg.state);
            }
        }
    }
}

#[cfg(not(feature = "os-poll"))]
mod unregistered {
    use super::*;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "nbio was built without the `os-poll` feature: no OS selector is available",
        )
    }

    pub(crate) struct IoSourceState;

    impl IoSourceState {
        pub(crate) fn new() -> IoSourceState {
            IoSourceState
        }

        #[inline]
        pub(crate) fn do_io<T, F, R>(&self, _direction: Interest, f: F, io: &T) -> io::Result<R>
        where
            F: FnOnce(&T) -> io::Result<R>,
        {
            f(io)
        }

        pub(crate) fn register(
            &mut self,
            _: &Selector,
            _: Token,
            _: Interest,
            _: RawSocket,
        ) -> io::Result<()> {
            Err(unsupported())
        }

        pub(crate) fn reregister(
            &mut self,
            _: &Selector,
            _: Token,
            _: Interest,
            _: RawSocket,
        ) -> io::Result<()> {
            Err(unsupported())
        }

        pub(crate) fn deregister(&mut self, _: &Selector, _: RawSocket) -> io::Result<()> {
            Err(unsupported())
        }
    }
}
