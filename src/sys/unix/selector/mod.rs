//! The Unix selectors. Which one a build uses is decided by the backend
//! macros in `src/macros.rs`: epoll (Linux, Android), kqueue (Apple, BSDs),
//! event ports (illumos, Solaris), and the portable poll(2) selector for
//! every other Unix or when `--cfg nbio_force_poll` is set.
//!
//! Each exports the same items: `Selector`, `Event`, `Events`, the `event`
//! accessors and `IoSourceState`; selectors that need one also provide their
//! own `Waker`.

cfg_epoll! {
    mod epoll;
    mod epoll_wait;
    pub(crate) use self::epoll::{event, Event, Events, Selector};
    #[cfg(any(feature = "net", feature = "os-ext"))]
    pub(crate) use super::stateless_io_source::IoSourceState;
}

cfg_kqueue! {
    mod kqueue;
    pub(crate) use self::kqueue::{event, Event, Events, Selector};
    #[cfg(any(feature = "net", feature = "os-ext"))]
    pub(crate) use super::stateless_io_source::IoSourceState;
}

cfg_event_ports! {
    mod event_ports;
    pub(crate) use self::event_ports::{event, Event, Events, Selector, Waker};
    #[cfg(any(feature = "net", feature = "os-ext"))]
    pub(crate) use self::event_ports::IoSourceState;
}

cfg_poll_selector! {
    mod poll;
    pub(crate) use self::poll::{event, Event, Events, Selector, Waker};
    #[cfg(any(feature = "net", feature = "os-ext"))]
    pub(crate) use self::poll::IoSourceState;
}
