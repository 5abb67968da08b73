//! `Poll`: construction, timeouts, capacity handling, signals, raw fd.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::UdpSocket;
use nbio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashSet;
use std::io;
// The selector's fd is exposed by the Unix kernel selectors only.
#[cfg(all(unix, not(nbio_force_poll)))]
use std::os::fd::AsRawFd;
// For the signal test (Unix only).
#[cfg(unix)]
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use util::{expect_events, Expect, PairStream, DEADLINE};

/// Builds a socket pair whose first end is registered for writable
/// readiness, which the selector reports immediately.
fn writable_pair(poll: &Poll, token: Token) -> (PairStream, PairStream) {
    let (mut a, b) = util::stream_pair();
    poll.registry()
        .register(&mut a, token, Interest::WRITABLE)
        .unwrap();
    (a, b)
}

#[test]
fn new_poll_has_no_events() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty(), "unexpected events: {events:?}");
}

#[test]
fn timeout_expiry_returns_ok_and_empty() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    poll.poll(&mut events, Some(Duration::from_millis(20)))
        .unwrap();
    assert!(events.is_empty());
}

#[test]
fn poll_clears_previous_events() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let (_a, _b) = writable_pair(&poll, Token(1));
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
    assert!(!events.is_empty());
    // Nothing new is ready (edge-triggered), so the old event must be gone.
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty(), "stale events: {events:?}");
}

#[test]
fn zero_timeout_still_reports_ready_events() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let (_a, _b) = writable_pair(&poll, Token(3));
    // The writable readiness is queued by the registration itself, so a
    // single non-blocking poll must see it.
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    let event = events.iter().next().expect("no event with zero timeout");
    assert_eq!(event.token(), Token(3));
    assert!(event.is_writable());
}

#[test]
fn tiny_timeouts_return_ok_and_empty() {
    // The rounding itself (1 ns and 1.001 ms round *up* to 1 and 2 ms, never
    // down to a busy loop) is checked exactly by the unit tests of the
    // selector's timeout conversion; here the public call must accept them.
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    for timeout in [Duration::from_nanos(1), Duration::from_micros(1001)] {
        poll.poll(&mut events, Some(timeout)).unwrap();
        assert!(events.is_empty());
    }
}

#[test]
fn timeouts_never_expire_early() {
    // Sub-millisecond, whole and mixed timeouts: whatever the backend's
    // resolution, an idle poll must not return before its timeout.
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    for micros in [0, 1, 100, 999, 1_000, 1_500, 5_000] {
        let timeout = Duration::from_micros(micros);
        let start = std::time::Instant::now();
        poll.poll(&mut events, Some(timeout)).unwrap();
        let elapsed = start.elapsed();
        assert!(events.is_empty(), "unexpected events: {events:?}");
        assert!(
            elapsed >= timeout,
            "poll({timeout:?}) returned after {elapsed:?}"
        );
    }
}

/// Polls with a huge timeout while another thread wakes the poll. A
/// timeout that overflowed (to a negative or zero value) would make the
/// first call error or return empty.
fn huge_timeout_is_not_truncated(timeout: Duration) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let waker = Arc::new(Waker::new(poll.registry(), Token(9)).unwrap());
    let waker2 = Arc::clone(&waker);
    let poller = util::current_tid();
    let handle = thread::spawn(move || {
        // Wake only once the main thread is blocked in `poll`, so a
        // zero-truncated timeout would have returned early and empty.
        util::wait_until_blocked(poller);
        waker2.wake().unwrap();
    });
    let res = poll.poll(&mut events, Some(timeout));
    handle.join().unwrap();
    res.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.token() == Token(9) && e.is_readable()),
        "poll returned without the wake event: {events:?}"
    );
}

#[test]
fn duration_max_timeout_does_not_overflow() {
    huge_timeout_is_not_truncated(Duration::MAX);
}

#[test]
fn timeout_beyond_c_int_millis_does_not_overflow() {
    // One millisecond more than `c_int::MAX` ms, and a value whose
    // millisecond count wraps to a small number when truncated to 32 bits.
    huge_timeout_is_not_truncated(Duration::from_millis(i32::MAX as u64 + 1));
    huge_timeout_is_not_truncated(Duration::from_millis((1u64 << 32) + 1));
}

#[test]
fn none_timeout_blocks_until_event() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let waker = Arc::new(Waker::new(poll.registry(), Token(4)).unwrap());
    let waker2 = Arc::clone(&waker);
    let handle = thread::spawn(move || waker2.wake().unwrap());
    // `None` would hang forever if the wake were lost; the wake is issued
    // exactly once, so this returns as soon as it is observed.
    poll.poll(&mut events, None).unwrap();
    handle.join().unwrap();
    assert!(events.iter().any(|e| e.token() == Token(4)));
}

#[test]
fn zero_capacity_events_is_invalid_input() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(0);
    let err = poll
        .poll(&mut events, Some(Duration::ZERO))
        .expect_err("poll with zero capacity must fail");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    // Even with something ready.
    let (_a, _b) = writable_pair(&poll, Token(1));
    let err = poll.poll(&mut events, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    // And the `Poll` keeps working with a proper buffer.
    let mut events = Events::with_capacity(4);
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn capacity_limits_events_per_poll_and_rest_come_later() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(2);
    assert_eq!(events.capacity(), 2);
    const N: usize = 7;
    let mut sockets = Vec::new();
    for i in 0..N {
        let mut s = UdpSocket::bind(util::any_local_address()).unwrap();
        poll.registry()
            .register(&mut s, Token(i), Interest::WRITABLE)
            .unwrap();
        sockets.push(s);
    }
    let mut seen = HashSet::new();
    let end = Instant::now() + DEADLINE;
    let mut polls = 0;
    while seen.len() < N {
        assert!(Instant::now() < end, "only saw {seen:?}");
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        polls += 1;
        assert!(events.iter().count() <= 2, "too many: {events:?}");
        for event in &events {
            assert!(event.is_writable());
            assert!(event.token().0 < N);
            assert!(seen.insert(event.token()), "duplicate {event:?}");
        }
    }
    // Capacity 2 means at least N/2 polls were needed.
    assert!(polls * 2 >= N);
    // Everything was delivered exactly once.
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty(), "extra events: {events:?}");
}

