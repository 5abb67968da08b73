//! `nbio::windows::NamedPipe`: connecting, overlapped reads and writes
//! surfaced as readiness, disconnecting, interest filtering, registration
//! errors, and no event ever delivered after `deregister` (RUSTSEC-2024-0019).
//!
//! Self-contained (no `tests/util`): every wait below is bounded by
//! `DEADLINE`, and "no event" checks poll for a fixed number of short rounds.
#![cfg(all(windows, feature = "os-ext"))]

use nbio::event::Event;
use nbio::windows::NamedPipe;
use nbio::{Events, Interest, Poll, Token};
use std::fs::OpenOptions;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, IntoRawHandle};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Upper bound of every wait.
const DEADLINE: Duration = Duration::from_secs(20);
/// `FILE_FLAG_OVERLAPPED`.
const FILE_FLAG_OVERLAPPED: u32 = 0x4000_0000;
/// `ERROR_NO_DATA`: writing to a pipe whose other end is closed.
const ERROR_NO_DATA: i32 = 232;

const SERVER: Token = Token(1);
const CLIENT: Token = Token(2);

/// A pipe name no other test (or test run) uses.
fn pipe_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        r"\\.\pipe\nbio-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Opens an overlapped client end of `name`.
fn client(name: &str) -> NamedPipe {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(FILE_FLAG_OVERLAPPED)
        .open(name)
        .expect("opening the client end");
    // SAFETY: `into_raw_handle` hands over ownership of an open, overlapped
    // pipe handle that is not associated with any completion port.
    unsafe { NamedPipe::from_raw_handle(file.into_raw_handle()) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    token: Token,
    readable: bool,
    writable: bool,
    read_closed: bool,
    error: bool,
}

impl Seen {
    fn of(event: &Event) -> Seen {
        Seen {
            token: event.token(),
            readable: event.is_readable(),
            writable: event.is_writable(),
            read_closed: event.is_read_closed(),
            error: event.is_error(),
        }
    }
}

/// A `Poll` with its `Events` and the events seen but not yet consumed
/// by a wait, so one wait never swallows what another looks for.
struct Loop {
    poll: Poll,
    events: Events,
    backlog: Vec<Seen>,
}

impl Loop {
    fn new() -> Loop {
        Loop {
            poll: Poll::new().unwrap(),
            events: Events::with_capacity(16),
            backlog: Vec::new(),
        }
    }

    fn registry(&self) -> &nbio::Registry {
        self.poll.registry()
    }

    /// Polls once, appending the events to the backlog.
    fn poll_once(&mut self, timeout: Duration) {
        self.poll
            .poll(&mut self.events, Some(timeout))
            .expect("poll");
        self.backlog.extend(self.events.iter().map(Seen::of));
    }

    /// Waits until an event for `token` satisfies `want` (possibly one seen
    /// earlier), consumes it and returns it. Panics at the deadline.
    fn wait_for(&mut self, token: Token, want: impl Fn(&Seen) -> bool) -> Seen {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(i) = self
                .backlog
                .iter()
                .position(|s| s.token == token && want(s))
            {
                return self.backlog.remove(i);
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no matching event for {token:?}; saw {:?}",
                self.backlog
            );
            self.poll_once(left);
        }
    }

    /// Forgets the backlog, polls for a few short rounds and returns the
    /// events of those rounds.
    fn collect_for_a_while(&mut self) -> Vec<Seen> {
        self.backlog.clear();
        for _ in 0..10 {
            self.poll_once(Duration::from_millis(20));
        }
        mem::take(&mut self.backlog)
    }

    /// Retries `op` while it returns `WouldBlock`, polling in between.
    fn retry<T>(&mut self, mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        let end = Instant::now() + DEADLINE;
        loop {
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < end, "still WouldBlock at the deadline");
                    self.poll_once(Duration::from_millis(20));
                }
                res => return res,
            }
        }
    }

    /// Reads exactly `n` bytes, waiting for readable events of `token`.
    fn read_exact(&mut self, pipe: &NamedPipe, token: Token, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while out.len() < n {
            match (&*pipe).read(&mut buf) {
                Ok(0) => panic!("unexpected end of stream after {} bytes", out.len()),
                Ok(k) => out.extend_from_slice(&buf[..k]),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_for(token, |s| s.readable);
                }
                Err(err) => panic!("read failed: {err}"),
            }
        }
        out
    }
}

