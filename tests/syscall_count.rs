//! System-call accounting: counts, never times.
//!
//! * A loopback TCP ping-pong round trip costs at most six system calls on
//!   epoll (two waits, two reads, two writes) and no more than mio's. The
//!   loop runs in a child process (this test binary run again with one test
//!   selected) under `strace -f`; markers (`close(-4242)`, `close(-4243)`)
//!   bracket the measured rounds. The loop reads each 1-byte message once
//!   instead of reading on to `WouldBlock`, which epoll's edge triggering
//!   allows when the peer sends nothing more (the count being measured);
//!   the poll(2) backend needs the `WouldBlock` to re-arm, so the test is
//!   ignored there. Skipped, with the reason printed, when
//!   strace is not installed or cannot trace here; `.ci/run` installs it.
//! * A short timeout is passed to the kernel in nanoseconds
//!   (`epoll_pwait2`) when the kernel has the call, with no probe repeated,
//!   and asked for one timer slack early (strace shows the argument).
//! * A wake while another is pending makes no system call: the thread's
//!   write count from `/proc/thread-self/io` (`syscw`) is compared before and
//!   after.
//! * A wake after a delivery is reported by the next `poll` without any
//!   system call when that `poll` comes right after the kernel's batch
//!   (strace, as for ping-pong).
//!
//! Linux only; not under Miri (no child processes, no /proc).
#![cfg(all(target_os = "linux", not(miri)))]

mod util;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

/// Names the crate the child's ping-pong runs on ("nbio" or "mio").
const CHILD_ENV: &str = "NBIO_TEST_SYSCALL_CHILD";
const WARM_UP: usize = 200;
const ROUNDS: usize = 1_000;
const START_MARKER: i32 = -4242;
const END_MARKER: i32 = -4243;

/// A ping-pong loop over one loopback TCP connection, written once for any
/// crate with mio's API.
macro_rules! ping_pong {
    ($krate:ident) => {{
        use std::io::{Read, Write};
        use $krate::net::TcpStream;
        use $krate::{Events, Interest, Poll, Token};

        fn wait(poll: &mut Poll, events: &mut Events, token: Token) {
            loop {
                poll.poll(events, Some(Duration::from_secs(10))).unwrap();
                assert!(!events.is_empty(), "no event within 10 s");
                if events.iter().any(|e| e.token() == token && e.is_readable()) {
                    return;
                }
            }
        }

        /// Reads exactly one byte. The peer sends nothing more until it
        /// gets a reply, so no read to `WouldBlock` is needed.
        fn read_one(mut s: &TcpStream) {
            let mut buf = [0u8; 1];
            assert_eq!(s.read(&mut buf).unwrap(), 1);
        }

        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(16);
        // A non-blocking, connected loopback pair (tests/util).
        let (client, server) = util::std_tcp_pair();
        let (mut client, mut server) = (TcpStream::from_std(client), TcpStream::from_std(server));
        client.set_nodelay(true).unwrap();
        server.set_nodelay(true).unwrap();
        let (c, s) = (Token(0), Token(1));
        poll.registry()
            .register(&mut client, c, Interest::READABLE)
            .unwrap();
        poll.registry()
            .register(&mut server, s, Interest::READABLE)
            .unwrap();
        let mut round_trip = |poll: &mut Poll| {
            (&client).write_all(b"p").unwrap();
            wait(poll, &mut events, s);
            read_one(&server);
            (&server).write_all(b"q").unwrap();
            wait(poll, &mut events, c);
            read_one(&client);
        };
        for _ in 0..WARM_UP {
            round_trip(&mut poll);
        }
        marker(START_MARKER);
        for _ in 0..ROUNDS {
            round_trip(&mut poll);
        }
        marker(END_MARKER);
    }};
}

/// A system call strace shows with a recognisable argument and that has
/// no effect: closing a negative fd fails with `EBADF`.
fn marker(n: i32) {
    // SAFETY: closing an invalid (negative) descriptor only fails.
    unsafe { libc::close(n) };
}

