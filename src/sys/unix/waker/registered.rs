//! A waker made of a notifier registered with the selector under the
//! waker's token (epoll; kqueue without `EVFILT_USER`): a wake is a single
//! `write`, and the kernel reports the event. Where the selector offers a
//! `WakeSlot` (epoll, kqueue), wakes coalesce: no `write` while a wake is still
//! pending (see `coalesce.rs`).

use super::{Notifier, WakeSlot};
use crate::sys::Selector;
use crate::{Interest, Token};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct Waker {
    notifier: Notifier,
    /// Present when this waker coalesces (the selector's first waker).
    slot: Option<Arc<WakeSlot>>,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        let notifier = Notifier::new()?;
        selector.register(notifier.as_raw_fd(), token, Interest::READABLE)?;
        let slot = selector.wake_slot().filter(|slot| slot.claim(token));
        Ok(Waker { notifier, slot })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        match &self.slot {
            Some(slot) => {
                if !slot.begin_wake() {
                    // A wake is pending and not yet delivered: merged.
                    return Ok(());
                }
                let res = self.notifier.notify();
                if res.is_err() {
                    slot.wake_failed();
                }
                res
            }
            None => self.notifier.notify(),
        }
    }
}
