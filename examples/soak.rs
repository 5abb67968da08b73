//! Soak test: many threads, each with its own `Poll`, open and close
//! loopback TCP connections continuously for a while, stream checksummed
//! data both ways through small, random partial reads and writes, and move
//! registrations between tokens mid-stream. At the end every byte must be
//! accounted for, no fd may be left open and the resident memory must have
//! stayed flat after warm-up.
//!
//! ```text
//! cargo run --release --example soak -- [--duration SECS] [--threads N]
//!     [--connections N] [--max-bytes N] [--warmup SECS] [--seed N]
//! ```
//!
//! * `--duration SECS` (default 30): how long new connections are opened;
//!   the connections open then are finished, not cut.
//! * `--threads N` (default 2): N server threads (each its own listener and
//!   `Poll`) and N client threads (each its own `Poll`).
//! * `--connections N` (default 64): connections each client thread keeps
//!   open at once.
//! * `--max-bytes N` (default 131072): each connection sends a random
//!   number of bytes, up to N, in each direction.
//! * `--warmup SECS` (default: a quarter of the duration, 1 to 10 s): when
//!   the memory baseline is taken.
//! * `--seed N`: the random seed (default: from the clock; printed).
//!
//! # What is checked
//!
//! * **Data**: a client starts each connection with a header (a seed and
//!   the two stream lengths), then both sides stream bytes of a
//!   deterministic generator keyed by the seed. Each receiver checks every
//!   byte against the generator, and that the stream ends (EOF, after
//!   `shutdown(Write)`) exactly at the announced length. Both ends also
//!   hash (FNV-1a) what they sent and received; per direction, the sums of
//!   those hashes and the byte totals must agree at the end.
//! * **Partial I/O**: each read and write uses a random size, from 1 byte
//!   to 16 KiB, log-uniformly, so many operations are partial.
//! * **Readiness**: edge-triggered use (every side reads and writes until
//!   `WouldBlock`); every so often a connection is re-registered under a
//!   fresh token (tokens are never reused, so a stale event is told apart
//!   and ignored) or with different interests. The server threads are told
//!   to stop through a `Waker`.
//! * **Connections**: every connection a client opens is completed by both
//!   sides; none fails.
//! * **fds** (Linux): the number of entries of `/proc/self/fd` after all
//!   threads are joined equals the number before any was started.
//! * **Memory** (Linux): the resident set size (`/proc/self/statm`) is
//!   sampled every second. The run fails if the last sample taken while
//!   traffic flows exceeds the sample at the end of warm-up by more than
//!   10% + 4 MiB. Warm-up lets the allocator's per-thread arenas, the
//!   connection tables and the socket buffers reach their working size;
//!   after that a run's memory is flat. The 4 MiB absorbs allocator
//!   granularity (arenas grow in large steps) and the 10% scales with the
//!   working set; a leak of a few hundred bytes per connection still
//!   exceeds it over a release run's tens of thousands of connections.
//! * **Liveness**: a watchdog fails the run when no byte moved and no
//!   connection completed for 10 s (a lost wake-up stalls a connection
//!   forever under edge triggering), or when a thread panicked.
//!
//! The last line is a one-line summary; the exit status is 0 only if every
//! check passed.

use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Tokens for connections start here and are never reused.
const FIRST_CONNECTION: usize = 2;
/// Largest single read or write.
const MAX_CHUNK: usize = 16 * 1024;
/// Client header: seed, client-to-server length, server-to-client length,
/// and a check word, little-endian.
const HEADER_LEN: usize = 32;
const HEADER_MAGIC: u64 = 0x6e62_696f_736f_616b; // "nbiosoak"
/// A watchdog fails the run after this long without progress.
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// How often a connection moves to a new token: one event in this many.
const MOVE_ONE_IN: u64 = 4;

// ---------------------------------------------------------------------------
// Random numbers and the data streams.

/// splitmix64: a small, fast, well-mixed generator (also used as a hash).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A per-thread random source for sizes and decisions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0; the bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A read or write size: log-uniform from 1 to `MAX_CHUNK`.
    fn chunk(&mut self) -> usize {
        let bits = self.below(MAX_CHUNK.trailing_zeros() as u64 + 1);
        1 + self.below(1 << bits) as usize
    }
}

