//! Wake coalescing: `Waker::wake` makes a system call only when the poller
//! could otherwise miss the wake.
//!
//! # The states
//!
//! A `WakeSlot` belongs to one selector (shared by its clones) and is
//! claimed by that selector's first `Waker`. Its `state` is one of:
//!
//! * `IDLE`: no wake outstanding. The next wake writes to the notifier.
//! * `WRITTEN`: a wake wrote (or is writing) to the notifier and no wake
//!   came since. Whether the kernel's event for that write has been handed
//!   to the caller is known only to `select` (its `owed` flag, below), so
//!   the next wake moves to `MISSED` rather than assume it has not.
//! * `DELIVERED`: `select` reported a wake itself (below) and no wake came
//!   since. The next wake moves to `MISSED`, no system call.
//! * `MISSED`: a wake came after the last write or report, maybe after its
//!   event was handed to the caller. The next `select` reports the waker's
//!   event itself (it adds the record to the batch, after a zero-timeout
//!   wait for anything else that is ready, unless the previous `select`
//!   has just collected the kernel's events) and moves to `DELIVERED`.
//!   Further wakes merge.
//!
//! # The poller's side
//!
//! A batch carrying the waker's token (the kernel's event for a write)
//! does not touch `state`: `select` only sets `owed`, a flag on a cache line
//! of its own that no other thread reads, and returns. The state is told
//! at the *next* `select`, before it waits: with `owed` set, `WRITTEN` (the
//! delivered write, no wake since) and `DELIVERED` become `IDLE`, so that a
//! wake during the coming wait writes and wakes it; `MISSED` is reported.
//! Without `owed`, `WRITTEN` is a write whose event is still in the kernel:
//! `select` waits for it and leaves the state alone, and `MISSED` is
//! reported (if the kernel's event is still pending as well, the report's
//! zero-timeout wait collects it and the report carries the one record).
//! `DELIVERED` also becomes `IDLE` before a wait. A wait that began before
//! any waker claimed the slot is treated like the others: a `Waker` can be
//! created through a cloned `Registry` while the poller sleeps, and its
//! first wake ends that very wait.
//!
//! Why not tell the state at once, when the batch comes back? The state's
//! cache line was last written by the waking thread, so any access to it
//! waits for the line to cross CPUs (and, to order it against the caller's
//! own memory, a fence: claim 4). Deferring it takes that transfer off the
//! path from the wake to `poll` returning; the next `select` pays it
//! before it blocks, when nobody is waiting for it. The price: a wake that
//! comes while a write is outstanding cannot tell whether its event was
//! handed out, so it marks `MISSED`, and a burst of wakes while the poller
//! sleeps can cost one extra (possibly spurious) report after the kernel's
//! event: one more return from `poll`, but no system call, since a report
//! right after a kernel batch skips its zero-timeout wait (`owed` tells
//! that too), and never an extra write.
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
//! undelivered, and a delivery moves back to `IDLE` at once. When it
//! switches, `expose` moves `DELIVERED` to `IDLE` and writes once itself
//! if it finds `MISSED` (a skipped write) or `WRITTEN` (possibly a write
//! already handed out and not yet told, `owed`, which a wake would now
//! merge into): the state is then `WRITTEN` for a write nobody has seen
//! yet. The slot keeps a weak reference to the claimed waker's notifier
//! for these writes. If the selector is exposed while
//! a `select` is reporting a missed wake, a wake in between writes, and the
//! report's zero-timeout wait may collect that write: the report then
//! passes its batch to `after_wait` like any wait, so the write counts as
//! delivered (otherwise the state would stay `WRITTEN` with no event left,
//! and later wakes would merge into nothing). Selectors that never report
//! the waker's event themselves (kqueue) create their slot already exposed.
//!
//! # Why no wake is lost
//!
//! Claim 1: a wake that makes no system call is merged into an event the
//! caller has yet to receive. Unexposed, it moved `WRITTEN` or `DELIVERED`
//! to `MISSED`, or found `MISSED`: the next `select` reports it, with or
//! without `owed`. Exposed, it found `WRITTEN`, and there `WRITTEN` is a
//! write not yet handed out (an exposed `select` tells every delivery at
//! once, and `expose` rewrote any `WRITTEN` it found, see above). Every
//! transition is a compare-and-swap, so a wake that raced with `select`
//! or `expose` retries on the state it lost to.
//!
//! Claim 2: a wake after the caller received a waker event produces a new
//! one. After a report the state is `DELIVERED` or later; after the
//! kernel's event, unexposed, it is `WRITTEN` or later with `owed` set, and
//! `owed` keeps the next `select` from mistaking that `WRITTEN` for a write
//! still in the kernel. So the wake finds `WRITTEN`, `DELIVERED` or
//! `MISSED` (reported by the next `select`), or `IDLE` once that `select`
//! is about to wait (a write).
//!
//! Claim 3, exposure: `expose` stores the flag and then inspects the state;
//! a wake (or `select`) moves the state and then reads the flag. All four
//! operations are sequentially consistent, so at least one side sees the
//! other: a `MISSED` or `DELIVERED` left behind by a wake or `select` that
//! missed the flag is found and cleaned up by `expose`, or they saw the flag
//! and clean up themselves. A batch collected after the switch reads the
//! flag with a sequentially consistent load too: if the write it carries
//! was made after the switch, the flag's store precedes that write, which
//! the kernel orders before the batch, so the load sees the flag and the
//! delivery is told at once; a write made before the switch was found by
//! `expose` as `WRITTEN` (or later) and rewritten.
//!
//! Claim 4, the caller's own state: a caller learns why it was woken from
//! memory of its own (the waking thread stores a flag, then wakes; the
//! poller polls, then loads the flag), with whatever orderings it likes.
//! A wake that writes is ordered by the kernel. A wake that marks `MISSED`
//! is a release that the reporting `select`'s compare-and-swap acquires.
//! The danger is a wake that merges without writing anything (it found
//! `MISSED`, or `WRITTEN` on an exposed selector): it makes no release the
//! poller could acquire, and without more the poller's load of the flag
//! could be served before the state it acted on became visible (store
//! buffering), so the poller would miss the flag and the wake would be
//! lost (Miri's weak-memory emulation finds this within a few thousand
//! rounds of the `no_wake_is_lost` tests, at once with release/acquire
//! flags; x86's store buffer allows it too). So `wake` starts with a
//! `SeqCst` fence, and `select` ends every change that hands out what such
//! a wake merged into (the `MISSED` -> `DELIVERED` of a report, the
//! exposed `WRITTEN` -> `IDLE` after a batch) with one. The wake's read
//! comes before that change in the single order of `SeqCst` operations
//! (it read an older value), so its fence precedes the poller's, and the
//! poller's load after its fence sees the flag stored before the wake's.
//! An unexposed batch changes nothing and needs no fence: every wake after
//! it marks. The waker's fence moves no cache line.
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
    state: OwnLine<AtomicU8>,
    /// A batch carried the waker's token and `state` has not been told yet
    /// (see "The poller's side"). Only `select` uses it (one at a time:
    /// `Poll::poll` takes `&mut self`), on a line of its own so the waking
    /// thread never has to fetch it.
    owed: OwnLine<AtomicBool>,
}

