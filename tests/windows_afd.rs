//! The IOCP + AFD selector: per-direction re-arming, deregistering while a
//! poll request is in flight, many sockets spread over several AFD helper
//! handles, and registration churn across those groups.
//!
//! Self-contained (no `tests/util`): every wait below is bounded by
//! `DEADLINE`, and "no event" checks poll for a fixed number of short rounds.
#![cfg(windows)]

use nbio::event::Event;
use nbio::net::{TcpStream, UdpSocket};
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Upper bound of every wait.
const DEADLINE: Duration = Duration::from_secs(30);

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    token: Token,
    readable: bool,
    writable: bool,
}

impl Seen {
    fn of(event: &Event) -> Seen {
        Seen {
            token: event.token(),
            readable: event.is_readable(),
            writable: event.is_writable(),
        }
    }
}

/// Polls until `done` says the events seen so far (all of them, in order)
/// are enough; returns them. Panics at the deadline.
fn poll_until(
    poll: &mut Poll,
    events: &mut Events,
    mut done: impl FnMut(&[Seen]) -> bool,
) -> Vec<Seen> {
    let end = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "deadline passed; saw {seen:?}");
        poll.poll(events, Some(left)).expect("poll");
        seen.extend(events.iter().map(Seen::of));
    }
    seen
}

/// Polls for a few short rounds; returns what was seen.
fn collect_for_a_while(poll: &mut Poll, events: &mut Events) -> Vec<Seen> {
    let mut seen = Vec::new();
    for _ in 0..10 {
        poll.poll(events, Some(Duration::from_millis(20)))
            .expect("poll");
        seen.extend(events.iter().map(Seen::of));
    }
    seen
}

/// A connected loopback pair: (nbio client, nbio accepted side).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = std::net::TcpListener::bind(localhost()).unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    server.set_nonblocking(true).unwrap();
    (TcpStream::from_std(client), TcpStream::from_std(server))
}

/// A blocking std socket that sends datagrams to the sockets under test.
fn sender() -> std::net::UdpSocket {
    std::net::UdpSocket::bind(localhost()).unwrap()
}

