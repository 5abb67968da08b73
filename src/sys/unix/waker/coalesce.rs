//! Wake coalescing: `Waker::wake` makes a system call only when the poller
//! could otherwise miss the wake, except while wakes come one at a time
//! (each delivered before the next), when every wake writes as mio's do
//! (`PLAIN`, see "Wakes one at a time").
//!
//! # The states
//!
//! A `WakeSlot` belongs to one selector (shared by its clones) and is
//! claimed by that selector's first `Waker`. Its `state` (the phase of a
//! word that also counts its changes, see "Writing first") is one of:
//!
//! * `IDLE`: no wake outstanding. The next wake writes to the notifier
//!   (see "Writing first").
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
//! * `PLAIN`: wakes have been coming one at a time. Every wake writes and
//!   nothing is outstanding; `select` tells nothing (see "Wakes one at a
//!   time").
//!
//! # The poller's side
//!
//! A batch carrying the waker's token (the kernel's event for a write)
//! does not touch `state`: `select` only sets `owed`, a flag no other
//! thread reads, on the read-mostly line of the slot that `select` has
//! just read to find the waker's token, and returns. The state is told
//! at the *next* `select`, before it waits: with `owed` set, `WRITTEN` (the
//! delivered write, no wake since) and `DELIVERED` become `IDLE`, so that a
//! wake during the coming wait writes and wakes it, and `IDLE` is told
//! again (a write first whose record has not landed, below); `MISSED` is
//! reported.
//! Without `owed`, `WRITTEN` is a write whose event is still in the kernel:
//! `select` waits for it and leaves the state alone, and `MISSED` is
//! reported (if the kernel's event is still pending as well, the report's
//! zero-timeout wait collects it and the report carries the one record).
//! `DELIVERED` also becomes `IDLE` before a wait, after lingering (below).
//! A wait that began before any waker claimed the slot is treated like the
//! others: a `Waker` can be created through a cloned `Registry` while the
//! poller sleeps, and its first wake ends that very wait.
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
//! # Wakes one at a time
//!
//! Coalescing has a price even when nothing merges. To skip its system
//! call a wake must learn whether the previous one was delivered, so it
//! reads `state`, and a poller that blocks has just written that line
//! (`IDLE`): the read waits for the line to cross from the poller's CPU,
//! on the path from the wake to `poll` returning. When each wake is
//! delivered before the next (a `Waker` that interrupts a sleeping event
//! loop now and then, as tokio's driver uses it: its own unpark already
//! merges wakes), nothing ever merges and that crossing is all coalescing
//! adds: measured between this VM's distant vCPUs, wake latency 1–2 %
//! behind mio's (`BENCHMARKS.md`).
//!
//! So the slot watches for that pattern. A *calm delivery* is a `select`
//! with `owed` set that tells `WRITTEN` or `IDLE`: one write, delivered,
//! and no wake merged into it. After [`CALM_DELIVERIES_BEFORE_PLAIN`] of
//! them in a row (a report, or the `DELIVERED` after one, starts the count
//! again), that `select` moves its just-told `IDLE` on to `PLAIN`. In
//! `PLAIN` a wake that reads `PLAIN` writes, and only then (off the path
//! to the poller) counts itself in `wakes`, a line only waking threads
//! write; `select` leaves `state` alone, so the line the wake reads first
//! stays in its CPU's cache. `select` counts its deliveries instead and
//! adds them to `credit` [`DELIVERIES_CREDITED_TOGETHER`] at a time (a
//! line the wakes read after their write, so it crosses once per that
//! many deliveries).
//!
//! A stream of wakes ends `PLAIN`: once a wake finds `wakes` ahead of
//! `credit` by [`MERGED_WRITES_BEFORE_COALESCING`] (writes the kernel
//! merged into an event already pending, give or take the deliveries not
//! yet credited), it moves the state from the `PLAIN` it read to `IDLE`,
//! and coalescing resumes: the next wake writes, the ones after it mark.
//! A burst that begins in `PLAIN` thus costs at most that many writes
//! (plus one per waking thread caught mid-write) beyond those coalescing
//! would make, where mio writes for every wake; that is the one place
//! where a wake writes while another is pending. The storm benchmark
//! starts each run from `PLAIN` so that this is measured.
//!
//! Both moves are compare-and-swaps on the state word, so nothing else
//! changes: `PLAIN` is entered only from an `IDLE` its `select` has just
//! told (a write first in flight then fails its record, as after any
//! tell), and left only for `IDLE`. A wake that read another phase and
//! finds `PLAIN` after its fence (the poller moved in between) writes.
//! `expose` leaves `PLAIN` alone and an exposed batch tells nothing in it:
//! every wake writes, which is all exposure needs.
//!
//! # Lingering after a report
//!
//! That holds only if the stream's next mark reaches the poller's CPU
//! before the caller, back from the report, polls again. Between distant
//! cores a cache line takes a few hundred nanoseconds each way (measured
//! here: 60 ns or 400–500 ns for a round trip between this VM's two
//! vCPUs, depending on where the host puts them), and the mark needs the
//! reported word to cross, then its compare-and-swap to cross back; a
//! caller that polls again at once finds `DELIVERED`, moves it to `IDLE`
//! and blocks, and the next wake writes and wakes it: a stream of wakes
//! then costs a sleep and a system call every few microseconds, where
//! mio's poller, finding the eventfd written again each time, never
//! sleeps (nbio's poller returned a third as often as mio's).
//!
//! So a `select` that finds `DELIVERED` first watches the word for up to
//! [`LINGER`] (reads only, with a spin-loop hint) and acts on whatever it
//! then reads: `MISSED` is reported at once, still `DELIVERED` becomes
//! `IDLE` as before. Stopping the watch anywhere is as if `select` had
//! come that much later, so every claim below holds unchanged. Only a
//! report leads there, that is a wake that came while an earlier one was
//! outstanding, so a lone wake never lingers; nor does a wait shorter
//! than [`LINGER_BEFORE_WAITS_FROM`] (a zero timeout above all), and a
//! longer wait that does may end up to one linger after its timeout.
//!
//! # Writing first
//!
//! A wake that reads `IDLE` writes at once, with no fence or
//! compare-and-swap before its system call, and records `WRITTEN` after it.
//! Nothing is outstanding, so the write is due whatever happens meanwhile,
//! and a locked instruction before it would make the waking thread wait
//! for its earlier stores (typically the very data the poller is being
//! woken for) to reach the poller's CPU and for the state's line to come
//! back from it, one after the other, before the system call starts;
//! written first, those transfers overlap the system call's entry, as they
//! do for a plain `write`.
//!
//! The record is a compare-and-swap from the word the wake read, and the
//! word counts its changes, so the record fails if anything moved the
//! state in between: another wake, a report, `expose`, or the poller
//! telling a delivery. A record that lands is therefore the first change
//! after the `IDLE` the wake read, and until it lands the state reads
//! `IDLE`, which costs at most a redundant write: any wake then writes too.
//! The danger is the other way round: a record landing after the poller
//! has already told the delivery of that very write would leave `WRITTEN`
//! with no event to come, and later wakes would merge into nothing. So
//! every way of telling a delivery moves the word even when it finds
//! `IDLE` (`before_wait` with `owed`, an exposed batch, `expose`), and a
//! record after it fails. A write whose record failed may leave its event
//! in the kernel while the state is `IDLE`: that event is delivered by the
//! next wait like any other and told as above, a spurious return at worst.
//! The change count is 61 bits wide, so it cannot come round to the word a
//! wake read while that wake is between its read and its record; where the
//! target has no 64-bit atomics it is 29 bits, and coming round would take
//! half a billion deliveries while one wake sits between its write and its
//! record.
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
//! switches, `expose` tells an `IDLE` again (a write first may be
//! recording a write an unexposed batch already delivered), moves
//! `DELIVERED` to `IDLE` and writes once itself
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
//! In `PLAIN` every wake writes, so the claims below are about the other
//! phases.
//!
//! Claim 1: a wake that makes no system call is merged into an event the
//! caller has yet to receive. Unexposed, it moved `WRITTEN` or `DELIVERED`
//! to `MISSED`, or found `MISSED`: the next `select` reports it, with or
//! without `owed`. Exposed, it found `WRITTEN`, and there `WRITTEN` is a
//! write not yet handed out (an exposed `select` tells every delivery at
//! once, and `expose` rewrote any `WRITTEN` it found, see above). Every
//! transition is a compare-and-swap, so a wake that raced with `select`
//! or `expose` retries on the state it lost to (except the record of a
//! write first, which gives up: it has written already).
//!
//! Claim 2: a wake after the caller received a waker event produces a new
//! one. After a report the state is `DELIVERED` or later; after the
//! kernel's event, unexposed, it is `WRITTEN` or later with `owed` set, and
//! `owed` keeps the next `select` from mistaking that `WRITTEN` for a write
//! still in the kernel, or it is `IDLE` (a write first whose record has not
//! landed, or failed). So the wake finds `WRITTEN`, `DELIVERED` or
//! `MISSED` (reported by the next `select`), or `IDLE` (a write).
//!
//! Claim 3, exposure: `expose` stores the flag and then inspects the state;
//! a wake (or `select`) moves the state and then reads the flag. All four
//! operations are sequentially consistent, so at least one side sees the
//! other: a `MISSED` or `DELIVERED` left behind by a wake or `select` that
//! missed the flag is found and cleaned up by `expose`, or they saw the flag
//! and clean up themselves. (A wake that writes first needs no flag: it
//! writes either way.) A batch collected after the switch reads the
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
//! flags; x86's store buffer allows it too). So a wake that does not find
//! `IDLE` runs a `SeqCst` fence and then reads the state again (that read
//! decides what it does), and `select` ends every change that hands out
//! what such a wake merged into (the `MISSED` -> `DELIVERED` of a report, the
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
use std::sync::atomic::{AtomicU32, AtomicUsize};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// A notifier the slot writes to on its waker's behalf (an eventfd or a
/// pipe; type-erased because not every build has one).
///
/// Unwind-safe so that `Poll` and `Registry`, which reach it through the
/// slot, stay `UnwindSafe` and `RefUnwindSafe` as mio's are.
pub(crate) trait Notify: Send + Sync + std::fmt::Debug + RefUnwindSafe + UnwindSafe {
    /// Makes the notifier's fd readable.
    fn notify(&self) -> io::Result<()>;
}

