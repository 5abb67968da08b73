//! `Waker`: cross-thread wake-ups, coalescing, re-arming, and the
//! one-waker-per-poll rule of debug builds.
#![cfg(feature = "os-poll")]

mod util;

use nbio::{Events, Poll, Token, Waker};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use util::{expect_events, expect_no_events, Expect, DEADLINE};

/// Polls until an event for `token` arrives; returns how many such events
/// that poll held and checks each is a readable-only event.
fn wait_for_wake(poll: &mut Poll, events: &mut Events, token: Token) -> usize {
    let end = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < end, "wake event never arrived");
        poll.poll(events, Some(DEADLINE)).unwrap();
        let mut n = 0;
        for event in events.iter() {
            assert_eq!(event.token(), token, "foreign event {event:?}");
            assert!(event.is_readable(), "waker event not readable: {event:?}");
            assert!(!event.is_writable());
            assert!(!event.is_error());
            n += 1;
        }
        if n > 0 {
            return n;
        }
    }
}

#[test]
fn wake_from_another_thread() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Arc::new(Waker::new(poll.registry(), Token(10)).unwrap());
    let waker2 = Arc::clone(&waker);
    let handle = thread::spawn(move || waker2.wake().unwrap());
    assert_eq!(wait_for_wake(&mut poll, &mut events, Token(10)), 1);
    handle.join().unwrap();
}

#[test]
fn no_event_without_wake() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let _waker = Waker::new(poll.registry(), Token(1)).unwrap();
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn wakes_before_poll_coalesce() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(poll.registry(), Token(2)).unwrap();
    for _ in 0..10 {
        waker.wake().unwrap();
    }
    let first = wait_for_wake(&mut poll, &mut events, Token(2));
    assert!(first >= 1);
    // At most one event per wake in total, and nothing left afterwards
    // once the backlog is consumed.
    let mut total = first;
    loop {
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        if events.is_empty() {
            break;
        }
        total += events.iter().count();
        assert!(total <= 10);
    }
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn every_wake_after_delivery_produces_a_new_event() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(poll.registry(), Token(3)).unwrap();
    // Nothing ever drains the waker; each wake must still be a new edge.
    for _ in 0..1000 {
        waker.wake().unwrap();
        wait_for_wake(&mut poll, &mut events, Token(3));
    }
}

#[test]
fn ping_pong_wakes_across_threads() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Arc::new(Waker::new(poll.registry(), Token(4)).unwrap());
    let (tx, rx) = mpsc::channel::<()>();
    let waker2 = Arc::clone(&waker);
    let handle = thread::spawn(move || {
        // Each message means "the previous wake was observed, wake again".
        while rx.recv_timeout(DEADLINE).is_ok() {
            waker2.wake().unwrap();
        }
    });
    for _ in 0..200 {
        tx.send(()).unwrap();
        wait_for_wake(&mut poll, &mut events, Token(4));
    }
    drop(tx);
    handle.join().unwrap();
}

#[test]
fn many_threads_waking_concurrently() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Arc::new(Waker::new(poll.registry(), Token(5)).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let waker = Arc::clone(&waker);
            thread::spawn(move || {
                for _ in 0..500 {
                    waker.wake().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    wait_for_wake(&mut poll, &mut events, Token(5));
    // Still re-arms after the storm.
    waker.wake().unwrap();
    wait_for_wake(&mut poll, &mut events, Token(5));
}

#[test]
fn wake_unblocks_a_poll_in_progress() {
    let mut poll = Poll::new().unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), Token(6)).unwrap());
    let handle = thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        // One call only: it must be ended by the wake, not by the timeout.
        poll.poll(&mut events, Some(DEADLINE)).unwrap();
        events.iter().map(|e| e.token()).collect::<Vec<_>>()
    });
    waker.wake().unwrap();
    assert_eq!(handle.join().unwrap(), [Token(6)]);
}

