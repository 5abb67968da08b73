//! Wake-up machinery for Unix.
//!
//! A *notifier* is a file descriptor another thread can make readable: an
//! eventfd by default on Linux and Android, a pipe where eventfd is missing
//! or when `--cfg nbio_force_waker_pipe` is set. How the public `Waker` uses
//! it depends on the selector:
//!
//! * epoll: the notifier itself is registered under the waker's token, so a
//!   wake is one `write` and the kernel reports the event;
//! * poll(2): the selector owns one notifier for its own purposes (to
//!   interrupt a blocked `poll` when registrations change) and the `Waker`
//!   sets a "wake pending" flag and pokes that notifier; the selector then
//!   reports the waker's token itself.

#[cfg(not(nbio_force_waker_pipe))]
mod eventfd;
#[cfg(not(nbio_force_waker_pipe))]
pub(crate) use self::eventfd::EventFd as Notifier;

#[cfg(nbio_force_waker_pipe)]
mod pipe;
#[cfg(nbio_force_waker_pipe)]
pub(crate) use self::pipe::PipeNotify as Notifier;

#[cfg(not(nbio_force_poll))]
mod epoll;
#[cfg(not(nbio_force_poll))]
pub(crate) use self::epoll::Waker;

#[cfg(nbio_force_poll)]
pub(crate) use crate::sys::unix::selector::Waker;
