//! `IoSource<T>`: the wrapper every owned nbio source (sockets, pipes) is
//! built on.
//!
//! It pairs the std object with the backend's per-source state and routes
//! every operation that can return `WouldBlock` through the backend's
//! `do_io` hook, so selectors that emulate edge triggering can re-arm the
//! blocked direction. Debug builds also remember which `Poll` the source was
//! registered with, to report misuse with mio's exact errors.

use crate::sys::AsRawSource;
use crate::{event, sys, Interest, Registry, Token};
use std::io;
use std::ops::Deref;

pub(crate) struct IoSource<T> {
    state: sys::IoSourceState,
    inner: T,
    #[cfg(debug_assertions)]
    registered_with: RegisteredWith,
}

impl<T> IoSource<T> {
    /// Wraps `io`, which must already be in non-blocking mode.
    pub(crate) fn new(io: T) -> IoSource<T> {
        IoSource {
            state: sys::IoSourceState::new(),
            inner: io,
            #[cfg(debug_assertions)]
            registered_with: RegisteredWith::new(),
        }
    }

    /// Runs an I/O operation in `direction` (readable for reads, writable
    /// for writes, both when unknown), letting the backend re-arm the
    /// registration when it returns `WouldBlock`.
    #[inline]
    pub(crate) fn do_io<F, R>(&self, direction: Interest, f: F) -> io::Result<R>
    where
        F: FnOnce(&T) -> io::Result<R>,
    {
        self.state.do_io(direction, f, &self.inner)
    }

    /// Unwraps the std object (the registration, if any, is left to the OS
    /// to clean up when the fd is closed).
    pub(crate) fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> Deref for IoSource<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: AsRawSource> event::Source for IoSource<T> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        #[cfg(debug_assertions)]
        self.registered_with.associate(registry)?;
        let res = self.state.register(
            registry.selector(),
            token,
            interests,
            self.inner.as_raw_source(),
        );
        #[cfg(debug_assertions)]
        if res.is_err() {
            self.registered_with.clear();
        }
        res
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        #[cfg(debug_assertions)]
        self.registered_with.check(registry)?;
        self.state.reregister(
            registry.selector(),
            token,
            interests,
            self.inner.as_raw_source(),
        )
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        #[cfg(debug_assertions)]
        self.registered_with.remove(registry)?;
        self.state
            .deregister(registry.selector(), self.inner.as_raw_source())
    }
}

/// Debug builds: which `Poll` (by registry id) a source is registered with;
/// zero means none.
#[cfg(debug_assertions)]
struct RegisteredWith(std::sync::atomic::AtomicUsize);

#[cfg(debug_assertions)]
impl RegisteredWith {
    const NONE: usize = 0;

    fn new() -> RegisteredWith {
        RegisteredWith(std::sync::atomic::AtomicUsize::new(Self::NONE))
    }

    fn associate(&self, registry: &Registry) -> io::Result<()> {
        use std::sync::atomic::Ordering;
        let prev = self.0.swap(registry.id(), Ordering::AcqRel);
        if prev == Self::NONE {
            Ok(())
        } else {
            // Keep the original association.
            self.0.store(prev, Ordering::Release);
            Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "I/O source already registered with a `Registry`",
            ))
        }
    }

    fn check(&self, registry: &Registry) -> io::Result<()> {
        use std::sync::atomic::Ordering;
        match self.0.load(Ordering::Acquire) {
            Self::NONE => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "I/O source not registered with `Registry`",
            )),
            id if id == registry.id() => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "I/O source already registered with a different `Registry`",
            )),
        }
    }

    fn remove(&self, registry: &Registry) -> io::Result<()> {
        use std::sync::atomic::Ordering;
        self.0
            .compare_exchange(
                registry.id(),
                Self::NONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(|_| ())
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "I/O source not registered with `Registry`",
                )
            })
    }

    fn clear(&self) {
        self.0
            .store(Self::NONE, std::sync::atomic::Ordering::Release);
    }
}