/// The slot's state word: a phase (below) in its low two bits, and above
/// them a count of the word's changes, so that a compare-and-swap from a
/// word read earlier fails if anything moved it since (see "Writing first").
#[cfg(target_has_atomic = "64")]
type StateWord = std::sync::atomic::AtomicU64;
#[cfg(not(target_has_atomic = "64"))]
type StateWord = std::sync::atomic::AtomicU32;
#[cfg(target_has_atomic = "64")]
type Word = u64;
#[cfg(not(target_has_atomic = "64"))]
type Word = u32;

const PHASE_BITS: Word = 0b111;
/// One change in the count above the phase.
const UNIT: Word = PHASE_BITS + 1;

/// The phase of a state word.
#[inline]
fn phase(word: Word) -> u8 {
    (word & PHASE_BITS) as u8
}

/// The word that follows `word` when its phase changes to `to` (or is
/// told again, `to` the same): one more change counted.
#[inline]
fn moved(word: Word, to: u8) -> Word {
    (word & !PHASE_BITS).wrapping_add(UNIT) | Word::from(to)
}

const IDLE: u8 = 0;
const WRITTEN: u8 = 1;
const DELIVERED: u8 = 2;
const MISSED: u8 = 3;
const PLAIN: u8 = 4;

/// Deliveries in a row, each of one write that no wake merged into, after
/// which the slot lets every wake write (see "Wakes one at a time").
const CALM_DELIVERIES_BEFORE_PLAIN: u32 = 16;
/// Deliveries in `PLAIN` that the poller counts before it credits them
/// to the wakes all at once (a write to a line the waking threads read).
const DELIVERIES_CREDITED_TOGETHER: u32 = 16;
/// Wakes in `PLAIN` beyond the deliveries credited to them (wakes the
/// kernel merged into an event already pending, give or take the
/// deliveries not yet credited), after which the slot coalesces again.
const MERGED_WRITES_BEFORE_COALESCING: Word = 2 * DELIVERIES_CREDITED_TOGETHER as Word;