/// A waker created through a cloned registry while the poll is blocked:
/// its first wake ends that very poll, and later wakes still produce
/// events (the poll that delivered the first one began before the waker
/// existed, so it must still record the delivery).
#[test]
fn waker_created_during_a_blocked_poll_keeps_working() {
    let mut poll = Poll::new().unwrap();
    let registry = poll.registry().try_clone().unwrap();
    let poller = util::current_tid();
    let (go_on, go_on_rx) = mpsc::channel::<()>();
    let helper = thread::spawn(move || {
        util::wait_until_blocked(poller);
        let waker = Waker::new(&registry, Token(3)).unwrap();
        waker.wake().unwrap();
        go_on_rx
            .recv_timeout(DEADLINE)
            .expect("the poller never received the first wake");
        waker.wake().unwrap();
        // Kept alive until joined: the wake is only delivered while its
        // waker exists.
        waker
    });
    let mut events = Events::with_capacity(8);
    assert_eq!(wait_for_wake(&mut poll, &mut events, Token(3)), 1);
    go_on.send(()).unwrap();
    assert_eq!(wait_for_wake(&mut poll, &mut events, Token(3)), 1);
    drop(helper.join().unwrap());
}

#[test]
fn wakers_of_different_polls_are_independent() {
    let mut poll1 = Poll::new().unwrap();
    let mut poll2 = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker1 = Waker::new(poll1.registry(), Token(1)).unwrap();
    let _waker2 = Waker::new(poll2.registry(), Token(2)).unwrap();
    waker1.wake().unwrap();
    expect_events(&mut poll1, &mut events, &[Expect::readable(Token(1))]);
    expect_no_events(&mut poll2, &mut events);
}

#[test]
fn waker_created_through_cloned_registry() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let registry = poll.registry().try_clone().unwrap();
    let waker = Waker::new(&registry, Token(usize::MAX)).unwrap();
    drop(registry);
    waker.wake().unwrap();
    wait_for_wake(&mut poll, &mut events, Token(usize::MAX));
}

#[cfg(debug_assertions)]
fn expect_second_waker_panic(registry: &nbio::Registry) {
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Waker::new(registry, Token(99))
    }));
    let payload = match res {
        Ok(_) => panic!("a second Waker on the same Poll did not panic"),
        Err(payload) => payload,
    };
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .expect("panic payload is not a string");
    assert_eq!(
        msg,
        "Only a single `Waker` can be active per `Poll` instance"
    );
}

#[cfg(debug_assertions)]
#[test]
fn second_waker_panics_in_debug() {
    let poll = Poll::new().unwrap();
    let _waker = Waker::new(poll.registry(), Token(1)).unwrap();
    expect_second_waker_panic(poll.registry());
}

#[cfg(debug_assertions)]
#[test]
fn second_waker_panics_even_after_dropping_the_first() {
    let poll = Poll::new().unwrap();
    let waker = Waker::new(poll.registry(), Token(1)).unwrap();
    drop(waker);
    expect_second_waker_panic(poll.registry());
}

#[cfg(debug_assertions)]
#[test]
fn second_waker_panics_through_cloned_registry() {
    // First on the original, then through a clone.
    let poll = Poll::new().unwrap();
    let _waker = Waker::new(poll.registry(), Token(1)).unwrap();
    let clone = poll.registry().try_clone().unwrap();
    expect_second_waker_panic(&clone);

    // First through a clone, then on the original and on another clone.
    let poll = Poll::new().unwrap();
    let clone = poll.registry().try_clone().unwrap();
    let _waker = Waker::new(&clone, Token(1)).unwrap();
    expect_second_waker_panic(poll.registry());
    expect_second_waker_panic(&poll.registry().try_clone().unwrap());
}

#[cfg(debug_assertions)]
#[test]
fn waker_rule_is_per_poll() {
    // Wakers on distinct polls never trip the check.
    let polls: Vec<Poll> = (0..10).map(|_| Poll::new().unwrap()).collect();
    let _wakers: Vec<Waker> = polls
        .iter()
        .enumerate()
        .map(|(i, p)| Waker::new(p.registry(), Token(i)).unwrap())
        .collect();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri has no fcntl(F_GETFL) for eventfds, which File's Debug calls"
)]
fn debug_is_implemented() {
    let poll = Poll::new().unwrap();
    let waker = Waker::new(poll.registry(), Token(1)).unwrap();
    let text = format!("{waker:?}");
    assert!(text.starts_with("Waker"), "{text}");
}

