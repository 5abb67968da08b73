//! Sub-millisecond poll timeouts: never early, and still working when the
//! kernel refuses `epoll_pwait2`, or ends a wait nbio asked for a timer
//! slack early before the deadline.
//!
//! Both are produced for real in a child process (this test binary run
//! again with one test selected): one installs a seccomp filter that fails
//! `epoll_pwait2` with `ENOSYS` (an old kernel) or `EPERM` (a container's
//! filter), then polls with sub-millisecond timeouts; the other lowers its
//! timer slack after nbio has read it.
//!
//! Linux only (glibc and musl builds, where nbio uses `epoll_pwait2`); not
//! under Miri, which cannot run child processes.
#![cfg(all(
    target_os = "linux",
    any(target_env = "gnu", target_env = "musl"),
    not(miri)
))]

mod util;

use nbio::net::UnixStream;
use nbio::{Events, Interest, Poll, Token};
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

/// Set in the child to the errno its filter makes `epoll_pwait2` fail with.
const CHILD_ENV: &str = "NBIO_TEST_PWAIT2_ERRNO";
/// Set in the child that lowers its timer slack.
const SLACK_CHILD_ENV: &str = "NBIO_TEST_LOWERED_SLACK";

const SUB_MS: [Duration; 4] = [
    Duration::from_nanos(1),
    Duration::from_micros(100),
    Duration::from_micros(999),
    Duration::from_micros(1_500),
];

/// Polls `poll`, on which nothing is ready, with `timeout`, and checks the
/// poll returned nothing and not before `timeout` had elapsed.
fn poll_idle_for(poll: &mut Poll, events: &mut Events, timeout: Duration) {
    let start = Instant::now();
    poll.poll(events, Some(timeout)).unwrap();
    let elapsed = start.elapsed();
    assert!(events.is_empty(), "unexpected events: {events:?}");
    assert!(
        elapsed >= timeout,
        "poll({timeout:?}) returned early, after {elapsed:?}"
    );
}

/// Polls an idle `Poll` with each sub-millisecond timeout and checks none
/// returns before its timeout, then checks a ready event still arrives.
fn sub_millisecond_waits_work() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, b) = UnixStream::pair().unwrap();
    poll.registry()
        .register(&mut a, Token(1), Interest::READABLE)
        .unwrap();
    for _ in 0..3 {
        for timeout in SUB_MS {
            poll_idle_for(&mut poll, &mut events, timeout);
        }
    }
    (&b).write_all(b"x").unwrap();
    poll.poll(&mut events, Some(Duration::from_micros(100)))
        .unwrap();
    if events.is_empty() {
        // The write is already visible to the kernel; a generous retry
        // only guards against a scheduler hiccup.
        poll.poll(&mut events, Some(util::DEADLINE)).unwrap();
    }
    let event = events.iter().next().expect("no readable event");
    assert_eq!(event.token(), Token(1));
    assert!(event.is_readable());
}

#[test]
fn sub_millisecond_timeouts_never_return_early() {
    sub_millisecond_waits_work();
}

/// Installs a seccomp filter on this thread failing `epoll_pwait2` with
/// `errno`; every other system call is allowed.
fn refuse_epoll_pwait2(errno: i32) {
    let nr = libc::SYS_epoll_pwait2 as u32;
    let mut filter = [
        // A = seccomp_data.nr (offset 0)
        bpf(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        // if A == nr fall through to the refusal, else skip it
        bpf(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 0, 1, nr),
        bpf(
            libc::BPF_RET | libc::BPF_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | errno as u32,
        ),
        bpf(libc::BPF_RET | libc::BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only; it is
    // required before an unprivileged process may install a filter.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: `program` points to `filter`, both alive for the call; the
    // kernel copies the program.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &program as *const libc::sock_fprog,
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

fn bpf(code: u32, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// In the child: refuse the call, check the filter works, then poll.
/// In the parent (the normal test run): nothing, the two tests below
/// start the children.
#[test]
fn child_with_refused_epoll_pwait2() {
    let Ok(errno) = std::env::var(CHILD_ENV) else {
        return;
    };
    let errno: i32 = errno.parse().unwrap();
    refuse_epoll_pwait2(errno);
    // SAFETY: a direct system call with invalid arguments; the filter
    // answers before the kernel would look at them.
    let rc = unsafe { libc::syscall(libc::SYS_epoll_pwait2, -1, 0, 0, 0, 0, 0) };
    assert_eq!(rc, -1);
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(errno));
    sub_millisecond_waits_work();
    println!("refused-pwait2 child: ok");
}

/// Runs the test `child` alone in a child process with `env` set, and
/// checks it printed `ok`.
fn run_child(child: &str, env: (&str, String), ok: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(ok),
        "child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_refusing_child(errno: i32) {
    run_child(
        "child_with_refused_epoll_pwait2",
        (CHILD_ENV, errno.to_string()),
        "refused-pwait2 child: ok",
    );
}

#[test]
fn falls_back_when_epoll_pwait2_is_not_implemented() {
    run_refusing_child(libc::ENOSYS);
}

#[test]
fn falls_back_when_a_seccomp_filter_refuses_epoll_pwait2() {
    run_refusing_child(libc::EPERM);
}

/// In the child: nbio reads the thread's 20 ms timer slack at the first
/// short wait; then the thread lowers its slack to 1 ns. A 30 ms poll is
/// now asked of the kernel as 10 ms, which the kernel ends 20 ms before the
/// deadline, with nothing ready: the poll must wait again for the rest.
#[test]
fn child_with_lowered_timer_slack() {
    if std::env::var_os(SLACK_CHILD_ENV).is_none() {
        return;
    }
    util::set_timer_slack(Duration::from_millis(20));
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.poll(&mut events, Some(Duration::from_millis(1)))
        .unwrap();
    util::set_timer_slack(Duration::from_nanos(1));
    let timeout = Duration::from_millis(30);
    for _ in 0..3 {
        poll_idle_for(&mut poll, &mut events, timeout);
    }
    println!("lowered-slack child: ok");
}

#[test]
fn a_wait_the_kernel_ends_before_the_deadline_is_repeated() {
    run_child(
        "child_with_lowered_timer_slack",
        (SLACK_CHILD_ENV, "1".to_string()),
        "lowered-slack child: ok",
    );
}
