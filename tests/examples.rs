//! Runs the shipped examples as a user would and checks what they do: the
//! echo servers echo, and exit cleanly when told to stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

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

/// Starts an example and returns it with the address it printed on its
/// first line ("... listening on ADDR").
fn spawn(name: &str, args: &[&str]) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start example {name} ({e}): `cargo test` builds the examples, \
                 `cargo test --test examples` alone does not"
            )
        });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (child, addr, stdout)
}

/// Waits for the child to exit, killing it if it outlives the deadline.
fn wait_with_deadline(
    mut child: Child,
    mut stdout: BufReader<std::process::ChildStdout>,
) -> String {
    let end = Instant::now() + DEADLINE;
    // Read the output on a helper thread: the end of it (the example closes
    // its stdout by exiting) is the event to wait for, with a deadline.
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
    // Its stdout is closed, so the process is exiting: std has no wait with
    // a timeout, so check for the exit until the deadline, then kill it.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if !closed || Instant::now() >= end {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        thread::yield_now();
    };
    // Killing the child closed its stdout, so the reader is done too.
    let rest = reader.join().unwrap().unwrap();
    let status = status
        .unwrap_or_else(|| panic!("example outlived {DEADLINE:?} and was killed; output: {rest}"));
    assert!(status.success(), "example failed: {status}; output: {rest}");
    rest
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn tcp_server_echoes_and_exits_after_max_connections() {
    let (child, addr, stdout) = spawn("tcp_server", &["127.0.0.1:0", "--max-connections", "2"]);
    for message in [&b"first client"[..], &b"second client, a little longer"[..]] {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream.write_all(message).unwrap();
        let mut echoed = vec![0u8; message.len()];
        stream.read_exact(&mut echoed).unwrap();
        assert_eq!(echoed, message);
    }
    let rest = wait_with_deadline(child, stdout);
    assert!(rest.contains("served 2 connections"), "output: {rest}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn udp_server_echoes_and_exits_after_max_datagrams() {
    let (child, addr, stdout) = spawn("udp_server", &["127.0.0.1:0", "--max-datagrams", "3"]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(DEADLINE)).unwrap();
    for i in 0..3u8 {
        let message = [i; 5];
        socket.send_to(&message, &addr).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &message);
        assert_eq!(from.to_string(), addr);
    }
    let rest = wait_with_deadline(child, stdout);
    assert!(rest.contains("echoed 3 datagrams"), "output: {rest}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn demo_runs_to_completion() {
    let child = Command::new(example("demo"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start the demo");
    let mut child = child;
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let out = wait_with_deadline(child, stdout);
    assert!(
        out.contains("800 round trips over 8 connections"),
        "output: {out}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn echo_demo_summary_shows_traffic_and_no_errors() {
    let mut child = Command::new(example("echo_demo"))
        .args(["--connections", "50", "--duration", "0.5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start echo_demo");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let out = wait_with_deadline(child, stdout);
    // A summary row is "  name   value", the value maybe with thousands
    // separators.
    let row = |name: &str| {
        out.lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name:?} row; output: {out}"))
            .trim()
            .replace(',', "")
    };
    assert_eq!(row("connections"), "50", "output: {out}");
    assert_eq!(row("errors"), "0", "output: {out}");
    let echoed: u64 = row("messages echoed").parse().unwrap();
    assert!(echoed > 0, "output: {out}");
}
