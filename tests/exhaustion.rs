//! Running out of file descriptors (`EMFILE`).
//!
//! Each scenario runs in a child process (this test binary run again with
//! only the `child` test selected and `NBIO_TEST_EXHAUSTION_CHILD` naming
//! the scenario), because it lowers the soft `RLIMIT_NOFILE`, which is
//! process-wide. The child places the limit so that exactly N more fds can
//! be opened: the kernel always hands out the lowest free fd number and
//! fails with `EMFILE` when no number below the limit is free.
//!
//! * `accept` past the limit fails with the raw OS error `EMFILE`, nothing
//!   panics, the `Poll` and the other connections keep working, the listener
//!   stays registered, and after an fd is freed the very next `accept`
//!   succeeds and the queued client is served.
//! * The recovery recipe (a spare fd held open; on `EMFILE` close it,
//!   accept and close the queued connection, reopen it, go on accepting
//!   until `WouldBlock`) sheds the clients there is no room for and leaves
//!   the listener re-armed for the next client.
//! * Every constructor that makes fds fails cleanly (`EMFILE`, no panic, no
//!   fd left behind) with no or too few fds left.
//! * `examples/emfile_recovery.rs`, run with a small fd headroom, stays up
//!   with more clients than fds, serves clients again once fds free up and
//!   exits 0 when told to.
//! * `examples/soak.rs` (the long soak, `ci/soak.sh`) passes a two-second
//!   run, so the soak and its checks (bytes, fds, memory) stay working.
//!
//! What the scenarios show about `EMFILE` (documented in the example):
//!
//! * After `accept` fails with `EMFILE` the connection stays queued, and on
//!   an edge-triggered listener no new event reports it (the edge was spent
//!   on the event that led to the failing `accept`): the application must
//!   retry `accept` itself once it has freed an fd.
//! * `EMFILE` does not mean a connection is queued: the kernel needs a free
//!   fd number before it looks at the queue. Only an `accept` made with an
//!   fd to spare can say `WouldBlock`.
//!
//! (`poll` interrupted by a signal is covered by `tests/poll.rs`,
//! `signal_interrupts_poll_with_interrupted_error`, which also checks that
//! the next call works.)
//!
//! Linux only (the child counts fds with `fcntl`, the example test needs
//! the example's Unix fd limit); not under Miri (no processes, no sockets).
#![cfg(all(
    target_os = "linux",
    not(miri),
    feature = "os-poll",
    feature = "net",
    feature = "os-ext"
))]

mod util;

use nbio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use nbio::{Events, Interest, Poll, Token, Waker};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use util::{expect_events, Expect, DEADLINE};

/// Names the scenario the child runs.
const CHILD_ENV: &str = "NBIO_TEST_EXHAUSTION_CHILD";
/// Printed by a child that finished its scenario.
const CHILD_OK: &str = "exhaustion child: ok";
/// How long a child may take, all its own deadlines included.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

const LISTENER: Token = Token(1_000);

// ---------------------------------------------------------------------------
// The parent side: run a scenario in a child, run the example.

/// In the child: runs the scenario `CHILD_ENV` names. In the normal test
/// run: nothing.
#[test]
fn child() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("accept") => accept_fails_with_emfile_and_recovers(),
        Ok("recipe") => spare_fd_recipe_sheds_and_rearms(),
        Ok("constructors") => constructors_fail_cleanly(),
        _ => return,
    }
    println!("{CHILD_OK}");
}

#[test]
fn accept_reports_emfile_and_the_listener_recovers() {
    run_child("accept");
}

#[test]
fn spare_fd_recipe_sheds_excess_clients_and_rearms_the_listener() {
    run_child("recipe");
}

#[test]
fn constructors_fail_with_emfile_without_leaking_or_panicking() {
    run_child("constructors");
}

/// Runs this binary's `child` test with `scenario` and asserts it passed.
fn run_child(scenario: &str) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario);
    let (status, stdout, stderr) = run_with_deadline(command, CHILD_DEADLINE);
    assert!(
        status.is_some_and(|s| s.success()) && stdout.contains(CHILD_OK),
        "child {scenario:?} failed ({status:?}):\n{stdout}\n{stderr}"
    );
}

