//! Wake coalescing: `Waker::wake` makes a system call only when the poller
//! could otherwise miss the wake.
//!
//! # The states
//!
//! A `WakeSlot` belongs to one selector (shared by its clones) and is
//! claimed by that selector's first `Waker`. Its `state` is one of:
//!
//! * `IDLE`: no wake outstanding. The next wake writes to the notifier.
//! * `WRITTEN`: a wake wrote (or is writing) to the notifier and the
//!   kernel's event for it has not been handed to the caller yet. Further
//!   wakes merge into that event.
//! * `DELIVERED`: `select` handed the caller a waker event and no wake came
//!   since. The next wake only moves to `MISSED`, no system call.
//! * `MISSED`: a wake came after the delivery. The next `select` reports the
//!   waker's event itself (it adds the record to the batch, after a
//!   zero-timeout wait for anything else that is ready) and goes back to
//!   `DELIVERED`. Further wakes merge.
//!
//! `select` moves `DELIVERED` to `IDLE` before it blocks, so a wake that
//! comes while the poller sleeps in the kernel writes and wakes it; after a
//! batch carrying the waker's token, it moves `WRITTEN` to `DELIVERED`. It
//! does so also after a wait that began before any waker claimed the slot:
//! a `Waker` can be created through a cloned `Registry` while the poller
//! sleeps, and its first wake ends that very wait.
//!
//! Under a stream of wakes the poller thus never sleeps and the waking
//! thread makes no system call at all: each `poll` finds `MISSED`.
//!
//! # Exposed selectors
//!
//! `DELIVERED` and `MISSED` rely on the caller coming back to `poll`: the
//! skipped write is reported by the *next* `select`. Once the selector's fd
//! has been handed out (`AsRawFd`/`AsFd` on `Poll` or `Registry`), something
//! else may be waiting on it (an outer epoll, a GUI main loop) and only a
//! real write makes it readable. So `expose` switches the slot, for good, to
//! the plain protocol: every wake writes unless one is `WRITTEN` and
//! undelivered, and a delivery moves back to `IDLE`. A `MISSED` wake found
//! at that moment is written by `expose` itself (the slot keeps a weak
//! reference to the claimed waker's notifier for this). If the selector is
//! exposed while a `select` is reporting a missed wake, a wake in between
//! writes, and the report's zero-timeout wait may collect that write: the
//! report then passes its batch to `after_wait` like any wait, so the write
//! counts as delivered (otherwise the state would stay `WRITTEN` with no
//! event left, and later wakes would merge into nothing). Selectors that
//! never report the waker's event themselves (kqueue) create their slot
//! already exposed.
//!
//! # The delivery store
//!
//! After a batch carrying the waker's token, `select` stores `DELIVERED`
//! without reading the state first (no read-modify-write; the fence of
//! claim 4 then orders it). Whatever the state was, the batch being
//! returned covers every wake that came before the store: `WRITTEN`
//! (the usual case), `MISSED` (that wake is older than this delivery), or
//! `IDLE`/`DELIVERED` (the token came from somewhere else: an extra
//! `DELIVERED` can only make the next `select` report a spurious event). A
//! wake after the store sees `DELIVERED` and is reported by the next
//! `select`. The store is a release store: a wake ordered after the caller
//! saw the batch (through any synchronisation of the caller's) reads it.
//! A wake *racing* with the delivery needs the fences below.
//! On an exposed selector the store is a compare-and-swap from `WRITTEN` to
//! `IDLE` instead; a stale view of the flag can only leave `DELIVERED`,
//! which an exposed wake treats as "write".
//!
//! # Why no wake is lost
//!
//! Claim 1: a wake that makes no system call is merged into an event the
//! caller has yet to receive. It found `WRITTEN` (the event of a write not
//! yet delivered: `select` leaves `WRITTEN` only after the kernel reported
//! it), or `MISSED` (the next `select` reports it), or it moved `DELIVERED`
//! to `MISSED` (likewise). Every transition is a compare-and-swap, so a wake
//! that raced with `select` retries on the state it lost to.
//!
//! Claim 2: a wake after the caller received a waker event produces a new
//! one: the state is then `DELIVERED`, `MISSED` (both reported by the next
//! `select`) or, if `select` has since moved to `IDLE`, a write.
//!
//! Claim 3, exposure: `expose` stores the flag and then inspects the state;
//! a wake (or `select`) moves the state and then reads the flag. All four
//! operations are sequentially consistent, so at least one side sees the
//! other: a `MISSED` or `DELIVERED` left behind by a wake or `select` that
//! missed the flag is found and cleaned up by `expose`, or they saw the flag
//! and clean up themselves.
//!
//! Claim 4, the caller's own state: a caller learns why it was woken from
//! memory of its own (the waking thread stores a flag, then wakes; the
//! poller polls, then loads the flag), with whatever orderings it likes. A
//! wake that merges makes no release the poller could acquire, and a
//! delivery is a plain store: without more, the poller's load of the flag
//! could be served before its delivery became visible (store buffering)
//! while the waking thread, its flag already stored, still read `WRITTEN`
//! or `MISSED` and merged. The poller would miss the flag and the wake
//! would be lost (Miri's weak-memory emulation finds this within a few
//! thousand rounds of the `no_wake_is_lost` tests, at once with
//! release/acquire flags; x86's store buffer allows it too). So `wake`
//! starts with a `SeqCst` fence, and `select` ends every delivery (its
//! store or compare-and-swap after a batch with the token, or the
//! `MISSED` -> `DELIVERED` of a reported wake) with one. Of two `SeqCst`
//! fences one comes first: if the delivery's does, the wake reads the
//! delivery or a later state and does not merge into it; if the wake's
//! does, the poller's load after its fence sees the flag stored before it.
//! The price: the poller's fence waits for its delivery store to reach the
//! cache (as a `SeqCst` store would), once per batch carrying the token;
//! the waker's fence moves no cache line.
//!
//! A write that fails returns the state to `IDLE` so a later wake retries.
//! Only the first `Waker` of a selector coalesces; any further one (which
//! mio leaves unspecified, and debug builds reject) always writes.