/// A value alone on its cache line.
#[derive(Debug)]
#[repr(align(64))]
struct OwnLine<T>(T);

impl<T> std::ops::Deref for OwnLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// What `select` must do before it waits (see `WakeSlot::before_wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeforeWait {
    /// Wait as asked.
    Wait,
    /// Report `token`'s event without the kernel, as a readable record
    /// added to the batch. Unless `after_batch` is set, first wait with a
    /// zero timeout for whatever else is ready. `after_batch`: the previous
    /// `select` returned a kernel batch carrying the waker's event, and
    /// nothing has waited since, so that wait would be a system call to
    /// collect only what became ready meanwhile, which the next `select`
    /// collects anyway.
    Report { token: Token, after_batch: bool },
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
            owed: OwnLine(AtomicBool::new(false)),
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
    pub(crate) fn wake<N: Notify + ?Sized>(
        &self,
        notifier: &N,
        merging: &AtomicBool,
    ) -> io::Result<()> {
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

    /// Moves the state on from `state` (the value last seen) to `next` of
    /// it, by compare-and-swap, retrying from whatever value it lost to;
    /// returns the state it moved to, or `None` once `next` says to stay.
    #[inline]
    fn advance(&self, mut state: u8, next: impl Fn(u8) -> Option<u8>) -> Option<u8> {
        loop {
            let to = next(state)?;
            match self.state.compare_exchange(state, to, SeqCst, SeqCst) {
                Ok(_) => return Some(to),
                Err(actual) => state = actual,
            }
        }
    }

    /// The wake protocol from an observed `state`.
    fn wake_from<N: Notify + ?Sized>(&self, state: u8, notifier: &N) -> io::Result<()> {
        let next = |state| {
            let exposed = self.exposed.load(SeqCst);
            match state {
                // Merged into an event still to be delivered: exposed, a
                // `WRITTEN` write has not been handed out (claim 1);
                // unexposed, a `MISSED` is reported by the next `select`.
                WRITTEN if exposed => None,
                MISSED if !exposed => None,
                // Unexposed, the write's event may have been handed out
                // already: reported by the next `select`, no system call.
                WRITTEN | DELIVERED if !exposed => Some(MISSED),
                _ => Some(WRITTEN),
            }
        };
        match self.advance(state, next) {
            None => Ok(()),
            Some(MISSED) => {
                // Claim 3: if the selector was exposed meanwhile, the
                // skipped write may be needed after all.
                if self.exposed.load(SeqCst) {
                    self.write_missed();
                }
                Ok(())
            }
            Some(_) => self.write(notifier),
        }
    }

    /// Writes to the notifier for a wake that moved the state to `WRITTEN`.
    #[inline]
    fn write<N: Notify + ?Sized>(&self, notifier: &N) -> io::Result<()> {
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
            self.write_for_waker();
        }
    }

    /// Writes on the claimed waker's behalf, once the state is `WRITTEN`.
    fn write_for_waker(&self) {
        // Nobody to report a failure to: a later wake retries. A waker
        // already dropped leaves nothing to deliver.
        if let Some(notifier) = self.notifier.get().and_then(Weak::upgrade) {
            let _ = self.write(&*notifier);
        }
    }

    /// Called by `select` before waiting: whether a missed wake must be
    /// reported, and otherwise arranges for a wake during the wait to write.
    #[inline]
    pub(crate) fn before_wait(&self) -> BeforeWait {
        // No claim check: only a claimed waker's wakes and batches leave
        // anything but `IDLE` and `owed` unset.
        // The last batch's delivery is told now ("The poller's side").
        let owed = self.owed.load(Relaxed);
        if owed {
            self.owed.store(false, Relaxed);
        }
        let next = |state| match state {
            MISSED => Some(DELIVERED),
            DELIVERED => Some(IDLE),
            // The delivered write, no wake since.
            WRITTEN if owed => Some(IDLE),
            // `IDLE`, or a write whose event the kernel still holds.
            _ => None,
        };
        if self.advance(self.state.load(SeqCst), next) != Some(DELIVERED) {
            return BeforeWait::Wait;
        }
        self.settle_delivered();
        // Claim 4: before the caller looks at its own state.
        fence(SeqCst);
        BeforeWait::Report {
            token: Token(self.token.load(Relaxed)),
            after_batch: owed,
        }
    }

    /// Called by `select` when it could not report the missed wake that
    /// `before_wait` handed it (its zero-timeout wait failed): the next
    /// `select` reports it instead, or, once the selector is exposed, a
    /// write does.
    pub(crate) fn report_failed(&self) {
        let next = |state| match state {
            DELIVERED => Some(MISSED),
            // `expose` (or an exposed wake whose write failed) moved the
            // report's `DELIVERED` on: only a write delivers now.
            IDLE => Some(WRITTEN),
            // A later wake's write or mark covers this one.
            _ => None,
        };
        match self.advance(DELIVERED, next) {
            Some(WRITTEN) => self.write_for_waker(),
            // Claim 3, as for a wake that marks `MISSED`.
            Some(_) if self.exposed.load(SeqCst) => self.write_missed(),
            _ => {}
        }
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
        // Sequentially consistent: see claim 3.
        if self.exposed.load(SeqCst) {
            // Plain protocol: the write is delivered, the next wake writes.
            let _ = self.state.compare_exchange(WRITTEN, IDLE, SeqCst, SeqCst);
            // Claim 4: before the caller looks at its own state.
            fence(SeqCst);
        } else {
            // Told by the next `select` ("The poller's side").
            self.owed.store(true, Relaxed);
        }
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
        let next = |state| match state {
            IDLE => None,
            // Reported, no wake since: the next wake writes.
            DELIVERED => Some(IDLE),
            // A wake skipped its write (`MISSED`), or one may merge into a
            // write already handed out (`WRITTEN` while `owed` is set):
            // write afresh, an event nobody has seen yet.
            _ => Some(WRITTEN),
        };
        if self.advance(self.state.load(SeqCst), next) == Some(WRITTEN) {
            self.write_for_waker();
        }
    }
}