/// In the child: runs the loop on the crate named by `CHILD_ENV`. In the
/// normal test run: nothing.
#[test]
fn child_ping_pong() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("nbio") => ping_pong!(nbio),
        Ok("mio") => ping_pong!(mio),
        Ok("timeouts") => sub_millisecond_timeouts(),
        Ok("wakes") => wakes_after_deliveries(),
        _ => return,
    }
    println!("syscall child: ok");
}

/// The thread's timer slack in [`sub_millisecond_timeouts`]: a value of
/// the test's own, not the machine's default.
const TEST_SLACK: Duration = Duration::from_micros(30);
const SHORT_TIMEOUT: Duration = Duration::from_micros(100);

/// Ten idle polls with a sub-millisecond timeout, between the markers, on
/// a thread whose timer slack is [`TEST_SLACK`].
fn sub_millisecond_timeouts() {
    util::set_timer_slack(TEST_SLACK);
    let mut poll = nbio::Poll::new().unwrap();
    let mut events = nbio::Events::with_capacity(8);
    poll.poll(&mut events, Some(SHORT_TIMEOUT)).unwrap();
    marker(START_MARKER);
    for _ in 0..10 {
        poll.poll(&mut events, Some(SHORT_TIMEOUT)).unwrap();
    }
    marker(END_MARKER);
}

/// Between the markers, `ROUNDS` times on one thread: a wake that writes
/// and the `poll` that collects it from the kernel; a wake after that
/// delivery (no write) and the `poll` that reports it; a zero-timeout
/// `poll` that finds nothing.
fn wakes_after_deliveries() {
    use nbio::{Events, Poll, Token, Waker};
    fn wait(poll: &mut Poll, events: &mut Events) {
        poll.poll(events, Some(Duration::from_secs(10))).unwrap();
        assert!(events.iter().any(|e| e.token() == Token(1)), "no wake");
    }
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(poll.registry(), Token(1)).unwrap();
    marker(START_MARKER);
    for _ in 0..ROUNDS {
        waker.wake().unwrap();
        wait(&mut poll, &mut events);
        waker.wake().unwrap();
        wait(&mut poll, &mut events);
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty(), "unexpected {events:?}");
    }
    marker(END_MARKER);
}

/// Runs the child under strace and returns the system calls the measuring
/// thread made between the markers, by name; `None` if strace is missing or
/// cannot trace here.
fn traced_calls(krate: &str) -> Option<BTreeMap<String, usize>> {
    traced_lines(krate).map(|lines| by_name(&lines))
}

