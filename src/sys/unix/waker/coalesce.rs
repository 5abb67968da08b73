//! Wake coalescing: `Waker::wake` makes a system call only when no wake is
//! already pending.
//!
//! # Protocol and why no wake is lost
//!
//! A `WakeSlot` holds the waker's token and a `pending` flag.
//!
//! * `wake`: `pending.swap(true)`. If it was already `true`, return without a
//!   system call; otherwise write to the notifier (a new edge, hence a new
//!   event).
//! * `select`: after the kernel returned a batch containing an event with
//!   the waker's token, `pending.store(false)`, then return the batch.
//!
//! Claim 1, no wake is lost: a wake that skips its write saw `pending ==
//! true`, so an earlier wake set it and wrote, and its event has not been
//! handed to the caller yet: `select` clears the flag only *after* the
//! kernel reported that event and *before* returning it. The skipped wake
//! therefore happened before the delivery of an event that is still to come,
//! and is merged into it, as mio allows ("multiple wakes may coalesce").
//!
//! Claim 2, a wake after a delivered wake event makes a new event: the
//! delivery follows `pending.store(false)` in the polling thread, so a wake
//! that starts after the caller saw the event finds `false` (its swap is
//! ordered after the store by the delivery itself), unless another wake got
//! there first and wrote, which is itself a new event after the delivery.
//!
//! Clearing the flag too early (another source registered under the
//! waker's token, or an event batch cut short) can only cause an extra
//! write, never a skipped one. Only the first `Waker` of a `Poll` coalesces;
//! any further one (unspecified by mio, a panic in debug builds) always
//! writes, so wakers never swallow each other's events.

use crate::Token;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The coalescing state shared by a `Waker` and its selector.
#[derive(Debug, Default)]
pub(crate) struct WakeSlot {
    /// A waker has claimed this slot.
    claimed: AtomicBool,
    token: AtomicUsize,
    pending: AtomicBool,
}

impl WakeSlot {
    /// Claims the slot for the waker with `token`; `false` if a waker
    /// already holds it (the new waker must not coalesce).
    pub(crate) fn claim(&self, token: Token) -> bool {
        if self.claimed.load(Ordering::Acquire) {
            return false;
        }
        self.token.store(token.0, Ordering::Relaxed);
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// Marks a wake pending; `true` if the caller must write (none was).
    #[inline]
    pub(crate) fn begin_wake(&self) -> bool {
        !self.pending.swap(true, Ordering::AcqRel)
    }

    /// Undoes `begin_wake` after a failed write, so a later wake retries.
    pub(crate) fn wake_failed(&self) {
        self.pending.store(false, Ordering::Release);
    }

    /// Called by `select` with the tokens of a batch the kernel returned:
    /// clears `pending` if the waker's event is among them.
    #[inline]
    pub(crate) fn delivered<I: IntoIterator<Item = usize>>(&self, tokens: I) {
        // Nothing to clear: no wake is pending (a batch can only hold this
        // waker's event if `begin_wake` set the flag before its write, and
        // the kernel returned the batch after that write), or no waker.
        if !self.pending.load(Ordering::Acquire) || !self.claimed.load(Ordering::Acquire) {
            return;
        }
        let token = self.token.load(Ordering::Relaxed);
        if tokens.into_iter().any(|t| t == token) {
            self.pending.store(false, Ordering::Release);
        }
    }
}
