//! Steady-state operation does not allocate: poll, TCP and UDP I/O, waker
//! wake-ups and (re/de)registration, after warm-up.
//!
//! A counting global allocator counts allocations made by the current
//! thread while counting is switched on. This binary holds a single test.
#![cfg(all(feature = "os-poll", feature = "net"))]

use nbio::net::{TcpListener, TcpStream, UdpSocket};
use nbio::{Events, Interest, Poll, Token, Waker};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

struct Counting;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: thread-locals may be gone during thread teardown.
    if ENABLED.try_with(Cell::get).unwrap_or(false) {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards to the system allocator unchanged; the
// bookkeeping uses const-initialised thread-locals without destructors,
// which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts the allocations `f` performs on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    ENABLED.with(|e| e.set(true));
    f();
    ENABLED.with(|e| e.set(false));
    COUNT.with(Cell::get)
}

const LISTENER: Token = Token(0);
const CLIENT: Token = Token(1);
const SERVER: Token = Token(2);
const UDP_A: Token = Token(3);
const UDP_B: Token = Token(4);
const WAKER: Token = Token(5);
const SPARE: Token = Token(6);

struct State {
    poll: Poll,
    events: Events,
    client: TcpStream,
    server: TcpStream,
    udp_a: UdpSocket,
    udp_b: UdpSocket,
    udp_b_addr: std::net::SocketAddr,
    waker: Waker,
    spare: UdpSocket,
}

/// Polls until an event with `token` that satisfies `pred` arrives.
/// Allocation-free: no formatting unless it fails.
fn wait_for(state: &mut State, token: Token, pred: fn(&nbio::event::Event) -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match state
            .poll
            .poll(&mut state.events, Some(Duration::from_secs(1)))
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("poll: {e}"),
        }
        if state.events.iter().any(|e| e.token() == token && pred(e)) {
            return;
        }
        assert!(Instant::now() < end, "timed out waiting for an event");
    }
}

fn read_exact_nonblocking(state: &mut State, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        match state.server.read(&mut buf[got..]) {
            Ok(0) => panic!("unexpected EOF"),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_for(state, SERVER, |e| e.is_readable());
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// One round of everything the steady state does.
fn iteration(state: &mut State, i: usize) {
    let byte = (i % 251) as u8;

    // Waker.
    state.waker.wake().unwrap();
    wait_for(state, WAKER, |e| e.is_readable());

    // TCP write / read over loopback.
    let msg = [byte; 64];
    state.client.write_all(&msg).unwrap();
    let mut buf = [0u8; 64];
    read_exact_nonblocking(state, &mut buf);
    assert!(buf == msg);
    // Drained: the next read must be WouldBlock (no allocation for it).
    let err = state.server.read(&mut buf).unwrap_err();
    assert!(err.kind() == io::ErrorKind::WouldBlock);

    // UDP send / recv.
    let sent = state.udp_a.send_to(&msg[..16], state.udp_b_addr).unwrap();
    assert!(sent == 16);
    let mut dbuf = [0u8; 32];
    loop {
        match state.udp_b.recv_from(&mut dbuf) {
            Ok((n, _)) => {
                assert!(n == 16 && dbuf[0] == byte);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_for(state, UDP_B, |e| e.is_readable());
            }
            Err(e) => panic!("recv_from: {e}"),
        }
    }

    // Registration churn.
    let registry = state.poll.registry();
    registry
        .register(&mut state.spare, SPARE, Interest::READABLE)
        .unwrap();
    registry
        .reregister(&mut state.spare, SPARE, Interest::WRITABLE)
        .unwrap();
    wait_for(state, SPARE, |e| e.is_writable());
    state.poll.registry().deregister(&mut state.spare).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn steady_state_does_not_allocate() {
    let poll = Poll::new().unwrap();
    let events = Events::with_capacity(64);
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    poll.registry()
        .register(&mut client, CLIENT, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    let mut server = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < end, "accept timed out");
                std::thread::yield_now();
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)
        .unwrap();
    let mut udp_a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut udp_b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let udp_b_addr = udp_b.local_addr().unwrap();
    poll.registry()
        .register(&mut udp_a, UDP_A, Interest::WRITABLE)
        .unwrap();
    poll.registry()
        .register(&mut udp_b, UDP_B, Interest::READABLE)
        .unwrap();
    let waker = Waker::new(poll.registry(), WAKER).unwrap();
    let spare = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();

    let mut state = State {
        poll,
        events,
        client,
        server,
        udp_a,
        udp_b,
        udp_b_addr,
        waker,
        spare,
    };

    // Warm-up: lazily initialised runtime bits settle here.
    for i in 0..50 {
        iteration(&mut state, i);
    }

    // Sanity check that counting works at all.
    assert!(allocations_in(|| drop(Box::new(1u8))) >= 1);

    let count = allocations_in(|| {
        for i in 0..2000 {
            iteration(&mut state, i);
        }
    });
    assert_eq!(count, 0, "steady state allocated {count} times");
    drop(listener);
}
