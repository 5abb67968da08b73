//! Runs the tutorial examples (multi-thread server, chat server, TCP and UDP
//! in one loop, Unix socket server, custom `SourceFd` source, minimal async
//! runtime) as a user would, acts as their client, and checks both what
//! they answer and that they exit cleanly when their stop flag says so.
//!
//! `cargo test` builds the examples first; `source_fd` exists only with the
//! `os-ext` feature (`cargo test --all-features`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound on every wait: a process run, a socket read.
const DEADLINE: Duration = Duration::from_secs(20);

/// Path of a compiled example: `cargo test` builds examples next to the test
/// binaries' `deps` directory.
fn example(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop(); // the test binary
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Starts an example and returns it with the last word of its first line
/// (the address, for the servers), and the rest of its output to read.
fn spawn(name: &str, args: &[&str]) -> (Child, String, BufReader<ChildStdout>) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start example {name} ({e}): `cargo test` builds the examples, \
                 `cargo test --test tutorial_examples` alone does not"
            )
        });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // If the example dies before printing, this returns an empty line.
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|word| !word.is_empty())
        .unwrap_or_else(|| panic!("{name}: unexpected first line: {line:?}"))
        .to_string();
    (child, addr, stdout)
}

/// Waits for the child to exit, killing it if it outlives the deadline;
/// asserts it exited with success and returns the rest of its output.
fn wait_with_deadline(mut child: Child, mut stdout: BufReader<ChildStdout>) -> String {
    let end = Instant::now() + DEADLINE;
    // Read the output on a helper thread: its end (the example closes its
    // stdout by exiting) is the event to wait for, with a deadline.
    let (eof_tx, eof_rx) = mpsc::channel::<()>();
    let reader = thread::spawn(move || {
        let mut rest = String::new();
        let res = stdout.read_to_string(&mut rest);
        let _ = eof_tx.send(());
        res.map(|_| rest)
    });
    let closed = eof_rx
        .recv_timeout(end.saturating_duration_since(Instant::now()))
        .is_ok();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if !closed || Instant::now() >= end {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    // Killing the child closed its stdout, so the reader is done too.
    let rest = reader.join().unwrap().unwrap();
    let status = status
        .unwrap_or_else(|| panic!("example outlived {DEADLINE:?} and was killed; output: {rest}"));
    assert!(status.success(), "example failed: {status}; output: {rest}");
    rest
}

/// A blocking TCP client with bounded reads.
fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// Sends `message` and checks that exactly it comes back.
fn round_trip(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(message).unwrap();
    let mut echoed = vec![0u8; message.len()];
    stream.read_exact(&mut echoed).unwrap();
    assert_eq!(echoed, message);
}

/// Opens `n` connections first, so they are all open at the same time, then
/// has each of them (in reverse order of connection) echo a few messages.
fn concurrent_echo_clients(addr: &str, n: usize) {
    let mut clients: Vec<TcpStream> = (0..n).map(|_| connect(addr)).collect();
    for round in 0..3 {
        for (i, client) in clients.iter_mut().enumerate().rev() {
            round_trip(client, format!("client {i}, round {round}\n").as_bytes());
        }
    }
    // Dropping the clients disconnects them.
}

#[cfg(all(unix, not(any(target_os = "illumos", target_os = "solaris"))))]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn multi_thread_server_serves_concurrent_clients() {
    let (child, addr, stdout) = spawn(
        "multi_thread_server",
        &["127.0.0.1:0", "--threads", "3", "--exit-after-clients", "8"],
    );
    // Several client threads, each with several connections open at once.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let addr = addr.clone();
            thread::spawn(move || concurrent_echo_clients(&addr, 4))
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let rest = wait_with_deadline(child, stdout);
    assert_eq!(
        rest.matches(" accepted 127.0.0.1:").count(),
        8,
        "output: {rest}"
    );
    assert!(rest.contains("thread 2 served"), "output: {rest}");
    assert!(rest.contains("served 8 clients, exiting"), "output: {rest}");
}