/// The system calls themselves, one strace line each ("name(args) = ...").
fn traced_lines(krate: &str) -> Option<Vec<String>> {
    let trace =
        std::env::temp_dir().join(format!("nbio-syscalls-{krate}-{}.txt", std::process::id()));
    let out = Command::new("strace")
        .arg("-f")
        .arg("-qq")
        .arg("-o")
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_ping_pong",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, krate)
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => return skip(&format!("strace is not available ({e})")),
    };
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    let _ = std::fs::remove_file(&trace);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("syscall child: ok") && text.is_empty() {
        // strace itself failed (for example ptrace is not permitted).
        return skip(&format!(
            "strace could not trace ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    assert!(
        out.status.success() && stdout.contains("syscall child: ok"),
        "child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(calls_between_markers(&text))
}

/// How many of `lines` each system call made.
fn by_name(lines: &[String]) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    for call in lines {
        let name = call.split('(').next().unwrap_or(call).to_string();
        *calls.entry(name).or_default() += 1;
    }
    calls
}

/// Reports why a strace test cannot run: a printed skip, or a failure when
/// `NBIO_REQUIRE_STRACE` is set (CI sets it, having installed strace).
fn skip<T>(reason: &str) -> Option<T> {
    if std::env::var_os("NBIO_REQUIRE_STRACE").is_some() {
        panic!("NBIO_REQUIRE_STRACE is set but {reason}");
    }
    println!("SKIPPED: {reason}");
    None
}

/// Parses `strace -f -o` output ("PID name(args) = result" per line).
fn calls_between_markers(text: &str) -> Vec<String> {
    let start = format!("close({START_MARKER})");
    let end = format!("close({END_MARKER})");
    let mut counting: Option<&str> = None;
    let mut calls = Vec::new();
    for line in text.lines() {
        let Some((pid, call)) = line.split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        match counting {
            None if call.starts_with(&start) => counting = Some(pid),
            Some(p) if p == pid => {
                if call.starts_with(&end) {
                    return calls;
                }
                // A call interrupted by another thread's line is printed
                // in two parts ("name(args <unfinished ...>", then
                // "<... name resumed>more args) = result"): joined into
                // one, so it is counted once and its arguments stay whole.
                if let Some(resumed) = call.strip_prefix("<...") {
                    let rest = resumed.split_once("resumed>").map_or("", |(_, r)| r);
                    if let Some(last) = calls.last_mut() {
                        last.push_str(rest);
                    }
                    continue;
                }
                let call = call.strip_suffix(" <unfinished ...>").unwrap_or(call);
                calls.push(call.to_string());
            }
            _ => {}
        }
    }
    panic!("markers not found in the trace:\n{text}");
}

/// The parser on strace's output for two threads, one of whose calls is
/// cut by the other's line (as under TSan, whose runtime has a thread).
#[test]
fn a_call_strace_prints_in_two_parts_is_one_whole_call() {
    let text = format!(
        "7 close({START_MARKER}) = -1 EBADF\n\
         7 epoll_pwait2(3,  <unfinished ...>\n\
         8 futex(0x1, FUTEX_WAKE, 1) = 0\n\
         7 <... epoll_pwait2 resumed>[], 8, {{tv_sec=0, tv_nsec=70000}}, NULL, 0) = 0\n\
         7 write(4, \"x\", 1) = 1\n\
         7 close({END_MARKER}) = -1 EBADF\n"
    );
    assert_eq!(
        calls_between_markers(&text),
        [
            "epoll_pwait2(3, [], 8, {tv_sec=0, tv_nsec=70000}, NULL, 0) = 0",
            "write(4, \"x\", 1) = 1",
        ]
    );
}

fn per_round(calls: &BTreeMap<String, usize>) -> f64 {
    calls.values().sum::<usize>() as f64 / ROUNDS as f64
}

#[test]
#[cfg_attr(
    nbio_force_poll,
    ignore = "the poll(2) backend re-arms only after WouldBlock, so this \
              loop (one read per message) is for epoll's edge triggering"
)]
fn ping_pong_costs_at_most_six_system_calls_and_no_more_than_mio() {
    let Some(nbio) = traced_calls("nbio") else {
        return;
    };
    let Some(mio) = traced_calls("mio") else {
        return;
    };
    println!("nbio, {ROUNDS} round trips: {nbio:?}");
    println!("mio,  {ROUNDS} round trips: {mio:?}");
    let (n, m) = (per_round(&nbio), per_round(&mio));
    println!("system calls per round trip: nbio {n:.3}, mio {m:.3}");
    assert!(n <= 6.0, "nbio made {n} system calls per round trip");
    assert!(n <= m, "nbio ({n}) made more system calls than mio ({m})");
}

/// A wake after a delivery is reported by the next `poll` itself; right
/// after the kernel's batch, that report makes no system call at all (the
/// batch has just collected what was ready). Per round of
/// `wakes_after_deliveries`: one write and two `epoll_wait`s.
#[test]
#[cfg_attr(
    nbio_force_poll,
    ignore = "the poll(2) backend has no coalescing waker: every wake writes"
)]
fn reporting_a_wake_right_after_a_kernel_batch_makes_no_system_call() {
    let Some(calls) = traced_calls("wakes") else {
        return;
    };
    println!("{ROUNDS} rounds: {calls:?}");
    let writes = calls.get("write").copied().unwrap_or(0);
    let waits = calls.get("epoll_wait").copied().unwrap_or(0);
    assert_eq!(writes, ROUNDS, "one write per round: {calls:?}");
    assert_eq!(waits, 2 * ROUNDS, "two waits per round: {calls:?}");
    // Anything else would be the test's own (sanitizer runtimes map
    // memory now and then), so it is printed, not asserted.
}

