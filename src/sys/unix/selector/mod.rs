//! The Unix selector: epoll on Linux and Android, or the portable poll(2)
//! selector when `--cfg nbio_force_poll` is set. kqueue and event ports
//! plug in here behind the same interface.

#[cfg(not(nbio_force_poll))]
mod epoll;
#[cfg(not(nbio_force_poll))]
pub(crate) use self::epoll::{event, Event, Events, Selector};

#[cfg(nbio_force_poll)]
mod poll;
#[cfg(nbio_force_poll)]
pub(crate) use self::poll::{event, Event, Events, Selector, Waker};
#[cfg(all(nbio_force_poll, any(feature = "net", feature = "os-ext")))]
pub(crate) use self::poll::IoSourceState;
