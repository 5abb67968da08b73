// Differential scenarios, written once against the mio API.
//
// This file is `include!`d twice by `tests/differential.rs`: once in a
// module where `lib` is mio and once where `lib` is nbio. Every `pub fn`
// here is a scenario returning its observation log; the two logs of a
// scenario must be equal. Helpers that do not depend on the library
// (paths, raw syscalls, result formatting) live in the parent module.
//
// Rules for observations: record only what is deterministic on a given
// kernel — flags of the event that satisfied the awaited condition, byte
// counts, data, `io::ErrorKind`s, Debug strings with a defined format,
// and booleans comparing ephemeral values (ports, fds) in-process.

use super::{
    fd_flags, kind, ok_or_kind, raw_recv, raw_send, set_linger_zero, AsRaw, FromRaw, IntoRaw,
    Owned, DEADLINE, QUIET,
};
// Unix-only scenarios: fd flags, socket paths.
#[cfg(unix)]
use super::{fresh_path, is_cloexec, is_nonblocking};
// Abstract addresses and priority interest: Linux and Android only.
#[cfg(any(target_os = "linux", target_os = "android"))]
use super::{fresh_abstract_name, send_oob};

use lib::event::{Event, Source};
use lib::net::{TcpListener, TcpStream, UdpSocket};
// Unix-domain sockets, pipes and `SourceFd` exist on Unix only (as in mio).
#[cfg(unix)]
use lib::net::{UnixDatagram, UnixListener, UnixStream};
#[cfg(unix)]
use lib::unix::pipe;
#[cfg(unix)]
use lib::unix::SourceFd;
use lib::{Events, Interest, Poll, Registry, Token, Waker};

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
#[cfg(unix)]
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
// Abstract addresses exist on Linux and Android only.
#[cfg(target_os = "android")]
use std::os::android::net::SocketAddrExt;
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------
// Helpers (library-dependent)
// ---------------------------------------------------------------------

/// The token and set flags of an event, e.g. `Token(1) [readable writable]`.
fn flags(e: &Event) -> String {
    let mut names = Vec::new();
    if e.is_readable() {
        names.push("readable");
    }
    if e.is_writable() {
        names.push("writable");
    }
    if e.is_error() {
        names.push("error");
    }
    if e.is_read_closed() {
        names.push("read_closed");
    }
    if e.is_write_closed() {
        names.push("write_closed");
    }
    if e.is_priority() {
        names.push("priority");
    }
    if e.is_aio() {
        names.push("aio");
    }
    if e.is_lio() {
        names.push("lio");
    }
    format!("{:?} [{}]", e.token(), names.join(" "))
}

/// Formats an error together with its message (used where the message is
/// defined: mio's fixed debug-build registration messages, or raw OS
/// errors whose text is identical for both libraries by design).
fn full<T: std::fmt::Debug>(res: io::Result<T>) -> String {
    match res {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({:?}: {e})", e.kind()),
    }
}

/// `full` on the kernel selectors; only the kind under the forced poll(2)
/// backends, whose own error messages are each library's prose. (Used by
/// the Unix-only scenarios.)
#[cfg(unix)]
fn full_or_kind<T: std::fmt::Debug>(res: io::Result<T>) -> String {
    if cfg!(nbio_force_poll) {
        kind(res)
    } else {
        full(res)
    }
}

/// Formats the result of a `take_error` call.
fn taken(res: io::Result<Option<io::Error>>) -> String {
    match res {
        Ok(None) => "Ok(None)".to_string(),
        Ok(Some(e)) => format!("Ok(Some({:?}))", e.kind()),
        Err(e) => format!("Err({:?})", e.kind()),
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn loopback_v6() -> SocketAddr {
    "[::1]:0".parse().unwrap()
}

/// A `Poll` plus its `Events`, and a history of every event seen.
struct Ctx {
    poll: Poll,
    events: Events,
    seen: Vec<(Token, String)>,
}

impl Ctx {
    fn new() -> Ctx {
        Ctx {
            poll: Poll::new().unwrap(),
            events: Events::with_capacity(64),
            seen: Vec::new(),
        }
    }

    fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    fn poll_once(&mut self, timeout: Duration) {
        loop {
            match self.poll.poll(&mut self.events, Some(timeout)) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("poll failed: {e}"),
            }
        }
        for e in self.events.iter() {
            self.seen.push((e.token(), flags(e)));
        }
    }

    /// Polls until an event for `token` satisfies `pred`, returning that
    /// event's flags (or a timeout marker after [`DEADLINE`]).
    fn wait(&mut self, token: Token, pred: impl Fn(&Event) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let now = Instant::now();
            if now >= end {
                return format!("timeout waiting for {token:?}");
            }
            self.poll_once(end - now);
            if let Some(e) = self.events.iter().find(|e| e.token() == token && pred(e)) {
                return flags(e);
            }
        }
    }

    /// Polls until, for every token in `tokens`, an event satisfying
    /// `pred` was seen; returns the first such event's flags per token.
    fn wait_all(&mut self, tokens: &[Token], pred: impl Fn(&Event) -> bool) -> Vec<String> {
        let mut found: Vec<Option<String>> = vec![None; tokens.len()];
        let end = Instant::now() + DEADLINE;
        while found.iter().any(Option::is_none) {
            let now = Instant::now();
            if now >= end {
                break;
            }
            self.poll_once(end - now);
            for e in self.events.iter() {
                for (i, t) in tokens.iter().enumerate() {
                    if found[i].is_none() && e.token() == *t && pred(e) {
                        found[i] = Some(flags(e));
                    }
                }
            }
        }
        found
            .into_iter()
            .zip(tokens)
            .map(|(f, t)| f.unwrap_or_else(|| format!("timeout waiting for {t:?}")))
            .collect()
    }

    /// Polls for [`QUIET`] and describes the events seen for `token`.
    fn quiet(&mut self, token: Token) -> String {
        let end = Instant::now() + QUIET;
        let mut got = Vec::new();
        loop {
            let now = Instant::now();
            if now >= end {
                break;
            }
            self.poll_once(end - now);
            got.extend(self.events.iter().filter(|e| e.token() == token).map(flags));
        }
        if got.is_empty() {
            "no event".to_string()
        } else {
            format!("events {got:?}")
        }
    }

    /// Whether any event seen so far for `token` matched `pred`.
    fn seen_any(&self, token: Token, pred: &str) -> bool {
        self.seen
            .iter()
            .any(|(t, f)| *t == token && f.split(['[', ']', ' ']).any(|w| w == pred))
    }
}

/// The stream type of [`stream_pair`]: Unix-domain on Unix, TCP on Windows.
#[cfg(unix)]
type PairStream = UnixStream;
/// The stream type of [`stream_pair`]: Unix-domain on Unix, TCP on Windows.
#[cfg(windows)]
type PairStream = TcpStream;

/// Two connected streams, for scenarios that need any connected pair:
/// `UnixStream::pair()` on Unix, a loopback TCP connection on Windows
/// (which has no `socketpair`).
fn stream_pair() -> (PairStream, PairStream) {
    #[cfg(unix)]
    {
        UnixStream::pair().unwrap()
    }
    #[cfg(windows)]
    {
        let (a, b) = super::std_tcp_pair();
        (TcpStream::from_std(a), TcpStream::from_std(b))
    }
}

/// The datagram type of [`datagram_pair`]: Unix-domain on Unix, UDP on
/// Windows.
#[cfg(unix)]
type PairDatagram = UnixDatagram;
/// The datagram type of [`datagram_pair`]: Unix-domain on Unix, UDP on
/// Windows.
#[cfg(windows)]
type PairDatagram = UdpSocket;

/// Two connected datagram sockets: `UnixDatagram::pair()` on Unix, two
/// loopback UDP sockets connected to each other on Windows.
fn datagram_pair() -> (PairDatagram, PairDatagram) {
    #[cfg(unix)]
    {
        UnixDatagram::pair().unwrap()
    }
    #[cfg(windows)]
    {
        let a = UdpSocket::bind(loopback()).unwrap();
        let b = UdpSocket::bind(loopback()).unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        (a, b)
    }
}

/// The event that announces a peer's FIN sent after some data: read-closed
/// on Unix. Windows reports a graceful close (AFD disconnect) only once the
/// data before it has been read, so there it is the data's readable event
/// (the read then reaches EOF).
fn read_closed_or_data(e: &Event) -> bool {
    if cfg!(windows) {
        e.is_readable()
    } else {
        e.is_read_closed()
    }
}

/// A connected TCP pair `(client, accepted)` on 127.0.0.1.
fn tcp_pair() -> (TcpStream, TcpStream) {
    tcp_pair_at(loopback())
}

fn tcp_pair_at(addr: SocketAddr) -> (TcpStream, TcpStream) {
    let mut ctx = Ctx::new();
    let mut listener = TcpListener::bind(addr).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ctx.registry()
        .register(&mut listener, Token(0), Interest::READABLE)
        .unwrap();
    let end = Instant::now() + DEADLINE;
    loop {
        match listener.accept() {
            Ok((server, _)) => return (client, server),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < end, "accept timed out");
                ctx.poll_once(end - Instant::now());
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

/// Reads until `WouldBlock` (or EOF), describing what was read.
fn drain<R: Read>(mut r: R) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return format!("{:?} then EOF", String::from_utf8_lossy(&out)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return format!("{:?} then WouldBlock", String::from_utf8_lossy(&out))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return format!(
                    "{:?} then Err({:?})",
                    String::from_utf8_lossy(&out),
                    e.kind()
                )
            }
        }
    }
}

/// Reads with events until EOF, returning everything read. (Used by the
/// Unix-only scenarios.)
#[cfg(unix)]
fn read_to_eof<R: Read>(ctx: &mut Ctx, token: Token, mut r: R) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + DEADLINE;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return format!("{:?} then EOF", String::from_utf8_lossy(&out)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= end {
                    return format!("timeout after {:?}", String::from_utf8_lossy(&out));
                }
                ctx.wait(token, |_| true);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return format!("Err({:?})", e.kind()),
        }
    }
}

// ---------------------------------------------------------------------
// Poll, Events, Token, Interest
// ---------------------------------------------------------------------

pub fn poll_debug_and_zero_timeout() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    rec!(log, "poll debug: {:?}", ctx.poll);
    rec!(log, "registry debug: {:?}", ctx.registry());
    let res = ctx.poll.poll(&mut ctx.events, Some(Duration::ZERO));
    rec!(log, "zero timeout, nothing registered: {}", kind(res));
    rec!(log, "is_empty: {}", ctx.events.is_empty());

    // Readiness that already exists is returned by a zero-timeout poll.
    let (mut a, b) = stream_pair();
    ctx.registry()
        .register(&mut a, Token(3), Interest::WRITABLE)
        .unwrap();
    let res = ctx.poll.poll(&mut ctx.events, Some(Duration::ZERO));
    rec!(log, "zero timeout with ready source: {}", kind(res));
    let got: Vec<String> = ctx.events.iter().map(flags).collect();
    rec!(log, "events: {got:?}");
    let res = ctx.poll.poll(&mut ctx.events, Some(Duration::ZERO));
    rec!(
        log,
        "again (edge consumed): {} empty={}",
        kind(res),
        ctx.events.is_empty()
    );
    drop(b);
    log
}

pub fn poll_timeout_expiry_is_empty() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, _b) = stream_pair();
    ctx.registry()
        .register(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    for timeout in [
        Duration::from_nanos(1),
        Duration::from_millis(1),
        Duration::from_millis(20),
    ] {
        let res = ctx.poll.poll(&mut ctx.events, Some(timeout));
        rec!(
            log,
            "timeout {timeout:?}: {} empty={}",
            kind(res),
            ctx.events.is_empty()
        );
    }
    log
}

