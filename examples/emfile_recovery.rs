//! A TCP echo server that keeps working when the process runs out of file
//! descriptors.
//!
//! When every fd is in use, `accept` fails with `EMFILE` (or `ENFILE` when
//! the whole system is out) and the connection stays queued in the kernel.
//! Two things then go wrong in a naive server:
//!
//! * The listener does not report readable again for connections that are
//!   already queued: readiness is edge-triggered, and the edge was spent on
//!   the event that led to the failing `accept`. Waiting for another event
//!   can stall the listener until a *new* client arrives.
//! * Retrying `accept` in a loop spins, since nothing frees an fd.
//!
//! The recipe used here: keep one spare fd open (a handle on the null
//! device). On `EMFILE`, close the spare, accept the queued connection with
//! the fd that freed, close that connection at once (the client sees the
//! connection closed instead of hanging), and reopen the spare. Then keep
//! accepting until `WouldBlock`, which re-arms the listener's readiness.
//! If the spare cannot be reopened (another fd took its place), the server
//! remembers that the listener is stalled and retries the accept loop as
//! soon as one of its own connections closes and frees an fd.
//!
//! Usage:
//!
//! ```text
//! cargo run --example emfile_recovery -- [ADDR] [--fd-headroom N] [--exit-after-clients N]
//! ```
//!
//! * `ADDR`: where to listen (default `127.0.0.1:0`); the first line printed
//!   is `emfile_recovery listening on ADDR`.
//! * `--fd-headroom N` (Unix): once listening, lower this process's soft
//!   `RLIMIT_NOFILE` so that only `N` more fds can be opened, that is at
//!   most `N` client connections at once; try it with `N` = 2 and a few
//!   `nc 127.0.0.1 PORT` sessions.
//! * `--exit-after-clients N`: exit (status 0) once `N` accepted clients
//!   have disconnected.
//!
//! Every step it takes is printed on a line of its own (accepted, shed,
//! closed), which is what the tests read.

use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

const LISTENER: Token = Token(0);

/// What one attempt to shed a queued connection found.
enum Shed {
    /// A connection was taken off the queue and closed (or gave up).
    One,
    /// Nothing is queued: `accept` said `WouldBlock`.
    QueueEmpty,
    /// There is no spare fd to shed with, or freeing it did not help.
    Impossible,
}

/// The null device: a cheap file to hold a spare fd with.
const NULL_DEVICE: &str = if cfg!(windows) { "NUL" } else { "/dev/null" };

/// Whether an `accept` (or any fd-creating call) failed because the
/// process or the system is out of file descriptors.
fn is_out_of_fds(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(windows)]
    {
        // WSAEMFILE: no more socket handles are available.
        err.raw_os_error() == Some(10024)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = err;
        false
    }
}

/// One client connection: the socket and the bytes read from it that are
/// not yet echoed back.
struct Connection {
    stream: TcpStream,
    unsent: Vec<u8>,
    /// Whether the registration includes `WRITABLE` (only while `unsent`
    /// is non-empty).
    wants_write: bool,
}

struct Server {
    poll: Poll,
    listener: TcpListener,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    /// The spare fd of the recipe; `None` after it could not be reopened.
    spare: Option<File>,
    /// The last accept loop stopped on `EMFILE` without a spare to shed
    /// with: connections are still queued and no event will say so.
    stalled: bool,
    served: usize,
    shed: usize,
}