/// Runs `command` to completion with its output captured, killing it if it
/// outlives `deadline` (then the status is `None`).
fn run_with_deadline(
    mut command: Command,
    deadline: Duration,
) -> (Option<std::process::ExitStatus>, String, String) {
    let end = Instant::now() + deadline;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The end of the child's output (it closes with the child's exit) is
    // the event to wait for; helper threads read it.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let mut readers = Vec::new();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let done_tx = done_tx.clone();
        readers.push(thread::spawn(move || {
            let mut pipe = pipe;
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let _ = done_tx.send(());
            text
        }));
    }
    let mut closed = 0;
    while closed < 2 {
        let left = end.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
        closed += 1;
    }
    let status = wait_or_kill(&mut child, if closed == 2 { end } else { Instant::now() });
    let stderr = readers.pop().unwrap().join().unwrap();
    let stdout = readers.pop().unwrap().join().unwrap();
    (status, stdout, stderr)
}

/// Waits for `child` to exit until `end` (std has no wait with a timeout:
/// its output is closed, so it is exiting), then kills it. `None` if it
/// had to be killed.
fn wait_or_kill(child: &mut Child, end: Instant) -> Option<std::process::ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::yield_now();
    }
}

/// A child process that is killed (and reaped) when this goes out of
/// scope, panics included.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Path of a compiled example: `cargo test` builds examples next to the
/// test binaries' `deps` directory.
fn example(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop(); // the test binary
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The lines a child prints, as they come, with a deadline on each wait.
struct Lines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn new(stdout: std::process::ChildStdout) -> Lines {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits for the next line containing `text` and returns it.
    fn wait_for(&mut self, text: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no line with {text:?} ({e:?}); output so far: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Everything printed until the output closes (or the deadline).
    fn rest(&mut self) -> Vec<String> {
        let end = Instant::now() + DEADLINE;
        while let Ok(line) = self
            .rx
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
        self.seen.clone()
    }
}

/// A blocking client with a read timeout, so every read is bounded.
fn client(addr: SocketAddr) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// Sends `message` and expects it echoed back.
fn assert_echoes(stream: &mut std::net::TcpStream, message: &[u8]) {
    stream.write_all(message).unwrap();
    let mut echoed = vec![0; message.len()];
    stream
        .read_exact(&mut echoed)
        .unwrap_or_else(|e| panic!("no echo of {message:?}: {e}"));
    assert_eq!(echoed, message);
}

/// Expects the server to have closed the connection without a word: end of
/// stream, or a reset if it closed with unread data.
fn assert_shed(stream: &mut std::net::TcpStream) {
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("a shed client got data: {:?}", &buf[..n]),
        Err(e) => panic!("a shed client was not closed: {e}"),
    }
}

#[test]
fn emfile_recovery_example_survives_more_clients_than_fds() {
    const HEADROOM: usize = 3;
    let server = Command::new(example("emfile_recovery"))
        .args(["127.0.0.1:0", "--fd-headroom", &HEADROOM.to_string()])
        // Every client that is accepted (not shed) below, then disconnects.
        .args(["--exit-after-clients", &(HEADROOM + 2).to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start example emfile_recovery ({e}): `cargo test` builds the \
                 examples, `cargo test --test exhaustion` alone does not"
            )
        });
    // Killed if the test fails half-way, so no server outlives it.
    let mut server = KillOnDrop(server);
    let mut lines = Lines::new(server.0.stdout.take().unwrap());
    let first = lines.wait_for("listening on");
    let addr: SocketAddr = first.rsplit(' ').next().unwrap().parse().unwrap();

    // Fill every fd the server has left.
    let mut served: Vec<_> = (0..HEADROOM)
        .map(|i| {
            let mut c = client(addr);
            assert_echoes(&mut c, format!("client {i}").as_bytes());
            c
        })
        .collect();
    // More clients than fds: each is shed (closed at once), one by one.
    for i in 0..3 {
        let mut extra = client(addr);
        assert_shed(&mut extra);
        lines.wait_for(&format!("({} shed so far)", i + 1));
    }
    // Still serving the connections it has.
    for (i, c) in served.iter_mut().enumerate() {
        assert_echoes(c, format!("still there {i}").as_bytes());
    }
    // Free two fds; once the server has closed them, two new clients fit.
    drop(served.drain(..2));
    lines.wait_for("(1 served)");
    lines.wait_for("(2 served)");
    for i in 0..2 {
        let mut c = client(addr);
        assert_echoes(&mut c, format!("after recovery {i}").as_bytes());
        served.push(c);
    }
    // Everyone leaves: HEADROOM + 2 clients were served, so it exits.
    drop(served);
    let status = wait_or_kill(&mut server.0, Instant::now() + DEADLINE);
    let output = lines.rest();
    assert!(
        status.is_some_and(|s| s.success()),
        "server failed or hung ({status:?}): {output:#?}"
    );
    let summary = format!("served {} clients, shed 3", HEADROOM + 2);
    assert!(
        output.iter().any(|l| l.contains(&summary)),
        "no {summary:?} in {output:#?}"
    );
}