pub fn events_capacity_zero() -> Vec<String> {
    let mut log = Vec::new();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(0);
    rec!(log, "capacity: {}", events.capacity());
    rec!(log, "is_empty: {}", events.is_empty());
    rec!(log, "iter count: {}", events.iter().count());
    // mio surfaces the raw EINVAL from epoll_wait; nbio checks the
    // capacity itself and returns its own InvalidInput error (no raw OS
    // code, different message). Only the kind is compared.
    // (mio's poll(2) and kqueue backends return Ok for a zero capacity;
    // nbio reports the bad input on every backend, deliberately.)
    // mio 1.2.5 on Windows panics (slice index out of range in its
    // completion-port code) when polling with a zero capacity, so there
    // is nothing to compare; nbio's InvalidInput there is checked by
    // tests/poll.rs.
    if cfg!(windows) {
        return log;
    }
    let res = poll.poll(&mut events, Some(Duration::ZERO));
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
    rec!(log, "poll: {}", kind(res));
    #[cfg(any(nbio_force_poll, not(any(target_os = "linux", target_os = "android"))))]
    drop(res);
    let (mut a, mut b) = stream_pair();
    poll.registry()
        .register(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    b.write_all(b"x").unwrap();
    let res = poll.poll(&mut events, Some(Duration::from_millis(10)));
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
    rec!(log, "poll with ready source: {}", kind(res));
    #[cfg(any(nbio_force_poll, not(any(target_os = "linux", target_os = "android"))))]
    drop(res);
    log
}

pub fn events_capacity_limits_batch() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    ctx.events = Events::with_capacity(2);
    rec!(log, "capacity: {}", ctx.events.capacity());
    let mut pairs = Vec::new();
    for i in 0..3 {
        let (mut a, mut b) = stream_pair();
        ctx.registry()
            .register(&mut a, Token(i), Interest::READABLE)
            .unwrap();
        b.write_all(b"data").unwrap();
        pairs.push((a, b));
    }
    // All three are ready before polling, so the batch size is decided by
    // the capacity alone.
    let mut tokens = Vec::new();
    for round in 0..2 {
        ctx.poll_once(DEADLINE);
        let got: Vec<usize> = ctx.events.iter().map(|e| e.token().0).collect();
        // mio's poll(2) backend overfills the buffer (3 events with
        // capacity 2); nbio never exceeds the capacity.
        #[cfg(not(nbio_force_poll))]
        rec!(log, "round {round}: {} events", got.len());
        #[cfg(nbio_force_poll)]
        let _ = round;
        tokens.extend(got);
    }
    tokens.sort_unstable();
    rec!(log, "tokens over both rounds: {tokens:?}");
    rec!(log, "then: {}", ctx.quiet(Token(0)));
    log
}

pub fn events_iter_and_size_hint() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    rec!(log, "empty events debug: {:?}", ctx.events);
    rec!(log, "capacity: {}", ctx.events.capacity());
    let mut pairs = Vec::new();
    for i in 0..3 {
        let (mut a, mut b) = stream_pair();
        ctx.registry()
            .register(&mut a, Token(10 + i), Interest::READABLE)
            .unwrap();
        b.write_all(b"data").unwrap();
        pairs.push((a, b));
    }
    ctx.poll_once(DEADLINE);
    rec!(log, "is_empty: {}", ctx.events.is_empty());
    let mut iter = ctx.events.iter();
    rec!(log, "size_hint before: {:?}", iter.size_hint());
    let first = iter.next().is_some();
    rec!(log, "next: {first}");
    // mio quirk: size_hint and count ignore already-consumed items.
    rec!(log, "size_hint after one: {:?}", iter.size_hint());
    rec!(log, "clone count: {}", iter.clone().count());
    let rest: Vec<_> = iter.collect();
    rec!(log, "collected rest: {}", rest.len());
    rec!(
        log,
        "into_iter count: {}",
        (&ctx.events).into_iter().count()
    );
    let mut tokens: Vec<usize> = ctx.events.iter().map(|e| e.token().0).collect();
    tokens.sort_unstable();
    rec!(log, "tokens: {tokens:?}");
    ctx.events.clear();
    rec!(
        log,
        "after clear: empty={} debug={:?}",
        ctx.events.is_empty(),
        ctx.events
    );
    rec!(log, "capacity after clear: {}", ctx.events.capacity());
    log
}

pub fn token_max_round_trip() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = stream_pair();
    for t in [usize::MAX, 0, usize::MAX - 1, 1 << 63] {
        ctx.registry()
            .register(&mut a, Token(t), Interest::READABLE)
            .unwrap();
        b.write_all(b"x").unwrap();
        rec!(log, "{}", ctx.wait(Token(t), |e| e.is_readable()));
        rec!(log, "drained: {}", drain(&a));
        ctx.registry().deregister(&mut a).unwrap();
    }
    log
}

pub fn token_traits() -> Vec<String> {
    let mut log = Vec::new();
    let t = Token(5);
    rec!(log, "debug: {t:?} {:?} {:?}", Token(0), Token(usize::MAX));
    rec!(log, "into usize: {}", usize::from(t));
    rec!(log, "field: {}", t.0);
    rec!(log, "eq: {} {}", t == Token(5), t == Token(6));
    rec!(log, "ord: {:?} {:?}", t.cmp(&Token(6)), Token(7).cmp(&t));
    let set: std::collections::HashSet<Token> =
        [Token(1), Token(1), Token(2)].into_iter().collect();
    rec!(log, "hash set size: {}", set.len());
    let copy = t;
    rec!(log, "copy: {copy:?} {t:?}");
    log
}

pub fn interest_debug_and_ops() -> Vec<String> {
    let mut log = Vec::new();
    let r = Interest::READABLE;
    let w = Interest::WRITABLE;
    // `Interest::PRIORITY` exists on Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let p = Interest::PRIORITY;
    let combos = [
        ("R", r),
        ("W", w),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ("P", p),
        ("R|W", r | w),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ("R|P", r | p),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ("W|P", w | p),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ("R|W|P", r | w | p),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ("P.add(R)", p.add(r)),
        ("W|R", w | r),
    ];
    let singles = [
        ("R", r),
        ("W", w),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ("P", p),
    ];
    for (name, i) in combos {
        rec!(
            log,
            "{name}: {i:?} r={} w={} p={} aio={} lio={}",
            i.is_readable(),
            i.is_writable(),
            i.is_priority(),
            i.is_aio(),
            i.is_lio()
        );
        for (other_name, other) in singles {
            rec!(log, "  {name}.remove({other_name}) = {:?}", i.remove(other));
        }
    }
    let mut acc = r;
    acc |= w;
    rec!(log, "|= : {acc:?}");
    acc |= r;
    rec!(log, "|= same: {acc:?}");
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        acc |= p;
        rec!(log, "|= p: {acc:?}");
    }
    const CONST_ADD: Interest = Interest::READABLE.add(Interest::WRITABLE);
    rec!(log, "const add: {CONST_ADD:?}");
    rec!(log, "eq: {} {}", r | w == w | r, r == w);
    rec!(log, "ord: {:?} {:?}", r.cmp(&w), (r | w).cmp(&w));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rec!(
        log,
        "ord p: {:?} {:?}",
        (r | w).cmp(&p),
        p.cmp(&(r | w | p))
    );
    rec!(log, "max: {:?}", combos.map(|(_, i)| i).into_iter().max());
    log
}

// ---------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------

pub fn registry_double_register() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = stream_pair();
    let mut listener = TcpListener::bind(loopback()).unwrap();
    let mut udp = UdpSocket::bind(loopback()).unwrap();
    #[cfg(unix)]
    let (mut tx, mut rx) = pipe::new().unwrap();
    let reg = ctx.registry();
    rec!(
        log,
        "unix: {}",
        full(reg.register(&mut a, Token(1), Interest::READABLE))
    );
    rec!(
        log,
        "unix again: {}",
        full(reg.register(&mut a, Token(2), Interest::READABLE))
    );
    rec!(
        log,
        "tcp: {}",
        full(reg.register(&mut listener, Token(3), Interest::READABLE))
    );
    rec!(
        log,
        "tcp again: {}",
        full(reg.register(&mut listener, Token(3), Interest::READABLE))
    );
    rec!(
        log,
        "udp: {}",
        full(reg.register(&mut udp, Token(4), Interest::WRITABLE))
    );
    rec!(
        log,
        "udp again: {}",
        full(reg.register(&mut udp, Token(4), Interest::WRITABLE))
    );
    // Pipes: Unix only.
    #[cfg(unix)]
    {
        rec!(
            log,
            "rx: {}",
            full(reg.register(&mut rx, Token(5), Interest::READABLE))
        );
        rec!(
            log,
            "rx again: {}",
            full(reg.register(&mut rx, Token(5), Interest::READABLE))
        );
        rec!(
            log,
            "tx: {}",
            full(reg.register(&mut tx, Token(6), Interest::WRITABLE))
        );
        rec!(
            log,
            "tx again: {}",
            full(reg.register(&mut tx, Token(6), Interest::WRITABLE))
        );
    }
    // The failed second registration left the first one in place.
    b.write_all(b"x").unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "token 2 seen: {}", ctx.seen_any(Token(2), "readable"));
    log
}

pub fn registry_reregister_unregistered() -> Vec<String> {
    let mut log = Vec::new();
    let ctx = Ctx::new();
    let (mut a, _b) = stream_pair();
    let mut listener = TcpListener::bind(loopback()).unwrap();
    let mut udp = UdpSocket::bind(loopback()).unwrap();
    #[cfg(unix)]
    let (mut tx, mut rx) = pipe::new().unwrap();
    let (mut d, _e) = datagram_pair();
    let reg = ctx.registry();
    rec!(
        log,
        "unix: {}",
        full(reg.reregister(&mut a, Token(1), Interest::READABLE))
    );
    rec!(
        log,
        "tcp: {}",
        full(reg.reregister(&mut listener, Token(1), Interest::READABLE))
    );
    rec!(
        log,
        "udp: {}",
        full(reg.reregister(&mut udp, Token(1), Interest::READABLE))
    );
    // Pipes: Unix only.
    #[cfg(unix)]
    {
        rec!(
            log,
            "rx: {}",
            full(reg.reregister(&mut rx, Token(1), Interest::READABLE))
        );
        rec!(
            log,
            "tx: {}",
            full(reg.reregister(&mut tx, Token(1), Interest::WRITABLE))
        );
    }
    rec!(
        log,
        "dgram: {}",
        full(reg.reregister(&mut d, Token(1), Interest::READABLE))
    );
    log
}

pub fn registry_deregister_unregistered() -> Vec<String> {
    let mut log = Vec::new();
    let ctx = Ctx::new();
    let (mut a, _b) = stream_pair();
    let mut listener = TcpListener::bind(loopback()).unwrap();
    let mut udp = UdpSocket::bind(loopback()).unwrap();
    #[cfg(unix)]
    let (mut tx, mut rx) = pipe::new().unwrap();
    let reg = ctx.registry();
    rec!(log, "unix: {}", full(reg.deregister(&mut a)));
    rec!(log, "tcp: {}", full(reg.deregister(&mut listener)));
    rec!(log, "udp: {}", full(reg.deregister(&mut udp)));
    // Pipes: Unix only.
    #[cfg(unix)]
    {
        rec!(log, "rx: {}", full(reg.deregister(&mut rx)));
        rec!(log, "tx: {}", full(reg.deregister(&mut tx)));
    }
    // Register, deregister, deregister again.
    rec!(
        log,
        "register: {}",
        full(reg.register(&mut a, Token(1), Interest::READABLE))
    );
    rec!(log, "deregister: {}", full(reg.deregister(&mut a)));
    rec!(log, "deregister again: {}", full(reg.deregister(&mut a)));
    rec!(
        log,
        "reregister after deregister: {}",
        full(reg.reregister(&mut a, Token(1), Interest::READABLE))
    );
    rec!(
        log,
        "register after deregister: {}",
        full(reg.register(&mut a, Token(1), Interest::READABLE))
    );
    log
}

