//! The Unix selector. Linux and Android use epoll; other selectors (poll(2),
//! kqueue, event ports) plug in here behind the same interface.

mod epoll;
pub(crate) use self::epoll::{event, Event, Events, Selector};