/// Whether this kernel implements `epoll_pwait2` (Linux 5.11): with a bad
/// fd it fails with `EBADF` if it exists, `ENOSYS` if not.
#[cfg(any(target_env = "gnu", target_env = "musl"))]
fn kernel_has_epoll_pwait2() -> bool {
    // SAFETY: a direct system call on an invalid fd; it only fails.
    let rc = unsafe { libc::syscall(libc::SYS_epoll_pwait2, -1, 0, 0, 0, 0, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
}

/// Each of the ten 100 µs polls asks `epoll_pwait2` for 100 µs minus the
/// thread's 30 µs slack, so that the kernel's latest end is the deadline.
/// The kernel may end that wait inside its slack window, before the
/// deadline; the poll then waits once more for the rest (at most a slack,
/// asked for exactly), so ten polls make ten to twenty waits.
#[test]
#[cfg(any(target_env = "gnu", target_env = "musl"))]
#[cfg_attr(nbio_force_poll, ignore = "poll(2) has millisecond timeouts only")]
fn short_timeouts_ask_epoll_pwait2_one_timer_slack_early() {
    let Some(lines) = traced_lines("timeouts") else {
        return;
    };
    let calls = by_name(&lines);
    if !kernel_has_epoll_pwait2() {
        println!("kernel without epoll_pwait2: expecting the epoll_wait fallback");
        let mut want = BTreeMap::new();
        want.insert("epoll_wait".to_string(), 10);
        assert_eq!(calls, want);
        return;
    }
    println!("ten {SHORT_TIMEOUT:?} polls: {lines:#?}");
    let waits = calls.get("epoll_pwait2").copied().unwrap_or(0);
    assert_eq!(calls.len(), 1, "only epoll_pwait2 expected: {calls:?}");
    assert!((10..=20).contains(&waits), "{waits} waits for ten polls");
    let asked = (SHORT_TIMEOUT - TEST_SLACK).as_nanos();
    let early = format!("{{tv_sec=0, tv_nsec={asked}}}");
    let asked_early = lines.iter().filter(|l| l.contains(&early)).count();
    assert_eq!(asked_early, 10, "each poll's first wait asks for {early}");
}

/// The number of write-type system calls this thread has made, from the
/// kernel's per-task I/O accounting; `None` where it is not available.
fn thread_write_calls() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/thread-self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("syscw:"))
        .and_then(|v| v.trim().parse().ok())
}

/// 1,000 wakes, then one poll that must report exactly one waker event;
/// returns how many writes the wakes made.
fn wake_round(poll: &mut nbio::Poll, events: &mut nbio::Events, waker: &nbio::Waker) -> u64 {
    let before = thread_write_calls().unwrap();
    for _ in 0..1_000 {
        waker.wake().unwrap();
    }
    let writes = thread_write_calls().unwrap() - before;
    poll.poll(events, Some(Duration::from_secs(10))).unwrap();
    let wakes = events.iter().filter(|e| e.token() == WAKER).count();
    assert_eq!(wakes, 1, "{events:?}");
    writes
}

const WAKER: nbio::Token = nbio::Token(7);

/// A poll with a waker under `WAKER`, or `None` (saying the test is
/// skipped) where the thread's write calls cannot be counted.
fn counted_waker() -> Option<(nbio::Poll, nbio::Events, nbio::Waker)> {
    if thread_write_calls().is_none() {
        println!("SKIPPED: /proc/thread-self/io is not available");
        return None;
    }
    let poll = nbio::Poll::new().unwrap();
    let waker = nbio::Waker::new(poll.registry(), WAKER).unwrap();
    Some((poll, nbio::Events::with_capacity(8), waker))
}