/// Byte `pos` of the stream keyed by `seed`: random access, so a partial
/// write simply resumes at the position the kernel took up to.
fn fill(seed: u64, pos: u64, out: &mut [u8]) {
    let mut block = pos / 8;
    let mut word = mix(seed ^ mix(block)).to_le_bytes();
    for (i, byte) in out.iter_mut().enumerate() {
        let p = pos + i as u64;
        if p / 8 != block {
            block = p / 8;
            word = mix(seed ^ mix(block)).to_le_bytes();
        }
        *byte = word[(p % 8) as usize];
    }
}

/// FNV-1a, 64-bit, continued from `hash`.
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The seed of the server-to-client stream, from the connection's seed.
fn reverse_seed(seed: u64) -> u64 {
    mix(seed ^ 0x5eed)
}

// ---------------------------------------------------------------------------
// Shared accounting.

#[derive(Default)]
struct Stats {
    opened: AtomicU64,
    client_completed: AtomicU64,
    server_completed: AtomicU64,
    c2s_sent: AtomicU64,
    c2s_received: AtomicU64,
    s2c_sent: AtomicU64,
    s2c_received: AtomicU64,
    // Wrapping sums of per-connection FNV hashes, per direction and end.
    c2s_sent_hash: AtomicU64,
    c2s_received_hash: AtomicU64,
    s2c_sent_hash: AtomicU64,
    s2c_received_hash: AtomicU64,
    token_moves: AtomicU64,
    interest_changes: AtomicU64,
    stale_events: AtomicU64,
    violations: AtomicUsize,
    messages: Mutex<Vec<String>>,
    /// Set when no new connections should be opened.
    stop: AtomicBool,
    /// Set once every client thread is done: the servers may exit when
    /// their last connection is done.
    clients_done: AtomicBool,
}

impl Stats {
    fn violation(&self, message: String) {
        self.violations.fetch_add(1, Ordering::Relaxed);
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        if messages.len() < 20 {
            messages.push(message);
        }
    }