/// Wakes coalesce (no system call while one is pending), but a wake issued
/// after the previous wake event was delivered must always produce a new
/// event. The producer starts each round by publishing its number and waking
/// one to three times (the extra wakes must merge), then waits until the
/// consumer has seen an event after that point. A lost wake leaves the
/// consumer waiting and fails the round at its deadline.
fn no_wake_is_lost(expose_fd: bool, capacity: usize) {
    no_wake_is_lost_with(expose_fd, capacity, |round| 1 + round % 3);
}

/// `no_wake_is_lost` with `wakes_in_round(round)` wakes in each round.
fn no_wake_is_lost_with(expose_fd: bool, capacity: usize, wakes_in_round: fn(usize) -> usize) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const ROUNDS: usize = if cfg!(miri) {
        5_000
    } else if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(capacity);
    let waker = Arc::new(Waker::new(poll.registry(), Token(7)).unwrap());
    if expose_fd {
        expose(&poll);
    }
    let requested = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let producer = {
        let (waker, requested, acked, done) = (
            Arc::clone(&waker),
            Arc::clone(&requested),
            Arc::clone(&acked),
            Arc::clone(&done),
        );
        thread::spawn(move || {
            for round in 1..=ROUNDS {
                requested.store(round, Ordering::SeqCst);
                for _ in 0..wakes_in_round(round) {
                    waker.wake().unwrap();
                }
                let end = Instant::now() + DEADLINE;
                while acked.load(Ordering::SeqCst) < round {
                    assert!(Instant::now() < end, "wake of round {round} was lost");
                    thread::yield_now();
                }
            }
            done.store(true, Ordering::SeqCst);
        })
    };

    let end = Instant::now() + DEADLINE * 6;
    while !done.load(Ordering::SeqCst) && !producer.is_finished() {
        assert!(Instant::now() < end, "stress test did not finish in time");
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        if events.iter().any(|e| e.token() == Token(7)) {
            // Everything requested before this event was delivered is
            // covered by it.
            acked.store(requested.load(Ordering::SeqCst), Ordering::SeqCst);
        }
    }
    producer.join().expect("producer failed");
    assert_eq!(acked.load(Ordering::SeqCst), ROUNDS);
}

#[test]
fn no_wake_is_lost_across_many_rounds() {
    no_wake_is_lost(false, 8);
}

/// The same with an `Events` of capacity one, so a wake reported by `poll`
/// itself has no room to share.
#[test]
fn no_wake_is_lost_with_room_for_one_event() {
    no_wake_is_lost(false, 1);
}

/// The same once the selector's fd has been handed out (other waiters may
/// exist, so wakes after a delivery write again).
#[test]
fn no_wake_is_lost_with_the_fd_exposed() {
    no_wake_is_lost(true, 8);
}

/// Calm spells (one wake a round, each delivered and the poller back in
/// `poll` before the next, after which every wake writes) broken by bursts
/// of wakes while the poller is away from `poll` (after which wakes
/// coalesce again), so the waker switches between the two hundreds of
/// times; every round must still be seen. The gap before a calm wake only
/// makes calm rounds likely: the test holds whatever the timing.
#[test]
fn no_wake_is_lost_across_calm_spells_and_bursts() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    const ROUNDS: usize = if cfg!(miri) { 400 } else { 20_000 };
    const BURST_EVERY: usize = 40;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Arc::new(Waker::new(poll.registry(), Token(7)).unwrap());
    let requested = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    // The producer asks the consumer to stay out of `poll` (`hold`); the
    // consumer says it has (`held`).
    let hold = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicBool::new(false));

    let producer = {
        let (waker, requested, acked) = (
            Arc::clone(&waker),
            Arc::clone(&requested),
            Arc::clone(&acked),
        );
        let (hold, held) = (Arc::clone(&hold), Arc::clone(&held));
        thread::spawn(move || {
            let wait_for = |what: &str, done: &dyn Fn() -> bool| {
                let end = Instant::now() + DEADLINE;
                while !done() {
                    assert!(Instant::now() < end, "{what}");
                    thread::yield_now();
                }
            };
            for round in 1..=ROUNDS {
                if round % BURST_EVERY == 0 {
                    hold.store(true, SeqCst);
                    wait_for("the consumer never held", &|| held.load(SeqCst));
                    requested.store(round, SeqCst);
                    for _ in 0..100 {
                        waker.wake().unwrap();
                    }
                    hold.store(false, SeqCst);
                } else {
                    let gap = Instant::now() + Duration::from_micros(20);
                    while Instant::now() < gap {
                        std::hint::spin_loop();
                    }
                    requested.store(round, SeqCst);
                    waker.wake().unwrap();
                }
                wait_for(&format!("wake of round {round} was lost"), &|| {
                    acked.load(SeqCst) >= round
                });
            }
        })
    };

    let end = Instant::now() + DEADLINE * 6;
    while acked.load(SeqCst) < ROUNDS && !producer.is_finished() {
        assert!(Instant::now() < end, "stress test did not finish in time");
        if hold.load(SeqCst) {
            held.store(true, SeqCst);
            while hold.load(SeqCst) && !producer.is_finished() {
                thread::yield_now();
            }
            held.store(false, SeqCst);
        }
        poll.poll(&mut events, Some(Duration::from_millis(1)))
            .unwrap();
        if events.iter().any(|e| e.token() == Token(7)) {
            acked.store(requested.load(SeqCst), SeqCst);
        }
    }
    producer.join().expect("producer failed");
    assert_eq!(acked.load(SeqCst), ROUNDS);
}

