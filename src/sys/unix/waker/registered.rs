//! A waker made of a notifier registered with the selector under the
//! waker's token (epoll; kqueue without `EVFILT_USER`): a wake is a single
//! `write`, and the kernel reports the event. Where the selector offers a
//! `WakeSlot` (epoll, kqueue), wakes coalesce: a wake writes only when the
//! poller could otherwise miss it (see `coalesce.rs`).

use super::coalesce::Notify;
use super::{Notifier, WakeSlot};
use crate::sys::Selector;
use crate::{Interest, Token};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct Waker {
    /// Shared (weakly) with the slot, which may write on this waker's
    /// behalf.
    notifier: Arc<Notifier>,
    /// Present when this waker coalesces (the selector's first waker).
    slot: Option<Arc<WakeSlot>>,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        let notifier = Arc::new(Notifier::new()?);
        selector.register(notifier.as_raw_fd(), token, Interest::READABLE)?;
        let slot = selector
            .wake_slot()
            .filter(|slot| slot.claim(token, &(Arc::clone(&notifier) as Arc<dyn Notify>)));
        Ok(Waker { notifier, slot })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        match &self.slot {
            Some(slot) => slot.wake(&*self.notifier),
            None => self.notifier.notify(),
        }
    }
}

impl Notify for Notifier {
    #[inline]
    fn notify(&self) -> io::Result<()> {
        Notifier::notify(self)
    }
}
