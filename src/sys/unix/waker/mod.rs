//! Wake-up machinery for Unix.
//!
//! A *notifier* is a file descriptor another thread can make readable: an
//! eventfd on Linux and Android, a pipe elsewhere or when `--cfg
//! nbio_force_waker_pipe` is set. How the public `Waker` works depends on
//! the selector:
//!
//! * epoll, and kqueue without `EVFILT_USER` (NetBSD, OpenBSD, or a forced
//!   pipe): a notifier registered under the waker's token, so a wake is one
//!   `write` and the kernel reports the event (`registered.rs`);
//! * kqueue with `EVFILT_USER`: a user event triggered on the kqueue itself,
//!   no extra fd (`kqueue.rs`);
//! * event ports: `port_send` (in the selector);
//! * poll(2): the selector owns a notifier to interrupt a blocked `poll`, and
//!   the `Waker` sets a "wake pending" flag and pokes it; the selector then
//!   reports the waker's token itself (in the selector).

// epoll and kqueue's registered-pipe waker coalesce through a slot; other
// selectors leave it unused.
#[allow(dead_code)]
mod coalesce;
#[allow(unused_imports)]
pub(crate) use self::coalesce::{BeforeWait, WakeSlot};

cfg_eventfd! {
    mod eventfd;
    pub(crate) use self::eventfd::EventFd as Notifier;
}

// kqueue with `EVFILT_USER` and event ports need no notifier at all.
cfg_pipe_notifier! {
    #[allow(dead_code)]
    mod pipe;
    #[allow(unused_imports)]
    pub(crate) use self::pipe::PipeNotify as Notifier;
}

cfg_epoll! {
    mod registered;
    pub(crate) use self::registered::Waker;
}

cfg_kqueue! {
    cfg_kqueue_user_waker! {
        mod kqueue;
        pub(crate) use self::kqueue::Waker;
    }
    cfg_kqueue_pipe_waker! {
        mod registered;
        pub(crate) use self::registered::Waker;
    }
}

cfg_event_ports! {
    pub(crate) use crate::sys::unix::selector::Waker;
}

cfg_poll_selector! {
    pub(crate) use crate::sys::unix::selector::Waker;
}