use crate::Token;
use std::io;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{fence, AtomicBool};
use std::sync::atomic::{AtomicU8, AtomicUsize};
use std::sync::{Arc, OnceLock, Weak};

/// A notifier the slot writes to on its waker's behalf (an eventfd or a
/// pipe; type-erased because not every build has one).
///
/// Unwind-safe so that `Poll` and `Registry`, which reach it through the
/// slot, stay `UnwindSafe` and `RefUnwindSafe` as mio's are.
pub(crate) trait Notify: Send + Sync + std::fmt::Debug + RefUnwindSafe + UnwindSafe {
    /// Makes the notifier's fd readable.
    fn notify(&self) -> io::Result<()>;
}

const IDLE: u8 = 0;
const WRITTEN: u8 = 1;
const DELIVERED: u8 = 2;
const MISSED: u8 = 3;

/// The coalescing state shared by a `Waker` and its selector.
#[derive(Debug)]
pub(crate) struct WakeSlot {
    /// The claimed waker's notifier (set once, by `claim`), for the writes
    /// the slot makes on its own; weak, so dropping the `Waker` still
    /// closes the notifier's fd.
    notifier: OnceLock<Weak<dyn Notify>>,
    /// The claimed waker's token, valid once `claimed` is set.
    token: AtomicUsize,
    claimed: AtomicBool,
    /// Someone other than `select` may be waiting on the selector's fd.
    exposed: AtomicBool,
    /// Written by both threads on every wake cycle, so on a cache line of
    /// its own: the fields above are read-mostly.
    state: OwnLine,
}