pub fn registry_reregister_replaces_token() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = stream_pair();
    ctx.registry()
        .register(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    rec!(
        log,
        "reregister: {}",
        full(
            ctx.registry()
                .reregister(&mut a, Token(2), Interest::READABLE)
        )
    );
    b.write_all(b"hello").unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    rec!(
        log,
        "old token seen: {}",
        ctx.seen_any(Token(1), "readable")
    );
    rec!(log, "drained: {}", drain(&a));
    // Back to the first token, adding WRITABLE.
    ctx.registry()
        .reregister(&mut a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    b.write_all(b"again").unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "token 2 events after switch: {}", ctx.quiet(Token(2)));
    log
}

pub fn registry_reregister_changes_interest() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = stream_pair();
    ctx.registry()
        .register(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    rec!(log, "readable only, no data: {}", ctx.quiet(Token(1)));
    ctx.registry()
        .reregister(&mut a, Token(1), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    b.write_all(b"x").unwrap();
    rec!(log, "data while writable-only: {}", ctx.quiet(Token(1)));
    // Data queued before a reregister that adds READABLE is reported.
    ctx.registry()
        .reregister(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&a));
    // Changing interest away from pending readiness before polling.
    b.write_all(b"y").unwrap();
    ctx.registry()
        .reregister(&mut a, Token(1), Interest::WRITABLE)
        .unwrap();
    rec!(
        log,
        "first event after switching away: {}",
        ctx.wait(Token(1), |_| true)
    );
    rec!(log, "drained: {}", drain(&a));
    log
}

pub fn registry_try_clone() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let clone = ctx.registry().try_clone().unwrap();
    rec!(log, "clone debug: {clone:?}");
    let second = clone.try_clone().unwrap();
    let (mut a, mut b) = stream_pair();
    rec!(
        log,
        "register via clone: {}",
        full(clone.register(&mut a, Token(7), Interest::READABLE))
    );
    rec!(
        log,
        "register again via original: {}",
        full(
            ctx.registry()
                .register(&mut a, Token(7), Interest::READABLE)
        )
    );
    b.write_all(b"x").unwrap();
    rec!(log, "{}", ctx.wait(Token(7), |e| e.is_readable()));
    rec!(
        log,
        "reregister via second clone: {}",
        full(second.reregister(&mut a, Token(8), Interest::READABLE))
    );
    b.write_all(b"y").unwrap();
    rec!(log, "{}", ctx.wait(Token(8), |e| e.is_readable()));
    rec!(
        log,
        "deregister via original: {}",
        full(ctx.registry().deregister(&mut a))
    );
    b.write_all(b"z").unwrap();
    rec!(log, "after deregister: {}", ctx.quiet(Token(8)));
    drop(clone);
    drop(second);
    // The original registry still works after the clones are dropped.
    rec!(
        log,
        "register after clones dropped: {}",
        full(
            ctx.registry()
                .register(&mut a, Token(9), Interest::READABLE)
        )
    );
    rec!(log, "{}", ctx.wait(Token(9), |e| e.is_readable()));
    log
}

pub fn registry_register_with_second_poll() -> Vec<String> {
    // Debug builds of both libraries track the owning registry and fail
    // with mio's fixed messages; release builds go to epoll, which allows
    // the same fd in two epoll instances. Both libraries are built in the
    // same profile, so the logs must agree either way.
    //
    // Deliberate difference, not observed here: in debug builds a *failed*
    // `register` (or `deregister`) through a second `Poll` makes mio 1.2.5
    // overwrite (or clear) its tracked association, so later calls through
    // either `Poll` see mismatched debug errors or raw epoll errors. nbio
    // keeps the original association on failure. Each source below is
    // therefore used for exactly one cross-`Poll` call.
    let mut log = Vec::new();
    let mut one = Ctx::new();
    let mut two = Ctx::new();
    let (mut a, mut b) = stream_pair();
    let (mut c, mut d) = stream_pair();
    let (mut e, mut f) = stream_pair();
    for (name, s, t) in [("a", &mut a, 1), ("c", &mut c, 3), ("e", &mut e, 5)] {
        rec!(
            log,
            "register {name} with one: {}",
            full(one.registry().register(s, Token(t), Interest::READABLE))
        );
    }
    rec!(
        log,
        "register a with two: {}",
        full(
            two.registry()
                .register(&mut a, Token(2), Interest::READABLE)
        )
    );
    // Windows release builds of mio 1.2.5 accept both calls and quietly
    // move `c` and `e` to the other `Poll` (moving a source between polls
    // is unspecified); nbio refuses them with NotFound, as in debug builds
    // (tests/registry.rs checks that). Compared where mio has an answer.
    if cfg!(any(debug_assertions, not(windows))) {
        rec!(
            log,
            "reregister c via two: {}",
            full(
                two.registry()
                    .reregister(&mut c, Token(4), Interest::READABLE)
            )
        );
        rec!(
            log,
            "deregister e via two: {}",
            full(two.registry().deregister(&mut e))
        );
    }
    for w in [&mut b, &mut d, &mut f] {
        w.write_all(b"x").unwrap();
    }
    let got = one.wait_all(&[Token(1), Token(3), Token(5)], |e| e.is_readable());
    rec!(log, "one: {got:?}");
    // Windows (AFD) reports nothing more for a source until a read hits
    // `WouldBlock`: drain `c` so that its hang-up below is reported.
    #[cfg(windows)]
    rec!(log, "c drained: {}", drain(&c));
    two.poll_once(QUIET);
    let mut tokens: Vec<usize> = two.seen.iter().map(|(t, _)| t.0).collect();
    tokens.sort_unstable();
    rec!(log, "two saw tokens: {tokens:?}");
    // The source registered only with `one` can still be deregistered and
    // registered again there (c's reregister via two did not touch it).
    rec!(
        log,
        "deregister c via one: {}",
        full(one.registry().deregister(&mut c))
    );
    rec!(
        log,
        "register c again: {}",
        full(
            one.registry()
                .register(&mut c, Token(6), Interest::READABLE)
        )
    );
    drop(d);
    rec!(log, "one: {}", one.wait(Token(6), |e| e.is_read_closed()));
    log
}

pub fn registry_register_during_poll() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let registry = ctx.registry().try_clone().unwrap();
    // A pipe on Unix; Windows has none, a stream pair does the same job.
    #[cfg(unix)]
    let (mut tx, mut rx) = pipe::new().unwrap();
    #[cfg(windows)]
    let (mut tx, mut rx) = stream_pair();
    let handle = std::thread::spawn(move || {
        registry
            .register(&mut rx, Token(42), Interest::READABLE)
            .unwrap();
        tx.write_all(b"from thread").unwrap();
        (tx, rx)
    });
    rec!(log, "{}", ctx.wait(Token(42), |e| e.is_readable()));
    let (_tx, rx) = handle.join().unwrap();
    rec!(log, "drained: {}", drain(&rx));
    log
}

pub fn registry_box_dyn_source() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (a, mut b) = stream_pair();
    let mut boxed: Box<dyn Source> = Box::new(a);
    rec!(
        log,
        "register box: {}",
        full(
            ctx.registry()
                .register(&mut boxed, Token(1), Interest::READABLE)
        )
    );
    b.write_all(b"x").unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let dyn_ref: &mut dyn Source = &mut *boxed;
    rec!(
        log,
        "reregister &mut dyn: {}",
        full(
            ctx.registry()
                .reregister(dyn_ref, Token(2), Interest::WRITABLE)
        )
    );
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    rec!(
        log,
        "deregister box: {}",
        full(ctx.registry().deregister(&mut boxed))
    );
    rec!(
        log,
        "deregister box again: {}",
        full(ctx.registry().deregister(&mut boxed))
    );
    log
}

pub fn deregister_then_no_events() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = stream_pair();
    let mut listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    ctx.registry()
        .register(&mut a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    ctx.registry()
        .register(&mut listener, Token(2), Interest::READABLE)
        .unwrap();
    // Readiness is pending for both, then they are deregistered before
    // polling: nothing may leak out.
    b.write_all(b"pending").unwrap();
    let _client = TcpStream::connect(addr).unwrap();
    rec!(
        log,
        "deregister a: {}",
        full(ctx.registry().deregister(&mut a))
    );
    rec!(
        log,
        "deregister listener: {}",
        full(ctx.registry().deregister(&mut listener))
    );
    b.write_all(b"more").unwrap();
    rec!(log, "a: {}", ctx.quiet(Token(1)));
    rec!(log, "listener: {}", ctx.seen_any(Token(2), "readable"));
    // Still usable for I/O, and can be registered again.
    rec!(log, "drained: {}", drain(&a));
    b.write_all(b"x").unwrap();
    ctx.registry()
        .register(&mut a, Token(3), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(3), |e| e.is_readable()));
    ctx.registry()
        .register(&mut listener, Token(4), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(4), |e| e.is_readable()));
    rec!(log, "accept: {}", ok_or_kind(&listener.accept()));
    log
}

pub fn drop_registered_source_no_events() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = stream_pair();
    let mut listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    // Pipes: Unix only.
    #[cfg(unix)]
    let (mut tx, rx) = pipe::new().unwrap();
    ctx.registry()
        .register(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    ctx.registry()
        .register(&mut listener, Token(2), Interest::READABLE)
        .unwrap();
    #[cfg(unix)]
    ctx.registry()
        .register(&mut tx, Token(3), Interest::WRITABLE)
        .unwrap();
    b.write_all(b"pending").unwrap();
    let _client = TcpStream::connect(addr).unwrap();
    drop(a);
    drop(listener);
    #[cfg(unix)]
    drop(tx);
    ctx.poll_once(QUIET);
    let mut tokens: Vec<usize> = ctx.seen.iter().map(|(t, _)| t.0).collect();
    tokens.sort_unstable();
    rec!(log, "tokens seen after drop: {tokens:?}");
    #[cfg(unix)]
    rec!(log, "rx after tx dropped: {}", drain(&rx));
    rec!(log, "write to dropped peer: {}", kind(b.write(b"x")));
    log
}

// ---------------------------------------------------------------------
// Event, Waker
// ---------------------------------------------------------------------

pub fn event_debug_format() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = stream_pair();
    b.write_all(b"x").unwrap();
    ctx.registry()
        .register(&mut a, Token(11), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    ctx.poll_once(DEADLINE);
    for e in ctx.events.iter() {
        rec!(log, "debug: {e:?}");
        let cloned = e.clone();
        rec!(
            log,
            "clone debug equal: {}",
            format!("{cloned:?}") == format!("{e:?}")
        );
    }
    // Windows (AFD) reports nothing more for a source until a read hits
    // `WouldBlock`: drain `a` so that the hang-up is reported. The event
    // then differs on purpose: a read's `WouldBlock` re-arms only READABLE
    // in nbio, both interests in mio (mio#1963), so mio adds `writable`.
    // Only the hang-up itself is compared there.
    #[cfg(windows)]
    {
        rec!(log, "drained: {}", drain(&a));
        drop(b);
        let got = ctx.wait(Token(11), |e| e.is_read_closed());
        rec!(log, "hang-up reported: {}", !got.starts_with("timeout"));
    }
    #[cfg(not(windows))]
    {
        drop(b);
        rec!(log, "{}", ctx.wait(Token(11), |e| e.is_read_closed()));
        for e in ctx.events.iter() {
            rec!(log, "debug: {e:?}");
        }
        rec!(log, "events debug: {:?}", ctx.events);
    }
    log
}

