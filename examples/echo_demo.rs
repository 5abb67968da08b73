//! A load test in one command: an nbio echo server and an nbio load
//! generator talk over loopback in the same process, and the demo shows live
//! throughput and latency, then a summary.
//!
//! ```text
//! cargo run --release --example echo_demo
//! cargo run --release --example echo_demo -- --connections 200 --duration 2.5 --size 512
//! ```
//!
//! Two threads, each with its own `Poll`:
//!
//! * the **server** accepts connections and echoes every byte back;
//! * the **load generator** (the main thread) opens the connections and keeps
//!   exactly one message in flight on each: send it, wait for the full echo,
//!   check it, record the round-trip time, send the next one.
//!
//! Readiness in nbio is edge-triggered, so both sides follow one rule: after
//! an event, read (or accept, or write) until the OS says `WouldBlock`;
//! otherwise there may never be another event for that socket.

use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Registry, Token, Waker};
use std::collections::HashMap;
use std::io::{self, IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Server-side tokens; accepted connections get `Token(2)` and up.
const LISTENER: Token = Token(0);
const STOP: Token = Token(1);
/// At most this many connects in progress at once, well under the listen
/// backlog (128), so the server is never flooded with handshakes.
const CONNECT_BATCH: usize = 64;
/// Give up if nothing at all happens for this long.
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// How long to wait for the replies still in flight when time is up.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// The first 8 bytes of every message hold its send time.
const TIMESTAMP_LEN: usize = 8;

const USAGE: &str = "usage: echo_demo [--connections N] [--duration SECS] [--size BYTES]
  --connections N   concurrent connections (default 1000)
  --duration SECS   how long to send, fractions allowed (default 10)
  --size BYTES      message size, 8 to 65536 (default 32)";

struct Options {
    connections: usize,
    duration: Duration,
    size: usize,
}

fn main() -> io::Result<()> {
    let mut options = match parse_args() {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return Ok(());
        }
        Err(message) => {
            eprintln!("echo_demo: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    options.connections = fit_to_fd_limit(options.connections)?;
    let clock = Instant::now(); // message timestamps count from here

    let (addr, stop, server) = start_server()?;
    let load = run_load(addr, &options, clock);
    // Whatever happened to the load, stop the server and collect its count.
    stop.wake()?;
    let server_errors = server
        .join()
        .map_err(|_| io::Error::other("the server thread panicked"))??;
    let mut stats = load?;
    stats.errors += server_errors;
    print_summary(&options, &stats);
    Ok(())
}

// ---------------------------------------------------------------- server ---

struct Server {
    poll: Poll,
    listener: TcpListener,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    errors: u64,
}

/// One accepted connection: its socket and the bytes not yet echoed back.
struct Connection {
    stream: TcpStream,
    unsent: Vec<u8>,
    watching_writable: bool,
}

/// Binds the listener and starts the server thread, which runs until `STOP`
/// is woken and then returns how many connections failed.
fn start_server() -> io::Result<(SocketAddr, Waker, JoinHandle<io::Result<u64>>)> {
    let poll = Poll::new()?;
    let mut listener = TcpListener::bind(([127, 0, 0, 1], 0).into())?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let stop = Waker::new(poll.registry(), STOP)?;
    let addr = listener.local_addr()?;
    let connections = HashMap::new();
    let server = Server {
        poll,
        listener,
        connections,
        next_token: 2,
        errors: 0,
    };
    Ok((addr, stop, thread::spawn(move || server.run())))
}

impl Server {
    fn run(mut self) -> io::Result<u64> {
        let mut events = Events::with_capacity(1024);
        // One read buffer for every connection: no allocation per message.
        let mut scratch = vec![0; 64 * 1024];
        loop {
            // No timeout needed: the main thread always ends this with `STOP`.
            poll_once(&mut self.poll, &mut events, None)?;
            for event in events.iter() {
                match event.token() {
                    STOP => return Ok(self.errors),
                    LISTENER => self.accept_all(),
                    token => self.serve(token, &mut scratch),
                }
            }
        }
    }

    /// Accepts until the queue is empty (`WouldBlock`).
    fn accept_all(&mut self) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _peer)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.errors += 1; // e.g. out of file descriptors
                    return;
                }
            };
            let token = Token(self.next_token);
            self.next_token += 1;
            let registry = self.poll.registry();
            let ready = stream
                .set_nodelay(true) // send small replies at once
                .and_then(|()| registry.register(&mut stream, token, Interest::READABLE));
            if ready.is_err() {
                self.errors += 1;
                continue;
            }
            let connection = Connection {
                stream,
                unsent: Vec::new(),
                watching_writable: false,
            };
            self.connections.insert(token, connection);
        }
    }

    /// Echoes on one connection; drops it when the peer closes or on error.
    fn serve(&mut self, token: Token, scratch: &mut [u8]) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return; // already closed
        };
        match connection.echo(self.poll.registry(), token, scratch) {
            Ok(true) => {}
            Ok(false) => drop(self.connections.remove(&token)),
            Err(_) => {
                self.errors += 1;
                self.connections.remove(&token);
            }
        }
    }
}