#[test]
fn capacity_one_delivers_everything_one_by_one() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1);
    let pairs: Vec<_> = (0..3).map(|i| writable_pair(&poll, Token(i))).collect();
    let mut seen = HashSet::new();
    for _ in 0..3 {
        poll.poll(&mut events, Some(DEADLINE)).unwrap();
        assert_eq!(events.iter().count(), 1);
        seen.insert(events.iter().next().unwrap().token());
    }
    assert_eq!(seen.len(), 3);
    drop(pairs);
}

#[test]
fn events_from_several_sources_in_one_poll() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let _p1 = writable_pair(&poll, Token(10));
    let _p2 = writable_pair(&poll, Token(20));
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    let tokens: HashSet<_> = events.iter().map(|e| e.token()).collect();
    assert_eq!(tokens, [Token(10), Token(20)].into_iter().collect());
}

// Signals and `pthread_kill` are Unix only.
#[cfg(unix)]
extern "C" fn noop_handler(_: libc::c_int) {}

#[cfg(unix)]
/// A `pthread_t`, wrapped to move it to the signalling thread (it is a
/// pointer on musl, Apple and the BSDs, so not `Send` by itself).
struct ThreadId(libc::pthread_t);

#[cfg(unix)]
// SAFETY: a `pthread_t` is an opaque thread handle, valid from any thread
// of the process; it is only passed to `pthread_kill`.
unsafe impl Send for ThreadId {}

#[cfg(unix)]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot install signal handlers")]
fn signal_interrupts_poll_with_interrupted_error() {
    // SAFETY: a zeroed `sigaction` is a valid "no flags, empty mask"
    // value; we set the handler to a function that does nothing, which is
    // async-signal-safe. No SA_RESTART, though epoll_wait is never
    // restarted anyway.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = noop_handler as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    // SAFETY: `pthread_self` has no preconditions.
    let me = ThreadId(unsafe { libc::pthread_self() });
    let done = Arc::new(AtomicBool::new(false));
    let done2 = Arc::clone(&done);
    let signaller = thread::spawn(move || {
        let me = me;
        let end = Instant::now() + DEADLINE;
        // A signal that lands before the poller blocks is simply handled
        // and lost, so keep signalling until the poller reports back.
        while !done2.load(Ordering::Acquire) && Instant::now() < end {
            // SAFETY: the target thread is the test thread, which joins
            // this thread before returning, so it is alive; SIGUSR1 has a
            // no-op handler installed.
            let rc = unsafe { libc::pthread_kill(me.0, libc::SIGUSR1) };
            assert_eq!(rc, 0);
            thread::sleep(Duration::from_millis(10));
        }
    });

    // Nothing is registered: only a signal can end this call early.
    let res = poll.poll(&mut events, Some(DEADLINE));
    done.store(true, Ordering::Release);
    signaller.join().unwrap();

    let err = res.expect_err("poll was not interrupted by the signal");
    assert_eq!(err.kind(), io::ErrorKind::Interrupted);
    assert!(events.is_empty());

    // The poll is still usable.
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    let (_a, _b) = writable_pair(&poll, Token(2));
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(2))]);
}

#[test]
fn debug_prints_poll() {
    let poll = Poll::new().unwrap();
    assert_eq!(format!("{poll:?}"), "Poll");
    assert_eq!(format!("{poll:#?}"), "Poll");
}

// Checks the fd is an epoll instance through `/proc`: epoll only (the
// poll(2) selector exposes no fd at all).
#[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
#[test]
#[cfg_attr(
    miri,
    ignore = "Miri's fds are virtual: /proc/self/fd lists the host process's"
)]
fn raw_fd_is_a_cloexec_epoll_instance() {
    let poll = Poll::new().unwrap();
    let fd = poll.as_raw_fd();
    assert!(fd >= 0);
    util::assert_cloexec(&poll);
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    assert_eq!(link.to_str().unwrap(), "anon_inode:[eventpoll]");
    // Same fd as the registry's.
    assert_eq!(poll.registry().as_raw_fd(), fd);
}

#[test]
fn separate_polls_are_independent() {
    let mut poll1 = Poll::new().unwrap();
    let mut poll2 = Poll::new().unwrap();
    #[cfg(all(unix, not(nbio_force_poll)))]
    assert_ne!(poll1.as_raw_fd(), poll2.as_raw_fd());
    let mut events = Events::with_capacity(8);
    let (_a, _b) = writable_pair(&poll1, Token(1));
    expect_events(&mut poll1, &mut events, &[Expect::writable(Token(1))]);
    poll2.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty());
}

#[test]
fn poll_can_move_to_another_thread() {
    let mut poll = Poll::new().unwrap();
    let (a, b) = writable_pair(&poll, Token(5));
    let handle = thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        expect_events(&mut poll, &mut events, &[Expect::writable(Token(5))]);
        poll
    });
    let poll = handle.join().unwrap();
    drop((a, b, poll));
}