pub fn waker_wake() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let waker = std::sync::Arc::new(Waker::new(ctx.registry(), Token(10)).unwrap());
    rec!(log, "before wake: {}", ctx.quiet(Token(10)));
    rec!(log, "wake: {}", kind(waker.wake()));
    rec!(log, "{}", ctx.wait(Token(10), |_| true));
    // A wake after the previous event was delivered makes a new event,
    // although nothing drained the waker.
    rec!(log, "wake again: {}", kind(waker.wake()));
    rec!(log, "{}", ctx.wait(Token(10), |_| true));
    // Two wakes before a poll coalesce into one event.
    waker.wake().unwrap();
    waker.wake().unwrap();
    rec!(log, "{}", ctx.wait(Token(10), |_| true));
    rec!(log, "after coalesced wakes: {}", ctx.quiet(Token(10)));
    // Wake from another thread.
    let remote = std::sync::Arc::clone(&waker);
    let handle = std::thread::spawn(move || remote.wake().map_err(|e| e.kind()));
    rec!(log, "{}", ctx.wait(Token(10), |_| true));
    rec!(log, "thread wake: {:?}", handle.join().unwrap());
    log
}

// ---------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------

pub fn tcp_listener_bind_and_accept_would_block() -> Vec<String> {
    let mut log = Vec::new();
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    rec!(log, "ip: {} port nonzero: {}", addr.ip(), addr.port() != 0);
    rec!(log, "accept: {}", ok_or_kind(&listener.accept()));
    rec!(log, "take_error: {}", taken(listener.take_error()));
    rec!(log, "{}", fd_flags(listener.as_raw()));
    log
}

pub fn tcp_listener_bind_in_use() -> Vec<String> {
    let mut log = Vec::new();
    let first = TcpListener::bind(loopback()).unwrap();
    let addr = first.local_addr().unwrap();
    rec!(log, "second bind: {}", ok_or_kind(&TcpListener::bind(addr)));
    let res = TcpListener::bind("192.0.2.1:0".parse().unwrap());
    rec!(log, "bind to non-local address: {}", ok_or_kind(&res));
    log
}

pub fn tcp_accept_after_connect() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let mut listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    ctx.registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let c1 = TcpStream::connect(addr).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    match listener.accept() {
        Ok((s, peer)) => {
            rec!(
                log,
                "peer == client local: {}",
                peer == c1.local_addr().unwrap()
            );
            rec!(
                log,
                "accepted local == listener: {}",
                s.local_addr().unwrap() == addr
            );
            rec!(
                log,
                "accepted peer == peer: {}",
                s.peer_addr().unwrap() == peer
            );
            // On Windows mio's accepted socket is inheritable (under Wine
            // at least); nbio clears the flag explicitly, which
            // tests/tcp_listener.rs checks, so only Unix compares it.
            #[cfg(unix)]
            rec!(log, "accepted {}", fd_flags(s.as_raw()));
        }
        Err(e) => rec!(log, "accept: Err({:?})", e.kind()),
    }
    rec!(log, "accept again: {}", ok_or_kind(&listener.accept()));
    // Two more connections queued before a single event is handled.
    let _c2 = TcpStream::connect(addr).unwrap();
    let _c3 = TcpStream::connect(addr).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let end = Instant::now() + DEADLINE;
    let mut accepted = 0;
    while accepted < 2 && Instant::now() < end {
        match listener.accept() {
            Ok(_) => accepted += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ctx.wait(Token(1), |e| e.is_readable());
            }
            Err(e) => {
                rec!(log, "accept: Err({:?})", e.kind());
                break;
            }
        }
    }
    rec!(log, "accepted: {accepted}");
    rec!(log, "then: {}", ok_or_kind(&listener.accept()));
    log
}

pub fn tcp_listener_options() -> Vec<String> {
    let mut log = Vec::new();
    let listener = TcpListener::bind(loopback()).unwrap();
    let default_ttl = listener.ttl().unwrap();
    rec!(log, "set_ttl: {}", kind(listener.set_ttl(42)));
    rec!(log, "ttl: {}", kind(listener.ttl()));
    rec!(log, "set_ttl 0: {}", kind(listener.set_ttl(0)));
    rec!(log, "set_ttl 256: {}", kind(listener.set_ttl(256)));
    rec!(log, "ttl: {}", kind(listener.ttl()));
    listener.set_ttl(default_ttl).unwrap();
    rec!(log, "restored: {}", listener.ttl().unwrap() == default_ttl);
    rec!(log, "take_error: {}", taken(listener.take_error()));
    log
}

pub fn tcp_connect_protocol() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    rec!(log, "client {}", fd_flags(client.as_raw()));
    ctx.registry()
        .register(&mut client, Token(1), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    rec!(log, "take_error: {}", taken(client.take_error()));
    rec!(
        log,
        "peer_addr == listener: {}",
        client.peer_addr().unwrap() == addr
    );
    rec!(log, "local ip: {}", client.local_addr().unwrap().ip());
    let (server, peer) = listener.accept().unwrap();
    rec!(
        log,
        "accepted peer == client local: {}",
        peer == client.local_addr().unwrap()
    );
    drop(server);
    log
}

pub fn tcp_read_write_peek_vectored() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut client, mut server) = tcp_pair();
    ctx.registry()
        .register(&mut server, Token(2), Interest::READABLE)
        .unwrap();
    ctx.registry()
        .register(&mut client, Token(1), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    rec!(log, "read before data: {}", kind(server.read(&mut [0; 8])));
    rec!(log, "peek before data: {}", kind(server.peek(&mut [0; 8])));
    rec!(log, "write: {}", kind(client.write(b"hello")));
    rec!(log, "flush: {}", kind(client.flush()));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let mut buf = [0u8; 3];
    rec!(log, "peek 3: {} {:?}", kind(server.peek(&mut buf)), buf);
    let mut buf = [0u8; 16];
    let n = server.read(&mut buf).unwrap();
    rec!(log, "read: {n} {:?}", String::from_utf8_lossy(&buf[..n]));
    rec!(log, "read again: {}", kind(server.read(&mut buf)));
    let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd"), IoSlice::new(b"")];
    rec!(
        log,
        "write_vectored: {}",
        kind(client.write_vectored(&bufs))
    );
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let mut x = [0u8; 3];
    let mut y = [0u8; 3];
    let mut slices = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
    rec!(
        log,
        "read_vectored: {}",
        kind(server.read_vectored(&mut slices))
    );
    rec!(log, "bufs: {x:?} {y:?}");
    // Read and Write through shared references.
    rec!(log, "&write: {}", kind((&server).write(b"back")));
    ctx.registry()
        .reregister(&mut client, Token(1), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let mut buf = [0u8; 16];
    let n = (&client).read(&mut buf).unwrap();
    rec!(log, "&read: {:?}", String::from_utf8_lossy(&buf[..n]));
    rec!(log, "&flush: {}", kind((&client).flush()));
    rec!(
        log,
        "&read_vectored empty: {}",
        kind((&client).read_vectored(&mut []))
    );
    log
}

pub fn tcp_peer_shutdown_write() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut client, mut server) = tcp_pair();
    ctx.registry()
        .register(&mut server, Token(2), Interest::READABLE)
        .unwrap();
    client.write_all(b"last words").unwrap();
    rec!(log, "shutdown: {}", kind(client.shutdown(Shutdown::Write)));
    rec!(log, "{}", ctx.wait(Token(2), read_closed_or_data));
    rec!(log, "drained: {}", drain(&server));
    rec!(log, "read after EOF: {}", kind(server.read(&mut [0; 4])));
    // The other direction still works.
    rec!(log, "server write: {}", kind(server.write(b"reply")));
    ctx.registry()
        .register(&mut client, Token(1), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "client drained: {}", drain(&client));
    rec!(
        log,
        "client write after shutdown: {}",
        kind(client.write(b"x"))
    );
    log
}

pub fn tcp_peer_reset() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (client, mut server) = tcp_pair();
    ctx.registry()
        .register(
            &mut server,
            Token(2),
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    set_linger_zero(client.as_raw());
    drop(client);
    rec!(
        log,
        "{}",
        ctx.wait(Token(2), |e| e.is_error() || e.is_read_closed())
    );
    rec!(log, "take_error: {}", taken(server.take_error()));
    rec!(log, "take_error again: {}", taken(server.take_error()));
    rec!(log, "read: {}", kind(server.read(&mut [0; 4])));
    rec!(log, "write: {}", kind(server.write(b"x")));
    log
}

pub fn tcp_local_shutdown_write() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut client, mut server) = tcp_pair();
    ctx.registry()
        .register(
            &mut server,
            Token(2),
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap();
    ctx.registry()
        .register(&mut client, Token(1), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    rec!(
        log,
        "shutdown write: {}",
        kind(server.shutdown(Shutdown::Write))
    );
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_read_closed()));
    rec!(log, "client read: {}", drain(&client));
    rec!(log, "server write: {}", kind(server.write(b"x")));
    client.write_all(b"still").unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    rec!(log, "server read: {}", drain(&server));
    // epoll does not report a local shutdown(Write) as write-closed.
    rec!(
        log,
        "server write_closed ever: {}",
        ctx.seen_any(Token(2), "write_closed")
    );
    rec!(
        log,
        "server error ever: {}",
        ctx.seen_any(Token(2), "error")
    );
    log
}

pub fn tcp_stream_options() -> Vec<String> {
    let mut log = Vec::new();
    let (client, server) = tcp_pair();
    rec!(log, "nodelay default: {}", kind(client.nodelay()));
    rec!(log, "set_nodelay: {}", kind(client.set_nodelay(true)));
    rec!(log, "nodelay: {}", kind(client.nodelay()));
    rec!(
        log,
        "set_nodelay false: {}",
        kind(client.set_nodelay(false))
    );
    rec!(log, "nodelay: {}", kind(client.nodelay()));
    rec!(log, "set_ttl: {}", kind(client.set_ttl(33)));
    rec!(log, "ttl: {}", kind(client.ttl()));
    rec!(log, "take_error: {}", taken(client.take_error()));
    rec!(
        log,
        "addresses agree: {} {}",
        client.local_addr().unwrap() == server.peer_addr().unwrap(),
        client.peer_addr().unwrap() == server.local_addr().unwrap()
    );
    rec!(
        log,
        "shutdown read: {}",
        kind(client.shutdown(Shutdown::Read))
    );
    rec!(
        log,
        "shutdown both: {}",
        kind(client.shutdown(Shutdown::Both))
    );
    rec!(
        log,
        "read after shutdown: {}",
        kind((&client).read(&mut [0; 4]))
    );
    log
}

pub fn tcp_try_io() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (client, mut server) = tcp_pair();
    ctx.registry()
        .register(&mut server, Token(2), Interest::READABLE)
        .unwrap();
    let sfd = server.as_raw();
    let cfd = client.as_raw();
    let mut buf = [0u8; 16];
    rec!(
        log,
        "try_io recv before data: {}",
        kind(server.try_io(|| raw_recv(sfd, &mut buf, 0)))
    );
    rec!(
        log,
        "try_io send: {}",
        kind(client.try_io(|| raw_send(cfd, b"raw")))
    );
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let n = server.try_io(|| raw_recv(sfd, &mut buf, 0)).unwrap();
    rec!(log, "try_io recv: {:?}", String::from_utf8_lossy(&buf[..n]));
    rec!(
        log,
        "try_io value: {}",
        kind(server.try_io(|| Ok::<_, io::Error>(77u8)))
    );
    let custom = server.try_io(|| -> io::Result<()> { Err(io::Error::other("custom")) });
    rec!(log, "try_io custom error: {}", full(custom));
    // After a WouldBlock through try_io, new data produces a new event.
    rec!(
        log,
        "try_io recv drained: {}",
        kind(server.try_io(|| raw_recv(sfd, &mut buf, 0)))
    );
    (&client).write_all(b"more").unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&server));
    log
}