    /// A number that grows whenever anything happens (for the watchdog).
    fn progress(&self) -> u64 {
        self.c2s_received.load(Ordering::Relaxed)
            + self.s2c_received.load(Ordering::Relaxed)
            + self.client_completed.load(Ordering::Relaxed)
            + self.server_completed.load(Ordering::Relaxed)
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------
// One connection, either end.

/// Bytes this end sends: an optional header, then `len` generated bytes.
struct Outgoing {
    header: Vec<u8>,
    header_sent: usize,
    seed: u64,
    len: u64,
    pos: u64,
    hash: u64,
    /// `shutdown(Write)` done after the last byte.
    done: bool,
}

/// Bytes this end receives and checks.
struct Incoming {
    seed: u64,
    len: u64,
    pos: u64,
    hash: u64,
    /// End of stream seen.
    done: bool,
}

enum Role {
    /// Connecting (waiting for the first writable event), then streaming.
    Client { connected: bool },
    /// Reading the client's header; `incoming` and `outgoing` are set up
    /// once it is complete.
    Server { header: Vec<u8> },
}

struct Connection {
    stream: TcpStream,
    role: Role,
    outgoing: Option<Outgoing>,
    incoming: Option<Incoming>,
    interests: Interest,
}

/// How a connection stands after being driven.
enum Status {
    Open,
    Complete,
}

impl Connection {
    fn interests_needed(&self) -> Option<Interest> {
        let want_read = !self.incoming.as_ref().is_some_and(|i| i.done);
        let want_write = match &self.role {
            Role::Client { connected: false } => true,
            _ => !self.outgoing.as_ref().is_some_and(|o| o.done),
        };
        match (want_read, want_write) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        }
    }

    /// Reads and writes until both directions would block or are done.
    fn drive(&mut self, rng: &mut Rng, scratch: &mut [u8], stats: &Stats) -> io::Result<Status> {
        if let Role::Client { connected } = &mut self.role {
            if !*connected {
                // A writable event (or an error) ends a non-blocking
                // connect; `peer_addr` tells which.
                if let Some(e) = self.stream.take_error()? {
                    return Err(e);
                }
                match self.stream.peer_addr() {
                    Ok(_) => *connected = true,
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(Status::Open),
                    Err(e) => return Err(e),
                }
            }
        }
        loop {
            let wrote = self.write_some(rng, scratch, stats)?;
            let read = self.read_some(rng, scratch, stats)?;
            let write_idle = self.outgoing.as_ref().map_or(true, |o| o.done) || !wrote;
            let read_idle = self.incoming.as_ref().is_some_and(|i| i.done) || !read;
            if write_idle && read_idle {
                break;
            }
        }
        let out_done = self.outgoing.as_ref().is_some_and(|o| o.done);
        let in_done = self.incoming.as_ref().is_some_and(|i| i.done);
        Ok(if out_done && in_done {
            Status::Complete
        } else {
            Status::Open
        })
    }

    /// One write of a random size. Returns whether it made progress (false:
    /// `WouldBlock`, or nothing to send yet).
    fn write_some(&mut self, rng: &mut Rng, scratch: &mut [u8], stats: &Stats) -> io::Result<bool> {
        let Some(out) = self.outgoing.as_mut() else {
            return Ok(false); // the server has not read the header yet
        };
        if out.done {
            return Ok(false);
        }
        let size = rng.chunk();
        let res = if out.header_sent < out.header.len() {
            let end = out.header.len().min(out.header_sent + size);
            self.stream.write(&out.header[out.header_sent..end])
        } else {
            let n = size.min((out.len - out.pos) as usize);
            if n == 0 {
                Ok(0)
            } else {
                fill(out.seed, out.pos, &mut scratch[..n]);
                self.stream.write(&scratch[..n])
            }
        };
        match res {
            Ok(n) if out.header_sent < out.header.len() => out.header_sent += n,
            Ok(n) => {
                out.hash = fnv(out.hash, &scratch[..n]);
                out.pos += n as u64;
                let sent = if matches!(self.role, Role::Client { .. }) {
                    &stats.c2s_sent
                } else {
                    &stats.s2c_sent
                };
                add(sent, n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(true),
            Err(e) => return Err(e),
        }
        if out.header_sent == out.header.len() && out.pos == out.len {
            self.stream.shutdown(Shutdown::Write)?;
            out.done = true;
            let (total, hash) = if matches!(self.role, Role::Client { .. }) {
                (&stats.c2s_sent_hash, out.hash)
            } else {
                (&stats.s2c_sent_hash, out.hash)
            };
            add(total, hash);
        }
        Ok(true)
    }

    /// One read of a random size, checked. Returns whether it made progress.
    fn read_some(&mut self, rng: &mut Rng, scratch: &mut [u8], stats: &Stats) -> io::Result<bool> {
        if self.incoming.as_ref().is_some_and(|i| i.done) {
            return Ok(false);
        }
        let size = rng.chunk();
        let buf = &mut scratch[..size];
        let n = match self.stream.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(true),
            Err(e) => return Err(e),
        };
        let mut data = &buf[..n];
        // The server first completes the client's header.
        if let Role::Server { header } = &mut self.role {
            if self.incoming.is_none() {
                if n == 0 {
                    return Err(invalid("connection closed inside the header"));
                }
                let take = (HEADER_LEN - header.len()).min(data.len());
                header.extend_from_slice(&data[..take]);
                data = &data[take..];
                if header.len() == HEADER_LEN {
                    let word =
                        |i: usize| u64::from_le_bytes(header[i * 8..i * 8 + 8].try_into().unwrap());
                    let (seed, c2s, s2c, check) = (word(0), word(1), word(2), word(3));
                    if check != seed ^ c2s ^ s2c ^ HEADER_MAGIC {
                        return Err(invalid("corrupt header"));
                    }
                    self.incoming = Some(Incoming::new(seed, c2s));
                    self.outgoing = Some(Outgoing::new(Vec::new(), reverse_seed(seed), s2c));
                } else {
                    return Ok(true);
                }
            }
        }
        let client = matches!(self.role, Role::Client { .. });
        let Some(inc) = self.incoming.as_mut() else {
            return Ok(true);
        };
        if n == 0 {
            if inc.pos != inc.len {
                return Err(invalid(&format!(
                    "stream ended after {} of {} bytes",
                    inc.pos, inc.len
                )));
            }
            inc.done = true;
            let total = if client {
                &stats.s2c_received_hash
            } else {
                &stats.c2s_received_hash
            };
            add(total, inc.hash);
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(true);
        }
        if inc.pos + data.len() as u64 > inc.len {
            return Err(invalid(&format!(
                "{} bytes past the announced {}",
                inc.pos + data.len() as u64 - inc.len,
                inc.len
            )));
        }
        let mut expected = [0u8; MAX_CHUNK];
        let expected = &mut expected[..data.len()];
        fill(inc.seed, inc.pos, expected);
        if data != &expected[..] {
            let at = data.iter().zip(expected.iter()).position(|(a, b)| a != b);
            return Err(invalid(&format!(
                "wrong byte at offset {} of the stream",
                inc.pos + at.unwrap_or(0) as u64
            )));
        }
        inc.hash = fnv(inc.hash, data);
        inc.pos += data.len() as u64;
        let received = if client {
            &stats.s2c_received
        } else {
            &stats.c2s_received
        };
        add(received, data.len() as u64);
        Ok(true)
    }
}

impl Outgoing {
    fn new(header: Vec<u8>, seed: u64, len: u64) -> Outgoing {
        Outgoing {
            header,
            header_sent: 0,
            seed,
            len,
            pos: 0,
            hash: FNV_START,
            done: false,
        }
    }
}

impl Incoming {
    fn new(seed: u64, len: u64) -> Incoming {
        Incoming {
            seed,
            len,
            pos: 0,
            hash: FNV_START,
            done: false,
        }
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

// ---------------------------------------------------------------------------
// The event loops.

/// The connections of one thread, keyed by their current token.
struct Table {
    connections: HashMap<Token, Connection>,
    next_token: usize,
}

impl Table {
    fn new() -> Table {
        Table {
            connections: HashMap::new(),
            next_token: FIRST_CONNECTION,
        }
    }

    fn fresh_token(&mut self) -> Token {
        let token = Token(self.next_token);
        self.next_token += 1;
        token
    }

    /// Drives the connection behind `token` after an event, then closes
    /// it, moves it to a new token, or updates its interests. Returns
    /// whether it completed.
    fn handle(
        &mut self,
        poll: &Poll,
        token: Token,
        rng: &mut Rng,
        scratch: &mut [u8],
        stats: &Stats,
        what: &str,
    ) -> bool {
        let Some(connection) = self.connections.get_mut(&token) else {
            // An event queued under a token the connection has left.
            stats.stale_events.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let status = connection.drive(rng, scratch, stats);
        let interests = match status {
            Ok(Status::Complete) => None,
            Ok(Status::Open) => connection.interests_needed(),
            Err(e) => {
                stats.violation(format!("{what} connection failed: {e}"));
                let mut connection = self.connections.remove(&token).unwrap();
                let _ = poll.registry().deregister(&mut connection.stream);
                return false;
            }
        };
        let Some(interests) = interests else {
            // Both directions are done. Deregister every other connection
            // explicitly; the rest are simply dropped (closing deregisters).
            let mut connection = self.connections.remove(&token).unwrap();
            if rng.below(2) == 0 {
                if let Err(e) = poll.registry().deregister(&mut connection.stream) {
                    stats.violation(format!("{what} deregister failed: {e}"));
                }
            }
            return true;
        };
        // Everything readable was read and everything writable written, so
        // nothing is lost if the registration changes now.
        let moving = rng.below(MOVE_ONE_IN) == 0;
        if !moving && interests == connection.interests {
            return false;
        }
        let new_token = if moving { self.fresh_token() } else { token };
        let mut connection = self.connections.remove(&token).unwrap();
        match poll
            .registry()
            .reregister(&mut connection.stream, new_token, interests)
        {
            Ok(()) => {
                if moving {
                    stats.token_moves.fetch_add(1, Ordering::Relaxed);
                }
                if interests != connection.interests {
                    stats.interest_changes.fetch_add(1, Ordering::Relaxed);
                }
                connection.interests = interests;
                self.connections.insert(new_token, connection);
            }
            Err(e) => stats.violation(format!("{what} reregister failed: {e}")),
        }
        false
    }
}

fn poll_once(poll: &mut Poll, events: &mut Events) -> io::Result<()> {
    match poll.poll(events, Some(Duration::from_millis(100))) {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
        other => other,
    }
}

/// A server thread: accepts, answers each client's header with the stream
/// it asked for, checks the client's stream. Exits once every client
/// thread is done and its own connections are complete.
fn server(mut poll: Poll, mut listener: TcpListener, stats: Arc<Stats>, seed: u64) {
    let mut events = Events::with_capacity(256);
    let mut table = Table::new();
    let mut rng = Rng(seed);
    let mut scratch = vec![0u8; MAX_CHUNK];
    if let Err(e) = poll
        .registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
    {
        stats.violation(format!("server: register listener: {e}"));
        return;
    }
    loop {
        if let Err(e) = poll_once(&mut poll, &mut events) {
            stats.violation(format!("server: poll failed: {e}"));
            return;
        }
        for event in events.iter() {
            match event.token() {
                LISTENER => loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let token = table.fresh_token();
                            let interests = Interest::READABLE;
                            if let Err(e) = poll.registry().register(&mut stream, token, interests)
                            {
                                stats.violation(format!("server: register: {e}"));
                                continue;
                            }
                            let connection = Connection {
                                stream,
                                role: Role::Server {
                                    header: Vec::with_capacity(HEADER_LEN),
                                },
                                outgoing: None,
                                incoming: None,
                                interests,
                            };
                            table.connections.insert(token, connection);
                            // Data that came before the registration raised
                            // no event: look now.
                            if table.handle(&poll, token, &mut rng, &mut scratch, &stats, "server")
                            {
                                stats.server_completed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            stats.violation(format!("server: accept failed: {e}"));
                            break;
                        }
                    }
                },
                WAKER => {}
                token => {
                    if table.handle(&poll, token, &mut rng, &mut scratch, &stats, "server") {
                        stats.server_completed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        if stats.clients_done.load(Ordering::Acquire) && table.connections.is_empty() {
            return;
        }
    }
}

struct ClientConfig {
    servers: Vec<SocketAddr>,
    connections: usize,
    max_bytes: u64,
}

/// A client thread: keeps `connections` connections going until told to
/// stop, then finishes the open ones.
fn client(mut poll: Poll, config: Arc<ClientConfig>, stats: Arc<Stats>, seed: u64) {
    let mut events = Events::with_capacity(256);
    let mut table = Table::new();
    let mut rng = Rng(seed);
    let mut scratch = vec![0u8; MAX_CHUNK];
    let mut next_server = 0;
    loop {
        let stopping = stats.stop.load(Ordering::Relaxed);
        while !stopping && table.connections.len() < config.connections {
            let addr = config.servers[next_server % config.servers.len()];
            next_server += 1;
            let mut stream = match TcpStream::connect(addr) {
                Ok(stream) => stream,
                Err(e) => {
                    stats.violation(format!("client: connect failed: {e}"));
                    break;
                }
            };
            let token = table.fresh_token();
            let interests = Interest::READABLE | Interest::WRITABLE;
            if let Err(e) = poll.registry().register(&mut stream, token, interests) {
                stats.violation(format!("client: register: {e}"));
                continue;
            }
            // Zero-length streams now and then, else up to max_bytes.
            let mut length = || match rng.below(16) {
                0 => 0,
                _ => rng.below(config.max_bytes + 1),
            };
            let (c2s, s2c) = (length(), length());
            let conn_seed = rng.next();
            let mut header = Vec::with_capacity(HEADER_LEN);
            for word in [conn_seed, c2s, s2c, conn_seed ^ c2s ^ s2c ^ HEADER_MAGIC] {
                header.extend_from_slice(&word.to_le_bytes());
            }
            let connection = Connection {
                stream,
                role: Role::Client { connected: false },
                outgoing: Some(Outgoing::new(header, conn_seed, c2s)),
                incoming: Some(Incoming::new(reverse_seed(conn_seed), s2c)),
                interests,
            };
            table.connections.insert(token, connection);
            stats.opened.fetch_add(1, Ordering::Relaxed);
        }
        if stopping && table.connections.is_empty() {
            return;
        }
        if let Err(e) = poll_once(&mut poll, &mut events) {
            stats.violation(format!("client: poll failed: {e}"));
            return;
        }
        for event in events.iter() {
            if table.handle(
                &poll,
                event.token(),
                &mut rng,
                &mut scratch,
                &stats,
                "client",
            ) {
                stats.client_completed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Process-level measurements (Linux).

/// The number of open fds: entries of `/proc/self/fd` (the handle used to
/// read it is counted every time, so it cancels out).
#[cfg(target_os = "linux")]
fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

#[cfg(not(target_os = "linux"))]
fn open_fds() -> Option<usize> {
    None
}

/// Resident set size in bytes, from `/proc/self/statm` (in pages).
#[cfg(target_os = "linux")]
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(not(target_os = "linux"))]
fn rss() -> Option<u64> {
    None
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

// ---------------------------------------------------------------------------
// Setup, watchdog, verdict.

struct Args {
    duration: Duration,
    threads: usize,
    connections: usize,
    max_bytes: u64,
    warmup: Option<Duration>,
    seed: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        duration: Duration::from_secs(30),
        threads: 2,
        connections: 64,
        max_bytes: 128 * 1024,
        warmup: None,
        seed: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("{flag}: not a number: {v:?}"))
        };
        let seconds = |v: &str| -> Result<Duration, String> {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or(format!("{flag}: not a number of seconds: {v:?}"))
        };
        match flag.as_str() {
            "--duration" => args.duration = seconds(&value)?,
            "--threads" => args.threads = number(&value)?.max(1) as usize,
            "--connections" => args.connections = number(&value)?.max(1) as usize,
            "--max-bytes" => args.max_bytes = number(&value)?,
            "--warmup" => args.warmup = Some(seconds(&value)?),
            "--seed" => args.seed = Some(number(&value)?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}");
            eprintln!(
                "usage: soak [--duration SECS] [--threads N] [--connections N] \
                 [--max-bytes N] [--warmup SECS] [--seed N]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: setup failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the soak; `Ok(false)` if a check failed (already reported).
fn run(args: &Args) -> io::Result<bool> {
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let warmup = args
        .warmup
        .unwrap_or_else(|| {
            (args.duration / 4).clamp(Duration::from_secs(1), Duration::from_secs(10))
        })
        .min(args.duration);
    let fds_before = open_fds();
    let stats = Arc::new(Stats::default());
    let start = Instant::now();

    // Servers: a listener, a Poll and a Waker each.
    let mut servers = Vec::new();
    let mut wakers = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..args.threads {
        let poll = Poll::new()?;
        wakers.push(Waker::new(poll.registry(), WAKER)?);
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
        addrs.push(listener.local_addr()?);
        let stats = Arc::clone(&stats);
        let thread_seed = mix(seed ^ (i as u64 + 1));
        servers.push(
            thread::Builder::new()
                .name(format!("server-{i}"))
                .spawn(move || server(poll, listener, stats, thread_seed))?,
        );
    }
    let config = Arc::new(ClientConfig {
        servers: addrs,
        connections: args.connections,
        max_bytes: args.max_bytes,
    });
    let mut clients = Vec::new();
    for i in 0..args.threads {
        let poll = Poll::new()?;
        let (config, stats) = (Arc::clone(&config), Arc::clone(&stats));
        let thread_seed = mix(seed ^ (0x100 + i as u64));
        clients.push(
            thread::Builder::new()
                .name(format!("client-{i}"))
                .spawn(move || client(poll, config, stats, thread_seed))?,
        );
    }

    // Watchdog and sampler, on this thread.
    let mut rss_warm: Option<u64> = None;
    let mut rss_last_running: Option<u64> = None;
    let rss_start = rss();
    let mut last_progress = (stats.progress(), Instant::now());
    let mut next_sample = start;
    let mut failed = false;
    loop {
        let now = Instant::now();
        let elapsed = now - start;
        if elapsed >= args.duration && !stats.stop.load(Ordering::Relaxed) {
            stats.stop.store(true, Ordering::Relaxed);
        }
        if now >= next_sample {
            next_sample += Duration::from_secs(1);
            let sample = rss();
            if !stats.stop.load(Ordering::Relaxed) {
                if elapsed >= warmup && rss_warm.is_none() {
                    rss_warm = sample;
                }
                rss_last_running = sample;
            }
        }
        if clients.iter().all(|t| t.is_finished()) && !stats.clients_done.load(Ordering::Acquire) {
            stats.clients_done.store(true, Ordering::Release);
            for waker in &wakers {
                if let Err(e) = waker.wake() {
                    stats.violation(format!("wake failed: {e}"));
                }
            }
        }
        if servers.iter().all(|t| t.is_finished()) && clients.iter().all(|t| t.is_finished()) {
            break;
        }
        let progress = stats.progress();
        if progress != last_progress.0 {
            last_progress = (progress, now);
        } else if now - last_progress.1 >= STALL_LIMIT {
            eprintln!(
                "soak: FAIL: no progress for {STALL_LIMIT:?} ({} connections open per client \
                 thread at most; {} opened, {} completed by clients, {} by servers)",
                args.connections,
                stats.opened.load(Ordering::Relaxed),
                stats.client_completed.load(Ordering::Relaxed),
                stats.server_completed.load(Ordering::Relaxed),
            );
            // The threads are stuck in bounded polls, but something is
            // lost: give up on them.
            return Ok(false);
        }
        thread::sleep(Duration::from_millis(50));
    }
    let duration = start.elapsed();
    for t in servers.into_iter().chain(clients) {
        let name = t.thread().name().unwrap_or("?").to_string();
        if t.join().is_err() {
            stats.violation(format!("thread {name} panicked"));
        }
    }
    drop(wakers);
    let fds_after = open_fds();

    // The verdict.
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut problems: Vec<String> = stats
        .messages
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let violations = stats.violations.load(Ordering::Relaxed);
    if violations > problems.len() {
        problems.push(format!(
            "... and {} more violations",
            violations - problems.len()
        ));
    }
    let opened = load(&stats.opened);
    let pairs = [
        (
            "connections completed by clients",
            opened,
            load(&stats.client_completed),
        ),
        (
            "connections completed by servers",
            opened,
            load(&stats.server_completed),
        ),
        (
            "bytes client->server",
            load(&stats.c2s_sent),
            load(&stats.c2s_received),
        ),
        (
            "bytes server->client",
            load(&stats.s2c_sent),
            load(&stats.s2c_received),
        ),
        (
            "hash sum client->server",
            load(&stats.c2s_sent_hash),
            load(&stats.c2s_received_hash),
        ),
        (
            "hash sum server->client",
            load(&stats.s2c_sent_hash),
            load(&stats.s2c_received_hash),
        ),
    ];
    for (what, sent, received) in pairs {
        if sent != received {
            problems.push(format!(
                "{what}: {sent} sent/opened, {received} received/completed"
            ));
        }
    }
    if opened == 0 {
        problems.push("no connection was opened".to_string());
    }
    if load(&stats.token_moves) == 0 {
        problems.push("no registration moved to a new token".to_string());
    }
    if let (Some(before), Some(after)) = (fds_before, fds_after) {
        if before != after {
            problems.push(format!("open fds: {before} before, {after} after"));
        }
    }
    if let (Some(warm), Some(last)) = (rss_warm, rss_last_running) {
        let allowed = warm + warm / 10 + 4 * 1024 * 1024;
        if last > allowed {
            problems.push(format!(
                "RSS grew after warm-up: {} then {} (allowed up to {})",
                mib(warm),
                mib(last),
                mib(allowed)
            ));
        }
    }
    for problem in &problems {
        eprintln!("soak: FAIL: {problem}");
    }
    failed |= !problems.is_empty();

    let rss_text = match (rss_start, rss_warm, rss_last_running) {
        (Some(s), Some(w), Some(l)) => {
            format!(
                "RSS {} start, {} after warm-up, {} end",
                mib(s),
                mib(w),
                mib(l)
            )
        }
        _ => "RSS and fd checks are Linux-only".to_string(),
    };
    let fd_text = match (fds_before, fds_after) {
        (Some(b), Some(a)) => format!(", fds {b} -> {a}"),
        _ => String::new(),
    };
    println!(
        "soak: {}: {} connections, {} bytes client->server, {} bytes server->client, \
         {:.1} s, {} server + {} client threads, {} token moves, {} interest changes, \
         {} stale events, {rss_text}{fd_text}, seed {seed}",
        if failed { "FAILED" } else { "ok" },
        opened,
        load(&stats.c2s_received),
        load(&stats.s2c_received),
        duration.as_secs_f64(),
        args.threads,
        args.threads,
        load(&stats.token_moves),
        load(&stats.interest_changes),
        load(&stats.stale_events),
    );
    Ok(!failed)
}