/// Reads one line (without its newline) from a chat connection.
fn chat_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.ends_with('\n'), "incomplete line: {line:?}");
    line.trim_end().to_string()
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn chat_server_broadcasts_lines_to_the_others_only() {
    let (child, addr, stdout) = spawn("chat_server", &["127.0.0.1:0", "--exit-after-clients", "2"]);

    let mut a = connect(&addr);
    let a_addr = a.local_addr().unwrap().to_string();
    let mut a_in = BufReader::new(a.try_clone().unwrap());
    assert_eq!(chat_line(&mut a_in), format!("* welcome, you are {a_addr}"));

    let mut b = connect(&addr);
    let b_addr = b.local_addr().unwrap().to_string();
    let mut b_in = BufReader::new(b.try_clone().unwrap());
    // Both welcomes read: both clients are in the room.
    assert_eq!(chat_line(&mut b_in), format!("* welcome, you are {b_addr}"));
    assert_eq!(chat_line(&mut a_in), format!("* {b_addr} joined"));

    // A complete line, then one in two pieces.
    a.write_all(b"hello\nwor").unwrap();
    thread::sleep(Duration::from_millis(50));
    a.write_all(b"ld\r\n").unwrap();
    assert_eq!(chat_line(&mut b_in), format!("{a_addr}: hello"));
    assert_eq!(chat_line(&mut b_in), format!("{a_addr}: world"));

    // The first thing A hears after B joined is B's line: none of its own
    // lines came back to it (they would have been queued before this one).
    b.write_all(b"hi there\n").unwrap();
    assert_eq!(chat_line(&mut a_in), format!("{b_addr}: hi there"));

    drop(a_in);
    drop(a);
    assert_eq!(chat_line(&mut b_in), format!("* {a_addr} left"));
    drop(b_in);
    drop(b);

    let rest = wait_with_deadline(child, stdout);
    assert!(
        rest.contains("2 clients came and went, exiting"),
        "output: {rest}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn tcp_and_udp_answers_both_in_one_loop() {
    let (child, addr, stdout) = spawn(
        "tcp_and_udp",
        &[
            "127.0.0.1:0",
            "--exit-after-clients",
            "1",
            "--exit-after-datagrams",
            "2",
        ],
    );

    let mut tcp = connect(&addr);
    round_trip(&mut tcp, b"over tcp");

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(DEADLINE)).unwrap();
    for message in [&b"over udp"[..], &b"and once more"[..]] {
        udp.send_to(message, &addr).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = udp.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], message);
        assert_eq!(from.to_string(), addr);
    }

    // TCP still works after the datagrams, then the client leaves.
    round_trip(&mut tcp, b"tcp again");
    drop(tcp);

    let rest = wait_with_deadline(child, stdout);
    assert!(
        rest.contains("served 1 tcp clients and echoed 2 datagrams, exiting"),
        "output: {rest}"
    );
}

#[cfg(unix)]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn unix_server_echoes_and_removes_its_socket_file() {
    use std::os::unix::net::UnixStream;

    let path = std::env::temp_dir().join(format!("nbio-tutorial-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let path_str = path.to_str().unwrap();
    let (child, printed, stdout) = spawn(
        "unix_server",
        &["--path", path_str, "--exit-after-clients", "2"],
    );
    assert!(path_str.ends_with(&printed), "printed {printed:?}");
    assert!(path.exists());

    // Two clients open at the same time.
    let mut clients: Vec<UnixStream> = (0..2)
        .map(|_| {
            let stream = UnixStream::connect(&path).unwrap();
            stream.set_read_timeout(Some(DEADLINE)).unwrap();
            stream
        })
        .collect();
    for (i, client) in clients.iter_mut().enumerate().rev() {
        let message = format!("unix client {i}");
        client.write_all(message.as_bytes()).unwrap();
        let mut echoed = vec![0u8; message.len()];
        client.read_exact(&mut echoed).unwrap();
        assert_eq!(echoed, message.as_bytes());
    }
    drop(clients);

    let rest = wait_with_deadline(child, stdout);
    assert!(rest.contains("served 2 clients, exiting"), "output: {rest}");
    assert!(!path.exists(), "socket file {path:?} left behind");
}

#[cfg(all(unix, feature = "os-ext"))]
#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn source_fd_example_reads_the_pipe_through_its_custom_source() {
    let (child, first_word, stdout) = spawn("source_fd", &[]);
    assert_eq!(first_word, "Token(10)");
    let rest = wait_with_deadline(child, stdout);
    assert!(rest.contains("event for Token(10)"), "output: {rest}");
    assert!(
        rest.contains("reregistered with Token(11)"),
        "output: {rest}"
    );
    assert!(rest.contains("event for Token(11)"), "output: {rest}");
    assert!(rest.contains("deregistered and closed"), "output: {rest}");
    assert!(
        rest.contains(r#"received 30 bytes in all: "message 0\nmessage 1\nmessage 2\n""#),
        "output: {rest}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn async_runtime_echoes_for_concurrent_clients() {
    let (child, addr, stdout) = spawn(
        "async_runtime",
        &["127.0.0.1:0", "--exit-after-clients", "7"],
    );

    // One client streams a large payload while reading the echo on another
    // thread: the server's writes then hit `WouldBlock`, which exercises
    // the write-waker path of the runtime.
    let big = {
        let addr = addr.clone();
        thread::spawn(move || {
            let stream = connect(&addr);
            let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
            let mut writer = stream.try_clone().unwrap();
            let expected = payload.clone();
            let sender = thread::spawn(move || writer.write_all(&payload).unwrap());
            let mut echoed = vec![0u8; expected.len()];
            (&stream).read_exact(&mut echoed).unwrap();
            sender.join().unwrap();
            assert!(echoed == expected, "large payload echoed wrong");
        })
    };
    // Meanwhile six small clients, all connected at once.
    concurrent_echo_clients(&addr, 6);
    big.join().unwrap();

    let rest = wait_with_deadline(child, stdout);
    assert_eq!(rest.matches(" disconnected").count(), 7, "output: {rest}");
    assert!(rest.contains("served 7 clients, exiting"), "output: {rest}");
}