pub fn tcp_connect_refused() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let addr = {
        let l = TcpListener::bind(loopback()).unwrap();
        l.local_addr().unwrap()
    };
    match TcpStream::connect(addr) {
        Err(e) => rec!(log, "connect: Err({:?})", e.kind()),
        Ok(mut stream) => {
            rec!(log, "connect: Ok");
            ctx.registry()
                .register(
                    &mut stream,
                    Token(1),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .unwrap();
            rec!(
                log,
                "{}",
                ctx.wait(Token(1), |e| e.is_error() || e.is_write_closed())
            );
            rec!(log, "peer_addr: {}", ok_or_kind(&stream.peer_addr()));
            rec!(log, "take_error: {}", taken(stream.take_error()));
            rec!(log, "take_error again: {}", taken(stream.take_error()));
            rec!(log, "read: {}", kind(stream.read(&mut [0; 4])));
            rec!(log, "write: {}", kind(stream.write(b"x")));
        }
    }
    log
}

pub fn tcp_drop_closes_connection() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut client, mut server) = tcp_pair();
    ctx.registry()
        .register(
            &mut client,
            Token(1),
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap();
    ctx.registry()
        .register(&mut server, Token(2), Interest::READABLE)
        .unwrap();
    client.write_all(b"bye").unwrap();
    drop(client);
    rec!(log, "{}", ctx.wait(Token(2), read_closed_or_data));
    rec!(log, "server drained: {}", drain(&server));
    rec!(log, "quiet for dropped client: {}", ctx.quiet(Token(1)));
    rec!(
        log,
        "first write to closed peer: {}",
        kind(server.write(b"x"))
    );
    log
}

// Priority (out-of-band) readiness: Linux and Android only.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn tcp_priority_oob() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (client, mut server) = tcp_pair();
    let (client2, mut server2) = tcp_pair();
    ctx.registry()
        .register(
            &mut server,
            Token(2),
            Interest::READABLE | Interest::PRIORITY,
        )
        .unwrap();
    ctx.registry()
        .register(&mut server2, Token(3), Interest::PRIORITY)
        .unwrap();
    rec!(
        log,
        "send oob: {}",
        kind(send_oob(client.as_raw_fd(), b"!"))
    );
    rec!(
        log,
        "send oob 2: {}",
        kind(send_oob(client2.as_raw_fd(), b"?"))
    );
    let got = ctx.wait_all(&[Token(2), Token(3)], |e| e.is_priority());
    rec!(log, "{got:?}");
    let sfd = server.as_raw_fd();
    let mut buf = [0u8; 4];
    let res = server.try_io(|| raw_recv(sfd, &mut buf, libc::MSG_OOB));
    rec!(log, "oob recv: {} {:?}", kind(res), &buf[..1]);
    rec!(log, "plain read: {}", kind(server.read(&mut buf)));
    drop(client2);
    log
}

pub fn tcp_std_conversions() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let std_listener = std::net::TcpListener::bind(loopback()).unwrap();
    // A socket's blocking mode can be read back on Unix only.
    #[cfg(unix)]
    rec!(
        log,
        "std listener blocking: {}",
        !is_nonblocking(std_listener.as_raw_fd())
    );
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let mut listener = TcpListener::from_std(std_listener);
    rec!(
        log,
        "from_std addr kept: {}",
        listener.local_addr().unwrap() == addr
    );
    ctx.registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let std_client = std::net::TcpStream::connect(addr).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let (server, _) = listener.accept().unwrap();
    // from_std does not change the blocking mode.
    let client = TcpStream::from_std(std_client);
    #[cfg(unix)]
    rec!(
        log,
        "from_std stream nonblocking: {}",
        is_nonblocking(client.as_raw_fd())
    );
    // Into std and back through OwnedFd and raw fds (sockets on Windows).
    let std_server: std::net::TcpStream = server.into();
    #[cfg(unix)]
    rec!(
        log,
        "into std nonblocking: {}",
        is_nonblocking(std_server.as_raw_fd())
    );
    let owned: Owned = std_server.into();
    let mut server = TcpStream::from(owned);
    ctx.registry()
        .register(&mut server, Token(2), Interest::READABLE)
        .unwrap();
    (&client).write_all(b"converted").unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&server));
    ctx.registry().deregister(&mut server).unwrap();
    let raw = server.into_raw();
    // SAFETY: `raw` was just released by `into_raw`, so we own it.
    let server = unsafe { TcpStream::from_raw(raw) };
    let owned_back: Owned = server.into();
    rec!(log, "round trip fd kept: {}", owned_back.as_raw() == raw);
    let std_listener: std::net::TcpListener = listener.into();
    rec!(
        log,
        "listener into std addr: {}",
        std_listener.local_addr().unwrap() == addr
    );
    let raw = std_listener.into_raw();
    // SAFETY: `raw` was just released by `into_raw`, so we own it.
    let listener = unsafe { TcpListener::from_raw(raw) };
    rec!(
        log,
        "listener from raw accept: {}",
        ok_or_kind(&listener.accept())
    );
    log
}

pub fn tcp_ipv6() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let mut listener = match TcpListener::bind(loopback_v6()) {
        Ok(l) => l,
        Err(e) => {
            rec!(log, "bind [::1]: Err({:?})", e.kind());
            return log;
        }
    };
    let addr = listener.local_addr().unwrap();
    rec!(log, "ipv6: {} {}", addr.is_ipv6(), addr.ip());
    ctx.registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    ctx.registry()
        .register(&mut client, Token(2), Interest::WRITABLE)
        .unwrap();
    let got = ctx.wait_all(&[Token(2), Token(1)], |e| {
        e.is_writable() || e.is_readable()
    });
    rec!(log, "{got:?}");
    let (server, peer) = listener.accept().unwrap();
    rec!(
        log,
        "peer is v6: {} matches: {}",
        peer.is_ipv6(),
        peer == client.local_addr().unwrap()
    );
    rec!(log, "ttl: {}", ok_or_kind(&server.ttl()));
    log
}

// ---------------------------------------------------------------------
// UDP
// ---------------------------------------------------------------------

pub fn udp_send_to_recv_from() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let mut a = UdpSocket::bind(loopback()).unwrap();
    let mut b = UdpSocket::bind(loopback()).unwrap();
    let a_addr = a.local_addr().unwrap();
    let b_addr = b.local_addr().unwrap();
    rec!(log, "{}", fd_flags(a.as_raw()));
    ctx.registry()
        .register(&mut a, Token(1), Interest::WRITABLE)
        .unwrap();
    ctx.registry()
        .register(&mut b, Token(2), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    let mut buf = [0u8; 32];
    rec!(
        log,
        "recv_from empty: {}",
        ok_or_kind(&b.recv_from(&mut buf))
    );
    rec!(
        log,
        "peek_from empty: {}",
        ok_or_kind(&b.peek_from(&mut buf))
    );
    rec!(log, "send_to: {}", kind(a.send_to(b"ping", b_addr)));
    rec!(log, "send_to 2: {}", kind(a.send_to(b"pong!", b_addr)));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let (n, from) = b.peek_from(&mut buf).unwrap();
    rec!(
        log,
        "peek_from: {n} {:?} from a: {}",
        &buf[..n],
        from == a_addr
    );
    let (n, from) = b.recv_from(&mut buf).unwrap();
    rec!(
        log,
        "recv_from: {n} {:?} from a: {}",
        &buf[..n],
        from == a_addr
    );
    let (n, from) = b.recv_from(&mut buf).unwrap();
    rec!(
        log,
        "recv_from: {n} {:?} from a: {}",
        &buf[..n],
        from == a_addr
    );
    rec!(
        log,
        "recv_from drained: {}",
        ok_or_kind(&b.recv_from(&mut buf))
    );
    rec!(log, "peer_addr unconnected: {}", ok_or_kind(&a.peer_addr()));
    rec!(log, "send unconnected: {}", kind(a.send(b"x")));
    rec!(log, "recv unconnected: {}", kind(b.recv(&mut buf)));
    log
}

pub fn udp_connected() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let a = UdpSocket::bind(loopback()).unwrap();
    let mut b = UdpSocket::bind(loopback()).unwrap();
    let a_addr = a.local_addr().unwrap();
    let b_addr = b.local_addr().unwrap();
    rec!(log, "a connect: {}", kind(a.connect(b_addr)));
    rec!(log, "b connect: {}", kind(b.connect(a_addr)));
    rec!(log, "peer_addr: {}", a.peer_addr().unwrap() == b_addr);
    ctx.registry()
        .register(&mut b, Token(2), Interest::READABLE)
        .unwrap();
    rec!(log, "send: {}", kind(a.send(b"hello")));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let mut buf = [0u8; 16];
    let n = b.peek(&mut buf).unwrap();
    rec!(log, "peek: {:?}", &buf[..n]);
    let n = b.recv(&mut buf).unwrap();
    rec!(log, "recv: {:?}", &buf[..n]);
    rec!(log, "recv again: {}", kind(b.recv(&mut buf)));
    rec!(log, "peek again: {}", kind(b.peek(&mut buf)));
    // A datagram from a third socket is filtered by the connected socket.
    let c = UdpSocket::bind(loopback()).unwrap();
    c.send_to(b"stranger", b_addr).unwrap();
    a.send(b"friend").unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let n = b.recv(&mut buf).unwrap();
    rec!(log, "recv: {:?}", String::from_utf8_lossy(&buf[..n]));
    // Connected to a closed port: ICMP port unreachable is reported as a
    // socket error on Unix. Windows fails the next receive instead and
    // raises no error event (AFD's error flag means a failed connect).
    #[cfg(unix)]
    udp_connected_icmp(&mut log, &mut ctx);
    log
}

/// The ICMP part of `udp_connected` (Unix only, see there).
#[cfg(unix)]
fn udp_connected_icmp(log: &mut Vec<String>, ctx: &mut Ctx) {
    let mut buf = [0u8; 16];
    let closed = {
        let s = UdpSocket::bind(loopback()).unwrap();
        s.local_addr().unwrap()
    };
    let mut d = UdpSocket::bind(loopback()).unwrap();
    d.connect(closed).unwrap();
    ctx.registry()
        .register(&mut d, Token(4), Interest::READABLE)
        .unwrap();
    rec!(log, "send to closed: {}", kind(d.send(b"anyone?")));
    rec!(log, "{}", ctx.wait(Token(4), |e| e.is_error()));
    rec!(log, "take_error: {}", taken(d.take_error()));
    let res = d.recv(&mut buf);
    // mio's poll(2) backend drops the socket after the error and its re-arm
    // then fails the recv with NotFound; nbio reports the socket's own
    // WouldBlock, as epoll does.
    #[cfg(not(nbio_force_poll))]
    rec!(log, "recv: {}", kind(res));
    #[cfg(nbio_force_poll)]
    drop(res);
}

