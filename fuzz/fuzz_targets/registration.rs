#![no_main]
//! Model-based fuzzing of nbio's registration state machine (Linux).
//!
//! Each input is decoded into a short program (at most [`MAX_OPS`]
//! operations) run against one fresh `Poll`, a `Registry` cloned from it,
//! one `Waker` and four source pairs created on first use: two connected
//! `UnixStream` pairs, one loopback `TcpStream` pair and one
//! `unix::pipe` (end 0 the `Sender`, end 1 the `Receiver`). A reference
//! model shadows every source and every poll result is checked against it.
//!
//! # Input format
//!
//! Byte 0 picks the `Events` capacity ([`CAPACITIES`], bits 0-2) and, with
//! bit 3 set, leaves the `Waker` to be created by the first `wake` (the
//! epoll selector takes another path once a waker exists). Then each operation
//! is two bytes, `code` and `arg`. The high nibble of `code` is the
//! operation, the low nibble the source: pair `(n >> 1) % 4`, end `n & 1`.
//!
//! | op | operation | `arg` |
//! |----|-----------|-------|
//! | 0 | `register` | bits 0-2: interest ([`INTERESTS`]); bit 3: token from the top of the `usize` range; bit 6: through the cloned `Registry` |
//! | 1 | `reregister` | as `register`; bit 4: keep the current token; bit 7: through a second `Poll` instead |
//! | 2 | `deregister` | bit 6: through the cloned `Registry`; bit 7: through a second `Poll` instead |
//! | 3 | write to the other end | bits 0-2: size ([`WRITE_SIZES`]; 0 writes until `WouldBlock`) |
//! | 4 | read until `WouldBlock`, EOF or an error | - |
//! | 5 | `shutdown` (sockets only) | `arg % 3`: read, write, both |
//! | 6 | drop this end | - |
//! | 7 | drop the whole pair and create a fresh one | - |
//! | 8 | `Waker::wake`, or drop the `Waker` for good | `>= 0xf0`: drop |
//! | 10 | replace the cloned `Registry` with a new `try_clone` | - |
//! | 9, 11-15 | `poll` with a zero timeout, then check the obligations | - |
//!
//! A final poll-and-check ends every input; then everything is dropped and
//! the number of open file descriptors must be what it was before.
//!
//! # The model
//!
//! Per end: the registration (token, interest) if any, whether the end is
//! alive, its shutdowns, the bytes it wrote and read, and two "armed"
//! flags. An end is *read-armed* after a registration or reregistration
//! with readable interest and after a read hit `WouldBlock`; a readable (or
//! read-closed/error) event disarms it. Write-armed is the same for writable
//! interest and writes. These encode mio's edge-triggered contract: after
//! a `WouldBlock` (or a registration, which re-evaluates readiness) the next
//! readiness must be reported; after an event, nothing more is promised
//! until the next `WouldBlock`.
//!
//! Checked on every poll:
//! * every event's token is the waker's or the *current* token of a live,
//!   registered end: nothing for deregistered or dropped sources, nothing
//!   with a token replaced by `reregister` (events still in `Events` from
//!   an earlier poll are never looked at again);
//! * readable events only for readable (or priority) interest, writable
//!   events only for writable interest; waker events are readable, only
//!   after a `wake`, and after the waker is dropped at most one, and only if
//!   a wake was still unreported;
//! * obligations: a read-armed end registered readable with data pending
//!   (bytes the other end wrote that it has not read) or with the other end
//!   write-closed (shut down or dropped) must get a readable, read-closed or
//!   error event, and a readable one when data is pending; a write-armed
//!   end registered
//!   writable whose output was all read by the other end (and nothing is
//!   shut or dropped) must get a writable event; a `wake` must be followed
//!   by a waker event. Unix sockets, pipes and the eventfd deliver their
//!   wake-ups synchronously inside the writing system call, so these must
//!   show up within [`STRICT_POLLS`] zero-timeout polls. TCP over loopback
//!   goes through the network stack's softirq, which may be deferred, so its
//!   obligations get short timed polls up to [`TCP_DEADLINE`]; its data and
//!   writable obligations hold only while nothing on the pair is shut down
//!   or dropped (after that, resets make the byte counts guesses).
//!   Spurious and coalesced events are always allowed.
//!
//! Checked on every operation:
//! * `register` of a registered source fails with `AlreadyExists`,
//!   `reregister`/`deregister` of an unregistered one with `NotFound`
//!   (debug builds: nbio's own check with mio's messages; release builds:
//!   the same kinds from epoll's `EEXIST`/`ENOENT`), otherwise they succeed;
//!   through a second `Poll` they always fail (debug builds: `AlreadyExists`
//!   for reregistering a source registered elsewhere; otherwise `NotFound`)
//!   and leave the real registration untouched;
//! * bytes read are exactly the bytes the other end wrote, in order, never
//!   more than were written; on Unix sockets and pipes a read returns
//!   `WouldBlock` only with nothing pending and no EOF, and `Ok(0)` only at
//!   EOF with nothing pending; their writes fail with `BrokenPipe` exactly
//!   when the model says the way is shut (TCP: a write after our own
//!   write shutdown fails, and while nothing is shut every I/O succeeds or
//!   would block).
//!
//! cargo-fuzz builds with debug assertions on by default (`ci/fuzz.sh`
//! passes `--debug-assertions` to be explicit), so the debug-only
//! association checks are what is exercised; the target also holds in
//! release builds (`cargo fuzz run -O`).
//!
//! # Running
//!
//! `ci/fuzz.sh` installs the pinned nightly and cargo-fuzz, then fuzzes for
//! 60 s on a scratch copy of the seeds in `fuzz/corpus/registration/`. By
//! hand: `cargo +nightly-2026-07-20 fuzz run registration` (add
//! `RUSTFLAGS="--cfg nbio_force_poll"` for the poll(2) selector). To read
//! what an input does, replay it with `NBIO_FUZZ_TRACE=1`: every operation,
//! its I/O results and every poll's events are printed (a failure prints
//! the same trace up to the failing step).