impl Server {
    /// Accepts until `WouldBlock`, shedding the connections there is no fd
    /// for (see the module documentation).
    fn accept_all(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.add(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.stalled = false;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_out_of_fds(&e) => match self.shed_one()? {
                    Shed::One => {}
                    // Drained: the listener is re-armed.
                    Shed::QueueEmpty => {
                        self.stalled = false;
                        return Ok(());
                    }
                    Shed::Impossible => {
                        // Wait for one of our connections to close.
                        println!("out of file descriptors, cannot shed: waiting for a close");
                        self.stalled = true;
                        return Ok(());
                    }
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// The recipe: give up the spare fd, accept and close one queued
    /// connection with it, take the spare back.
    ///
    /// Note that `EMFILE` does not mean a connection is queued: the kernel
    /// needs a free fd number before it looks at the queue, so with no fd
    /// free `accept` fails with `EMFILE` even when the queue is empty. Only
    /// an `accept` with an fd to spare can tell, by returning `WouldBlock`.
    fn shed_one(&mut self) -> io::Result<Shed> {
        let Some(spare) = self.spare.take() else {
            return Ok(Shed::Impossible);
        };
        drop(spare);
        let outcome = match self.listener.accept() {
            // Closing the socket right away tells the client to go away.
            Ok((stream, _)) => {
                drop(stream);
                self.shed += 1;
                println!(
                    "shed a connection: out of file descriptors ({} shed so far)",
                    self.shed
                );
                Shed::One
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Shed::QueueEmpty,
            // The client gave up while queued: that entry is gone too.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => Shed::One,
            // Still out of fds with the spare closed: the whole system is
            // out (`ENFILE`), or another thread took the fd.
            Err(e) if is_out_of_fds(&e) => Shed::Impossible,
            Err(e) => return Err(e),
        };
        self.spare = File::open(NULL_DEVICE).ok();
        Ok(outcome)
    }

    fn add(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let token = Token(self.next_token);
        self.next_token += 1;
        let registry = self.poll.registry();
        if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
            // Dropping the stream closes it: the client sees a closed
            // connection, and the server goes on.
            println!("cannot register a connection from {peer}: {e}");
            return;
        }
        let connection = Connection {
            stream,
            unsent: Vec::new(),
            wants_write: false,
        };
        self.connections.insert(token, connection);
        println!(
            "accepted connection from {peer} ({} open)",
            self.connections.len()
        );
        // Edge-triggered: the client may have sent data before we
        // registered, and that data raised no event for us. Look now.
        self.serve(token);
    }

    /// Echoes what can be echoed without blocking, then updates the
    /// registration; closes the connection on EOF or error.
    fn serve(&mut self, token: Token) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return; // an event for a connection closed earlier
        };
        let open = match echo(connection) {
            Ok(open) => open,
            Err(e) => {
                println!("connection error: {e}");
                false
            }
        };
        if !open {
            self.close(token);
            return;
        }
        let wants_write = !connection.unsent.is_empty();
        if wants_write != connection.wants_write {
            let interests = if wants_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Err(e) =
                self.poll
                    .registry()
                    .reregister(&mut connection.stream, token, interests)
            {
                println!("reregister failed: {e}");
                self.close(token);
                return;
            }
            connection.wants_write = wants_write;
        }
    }

    fn close(&mut self, token: Token) {
        if let Some(mut connection) = self.connections.remove(&token) {
            // Deregistering is optional (closing the fd does it); done here
            // to keep the registry tidy on every backend.
            let _ = self.poll.registry().deregister(&mut connection.stream);
            drop(connection);
            self.served += 1;
            println!("closed connection ({} served)", self.served);
        }
    }
}

/// Reads and writes back until either would block. Returns whether the
/// connection is still open.
fn echo(connection: &mut Connection) -> io::Result<bool> {
    let mut buf = [0u8; 4096];
    loop {
        // Flush what is pending first, so memory stays bounded.
        while !connection.unsent.is_empty() {
            match connection.stream.write(&connection.unsent) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    connection.unsent.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        match connection.stream.read(&mut buf) {
            Ok(0) => return Ok(false),
            Ok(n) => connection.unsent.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Lowers the soft `RLIMIT_NOFILE` so that exactly `headroom` more fds can
/// be opened. The kernel hands out the lowest free fd number and fails with
/// `EMFILE` when none below the limit is free, so the limit is placed just
/// above the `headroom`-th free number.
#[cfg(unix)]
fn limit_fds(headroom: usize) -> io::Result<()> {
    let is_open = |fd: libc::c_int| {
        // SAFETY: F_GETFD only reads the flags of `fd`; for a number that
        // is not an open fd it fails with EBADF and changes nothing.
        unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
    };
    let mut free = 0;
    let mut fd: libc::c_int = 0;
    loop {
        if !is_open(fd) {
            if free == headroom {
                break;
            }
            free += 1;
        }
        fd += 1;
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    limit.rlim_cur = fd as libc::rlim_t;
    // SAFETY: `limit` is a valid `rlimit`; the soft limit is only lowered
    // (it is at most the number of fds already probed, below the old one).
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(unix))]
fn limit_fds(_headroom: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "--fd-headroom needs a Unix fd limit (RLIMIT_NOFILE)",
    ))
}

struct Args {
    addr: SocketAddr,
    headroom: Option<usize>,
    exit_after: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:0".parse().unwrap(),
        headroom: None,
        exit_after: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |flag: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{flag} needs a number"))
        };
        match arg.as_str() {
            "--fd-headroom" => args.headroom = Some(number("--fd-headroom")?),
            "--exit-after-clients" => args.exit_after = Some(number("--exit-after-clients")?),
            other => {
                args.addr = other
                    .parse()
                    .map_err(|e| format!("bad address {other:?}: {e}"))?
            }
        }
    }
    Ok(args)
}

fn run(args: Args) -> io::Result<()> {
    let poll = Poll::new()?;
    let mut events = Events::with_capacity(256);
    let mut listener = TcpListener::bind(args.addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    // The spare is opened before any limit is applied, so it always fits.
    let spare = Some(File::open(NULL_DEVICE)?);
    if let Some(headroom) = args.headroom {
        limit_fds(headroom)?;
    }
    println!("emfile_recovery listening on {}", listener.local_addr()?);
    if let Some(headroom) = args.headroom {
        println!("fd headroom: {headroom} connections");
    }
    let mut server = Server {
        poll,
        listener,
        connections: HashMap::new(),
        next_token: 1,
        spare,
        stalled: false,
        served: 0,
        shed: 0,
    };
    loop {
        if let Some(n) = args.exit_after {
            if server.served >= n {
                println!(
                    "served {} clients, shed {}; exiting",
                    server.served, server.shed
                );
                return Ok(());
            }
        }
        match server.poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            match event.token() {
                LISTENER => server.accept_all()?,
                token => {
                    let before = server.connections.len();
                    server.serve(token);
                    // A connection closed and freed an fd: a stalled
                    // listener gets no event for its queue, so retry now.
                    if server.connections.len() < before {
                        if server.spare.is_none() {
                            server.spare = File::open(NULL_DEVICE).ok();
                        }
                        if server.stalled {
                            server.accept_all()?;
                        }
                    }
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("emfile_recovery: {e}");
            eprintln!("usage: emfile_recovery [ADDR] [--fd-headroom N] [--exit-after-clients N]");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emfile_recovery: {e}");
            ExitCode::FAILURE
        }
    }
}
