//! File-descriptor leak tests at volume: 10,000 of each nbio object
//! (`Poll`, `Waker`, `TcpListener`, connected `TcpStream` pairs,
//! `UdpSocket`, `UnixStream` and `UnixDatagram` pairs, `unix::pipe` pairs)
//! are created and dropped, most of them while still registered, and the
//! number of open sockets, pipes and anonymous inodes (epoll, eventfd: the
//! kinds of fd nbio creates, listed by [`util::io_fds`]) must come back to
//! exactly where it started.
//!
//! Objects are made in batches of [`BATCH`]; while a batch is alive the
//! count must have grown by what the batch holds, which checks the counting
//! method itself (a test that could not see an fd could not fail).
//!
//! The fd count is process-wide, so every test of this binary holds
//! [`LOCK`]: tests run on parallel threads, and an fd opened by one would
//! look like a leak (or hide one) in another. Files that the C library
//! and the test harness open on other threads are not of those kinds, so
//! they cannot move a count.
//!
//! Linux only (`/proc/self/fd`); not under Miri (no sockets there).
#![cfg(all(target_os = "linux", not(miri), feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixStream};
use nbio::{Events, Interest, Poll, Registry, Token, Waker};
use std::any::Any;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;
use util::{io_fds, DEADLINE};