#[test]
fn soak_example_passes_a_short_run() {
    let mut command = Command::new(example("soak"));
    command.args([
        "--duration",
        "2",
        "--connections",
        "16",
        "--max-bytes",
        "32768",
    ]);
    // The soak's own watchdog fails it after 10 s without progress.
    let (status, stdout, stderr) = run_with_deadline(command, CHILD_DEADLINE);
    assert!(
        status.is_some_and(|s| s.success()) && stdout.starts_with("soak: ok:"),
        "soak failed ({status:?}):\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}

// ---------------------------------------------------------------------------
// The child side. Nothing here may open an fd behind the scenario's back
// once the limit is lowered (no `/proc` reads: fds are probed with fcntl).

/// Whether `fd` is an open file descriptor.
fn is_open(fd: libc::c_int) -> bool {
    // SAFETY: F_GETFD only reads the flags of `fd`; for a number that is
    // not an open fd it fails with EBADF and changes nothing.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// The soft and hard `RLIMIT_NOFILE`.
fn fd_limit() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit`.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    limit
}

fn set_fd_limit(limit: libc::rlimit) {
    // SAFETY: `limit` is a valid `rlimit`; only the soft limit changes, and
    // it stays at or below the hard limit.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Lowers the soft limit so that exactly `headroom` more fds can be
/// opened: just above the `headroom`-th free fd number. Returns the limit
/// that was in force before.
fn leave_fds(headroom: usize) -> libc::rlimit {
    let old = fd_limit();
    let mut free = 0;
    let mut fd = 0;
    loop {
        if !is_open(fd) {
            if free == headroom {
                break;
            }
            free += 1;
        }
        fd += 1;
    }
    set_fd_limit(libc::rlimit {
        rlim_cur: fd as libc::rlim_t,
        rlim_max: old.rlim_max,
    });
    old
}

/// The number of open fds, probed up to a bound far above what the child
/// uses (it checks that bound when it starts).
const PROBE_BOUND: libc::c_int = 4096;

/// Checks (while fds are still plentiful) that every open fd is below
/// [`PROBE_BOUND`], so [`open_fds`] sees them all.
fn assert_fds_below_probe_bound() {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let name = entry.unwrap().file_name();
        let fd: libc::c_int = name.to_str().unwrap().parse().unwrap();
        assert!(fd < PROBE_BOUND, "fd {fd} is above the probe bound");
    }
}

fn open_fds() -> usize {
    (0..PROBE_BOUND).filter(|&fd| is_open(fd)).count()
}

fn assert_emfile<T>(res: io::Result<T>, what: &str) {
    match res {
        Ok(_) => panic!("{what} succeeded with no fd left"),
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{what}: {e}"),
    }
}

/// Waits for `stream` to be readable and reads exactly `len` bytes.
fn read_exactly(
    poll: &mut Poll,
    events: &mut Events,
    stream: &mut TcpStream,
    token: Token,
    len: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    let end = Instant::now() + DEADLINE;
    while out.len() < len {
        let mut buf = [0u8; 256];
        match stream.read(&mut buf) {
            Ok(0) => panic!("unexpected end of stream"),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < end, "timed out reading");
                expect_events(poll, events, &[Expect::readable(token)]);
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    out
}

/// A full echo through the event loop: the client writes, the server side
/// (an nbio stream registered under `token`) reads on its event and writes
/// back, the client reads the echo.
fn serve_echo(
    poll: &mut Poll,
    events: &mut Events,
    client: &mut std::net::TcpStream,
    server: &mut TcpStream,
    token: Token,
    message: &[u8],
) {
    client.write_all(message).unwrap();
    let got = read_exactly(poll, events, server, token, message.len());
    assert_eq!(got, message);
    server.write_all(&got).unwrap(); // a few bytes: fits the socket buffer
    let mut echoed = vec![0; message.len()];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(echoed, message);
}

/// A listener registered for readable events and `n` clients already
/// connected (queued: the kernel completes the handshake).
fn listener_with_queued_clients(
    poll: &Poll,
    n: usize,
) -> (TcpListener, SocketAddr, Vec<std::net::TcpStream>) {
    let mut listener = TcpListener::bind(util::any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let clients = (0..n).map(|_| client(addr)).collect();
    (listener, addr, clients)
}

fn accept_fails_with_emfile_and_recovers() {
    const ROOM: usize = 3;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let (listener, addr, mut clients) = listener_with_queued_clients(&poll, ROOM + 2);
    expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);

    leave_fds(ROOM);
    let mut accepted = Vec::new();
    let err = loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let token = Token(accepted.len());
                poll.registry()
                    .register(&mut stream, token, Interest::READABLE)
                    .unwrap();
                accepted.push((stream, token));
            }
            Err(e) => break e,
        }
    };
    assert_eq!(accepted.len(), ROOM, "accepted before running out");
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
    // Still out: the same error again, and nothing else breaks.
    assert_emfile(listener.accept(), "accept");
    assert_emfile(File::open("/dev/null"), "open");
    // The connections in hand keep working, through the same Poll.
    for (i, (stream, token)) in accepted.iter_mut().enumerate() {
        let msg = format!("out of fds, still serving {i}");
        serve_echo(
            &mut poll,
            &mut events,
            &mut clients[i],
            stream,
            *token,
            msg.as_bytes(),
        );
    }
    // The queued clients raise no new event (the edge was spent): the
    // application has to retry by itself once it has freed an fd.
    util::expect_no_event_for(&mut poll, &mut events, LISTENER);

    // Free one fd: the very next accept takes the first queued client.
    drop(accepted.remove(0));
    let (mut stream, _) = listener.accept().expect("accept after freeing an fd");
    poll.registry()
        .register(&mut stream, Token(100), Interest::READABLE)
        .unwrap();
    serve_echo(
        &mut poll,
        &mut events,
        &mut clients[ROOM],
        &mut stream,
        Token(100),
        b"served after EMFILE",
    );
    accepted.push((stream, Token(100)));
    // Out again (one client still queued), then the same once more.
    assert_emfile(listener.accept(), "accept");
    drop(accepted.remove(0));
    let (mut stream, _) = listener.accept().expect("accept after freeing an fd");
    poll.registry()
        .register(&mut stream, Token(101), Interest::READABLE)
        .unwrap();
    serve_echo(
        &mut poll,
        &mut events,
        &mut clients[ROOM + 1],
        &mut stream,
        Token(101),
        b"the last queued client",
    );
    accepted.push((stream, Token(101)));

    // The queue is empty, but with no fd free accept still says EMFILE:
    // the kernel wants an fd before it looks at the queue.
    assert_emfile(listener.accept(), "accept on an empty queue");
    // With two fds free (one for a new client, one to accept it), accept
    // says WouldBlock, and the listener, still registered, reports the
    // next client with an event as usual.
    drop(accepted.drain(..2));
    match listener.accept() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
    let mut late = client(addr);
    expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
    let (mut stream, _) = listener.accept().unwrap();
    poll.registry()
        .register(&mut stream, Token(102), Interest::READABLE)
        .unwrap();
    serve_echo(
        &mut poll,
        &mut events,
        &mut late,
        &mut stream,
        Token(102),
        b"a new client",
    );
    assert_emfile(File::open("/dev/null"), "open");
}

/// What [`accept_all`] did.
#[derive(Debug, Default)]
struct AcceptOutcome {
    accepted: Vec<TcpStream>,
    shed: usize,
}

/// The recovery recipe: accept until `WouldBlock`; on `EMFILE` close the
/// spare fd, accept the queued connection with the fd that freed and close
/// it at once, reopen the spare, and go on. An `accept` with no fd free
/// says `EMFILE` even on an empty queue, so only the one made with the
/// spare's fd can end the loop with `WouldBlock`.
fn accept_all(listener: &TcpListener, spare: &mut Option<File>) -> AcceptOutcome {
    let mut out = AcceptOutcome::default();
    loop {
        match listener.accept() {
            Ok((stream, _)) => out.accepted.push(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                drop(spare.take().expect("the spare fd is gone"));
                let queue_empty = match listener.accept() {
                    Ok((stream, _)) => {
                        drop(stream);
                        out.shed += 1;
                        false
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
                    Err(e) => panic!("accept with the spare's fd: {e}"),
                };
                *spare = Some(File::open("/dev/null").expect("reopening the spare"));
                if queue_empty {
                    return out;
                }
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn spare_fd_recipe_sheds_and_rearms() {
    const ROOM: usize = 2;
    const EXCESS: usize = 3;
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let mut spare = Some(File::open("/dev/null").unwrap());
    let (listener, addr, mut clients) = listener_with_queued_clients(&poll, ROOM + EXCESS);
    expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);

    leave_fds(ROOM);
    let AcceptOutcome { accepted, shed } = accept_all(&listener, &mut spare);
    assert_eq!(accepted.len(), ROOM);
    assert_eq!(shed, EXCESS);
    // The spare is back and holds the last free fd.
    assert_emfile(File::open("/dev/null"), "open");
    // The first ROOM clients are served, the others were shed.
    let mut served: Vec<(TcpStream, Token)> = Vec::new();
    for (i, mut stream) in accepted.into_iter().enumerate() {
        let token = Token(i);
        poll.registry()
            .register(&mut stream, token, Interest::READABLE)
            .unwrap();
        serve_echo(
            &mut poll,
            &mut events,
            &mut clients[i],
            &mut stream,
            token,
            b"accepted",
        );
        served.push((stream, token));
    }
    for shed_client in &mut clients[ROOM..] {
        assert_shed(shed_client);
    }
    // The loop ended on WouldBlock, so the listener is armed again: new
    // clients raise an event. Dropping the shed clients frees three fds:
    // two for new clients, one for the server to accept with; the second
    // new client finds no fd and is shed.
    clients.truncate(ROOM);
    let mut late: Vec<_> = (0..2).map(|_| client(addr)).collect();
    let mut accepted = Vec::new();
    let mut shed = 0;
    let end = Instant::now() + DEADLINE;
    while accepted.len() + shed < late.len() {
        assert!(Instant::now() < end, "late clients not all handled");
        expect_events(&mut poll, &mut events, &[Expect::readable(LISTENER)]);
        let outcome = accept_all(&listener, &mut spare);
        accepted.extend(outcome.accepted);
        shed += outcome.shed;
    }
    assert_eq!((accepted.len(), shed), (1, 1));
    let mut stream = accepted.pop().unwrap();
    poll.registry()
        .register(&mut stream, Token(50), Interest::READABLE)
        .unwrap();
    serve_echo(
        &mut poll,
        &mut events,
        &mut late[0],
        &mut stream,
        Token(50),
        b"late but served",
    );
    assert_shed(&mut late[1]);
    // The clients accepted first are still served.
    for (i, (stream, token)) in served.iter_mut().enumerate() {
        serve_echo(
            &mut poll,
            &mut events,
            &mut clients[i],
            stream,
            *token,
            b"still here",
        );
    }
}

/// Every fd-making constructor, run with `headroom` fds left: each either
/// succeeds or fails with `EMFILE`, and leaves no fd behind once dropped.
fn constructors_fail_cleanly() {
    let path = util::temp_path("exhaustion");
    let unix_listener = UnixListener::bind(&path).unwrap();
    let tcp_listener = TcpListener::bind(util::any_local_address()).unwrap();
    let tcp_addr = tcp_listener.local_addr().unwrap();
    // One Poll per Waker attempt (debug builds allow one Waker per Poll,
    // even a failed attempt counts), made while fds are plentiful.
    let mut waker_polls: Vec<Poll> = (0..4).map(|_| Poll::new().unwrap()).collect();
    let clone_source = Poll::new().unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    // Queued connections for the accept attempts.
    let _tcp_clients: Vec<_> = (0..8).map(|_| client(tcp_addr)).collect();
    let _unix_clients: Vec<_> = (0..8)
        .map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap())
        .collect();
    assert_fds_below_probe_bound();

    type Attempt<'a> = (
        &'a str,
        Box<dyn Fn() -> io::Result<Box<dyn std::any::Any>> + 'a>,
    );
    fn boxed<T: 'static>(r: io::Result<T>) -> io::Result<Box<dyn std::any::Any>> {
        r.map(|v| Box::new(v) as Box<dyn std::any::Any>)
    }
    let any = util::any_local_address;
    let attempts: Vec<Attempt> = vec![
        ("Poll::new", Box::new(|| boxed(Poll::new()))),
        (
            "Registry::try_clone",
            Box::new(|| boxed(clone_source.registry().try_clone())),
        ),
        (
            "TcpListener::bind",
            Box::new(|| boxed(TcpListener::bind(any()))),
        ),
        (
            "TcpStream::connect",
            Box::new(|| boxed(TcpStream::connect(tcp_addr))),
        ),
        (
            "TcpListener::accept",
            Box::new(|| boxed(tcp_listener.accept())),
        ),
        (
            "UdpSocket::bind",
            Box::new(|| boxed(UdpSocket::bind(any()))),
        ),
        ("UnixStream::pair", Box::new(|| boxed(UnixStream::pair()))),
        (
            "UnixDatagram::pair",
            Box::new(|| boxed(UnixDatagram::pair())),
        ),
        (
            "UnixDatagram::unbound",
            Box::new(|| boxed(UnixDatagram::unbound())),
        ),
        (
            "UnixStream::connect",
            Box::new(|| boxed(UnixStream::connect(&path))),
        ),
        (
            "UnixListener::accept",
            Box::new(|| boxed(unix_listener.accept())),
        ),
        (
            "unix::pipe::new",
            Box::new(|| boxed(nbio::unix::pipe::new())),
        ),
    ];

    let saved = fd_limit();
    for (headroom, waker_poll) in waker_polls.iter_mut().enumerate() {
        leave_fds(headroom);
        let before = open_fds();
        let mut made_here = Vec::new();
        let mut failed = 0;
        for (what, attempt) in &attempts {
            match attempt() {
                Ok(made) => {
                    made_here.push(*what);
                    // (A registry clone on the poll(2) backend shares the
                    // selector and needs no fd, so it may succeed anyway.)
                    let held = open_fds() - before;
                    assert!(held <= headroom, "{what} holds {held} fds?");
                    drop(made);
                }
                Err(e) => {
                    failed += 1;
                    assert_eq!(
                        e.raw_os_error(),
                        Some(libc::EMFILE),
                        "{what} with {headroom} fds left: {e}"
                    );
                }
            }
            assert_eq!(
                open_fds(),
                before,
                "{what} with {headroom} fds left: fds leaked"
            );
        }
        match Waker::new(waker_poll.registry(), Token(9)) {
            Ok(waker) => {
                made_here.push("Waker::new");
                // (On poll(2) the Waker uses the selector's notifier.)
                let held = open_fds() - before;
                assert!(held <= headroom, "Waker::new holds {held} fds?");
                waker.wake().unwrap();
                expect_events(waker_poll, &mut events, &[Expect::readable(Token(9))]);
            }
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "Waker::new: {e}"),
        }
        // A failed Waker::new leaves its Poll working, with no stray event.
        waker_poll
            .poll(&mut events, Some(Duration::from_millis(10)))
            .unwrap();
        assert!(
            events.iter().all(|e| e.token() == Token(9)),
            "unexpected events: {events:?}"
        );
        assert_eq!(open_fds(), before, "Waker::new: fds leaked");
        // Polling needs no fd.
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        set_fd_limit(saved);
        println!("{headroom} fds left: succeeded: {made_here:?}; the others: EMFILE");
        // The limit did bite: with no fd left nearly everything failed, and
        // the pairs (two fds) failed with one left.
        match headroom {
            0 => assert!(failed >= attempts.len() - 1, "only {failed} failed"),
            1 => assert!(failed >= 3, "only {failed} failed"),
            _ => {}
        }
    }
    drop(attempts);
    drop((unix_listener, waker_polls, clone_source));
    let _ = std::fs::remove_file(&path);
}