pub fn udp_options() -> Vec<String> {
    let mut log = Vec::new();
    let s = UdpSocket::bind(loopback()).unwrap();
    rec!(log, "broadcast: {}", kind(s.broadcast()));
    rec!(log, "set_broadcast: {}", kind(s.set_broadcast(true)));
    rec!(log, "broadcast: {}", kind(s.broadcast()));
    rec!(log, "multicast_loop_v4: {}", kind(s.multicast_loop_v4()));
    rec!(
        log,
        "set_multicast_loop_v4: {}",
        kind(s.set_multicast_loop_v4(false))
    );
    rec!(log, "multicast_loop_v4: {}", kind(s.multicast_loop_v4()));
    rec!(log, "multicast_ttl_v4: {}", kind(s.multicast_ttl_v4()));
    rec!(
        log,
        "set_multicast_ttl_v4: {}",
        kind(s.set_multicast_ttl_v4(8))
    );
    rec!(log, "multicast_ttl_v4: {}", kind(s.multicast_ttl_v4()));
    let default_ttl = s.ttl().unwrap();
    rec!(log, "set_ttl: {}", kind(s.set_ttl(7)));
    rec!(log, "ttl: {}", kind(s.ttl()));
    s.set_ttl(default_ttl).unwrap();
    rec!(log, "only_v6 on v4: {}", kind(s.only_v6()));
    rec!(
        log,
        "multicast_loop_v6 on v4: {}",
        kind(s.multicast_loop_v6())
    );
    rec!(
        log,
        "set_multicast_loop_v6 on v4: {}",
        kind(s.set_multicast_loop_v6(true))
    );
    rec!(log, "take_error: {}", taken(s.take_error()));
    let group = std::net::Ipv4Addr::new(224, 0, 0, 123);
    let iface = std::net::Ipv4Addr::LOCALHOST;
    rec!(
        log,
        "join v4: {}",
        kind(s.join_multicast_v4(&group, &iface))
    );
    rec!(
        log,
        "leave v4: {}",
        kind(s.leave_multicast_v4(&group, &iface))
    );
    rec!(
        log,
        "leave v4 again: {}",
        kind(s.leave_multicast_v4(&group, &iface))
    );
    let unicast = std::net::Ipv4Addr::new(127, 0, 0, 1);
    rec!(
        log,
        "join unicast: {}",
        kind(s.join_multicast_v4(&unicast, &iface))
    );
    log
}

pub fn udp_ipv6_only_v6() -> Vec<String> {
    let mut log = Vec::new();
    let s = match UdpSocket::bind(loopback_v6()) {
        Ok(s) => s,
        Err(e) => {
            rec!(log, "bind [::1]: Err({:?})", e.kind());
            return log;
        }
    };
    // mio 1.2.5 asserts that Windows returns this option in 4 bytes; Wine
    // returns 1 and mio panics, so it is compared on Unix only (nbio's
    // `only_v6` on Windows is checked by tests/udp_socket.rs).
    #[cfg(unix)]
    rec!(log, "only_v6: {}", kind(s.only_v6()));
    rec!(log, "multicast_loop_v6: {}", kind(s.multicast_loop_v6()));
    rec!(
        log,
        "set_multicast_loop_v6: {}",
        kind(s.set_multicast_loop_v6(false))
    );
    rec!(log, "multicast_loop_v6: {}", kind(s.multicast_loop_v6()));
    rec!(
        log,
        "multicast_ttl_v4 on v6: {}",
        ok_or_kind(&s.multicast_ttl_v4())
    );
    let group: std::net::Ipv6Addr = "ff02::123".parse().unwrap();
    rec!(log, "join v6: {}", kind(s.join_multicast_v6(&group, 0)));
    rec!(log, "leave v6: {}", kind(s.leave_multicast_v6(&group, 0)));
    // A v6 socket cannot reach a v4 address.
    let res = s.send_to(b"x", "127.0.0.1:9".parse().unwrap());
    rec!(log, "send_to v4 from [::1]: {}", kind(res));
    let any6 = UdpSocket::bind("[::]:0".parse().unwrap());
    // Unix only, as above.
    #[cfg(unix)]
    if let Ok(any6) = any6 {
        rec!(log, "[::] only_v6: {}", kind(any6.only_v6()));
    }
    #[cfg(windows)]
    drop(any6);
    log
}

pub fn udp_truncation() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let a = UdpSocket::bind(loopback()).unwrap();
    let mut b = UdpSocket::bind(loopback()).unwrap();
    let b_addr = b.local_addr().unwrap();
    ctx.registry()
        .register(&mut b, Token(2), Interest::READABLE)
        .unwrap();
    let big: Vec<u8> = (0..100u8).collect();
    rec!(log, "send 100: {}", kind(a.send_to(&big, b_addr)));
    rec!(log, "send 0: {}", kind(a.send_to(&[], b_addr)));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let mut small = [0u8; 10];
    #[cfg(unix)]
    {
        let (n, _) = b.peek_from(&mut small).unwrap();
        rec!(log, "peek truncated: {n} {small:?}");
        let (n, _) = b.recv_from(&mut small).unwrap();
        rec!(log, "recv truncated: {n} {small:?}");
    }
    // Windows fills the buffer but fails the call with WSAEMSGSIZE (and
    // `recv_from` still consumes the datagram).
    #[cfg(windows)]
    {
        let res = b.peek_from(&mut small).map(|(n, _)| n);
        rec!(
            log,
            "peek truncated: {:?} {small:?}",
            res.map_err(|e| e.raw_os_error())
        );
        let res = b.recv_from(&mut small).map(|(n, _)| n);
        rec!(
            log,
            "recv truncated: {:?} {small:?}",
            res.map_err(|e| e.raw_os_error())
        );
    }
    let (n, _) = b.recv_from(&mut small).unwrap();
    rec!(log, "recv empty datagram: {n}");
    rec!(log, "then: {}", ok_or_kind(&b.recv_from(&mut small)));
    rec!(
        log,
        "recv into empty buffer: {}",
        ok_or_kind(&b.recv_from(&mut []))
    );
    log
}

pub fn udp_std_conversions() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let std_sock = std::net::UdpSocket::bind(loopback()).unwrap();
    let addr = std_sock.local_addr().unwrap();
    // A socket's blocking mode can be read back on Unix only.
    #[cfg(unix)]
    rec!(
        log,
        "std blocking: {}",
        !is_nonblocking(std_sock.as_raw_fd())
    );
    std_sock.set_nonblocking(true).unwrap();
    let mut sock = UdpSocket::from_std(std_sock);
    rec!(log, "addr kept: {}", sock.local_addr().unwrap() == addr);
    ctx.registry()
        .register(&mut sock, Token(1), Interest::READABLE)
        .unwrap();
    let sender = UdpSocket::bind(loopback()).unwrap();
    sender.send_to(b"dgram", addr).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    ctx.registry().deregister(&mut sock).unwrap();
    let std_back: std::net::UdpSocket = sock.into();
    let mut buf = [0u8; 8];
    let (n, _) = std_back.recv_from(&mut buf).unwrap();
    rec!(log, "std recv: {:?}", &buf[..n]);
    let owned: Owned = std_back.into();
    let sock = UdpSocket::from(owned);
    rec!(
        log,
        "from OwnedFd addr kept: {}",
        sock.local_addr().unwrap() == addr
    );
    let owned: Owned = sock.into();
    let raw = owned.into_raw();
    // SAFETY: `raw` was just released by `into_raw`, so we own it.
    let sock = unsafe { UdpSocket::from_raw(raw) };
    rec!(
        log,
        "from raw addr kept: {}",
        sock.local_addr().unwrap() == addr
    );
    rec!(
        log,
        "recv drained: {}",
        ok_or_kind(&sock.recv_from(&mut buf))
    );
    log
}

// ---------------------------------------------------------------------
// Unix domain sockets
// ---------------------------------------------------------------------
//
// Everything from here on is about Unix-only types (Unix-domain sockets,
// `SourceFd`, pipes), compiled on Unix only.

#[cfg(unix)]
pub fn unix_listener_pathname() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let path = fresh_path("listener");
    let mut listener = UnixListener::bind(&path).unwrap();
    rec!(
        log,
        "nonblocking={} cloexec={}",
        is_nonblocking(listener.as_raw_fd()),
        is_cloexec(listener.as_raw_fd())
    );
    let local = listener.local_addr().unwrap();
    rec!(
        log,
        "local pathname matches: {} unnamed: {}",
        local.as_pathname() == Some(path.as_path()),
        local.is_unnamed()
    );
    rec!(log, "accept empty: {}", ok_or_kind(&listener.accept()));
    rec!(log, "take_error: {}", taken(listener.take_error()));
    ctx.registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let mut client = UnixStream::connect(&path).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let (mut server, peer) = listener.accept().unwrap();
    rec!(
        log,
        "accepted peer: unnamed={} pathname={:?}",
        peer.is_unnamed(),
        peer.as_pathname()
    );
    rec!(
        log,
        "accepted nonblocking={} cloexec={}",
        is_nonblocking(server.as_raw_fd()),
        is_cloexec(server.as_raw_fd())
    );
    rec!(
        log,
        "client local unnamed: {} client peer matches: {}",
        client.local_addr().unwrap().is_unnamed(),
        client.peer_addr().unwrap().as_pathname() == Some(path.as_path())
    );
    rec!(
        log,
        "server local matches: {}",
        server.local_addr().unwrap().as_pathname() == Some(path.as_path())
    );
    ctx.registry()
        .register(&mut client, Token(2), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    ctx.registry()
        .register(&mut server, Token(3), Interest::READABLE)
        .unwrap();
    client.write_all(b"over unix").unwrap();
    rec!(log, "{}", ctx.wait(Token(3), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&server));
    rec!(log, "accept again: {}", ok_or_kind(&listener.accept()));
    // connect_addr with a pathname address.
    let addr = std::os::unix::net::SocketAddr::from_pathname(&path).unwrap();
    let _c2 = UnixStream::connect_addr(&addr).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(
        log,
        "accept connect_addr: {}",
        ok_or_kind(&listener.accept())
    );
    let _ = std::fs::remove_file(&path);
    log
}

// Abstract addresses: Linux and Android only.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn unix_listener_abstract() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let name = fresh_abstract_name("abstract");
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let mut listener = UnixListener::bind_addr(&addr).unwrap();
    let local = listener.local_addr().unwrap();
    rec!(
        log,
        "abstract matches: {} pathname: {:?}",
        local.as_abstract_name() == Some(name.as_slice()),
        local.as_pathname()
    );
    ctx.registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let client = UnixStream::connect_addr(&addr).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let (server, peer) = listener.accept().unwrap();
    rec!(log, "peer unnamed: {}", peer.is_unnamed());
    rec!(
        log,
        "client peer matches: {}",
        client.peer_addr().unwrap().as_abstract_name() == Some(name.as_slice())
    );
    drop(server);
    rec!(
        log,
        "bind same name: {}",
        ok_or_kind(&UnixListener::bind_addr(&addr))
    );
    // Binding an unnamed address autobinds to an abstract name on Linux.
    let unnamed = UnixDatagram::unbound().unwrap().local_addr().unwrap();
    rec!(log, "unnamed addr is_unnamed: {}", unnamed.is_unnamed());
    match UnixListener::bind_addr(&unnamed) {
        Ok(l) => {
            let a = l.local_addr().unwrap();
            rec!(
                log,
                "bind unnamed: Ok abstract={} unnamed={}",
                a.as_abstract_name().is_some(),
                a.is_unnamed()
            );
        }
        Err(e) => rec!(log, "bind unnamed: Err({:?})", e.kind()),
    }
    log
}

#[cfg(unix)]
pub fn unix_listener_bind_in_use() -> Vec<String> {
    let mut log = Vec::new();
    let path = fresh_path("inuse");
    let first = UnixListener::bind(&path).unwrap();
    rec!(
        log,
        "second bind: {}",
        ok_or_kind(&UnixListener::bind(&path))
    );
    drop(first);
    // The socket file remains after the listener is dropped.
    rec!(
        log,
        "bind over stale file: {}",
        ok_or_kind(&UnixListener::bind(&path))
    );
    rec!(
        log,
        "connect to stale file: {}",
        ok_or_kind(&UnixStream::connect(&path))
    );
    let missing_dir = path.with_file_name("no-such-dir").join("x.sock");
    rec!(
        log,
        "bind in missing dir: {}",
        ok_or_kind(&UnixListener::bind(&missing_dir))
    );
    let too_long = std::path::PathBuf::from("/tmp/".to_string() + &"x".repeat(200));
    rec!(
        log,
        "bind too long: {}",
        ok_or_kind(&UnixListener::bind(&too_long))
    );
    let _ = std::fs::remove_file(&path);
    log
}