use libfuzzer_sys::fuzz_target;
use nbio::event::Source;
use nbio::net::{TcpStream, UnixStream};
use nbio::unix::pipe;
use nbio::{Events, Interest, Poll, Registry, Token, Waker};
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

/// Upper bound on the operations decoded from one input.
const MAX_OPS: usize = 256;
/// The waker's token; registration tokens come from both ends of the
/// `usize` range and never reach it.
const WAKER_TOKEN: Token = Token(usize::MAX / 2);
/// Zero-timeout polls allowed for a synchronous obligation to show up
/// (capacity-1 `Events` need one poll per ready source).
const STRICT_POLLS: usize = 64;
/// How long a TCP obligation may take.
const TCP_DEADLINE: Duration = Duration::from_secs(10);
/// A write of size 0 writes this many bytes at most, until `WouldBlock`.
const FILL_LIMIT: u64 = 8 << 20;
/// SO_SNDBUF and SO_RCVBUF of the TCP sockets (the kernel doubles it).
const TCP_BUFFER: libc::c_int = 32 << 10;
/// TCP_MAXSEG of the TCP connections.
const TCP_MSS: libc::c_int = 4096;
/// Read and write chunk.
const CHUNK: usize = 64 << 10;
/// `Events` capacities picked by byte 0.
const CAPACITIES: [usize; 8] = [1, 2, 3, 8, 64, 64, 256, 1024];
/// Interests picked by `arg & 7`.
const INTERESTS: [Interest; 8] = [
    Interest::READABLE,
    Interest::WRITABLE,
    Interest::READABLE.add(Interest::WRITABLE),
    Interest::PRIORITY,
    Interest::READABLE.add(Interest::PRIORITY),
    Interest::WRITABLE.add(Interest::PRIORITY),
    Interest::READABLE
        .add(Interest::WRITABLE)
        .add(Interest::PRIORITY),
    Interest::READABLE,
];
/// Write sizes picked by `arg & 7`; 0 means "until `WouldBlock`".
const WRITE_SIZES: [usize; 8] = [0, 1, 7, 100, 1000, 4096, 65536, 200_000];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unix,
    Tcp,
    Pipe,
}

/// Which kind each of the four pair slots holds.
const PAIR_KINDS: [Kind; 4] = [Kind::Unix, Kind::Unix, Kind::Tcp, Kind::Pipe];
/// In a pipe pair, end 0 is the sender and end 1 the receiver.
const PIPE_RX: usize = 1;

#[derive(Debug)]
enum Src {
    Unix(UnixStream),
    Tcp(TcpStream),
    Tx(pipe::Sender),
    Rx(pipe::Receiver),
}

impl Src {
    fn source(&mut self) -> &mut dyn Source {
        match self {
            Src::Unix(s) => s,
            Src::Tcp(s) => s,
            Src::Tx(s) => s,
            Src::Rx(s) => s,
        }
    }

