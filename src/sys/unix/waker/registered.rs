//! A waker made of a notifier registered with the selector under the
//! waker's token (epoll; kqueue without `EVFILT_USER`): each wake is a
//! single `write`, and the kernel reports the event.

use super::Notifier;
use crate::sys::Selector;
use crate::{Interest, Token};
use std::io;
use std::os::fd::AsRawFd;

#[derive(Debug)]
pub(crate) struct Waker {
    notifier: Notifier,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        let notifier = Notifier::new()?;
        selector.register(notifier.as_raw_fd(), token, Interest::READABLE)?;
        Ok(Waker { notifier })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.notifier.notify()
    }
}