#[cfg(unix)]
pub fn unix_stream_pair() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    rec!(
        log,
        "nonblocking={} cloexec={}",
        is_nonblocking(a.as_raw_fd()) && is_nonblocking(b.as_raw_fd()),
        is_cloexec(a.as_raw_fd()) && is_cloexec(b.as_raw_fd())
    );
    rec!(
        log,
        "addresses unnamed: {} {}",
        a.local_addr().unwrap().is_unnamed(),
        a.peer_addr().unwrap().is_unnamed()
    );
    ctx.registry()
        .register(&mut a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    ctx.registry()
        .register(&mut b, Token(2), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    rec!(log, "read empty: {}", kind(b.read(&mut [0; 4])));
    let bufs = [IoSlice::new(b"one"), IoSlice::new(b"two")];
    rec!(log, "write_vectored: {}", kind(a.write_vectored(&bufs)));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let mut x = [0u8; 4];
    let mut y = [0u8; 4];
    let res = b.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]);
    rec!(log, "read_vectored: {} {x:?} {y:?}", kind(res));
    rec!(log, "&write: {}", kind((&b).write(b"back")));
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "&read: {}", drain(&a));
    rec!(log, "take_error: {}", taken(a.take_error()));
    rec!(log, "shutdown write: {}", kind(a.shutdown(Shutdown::Write)));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_read_closed()));
    rec!(log, "b read: {}", drain(&b));
    rec!(log, "a write after shutdown: {}", kind(a.write(b"x")));
    rec!(
        log,
        "a write_closed ever: {}",
        ctx.seen_any(Token(1), "write_closed")
    );
    rec!(
        log,
        "try_io value: {}",
        kind(a.try_io(|| Ok::<_, io::Error>("v")))
    );
    rec!(log, "flush: {}", kind(a.flush()));
    log
}

#[cfg(unix)]
pub fn unix_stream_connect_missing() -> Vec<String> {
    let mut log = Vec::new();
    let path = fresh_path("missing");
    rec!(
        log,
        "connect missing: {}",
        ok_or_kind(&UnixStream::connect(&path))
    );
    std::fs::write(&path, b"not a socket").unwrap();
    rec!(
        log,
        "connect regular file: {}",
        ok_or_kind(&UnixStream::connect(&path))
    );
    let _ = std::fs::remove_file(&path);
    // Abstract addresses: Linux and Android only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let name = fresh_abstract_name("nobody");
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        rec!(
            log,
            "connect missing abstract: {}",
            ok_or_kind(&UnixStream::connect_addr(&addr))
        );
    }
    rec!(log, "connect dgram path: {}", {
        let p = fresh_path("dgram");
        let _d = UnixDatagram::bind(&p).unwrap();
        let res = ok_or_kind(&UnixStream::connect(&p));
        let _ = std::fs::remove_file(&p);
        res
    });
    log
}

#[cfg(unix)]
pub fn unix_stream_peer_dropped() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut a, b) = UnixStream::pair().unwrap();
    ctx.registry()
        .register(&mut a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    (&b).write_all(b"last").unwrap();
    drop(b);
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_read_closed()));
    rec!(log, "read: {}", drain(&a));
    rec!(log, "write: {}", kind(a.write(b"x")));
    rec!(log, "peer_addr: {}", ok_or_kind(&a.peer_addr()));
    log
}

#[cfg(unix)]
pub fn unix_datagram_pathname() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let pa = fresh_path("dgram-a");
    let pb = fresh_path("dgram-b");
    let mut a = UnixDatagram::bind(&pa).unwrap();
    let mut b = UnixDatagram::bind(&pb).unwrap();
    rec!(
        log,
        "nonblocking={} cloexec={}",
        is_nonblocking(a.as_raw_fd()),
        is_cloexec(a.as_raw_fd())
    );
    rec!(
        log,
        "local matches: {}",
        a.local_addr().unwrap().as_pathname() == Some(pa.as_path())
    );
    rec!(log, "peer_addr unconnected: {}", ok_or_kind(&a.peer_addr()));
    ctx.registry()
        .register(&mut a, Token(1), Interest::WRITABLE)
        .unwrap();
    ctx.registry()
        .register(&mut b, Token(2), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_writable()));
    let mut buf = [0u8; 16];
    rec!(
        log,
        "recv_from empty: {}",
        ok_or_kind(&b.recv_from(&mut buf))
    );
    rec!(log, "send_to: {}", kind(a.send_to(b"hi b", &pb)));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let (n, from) = b.recv_from(&mut buf).unwrap();
    rec!(
        log,
        "recv_from: {:?} from a: {}",
        &buf[..n],
        from.as_pathname() == Some(pa.as_path())
    );
    rec!(log, "recv drained: {}", kind(b.recv(&mut buf)));
    rec!(log, "send unconnected: {}", kind(a.send(b"x")));
    let missing = fresh_path("dgram-missing");
    rec!(log, "send_to missing: {}", kind(a.send_to(b"x", &missing)));
    rec!(log, "take_error: {}", taken(a.take_error()));
    // Truncation.
    a.send_to(b"0123456789", &pb).unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let mut small = [0u8; 4];
    rec!(
        log,
        "recv truncated: {} {small:?}",
        kind(b.recv(&mut small))
    );
    rec!(log, "then: {}", kind(b.recv(&mut small)));
    rec!(
        log,
        "bind same path: {}",
        ok_or_kind(&UnixDatagram::bind(&pb))
    );
    let _ = std::fs::remove_file(&pa);
    let _ = std::fs::remove_file(&pb);
    log
}

#[cfg(unix)]
pub fn unix_datagram_unbound_and_pair() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let u = UnixDatagram::unbound().unwrap();
    rec!(
        log,
        "unbound local unnamed: {}",
        u.local_addr().unwrap().is_unnamed()
    );
    let pb = fresh_path("dgram-target");
    let mut b = UnixDatagram::bind(&pb).unwrap();
    ctx.registry()
        .register(&mut b, Token(2), Interest::READABLE)
        .unwrap();
    rec!(log, "unbound send_to: {}", kind(u.send_to(b"anon", &pb)));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    let mut buf = [0u8; 16];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    rec!(
        log,
        "recv_from: {:?} unnamed={}",
        &buf[..n],
        from.is_unnamed()
    );
    let (mut x, mut y) = UnixDatagram::pair().unwrap();
    rec!(
        log,
        "pair unnamed: {} {}",
        x.local_addr().unwrap().is_unnamed(),
        x.peer_addr().unwrap().is_unnamed()
    );
    ctx.registry()
        .register(&mut x, Token(3), Interest::READABLE)
        .unwrap();
    ctx.registry()
        .register(&mut y, Token(4), Interest::READABLE)
        .unwrap();
    rec!(log, "pair send: {}", kind(y.send(b"paired")));
    rec!(log, "{}", ctx.wait(Token(3), |e| e.is_readable()));
    rec!(log, "pair recv: {}", kind(x.recv(&mut buf)));
    rec!(log, "shutdown read: {}", kind(x.shutdown(Shutdown::Read)));
    rec!(log, "{}", ctx.wait(Token(3), |e| e.is_read_closed()));
    rec!(log, "recv after shutdown read: {}", kind(x.recv(&mut buf)));
    rec!(log, "send to shut reader: {}", kind(y.send(b"x")));
    rec!(log, "shutdown write: {}", kind(y.shutdown(Shutdown::Write)));
    rec!(log, "send after shutdown write: {}", kind(y.send(b"x")));
    drop(x);
    // Unlike a stream pair, a datagram pair end is not woken when its
    // peer goes away; sending then fails.
    rec!(log, "after peer dropped: {}", ctx.quiet(Token(4)));
    rec!(log, "send to dropped peer: {}", kind(y.send(b"x")));
    rec!(log, "try_io: {}", kind(y.try_io(|| Ok::<_, io::Error>(1))));
    let _ = std::fs::remove_file(&pb);
    log
}

#[cfg(unix)]
pub fn unix_datagram_connect() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let pb = fresh_path("dgram-peer");
    let mut b = UnixDatagram::bind(&pb).unwrap();
    let a = UnixDatagram::unbound().unwrap();
    rec!(log, "connect: {}", kind(a.connect(&pb)));
    rec!(
        log,
        "peer_addr matches: {}",
        a.peer_addr().unwrap().as_pathname() == Some(pb.as_path())
    );
    ctx.registry()
        .register(&mut b, Token(2), Interest::READABLE)
        .unwrap();
    rec!(log, "send: {}", kind(a.send(b"connected")));
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    rec!(log, "recv: {}", drain_dgram(&b));
    let missing = fresh_path("dgram-nope");
    rec!(log, "connect missing: {}", kind(a.connect(&missing)));
    drop(b);
    rec!(log, "send to dropped peer: {}", kind(a.send(b"x")));
    let _ = std::fs::remove_file(&pb);
    log
}

#[cfg(unix)]
fn drain_dgram(d: &UnixDatagram) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match d.recv(&mut buf) {
            Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e) => return format!("{got:?} then Err({:?})", e.kind()),
        }
    }
}

#[cfg(unix)]
pub fn unix_std_conversions() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let path = fresh_path("std");
    let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let mut listener = UnixListener::from_std(std_listener);
    ctx.registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let std_client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let (server, _) = listener.accept().unwrap();
    let client = UnixStream::from_std(std_client);
    rec!(
        log,
        "from_std nonblocking: {}",
        is_nonblocking(client.as_raw_fd())
    );
    let std_server: std::os::unix::net::UnixStream = server.into();
    let owned: OwnedFd = std_server.into();
    let mut server = UnixStream::from(owned);
    ctx.registry()
        .register(&mut server, Token(2), Interest::READABLE)
        .unwrap();
    (&client).write_all(b"via owned").unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&server));
    let std_listener: std::os::unix::net::UnixListener = listener.into();
    rec!(
        log,
        "listener into std path: {}",
        std_listener.local_addr().unwrap().as_pathname() == Some(path.as_path())
    );
    let (sd1, sd2) = std::os::unix::net::UnixDatagram::pair().unwrap();
    sd1.set_nonblocking(true).unwrap();
    let d1 = UnixDatagram::from_std(sd1);
    sd2.send(b"dg").unwrap();
    rec!(log, "dgram from_std recv: {}", drain_dgram(&d1));
    let owned: OwnedFd = d1.into();
    let raw = owned.into_raw_fd();
    // SAFETY: `raw` was just released by `into_raw_fd`, so we own it.
    let d1 = unsafe { UnixDatagram::from_raw_fd(raw) };
    let std_d1: std::os::unix::net::UnixDatagram = d1.into();
    rec!(
        log,
        "dgram into std nonblocking: {}",
        is_nonblocking(std_d1.as_raw_fd())
    );
    let _ = std::fs::remove_file(&path);
    log
}

// ---------------------------------------------------------------------
// SourceFd
// ---------------------------------------------------------------------

#[cfg(unix)]
pub fn sourcefd_register() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let fd = a.as_raw_fd();
    rec!(
        log,
        "debug format: {}",
        format!("{:?}", SourceFd(&fd)) == format!("SourceFd({fd})")
    );
    rec!(
        log,
        "register: {}",
        full(
            ctx.registry()
                .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        )
    );
    b.write_all(b"raw").unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&a));
    rec!(
        log,
        "reregister: {}",
        full(ctx.registry().reregister(
            &mut SourceFd(&fd),
            Token(2),
            Interest::READABLE | Interest::WRITABLE
        ))
    );
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    // Without do_io, a SourceFd on epoll still gets new edges.
    b.write_all(b"again").unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_readable()));
    drop(b);
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_read_closed()));
    let res = ctx.registry().deregister(&mut SourceFd(&fd));
    // mio's poll(2) backend silently drops an fd after a hang-up, so the
    // caller's deregister fails with NotFound; nbio keeps the registration
    // until the caller removes it.
    #[cfg(not(nbio_force_poll))]
    rec!(log, "deregister: {}", full(res));
    #[cfg(nbio_force_poll)]
    drop(res);
    rec!(log, "after deregister: {}", ctx.quiet(Token(2)));
    log
}

