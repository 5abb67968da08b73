//! The waker for kernel-level selectors (epoll): a notifier registered
//! under the waker's token, so each wake is a single `write`.

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