/// How long `before_wait` watches a `DELIVERED` state for the next wake of
/// a stream before it lets the poller block (see "Lingering after a
/// report"): several times the few hundred nanoseconds a cache line takes
/// to cross between distant cores.
const LINGER: Duration = Duration::from_micros(2);
/// Waits shorter than this never linger: their timing is asked for
/// precisely (a zero timeout above all), and a linger's few microseconds
/// would show in it.
const LINGER_BEFORE_WAITS_FROM: Duration = Duration::from_millis(1);
/// Reads of the state between two looks at the clock while lingering.
const LINGER_READS_PER_CHECK: u32 = 16;

/// Whether a `select` about to wait for at most `timeout` may linger.
#[inline]
fn may_linger(timeout: Option<Duration>) -> bool {
    timeout.map_or(true, |t| t >= LINGER_BEFORE_WAITS_FROM)
}

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
    state: OwnLine<StateWord>,
    /// Only `select` uses these (one at a time: `Poll::poll` takes
    /// `&mut self`). They share the read-mostly line above, which `select`
    /// reads after every wait anyway: returning from a wait, the poller
    /// finds its caches cold, and one more line to fetch there showed in
    /// the wake latency (see "Wakes one at a time").
    poller: PollerSide,
    /// In `PLAIN`, how many wakes wrote: counted by the waking threads
    /// after their write, on a line of its own that `select` reads only
    /// when it enters `PLAIN`.
    wakes: OwnLine<StateWord>,
    /// In `PLAIN`, what `wakes` is measured against: its value when the
    /// slot entered `PLAIN` plus the deliveries credited since. Written by
    /// `select` every [`DELIVERIES_CREDITED_TOGETHER`] deliveries, read by
    /// wakes after their write.
    credit: OwnLine<StateWord>,
}