/// `true` when running under Wine, which does not enforce every pipe flag.
fn under_wine() -> bool {
    #[link(name = "kernel32")]
    extern "system" {
        fn GetModuleHandleA(name: *const u8) -> *mut std::ffi::c_void;
        fn GetProcAddress(module: *mut std::ffi::c_void, name: *const u8) -> *mut std::ffi::c_void;
    }
    // SAFETY: NUL-terminated names; ntdll is always loaded; both calls only
    // look symbols up and return null when they are missing.
    unsafe {
        let ntdll = GetModuleHandleA(b"ntdll.dll\0".as_ptr());
        !ntdll.is_null() && !GetProcAddress(ntdll, b"wine_get_version\0".as_ptr()).is_null()
    }
}

/// A registered server with a connected, registered client.
fn connected_pair(lp: &mut Loop) -> (NamedPipe, NamedPipe, String) {
    let name = pipe_name();
    let mut server = NamedPipe::new(&name).unwrap();
    lp.registry()
        .register(&mut server, SERVER, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    assert_eq!(
        server.connect().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let mut client = client(&name);
    lp.registry()
        .register(&mut client, CLIENT, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    lp.wait_for(SERVER, |s| s.writable);
    server.connect().expect("connected once the event arrived");
    (server, client, name)
}

#[test]
fn is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<NamedPipe>();
}

#[test]
fn round_trip_with_events() {
    let mut lp = Loop::new();
    let (server, client, _name) = connected_pair(&mut lp);

    // Nothing has been sent: reads would block.
    assert_eq!(
        (&server).read(&mut [0; 16]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    assert_eq!((&server).write(b"ping").unwrap(), 4);
    assert_eq!(lp.read_exact(&client, CLIENT, 4), b"ping");
    assert_eq!(
        (&client).read(&mut [0; 16]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    let mut client_w = &client;
    assert_eq!(client_w.write(b"pong!").unwrap(), 5);
    client_w.flush().unwrap();
    assert_eq!(lp.read_exact(&server, SERVER, 5), b"pong!");
    // The completed write is reported as writable.
    lp.wait_for(CLIENT, |s| s.writable);
    assert!(server.take_error().unwrap().is_none());
    assert!(format!("{server:?}").contains("NamedPipe"));
    assert!(!server.as_raw_handle().is_null());
}

#[test]
fn client_registration_reports_writable() {
    let mut lp = Loop::new();
    let name = pipe_name();
    let mut server = NamedPipe::new(&name).unwrap();
    lp.registry()
        .register(&mut server, SERVER, Interest::READABLE)
        .unwrap();
    let mut client = client(&name);
    lp.registry()
        .register(&mut client, CLIENT, Interest::WRITABLE)
        .unwrap();
    let last = lp.wait_for(CLIENT, |s| s.writable);
    assert!(
        !last.readable,
        "readable reported without interest: {last:?}"
    );
    // The client connected before `connect`: it succeeds at once.
    server.connect().unwrap();
}

#[test]
fn connect_would_block_then_writable() {
    let mut lp = Loop::new();
    let name = pipe_name();
    let mut server = NamedPipe::new(&name).unwrap();
    lp.registry()
        .register(&mut server, SERVER, Interest::WRITABLE)
        .unwrap();
    assert_eq!(
        server.connect().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    // Still waiting for a client: the same answer, and no event.
    assert_eq!(
        server.connect().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let seen = lp.collect_for_a_while();
    assert!(seen.is_empty(), "events before a client came: {seen:?}");

    let _client = client(&name);
    let seen = lp.wait_for(SERVER, |s| s.writable);
    assert!(!seen.error);
    server.connect().unwrap();
    assert!(server.take_error().unwrap().is_none());
}

#[test]
fn disconnect_then_reconnect_a_new_client() {
    let mut lp = Loop::new();
    let (mut server, mut first, name) = connected_pair(&mut lp);

    (&first).write_all(b"one").unwrap();
    assert_eq!(lp.read_exact(&server, SERVER, 3), b"one");

    server.disconnect().unwrap();
    // The first client sees the end of the stream.
    lp.wait_for(CLIENT, |s| s.read_closed);
    assert_eq!((&first).read(&mut [0; 8]).unwrap(), 0);
    lp.registry().deregister(&mut first).unwrap();
    drop(first);

    // Accept the next client on the same server end.
    assert_eq!(
        server.connect().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let mut second = client(&name);
    lp.registry()
        .register(&mut second, CLIENT, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    lp.wait_for(SERVER, |s| s.writable);
    server.connect().unwrap();

    lp.retry(|| (&server).write(b"two")).unwrap();
    assert_eq!(lp.read_exact(&second, CLIENT, 3), b"two");
    (&second).write_all(b"three").unwrap();
    assert_eq!(lp.read_exact(&server, SERVER, 5), b"three");
    lp.registry().deregister(&mut server).unwrap();
}

#[test]
fn peer_close_reads_zero_and_read_closed() {
    let mut lp = Loop::new();
    let (server, client, _name) = connected_pair(&mut lp);

    (&client).write_all(b"last words").unwrap();
    // Wait for the write to be taken by the pipe before closing.
    lp.wait_for(CLIENT, |s| s.writable);
    drop(client);

    assert_eq!(lp.read_exact(&server, SERVER, 10), b"last words");
    let mut buf = [0; 16];
    let n = lp.retry(|| (&server).read(&mut buf)).unwrap();
    assert_eq!(n, 0, "end of stream after the client closed");
    assert_eq!((&server).read(&mut buf).unwrap(), 0, "and it stays there");

    // Writing to the closed pipe fails (now or on the next write).
    let err = match (&server).write(b"anyone?") {
        Err(err) => err,
        Ok(_) => {
            lp.wait_for(SERVER, |s| s.writable);
            (&server).write(b"anyone?").unwrap_err()
        }
    };
    assert_eq!(err.raw_os_error(), Some(ERROR_NO_DATA), "{err:?}");
}

#[test]
fn read_closed_event_on_peer_close() {
    let mut lp = Loop::new();
    let (server, client, _name) = connected_pair(&mut lp);
    drop(client);
    let seen = lp.wait_for(SERVER, |s| s.read_closed);
    assert!(seen.readable);
    assert_eq!((&server).read(&mut [0; 4]).unwrap(), 0);
}

#[test]
fn no_event_after_deregister_even_for_later_completions() {
    let mut lp = Loop::new();
    let (server, mut client, _name) = connected_pair(&mut lp);

    // A background read is in flight on the client (nothing to read yet).
    assert_eq!(
        (&client).read(&mut [0; 16]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    lp.registry().deregister(&mut client).unwrap();

    // Its completion arrives after the deregistration.
    (&server).write_all(b"late").unwrap();
    let end = Instant::now() + DEADLINE;
    let mut buf = [0; 16];
    let n = loop {
        lp.backlog.clear();
        lp.poll_once(Duration::from_millis(20));
        let seen = &lp.backlog;
        assert!(
            seen.iter().all(|s| s.token != CLIENT),
            "event after deregister: {seen:?}"
        );
        // Only the selector can have turned the completion into buffered
        // data: once this succeeds, the packet was handled.
        match (&client).read(&mut buf) {
            Ok(n) => break n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < end, "the read never completed");
            }
            Err(err) => panic!("{err}"),
        }
    };
    assert_eq!(&buf[..n], b"late", "the pipe stays usable for I/O");

    // A write issued while deregistered completes without an event.
    (&client).write_all(b"quiet").unwrap();
    assert_eq!(lp.read_exact(&server, SERVER, 5), b"quiet");
    // The next read of the client is in flight again; data completes it.
    assert_eq!(
        (&client).read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    (&server).write_all(b"more").unwrap();
    let seen = lp.collect_for_a_while();
    assert!(
        seen.iter().all(|s| s.token != CLIENT),
        "event after deregister: {seen:?}"
    );

    // Registering again reports the data already buffered.
    lp.registry()
        .register(&mut client, CLIENT, Interest::READABLE)
        .unwrap();
    assert_eq!(lp.read_exact(&client, CLIENT, 4), b"more");
}

#[test]
fn dropping_with_operations_in_flight_reports_nothing() {
    let mut lp = Loop::new();
    let (server, client, _name) = connected_pair(&mut lp);
    // Client: a read in flight and a write just issued; server: the same.
    assert_eq!(
        (&client).read(&mut [0; 16]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    (&client).write_all(b"bye").unwrap();
    assert_eq!(
        (&server).write(b"unread").unwrap(),
        6,
        "a write in flight or done when the pipe is dropped"
    );
    drop(client);
    drop(server);
    let seen = lp.collect_for_a_while();
    assert!(seen.is_empty(), "events for dropped pipes: {seen:?}");

    // The `Poll` still works for new pipes.
    let (server, client, _name) = connected_pair(&mut lp);
    (&server).write_all(b"ok").unwrap();
    assert_eq!(lp.read_exact(&client, CLIENT, 2), b"ok");
}

#[test]
fn dropping_an_unconnected_server_with_a_pending_connect() {
    let mut lp = Loop::new();
    let name = pipe_name();
    let mut server = NamedPipe::new(&name).unwrap();
    lp.registry()
        .register(&mut server, SERVER, Interest::WRITABLE)
        .unwrap();
    assert!(server.connect().is_err());
    drop(server);
    let seen = lp.collect_for_a_while();
    assert!(seen.is_empty(), "{seen:?}");
    // The name is free again once the cancelled connect has been collected.
    let _again = NamedPipe::new(&name).unwrap();
}

#[test]
fn dropping_the_poll_first() {
    let mut lp = Loop::new();
    let (server, client, _name) = connected_pair(&mut lp);
    (&server).write_all(b"x").unwrap();
    drop(lp);
    // Without a port nothing new can be issued; existing data still reads.
    let _ = (&client).read(&mut [0; 4]);
    // The first write is still in flight (WouldBlock) or was collected by
    // the dropping `Poll`, after which nothing can be issued (NotFound).
    let err = (&server).write(b"y").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::NotFound
        ),
        "{err:?}"
    );
    drop(client);
    drop(server);
}

#[test]
fn interest_is_honoured() {
    let mut lp = Loop::new();
    let name = pipe_name();
    let mut server = NamedPipe::new(&name).unwrap();
    lp.registry()
        .register(&mut server, SERVER, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    let _ = server.connect();
    let mut client = client(&name);
    lp.registry()
        .register(&mut client, CLIENT, Interest::READABLE)
        .unwrap();
    lp.wait_for(SERVER, |s| s.writable);

    // Writes of a read-only registration complete silently.
    (&client).write_all(b"abc").unwrap();
    assert_eq!(lp.read_exact(&server, SERVER, 3), b"abc");
    (&server).write_all(b"def").unwrap();
    let seen = lp.read_exact(&client, CLIENT, 3);
    assert_eq!(seen, b"def");
    let seen = lp.collect_for_a_while();
    assert!(
        seen.iter().all(|s| s.token != CLIENT || !s.writable),
        "writable without interest: {seen:?}"
    );

    // Switching to writable only: registration reports present writability,
    // data arriving is not reported.
    lp.registry()
        .reregister(&mut client, CLIENT, Interest::WRITABLE)
        .unwrap();
    lp.wait_for(CLIENT, |s| s.writable);
    assert_eq!(
        (&client).read(&mut [0; 8]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    (&server).write_all(b"ghi").unwrap();
    let seen = lp.collect_for_a_while();
    assert!(
        seen.iter().all(|s| s.token != CLIENT || !s.readable),
        "readable without interest: {seen:?}"
    );
    // Back to readable: the buffered data is reported.
    lp.registry()
        .reregister(&mut client, Token(7), Interest::READABLE)
        .unwrap();
    assert_eq!(lp.read_exact(&client, Token(7), 3), b"ghi");
}

#[test]
fn second_write_would_block_until_the_first_completes() {
    let mut lp = Loop::new();
    let (server, client, _name) = connected_pair(&mut lp);

    // More than the pipe's buffers hold: the write stays in flight until
    // the client reads.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!((&server).write(&big).unwrap(), big.len());
    assert_eq!(
        (&server).write(b"more").unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let got = lp.read_exact(&client, CLIENT, big.len());
    assert!(got == big, "data corrupted");
    lp.wait_for(SERVER, |s| s.writable);
    assert_eq!((&server).write(b"more").unwrap(), 4);
    assert_eq!(lp.read_exact(&client, CLIENT, 4), b"more");
}

#[test]
fn vectored_io() {
    let mut lp = Loop::new();
    let (mut server, mut client, _name) = connected_pair(&mut lp);

    let n = server
        .write_vectored(&[
            IoSlice::new(b"abc"),
            IoSlice::new(b""),
            IoSlice::new(b"defg"),
        ])
        .unwrap();
    assert_eq!(n, 7);
    let (mut a, mut b) = ([0u8; 2], [0u8; 16]);
    let end = Instant::now() + DEADLINE;
    let mut got = Vec::new();
    while got.len() < 7 {
        let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
        match client.read_vectored(&mut bufs) {
            Ok(k) => {
                let mut joined = a.to_vec();
                joined.extend_from_slice(&b);
                got.extend_from_slice(&joined[..k]);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < end);
                lp.wait_for(CLIENT, |s| s.readable);
            }
            Err(err) => panic!("{err}"),
        }
    }
    assert_eq!(got, b"abcdefg");
    // Empty writes and reads move nothing.
    assert_eq!(client.write(b"").unwrap(), 0);
}

#[test]
fn registration_errors() {
    let lp = Loop::new();
    let other = Poll::new().unwrap();
    let name = pipe_name();
    let mut server = NamedPipe::new(&name).unwrap();

    // Nothing works before the first registration.
    let kind = |res: io::Result<()>| res.unwrap_err().kind();
    assert_eq!(
        kind(
            lp.registry()
                .reregister(&mut server, SERVER, Interest::READABLE)
        ),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(lp.registry().deregister(&mut server)),
        io::ErrorKind::NotFound
    );
    assert_eq!(kind(server.connect()), io::ErrorKind::NotFound);
    assert_eq!(
        (&server).read(&mut [0; 4]).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        (&server).write(b"x").unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    // Creating the same name twice fails (first instance only); Wine does
    // not implement that flag.
    if !under_wine() {
        assert!(NamedPipe::new(&name).is_err());
    }

    lp.registry()
        .register(&mut server, SERVER, Interest::READABLE)
        .unwrap();
    assert_eq!(
        kind(
            lp.registry()
                .register(&mut server, SERVER, Interest::READABLE)
        ),
        io::ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(
            other
                .registry()
                .register(&mut server, SERVER, Interest::READABLE)
        ),
        io::ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(
            other
                .registry()
                .reregister(&mut server, SERVER, Interest::READABLE)
        ),
        io::ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(other.registry().deregister(&mut server)),
        io::ErrorKind::AlreadyExists
    );
    lp.registry()
        .reregister(&mut server, CLIENT, Interest::WRITABLE)
        .unwrap();
    lp.registry().deregister(&mut server).unwrap();
    assert_eq!(
        kind(lp.registry().deregister(&mut server)),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            lp.registry()
                .reregister(&mut server, SERVER, Interest::READABLE)
        ),
        io::ErrorKind::NotFound
    );
    // Bound to the first `Poll` for good, even when deregistered.
    assert_eq!(
        kind(
            other
                .registry()
                .register(&mut server, SERVER, Interest::READABLE)
        ),
        io::ErrorKind::AlreadyExists
    );
    // I/O still works after deregistration (the pipe stays bound).
    assert_eq!(kind(server.connect()), io::ErrorKind::WouldBlock);
    lp.registry()
        .register(&mut server, SERVER, Interest::READABLE)
        .unwrap();
}