/// An `AtomicU8` alone on its cache line.
#[derive(Debug)]
#[repr(align(64))]
struct OwnLine(AtomicU8);

impl std::ops::Deref for OwnLine {
    type Target = AtomicU8;

    fn deref(&self) -> &AtomicU8 {
        &self.0
    }
}

/// What `select` must do before it waits (see `WakeSlot::before_wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeforeWait {
    /// Wait as asked.
    Wait,
    /// Report this token's event without the kernel: wait with a zero
    /// timeout for other events, then add a readable record for it.
    Report(Token),
}

impl WakeSlot {
    /// A slot for a selector that reports missed wakes itself (epoll).
    pub(crate) fn new() -> WakeSlot {
        WakeSlot {
            notifier: OnceLock::new(),
            token: AtomicUsize::new(0),
            claimed: AtomicBool::new(false),
            exposed: AtomicBool::new(false),
            state: OwnLine(AtomicU8::new(IDLE)),
        }
    }

    /// A slot that only ever skips a write while an earlier one is
    /// undelivered, for selectors that never add a waker record themselves.
    #[allow(dead_code)] // not every platform has such a selector
    pub(crate) fn always_exposed() -> WakeSlot {
        let slot = WakeSlot::new();
        slot.exposed.store(true, SeqCst);
        slot
    }

    /// Claims the slot for the waker with `token`; `false` if a waker
    /// already holds it (the new waker must not coalesce).
    pub(crate) fn claim(&self, token: Token, notifier: &Arc<dyn Notify>) -> bool {
        if self.notifier.set(Arc::downgrade(notifier)).is_err() {
            return false;
        }
        self.token.store(token.0, Relaxed);
        self.claimed.store(true, Release);
        true
    }

    /// Whether a waker coalesces through this slot (once true, always).
    #[inline]
    pub(crate) fn is_claimed(&self) -> bool {
        self.claimed.load(Acquire)
    }

    /// `Waker::wake` for the waker that claimed the slot, whose notifier
    /// is `notifier`. `merging` is the waker's own hint of whether its
    /// recent wakes found a wake pending (see `wake_from`).
    #[inline]
    pub(crate) fn wake(&self, notifier: &dyn Notify, merging: &AtomicBool) -> io::Result<()> {
        // Claim 4: the caller's stores before this wake are ordered before
        // the state is read, against the fence that ends a delivery.
        fence(SeqCst);
        // The state's cache line was last written by the poller. When the
        // poller is likely blocked (recent wakes wrote), try `IDLE` ->
        // `WRITTEN` at once: one cache-line transfer before the write
        // instead of a read and then an upgrade. When wakes have been
        // merging (a storm), read first, so merged wakes never take the
        // line away from the poller.
        let state = if merging.load(Relaxed) {
            let state = self.state.load(SeqCst);
            if state == IDLE {
                merging.store(false, Relaxed);
            }
            state
        } else {
            match self.state.compare_exchange(IDLE, WRITTEN, SeqCst, SeqCst) {
                Ok(_) => return self.write(notifier),
                Err(actual) => {
                    merging.store(true, Relaxed);
                    actual
                }
            }
        };
        self.wake_from(state, notifier)
    }

    /// The wake protocol from an observed `state`.
    fn wake_from(&self, mut state: u8, notifier: &dyn Notify) -> io::Result<()> {
        loop {
            let exposed = self.exposed.load(SeqCst);
            let next = match state {
                // Merged into an event still to be delivered.
                WRITTEN => return Ok(()),
                MISSED if !exposed => return Ok(()),
                // Reported by the next `select`, no system call.
                DELIVERED if !exposed => MISSED,
                _ => WRITTEN,
            };
            match self.state.compare_exchange(state, next, SeqCst, SeqCst) {
                Ok(_) if next == MISSED => {
                    // Claim 3: if the selector was exposed meanwhile, the
                    // skipped write may be needed after all.
                    if self.exposed.load(SeqCst) {
                        self.write_missed();
                    }
                    return Ok(());
                }
                Ok(_) => return self.write(notifier),
                Err(actual) => state = actual,
            }
        }
    }