/// The slot's fields that only `select` uses.
#[derive(Debug)]
struct PollerSide {
    /// A batch carried the waker's token and `state` has not been told yet
    /// (see "The poller's side").
    owed: AtomicBool,
    /// Calm deliveries in a row (see "Wakes one at a time").
    calm: AtomicU32,
    /// Deliveries in `PLAIN` not yet added to `credit`.
    uncredited: AtomicU32,
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
            state: OwnLine(StateWord::new(IDLE as Word)),
            poller: PollerSide {
                owed: AtomicBool::new(false),
                calm: AtomicU32::new(0),
                uncredited: AtomicU32::new(0),
            },
            wakes: OwnLine(StateWord::new(0)),
            credit: OwnLine(StateWord::new(0)),
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
    /// is `notifier`.
    #[inline]
    pub(crate) fn wake<N: Notify + ?Sized>(&self, notifier: &N) -> io::Result<()> {
        // Writing first (see the module notes): nothing is outstanding, so
        // this wake writes whatever else happens, with no fence or
        // compare-and-swap ahead of the system call. Reading first also
        // keeps the line shared with the poller while wakes merge.
        let seen = self.state.load(Acquire);
        if phase(seen) == PLAIN {
            return self.wake_plain(seen, notifier);
        }
        if phase(seen) == IDLE {
            let res = notifier.notify();
            if res.is_ok() {
                // Fails if anything moved the state since `seen`; the
                // write is then `IDLE`'s (at worst a spurious event).
                let _ = self
                    .state
                    .compare_exchange(seen, moved(seen, WRITTEN), SeqCst, Relaxed);
            }
            return res;
        }
        // Claim 4: the caller's stores before this wake are ordered before
        // the state is read, against the fence that ends a delivery.
        fence(SeqCst);
        self.wake_from(self.state.load(SeqCst), notifier)
    }

    /// A wake that read `seen`, in `PLAIN`: writes, then counts itself
    /// (after the system call, off the path to the poller) and, once the
    /// wakes outnumber the deliveries credited by
    /// [`MERGED_WRITES_BEFORE_COALESCING`], returns the slot to coalescing
    /// (see "Wakes one at a time").
    #[inline]
    fn wake_plain<N: Notify + ?Sized>(&self, seen: Word, notifier: &N) -> io::Result<()> {
        let res = notifier.notify();
        if res.is_ok() {
            let wakes = self.wakes.fetch_add(1, Relaxed).wrapping_add(1);
            let merged = wakes.wrapping_sub(self.credit.load(Relaxed));
            // A credit ahead of the count (a delivery credited before its
            // wake counted itself) wraps round to a huge value: no storm.
            if (MERGED_WRITES_BEFORE_COALESCING..=Word::MAX >> 1).contains(&merged) {
                self.coalesce_again(seen);
            }
        }
        res
    }

    /// Leaves `PLAIN` for `IDLE`, if `word` (a `PLAIN` word) is still the
    /// state: the next wake writes, and the ones after it merge.
    #[cold]
    #[inline(never)]
    fn coalesce_again(&self, word: Word) {
        let _ = self
            .state
            .compare_exchange(word, moved(word, IDLE), SeqCst, Relaxed);
    }

    /// Moves the state on from `word` (the value last seen) to `next` of
    /// its phase, by compare-and-swap, retrying from whatever value it lost
    /// to; returns the phase it moved to, or `None` once `next` says to
    /// stay.
    #[inline]
    fn advance(&self, word: Word, next: impl Fn(u8) -> Option<u8>) -> Option<u8> {
        self.advance_from(word, next).map(|(_, to)| to)
    }

    /// `advance`, returning the phase moved from as well.
    #[inline]
    fn advance_from(&self, mut word: Word, next: impl Fn(u8) -> Option<u8>) -> Option<(u8, u8)> {
        loop {
            let to = next(phase(word))?;
            match self
                .state
                .compare_exchange(word, moved(word, to), SeqCst, SeqCst)
            {
                Ok(_) => return Some((phase(word), to)),
                Err(actual) => word = actual,
            }
        }
    }

    /// Moves the state from phase `from` to `to` if it is in `from` now.
    #[inline]
    fn shift(&self, from: u8, to: u8) -> bool {
        self.advance(self.state.load(SeqCst), |p| (p == from).then_some(to))
            .is_some()
    }