/// Hands out the selector's fd where there is one.
fn expose(poll: &Poll) {
    #[cfg(all(unix, not(nbio_force_poll)))]
    {
        use std::os::fd::AsRawFd;
        let _ = poll.as_raw_fd();
    }
    #[cfg(not(all(unix, not(nbio_force_poll))))]
    let _ = poll;
}

/// Whether the `Poll`'s own fd polls readable within `timeout` (what an
/// outer event loop that nests this `Poll` would see).
#[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
fn fd_readable(poll: &Poll, timeout: Duration) -> bool {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: poll.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    assert!(n >= 0, "{}", std::io::Error::last_os_error());
    n == 1 && pfd.revents & libc::POLLIN != 0
}

/// A `Poll` nested in another event loop through its fd: every wake after
/// a delivered wake event must make the fd readable, whether the fd was
/// handed out before the first wake or only after a wake was merged.
#[test]
#[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
#[cfg_attr(miri, ignore = "Miri cannot poll(2) an epoll fd")]
fn a_nested_poll_sees_every_wake_through_its_fd() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(poll.registry(), Token(3)).unwrap();

    // Handed out late: a wake after a delivery, then the fd.
    waker.wake().unwrap();
    assert_eq!(wait_for_wake(&mut poll, &mut events, Token(3)), 1);
    waker.wake().unwrap();
    assert!(
        fd_readable(&poll, DEADLINE),
        "merged wake not visible on the fd"
    );
    assert_eq!(wait_for_wake(&mut poll, &mut events, Token(3)), 1);

    for round in 0..3 {
        assert!(
            !fd_readable(&poll, Duration::ZERO),
            "round {round}: stale readiness"
        );
        waker.wake().unwrap();
        waker.wake().unwrap();
        assert!(
            fd_readable(&poll, DEADLINE),
            "round {round}: wake not visible"
        );
        assert_eq!(wait_for_wake(&mut poll, &mut events, Token(3)), 1);
    }
}

/// The fd handed out right after a wake event was returned, before the
/// next `poll`: `poll` records a delivery only when it is next called, so
/// handing out the fd must not leave that delivered wake looking pending
/// to the wakes that follow.
#[test]
#[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
#[cfg_attr(miri, ignore = "Miri cannot poll(2) an epoll fd")]
fn an_fd_handed_out_between_a_delivery_and_the_next_poll_sees_later_wakes() {
    use std::os::fd::AsRawFd;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(poll.registry(), Token(4)).unwrap();

    waker.wake().unwrap();
    assert_eq!(wait_for_wake(&mut poll, &mut events, Token(4)), 1);
    let _ = poll.as_raw_fd();
    // Whatever handing out the fd did, a wake from now on must show.
    while fd_readable(&poll, Duration::ZERO) {
        wait_for_wake(&mut poll, &mut events, Token(4));
    }
    waker.wake().unwrap();
    assert!(
        fd_readable(&poll, DEADLINE),
        "wake after the delivery not visible on the fd"
    );
    assert_eq!(wait_for_wake(&mut poll, &mut events, Token(4)), 1);
}
