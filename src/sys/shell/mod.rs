//! The selector used when the `os-poll` feature is off: every type exists so
//! the crate compiles, and every operation that would need the OS selector
//! returns an `Unsupported` error instead of panicking.

#[cfg(unix)]
use crate::Interest;
use crate::Token;
use std::io;
#[cfg(unix)]
use std::os::fd::RawFd;
use std::time::Duration;

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "nbio was built without the `os-poll` feature: no OS selector is available",
    )
}

/// A selector that cannot select.
#[derive(Debug)]
pub(crate) struct Selector {
    _private: (),
}

impl Selector {
    pub(crate) fn try_clone(&self) -> io::Result<Selector> {
        Err(unsupported())
    }

    pub(crate) fn select(&self, events: &mut Events, _: Option<Duration>) -> io::Result<()> {
        events.clear();
        Err(unsupported())
    }

    #[cfg(unix)] // raw-fd registration exists only on Unix
    #[allow(dead_code)]
    pub(crate) fn register(&self, _: RawFd, _: Token, _: Interest) -> io::Result<()> {
        Err(unsupported())
    }

    #[cfg(unix)] // raw-fd registration exists only on Unix
    #[allow(dead_code)]
    pub(crate) fn reregister(&self, _: RawFd, _: Token, _: Interest) -> io::Result<()> {
        Err(unsupported())
    }

    #[cfg(unix)] // raw-fd registration exists only on Unix
    #[allow(dead_code)]
    pub(crate) fn deregister(&self, _: RawFd) -> io::Result<()> {
        Err(unsupported())
    }
}

/// An event record; none is ever produced.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    token: usize,
}

pub(crate) type Events = Vec<Event>;

/// Accessors mirroring the real backends'.
pub(crate) mod event {
    use super::Event;
    use crate::Token;

    pub(crate) fn token(event: &Event) -> Token {
        Token(event.token)
    }

    macro_rules! never {
        ($($name:ident),*) => {
            $(pub(crate) fn $name(_: &Event) -> bool { false })*
        };
    }
    never!(
        is_readable,
        is_writable,
        is_error,
        is_read_closed,
        is_write_closed,
        is_priority,
        is_aio,
        is_lio
    );

    /// `{:#?}` view of the record.
    pub(crate) struct Details<'a>(pub(crate) &'a Event);

    impl std::fmt::Debug for Details<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt(f)
        }
    }
}

/// A waker that cannot be created.
#[derive(Debug)]
pub(crate) struct Waker {
    _private: (),
}

impl Waker {
    pub(crate) fn new(_: &Selector, _: Token) -> io::Result<Waker> {
        Err(unsupported())
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        Err(unsupported())
    }
}
