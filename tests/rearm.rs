//! Edge-triggered readiness as every backend must deliver it: after an
//! operation returns `WouldBlock` only that direction is re-armed, large
//! interest sets report only what is active, and fds closed while
//! registered neither crash nor wedge the poller. These run on epoll and,
//! with `--cfg nbio_force_poll`, on the poll(2) emulation, where the
//! re-arm logic is nbio's own.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::sync::Mutex;
use util::{expect_events, expect_no_event_for, expect_no_events, Expect};

/// Every test holds this lock: two of them reuse fd numbers on purpose, and
/// no other test in this binary may grab a number in between.
static FD_LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    FD_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls until no more events arrive within the quiet window, so the next
/// observation starts from a settled state.
fn settle(poll: &mut Poll, events: &mut Events) {
    loop {
        poll.poll(events, Some(std::time::Duration::from_millis(50)))
            .unwrap();
        if events.is_empty() {
            return;
        }
    }
}

#[test]
fn read_would_block_produces_no_writable_event() {
    let _guard = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let (mut a, mut b) = util::stream_pair();
    poll.registry()
        .register(&mut a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    // The writable edge is consumed by observing it.
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
    settle(&mut poll, &mut events);
    // A reader hitting WouldBlock must not be woken by writability it never
    // asked to re-arm (the livelock of mio#1963 on emulated backends).
    for _ in 0..3 {
        let mut buf = [0u8; 16];
        let err = a.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        expect_no_events(&mut poll, &mut events);
    }
    // Data still wakes the reader.
    b.write_all(b"data").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(1))]);
    assert_eq!(util::drain(&a).unwrap(), b"data");
}

#[test]
fn write_would_block_rearms_writable_only() {
    let _guard = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let (mut a, b) = util::stream_pair();
    poll.registry()
        .register(&mut a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
    // Fill the socket until it blocks.
    let chunk = [7u8; 4096];
    loop {
        match a.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("write failed: {e}"),
        }
    }
    settle(&mut poll, &mut events);
    // Room appears once the peer reads: a writable event, and no readable
    // one (nothing was sent to `a`).
    let drained = util::drain(&b).unwrap();
    assert!(!drained.is_empty());
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(1))]);
    for event in events.iter() {
        assert!(!event.is_readable(), "spurious readable event: {event:?}");
    }
}

#[test]
fn a_thousand_registered_sockets_one_active() {
    let _guard = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    // 500 pairs, both ends registered: 1,000 registered sockets.
    let mut sockets = Vec::new();
    for i in 0..500 {
        let (mut a, mut b) = util::stream_pair();
        poll.registry()
            .register(&mut a, Token(2 * i), Interest::READABLE)
            .unwrap();
        poll.registry()
            .register(&mut b, Token(2 * i + 1), Interest::READABLE)
            .unwrap();
        sockets.push(a);
        sockets.push(b);
    }
    expect_no_events(&mut poll, &mut events);
    for active in [0usize, 1, 499, 998, 999, 123] {
        // Writing on socket `active ^ 1` makes exactly `active` readable.
        (&sockets[active ^ 1]).write_all(b"ping").unwrap();
        expect_events(&mut poll, &mut events, &[Expect::readable(Token(active))]);
        for event in events.iter() {
            assert_eq!(event.token(), Token(active), "inactive socket reported");
        }
        assert_eq!(util::drain(&sockets[active]).unwrap(), b"ping");
        expect_no_events(&mut poll, &mut events);
    }
}

// Registers a raw fd through `SourceFd`, which exists on Unix only.
#[cfg(all(unix, feature = "os-ext"))]
#[test]
fn closing_a_registered_raw_fd_does_not_wedge_the_poller() {
    use nbio::unix::SourceFd;
    use std::os::fd::AsRawFd;
    let _guard = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let fd = a.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .unwrap();
    // Close it behind the registry's back (a documented misuse).
    drop(a);
    b.write_all(b"x").ok();
    // Polling keeps working: the closed fd produces no event and no error.
    expect_no_event_for(&mut poll, &mut events, Token(1));
    expect_no_event_for(&mut poll, &mut events, Token(1));
    // Other sources are still served.
    let (mut c, d) = util::stream_pair();
    poll.registry()
        .register(&mut c, Token(2), Interest::READABLE)
        .unwrap();
    (&d).write_all(b"y").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(2))]);
    drop((c, d));
    // The stale entry is gone: a new fd with the same number registers.
    let (e, _f) = std::os::unix::net::UnixStream::pair().unwrap();
    if e.as_raw_fd() == fd {
        poll.registry()
            .register(&mut SourceFd(&fd), Token(3), Interest::READABLE)
            .unwrap();
    }
}

#[test]
fn dropping_a_registered_source_forgets_it() {
    #[cfg(unix)]
    use std::os::fd::AsRawFd;
    let _guard = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let (mut a, b) = util::stream_pair();
    #[cfg(unix)]
    let fd = a.as_raw_fd();
    poll.registry()
        .register(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    (&b).write_all(b"pending").unwrap();
    drop(a);
    expect_no_event_for(&mut poll, &mut events, Token(1));
    drop(b);
    // A new socket that reuses the number registers and works normally.
    let (mut c, d) = util::stream_pair();
    // Unix hands out the lowest free fd number, so the reuse is certain;
    // Windows socket handles are not reused predictably, and there the
    // test checks only that a new socket registers and works.
    #[cfg(unix)]
    assert_eq!(
        c.as_raw_fd(),
        fd,
        "fd number not reused; test premise broken"
    );
    poll.registry()
        .register(&mut c, Token(2), Interest::READABLE)
        .unwrap();
    (&d).write_all(b"z").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(2))]);
}