#[test]
fn read_would_block_rearms_only_the_read_direction() {
    const STREAM: Token = Token(10);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let (mut stream, mut peer) = tcp_pair();
    poll.registry()
        .register(&mut stream, STREAM, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    // A connected stream is writable at once.
    poll_until(&mut poll, &mut events, |seen| {
        seen.iter().any(|s| s.token == STREAM && s.writable)
    });

    // A read that blocks re-arms the readable direction only: the socket
    // stays writable, but that edge was reported already.
    let mut buf = [0u8; 64];
    assert_eq!(
        stream.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(
        seen.iter().all(|s| s.token != STREAM),
        "an event without new readiness: {seen:?}"
    );

    peer.write_all(b"data").unwrap();
    let seen = poll_until(&mut poll, &mut events, |seen| {
        seen.iter().any(|s| s.token == STREAM && s.readable)
    });
    for s in seen.iter().filter(|s| s.token == STREAM) {
        assert!(
            !s.writable,
            "writable reported after a read-only re-arm: {s:?}"
        );
    }
    assert_eq!(stream.read(&mut buf).unwrap(), 4);

    // A write that never blocked does not re-arm writability either; a
    // reregister re-arms everything.
    poll.registry()
        .reregister(&mut stream, STREAM, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    poll_until(&mut poll, &mut events, |seen| {
        seen.iter().any(|s| s.token == STREAM && s.writable)
    });
}

#[test]
fn deregister_with_a_poll_in_flight_then_drop() {
    const GONE: Token = Token(20);
    const STAYS: Token = Token(21);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let (mut stream, mut peer) = tcp_pair();
    let (mut other, mut other_peer) = tcp_pair();
    poll.registry()
        .register(&mut stream, GONE, Interest::READABLE)
        .unwrap();
    poll.registry()
        .register(&mut other, STAYS, Interest::READABLE)
        .unwrap();
    // Submit the AFD requests (they are issued when `poll` runs); nothing is
    // readable yet, so they stay in flight.
    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(seen.is_empty(), "{seen:?}");

    poll.registry().deregister(&mut stream).unwrap();
    drop(stream);
    // The peer's data and close would have completed the cancelled request.
    peer.write_all(b"too late").unwrap();
    drop(peer);

    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(
        seen.iter().all(|s| s.token != GONE),
        "stale event after deregister + drop: {seen:?}"
    );
    // The selector keeps working for the remaining socket.
    other_peer.write_all(b"x").unwrap();
    poll_until(&mut poll, &mut events, |seen| {
        seen.iter().any(|s| s.token == STAYS && s.readable)
    });
    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(seen.iter().all(|s| s.token != GONE), "{seen:?}");
}

#[test]
fn drop_without_deregister_with_a_poll_in_flight() {
    const GONE: Token = Token(30);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    for _ in 0..3 {
        let (mut stream, mut peer) = tcp_pair();
        poll.registry()
            .register(&mut stream, GONE, Interest::READABLE | Interest::WRITABLE)
            .unwrap();
        // Collect the writable edge so the request in flight is read-only.
        poll_until(&mut poll, &mut events, |seen| {
            seen.iter().any(|s| s.token == GONE && s.writable)
        });
        drop(stream);
        let _ = peer.write_all(b"late");
        drop(peer);
        let seen = collect_for_a_while(&mut poll, &mut events);
        assert!(seen.iter().all(|s| s.token != GONE), "{seen:?}");
    }
}

#[test]
fn a_thousand_sockets_across_groups_one_active() {
    const COUNT: usize = 1000;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(COUNT + 16);
    let mut sockets: Vec<UdpSocket> = (0..COUNT)
        .map(|_| UdpSocket::bind(localhost()).unwrap())
        .collect();
    for (i, socket) in sockets.iter_mut().enumerate() {
        poll.registry()
            .register(socket, Token(i), Interest::READABLE)
            .unwrap();
    }
    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(seen.is_empty(), "idle sockets reported: {seen:?}");

    let sender = sender();
    let mut buf = [0u8; 16];
    // The first, a middle one, one past a group boundary, and the last.
    for active in [0, 31, 32, 33, 517, COUNT - 1] {
        let target = sockets[active].local_addr().unwrap();
        sender.send_to(&[active as u8], target).unwrap();
        let seen = poll_until(&mut poll, &mut events, |seen| {
            seen.iter().any(|s| s.token == Token(active))
        });
        for s in &seen {
            assert_eq!(s.token, Token(active), "wrong socket reported: {seen:?}");
            assert!(s.readable && !s.writable, "{s:?}");
        }
        let (n, from) = sockets[active].recv_from(&mut buf).unwrap();
        assert_eq!(
            (n, buf[0], from),
            (1, active as u8, sender.local_addr().unwrap())
        );
        assert_eq!(
            sockets[active].recv_from(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }
    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn five_hundred_tcp_pairs_one_active() {
    const PAIRS: usize = 500;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let listener = std::net::TcpListener::bind(localhost()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut pairs = Vec::with_capacity(PAIRS);
    for i in 0..PAIRS {
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_nonblocking(true).unwrap();
        server.set_nonblocking(true).unwrap();
        let mut client = TcpStream::from_std(client);
        let mut server = TcpStream::from_std(server);
        poll.registry()
            .register(&mut client, Token(2 * i), Interest::READABLE)
            .unwrap();
        poll.registry()
            .register(&mut server, Token(2 * i + 1), Interest::READABLE)
            .unwrap();
        pairs.push((client, server));
    }
    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(seen.is_empty(), "idle streams reported: {seen:?}");

    let active = 377;
    pairs[active].1.write_all(b"hello").unwrap();
    let token = Token(2 * active);
    let seen = poll_until(&mut poll, &mut events, |seen| {
        seen.iter().any(|s| s.token == token)
    });
    assert!(
        seen.iter().all(|s| s.token == token && s.readable),
        "{seen:?}"
    );
    let mut buf = [0u8; 16];
    assert_eq!(pairs[active].0.read(&mut buf).unwrap(), 5);
    let seen = collect_for_a_while(&mut poll, &mut events);
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn register_reregister_deregister_churn_across_groups() {
    const COUNT: usize = 150;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(256);
    let sender = sender();
    let mut sockets: Vec<Option<UdpSocket>> = (0..COUNT)
        .map(|_| Some(UdpSocket::bind(localhost()).unwrap()))
        .collect();
    let mut registered = [false; COUNT];

    for round in 0..4usize {
        // Register everything that is not; then reregister every third
        // socket under a new token, deregister every fifth, drop every
        // seventh (and replace it) — a different mix each round.
        for (i, slot) in sockets.iter_mut().enumerate() {
            let socket = slot.get_or_insert_with(|| UdpSocket::bind(localhost()).unwrap());
            if !registered[i] {
                poll.registry()
                    .register(socket, Token(i), Interest::READABLE)
                    .unwrap();
                registered[i] = true;
            }
        }
        for i in (round..COUNT).step_by(3) {
            let socket = sockets[i].as_mut().unwrap();
            poll.registry()
                .reregister(socket, Token(i + 1000), Interest::READABLE)
                .unwrap();
            poll.registry()
                .reregister(socket, Token(i), Interest::READABLE | Interest::WRITABLE)
                .unwrap();
            poll.registry()
                .reregister(socket, Token(i), Interest::READABLE)
                .unwrap();
        }
        for i in (round..COUNT).step_by(5) {
            poll.registry()
                .deregister(sockets[i].as_mut().unwrap())
                .unwrap();
            registered[i] = false;
        }
        for i in (round..COUNT).step_by(7) {
            if registered[i] {
                sockets[i] = None; // dropped while registered
                registered[i] = false;
            }
        }
        // Writable edges of the brief READABLE|WRITABLE interest may or may
        // not be reported; nothing else may be.
        let seen = collect_for_a_while(&mut poll, &mut events);
        for s in &seen {
            assert!(s.token.0 < COUNT && s.writable && !s.readable, "{s:?}");
        }

        // Every socket receives a datagram: exactly the registered ones are
        // reported, each under its own token.
        for socket in sockets.iter().flatten() {
            sender.send_to(b"x", socket.local_addr().unwrap()).unwrap();
        }
        let want = registered.iter().filter(|r| **r).count();
        let mut readable = [false; COUNT];
        let seen = poll_until(&mut poll, &mut events, |seen| {
            for s in seen {
                if s.readable && s.token.0 < COUNT {
                    readable[s.token.0] = true;
                }
            }
            readable.iter().filter(|r| **r).count() >= want
        });
        for s in &seen {
            assert!(s.token.0 < COUNT, "stale token: {s:?}");
            if s.readable {
                assert!(registered[s.token.0], "unregistered socket reported: {s:?}");
            }
        }
        let extra = collect_for_a_while(&mut poll, &mut events);
        assert!(
            extra
                .iter()
                .all(|s| !s.readable || (s.token.0 < COUNT && registered[s.token.0])),
            "{extra:?}"
        );
        // Drain so the next round starts from idle sockets.
        let mut buf = [0u8; 4];
        for socket in sockets.iter().flatten() {
            while socket.recv_from(&mut buf).is_ok() {}
        }
    }
}