#[test]
fn a_wake_while_one_is_pending_makes_no_system_call() {
    let Some((mut poll, mut events, waker)) = counted_waker() else {
        return;
    };
    // Nothing delivered yet: the first wake writes, the rest merge.
    assert_eq!(wake_round(&mut poll, &mut events, &waker), 1);
    // After a delivery, with the poller not blocked: epoll reports the wake
    // at the next poll without any write; poll(2) writes once.
    for round in 1..4 {
        let writes = wake_round(&mut poll, &mut events, &waker);
        assert!(
            writes <= 1,
            "round {round}: 1,000 wakes made {writes} writes"
        );
    }
}

/// Wakes that come one at a time, each delivered before the next (and
/// the poller back in `poll` before the next comes), stop
/// coalescing (each writes, as mio's do, and nothing is read from the
/// poller's side first); a burst after that is bounded: once the writes
/// outnumber the deliveries by 32, wakes coalesce again (see
/// `src/sys/unix/waker/coalesce.rs`, "Wakes one at a time").
#[test]
fn a_burst_after_a_calm_spell_makes_a_bounded_number_of_writes() {
    let Some((mut poll, mut events, waker)) = counted_waker() else {
        return;
    };
    let before = thread_write_calls().unwrap();
    for _ in 0..64 {
        waker.wake().unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        assert!(events.iter().any(|e| e.token() == WAKER), "{events:?}");
        // Back in `poll` before the next wake, as a poller that waits for
        // it would be.
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty(), "{events:?}");
    }
    let calm = thread_write_calls().unwrap() - before;
    assert_eq!(calm, 64, "each wake after a delivery writes once");
    let writes = wake_round(&mut poll, &mut events, &waker);
    // poll(2)'s waker keeps its own pending flag: one write.
    let min = if cfg!(nbio_force_poll) { 1 } else { 2 };
    assert!(
        (min..=33).contains(&writes),
        "1,000 wakes after a calm spell made {writes} writes"
    );
    // Coalescing again: the next burst makes at most one write.
    let writes = wake_round(&mut poll, &mut events, &waker);
    assert!(writes <= 1, "the next 1,000 wakes made {writes} writes");
}

#[test]
fn a_blocked_poller_is_woken_by_one_write() {
    use nbio::{Events, Poll, Waker};
    use std::sync::Arc;
    if thread_write_calls().is_none() {
        println!("SKIPPED: /proc/thread-self/io is not available");
        return;
    }
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).unwrap());
    for _ in 0..3 {
        // Deliver one wake first so every round starts from "delivered".
        waker.wake().unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        let remote = Arc::clone(&waker);
        let poller = util::current_tid();
        let waking = std::thread::spawn(move || {
            util::wait_until_blocked(poller);
            let before = thread_write_calls().unwrap();
            for _ in 0..1_000 {
                remote.wake().unwrap();
            }
            thread_write_calls().unwrap() - before
        });
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        let writes = waking.join().unwrap();
        assert!(events.iter().any(|e| e.token() == WAKER), "{events:?}");
        // The poller may wake and deliver mid-burst. epoll then reports
        // the rest of the burst at the next poll without writing; poll(2)
        // has no such state, so the first wake after the delivery writes.
        let max = if cfg!(nbio_force_poll) { 2 } else { 1 };
        assert!(
            (1..=max).contains(&writes),
            "1,000 wakes to a blocked poller made {writes} writes"
        );
    }
}

/// Once the selector's fd is handed out, something else may wait on it, so
/// a wake after a delivery must write (the fd must become readable).
#[test]
#[cfg(not(nbio_force_poll))] // the poll(2) selector has no fd to hand out
fn every_wake_after_a_delivery_writes_once_the_fd_is_exposed() {
    use std::os::fd::AsRawFd;
    let Some((mut poll, mut events, waker)) = counted_waker() else {
        return;
    };
    let _fd = poll.as_raw_fd();
    for round in 0..4 {
        let writes = wake_round(&mut poll, &mut events, &waker);
        assert_eq!(writes, 1, "round {round}: 1,000 wakes made {writes} writes");
    }
}