    /// The wake protocol from an observed state word, read after the fence.
    fn wake_from<N: Notify + ?Sized>(&self, state: Word, notifier: &N) -> io::Result<()> {
        let next = |state| {
            let exposed = self.exposed.load(SeqCst);
            match state {
                // Every wake writes (this one, caught between a read and
                // the poller's move to `PLAIN`, is not counted in `wakes`).
                PLAIN => Some(PLAIN),
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
            // `WRITTEN`, or `PLAIN`.
            Some(_) => self.write(notifier),
        }
    }

    /// Writes to the notifier for a wake that moved the state to `WRITTEN`.
    #[inline]
    fn write<N: Notify + ?Sized>(&self, notifier: &N) -> io::Result<()> {
        let res = notifier.notify();
        if res.is_err() {
            // Let a later wake try again.
            self.shift(WRITTEN, IDLE);
        }
        res
    }

    /// Turns a `MISSED` wake into a real write (exposed selectors).
    fn write_missed(&self) {
        if self.shift(MISSED, WRITTEN) {
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

    /// Called by `select` before waiting for at most `timeout`: whether a
    /// missed wake must be reported, and otherwise arranges for a wake
    /// during the wait to write. After a report it may first linger (see
    /// "Lingering after a report").
    #[inline]
    pub(crate) fn before_wait(&self, timeout: Option<Duration>) -> BeforeWait {
        self.before_wait_lingering(timeout, |since: Instant| since.elapsed() >= LINGER)
    }

    /// `before_wait`, lingering (if `timeout` allows) until `give_up`,
    /// given when the linger began, says so.
    #[inline]
    fn before_wait_lingering(
        &self,
        timeout: Option<Duration>,
        give_up: impl FnMut(Instant) -> bool,
    ) -> BeforeWait {
        // No claim check: only a claimed waker's wakes and batches leave
        // anything but `IDLE` and `owed` unset.
        // The last batch's delivery is told now ("The poller's side").
        let poller = &self.poller;
        let owed = poller.owed.load(Relaxed);
        if owed {
            poller.owed.store(false, Relaxed);
        }
        let mut word = self.state.load(SeqCst);
        if phase(word) == PLAIN {
            // Every wake writes: nothing to tell, only a delivery to credit.
            if owed {
                self.credit_delivery();
            }
            return BeforeWait::Wait;
        }
        let next = |state| match state {
            MISSED => Some(DELIVERED),
            DELIVERED => Some(IDLE),
            // The delivered write, no wake since; or (`IDLE`) a write first
            // whose record may still land: told, so that it fails.
            WRITTEN | IDLE if owed => Some(IDLE),
            // `IDLE`, or a write whose event the kernel still holds.
            _ => None,
        };
        if phase(word) == DELIVERED && may_linger(timeout) {
            word = self.linger(word, give_up);
        }
        match self.advance_from(word, next) {
            None => return BeforeWait::Wait,
            Some((_, DELIVERED)) => {}
            Some((DELIVERED, _)) => {
                self.break_calm();
                return BeforeWait::Wait;
            }
            Some(_) => {
                self.count_calm();
                return BeforeWait::Wait;
            }
        }
        self.break_calm();
        self.settle_delivered();
        // Claim 4: before the caller looks at its own state.
        fence(SeqCst);
        BeforeWait::Report {
            token: Token(self.token.load(Relaxed)),
            after_batch: owed,
        }
    }

    /// A delivery in `PLAIN`, credited to the wakes with the ones before
    /// it once there are [`DELIVERIES_CREDITED_TOGETHER`].
    #[inline]
    fn credit_delivery(&self) {
        let uncredited = self.poller.uncredited.load(Relaxed) + 1;
        if uncredited < DELIVERIES_CREDITED_TOGETHER {
            self.poller.uncredited.store(uncredited, Relaxed);
        } else {
            self.poller.uncredited.store(0, Relaxed);
            let credit = self.credit.load(Relaxed);
            self.credit
                .store(credit.wrapping_add(Word::from(uncredited)), Relaxed);
        }
    }

    /// A calm delivery: one write, delivered, no wake merged into it.
    #[inline]
    fn count_calm(&self) {
        let calm = self.poller.calm.load(Relaxed) + 1;
        if calm < CALM_DELIVERIES_BEFORE_PLAIN {
            self.poller.calm.store(calm, Relaxed);
        } else {
            self.poller.calm.store(0, Relaxed);
            self.enter_plain();
        }
    }

    /// A report, or the `DELIVERED` after one: wakes merged.
    #[inline]
    fn break_calm(&self) {
        // Not stored when already 0: wakes under a stream read `exposed`,
        // on the same line.
        if self.poller.calm.load(Relaxed) != 0 {
            self.poller.calm.store(0, Relaxed);
        }
    }

    /// Moves a just-told `IDLE` to `PLAIN`, after setting the credit that
    /// the wakes in `PLAIN` count against; stays if a wake moved it first.
    #[cold]
    #[inline(never)]
    fn enter_plain(&self) {
        let word = self.state.load(Relaxed);
        if phase(word) != IDLE {
            return;
        }
        self.poller.uncredited.store(0, Relaxed);
        // Published by the compare-and-swap, which wakes acquire.
        self.credit.store(self.wakes.load(Relaxed), Relaxed);
        let _ = self
            .state
            .compare_exchange(word, moved(word, PLAIN), SeqCst, Relaxed);
    }

    /// Watches a `DELIVERED` state word for a wake to move it, until
    /// `give_up` (asked every few reads, given when the watch began) says
    /// to stop; returns the word last read. Reads only, so stopping
    /// anywhere is as if `select` had come that much later (see "Lingering
    /// after a report").
    #[cold]
    #[inline(never)]
    fn linger(&self, word: Word, mut give_up: impl FnMut(Instant) -> bool) -> Word {
        let since = Instant::now();
        loop {
            for _ in 0..LINGER_READS_PER_CHECK {
                std::hint::spin_loop();
                let now = self.state.load(Relaxed);
                if now != word {
                    return now;
                }
            }
            if give_up(since) {
                return word;
            }
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
        match self.advance(self.state.load(SeqCst), next) {
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
            // Plain protocol: the write is delivered, the next wake writes;
            // an `IDLE` is told too (a write first's record must fail).
            let _ = self.advance(self.state.load(SeqCst), |p| {
                matches!(p, WRITTEN | IDLE).then_some(IDLE)
            });
            // Claim 4: before the caller looks at its own state.
            fence(SeqCst);
        } else {
            // Told by the next `select` ("The poller's side").
            self.poller.owed.store(true, Relaxed);
        }
    }

    /// After moving to `DELIVERED`: if the selector was exposed meanwhile,
    /// go to `IDLE` instead so the next wake writes (claim 3).
    fn settle_delivered(&self) {
        if self.exposed.load(SeqCst) {
            self.shift(DELIVERED, IDLE);
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
            // Every wake writes already.
            PLAIN => None,
            // Told again: a write first may be recording a write that an
            // unexposed batch delivered (`owed`), which a wake would now
            // merge into; its record fails.
            IDLE => Some(IDLE),
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

#[cfg(test)]
mod tests {
    //! The slot on its own, with a notifier that counts its writes and can
    //! play the poller's part in the middle of one (between a write first
    //! and its record), the one window the selector tests cannot stop in.

    use super::{
        may_linger, BeforeWait, Notify, WakeSlot, CALM_DELIVERIES_BEFORE_PLAIN,
        MERGED_WRITES_BEFORE_COALESCING,
    };
    use crate::Token;
    use std::io;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, OnceLock, Weak};
    use std::time::Duration;

    const TOKEN: Token = Token(7);

    /// Counts writes; during the first, runs `during_first_write` on the
    /// slot.
    struct Recorder {
        writes: AtomicUsize,
        slot: OnceLock<Weak<WakeSlot>>,
        during_first_write: fn(&WakeSlot),
    }

    impl std::fmt::Debug for Recorder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Recorder").finish_non_exhaustive()
        }
    }

    impl Notify for Recorder {
        fn notify(&self) -> io::Result<()> {
            if self.writes.fetch_add(1, SeqCst) == 0 {
                let slot = self.slot.get().and_then(Weak::upgrade).unwrap();
                (self.during_first_write)(&slot);
            }
            Ok(())
        }
    }

    /// A claimed slot and its notifier.
    fn claimed(
        slot: WakeSlot,
        during_first_write: fn(&WakeSlot),
    ) -> (Arc<WakeSlot>, Arc<Recorder>) {
        let slot = Arc::new(slot);
        let recorder = Arc::new(Recorder {
            writes: AtomicUsize::new(0),
            slot: OnceLock::new(),
            during_first_write,
        });
        recorder.slot.set(Arc::downgrade(&slot)).unwrap();
        assert!(slot.claim(TOKEN, &(Arc::clone(&recorder) as Arc<dyn Notify>)));
        (slot, recorder)
    }

    /// What the poller does when a batch carries the waker's event and the
    /// caller comes back to `poll`.
    fn deliver_and_poll_again(slot: &WakeSlot) {
        slot.after_wait([TOKEN.0]);
        assert_eq!(slot.before_wait(None), BeforeWait::Wait);
    }

    fn writes(recorder: &Recorder) -> usize {
        recorder.writes.load(SeqCst)
    }

    #[test]
    fn a_wake_writes_once_and_a_wake_before_its_delivery_merges() {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 1);
        slot.wake(&*recorder).unwrap();
        slot.wake(&*recorder).unwrap();
        assert_eq!(
            writes(&recorder),
            1,
            "wakes while one is pending write nothing"
        );
        // The merged wakes are reported by the next select.
        assert!(matches!(slot.before_wait(None), BeforeWait::Report { .. }));
    }

    #[test]
    fn a_wake_after_a_delivery_writes_again() {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        slot.wake(&*recorder).unwrap();
        deliver_and_poll_again(&slot);
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 2);
    }

    #[test]
    fn a_delivery_told_before_a_write_is_recorded_leaves_the_next_wake_writing() {
        // The poller collects the write's event and comes back to `poll`
        // before the waking thread records `WRITTEN`. If that late record
        // landed, the next wake would merge into a write already delivered
        // and the poller would sleep through it.
        let (slot, recorder) = claimed(WakeSlot::new(), deliver_and_poll_again);
        slot.wake(&*recorder).unwrap();
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 2, "the second wake must write");
    }

    #[test]
    fn an_exposed_delivery_before_a_write_is_recorded_leaves_the_next_wake_writing() {
        let (slot, recorder) = claimed(WakeSlot::always_exposed(), |slot| {
            slot.after_wait([TOKEN.0]);
        });
        slot.wake(&*recorder).unwrap();
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 2, "the second wake must write");
    }