impl Connection {
    /// Reads everything available and writes it back. What the socket cannot
    /// take yet stays in `unsent`, and we watch for `WRITABLE` until it is
    /// out. Returns `Ok(false)` once the peer has closed its side.
    fn echo(&mut self, registry: &Registry, token: Token, scratch: &mut [u8]) -> io::Result<bool> {
        let mut open = true;
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    open = false;
                    break;
                }
                // A real server would stop reading when `unsent` grows too
                // big; here a client never has more than one message in flight.
                Ok(n) => self.unsent.extend_from_slice(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let written = write_until_blocked(&mut self.stream, &self.unsent)?;
        self.unsent.drain(..written);
        let wanted = !self.unsent.is_empty();
        if wanted != self.watching_writable {
            let interest = if wanted {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry.reregister(&mut self.stream, token, interest)?;
            self.watching_writable = wanted;
        }
        Ok(open)
    }
}

/// Writes as much of `bytes` as the socket takes right now; returns how many.
fn write_until_blocked(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Waits for events at most `timeout` (`None`: forever). A signal cutting
/// the wait short is not an error, just a return with no events.
fn poll_once(poll: &mut Poll, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
    match poll.poll(events, timeout) {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            events.clear();
            Ok(())
        }
        result => result,
    }
}

// -------------------------------------------------------- load generator ---

/// One load-generator connection, with at most one message in flight.
struct Client {
    stream: TcpStream,
    connected: bool,
    /// The message in flight, exactly as sent: the echo must match it.
    message: Vec<u8>,
    /// How much of `message` the socket has taken so far.
    written: usize,
    /// The echo as it arrives, possibly in pieces.
    echo: Vec<u8>,
    received: usize,
    in_flight: bool,
}

impl Client {
    fn new(stream: TcpStream, token: Token, size: usize) -> Client {
        Client {
            stream,
            connected: false,
            // Both buffers are allocated once and reused for every message.
            // After the timestamp, each connection sends its own pattern.
            message: (0..size).map(|i| (token.0 + i) as u8).collect(),
            written: 0,
            echo: vec![0; size],
            received: 0,
            in_flight: false,
        }
    }

    /// Stamps the message with the time and starts sending it.
    fn send_next(&mut self, clock: Instant) -> io::Result<()> {
        self.message[..TIMESTAMP_LEN].copy_from_slice(&nanos_since(clock).to_le_bytes());
        self.written = 0;
        self.received = 0;
        self.in_flight = true;
        self.flush()
    }

    /// Writes what the socket takes of the rest of the message. Clients stay
    /// registered for `WRITABLE` too, so if it does not all fit, the next
    /// event lets us continue.
    fn flush(&mut self) -> io::Result<()> {
        self.written += write_until_blocked(&mut self.stream, &self.message[self.written..])?;
        Ok(())
    }