    /// Writes to the notifier for a wake that moved the state to `WRITTEN`.
    fn write(&self, notifier: &dyn Notify) -> io::Result<()> {
        let res = notifier.notify();
        if res.is_err() {
            // Let a later wake try again.
            let _ = self.state.compare_exchange(WRITTEN, IDLE, SeqCst, SeqCst);
        }
        res
    }

    /// Turns a `MISSED` wake into a real write (exposed selectors).
    fn write_missed(&self) {
        if self
            .state
            .compare_exchange(MISSED, WRITTEN, SeqCst, SeqCst)
            .is_ok()
        {
            // Nobody to report a failure to: a later wake retries. A waker
            // already dropped leaves nothing to deliver.
            if let Some(notifier) = self.notifier.get().and_then(Weak::upgrade) {
                let _ = self.write(&*notifier);
            }
        }
    }

    /// Called by `select` before waiting: whether a missed wake must be
    /// reported, and otherwise arranges for a wake during the wait to write.
    #[inline]
    pub(crate) fn before_wait(&self) -> BeforeWait {
        // No claim check: `DELIVERED` and `MISSED` only follow a claimed
        // waker's wake, and every other state means "wait".
        let mut state = self.state.load(SeqCst);
        loop {
            let next = match state {
                MISSED => DELIVERED,
                DELIVERED => IDLE,
                _ => return BeforeWait::Wait,
            };
            match self.state.compare_exchange(state, next, SeqCst, SeqCst) {
                Ok(_) if next == DELIVERED => {
                    self.settle_delivered();
                    // Claim 4: before the caller looks at its own state.
                    fence(SeqCst);
                    return BeforeWait::Report(Token(self.token.load(Relaxed)));
                }
                Ok(_) => return BeforeWait::Wait,
                Err(actual) => state = actual,
            }
        }
    }

    /// Called by `select` when it could not report the missed wake that
    /// `before_wait` handed it (its zero-timeout wait failed): the next
    /// `select` reports it instead.
    pub(crate) fn report_failed(&self) {
        let _ = self
            .state
            .compare_exchange(DELIVERED, MISSED, SeqCst, SeqCst);
    }

    /// Called by `select` with the tokens of the batch it is about to
    /// return: a batch carrying the waker's token delivers its write.
    #[inline]
    pub(crate) fn after_wait<I: IntoIterator<Item = usize>>(&self, tokens: I) {
        if !self.claimed.load(Acquire) {
            return;
        }
        let token = self.token.load(Relaxed);
        if !tokens.into_iter().any(|t| t == token) {
            return;
        }
        if self.exposed.load(Relaxed) {
            // Plain protocol: the write is delivered, the next wake writes.
            let _ = self.state.compare_exchange(WRITTEN, IDLE, SeqCst, SeqCst);
        } else {
            // A blind store (see "The delivery store" above), ordered by
            // the fence below.
            self.state.store(DELIVERED, Release);
        }
        // Claim 4: before the caller looks at its own state.
        fence(SeqCst);
    }

    /// After moving to `DELIVERED`: if the selector was exposed meanwhile,
    /// go to `IDLE` instead so the next wake writes (claim 3).
    fn settle_delivered(&self) {
        if self.exposed.load(SeqCst) {
            let _ = self.state.compare_exchange(DELIVERED, IDLE, SeqCst, SeqCst);
            // A wake that already moved it on to `MISSED` is written.
            self.write_missed();
        }
    }

    /// The selector's fd was handed out: switch to the plain protocol.
    pub(crate) fn expose(&self) {
        if self.exposed.swap(true, SeqCst) {
            return;
        }
        let _ = self.state.compare_exchange(DELIVERED, IDLE, SeqCst, SeqCst);
        self.write_missed();
    }
}
