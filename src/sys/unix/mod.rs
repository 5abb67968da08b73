//! Unix backend: the epoll selector, the eventfd waker, sockets, pipes and
//! `SourceFd`.

cfg_os_poll! {
    mod selector;
    pub(crate) use self::selector::{event, Event, Events, Selector};

    mod waker;
    pub(crate) use self::waker::Waker;
}

// Per-source state: none for kernel-level selectors; the poll(2) selector
// brings its own (see `selector/poll.rs`).
#[cfg(all(
    not(all(nbio_force_poll, feature = "os-poll")),
    any(feature = "net", feature = "os-ext")
))]
mod stateless_io_source;
#[cfg(all(
    nbio_force_poll,
    feature = "os-poll",
    any(feature = "net", feature = "os-ext")
))]
pub(crate) use self::selector::IoSourceState;
#[cfg(all(
    not(all(nbio_force_poll, feature = "os-poll")),
    any(feature = "net", feature = "os-ext")
))]
pub(crate) use self::stateless_io_source::IoSourceState;

cfg_os_ext! {
    mod sourcefd;
    pub use self::sourcefd::SourceFd;

    pub(crate) mod pipe;
}

cfg_net! {
    pub(crate) mod net;
}

/// Converts a libc return value into an `io::Result`, reading `errno` when
/// the call reported failure with -1.
#[allow(dead_code)]
pub(crate) fn cvt<T: MinusOne + PartialEq + Copy>(res: T) -> std::io::Result<T> {
    if res == T::MINUS_ONE {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(res)
    }
}

/// Integer return types whose -1 means "failed, see errno".
pub(crate) trait MinusOne {
    const MINUS_ONE: Self;
}

impl MinusOne for i32 {
    const MINUS_ONE: Self = -1;
}

impl MinusOne for isize {
    const MINUS_ONE: Self = -1;
}
