//! What the selector backend costs: the same event-loop workloads, run on
//! whichever backend this build uses (the platform's own selector by default,
//! poll(2) with `--cfg nbio_force_poll`). `scripts/bench-backends` builds and runs both
//! and prints the rows side by side.
//!
//! Workloads (one thread, one `Poll`, a connected stream pair: Unix-domain
//! on Unix, loopback TCP on Windows):
//! * `ping-pong`: a 1-byte message bounced between the two ends, each hop
//!   waiting for its readable event, with 0 or 1,000 idle registered
//!   sockets beside the pair (poll(2) scans them all on every call; epoll
//!   does not);
//! * `register churn`: register + reregister + deregister of one socket.
//!
//! Every workload runs a fixed number of iterations in several rounds and
//! reports the median time per iteration, so the bench stops by itself.

#[cfg(windows)]
use nbio::net::TcpStream;
#[cfg(unix)]
use nbio::net::UnixStream;
use nbio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

const ROUNDS: usize = 7;

/// The stream type of [`pair`].
#[cfg(unix)]
type Stream = UnixStream;
/// The stream type of [`pair`].
#[cfg(windows)]
type Stream = TcpStream;

/// A connected, non-blocking stream pair: `socketpair` on Unix, a loopback
/// TCP connection on Windows (which has no `socketpair`).
#[cfg(unix)]
fn pair() -> io::Result<(Stream, Stream)> {
    UnixStream::pair()
}

/// A connected, non-blocking stream pair: `socketpair` on Unix, a loopback
/// TCP connection on Windows (which has no `socketpair`).
#[cfg(windows)]
fn pair() -> io::Result<(Stream, Stream)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let a = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (b, _) = listener.accept()?;
    for s in [&a, &b] {
        s.set_nonblocking(true)?;
        s.set_nodelay(true)?;
    }
    Ok((TcpStream::from_std(a), TcpStream::from_std(b)))
}

fn backend() -> &'static str {
    if cfg!(nbio_force_poll) {
        "poll(2)"
    } else if cfg!(any(target_os = "linux", target_os = "android")) {
        "epoll"
    } else if cfg!(any(target_os = "illumos", target_os = "solaris")) {
        "event ports"
    } else if cfg!(windows) {
        "IOCP"
    } else {
        "kqueue"
    }
}

/// Waits for a readable event for `token`, with a generous deadline.
fn wait_readable(poll: &mut Poll, events: &mut Events, token: Token) -> io::Result<()> {
    loop {
        poll.poll(events, Some(Duration::from_secs(10)))?;
        if events.is_empty() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no event in 10 s"));
        }
        if events.iter().any(|e| e.token() == token && e.is_readable()) {
            return Ok(());
        }
    }
}

/// Reads until `WouldBlock` (edge-triggered contract).
fn drain(mut s: &Stream) -> io::Result<()> {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn ping_pong(idle: usize, iterations: usize) -> io::Result<Duration> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(64);
    let mut idle_sockets = Vec::with_capacity(idle);
    for i in 0..idle / 2 {
        let (mut x, mut y) = pair()?;
        poll.registry()
            .register(&mut x, Token(100 + 2 * i), Interest::READABLE)?;
        poll.registry()
            .register(&mut y, Token(101 + 2 * i), Interest::READABLE)?;
        idle_sockets.push((x, y));
    }
    let (mut a, mut b) = pair()?;
    poll.registry()
        .register(&mut a, Token(0), Interest::READABLE)?;
    poll.registry()
        .register(&mut b, Token(1), Interest::READABLE)?;
    let start = Instant::now();
    for _ in 0..iterations {
        (&b).write_all(b"!")?;
        wait_readable(&mut poll, &mut events, Token(0))?;
        drain(&a)?;
        (&a).write_all(b"!")?;
        wait_readable(&mut poll, &mut events, Token(1))?;
        drain(&b)?;
    }
    Ok(start.elapsed() / iterations as u32)
}

fn register_churn(iterations: usize) -> io::Result<Duration> {
    let poll = Poll::new()?;
    let (mut a, _b) = pair()?;
    let start = Instant::now();
    for i in 0..iterations {
        poll.registry()
            .register(&mut a, Token(i), Interest::READABLE)?;
        poll.registry()
            .reregister(&mut a, Token(i), Interest::READABLE | Interest::WRITABLE)?;
        poll.registry().deregister(&mut a)?;
    }
    Ok(start.elapsed() / iterations as u32)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run(name: &str, f: impl Fn() -> io::Result<Duration>) -> io::Result<()> {
    f()?; // warm-up
    let samples = (0..ROUNDS).map(|_| f()).collect::<io::Result<Vec<_>>>()?;
    let (lo, hi) = (
        samples.iter().min().copied().unwrap_or_default(),
        samples.iter().max().copied().unwrap_or_default(),
    );
    println!(
        "| {:<8} | {:<34} | {:>9.2} µs | {:>7.2}–{:<7.2} |",
        backend(),
        name,
        median(samples).as_secs_f64() * 1e6,
        lo.as_secs_f64() * 1e6,
        hi.as_secs_f64() * 1e6,
    );
    Ok(())
}

fn main() -> io::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then one quick round checks that the workloads work.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick { 10 } else { 20_000 };
    if !quick {
        println!(
            "| backend  | workload                           | median/iter  | min–max (µs)    |"
        );
        println!(
            "|----------|------------------------------------|--------------|-----------------|"
        );
    }
    if quick {
        ping_pong(1000, n)?;
        register_churn(n)?;
        println!("backends bench: workloads ran on {}", backend());
        return Ok(());
    }
    run("ping-pong round trip, 0 idle", || ping_pong(0, n))?;
    run("ping-pong round trip, 1,000 idle", || {
        ping_pong(1000, n / 4)
    })?;
    run("register+reregister+deregister", || register_churn(n))?;
    Ok(())
}