/// Objects of each kind created and dropped per test (the figure).
const TOTAL: usize = 10_000;
/// Objects alive at once: far below any fd limit, large enough that a
/// per-object leak shows in every batch.
const BATCH: usize = 100;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fds of `now` that `before` did not have, and the reverse: named in
/// failure messages, so an fd that came or went is identified.
fn difference(before: &BTreeMap<i32, String>, now: &BTreeMap<i32, String>) -> String {
    let only = |a: &BTreeMap<i32, String>, b: &BTreeMap<i32, String>| {
        a.iter()
            .filter(|(fd, target)| b.get(*fd) != Some(*target))
            .take(5)
            .map(|(fd, target)| format!("{fd} -> {target}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "opened since the baseline (first 5): [{}]; gone since: [{}]",
        only(now, before),
        only(before, now)
    )
}

/// How many fds one item of a batch holds.
#[derive(Debug, Clone, Copy)]
enum Cost {
    /// Exactly this many, on every backend.
    Exactly(usize),
    /// At least this many: the exact figure depends on the backend (a
    /// `Poll` is one epoll fd, or a notifier of one or two fds on poll(2)).
    AtLeast(usize),
}

/// Creates [`TOTAL`] items, [`BATCH`] at a time with `make_batch(first
/// index, count)`, checks while each batch is alive that it holds the fds
/// `cost` says, and after dropping it that no fd is left behind.
fn churn<T>(what: &str, cost: Cost, mut make_batch: impl FnMut(usize, usize) -> Vec<T>) {
    let before = io_fds();
    let mut made = 0;
    while made < TOTAL {
        let batch = make_batch(made, BATCH);
        assert_eq!(batch.len(), BATCH);
        let during = io_fds();
        let held = during.len() as isize - before.len() as isize;
        match cost {
            Cost::Exactly(n) => assert_eq!(
                held,
                (n * BATCH) as isize,
                "{what}: a batch of {BATCH} should hold {} fds; {}",
                n * BATCH,
                difference(&before, &during)
            ),
            Cost::AtLeast(n) => assert!(
                held >= (n * BATCH) as isize,
                "{what}: a batch of {BATCH} holds only {held} fds, expected at least {}; {}",
                n * BATCH,
                difference(&before, &during)
            ),
        }
        drop(batch);
        made += BATCH;
        let after = io_fds();
        assert_eq!(
            after.len(),
            before.len(),
            "{what}: {} fds left open after creating and dropping {made}; {}",
            after.len() as isize - before.len() as isize,
            difference(&before, &after)
        );
    }
}

/// Registers `source` for `interests`, panicking with context on failure.
fn register<S: nbio::event::Source + ?Sized>(
    registry: &Registry,
    source: &mut S,
    token: Token,
    interests: Interest,
) {
    registry
        .register(source, token, interests)
        .unwrap_or_else(|e| panic!("register {token:?}: {e}"));
}

const BOTH: Interest = Interest::READABLE.add(Interest::WRITABLE);

/// The counting method: a file another thread holds open (as glibc briefly
/// holds `/proc/sys/vm/overcommit_memory` when a thread's malloc arena first
/// shrinks, which once made a batch look one fd short in CI) does not move
/// the count, while a socket or an epoll fd does.
#[test]
fn the_count_sees_io_fds_and_not_files_other_threads_open() {
    let _g = lock();
    let before = io_fds();
    let (opened, release) = std::sync::mpsc::channel();
    let (done, held) = std::sync::mpsc::channel::<()>();
    let file_holder = std::thread::spawn(move || {
        let file = std::fs::File::open("/proc/sys/vm/overcommit_memory").unwrap();
        opened.send(()).unwrap();
        // Held until the counting thread has counted.
        let _ = held.recv_timeout(DEADLINE);
        drop(file);
    });
    release.recv_timeout(DEADLINE).unwrap();
    let with_file = io_fds();
    let socket = std::net::UdpSocket::bind(util::any_local_address()).unwrap();
    let poll = Poll::new().unwrap();
    let with_socket_and_poll = io_fds();
    done.send(()).unwrap();
    file_holder.join().unwrap();
    assert_eq!(with_file, before, "{}", difference(&before, &with_file));
    assert!(
        with_socket_and_poll.len() >= before.len() + 2,
        "a socket and a Poll were not counted; {}",
        difference(&before, &with_socket_and_poll)
    );
    drop((socket, poll));
    assert_eq!(io_fds(), before);
}

#[test]
fn polls_do_not_leak_fds() {
    let _g = lock();
    // Each item: a Poll with a registered Unix stream pair and a registry
    // clone. Half of them drop the Poll (and its clone) first, with the
    // registrations still in place; the other half drop the sources first.
    churn("Poll", Cost::AtLeast(3), |first, n| {
        (first..first + n)
            .map(|i| {
                let poll = Poll::new().unwrap();
                let clone = poll.registry().try_clone().unwrap();
                let (mut a, mut b) = UnixStream::pair().unwrap();
                register(poll.registry(), &mut a, Token(0), BOTH);
                register(&clone, &mut b, Token(1), Interest::READABLE);
                let parts: Vec<Box<dyn Any>> = if i % 2 == 0 {
                    vec![Box::new(poll), Box::new(clone), Box::new((a, b))]
                } else {
                    vec![Box::new((a, b)), Box::new(clone), Box::new(poll)]
                };
                parts
            })
            .collect()
    });
}

#[test]
fn wakers_do_not_leak_fds() {
    let _g = lock();
    let mut events = Events::with_capacity(8);
    // One Waker per Poll (the API allows a single one). Every Waker wakes
    // its Poll and the wake is collected; half of the Polls also have a
    // registered socket, and the drop order alternates.
    churn("Waker", Cost::AtLeast(1), |first, n| {
        (first..first + n)
            .map(|i| {
                let mut poll = Poll::new().unwrap();
                let waker = Waker::new(poll.registry(), Token(7)).unwrap();
                waker.wake().unwrap();
                poll.poll(&mut events, Some(DEADLINE)).unwrap();
                assert!(
                    events.iter().any(|e| e.token() == Token(7)),
                    "wake {i} was not reported: {events:?}"
                );
                let mut parts: Vec<Box<dyn Any>> = Vec::new();
                if i % 2 == 0 {
                    let mut socket = UdpSocket::bind(util::any_local_address()).unwrap();
                    register(poll.registry(), &mut socket, Token(1), Interest::READABLE);
                    parts.push(Box::new(socket));
                }
                if i % 4 < 2 {
                    parts.push(Box::new(waker));
                    parts.push(Box::new(poll));
                } else {
                    parts.push(Box::new(poll));
                    parts.push(Box::new(waker));
                }
                parts
            })
            .collect()
    });
}

#[test]
fn tcp_listeners_do_not_leak_fds() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    churn("TcpListener", Cost::Exactly(1), |first, n| {
        (first..first + n)
            .map(|i| {
                let mut listener = TcpListener::bind(util::any_local_address()).unwrap();
                if i % 2 == 0 {
                    register(poll.registry(), &mut listener, Token(i), Interest::READABLE);
                }
                listener
            })
            .collect()
    });
}

#[test]
fn tcp_stream_pairs_do_not_leak_fds() {
    let _g = lock();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(256);
    const LISTENER: Token = Token(usize::MAX - 1);
    let mut listener = TcpListener::bind(util::any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    register(poll.registry(), &mut listener, LISTENER, Interest::READABLE);
    // The listener is opened before the baseline is taken and outlives it.
    churn("TcpStream pair", Cost::Exactly(2), |first, n| {
        // Non-blocking connects first (the backlog of 128 holds them all),
        // then accept them, waiting for the listener's event on WouldBlock.
        let mut clients = Vec::with_capacity(n);
        for i in first..first + n {
            let mut client = TcpStream::connect(addr).unwrap();
            register(poll.registry(), &mut client, Token(2 * i), BOTH);
            clients.push(client);
        }
        let mut accepted = Vec::with_capacity(n);
        let end = Instant::now() + DEADLINE;
        while accepted.len() < n {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let token = Token(2 * (first + accepted.len()) + 1);
                    // Every other accepted stream is left unregistered.
                    if accepted.len() % 2 == 0 {
                        register(poll.registry(), &mut stream, token, BOTH);
                    }
                    accepted.push(stream);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => loop {
                    let now = Instant::now();
                    assert!(now < end, "only {} of {n} accepted", accepted.len());
                    poll.poll(&mut events, Some(end - now)).unwrap();
                    if events.iter().any(|e| e.token() == LISTENER) {
                        break;
                    }
                },
                Err(e) => panic!("accept: {e}"),
            }
        }
        // Alternate which end of a connection goes first.
        clients
            .into_iter()
            .zip(accepted)
            .enumerate()
            .map(|(i, (c, s))| if i % 2 == 0 { (c, s) } else { (s, c) })
            .collect()
    });
    drop(listener);
}

#[test]
fn udp_sockets_do_not_leak_fds() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    churn("UdpSocket", Cost::Exactly(1), |first, n| {
        (first..first + n)
            .map(|i| {
                let mut socket = UdpSocket::bind(util::any_local_address()).unwrap();
                if i % 4 != 3 {
                    register(poll.registry(), &mut socket, Token(i), BOTH);
                }
                socket
            })
            .collect()
    });
}