    #[test]
    fn exposing_after_a_delivery_before_a_write_is_recorded_leaves_the_next_wake_writing() {
        // Delivered by an unexposed batch (told later, at the next
        // `select`), then the selector's fd is handed out: from then on
        // only a real write wakes whoever waits on it.
        let (slot, recorder) = claimed(WakeSlot::new(), |slot| {
            slot.after_wait([TOKEN.0]);
            slot.expose();
        });
        slot.wake(&*recorder).unwrap();
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 2, "the second wake must write");
    }

    #[test]
    fn a_write_recorded_before_its_delivery_is_told_as_usual() {
        // The record lands, then the batch: the next select moves
        // `WRITTEN` to `IDLE` and the next wake writes.
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        slot.wake(&*recorder).unwrap();
        deliver_and_poll_again(&slot);
        deliver_and_poll_again(&slot);
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 2);
    }

    /// A slot whose last delivery was a report, no wake since: the wake
    /// after the first write and its delivery is missed, then reported.
    fn just_reported() -> (Arc<WakeSlot>, Arc<Recorder>) {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        slot.wake(&*recorder).unwrap();
        slot.after_wait([TOKEN.0]);
        slot.wake(&*recorder).unwrap();
        assert!(matches!(slot.before_wait(None), BeforeWait::Report { .. }));
        assert_eq!(writes(&recorder), 1);
        (slot, recorder)
    }

    #[test]
    fn a_wake_while_the_poller_lingers_after_a_report_is_reported_without_a_write() {
        // The wake lands while `select` lingers (here: when it first looks
        // at the clock), as the next wake of a stream does when its mark
        // takes longer to cross CPUs than the caller takes to poll again.
        let (slot, recorder) = just_reported();
        let mut looks = 0;
        let decision = slot.before_wait_lingering(None, |_| {
            looks += 1;
            if looks == 1 {
                slot.wake(&*recorder).unwrap();
            }
            looks > 1
        });
        assert!(
            matches!(decision, BeforeWait::Report { .. }),
            "the wake must be reported, not waited for: {decision:?}"
        );
        assert_eq!(writes(&recorder), 1, "no write for a wake reported");
    }

    #[test]
    fn a_linger_that_sees_no_wake_lets_the_poller_block_and_the_next_wake_writes() {
        let (slot, recorder) = just_reported();
        let mut looks = 0;
        let decision = slot.before_wait_lingering(None, |_| {
            looks += 1;
            true
        });
        assert_eq!(decision, BeforeWait::Wait);
        assert_eq!(looks, 1, "gave up at the first look at the clock");
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 2, "a wake during the wait must write");
    }

    #[test]
    fn a_zero_timeout_select_does_not_linger() {
        let (slot, recorder) = just_reported();
        let decision = slot.before_wait_lingering(Some(Duration::ZERO), |_| panic!("lingered"));
        assert_eq!(decision, BeforeWait::Wait);
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 2);
    }

    #[test]
    fn only_waits_of_a_millisecond_or_more_linger() {
        assert!(may_linger(None));
        assert!(may_linger(Some(Duration::from_millis(1))));
        assert!(may_linger(Some(Duration::from_secs(10))));
        assert!(!may_linger(Some(Duration::ZERO)));
        assert!(!may_linger(Some(Duration::from_micros(999))));
    }

    /// `rounds` wakes, each delivered before the next: calm deliveries.
    fn calm_rounds(slot: &WakeSlot, recorder: &Recorder, rounds: u32) {
        for _ in 0..rounds {
            slot.wake(recorder).unwrap();
            deliver_and_poll_again(slot);
        }
    }

    /// Two wakes with no delivery between them: how many wrote.
    fn writes_of_two_wakes(slot: &WakeSlot, recorder: &Recorder) -> usize {
        let before = writes(recorder);
        slot.wake(recorder).unwrap();
        slot.wake(recorder).unwrap();
        writes(recorder) - before
    }

    #[test]
    fn after_calm_deliveries_every_wake_writes() {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        calm_rounds(&slot, &recorder, CALM_DELIVERIES_BEFORE_PLAIN - 1);
        assert_eq!(writes_of_two_wakes(&slot, &recorder), 1, "still coalescing");
        assert!(matches!(slot.before_wait(None), BeforeWait::Report { .. }));

        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        calm_rounds(&slot, &recorder, CALM_DELIVERIES_BEFORE_PLAIN);
        assert_eq!(writes_of_two_wakes(&slot, &recorder), 2, "each wake writes");
        // Nothing for `select` to report: the kernel holds the writes.
        slot.after_wait([TOKEN.0]);
        assert_eq!(slot.before_wait(None), BeforeWait::Wait);
    }

    #[test]
    fn a_report_breaks_the_calm() {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        calm_rounds(&slot, &recorder, CALM_DELIVERIES_BEFORE_PLAIN - 1);
        // Two wakes for one delivery: the second is reported.
        slot.wake(&*recorder).unwrap();
        slot.after_wait([TOKEN.0]);
        slot.wake(&*recorder).unwrap();
        assert!(matches!(slot.before_wait(None), BeforeWait::Report { .. }));
        assert_eq!(slot.before_wait_lingering(None, |_| true), BeforeWait::Wait);
        calm_rounds(&slot, &recorder, CALM_DELIVERIES_BEFORE_PLAIN - 1);
        assert_eq!(
            writes_of_two_wakes(&slot, &recorder),
            1,
            "the count starts again"
        );
    }

    #[test]
    fn one_wake_per_delivery_stays_plain() {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        calm_rounds(&slot, &recorder, CALM_DELIVERIES_BEFORE_PLAIN);
        let rounds = 10 * MERGED_WRITES_BEFORE_COALESCING as usize;
        calm_rounds(&slot, &recorder, rounds as u32);
        assert_eq!(
            writes_of_two_wakes(&slot, &recorder),
            2,
            "deliveries are credited"
        );
    }

    #[test]
    fn merged_writes_in_plain_return_the_slot_to_coalescing() {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        calm_rounds(&slot, &recorder, CALM_DELIVERIES_BEFORE_PLAIN);
        let before = writes(&recorder);
        for _ in 0..1_000 {
            slot.wake(&*recorder).unwrap();
        }
        // `MERGED_WRITES_BEFORE_COALESCING` writes in `PLAIN`, then one
        // from `IDLE` that the rest merge into.
        let burst = writes(&recorder) - before;
        assert_eq!(burst, MERGED_WRITES_BEFORE_COALESCING as usize + 1);
        slot.after_wait([TOKEN.0]);
        assert!(matches!(slot.before_wait(None), BeforeWait::Report { .. }));
    }

    #[test]
    fn a_write_first_in_flight_when_the_slot_turns_plain_leaves_every_wake_writing() {
        // The poller delivers and polls again while the calm round's wake
        // is still writing; that told `IDLE` is the one that turns `PLAIN`,
        // and the late record must not turn it into `WRITTEN`.
        let (slot, recorder) = claimed(WakeSlot::new(), |slot| {
            calm_rounds_without_writes(slot, CALM_DELIVERIES_BEFORE_PLAIN - 1);
            deliver_and_poll_again(slot);
        });
        slot.wake(&*recorder).unwrap();
        slot.wake(&*recorder).unwrap();
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), 3, "each wake writes");
    }

    /// Calm deliveries told without wakes (the notifier's first write is
    /// in progress): moves `calm` on as a waking thread's rounds would.
    fn calm_rounds_without_writes(slot: &WakeSlot, rounds: u32) {
        for _ in 0..rounds {
            deliver_and_poll_again(slot);
        }
    }

    #[test]
    fn exposing_a_plain_slot_keeps_every_wake_writing() {
        let (slot, recorder) = claimed(WakeSlot::new(), |_| {});
        calm_rounds(&slot, &recorder, CALM_DELIVERIES_BEFORE_PLAIN);
        slot.expose();
        let before = writes(&recorder);
        slot.wake(&*recorder).unwrap();
        slot.after_wait([TOKEN.0]);
        slot.wake(&*recorder).unwrap();
        assert_eq!(writes(&recorder), before + 2);
    }

    #[test]
    fn a_linger_gives_up_on_its_own() {
        // The real clock: a report with no wake after it still waits.
        let (slot, _recorder) = just_reported();
        assert_eq!(slot.before_wait(None), BeforeWait::Wait);
    }
}