    fn write(&mut self, buf: &[u8]) -> Option<io::Result<usize>> {
        match self {
            Src::Unix(s) => Some(s.write(buf)),
            Src::Tcp(s) => Some(s.write(buf)),
            Src::Tx(s) => Some(s.write(buf)),
            Src::Rx(_) => None,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        match self {
            Src::Unix(s) => Some(s.read(buf)),
            Src::Tcp(s) => Some(s.read(buf)),
            Src::Rx(s) => Some(s.read(buf)),
            Src::Tx(_) => None,
        }
    }

    fn shutdown(&self, how: Shutdown) -> Option<io::Result<()>> {
        match self {
            Src::Unix(s) => Some(s.shutdown(how)),
            Src::Tcp(s) => Some(s.shutdown(how)),
            Src::Tx(_) | Src::Rx(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Reg {
    token: Token,
    interest: Interest,
}

#[derive(Debug, Default)]
struct End {
    /// `None` once dropped.
    src: Option<Src>,
    reg: Option<Reg>,
    armed_r: bool,
    armed_w: bool,
    shut_rd: bool,
    shut_wr: bool,
    dropped: bool,
    /// Bytes this end wrote (all accepted by the kernel).
    written: u64,
    /// Bytes this end read.
    read: u64,
    /// Unix sockets: the other end was closed with unread data, so one read
    /// may report `ConnectionReset`.
    reset_possible: bool,
}

#[derive(Debug)]
struct Pair {
    kind: Kind,
    generation: u64,
    ends: [End; 2],
}

impl Pair {
    /// Bytes written to end `e` that it has not read yet.
    fn pending(&self, e: usize) -> u64 {
        self.ends[1 - e].written - self.ends[e].read
    }

    /// Whether a read at end `e` may return EOF (`Ok(0)`).
    fn eof_possible(&self, e: usize) -> bool {
        let (end, other) = (&self.ends[e], &self.ends[1 - e]);
        match self.kind {
            Kind::Unix | Kind::Tcp => end.shut_rd || other.shut_wr || other.dropped,
            Kind::Pipe => e == PIPE_RX && other.dropped,
        }
    }

    /// TCP: nothing shut down or dropped, so the model is exact up to
    /// delivery delays.
    fn tcp_clean(&self) -> bool {
        self.ends
            .iter()
            .all(|end| !end.shut_rd && !end.shut_wr && !end.dropped)
    }

    /// Whether the model predicts every read result exactly.
    fn exact(&self) -> bool {
        self.kind != Kind::Tcp
    }

    /// The readable obligation of end `e`: `Some(true)` when a readable event
    /// is owed because data is pending, `Some(false)` when a readable,
    /// read-closed or error event is owed because the other end closed.
    fn owed_r(&self, e: usize) -> Option<bool> {
        let (end, other) = (&self.ends[e], &self.ends[1 - e]);
        let reg = end.reg?;
        if end.src.is_none() || !reg.interest.is_readable() || !end.armed_r {
            return None;
        }
        let data = self.pending(e) > 0;
        let closed = other.shut_wr || other.dropped;
        let (data, closed) = match self.kind {
            Kind::Unix => (data, closed),
            Kind::Pipe if e == PIPE_RX => (data, other.dropped),
            Kind::Pipe => (false, false),
            Kind::Tcp if end.shut_rd => (false, false),
            Kind::Tcp => (data && self.tcp_clean(), closed),
        };
        if data {
            Some(true)
        } else if closed {
            Some(false)
        } else {
            None
        }
    }

    /// Whether end `e` is owed a writable event: its output has all been
    /// read and nothing is shut or dropped on the way.
    fn owed_w(&self, e: usize) -> bool {
        let (end, other) = (&self.ends[e], &self.ends[1 - e]);
        let Some(reg) = end.reg else { return false };
        if end.src.is_none() || !reg.interest.is_writable() || !end.armed_w {
            return false;
        }
        let drained = end.written == other.read;
        match self.kind {
            Kind::Unix => drained && !end.shut_wr && !other.shut_rd && !other.dropped,
            Kind::Pipe => drained && e != PIPE_RX && !other.dropped,
            Kind::Tcp => drained && self.tcp_clean(),
        }
    }
}

/// The period of the byte pattern streams carry.
const PERIOD: usize = 251;

/// The bytes of the stream written by end `dir` of the pair of
/// `generation`, from stream offset `offset` on, are `cycle[offset % 251..]`
/// repeated: a pattern that shifts with all three, so misrouted, reordered,
/// duplicated or lost bytes are noticed.
fn cycle(generation: u64, dir: usize) -> [u8; PERIOD] {
    let salt = (generation as u8).wrapping_mul(29) ^ (dir as u8 * 0x5a);
    std::array::from_fn(|i| i as u8 ^ salt)
}

/// Fills `buf` with `n` bytes of the stream from `offset` on.
fn fill_pattern(buf: &mut Vec<u8>, cycle: &[u8; PERIOD], offset: u64, n: usize) {
    buf.clear();
    let mut at = (offset % PERIOD as u64) as usize;
    while buf.len() < n {
        let take = (PERIOD - at).min(n - buf.len());
        buf.extend_from_slice(&cycle[at..at + take]);
        at = 0;
    }
}

/// The index of the first byte of `data` that differs from the stream at
/// `offset`.
fn mismatch(data: &[u8], cycle: &[u8; PERIOD], offset: u64) -> Option<usize> {
    let mut at = (offset % PERIOD as u64) as usize;
    let mut done = 0;
    while done < data.len() {
        let take = (PERIOD - at).min(data.len() - done);
        if data[done..done + take] != cycle[at..at + take] {
            let i = (0..take)
                .find(|&i| data[done + i] != cycle[at + i])
                .unwrap();
            return Some(done + i);
        }
        done += take;
        at = 0;
    }
    None
}

/// What the checks need of one event, copied out of `Events`.
#[derive(Debug)]
struct Seen {
    token: Token,
    readable: bool,
    writable: bool,
    read_closed: bool,
    error: bool,
}

struct Harness {
    poll: Poll,
    clone: Registry,
    /// A second `Poll` no source is ever registered with, created on first
    /// use.
    foreign: Option<Poll>,
    events: Events,
    /// Created with the `Poll` or, if byte 0 says so, by the first `wake`.
    waker: Option<Waker>,
    /// The waker was dropped (a debug build forbids a second one).
    waker_dropped: bool,
    /// The waker was dropped with a wake not yet reported: one late waker
    /// event may still come.
    late_wake: bool,
    pairs: [Option<Pair>; 4],
    listener: Option<std::net::TcpListener>,
    generation: u64,
    next_token: usize,
    woken: bool,
    wake_owed: bool,
    /// The operations so far, for failure messages.
    trace: Vec<String>,
}

impl Harness {
    fn new(capacity: usize, waker: bool) -> Harness {
        let poll = Poll::new().expect("Poll::new");
        let clone = poll.registry().try_clone().expect("Registry::try_clone");
        let waker = waker.then(|| Waker::new(poll.registry(), WAKER_TOKEN).expect("Waker::new"));
        Harness {
            poll,
            clone,
            foreign: None,
            events: Events::with_capacity(capacity),
            waker,
            waker_dropped: false,
            late_wake: false,
            pairs: [None, None, None, None],
            listener: None,
            generation: 0,
            next_token: 0,
            woken: false,
            wake_owed: false,
            trace: Vec::new(),
        }
    }

    fn fail(&self, what: std::fmt::Arguments<'_>) -> ! {
        panic!("{what}\noperations:\n  {}", self.trace.join("\n  "));
    }

    fn fresh_token(&mut self, high: bool) -> Token {
        self.next_token += 1;
        if high {
            Token(usize::MAX - self.next_token)
        } else {
            Token(self.next_token)
        }
    }

    fn new_pair(&mut self, p: usize) -> Pair {
        self.generation += 1;
        let kind = PAIR_KINDS[p];
        let (a, b) = match kind {
            Kind::Unix => {
                let (a, b) = UnixStream::pair().expect("UnixStream::pair");
                (Src::Unix(a), Src::Unix(b))
            }
            Kind::Tcp => {
                let listener = self.listener.get_or_insert_with(|| {
                    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                    small_buffers(&listener, true);
                    listener
                });
                let addr = listener.local_addr().expect("local_addr");
                let a = std::net::TcpStream::connect(addr).expect("connect");
                let (b, _) = listener.accept().expect("accept");
                for s in [&a, &b] {
                    small_buffers(s, false);
                    s.set_nonblocking(true).expect("set_nonblocking");
                    s.set_nodelay(true).expect("set_nodelay");
                }
                (
                    Src::Tcp(TcpStream::from_std(a)),
                    Src::Tcp(TcpStream::from_std(b)),
                )
            }
            Kind::Pipe => {
                let (tx, rx) = pipe::new().expect("pipe::new");
                (Src::Tx(tx), Src::Rx(rx))
            }
        };
        let end = |src| End {
            src: Some(src),
            ..End::default()
        };
        Pair {
            kind,
            generation: self.generation,
            ends: [end(a), end(b)],
        }
    }

    fn pair(&mut self, p: usize) -> &mut Pair {
        if self.pairs[p].is_none() {
            let pair = self.new_pair(p);
            self.pairs[p] = Some(pair);
        }
        self.pairs[p].as_mut().unwrap()
    }

    fn step(&mut self, code: u8, arg: u8) {
        let p = ((code & 0x0f) >> 1) as usize % 4;
        let e = (code & 1) as usize;
        let op = code >> 4;
        self.trace.push(format!(
            "op {op} pair {p} ({:?}) end {e} arg {arg:#04x}",
            PAIR_KINDS[p]
        ));
        match op {
            0 => self.register(p, e, arg),
            1 => self.reregister(p, e, arg),
            2 => self.deregister(p, e, arg),
            3 => self.write(p, e, arg),
            4 => self.read(p, e),
            5 => self.shutdown(p, e, arg),
            6 => self.drop_end(p, e),
            7 => self.replace(p),
            8 if arg >= 0xf0 => self.drop_waker(),
            8 => self.wake(),
            10 => self.replace_clone(),
            _ => self.poll_and_check(),
        }
    }

    fn expect_err(&self, res: io::Result<()>, kind: ErrorKind, message: &str, what: &str) {
        match res {
            Err(err) if err.kind() == kind => {
                if cfg!(debug_assertions) && !err.to_string().contains(message) {
                    self.fail(format_args!("{what}: {err} does not say {message:?}"));
                }
            }
            other => self.fail(format_args!("{what}: expected {kind:?}, got {other:?}")),
        }
    }

    /// The registry an operation goes through: the `Poll`'s own, or the
    /// clone when bit 6 of `arg` is set.
    fn registry<'a>(poll: &'a Poll, clone: &'a Registry, arg: u8) -> &'a Registry {
        if arg & 0x40 != 0 {
            clone
        } else {
            poll.registry()
        }
    }

    fn register(&mut self, p: usize, e: usize, arg: u8) {
        let interest = INTERESTS[usize::from(arg & 7)];
        let token = self.fresh_token(arg & 8 != 0);
        self.pair(p);
        let registry = Self::registry(&self.poll, &self.clone, arg);
        let end = &mut self.pairs[p].as_mut().unwrap().ends[e];
        let Some(src) = end.src.as_mut() else { return };
        let res = registry.register(src.source(), token, interest);
        let was_registered = end.reg.is_some();
        if res.is_ok() && !was_registered {
            end.reg = Some(Reg { token, interest });
            end.armed_r = interest.is_readable();
            end.armed_w = interest.is_writable();
        }
        if was_registered {
            self.expect_err(
                res,
                ErrorKind::AlreadyExists,
                "already registered",
                "register twice",
            );
        } else if let Err(err) = res {
            self.fail(format_args!("register: {err}"));
        }
    }

    fn reregister(&mut self, p: usize, e: usize, arg: u8) {
        if arg & 0x80 != 0 {
            return self.foreign(p, e, arg, true);
        }
        let interest = INTERESTS[usize::from(arg & 7)];
        let fresh = self.fresh_token(arg & 8 != 0);
        self.pair(p);
        let registry = Self::registry(&self.poll, &self.clone, arg);
        let end = &mut self.pairs[p].as_mut().unwrap().ends[e];
        let Some(src) = end.src.as_mut() else { return };
        let token = match end.reg {
            Some(reg) if arg & 0x10 != 0 => reg.token,
            _ => fresh,
        };
        let res = registry.reregister(src.source(), token, interest);
        let was_registered = end.reg.is_some();
        if res.is_ok() && was_registered {
            end.reg = Some(Reg { token, interest });
            end.armed_r = interest.is_readable();
            end.armed_w = interest.is_writable();
        }
        if !was_registered {
            self.expect_err(
                res,
                ErrorKind::NotFound,
                "not registered",
                "reregister unregistered",
            );
        } else if let Err(err) = res {
            self.fail(format_args!("reregister: {err}"));
        }
    }

    fn deregister(&mut self, p: usize, e: usize, arg: u8) {
        if arg & 0x80 != 0 {
            return self.foreign(p, e, arg, false);
        }
        self.pair(p);
        let registry = Self::registry(&self.poll, &self.clone, arg);
        let end = &mut self.pairs[p].as_mut().unwrap().ends[e];
        let Some(src) = end.src.as_mut() else { return };
        let res = registry.deregister(src.source());
        let was_registered = end.reg.is_some();
        if res.is_ok() && was_registered {
            end.reg = None;
            end.armed_r = false;
            end.armed_w = false;
        }
        if !was_registered {
            self.expect_err(
                res,
                ErrorKind::NotFound,
                "not registered",
                "deregister unregistered",
            );
        } else if let Err(err) = res {
            self.fail(format_args!("deregister: {err}"));
        }
    }

    /// `reregister` (or `deregister`) through a `Poll` the source was never
    /// registered with: always an error, and the real registration, if any,
    /// must be left as it was (the next polls check that).
    fn foreign(&mut self, p: usize, e: usize, arg: u8, reregister: bool) {
        let interest = INTERESTS[usize::from(arg & 7)];
        let token = self.fresh_token(false);
        self.pair(p);
        let foreign = self
            .foreign
            .get_or_insert_with(|| Poll::new().expect("Poll::new"));
        let end = &mut self.pairs[p].as_mut().unwrap().ends[e];
        let Some(src) = end.src.as_mut() else { return };
        let registered = end.reg.is_some();
        let (res, what) = if reregister {
            let res = foreign.registry().reregister(src.source(), token, interest);
            (res, "reregister through another Poll")
        } else {
            (
                foreign.registry().deregister(src.source()),
                "deregister through another Poll",
            )
        };
        // Debug builds know the source belongs to the other `Poll`; release
        // builds ask a selector that has never seen the fd.
        if cfg!(debug_assertions) && reregister && registered {
            self.expect_err(res, ErrorKind::AlreadyExists, "different", what);
        } else {
            self.expect_err(res, ErrorKind::NotFound, "not registered", what);
        }
    }

    fn write(&mut self, p: usize, e: usize, arg: u8) {
        let size = WRITE_SIZES[usize::from(arg & 7)];
        let pair = self.pair(p);
        let kind = pair.kind;
        let cycle = cycle(pair.generation, e);
        let (end, other) = (&pair.ends[e], &pair.ends[1 - e]);
        if end.src.is_none() || (kind == Kind::Pipe && e == PIPE_RX) {
            return;
        }
        // Where the model knows the write must fail with EPIPE. TCP after a
        // shutdown or drop of the other end may fail or not (RST timing).
        let broken = match kind {
            Kind::Unix => end.shut_wr || other.shut_rd || other.dropped,
            Kind::Pipe => other.dropped,
            Kind::Tcp => end.shut_wr,
        };
        let lenient = kind == Kind::Tcp && !pair.tcp_clean();
        let (limit, fill) = if size == 0 {
            (FILL_LIMIT, true)
        } else {
            (size as u64, false)
        };
        let mut buf = Vec::with_capacity(CHUNK);
        let mut done = 0u64;
        let mut failure = None;
        let mut outcome = None;
        while done < limit {
            let pair = self.pairs[p].as_mut().unwrap();
            let end = &mut pair.ends[e];
            let n = (limit - done).min(CHUNK as u64) as usize;
            fill_pattern(&mut buf, &cycle, end.written, n);
            let res = end.src.as_mut().unwrap().write(&buf).unwrap();
            outcome = res.as_ref().err().map(|err| err.kind());
            match res {
                Ok(0) => failure = Some(format!("write of {n} bytes returned 0")),
                Ok(_) if broken => failure = Some("write succeeded on a shut way".into()),
                Ok(written) => {
                    end.written += written as u64;
                    done += written as u64;
                    if !fill && done >= limit {
                        break;
                    }
                    continue;
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock && !broken => {
                    end.armed_w = true;
                }
                Err(err) if broken && (err.kind() == ErrorKind::BrokenPipe || lenient) => {}
                Err(_) if lenient => {}
                Err(err) => {
                    failure = Some(format!("write: unexpected {err:?} (broken: {broken})"));
                }
            }
            break;
        }
        self.trace
            .push(format!("    wrote {done} bytes, then {outcome:?}"));
        if let Some(failure) = failure {
            self.fail(format_args!("{failure}"));
        }
    }

    fn read(&mut self, p: usize, e: usize) {
        let pair = self.pair(p);
        if pair.ends[e].src.is_none() || (pair.kind == Kind::Pipe && e != PIPE_RX) {
            return;
        }
        let cycle = cycle(pair.generation, 1 - e);
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0;
        let mut outcome;
        let failure = loop {
            let pair = self.pairs[p].as_mut().unwrap();
            let (kind, exact) = (pair.kind, pair.exact());
            let pending = pair.pending(e);
            let eof = pair.eof_possible(e);
            let lenient = kind == Kind::Tcp && !pair.tcp_clean();
            let end = &mut pair.ends[e];
            let res = end.src.as_mut().unwrap().read(&mut buf).unwrap();
            outcome = Some(res.as_ref().map_err(|err| err.kind()).copied());
            match res {
                Ok(0) => {
                    if !eof {
                        break Some("read returned EOF, the model says no EOF".to_string());
                    }
                    if exact && pending != 0 {
                        break Some(format!("read returned EOF with {pending} bytes pending"));
                    }
                    break None;
                }
                Ok(n) => {
                    if n as u64 > pending {
                        break Some(format!("read {n} bytes, only {pending} were written"));
                    }
                    let start = end.read;
                    if let Some(i) = mismatch(&buf[..n], &cycle, start) {
                        break Some(format!("wrong byte at stream offset {}", start + i as u64));
                    }
                    end.read += n as u64;
                    total += n;
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    if exact && (pending != 0 || eof) {
                        break Some(format!(
                            "read: WouldBlock with {pending} bytes pending, EOF possible: {eof}"
                        ));
                    }
                    end.armed_r = true;
                    break None;
                }
                Err(err)
                    if kind == Kind::Unix
                        && end.reset_possible
                        && err.kind() == ErrorKind::ConnectionReset =>
                {
                    end.reset_possible = false;
                    break None;
                }
                Err(_) if lenient => break None,
                Err(err) => break Some(format!("read: unexpected {err:?}")),
            }
        };
        self.trace
            .push(format!("    read {total} bytes, then {outcome:?}"));
        if let Some(failure) = failure {
            self.fail(format_args!("{failure}"));
        }
    }

    fn shutdown(&mut self, p: usize, e: usize, arg: u8) {
        let how = [Shutdown::Read, Shutdown::Write, Shutdown::Both][usize::from(arg % 3)];
        let pair = self.pair(p);
        let strict = match pair.kind {
            Kind::Unix => true,
            // Once both ways are closed the connection is gone (ENOTCONN).
            Kind::Tcp => pair.tcp_clean(),
            Kind::Pipe => return,
        };
        let end = &mut pair.ends[e];
        let Some(src) = end.src.as_ref() else { return };
        let res = src.shutdown(how).unwrap();
        // Linux records the shutdown even when it reports ENOTCONN.
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            end.shut_rd = true;
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            end.shut_wr = true;
        }
        if let (true, Err(err)) = (strict, res) {
            self.fail(format_args!("shutdown({how:?}): {err}"));
        }
    }

    fn drop_end(&mut self, p: usize, e: usize) {
        let pair = self.pair(p);
        let unread = pair.pending(e) > 0;
        let end = &mut pair.ends[e];
        if end.src.take().is_none() {
            return;
        }
        end.reg = None;
        end.armed_r = false;
        end.armed_w = false;
        end.dropped = true;
        if unread {
            // A Unix stream socket closed with unread data resets its peer.
            pair.ends[1 - e].reset_possible = true;
        }
    }

    fn replace(&mut self, p: usize) {
        self.pairs[p] = None;
        self.pair(p);
    }

    fn wake(&mut self) {
        if self.waker_dropped {
            return;
        }
        let registry = self.poll.registry();
        let waker = self
            .waker
            .get_or_insert_with(|| Waker::new(registry, WAKER_TOKEN).expect("Waker::new"));
        if let Err(err) = waker.wake() {
            self.fail(format_args!("wake: {err}"));
        }
        self.woken = true;
        self.wake_owed = true;
    }

    fn drop_waker(&mut self) {
        if self.waker.take().is_some() {
            self.waker_dropped = true;
            self.late_wake = self.wake_owed;
            self.wake_owed = false;
        }
    }

    fn replace_clone(&mut self) {
        self.clone = self
            .poll
            .registry()
            .try_clone()
            .expect("Registry::try_clone");
    }

    fn poll_once(&mut self, timeout: Duration) {
        if let Err(err) = self.poll.poll(&mut self.events, Some(timeout)) {
            self.fail(format_args!("poll: {err}"));
        }
        let seen: Vec<Seen> = self
            .events
            .iter()
            .map(|ev| Seen {
                token: ev.token(),
                readable: ev.is_readable(),
                writable: ev.is_writable(),
                read_closed: ev.is_read_closed(),
                error: ev.is_error(),
            })
            .collect();
        if seen.len() > self.events.capacity() {
            self.fail(format_args!(
                "{} events, capacity {}",
                seen.len(),
                self.events.capacity()
            ));
        }
        self.trace.push(format!("  polled {seen:?}"));
        for ev in &seen {
            self.check_event(ev);
        }
    }

    fn check_event(&mut self, ev: &Seen) {
        if ev.token == WAKER_TOKEN {
            if !ev.readable || !self.woken {
                self.fail(format_args!(
                    "waker event {ev:?}, woken before: {}",
                    self.woken
                ));
            }
            if self.waker_dropped {
                if !self.late_wake {
                    self.fail(format_args!("waker event after the waker was dropped"));
                }
                self.late_wake = false;
            }
            self.wake_owed = false;
            return;
        }
        let found = self.pairs.iter().enumerate().find_map(|(p, pair)| {
            let pair = pair.as_ref()?;
            (0..2).find_map(|e| {
                let end = &pair.ends[e];
                match end.reg {
                    Some(reg) if end.src.is_some() && reg.token == ev.token => Some((p, e, reg)),
                    _ => None,
                }
            })
        });
        let Some((p, e, reg)) = found else {
            self.fail(format_args!(
                "event for a token no live source holds: {ev:?}"
            ));
        };
        if ev.readable && !reg.interest.is_readable() && !reg.interest.is_priority() {
            self.fail(format_args!(
                "readable event for interest {:?}",
                reg.interest
            ));
        }
        if ev.writable && !reg.interest.is_writable() {
            self.fail(format_args!(
                "writable event for interest {:?}",
                reg.interest
            ));
        }
        let pair = self.pairs[p].as_ref().unwrap();
        if !ev.readable
            && (ev.read_closed || ev.error)
            && pair.exact()
            && pair.owed_r(e) == Some(true)
        {
            self.fail(format_args!(
                "data pending but the event is not readable: {ev:?}"
            ));
        }
        let end = &mut self.pairs[p].as_mut().unwrap().ends[e];
        if ev.readable || ev.read_closed || ev.error {
            end.armed_r = false;
        }
        if ev.writable {
            end.armed_w = false;
        }
    }

    /// The first unmet obligation: (strict, description).
    fn owed(&self) -> Option<(bool, String)> {
        let mut lenient = None;
        if self.wake_owed {
            return Some((true, "a waker event".into()));
        }
        for (p, pair) in self.pairs.iter().enumerate() {
            let Some(pair) = pair else { continue };
            for e in 0..2 {
                let what = if let Some(data) = pair.owed_r(e) {
                    let why = if data {
                        "data pending"
                    } else {
                        "other end closed"
                    };
                    format!("a readable event for pair {p} end {e} ({why})")
                } else if pair.owed_w(e) {
                    format!("a writable event for pair {p} end {e}")
                } else {
                    continue;
                };
                if pair.kind != Kind::Tcp {
                    return Some((true, what));
                }
                lenient.get_or_insert(what);
            }
        }
        lenient.map(|what| (false, what))
    }

    fn poll_and_check(&mut self) {
        self.poll_once(Duration::ZERO);
        let mut polls = 1;
        while let Some((true, what)) = self.owed() {
            if polls >= STRICT_POLLS {
                self.fail(format_args!("missing after {polls} polls: {what}"));
            }
            self.poll_once(Duration::ZERO);
            polls += 1;
        }
        let start = Instant::now();
        while let Some((_, what)) = self.owed() {
            if start.elapsed() > TCP_DEADLINE {
                self.fail(format_args!("missing after {TCP_DEADLINE:?}: {what}"));
            }
            self.poll_once(Duration::from_millis(10));
        }
    }
}

/// Shrinks a TCP socket's kernel buffers (accepted sockets inherit the
/// listener's), so that writing until `WouldBlock` takes some tens of
/// kilobytes instead of megabytes. On the listener, also caps the segment
/// size of its connections: with loopback's 64 KiB MSS a small receive
/// buffer could never advertise a full segment of window, and every stream
/// that filled it would stall on the sender's persist timer.
fn small_buffers(socket: &impl AsRawFd, listener: bool) {
    let mut options = vec![
        (libc::SOL_SOCKET, libc::SO_SNDBUF, TCP_BUFFER),
        (libc::SOL_SOCKET, libc::SO_RCVBUF, TCP_BUFFER),
    ];
    if listener {
        options.push((libc::IPPROTO_TCP, libc::TCP_MAXSEG, TCP_MSS));
    }
    for (level, option, value) in options {
        // SAFETY: the fd is an open socket borrowed for the duration of the
        // call; the value pointer and length describe `value`, a live c_int.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                level,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "setsockopt: {}", io::Error::last_os_error());
    }
}

fn ignore_sigpipe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Rust programs run with SIGPIPE ignored, but libFuzzer's own `main`
        // does not do that, and writes to a closed pipe or Unix socket would
        // kill the fuzzer instead of returning EPIPE.
        // SAFETY: SIG_IGN is a valid disposition for SIGPIPE, and this runs
        // once, before any thread of ours could be writing.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
    });
}

/// `NBIO_FUZZ_TRACE=1` prints every input's operations and poll results
/// (for reading what a seed or a crash input does).
fn trace_wanted() -> bool {
    static WANTED: OnceLock<bool> = OnceLock::new();
    *WANTED.get_or_init(|| std::env::var_os("NBIO_FUZZ_TRACE").is_some_and(|v| v == "1"))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fuzz_target!(|data: &[u8]| {
    ignore_sigpipe();
    let Some((&config, ops)) = data.split_first() else {
        return;
    };
    let before = open_fds();
    let mut harness = Harness::new(CAPACITIES[usize::from(config & 7)], config & 8 == 0);
    for op in ops.chunks(2).take(MAX_OPS) {
        harness.step(op[0], op.get(1).copied().unwrap_or(0));
    }
    harness.trace.push("final poll".into());
    harness.poll_and_check();
    if trace_wanted() {
        eprintln!("operations:\n  {}", harness.trace.join("\n  "));
    }
    drop(harness);
    let after = open_fds();
    assert_eq!(before, after, "file descriptors leaked by one input");
});