    /// Reads until `WouldBlock` or until the echo is complete; returns
    /// whether it is.
    fn receive(&mut self) -> io::Result<bool> {
        while self.in_flight && self.received < self.echo.len() {
            match self.stream.read(&mut self.echo[self.received..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.received += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.in_flight)
    }

    /// Handles an event: finish a partial write, collect the echo, check
    /// it, time it, and (while `sending`) send the next message.
    fn on_ready(&mut self, sending: bool, stats: &mut Stats, clock: Instant) -> io::Result<()> {
        if self.in_flight && self.written < self.message.len() {
            self.flush()?;
        }
        // Loop so that reading always ends on `WouldBlock`.
        while self.receive()? {
            if self.echo != self.message {
                return Err(io::Error::other("wrong echo"));
            }
            let mut sent_at = [0; TIMESTAMP_LEN];
            sent_at.copy_from_slice(&self.echo[..TIMESTAMP_LEN]);
            let latency = nanos_since(clock).saturating_sub(u64::from_le_bytes(sent_at));
            stats.interval.record(latency);
            stats.echoed += 1;
            self.in_flight = false;
            if !sending {
                break;
            }
            self.send_next(clock)?;
        }
        Ok(())
    }
}

/// What the load generator counts.
#[derive(Default)]
struct Stats {
    echoed: u64,
    errors: u64,
    /// Latencies since the last progress line, then added to `total`.
    interval: Histogram,
    total: Histogram,
    /// How long messages were being sent.
    elapsed: Duration,
}

struct LoadGenerator {
    poll: Poll,
    events: Events,
    /// Indexed by token; `None` once a connection has failed and closed.
    clients: Vec<Option<Client>>,
    stats: Stats,
    clock: Instant,
}

/// Connects, sends for the configured duration while showing progress,
/// then collects the last replies.
fn run_load(addr: SocketAddr, options: &Options, clock: Instant) -> io::Result<Stats> {
    let mut load = LoadGenerator::connect(addr, options, clock)?;
    println!(
        "{} connections open; echoing {}-byte messages for {:.1} s",
        load.clients.len(),
        options.size,
        options.duration.as_secs_f64()
    );
    load.send_for(options.duration)?;
    load.drain()?;
    load.stats.total.add(&load.stats.interval);
    Ok(load.stats)
}

impl LoadGenerator {
    /// Opens the connections, at most `CONNECT_BATCH` in progress at once.
    fn connect(addr: SocketAddr, options: &Options, clock: Instant) -> io::Result<LoadGenerator> {
        let mut load = LoadGenerator {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            clients: Vec::with_capacity(options.connections),
            stats: Stats::default(),
            clock,
        };
        let (mut connecting, mut last_progress) = (0, Instant::now());
        while load.clients.len() < options.connections || connecting > 0 {
            while connecting < CONNECT_BATCH && load.clients.len() < options.connections {
                // A non-blocking connect returns at once; the socket becomes
                // writable when the handshake is done (or has failed).
                let mut stream = TcpStream::connect(addr)?;
                let token = Token(load.clients.len());
                let interest = Interest::READABLE | Interest::WRITABLE;
                load.poll
                    .registry()
                    .register(&mut stream, token, interest)?;
                load.clients
                    .push(Some(Client::new(stream, token, options.size)));
                connecting += 1;
            }
            let timeout = Some(Duration::from_millis(100));
            poll_once(&mut load.poll, &mut load.events, timeout)?;
            for event in load.events.iter() {
                let Some(Some(client)) = load.clients.get_mut(event.token().0) else {
                    continue;
                };
                if !client.connected && is_connected(&client.stream)? {
                    client.stream.set_nodelay(true)?;
                    client.connected = true;
                    connecting -= 1;
                    last_progress = Instant::now();
                }
            }
            if last_progress.elapsed() > STALL_LIMIT {
                return Err(io::Error::other("no connection completed for 10 s"));
            }
        }
        Ok(load)
    }

    /// Keeps one message in flight per connection for `duration`, printing
    /// progress (about 4 times a second on a terminal, else once a second).
    fn send_for(&mut self, duration: Duration) -> io::Result<()> {
        for slot in &mut self.clients {
            let Some(client) = slot else { continue };
            if client.send_next(self.clock).is_err() {
                self.stats.errors += 1;
                *slot = None; // dropping the socket closes it
            }
        }
        let terminal = io::stdout().is_terminal();
        let every = Duration::from_millis(if terminal { 250 } else { 1000 });
        let started = Instant::now();
        let end = started + duration;
        let (mut last_report, mut last_echo) = (started, started);
        loop {
            let now = Instant::now();
            let since_report = now - last_report;
            if since_report >= every || (now >= end && (terminal || since_report >= every / 2)) {
                self.print_progress(now - started, duration, since_report, terminal);
                last_report = now;
            }
            if now >= end {
                break;
            }
            let echoed = self.stats.echoed;
            self.poll_and_handle((last_report + every).min(end) - now, true)?;
            if self.stats.echoed > echoed {
                last_echo = Instant::now();
            } else if last_echo.elapsed() > STALL_LIMIT {
                return Err(io::Error::other("no echo for 10 s"));
            }
        }
        if terminal {
            println!(); // keep the last progress line
        }
        self.stats.elapsed = started.elapsed();
        Ok(())
    }

    /// Time is up: sends nothing new, but waits (a bounded time) for the
    /// replies in flight. One that never comes counts as an error.
    fn drain(&mut self) -> io::Result<()> {
        let end = Instant::now() + DRAIN_LIMIT;
        while self.in_flight() > 0 && Instant::now() < end {
            self.poll_and_handle(end.saturating_duration_since(Instant::now()), false)?;
        }
        self.stats.errors += self.in_flight() as u64;
        self.clients.clear(); // closes every connection
        Ok(())
    }

    fn in_flight(&self) -> usize {
        self.clients
            .iter()
            .flatten()
            .filter(|client| client.in_flight)
            .count()
    }

    fn poll_and_handle(&mut self, timeout: Duration, sending: bool) -> io::Result<()> {
        poll_once(&mut self.poll, &mut self.events, Some(timeout))?;
        for event in self.events.iter() {
            let token = event.token();
            let Some(Some(client)) = self.clients.get_mut(token.0) else {
                continue;
            };
            if client
                .on_ready(sending, &mut self.stats, self.clock)
                .is_err()
            {
                self.stats.errors += 1;
                self.clients[token.0] = None; // dropping the socket closes it
            }
        }
        Ok(())
    }

    fn print_progress(
        &mut self,
        elapsed: Duration,
        total: Duration,
        interval: Duration,
        terminal: bool,
    ) {
        let latency = &self.stats.interval;
        let line = format!(
            "{:5.1}/{:.1} s | {} open | {} msg/s | p50 {} µs | p99 {} µs",
            elapsed.as_secs_f64(),
            total.as_secs_f64(),
            self.clients.iter().flatten().count(),
            grouped((latency.count as f64 / interval.as_secs_f64()) as u64),
            grouped(latency.percentile(50.0) / 1000),
            grouped(latency.percentile(99.0) / 1000),
        );
        if terminal {
            // Back to the start of the line; trailing spaces erase the rest
            // of a longer previous line.
            print!("\r{line}    ");
            let _ = io::stdout().flush();
        } else {
            println!("{line}");
        }
        self.stats.total.add(&self.stats.interval);
        self.stats.interval.clear();
    }
}

/// A readiness event on a connecting socket may come early; the connection
/// is up once the socket has no pending error and knows its peer.
fn is_connected(stream: &TcpStream) -> io::Result<bool> {
    if let Some(error) = stream.take_error()? {
        return Err(error);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

fn nanos_since(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

// ------------------------------------------------------------- histogram ---

/// Each power of two is split into 2^SUB_BITS equal buckets.
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Enough buckets for any `u64` (see `bucket_of`).
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A histogram with fixed log-linear buckets. Values below 128 get a bucket
/// each; above, each power-of-two range (128..256, 256..512, ...) is split
/// into 64 equal buckets, so a bucket spans at most 1/64 (1.6 %) of its
/// values: about two significant digits. Recording is a little arithmetic
/// and an increment, never an allocation.
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: vec![0; BUCKETS],
            count: 0,
            max: 0,
        }
    }
}

impl Histogram {
    fn bucket_of(value: u64) -> usize {
        let bits = 64 - value.leading_zeros(); // bits needed to write `value`
        if bits <= SUB_BITS + 1 {
            return value as usize; // below 128: exact
        }
        // Keep the top 7 bits (a number in 64..128) and count the dropped ones.
        let shift = bits - SUB_BITS - 1;
        shift as usize * SUB + (value >> shift) as usize
    }

    /// The middle of a bucket's range, as the value it stands for.
    fn bucket_middle(index: usize) -> u64 {
        if index < 2 * SUB {
            return index as u64;
        }
        let shift = index / SUB - 1;
        let low = ((index % SUB + SUB) as u64) << shift;
        low + (1 << shift) / 2
    }

    fn record(&mut self, value: u64) {
        self.buckets[Self::bucket_of(value)] += 1;
        self.count += 1;
        self.max = self.max.max(value);
    }

    /// The value that `percent` of the recorded values do not exceed.
    fn percentile(&self, percent: f64) -> u64 {
        let rank = ((percent / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, &count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::bucket_middle(index).min(self.max);
            }
        }
        self.max
    }

    fn add(&mut self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }

    fn clear(&mut self) {
        self.buckets.fill(0);
        self.count = 0;
        self.max = 0;
    }
}

// ---------------------------------------------------------------- output ---

fn print_summary(options: &Options, stats: &Stats) {
    let seconds = stats.elapsed.as_secs_f64();
    let bytes = stats.echoed * options.size as u64;
    let micros = |nanos: u64| format!("{} µs", grouped(nanos / 1000));
    let rows = [
        ("connections", grouped(options.connections as u64)),
        ("duration", format!("{seconds:.2} s")),
        ("messages echoed", grouped(stats.echoed)),
        (
            "average rate",
            format!("{} msg/s", grouped((stats.echoed as f64 / seconds) as u64)),
        ),
        ("latency p50", micros(stats.total.percentile(50.0))),
        ("latency p90", micros(stats.total.percentile(90.0))),
        ("latency p99", micros(stats.total.percentile(99.0))),
        ("latency max", micros(stats.total.max)),
        (
            "bytes each way",
            format!("{} ({:.1} MB)", grouped(bytes), bytes as f64 / 1e6),
        ),
        ("errors", grouped(stats.errors)),
    ];
    println!("\nsummary");
    for (name, value) in rows {
        println!("  {name:<16}{value:>26}");
    }
}

/// 1234567 -> "1,234,567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

// ------------------------------------------------------- flags and limits ---

/// Returns `Ok(None)` for `--help`.
fn parse_args() -> Result<Option<Options>, String> {
    let mut options = Options {
        connections: 1000,
        duration: Duration::from_secs(10),
        size: 32,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--connections" => {
                options.connections = value.parse().ok().filter(|&n| n > 0).ok_or_else(bad)?;
            }
            "--duration" => {
                let seconds: f64 = value.parse().map_err(|_| bad())?;
                if !(seconds > 0.0 && seconds <= 86_400.0) {
                    return Err(bad());
                }
                options.duration = Duration::from_secs_f64(seconds);
            }
            "--size" => {
                let sizes = TIMESTAMP_LEN..=65_536;
                options.size = value
                    .parse()
                    .ok()
                    .filter(|n| sizes.contains(n))
                    .ok_or_else(bad)?;
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(Some(options))
}

/// Every connection costs two file descriptors (the client's end and the
/// server's), plus a few for the polls, the waker and stdio. Raises the soft
/// limit as far as needed (up to the hard limit), and lowers the connection
/// count if that is still not enough.
#[cfg(unix)]
fn fit_to_fd_limit(wanted: usize) -> io::Result<usize> {
    const SPARE: usize = 32;
    let needed = wanted.saturating_mul(2).saturating_add(SPARE);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` only writes to `limit`, which outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let target = libc::rlim_t::try_from(needed)
        .unwrap_or(libc::rlim_t::MAX)
        .min(limit.rlim_max);
    if target > limit.rlim_cur {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `setrlimit` only reads `raised`, which outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = target;
        }
    }
    let available = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
    let fits = available.saturating_sub(SPARE) / 2;
    if fits >= wanted {
        return Ok(wanted);
    }
    if fits == 0 {
        return Err(io::Error::other(format!(
            "open-file limit {available} is too low"
        )));
    }
    println!(
        "the open-file limit ({available}) allows {fits} connections, not {wanted}: using {fits}"
    );
    Ok(fits)
}

/// Other systems have no per-process descriptor limit to raise.
#[cfg(not(unix))]
fn fit_to_fd_limit(wanted: usize) -> io::Result<usize> {
    Ok(wanted)
}