#[test]
fn unix_stream_pairs_do_not_leak_fds() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    churn("UnixStream pair", Cost::Exactly(2), |first, n| {
        (first..first + n)
            .map(|i| {
                let (mut a, mut b) = UnixStream::pair().unwrap();
                register(poll.registry(), &mut a, Token(2 * i), BOTH);
                if i % 2 == 0 {
                    register(poll.registry(), &mut b, Token(2 * i + 1), BOTH);
                }
                (a, b)
            })
            .collect()
    });
}

#[test]
fn unix_datagram_pairs_do_not_leak_fds() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    churn("UnixDatagram pair", Cost::Exactly(2), |first, n| {
        (first..first + n)
            .map(|i| {
                let (mut a, mut b) = UnixDatagram::pair().unwrap();
                register(poll.registry(), &mut a, Token(2 * i), Interest::READABLE);
                register(poll.registry(), &mut b, Token(2 * i + 1), BOTH);
                (a, b)
            })
            .collect()
    });
}

#[cfg(feature = "os-ext")]
#[test]
fn pipes_do_not_leak_fds() {
    let _g = lock();
    let poll = Poll::new().unwrap();
    churn("unix::pipe pair", Cost::Exactly(2), |first, n| {
        (first..first + n)
            .map(|i| {
                let (mut sender, mut receiver) = nbio::unix::pipe::new().unwrap();
                register(
                    poll.registry(),
                    &mut sender,
                    Token(2 * i),
                    Interest::WRITABLE,
                );
                register(
                    poll.registry(),
                    &mut receiver,
                    Token(2 * i + 1),
                    Interest::READABLE,
                );
                let (sender, receiver): (Box<dyn Any>, Box<dyn Any>) =
                    (Box::new(sender), Box::new(receiver));
                if i % 2 == 0 {
                    (sender, receiver)
                } else {
                    (receiver, sender)
                }
            })
            .collect()
    });
}