#[cfg(unix)]
pub fn sourcefd_errors() -> Vec<String> {
    // SourceFd has no registration tracking in either library and either
    // profile: these are the raw epoll errors, identical by design.
    let mut log = Vec::new();
    let ctx = Ctx::new();
    let reg = ctx.registry();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    rec!(
        log,
        "register: {}",
        full_or_kind(reg.register(&mut SourceFd(&fd), Token(1), Interest::READABLE))
    );
    rec!(
        log,
        "register again: {}",
        full_or_kind(reg.register(&mut SourceFd(&fd), Token(1), Interest::READABLE))
    );
    let (c, _d) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd2 = c.as_raw_fd();
    rec!(
        log,
        "reregister unknown: {}",
        full_or_kind(reg.reregister(&mut SourceFd(&fd2), Token(2), Interest::READABLE))
    );
    rec!(
        log,
        "deregister unknown: {}",
        full_or_kind(reg.deregister(&mut SourceFd(&fd2)))
    );
    let path = fresh_path("regular-file");
    let file = std::fs::File::create(&path).unwrap();
    let ffd = file.as_raw_fd();
    rec!(
        log,
        "register regular file: {}",
        full_or_kind(reg.register(&mut SourceFd(&ffd), Token(3), Interest::READABLE))
    );
    drop(file);
    let _ = std::fs::remove_file(&path);
    let bad: std::os::fd::RawFd = -1;
    let res = reg.register(&mut SourceFd(&bad), Token(4), Interest::READABLE);
    // mio's poll(2) backend accepts -1; nbio rejects it with EBADF on every
    // backend, deliberately.
    #[cfg(not(nbio_force_poll))]
    rec!(log, "register -1: {}", full(res));
    #[cfg(nbio_force_poll)]
    drop(res);
    // The selector's own fd cannot be added to itself. (The poll(2)
    // backends, forced in both crates together, have no selector fd.)
    #[cfg(not(nbio_force_poll))]
    {
        let efd = ctx.poll.as_raw_fd();
        rec!(
            log,
            "register selector fd: {}",
            full_or_kind(reg.register(&mut SourceFd(&efd), Token(6), Interest::READABLE))
        );
    }
    // A socket whose peer is already gone registers fine.
    let (p, q) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(q);
    let pfd = p.as_raw_fd();
    rec!(
        log,
        "register closed-peer socket: {}",
        full_or_kind(reg.register(&mut SourceFd(&pfd), Token(5), Interest::READABLE))
    );
    log
}

// ---------------------------------------------------------------------
// pipe
// ---------------------------------------------------------------------

#[cfg(unix)]
pub fn pipe_events() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut tx, mut rx) = pipe::new().unwrap();
    rec!(
        log,
        "nonblocking={} cloexec={}",
        is_nonblocking(tx.as_raw_fd()) && is_nonblocking(rx.as_raw_fd()),
        is_cloexec(tx.as_raw_fd()) && is_cloexec(rx.as_raw_fd())
    );
    ctx.registry()
        .register(&mut rx, Token(1), Interest::READABLE)
        .unwrap();
    ctx.registry()
        .register(&mut tx, Token(2), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    rec!(log, "read empty: {}", kind(rx.read(&mut [0; 4])));
    rec!(log, "write: {}", kind(tx.write(b"abc")));
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&rx));
    let bufs = [IoSlice::new(b"12"), IoSlice::new(b"34")];
    rec!(log, "write_vectored: {}", kind((&tx).write_vectored(&bufs)));
    rec!(log, "flush: {}", kind((&tx).flush()));
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    let mut x = [0u8; 3];
    let mut y = [0u8; 3];
    let res = (&rx).read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]);
    rec!(log, "read_vectored: {} {x:?} {y:?}", kind(res));
    // Fill the pipe, then drain it: the sender becomes writable again.
    let chunk = [0u8; 4096];
    let mut total = 0usize;
    loop {
        match tx.write(&chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
                rec!(log, "fill: Err({:?})", e.kind());
                break;
            }
        }
    }
    rec!(log, "filled something: {}", total > 0);
    let mut buf = vec![0u8; 1 << 16];
    let mut read = 0usize;
    while read < total {
        match rx.read(&mut buf) {
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ctx.wait(Token(1), |e| e.is_readable());
            }
            Err(e) => {
                rec!(log, "drain: Err({:?})", e.kind());
                break;
            }
        }
    }
    rec!(log, "read back all: {}", read == total);
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    rec!(
        log,
        "tx try_io: {}",
        kind(tx.try_io(|| Ok::<_, io::Error>(())))
    );
    let rfd = rx.as_raw_fd();
    let mut b1 = [0u8; 1];
    rec!(
        log,
        "rx try_io raw read empty: {}",
        kind(rx.try_io(|| {
            // SAFETY: the pointer and length describe the live `b1` buffer.
            let n = unsafe { libc::read(rfd, b1.as_mut_ptr().cast(), 1) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }))
    );
    log
}

#[cfg(unix)]
pub fn pipe_sender_dropped() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut tx, mut rx) = pipe::new().unwrap();
    ctx.registry()
        .register(&mut rx, Token(1), Interest::READABLE)
        .unwrap();
    tx.write_all(b"bye").unwrap();
    drop(tx);
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_read_closed()));
    rec!(log, "read: {}", drain(&rx));
    rec!(log, "then: {}", ctx.quiet(Token(1)));
    log
}

#[cfg(unix)]
pub fn pipe_receiver_dropped() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (mut tx, rx) = pipe::new().unwrap();
    ctx.registry()
        .register(&mut tx, Token(2), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    drop(rx);
    rec!(
        log,
        "{}",
        ctx.wait(Token(2), |e| e.is_write_closed() || e.is_error())
    );
    rec!(log, "then: {}", ctx.quiet(Token(2)));
    rec!(log, "write: {}", kind(tx.write(b"x")));
    // A sender registered only after the receiver is gone.
    let (mut tx2, rx2) = pipe::new().unwrap();
    drop(rx2);
    ctx.registry()
        .register(&mut tx2, Token(3), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(3), |_| true));
    // A read end registered WRITABLE only hears about the hang-up.
    let (tx3, mut rx3) = pipe::new().unwrap();
    ctx.registry()
        .register(&mut rx3, Token(4), Interest::WRITABLE)
        .unwrap();
    rec!(log, "rx registered writable: {}", ctx.quiet(Token(4)));
    drop(tx3);
    rec!(log, "{}", ctx.wait(Token(4), |_| true));
    log
}

#[cfg(unix)]
pub fn pipe_set_nonblocking() -> Vec<String> {
    let mut log = Vec::new();
    let (tx, rx) = pipe::new().unwrap();
    rec!(log, "tx set blocking: {}", kind(tx.set_nonblocking(false)));
    rec!(log, "tx nonblocking: {}", is_nonblocking(tx.as_raw_fd()));
    rec!(log, "rx set blocking: {}", kind(rx.set_nonblocking(false)));
    rec!(log, "rx nonblocking: {}", is_nonblocking(rx.as_raw_fd()));
    rec!(
        log,
        "tx set nonblocking: {}",
        kind(tx.set_nonblocking(true))
    );
    rec!(
        log,
        "rx set nonblocking: {}",
        kind(rx.set_nonblocking(true))
    );
    rec!(
        log,
        "nonblocking: {} {}",
        is_nonblocking(tx.as_raw_fd()),
        is_nonblocking(rx.as_raw_fd())
    );
    rec!(
        log,
        "cloexec kept: {}",
        is_cloexec(tx.as_raw_fd()) && is_cloexec(rx.as_raw_fd())
    );
    rec!(log, "read: {}", kind((&rx).read(&mut [0; 4])));
    log
}

#[cfg(unix)]
pub fn pipe_from_child_stdout() -> Vec<String> {
    use std::process::{Command, Stdio};
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let mut child = Command::new("sh")
        .args(["-c", "printf 'hello from child'"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut rx = pipe::Receiver::from(child.stdout.take().unwrap());
    rec!(
        log,
        "from ChildStdout nonblocking: {}",
        is_nonblocking(rx.as_raw_fd())
    );
    rec!(log, "set_nonblocking: {}", kind(rx.set_nonblocking(true)));
    ctx.registry()
        .register(&mut rx, Token(1), Interest::READABLE)
        .unwrap();
    rec!(log, "read: {}", read_to_eof(&mut ctx, Token(1), &rx));
    rec!(log, "child ok: {}", child.wait().unwrap().success());

    // Sender from ChildStdin, Receiver from ChildStdout via `cat`, and
    // Receiver from ChildStderr.
    let mut child = Command::new("sh")
        .args(["-c", "cat; printf err >&2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut tx = pipe::Sender::from(child.stdin.take().unwrap());
    let mut out = pipe::Receiver::from(child.stdout.take().unwrap());
    let mut err = pipe::Receiver::from(child.stderr.take().unwrap());
    rec!(
        log,
        "from ChildStdin nonblocking: {}",
        is_nonblocking(tx.as_raw_fd())
    );
    rec!(
        log,
        "from ChildStderr nonblocking: {}",
        is_nonblocking(err.as_raw_fd())
    );
    tx.set_nonblocking(true).unwrap();
    out.set_nonblocking(true).unwrap();
    err.set_nonblocking(true).unwrap();
    ctx.registry()
        .register(&mut tx, Token(2), Interest::WRITABLE)
        .unwrap();
    ctx.registry()
        .register(&mut out, Token(3), Interest::READABLE)
        .unwrap();
    ctx.registry()
        .register(&mut err, Token(4), Interest::READABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    rec!(log, "write: {}", kind(tx.write(b"echoed")));
    drop(tx);
    rec!(log, "stdout: {}", read_to_eof(&mut ctx, Token(3), &out));
    rec!(log, "stderr: {}", read_to_eof(&mut ctx, Token(4), &err));
    rec!(log, "child ok: {}", child.wait().unwrap().success());
    log
}

#[cfg(unix)]
pub fn pipe_conversions() -> Vec<String> {
    let mut log = Vec::new();
    let mut ctx = Ctx::new();
    let (tx, rx) = pipe::new().unwrap();
    let tx_owned: OwnedFd = tx.into();
    let rx_owned: OwnedFd = rx.into();
    let mut tx = pipe::Sender::from(tx_owned);
    let raw = rx_owned.into_raw_fd();
    // SAFETY: `raw` was just released by `into_raw_fd`, so we own it.
    let mut rx = unsafe { pipe::Receiver::from_raw_fd(raw) };
    ctx.registry()
        .register(&mut rx, Token(1), Interest::READABLE)
        .unwrap();
    tx.write_all(b"converted").unwrap();
    rec!(log, "{}", ctx.wait(Token(1), |e| e.is_readable()));
    rec!(log, "drained: {}", drain(&rx));
    ctx.registry().deregister(&mut rx).unwrap();
    let raw = rx.into_raw_fd();
    // SAFETY: `raw` was just released by `into_raw_fd`, so we own it.
    let rx = unsafe { pipe::Receiver::from_raw_fd(raw) };
    rec!(log, "fd kept: {}", rx.as_raw_fd() == raw);
    use std::os::fd::AsFd;
    rec!(log, "as_fd matches: {}", rx.as_fd().as_raw_fd() == raw);
    ctx.registry()
        .register(&mut tx, Token(2), Interest::WRITABLE)
        .unwrap();
    rec!(log, "{}", ctx.wait(Token(2), |e| e.is_writable()));
    // Mixed std conversion: a std pipe end from the Sender's OwnedFd.
    let tx_fd: OwnedFd = tx.into();
    let mut file = std::fs::File::from(tx_fd);
    rec!(log, "std write: {}", kind(file.write(b"!")));
    rec!(log, "read: {}", drain(&rx));
    log
}
