//! # nbio vs mio vs a hand-written epoll loop
//!
//! One process, three implementations of the same event-loop workloads:
//!
//! * **nbio** and **mio**: each workload is written once, in the
//!   `workloads!` macro, against the API the two crates share; the macro is
//!   expanded once per crate, so both run the very same source;
//! * **raw**: the same workload written directly on `libc` (`epoll_create1`,
//!   `epoll_ctl`, `epoll_wait`, `recv`/`send`, `eventfd`, ...), making the
//!   system calls a careful hand-written program would make and no others.
//!
//! Workloads (loopback only; every wait gives up after 10 s, so the bench
//! cannot hang):
//!
//! * **TCP ping-pong, 1 B and 64 B**: one thread, one poller, a connected
//!   TCP pair (`TCP_NODELAY`); a round trip is write, wait for readable,
//!   read the whole message, write it back, wait, read. µs per round trip.
//! * **Echo server, 256 and 4,096 connections**: the server under test runs
//!   on its own thread (CPU 0); one fixed load generator, written on raw
//!   epoll and the same for all three servers, runs on CPU 1, keeps one
//!   64-byte message in flight per connection and times a fixed number of
//!   echoes. Messages per second.
//! * **Cross-thread wake latency**: a thread (CPU 1) calls `wake()` while the
//!   poller (CPU 0) is blocked in `poll`; latency is from just before
//!   `wake()` to `poll` returning the waker's event. p50 and p99 in µs.
//! * **Wake storm**: a thread (CPU 1) calls `wake()` in a tight loop while
//!   another (CPU 0) polls. Wakes per CPU-second of the waking thread, its
//!   `write` system calls per wake (`/proc/thread-self/io`, `syscw`), and how
//!   often the poller returned per second. Each run starts after 32 wakes
//!   delivered one at a time, so nbio's waker starts it writing for every
//!   wake and must return to coalescing under the storm.
//! * **Registration churn**: `register` + `reregister` + `deregister` of one
//!   TCP stream. µs per triple.
//! * **Idle sources**: the 1-byte ping-pong over a Unix stream pair with 100
//!   or 10,000 idle Unix sockets registered on the same poller.
//! * **Timeout overshoot**: `poll` with nothing ready and a 100 µs, 1 ms or
//!   5 ms timeout; median of (elapsed − timeout), and a count of calls that
//!   returned *before* the timeout (must be 0). Raw passes the timeout to
//!   `epoll_pwait2` as it is (nanoseconds), so the kernel may end it up to
//!   the timer slack late; nbio asks for it a slack early and waits again
//!   if the kernel ends it before the deadline (see
//!   `src/sys/unix/selector/epoll_wait.rs`), which is why it beats raw.
//!
//! ## Rounds and ratios
//!
//! Each workload runs one warm-up round (not counted), then R rounds (10 by
//! default, `NBIO_BENCH_ROUNDS` overrides; the short workloads, ping-pong,
//! churn, idle sources and wake latency, run 2R rounds). Within a round the
//! three implementations take turns, so that a change in the machine's speed
//! (a VM's neighbours come and go) hits all three alike:
//!
//! * single-threaded loops (ping-pong, churn, idle sources): the three are
//!   set up side by side and run 20 chunks each, in rotating order (chunks
//!   of 500 round trips for ping-pong, a few ms);
//! * wake latency: three pollers block on their own threads (all on CPU 0)
//!   and one waking thread wakes them in turn, one wake in flight at a time;
//! * timeout overshoot: one thread waits on the three pollers in turn;
//! * echo: the three servers run at once (CPU 0) and the load generator
//!   (CPU 1) drives them in turns of a tenth of the round's messages; with
//!   4,096 connections three sets of sockets exceed a 20,000-fd limit, and
//!   then the servers take whole rounds in turn, in rotating order;
//! * wake storm, which keeps both CPUs busy: nbio, mio and raw run one after
//!   another, in an order rotating per round.
//!
//! The idle-source workloads share one set of idle sockets, registered with
//! each poller (three sets would not fit a 20,000-fd limit).
//!
//! Ratios are computed per round, then summarised by their median and their
//! spread (p10–p90 with at least 10 rounds, min–max otherwise). A ratio is
//! "how many times better nbio did than the other": other ÷ nbio for costs
//! (µs, syscalls), nbio ÷ other for rates (messages/s, wakes/CPU-s). So
//! **mio/nbio ≥ 1.00** means nbio was at least as good as mio, and
//! **raw/nbio = 0.97** means nbio was 3 % behind the hand-written loop.
//!
//! The single-threaded loops (ping-pong, churn, idle sources) are timed on
//! the thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`): their thread never
//! sleeps, so that is their whole cost, minus time the VM's host or another
//! process took from it. The two-thread workloads use wall time.
//!
//! Threads are pinned with `sched_setaffinity`: single-threaded workloads on
//! CPU 0, two-thread workloads on CPUs 0 and 1 (no pinning on a single-CPU
//! machine; the output says so).
//!
//! ## Running
//!
//! ```text
//! cargo bench --bench compare
//! ```
//!
//! runs the full measurement (about 80–90 s; `NBIO_BENCH_ONLY=<part of a
//! workload's name>` runs only the matching workloads) and ends with a markdown table
//! for BENCHMARKS.md. Without `--bench` (`cargo test --benches`) every
//! workload runs once with tiny sizes, as a smoke test. Linux only: the raw
//! baseline is epoll.

#[cfg(target_os = "linux")]
fn main() -> std::io::Result<()> {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("compare bench: Linux only (raw epoll baseline)");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread::{self, JoinHandle};
    use std::time::{Duration, Instant};

    // -----------------------------------------------------------------
    // Fixed parameters
    // -----------------------------------------------------------------

    /// Every blocking wait gives up after this long.
    const DEADLINE: Duration = Duration::from_secs(10);
    /// [`DEADLINE`] in the milliseconds `epoll_wait` takes.
    const DEADLINE_MS: i32 = 10_000;
    /// The CPU of single-threaded workloads, pollers and servers.
    const CPU_HOME: usize = 0;
    /// The CPU of the second thread: wakers and the load generator.
    const CPU_PEER: usize = 1;
    /// Size of one echo message.
    const ECHO_MESSAGE: usize = 64;
    /// How long the waking thread waits after the poller acknowledged a wake,
    /// so the poller is back inside `poll` before the next one.
    const WAKE_GAP: Duration = Duration::from_micros(30);
    /// The timeouts of the overshoot workload.
    const TIMEOUTS: [Duration; 3] = [
        Duration::from_micros(100),
        Duration::from_millis(1),
        Duration::from_millis(5),
    ];
    /// Event buffer size of the single-connection workloads.
    const SMALL_BATCH: usize = 64;
    /// Event buffer size of the echo server and the load generator.
    const LARGE_BATCH: usize = 1024;

    /// Sizes of one run: the full measurement or the quick smoke test.
    #[derive(Clone)]
    struct Plan {
        quick: bool,
        rounds: usize,
        /// Turns per implementation in a round of a single-threaded loop.
        chunks: usize,
        /// Turns per implementation in a round of an echo workload run side
        /// by side.
        echo_chunks: usize,
        ping_pong_trips: usize,
        /// (connections, timed messages) per echo workload.
        echo: [(usize, usize); 2],
        wakes: usize,
        storm: Duration,
        churn: usize,
        /// Idle sources of the two idle-source workloads.
        idle: [usize; 2],
        idle_trips: usize,
        /// Samples per round for each of [`TIMEOUTS`].
        overshoot_samples: [usize; 3],
        /// Only workloads whose name contains this run (`NBIO_BENCH_ONLY`).
        only: Option<String>,
    }

    impl Plan {
        fn full() -> Plan {
            Plan {
                quick: false,
                rounds: 10,
                chunks: 20,
                echo_chunks: 10,
                ping_pong_trips: 10_000,
                echo: [(256, 90_000), (4_096, 120_000)],
                wakes: 1_000,
                storm: Duration::from_millis(300),
                churn: 50_000,
                idle: [100, 10_000],
                idle_trips: 30_000,
                overshoot_samples: [60, 30, 30],
                only: None,
            }
        }

        fn quick() -> Plan {
            Plan {
                quick: true,
                rounds: 1,
                chunks: 2,
                echo_chunks: 2,
                ping_pong_trips: 20,
                echo: [(16, 200), (16, 200)],
                wakes: 20,
                storm: Duration::from_millis(20),
                churn: 20,
                idle: [100, 100],
                idle_trips: 20,
                overshoot_samples: [1, 1, 1],
                only: None,
            }
        }

        /// The plan for this invocation: `cargo bench` passes `--bench`;
        /// `NBIO_BENCH_ROUNDS` overrides the number of rounds.
        fn from_environment() -> io::Result<Plan> {
            let mut plan = if std::env::args().any(|a| a == "--bench") {
                Plan::full()
            } else {
                Plan::quick()
            };
            if let Ok(text) = std::env::var("NBIO_BENCH_ROUNDS") {
                plan.rounds = match text.trim().parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(invalid("NBIO_BENCH_ROUNDS must be a positive integer")),
                };
            }
            plan.only = std::env::var("NBIO_BENCH_ONLY").ok();
            Ok(plan)
        }
    }

    // -----------------------------------------------------------------
    // Errors, timing and statistics helpers
    // -----------------------------------------------------------------

    fn timed_out(what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: nothing happened within {DEADLINE:?}"),
        )
    }

    fn invalid(what: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, what.to_string())
    }

    fn eof(what: &str) -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, format!("{what}: peer closed"))
    }

    /// Microseconds per operation.
    fn micros_per_op(elapsed: Duration, ops: usize) -> f64 {
        elapsed.as_secs_f64() * 1e6 / ops as f64
    }

    /// Busy-waits for `gap` without giving up the CPU.
    fn spin_for(gap: Duration) {
        let start = Instant::now();
        while start.elapsed() < gap {
            std::hint::spin_loop();
        }
    }

    /// The median of `values` (mean of the two middle ones for an even count).
    fn median(values: &[f64]) -> f64 {
        let sorted = sorted(values);
        let n = sorted.len();
        match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    /// Nearest-rank percentile of already sorted values, `p` in (0, 1].
    fn percentile(sorted: &[f64], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = (p * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    // -----------------------------------------------------------------
    // Machine facts, pinning, limits
    // -----------------------------------------------------------------

    /// Whether threads are pinned (set once at start-up).
    static PINNING: AtomicBool = AtomicBool::new(false);

    /// Pins the calling thread to `cpu`.
    fn pin_to(cpu: usize) -> io::Result<()> {
        // SAFETY: `cpu_set_t` is a plain bit array for which all zeroes is
        // the valid empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `CPU_SET` only sets a bit in `set`; `cpu` is 0 or 1, far
        // below `CPU_SETSIZE`, so the write stays inside the array.
        unsafe { libc::CPU_SET(cpu, &mut set) };
        // SAFETY: pid 0 is the calling thread; `set` is a valid, initialised
        // `cpu_set_t` of exactly the size passed, and outlives the call.
        let rc =
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Pins the calling thread to `cpu` if pinning is on. A failure here
    /// (pinning worked at start-up) is reported and otherwise ignored, so a
    /// thread always goes on to do its part.
    fn pin_if_enabled(cpu: usize) {
        if PINNING.load(Ordering::Relaxed) {
            if let Err(e) = pin_to(cpu) {
                eprintln!("warning: could not pin a thread to CPU {cpu}: {e}");
            }
        }
    }

    /// Turns pinning on if there are at least two CPUs and the kernel lets
    /// us pin; pins the main thread to [`CPU_HOME`]. Returns a description.
    fn set_up_pinning(cpus: usize) -> String {
        if cpus < 2 {
            return "no (fewer than 2 CPUs)".to_string();
        }
        match pin_to(CPU_HOME) {
            Ok(()) => {
                PINNING.store(true, Ordering::Relaxed);
                format!("yes (home CPU {CPU_HOME}, peer CPU {CPU_PEER})")
            }
            Err(e) => format!("no (sched_setaffinity failed: {e})"),
        }
    }

    /// Raises the soft open-file limit to the hard one; returns the result.
    fn raise_fd_limit() -> io::Result<u64> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid `rlimit` the kernel fills in.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            // SAFETY: `limit` is a valid `rlimit` that outlives the call.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        #[allow(clippy::useless_conversion)] // `rlim_t` is 32-bit on some targets
        Ok(u64::from(limit.rlim_cur))
    }

    fn kernel_release() -> String {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string())
    }

    /// The calling thread's `write`-family system call count (`syscw` in
    /// `/proc/thread-self/io`), if the kernel exposes it.
    fn thread_write_syscalls() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/thread-self/io").ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("syscw:"))
            .and_then(|value| value.trim().parse().ok())
    }

    /// CPU time consumed by the calling thread.
    fn thread_cpu_time() -> io::Result<Duration> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid `timespec` the kernel fills in.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
    }

    /// A stopwatch on the calling thread's CPU time, for the single-threaded
    /// loops (ping-pong, churn): it leaves out time the thread spent
    /// preempted or, on a VM with steal accounting, stolen by the host, the
    /// main source of round-to-round noise on a small shared machine.
    pub struct CpuStopwatch(Duration);

    impl CpuStopwatch {
        pub fn start() -> io::Result<CpuStopwatch> {
            thread_cpu_time().map(CpuStopwatch)
        }

        pub fn elapsed(&self) -> io::Result<Duration> {
            Ok(thread_cpu_time()?.saturating_sub(self.0))
        }
    }

    // -----------------------------------------------------------------
    // Threads and sockets shared by all three implementations
    // -----------------------------------------------------------------

    /// Spawns a named thread pinned to `cpu` running `work`.
    fn spawn_on<T, F>(cpu: usize, name: &str, work: F) -> io::Result<JoinHandle<io::Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce() -> io::Result<T> + Send + 'static,
    {
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                pin_if_enabled(cpu);
                work()
            })
    }

    /// Waits for a thread and returns its result; a panic becomes an error.
    fn join<T>(handle: JoinHandle<io::Result<T>>) -> io::Result<T> {
        handle
            .join()
            .map_err(|_| io::Error::other("bench thread panicked"))?
    }

    /// A connected loopback TCP pair, non-blocking, `TCP_NODELAY` on both
    /// ends: (client, server).
    fn tcp_pair() -> io::Result<(StdStream, StdStream)> {
        let listener = StdListener::bind("127.0.0.1:0")?;
        let client = StdStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        for end in [&client, &server] {
            end.set_nodelay(true)?;
            end.set_nonblocking(true)?;
        }
        Ok((client, server))
    }

    /// A non-blocking loopback listener on a fresh port, with an accept
    /// queue deep enough for every echo connection: with std's default
    /// backlog a briefly descheduled server lets the queue overflow, and the
    /// dropped SYN costs the connecting client a 1 s retransmission.
    fn loopback_listener() -> io::Result<StdListener> {
        let listener = StdListener::bind("127.0.0.1:0")?;
        // SAFETY: the fd is a live, bound socket owned by `listener`; calling
        // `listen` again on a listening socket only changes its backlog
        // (the kernel caps it at `net.core.somaxconn`).
        if unsafe { libc::listen(listener.as_raw_fd(), 4096) } != 0 {
            return Err(io::Error::last_os_error());
        }
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    /// `count` connected Unix stream sockets (pairs) that stay idle.
    fn idle_sockets(count: usize) -> io::Result<Vec<OwnedFd>> {
        let mut fds = Vec::with_capacity(count);
        while fds.len() < count {
            let (a, b) = std::os::unix::net::UnixStream::pair()?;
            fds.push(OwnedFd::from(a));
            fds.push(OwnedFd::from(b));
        }
        fds.truncate(count);
        Ok(fds)
    }

    /// Makes `close` reset the connection (`SO_LINGER` on, 0 s): no
    /// `TIME_WAIT` is left behind by thousands of connections per round.
    fn set_linger_zero(socket: &StdStream) -> io::Result<()> {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: the fd is a live socket owned by `socket`; `linger` is a
        // valid `struct linger` of the size passed and outlives the call.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    // -----------------------------------------------------------------
    // The echo load generator (fixed: raw epoll, the same for all servers)
    // -----------------------------------------------------------------

    /// One client connection of the load generator.
    struct ClientConn {
        stream: StdStream,
        /// Bytes of the current echo received so far.
        received: usize,
    }

    /// Opens N connections to an echo server and keeps one 64-byte message
    /// in flight on each.
    struct LoadGenerator {
        epoll: raw::Epoll,
        conns: Vec<ClientConn>,
    }

    impl LoadGenerator {
        /// Connects `count` clients, one blocking connect (with the
        /// deadline) at a time, then makes them non-blocking.
        fn connect(addr: SocketAddr, count: usize) -> io::Result<LoadGenerator> {
            let epoll = raw::Epoll::new(LARGE_BATCH)?;
            let mut conns = Vec::with_capacity(count);
            for index in 0..count {
                let stream = StdStream::connect_timeout(&addr, DEADLINE)?;
                stream.set_nodelay(true)?;
                stream.set_nonblocking(true)?;
                set_linger_zero(&stream)?;
                epoll.add(stream.as_raw_fd(), index as u64, raw::READABLE_ET)?;
                conns.push(ClientConn {
                    stream,
                    received: 0,
                });
            }
            Ok(LoadGenerator { epoll, conns })
        }

        /// Has `total` messages echoed: one is sent on every connection (or
        /// on the first `total`), and whenever a full echo comes back on a
        /// connection the next message goes out on it, until `total` were
        /// sent. Returns the time until the last echo arrived.
        fn exchange(&mut self, total: usize) -> io::Result<Duration> {
            let message = [0x5a_u8; ECHO_MESSAGE];
            let LoadGenerator { epoll, conns } = self;
            let start = Instant::now();
            let mut sent = 0;
            for conn in conns.iter().take(total) {
                send_message(&conn.stream, &message)?;
                sent += 1;
            }
            let mut echoed = 0;
            while echoed < total {
                let ready = epoll.wait("echo load generator")?;
                for i in 0..ready {
                    let conn = &mut conns[epoll.token(i) as usize];
                    if !receive_echo(conn)? {
                        continue;
                    }
                    echoed += 1;
                    if sent < total {
                        send_message(&conn.stream, &message)?;
                        sent += 1;
                    }
                }
            }
            Ok(start.elapsed())
        }
    }

    /// Sends one whole message; a 64-byte message into an idle connection
    /// always fits, so anything short is an error.
    fn send_message(stream: &StdStream, message: &[u8]) -> io::Result<()> {
        let n = raw::send(stream.as_raw_fd(), message)?;
        if n == message.len() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::WriteZero, "short send"))
        }
    }

    /// Reads what has arrived of the current echo; `true` once it is whole.
    /// Stops as soon as the message is complete (the server sends nothing
    /// more until the next message), so no read is wasted on `EAGAIN`.
    fn receive_echo(conn: &mut ClientConn) -> io::Result<bool> {
        let mut buf = [0u8; ECHO_MESSAGE];
        loop {
            match raw::recv(conn.stream.as_raw_fd(), &mut buf[conn.received..]) {
                Ok(0) => return Err(eof("echo load generator")),
                Ok(n) => {
                    conn.received += n;
                    if conn.received == ECHO_MESSAGE {
                        conn.received = 0;
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// A running echo server (on [`CPU_HOME`]) of one implementation.
    pub struct EchoServer {
        pub addr: SocketAddr,
        /// Makes the server loop return (whatever it holds must live until
        /// the server has returned).
        pub stop: Box<dyn Fn() -> io::Result<()> + Send>,
        pub thread: JoinHandle<io::Result<()>>,
    }

    /// Drives echo servers already running: the load generator (on
    /// [`CPU_PEER`]) connects `connections` clients to each, primes every
    /// connection with one untimed message, then has `messages` echoed by
    /// each server in `chunks` turns taken in rotating order (one server
    /// alone takes them in one go). The servers are stopped and joined
    /// whatever happened; the generator's sockets are closed (reset) last.
    /// Returns messages per second per server.
    fn drive_echo(
        servers: Vec<EchoServer>,
        (connections, messages): (usize, usize),
        chunks: usize,
        round: usize,
    ) -> io::Result<Vec<f64>> {
        let count = servers.len();
        let chunks = if count == 1 { 1 } else { chunks.max(1) };
        let per_chunk = (messages / chunks).max(1);
        let addrs: Vec<SocketAddr> = servers.iter().map(|server| server.addr).collect();
        let generator = spawn_on(CPU_PEER, "load-generator", move || {
            let mut generators = Vec::with_capacity(addrs.len());
            for addr in addrs {
                let mut generator = LoadGenerator::connect(addr, connections)?;
                generator.exchange(connections)?;
                generators.push(generator);
            }
            let mut elapsed = vec![Duration::ZERO; generators.len()];
            for chunk in 0..chunks {
                for k in 0..generators.len() {
                    let i = (chunk + round + k) % generators.len();
                    elapsed[i] += generators[i].exchange(per_chunk)?;
                }
            }
            Ok((generators, elapsed))
        });
        let load = generator.and_then(join);
        let mut first_error = None;
        for EchoServer { stop, thread, .. } in servers {
            if let Err(e) = stop().and_then(|()| join(thread)) {
                first_error.get_or_insert(e);
            }
            // Only now: closing a waker's fd before the server took its
            // event would take the event with it.
            drop(stop);
        }
        let (generators, elapsed) = load?;
        if let Some(e) = first_error {
            return Err(e);
        }
        drop(generators);
        debug_assert_eq!(elapsed.len(), count);
        let timed = (per_chunk * chunks) as f64;
        Ok(elapsed
            .iter()
            .map(|time| timed / time.as_secs_f64())
            .collect())
    }

    // -----------------------------------------------------------------
    // Cross-thread wake plumbing shared by all three implementations
    // -----------------------------------------------------------------

    /// Hands wakes from the waking thread to the poller one at a time and
    /// measures how long each took to arrive.
    struct WakeClock {
        base: Instant,
        /// When the latest wake was issued, ns since `base`.
        issued_at: AtomicU64,
        /// How many wakes the poller has received.
        acknowledged: AtomicU64,
        /// The poller gave up; the waking thread should stop.
        abandoned: AtomicBool,
    }

    impl WakeClock {
        fn new() -> WakeClock {
            WakeClock {
                base: Instant::now(),
                issued_at: AtomicU64::new(0),
                acknowledged: AtomicU64::new(0),
                abandoned: AtomicBool::new(false),
            }
        }

        fn now_ns(&self) -> u64 {
            self.base.elapsed().as_nanos() as u64
        }

        /// Waking side: gives the poller [`WAKE_GAP`] to block again, notes
        /// the time, wakes, and waits until the poller received wake number
        /// `seq` (1-based). `false` if the poller gave up.
        fn issue(&self, seq: u64, wake: &dyn Fn() -> io::Result<()>) -> io::Result<bool> {
            spin_for(WAKE_GAP);
            self.issued_at.store(self.now_ns(), Ordering::Release);
            wake()?;
            let deadline = Instant::now() + DEADLINE;
            while self.acknowledged.load(Ordering::Acquire) < seq {
                if self.abandoned.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                if Instant::now() > deadline {
                    return Err(timed_out("wake latency: poller acknowledgement"));
                }
                std::hint::spin_loop();
            }
            Ok(true)
        }

        /// Polling side, right after `poll` returned wake number `seq`
        /// (1-based): returns its latency in ns and acknowledges it.
        fn received(&self, seq: u64) -> u64 {
            let latency = self
                .now_ns()
                .saturating_sub(self.issued_at.load(Ordering::Acquire));
            self.acknowledged.store(seq, Ordering::Release);
            latency
        }

        fn abandon(&self) {
            self.abandoned.store(true, Ordering::Relaxed);
        }
    }

    /// The two halves of one implementation's wake-latency workload.
    pub struct WakeParts {
        /// Wakes the poller (called on the waking thread).
        pub wake: Box<dyn Fn() -> io::Result<()> + Send>,
        /// Blocks until the poller sees the waker's event.
        pub wait: Box<dyn FnMut() -> io::Result<()> + Send>,
    }

    /// One round of wake latency for the three implementations at once:
    /// each has its poller blocked on its own thread (all on [`CPU_HOME`]),
    /// and one waking thread (on [`CPU_PEER`]) wakes them in turn, one wake
    /// in flight at a time, `count` each, so the three see the same moments
    /// of the machine. Returns [p50, p99] in µs per implementation.
    fn measure_wake_latency(
        count: usize,
        round: usize,
        parts: [WakeParts; 3],
    ) -> io::Result<[Vec<f64>; 3]> {
        let clocks = Arc::new([WakeClock::new(), WakeClock::new(), WakeClock::new()]);
        let mut wakes = Vec::with_capacity(3);
        let mut pollers = Vec::with_capacity(3);
        for (i, WakeParts { wake, mut wait }) in parts.into_iter().enumerate() {
            wakes.push(wake);
            let clocks = Arc::clone(&clocks);
            pollers.push(spawn_on(CPU_HOME, "wake-poller", move || {
                let clock = &clocks[i];
                let mut latencies = Vec::with_capacity(count);
                for seq in 1..=count as u64 {
                    if let Err(e) = wait() {
                        clock.abandon();
                        return Err(e);
                    }
                    latencies.push(clock.received(seq) as f64 / 1e3);
                }
                Ok(latencies)
            }));
        }
        let issuer = {
            let clocks = Arc::clone(&clocks);
            spawn_on(CPU_PEER, "waker", move || {
                for seq in 1..=count as u64 {
                    for k in 0..Impl::ALL.len() {
                        let i = (seq as usize + round + k) % Impl::ALL.len();
                        if !clocks[i].issue(seq, &*wakes[i])? {
                            return Ok(());
                        }
                    }
                }
                Ok(())
            })
        };
        if issuer.is_err() {
            for clock in clocks.iter() {
                clock.abandon();
            }
        }
        let mut figures: [Vec<f64>; 3] = Default::default();
        let mut first_error = None;
        for (poller, figure) in pollers.into_iter().zip(&mut figures) {
            match poller.and_then(join) {
                Ok(latencies) => {
                    let latencies = sorted(&latencies);
                    *figure = vec![percentile(&latencies, 0.50), percentile(&latencies, 0.99)];
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Err(e) = issuer.and_then(join) {
            first_error.get_or_insert(e);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(figures),
        }
    }

    /// Start line and stop flag of a wake storm.
    struct Storm {
        /// Prelude wakes the poller has returned for (see `prelude`).
        calm: AtomicU64,
        start: Barrier,
        stop: AtomicBool,
    }

    /// Wakes delivered one at a time before a storm starts: nbio's waker
    /// then writes for every wake (its `PLAIN` phase) and must find its
    /// way back to coalescing under the storm, which is what a storm that
    /// breaks a calm spell costs. Twice the calm deliveries it takes.
    const STORM_PRELUDE: u64 = 32;

    /// What the waking thread of a storm measured.
    struct StormWaker {
        wakes: u64,
        cpu: Duration,
        write_syscalls: Option<u64>,
    }

    impl Storm {
        fn new() -> Storm {
            Storm {
                calm: AtomicU64::new(0),
                // The waking thread, the polling thread and the timer.
                start: Barrier::new(3),
                stop: AtomicBool::new(false),
            }
        }

        /// Waking side: wakes as fast as possible until stopped, then once
        /// more so the poller sees the stop flag.
        fn hammer(&self, wake: impl Fn() -> io::Result<()>) -> io::Result<StormWaker> {
            let prelude = self.prelude(&wake);
            let writes_before = thread_write_syscalls();
            self.start.wait();
            prelude?;
            let cpu_before = thread_cpu_time();
            let mut wakes = 0u64;
            let mut result = Ok(());
            while !self.stop.load(Ordering::Relaxed) {
                if let Err(e) = wake() {
                    result = Err(e);
                    break;
                }
                wakes += 1;
            }
            let cpu_after = thread_cpu_time();
            let writes_after = thread_write_syscalls();
            wake()?;
            result?;
            Ok(StormWaker {
                wakes,
                cpu: cpu_after? - cpu_before?,
                write_syscalls: writes_before.zip(writes_after).map(|(b, a)| a - b),
            })
        }

        /// Waking side, before the start line: [`STORM_PRELUDE`] wakes,
        /// each after the poller has returned for the one before and had
        /// [`WAKE_GAP`] to block again.
        fn prelude(&self, wake: &impl Fn() -> io::Result<()>) -> io::Result<()> {
            for seq in 1..=STORM_PRELUDE {
                spin_for(WAKE_GAP);
                wake()?;
                let deadline = Instant::now() + DEADLINE;
                while self.calm.load(Ordering::Acquire) < seq {
                    if Instant::now() > deadline {
                        return Err(timed_out("wake storm: prelude"));
                    }
                    std::hint::spin_loop();
                }
            }
            Ok(())
        }

        /// Polling side: returns for the prelude's wakes, then counts `poll`
        /// returns until it sees the stop flag. Returns (returns, time
        /// spent).
        fn count_returns(
            &self,
            mut poll_once: impl FnMut() -> io::Result<()>,
        ) -> io::Result<(u64, Duration)> {
            let mut prelude = Ok(());
            for seq in 1..=STORM_PRELUDE {
                prelude = poll_once();
                if prelude.is_err() {
                    break;
                }
                self.calm.store(seq, Ordering::Release);
            }
            self.start.wait();
            prelude?;
            let start = Instant::now();
            let mut returns = 0u64;
            loop {
                poll_once()?;
                returns += 1;
                if self.stop.load(Ordering::Acquire) {
                    return Ok((returns, start.elapsed()));
                }
            }
        }

        /// Timer side: lets the storm run for `length`.
        fn run_for(&self, length: Duration) {
            self.start.wait();
            thread::sleep(length);
            self.stop.store(true, Ordering::Release);
        }
    }

    /// Runs a wake storm given the implementation's `wake` and `poll_once`
    /// (moved to their threads). Returns [wakes per CPU-second, write
    /// syscalls per wake, poller returns per second].
    fn measure_wake_storm<W, P>(length: Duration, wake: W, poll_once: P) -> io::Result<Vec<f64>>
    where
        W: Fn() -> io::Result<()> + Send + 'static,
        P: FnMut() -> io::Result<()> + Send + 'static,
    {
        let storm = Arc::new(Storm::new());
        let waker = {
            let storm = Arc::clone(&storm);
            spawn_on(CPU_PEER, "storm-waker", move || storm.hammer(wake))?
        };
        let poller = {
            let storm = Arc::clone(&storm);
            spawn_on(CPU_HOME, "storm-poller", move || {
                storm.count_returns(poll_once)
            })?
        };
        storm.run_for(length);
        let waker = join(waker);
        let (returns, polled) = join(poller)?;
        let waker = waker?;
        let wakes = waker.wakes.max(1) as f64;
        Ok(vec![
            wakes / waker.cpu.as_secs_f64(),
            waker.write_syscalls.map_or(f64::NAN, |w| w as f64 / wakes),
            returns as f64 / polled.as_secs_f64(),
        ])
    }

    /// `poll` once with the given timeout, nothing being ready; fails if
    /// anything was.
    pub type PollFor = Box<dyn FnMut(Duration) -> io::Result<()>>;

    /// One round of timeout overshoot for the three implementations at
    /// once: `samples` waits per timeout of [`TIMEOUTS`] each, taking turns
    /// wait by wait. Returns, per implementation, the median overshoot in
    /// µs per timeout, then the number of early returns.
    fn measure_overshoot(
        samples: [usize; 3],
        round: usize,
        mut polls: [PollFor; 3],
    ) -> io::Result<[Vec<f64>; 3]> {
        let mut figures: [Vec<f64>; 3] = Default::default();
        let mut early = [0u32; 3];
        for (timeout, count) in TIMEOUTS.into_iter().zip(samples) {
            let mut overshoots: [Vec<f64>; 3] = Default::default();
            for sample in 0..count {
                for k in 0..Impl::ALL.len() {
                    let i = (sample + round + k) % Impl::ALL.len();
                    let start = Instant::now();
                    polls[i](timeout)?;
                    let elapsed = start.elapsed();
                    if elapsed < timeout {
                        early[i] += 1;
                    }
                    overshoots[i].push((elapsed.as_secs_f64() - timeout.as_secs_f64()) * 1e6);
                }
            }
            for (figure, overshoots) in figures.iter_mut().zip(&overshoots) {
                figure.push(median(overshoots));
            }
        }
        for (figure, early) in figures.iter_mut().zip(early) {
            figure.push(f64::from(early));
        }
        Ok(figures)
    }

    /// A single-threaded workload, set up: each call runs that many
    /// operations and returns the CPU time they took.
    pub type Steps = Box<dyn FnMut(usize) -> io::Result<Duration>>;

    /// One round of a single-threaded workload for the three
    /// implementations at once: `ops` operations each, in `chunks` turns
    /// taken in rotating order, so slow changes of the machine's speed hit
    /// all three alike. Returns µs per operation per implementation.
    fn measure_steps(
        (ops, chunks): (usize, usize),
        round: usize,
        mut steps: [Steps; 3],
    ) -> io::Result<[Vec<f64>; 3]> {
        let chunks = chunks.clamp(1, ops.max(1));
        let per_chunk = ops / chunks;
        let mut spent = [Duration::ZERO; 3];
        for chunk in 0..chunks {
            for k in 0..Impl::ALL.len() {
                let i = (chunk + round + k) % Impl::ALL.len();
                spent[i] += steps[i](per_chunk)?;
            }
        }
        Ok(spent.map(|time| vec![micros_per_op(time, per_chunk * chunks)]))
    }

    // -----------------------------------------------------------------
    // nbio and mio: one source, expanded once per crate
    // -----------------------------------------------------------------

    /// Expands to a module holding every workload written against the API
    /// nbio and mio share, for the crate `$krate`.
    macro_rules! workloads {
        ($module:ident, $krate:ident) => {
            #[doc = concat!("The workloads on `", stringify!($krate), "`.")]
            mod $module {
                use super::{
                    eof, loopback_listener, measure_wake_storm, spawn_on, tcp_pair, timed_out,
                    CpuStopwatch, EchoServer, PollFor, Steps, WakeParts, CPU_HOME, DEADLINE,
                    LARGE_BATCH, SMALL_BATCH,
                };
                use std::io::{self, Read, Write};
                use std::mem::ManuallyDrop;
                use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
                use std::sync::Arc;
                use std::time::Duration;
                use $krate::net::{TcpListener, TcpStream, UnixStream};
                use $krate::{Events, Interest, Poll, Registry, Token, Waker};

                const CLIENT: Token = Token(0);
                const SERVER: Token = Token(1);
                const LISTENER: Token = Token(0);
                const WAKER: Token = Token(1);
                /// Tokens of accepted connections and idle sources start here.
                const FIRST_EXTRA: usize = 2;

                /// Polls until at least one event arrives (or fails after
                /// [`DEADLINE`]).
                fn poll_some(poll: &mut Poll, events: &mut Events, what: &str) -> io::Result<()> {
                    loop {
                        match poll.poll(events, Some(DEADLINE)) {
                            Ok(()) if events.is_empty() => return Err(timed_out(what)),
                            Ok(()) => return Ok(()),
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                }

                /// Polls until a readable event for `token` arrives.
                fn wait_readable(
                    poll: &mut Poll,
                    events: &mut Events,
                    token: Token,
                ) -> io::Result<()> {
                    loop {
                        poll_some(poll, events, "waiting for readable")?;
                        if events.iter().any(|e| e.token() == token && e.is_readable()) {
                            return Ok(());
                        }
                    }
                }

                /// Waits for `buf.len()` bytes on `stream` and reads exactly
                /// that many: no extra read to see `WouldBlock`, since the
                /// peer sends nothing more before it gets a reply.
                fn receive<S: Read>(
                    poll: &mut Poll,
                    events: &mut Events,
                    (stream, token): (&mut S, Token),
                    buf: &mut [u8],
                ) -> io::Result<()> {
                    wait_readable(poll, events, token)?;
                    let mut got = 0;
                    loop {
                        match stream.read(&mut buf[got..]) {
                            Ok(0) => return Err(eof("ping-pong")),
                            Ok(n) => {
                                got += n;
                                if got == buf.len() {
                                    return Ok(());
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                wait_readable(poll, events, token)?
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                }

                /// Round trips of `size` bytes between two registered ends,
                /// `trips` per call; `keep` (idle sources) lives as long.
                fn ping_pong<S: Read + Write + 'static, K: 'static>(
                    mut poll: Poll,
                    (mut client, mut server): (S, S),
                    size: usize,
                    keep: K,
                ) -> Steps {
                    let mut events = Events::with_capacity(SMALL_BATCH);
                    let message = vec![0x5a_u8; size];
                    let mut buf = vec![0u8; size];
                    Box::new(move |trips| {
                        let _ = &keep;
                        let start = CpuStopwatch::start()?;
                        for _ in 0..trips {
                            client.write_all(&message)?;
                            receive(&mut poll, &mut events, (&mut server, SERVER), &mut buf)?;
                            server.write_all(&buf)?;
                            receive(&mut poll, &mut events, (&mut client, CLIENT), &mut buf)?;
                        }
                        start.elapsed()
                    })
                }

                /// Ping-pong over loopback TCP.
                pub fn tcp_ping_pong(size: usize) -> io::Result<Steps> {
                    let (client, server) = tcp_pair()?;
                    let (mut client, mut server) =
                        (TcpStream::from_std(client), TcpStream::from_std(server));
                    let poll = Poll::new()?;
                    poll.registry()
                        .register(&mut client, CLIENT, Interest::READABLE)?;
                    poll.registry()
                        .register(&mut server, SERVER, Interest::READABLE)?;
                    Ok(ping_pong(poll, (client, server), size, ()))
                }

                /// 1-byte ping-pong over a Unix pair with the `idle` sockets
                /// registered beside it.
                pub fn idle_ping_pong(idle: &[OwnedFd]) -> io::Result<Steps> {
                    let poll = Poll::new()?;
                    for (i, fd) in idle.iter().enumerate() {
                        // SAFETY: `fd` is an open Unix stream socket. The
                        // view is never dropped, so it never closes `fd`,
                        // which its owner keeps open beyond this poller.
                        let view = unsafe { UnixStream::from_raw_fd(fd.as_raw_fd()) };
                        let mut view = ManuallyDrop::new(view);
                        poll.registry().register(
                            &mut *view,
                            Token(FIRST_EXTRA + i),
                            Interest::READABLE,
                        )?;
                    }
                    let (mut client, mut server) = UnixStream::pair()?;
                    poll.registry()
                        .register(&mut client, CLIENT, Interest::READABLE)?;
                    poll.registry()
                        .register(&mut server, SERVER, Interest::READABLE)?;
                    Ok(ping_pong(poll, (client, server), 1, ()))
                }

                /// register + reregister + deregister of one TCP stream,
                /// `iterations` triples per call.
                pub fn churn() -> io::Result<Steps> {
                    let (stream, peer) = tcp_pair()?;
                    let mut stream = TcpStream::from_std(stream);
                    let poll = Poll::new()?;
                    let mut next = 0;
                    Ok(Box::new(move |iterations| {
                        let _ = &peer;
                        let registry = poll.registry();
                        let start = CpuStopwatch::start()?;
                        for _ in 0..iterations {
                            let token = Token(next);
                            next += 1;
                            registry.register(&mut stream, token, Interest::READABLE)?;
                            registry.reregister(
                                &mut stream,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            registry.deregister(&mut stream)?;
                        }
                        start.elapsed()
                    }))
                }

                /// One accepted connection of the echo server.
                struct Conn {
                    stream: TcpStream,
                    /// Bytes read but not yet written back.
                    unsent: Vec<u8>,
                    /// Registered for WRITABLE too (while `unsent` is not empty).
                    wants_writable: bool,
                }

                impl Conn {
                    /// Writes `data` back, keeping what does not fit.
                    fn echo(&mut self, data: &[u8]) -> io::Result<()> {
                        if !self.unsent.is_empty() {
                            self.unsent.extend_from_slice(data);
                            return Ok(());
                        }
                        match self.stream.write(data) {
                            Ok(n) => self.unsent.extend_from_slice(&data[n..]),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                self.unsent.extend_from_slice(data)
                            }
                            Err(e) => return Err(e),
                        }
                        Ok(())
                    }

                    /// Writes out as much of `unsent` as the socket takes.
                    fn flush(&mut self) -> io::Result<()> {
                        while !self.unsent.is_empty() {
                            match self.stream.write(&self.unsent) {
                                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                                Ok(n) => drop(self.unsent.drain(..n)),
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                                Err(e) => return Err(e),
                            }
                        }
                        Ok(())
                    }

                    /// Reads until `WouldBlock`, echoing every chunk.
                    /// `Ok(false)` once the peer closed.
                    fn echo_available(&mut self, buf: &mut [u8]) -> io::Result<bool> {
                        loop {
                            match self.stream.read(buf) {
                                Ok(0) => return Ok(false),
                                Ok(n) => self.echo(&buf[..n])?,
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }

                    /// Handles one event; `Ok(false)` if the connection is done.
                    fn on_event(
                        &mut self,
                        registry: &Registry,
                        token: Token,
                        (readable, writable): (bool, bool),
                        buf: &mut [u8],
                    ) -> io::Result<bool> {
                        if writable {
                            self.flush()?;
                        }
                        if readable && !self.echo_available(buf)? {
                            return Ok(false);
                        }
                        let wants_writable = !self.unsent.is_empty();
                        if wants_writable != self.wants_writable {
                            let interest = if wants_writable {
                                Interest::READABLE | Interest::WRITABLE
                            } else {
                                Interest::READABLE
                            };
                            registry.reregister(&mut self.stream, token, interest)?;
                            self.wants_writable = wants_writable;
                        }
                        Ok(true)
                    }
                }

                /// Accepts every pending connection.
                fn accept_all(
                    registry: &Registry,
                    listener: &TcpListener,
                    conns: &mut Vec<Option<Conn>>,
                ) -> io::Result<()> {
                    loop {
                        match listener.accept() {
                            Ok((mut stream, _)) => {
                                stream.set_nodelay(true)?;
                                let token = Token(FIRST_EXTRA + conns.len());
                                registry.register(&mut stream, token, Interest::READABLE)?;
                                conns.push(Some(Conn {
                                    stream,
                                    unsent: Vec::new(),
                                    wants_writable: false,
                                }));
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                            Err(e) => return Err(e),
                        }
                    }
                }

                /// The echo server loop; returns when the waker fires.
                fn serve(mut poll: Poll, listener: TcpListener) -> io::Result<()> {
                    let mut events = Events::with_capacity(LARGE_BATCH);
                    let mut conns: Vec<Option<Conn>> = Vec::new();
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        poll_some(
                            &mut poll,
                            &mut events,
                            concat!(stringify!($krate), " echo server"),
                        )?;
                        for event in events.iter() {
                            match event.token() {
                                WAKER => return Ok(()),
                                LISTENER => accept_all(poll.registry(), &listener, &mut conns)?,
                                token => {
                                    let slot = &mut conns[token.0 - FIRST_EXTRA];
                                    let Some(conn) = slot else { continue };
                                    let ready = (event.is_readable(), event.is_writable());
                                    // A connection that failed or closed is
                                    // dropped; the load generator notices.
                                    if !matches!(
                                        conn.on_event(poll.registry(), token, ready, &mut buf),
                                        Ok(true)
                                    ) {
                                        *slot = None;
                                    }
                                }
                            }
                        }
                    }
                }

                /// Echo server on [`CPU_HOME`] against the fixed load
                /// generator; messages per second.
                pub fn echo_server() -> io::Result<EchoServer> {
                    let std_listener = loopback_listener()?;
                    let addr = std_listener.local_addr()?;
                    let mut listener = TcpListener::from_std(std_listener);
                    let poll = Poll::new()?;
                    poll.registry()
                        .register(&mut listener, LISTENER, Interest::READABLE)?;
                    let waker = Waker::new(poll.registry(), WAKER)?;
                    let thread = spawn_on(CPU_HOME, "echo-server", move || serve(poll, listener))?;
                    Ok(EchoServer {
                        addr,
                        stop: Box::new(move || waker.wake()),
                        thread,
                    })
                }

                /// The two halves of the wake-latency workload.
                pub fn wake_latency() -> io::Result<WakeParts> {
                    let mut poll = Poll::new()?;
                    // Held by both halves: the last wake is only delivered
                    // while the waker exists.
                    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
                    let mut events = Events::with_capacity(SMALL_BATCH);
                    let wake = {
                        let waker = Arc::clone(&waker);
                        Box::new(move || waker.wake())
                    };
                    let wait = Box::new(move || {
                        let _ = &waker;
                        wait_readable(&mut poll, &mut events, WAKER)
                    });
                    Ok(WakeParts { wake, wait })
                }

                /// Wake storm; [wakes per CPU-s, syscalls per wake, poller
                /// returns per s].
                pub fn wake_storm(length: Duration) -> io::Result<Vec<f64>> {
                    let mut poll = Poll::new()?;
                    // Kept alive here until both threads are done, so the
                    // final wake reaches the poller.
                    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
                    let mut events = Events::with_capacity(SMALL_BATCH);
                    let wake = {
                        let waker = Arc::clone(&waker);
                        move || waker.wake()
                    };
                    measure_wake_storm(length, wake, move || {
                        poll_some(&mut poll, &mut events, "wake storm poller")
                    })
                }

                /// `poll` with a timeout and nothing ready (one idle Unix
                /// socket registered); fails if an event arrives.
                pub fn overshoot() -> io::Result<PollFor> {
                    let mut poll = Poll::new()?;
                    let mut events = Events::with_capacity(SMALL_BATCH);
                    let (mut idle, peer) = UnixStream::pair()?;
                    poll.registry()
                        .register(&mut idle, CLIENT, Interest::READABLE)?;
                    Ok(Box::new(move |timeout| {
                        let _ = (&idle, &peer);
                        poll.poll(&mut events, Some(timeout))?;
                        if events.is_empty() {
                            Ok(())
                        } else {
                            Err(io::Error::other("overshoot: unexpected event"))
                        }
                    }))
                }
            }
        };
    }

    workloads!(nbio_impl, nbio);
    workloads!(mio_impl, mio);

    // -----------------------------------------------------------------
    // raw: the same workloads on libc
    // -----------------------------------------------------------------

    /// The workloads written directly on `libc`.
    mod raw {
        use super::{
            eof, loopback_listener, measure_wake_storm, spawn_on, tcp_pair, timed_out, AsRawFd,
            CpuStopwatch, EchoServer, FromRawFd, OwnedFd, PollFor, RawFd, Steps, WakeParts,
            CPU_HOME, DEADLINE_MS, LARGE_BATCH, SMALL_BATCH,
        };
        use std::io;
        use std::sync::atomic::{AtomicU8, Ordering};
        use std::sync::Arc;
        use std::time::Duration;

        pub const READABLE_ET: u32 = (libc::EPOLLIN | libc::EPOLLET) as u32;
        const READ_WRITE_ET: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32;
        const CLIENT: u64 = 0;
        const SERVER: u64 = 1;
        const LISTENER: u64 = 0;
        const WAKER: u64 = 1;
        const FIRST_EXTRA: u64 = 2;

        /// Turns a -1 return into the thread's `errno`.
        fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
            if rc < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(rc)
            }
        }

        /// Turns a -1 `ssize_t` return into `errno`, anything else into a count.
        fn check_len(rc: libc::ssize_t) -> io::Result<usize> {
            if rc < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(rc as usize)
            }
        }

        /// Takes ownership of a descriptor the kernel just returned.
        fn owned(fd: RawFd) -> OwnedFd {
            // SAFETY: only called with a descriptor that a successful system
            // call has just created and that nothing else owns.
            unsafe { OwnedFd::from_raw_fd(fd) }
        }

        /// An epoll instance with its event buffer.
        pub struct Epoll {
            fd: OwnedFd,
            ready: Vec<libc::epoll_event>,
        }

        impl Epoll {
            pub fn new(capacity: usize) -> io::Result<Epoll> {
                // SAFETY: `epoll_create1` takes a flag and returns a new fd or -1.
                let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
                Ok(Epoll {
                    fd: owned(fd),
                    ready: vec![libc::epoll_event { events: 0, u64: 0 }; capacity],
                })
            }

            fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, flags: u32) -> io::Result<()> {
                let mut event = libc::epoll_event {
                    events: flags,
                    u64: token,
                };
                // SAFETY: `event` is a valid `epoll_event` that outlives the
                // call; bad fds are reported as errors.
                check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) })?;
                Ok(())
            }

            pub fn add(&self, fd: RawFd, token: u64, flags: u32) -> io::Result<()> {
                self.ctl(libc::EPOLL_CTL_ADD, fd, token, flags)
            }

            pub fn modify(&self, fd: RawFd, token: u64, flags: u32) -> io::Result<()> {
                self.ctl(libc::EPOLL_CTL_MOD, fd, token, flags)
            }

            pub fn delete(&self, fd: RawFd) -> io::Result<()> {
                // SAFETY: the event argument of EPOLL_CTL_DEL is ignored (and
                // may be null) since Linux 2.6.9; bad fds are errors.
                let rc = unsafe {
                    libc::epoll_ctl(
                        self.fd.as_raw_fd(),
                        libc::EPOLL_CTL_DEL,
                        fd,
                        std::ptr::null_mut(),
                    )
                };
                check(rc).map(drop)
            }

            /// `epoll_wait` with the deadline; fails if nothing arrived.
            pub fn wait(&mut self, what: &str) -> io::Result<usize> {
                loop {
                    // SAFETY: `ready` holds `ready.len()` writable
                    // `epoll_event`s and the length passed matches it.
                    let rc = unsafe {
                        libc::epoll_wait(
                            self.fd.as_raw_fd(),
                            self.ready.as_mut_ptr(),
                            self.ready.len() as libc::c_int,
                            DEADLINE_MS,
                        )
                    };
                    match check(rc) {
                        Ok(0) => return Err(timed_out(what)),
                        Ok(n) => return Ok(n as usize),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }

            /// Waits at most `timeout`: `epoll_pwait2` (ns resolution) if the
            /// kernel has it, else `epoll_wait` rounded up to whole ms.
            pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<usize> {
                let rc = if has_epoll_pwait2() {
                    let spec = KernelTimespec {
                        tv_sec: timeout.as_secs() as i64,
                        tv_nsec: i64::from(timeout.subsec_nanos()),
                    };
                    self.pwait2(&spec)
                } else {
                    let ms = timeout.as_nanos().div_ceil(1_000_000) as libc::c_int;
                    // SAFETY: as in `wait`.
                    let rc = unsafe {
                        libc::epoll_wait(
                            self.fd.as_raw_fd(),
                            self.ready.as_mut_ptr(),
                            self.ready.len() as libc::c_int,
                            ms,
                        )
                    };
                    rc as libc::c_long
                };
                check_len(rc as libc::ssize_t)
            }

            /// The raw `epoll_pwait2` system call, no signal mask.
            fn pwait2(&mut self, timeout: &KernelTimespec) -> libc::c_long {
                // SAFETY: `ready` holds `ready.len()` writable `epoll_event`s
                // and the length passed matches; `timeout` is a valid
                // `timespec` that outlives the call; a null sigmask means
                // "leave the mask alone", so its size argument is unused.
                unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        self.fd.as_raw_fd(),
                        self.ready.as_mut_ptr(),
                        self.ready.len() as libc::c_int,
                        timeout as *const KernelTimespec,
                        std::ptr::null::<libc::sigset_t>(),
                        0usize,
                    )
                }
            }

            /// Token of the `i`-th ready event.
            pub fn token(&self, i: usize) -> u64 {
                let event = self.ready[i];
                event.u64
            }

            /// Flags of the `i`-th ready event.
            pub fn flags(&self, i: usize) -> u32 {
                let event = self.ready[i];
                event.events
            }

            /// Waits until `token` is reported readable.
            fn wait_readable(&mut self, token: u64) -> io::Result<()> {
                loop {
                    let n = self.wait("waiting for readable")?;
                    let readable = libc::EPOLLIN as u32;
                    if (0..n).any(|i| self.token(i) == token && self.flags(i) & readable != 0) {
                        return Ok(());
                    }
                }
            }
        }

        /// The kernel's `struct __kernel_timespec`, which `epoll_pwait2`
        /// takes on every architecture (64-bit seconds even where libc's
        /// `timespec` is 32-bit).
        #[repr(C)]
        pub struct KernelTimespec {
            tv_sec: i64,
            tv_nsec: i64,
        }

        /// 0 = not probed yet, 1 = `epoll_pwait2` works, 2 = `ENOSYS`.
        static PWAIT2: AtomicU8 = AtomicU8::new(0);

        /// Whether this kernel has `epoll_pwait2` (probed once).
        pub fn has_epoll_pwait2() -> bool {
            match PWAIT2.load(Ordering::Relaxed) {
                1 => true,
                2 => false,
                _ => {
                    let works = Epoll::new(1)
                        .map(|mut epoll| {
                            let zero = KernelTimespec {
                                tv_sec: 0,
                                tv_nsec: 0,
                            };
                            let rc = epoll.pwait2(&zero);
                            rc >= 0
                                || io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
                        })
                        .unwrap_or(false);
                    PWAIT2.store(if works { 1 } else { 2 }, Ordering::Relaxed);
                    works
                }
            }
        }

        pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            check_len(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })
        }

        pub fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
            // SAFETY: `buf` is valid for reads of `buf.len()` bytes;
            // MSG_NOSIGNAL turns a broken pipe into EPIPE, not SIGPIPE.
            check_len(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) })
        }

        /// Sends all of `buf` (small messages into idle sockets: one call).
        fn send_all(fd: RawFd, buf: &[u8]) -> io::Result<()> {
            let mut sent = 0;
            while sent < buf.len() {
                sent += send(fd, &buf[sent..])?;
            }
            Ok(())
        }

        /// A non-blocking eventfd.
        fn eventfd() -> io::Result<OwnedFd> {
            // SAFETY: `eventfd` takes a counter and flags, returns a new fd or -1.
            let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
            Ok(owned(fd))
        }

        /// Adds 1 to an eventfd: one `write` of 8 bytes.
        fn signal(fd: RawFd) -> io::Result<()> {
            let one = 1u64.to_ne_bytes();
            // SAFETY: `one` is valid for reads of its 8 bytes.
            check_len(unsafe { libc::write(fd, one.as_ptr().cast(), one.len()) }).map(drop)
        }

        /// A non-blocking, close-on-exec Unix stream pair.
        fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
            let mut fds = [0 as RawFd; 2];
            let kind = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
            // SAFETY: `fds` is valid for writes of two ints.
            check(unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) })?;
            Ok((owned(fds[0]), owned(fds[1])))
        }

        /// Accepts one connection, non-blocking and close-on-exec.
        fn accept(listener: RawFd) -> io::Result<OwnedFd> {
            let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
            // SAFETY: null address and length pointers are allowed (the
            // peer address is not wanted).
            let fd = unsafe {
                libc::accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), flags)
            };
            check(fd).map(owned)
        }

        fn set_nodelay(fd: RawFd) -> io::Result<()> {
            let on: libc::c_int = 1;
            // SAFETY: `on` is a valid int of the size passed and outlives
            // the call.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&on as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            check(rc).map(drop)
        }

        /// Waits for and reads exactly `buf.len()` bytes (see the nbio/mio
        /// version).
        fn receive(epoll: &mut Epoll, (fd, token): (RawFd, u64), buf: &mut [u8]) -> io::Result<()> {
            epoll.wait_readable(token)?;
            let mut got = 0;
            loop {
                match recv(fd, &mut buf[got..]) {
                    Ok(0) => return Err(eof("ping-pong")),
                    Ok(n) => {
                        got += n;
                        if got == buf.len() {
                            return Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        epoll.wait_readable(token)?
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }

        /// Round trips of `size` bytes between two registered fds (owned
        /// by `keep`, with any idle sources), `trips` per call.
        fn ping_pong<K: 'static>(
            mut epoll: Epoll,
            (client, server): (RawFd, RawFd),
            size: usize,
            keep: K,
        ) -> Steps {
            let message = vec![0x5a_u8; size];
            let mut buf = vec![0u8; size];
            Box::new(move |trips| {
                let _ = &keep;
                let start = CpuStopwatch::start()?;
                for _ in 0..trips {
                    send_all(client, &message)?;
                    receive(&mut epoll, (server, SERVER), &mut buf)?;
                    send_all(server, &buf)?;
                    receive(&mut epoll, (client, CLIENT), &mut buf)?;
                }
                start.elapsed()
            })
        }

        pub fn tcp_ping_pong(size: usize) -> io::Result<Steps> {
            let (client, server) = tcp_pair()?;
            let fds = (client.as_raw_fd(), server.as_raw_fd());
            let epoll = Epoll::new(SMALL_BATCH)?;
            epoll.add(fds.0, CLIENT, READABLE_ET)?;
            epoll.add(fds.1, SERVER, READABLE_ET)?;
            Ok(ping_pong(epoll, fds, size, (client, server)))
        }

        pub fn idle_ping_pong(idle: &[OwnedFd]) -> io::Result<Steps> {
            let epoll = Epoll::new(SMALL_BATCH)?;
            for (i, fd) in (FIRST_EXTRA..).zip(idle) {
                epoll.add(fd.as_raw_fd(), i, READABLE_ET)?;
            }
            let (client, server) = socketpair()?;
            let fds = (client.as_raw_fd(), server.as_raw_fd());
            epoll.add(fds.0, CLIENT, READABLE_ET)?;
            epoll.add(fds.1, SERVER, READABLE_ET)?;
            Ok(ping_pong(epoll, fds, 1, (client, server)))
        }

        pub fn churn() -> io::Result<Steps> {
            let (stream, peer) = tcp_pair()?;
            let epoll = Epoll::new(1)?;
            let mut next = 0u64;
            Ok(Box::new(move |iterations| {
                let _ = &peer;
                let fd = stream.as_raw_fd();
                let start = CpuStopwatch::start()?;
                for _ in 0..iterations {
                    epoll.add(fd, next, READABLE_ET)?;
                    epoll.modify(fd, next, READ_WRITE_ET)?;
                    epoll.delete(fd)?;
                    next += 1;
                }
                start.elapsed()
            }))
        }

        /// One accepted connection of the raw echo server.
        struct Conn {
            fd: OwnedFd,
            unsent: Vec<u8>,
            wants_writable: bool,
        }

        impl Conn {
            fn echo(&mut self, data: &[u8]) -> io::Result<()> {
                if !self.unsent.is_empty() {
                    self.unsent.extend_from_slice(data);
                    return Ok(());
                }
                match send(self.fd.as_raw_fd(), data) {
                    Ok(n) => self.unsent.extend_from_slice(&data[n..]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.unsent.extend_from_slice(data)
                    }
                    Err(e) => return Err(e),
                }
                Ok(())
            }

            fn flush(&mut self) -> io::Result<()> {
                while !self.unsent.is_empty() {
                    match send(self.fd.as_raw_fd(), &self.unsent) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => drop(self.unsent.drain(..n)),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }

            fn echo_available(&mut self, buf: &mut [u8]) -> io::Result<bool> {
                loop {
                    match recv(self.fd.as_raw_fd(), buf) {
                        Ok(0) => return Ok(false),
                        Ok(n) => self.echo(&buf[..n])?,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }

            fn on_event(
                &mut self,
                epoll: &Epoll,
                token: u64,
                flags: u32,
                buf: &mut [u8],
            ) -> io::Result<bool> {
                // Errors and hang-ups surface through the read or write.
                let readable =
                    flags & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0;
                let writable = flags & (libc::EPOLLOUT | libc::EPOLLERR) as u32 != 0;
                if writable {
                    self.flush()?;
                }
                if readable && !self.echo_available(buf)? {
                    return Ok(false);
                }
                let wants_writable = !self.unsent.is_empty();
                if wants_writable != self.wants_writable {
                    let flags = if wants_writable {
                        READ_WRITE_ET
                    } else {
                        READABLE_ET
                    };
                    epoll.modify(self.fd.as_raw_fd(), token, flags)?;
                    self.wants_writable = wants_writable;
                }
                Ok(true)
            }
        }

        fn accept_all(
            epoll: &Epoll,
            listener: RawFd,
            conns: &mut Vec<Option<Conn>>,
        ) -> io::Result<()> {
            loop {
                match accept(listener) {
                    Ok(fd) => {
                        set_nodelay(fd.as_raw_fd())?;
                        let token = FIRST_EXTRA + conns.len() as u64;
                        epoll.add(fd.as_raw_fd(), token, READABLE_ET)?;
                        conns.push(Some(Conn {
                            fd,
                            unsent: Vec::new(),
                            wants_writable: false,
                        }));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        }

        fn serve(
            mut epoll: Epoll,
            listener: std::net::TcpListener,
            _stop: Arc<OwnedFd>,
        ) -> io::Result<()> {
            let mut conns: Vec<Option<Conn>> = Vec::new();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = epoll.wait("raw echo server")?;
                for i in 0..n {
                    match epoll.token(i) {
                        WAKER => return Ok(()),
                        LISTENER => accept_all(&epoll, listener.as_raw_fd(), &mut conns)?,
                        token => {
                            let slot = &mut conns[(token - FIRST_EXTRA) as usize];
                            let Some(conn) = slot else { continue };
                            if !matches!(
                                conn.on_event(&epoll, token, epoll.flags(i), &mut buf),
                                Ok(true)
                            ) {
                                *slot = None;
                            }
                        }
                    }
                }
            }
        }

        pub fn echo_server() -> io::Result<EchoServer> {
            let listener = loopback_listener()?;
            let addr = listener.local_addr()?;
            let epoll = Epoll::new(LARGE_BATCH)?;
            epoll.add(listener.as_raw_fd(), LISTENER, READABLE_ET)?;
            let stop = Arc::new(eventfd()?);
            epoll.add(stop.as_raw_fd(), WAKER, READABLE_ET)?;
            let thread = {
                let stop = Arc::clone(&stop);
                spawn_on(CPU_HOME, "echo-server", move || {
                    serve(epoll, listener, stop)
                })?
            };
            Ok(EchoServer {
                addr,
                stop: Box::new(move || signal(stop.as_raw_fd())),
                thread,
            })
        }

        /// An eventfd registered edge-triggered on `epoll` under [`WAKER`]:
        /// each wake is one 8-byte write and it is never read, as a careful
        /// raw program would do.
        fn wake_pair() -> io::Result<(Epoll, Arc<OwnedFd>)> {
            let epoll = Epoll::new(SMALL_BATCH)?;
            let efd = Arc::new(eventfd()?);
            epoll.add(efd.as_raw_fd(), WAKER, READABLE_ET)?;
            Ok((epoll, efd))
        }

        pub fn wake_latency() -> io::Result<WakeParts> {
            let (mut epoll, efd) = wake_pair()?;
            let wake = {
                let efd = Arc::clone(&efd);
                Box::new(move || signal(efd.as_raw_fd()))
            };
            // The eventfd stays open until both halves are gone.
            let wait = Box::new(move || {
                let _ = &efd;
                epoll.wait_readable(WAKER)
            });
            Ok(WakeParts { wake, wait })
        }

        pub fn wake_storm(length: Duration) -> io::Result<Vec<f64>> {
            let (mut epoll, efd) = wake_pair()?;
            let wake = {
                let efd = Arc::clone(&efd);
                move || signal(efd.as_raw_fd())
            };
            measure_wake_storm(length, wake, move || {
                epoll.wait("wake storm poller").map(drop)
            })
        }

        pub fn overshoot() -> io::Result<PollFor> {
            let mut epoll = Epoll::new(SMALL_BATCH)?;
            let (idle, peer) = socketpair()?;
            epoll.add(idle.as_raw_fd(), CLIENT, READABLE_ET)?;
            Ok(Box::new(move |timeout| {
                let _ = (&idle, &peer);
                match epoll.wait_timeout(timeout)? {
                    0 => Ok(()),
                    _ => Err(io::Error::other("overshoot: unexpected event")),
                }
            }))
        }
    }

    // -----------------------------------------------------------------
    // Interleaved measurement and reporting
    // -----------------------------------------------------------------

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Impl {
        Nbio,
        Mio,
        Raw,
    }

    impl Impl {
        const ALL: [Impl; 3] = [Impl::Nbio, Impl::Mio, Impl::Raw];

        fn index(self) -> usize {
            self as usize
        }

        /// `e`, saying which implementation it came from.
        fn tag(self, e: io::Error) -> io::Error {
            io::Error::new(e.kind(), format!("{}: {e}", self.name()))
        }

        fn name(self) -> &'static str {
            match self {
                Impl::Nbio => "nbio",
                Impl::Mio => "mio",
                Impl::Raw => "raw",
            }
        }
    }

    /// Runs the same workload function on nbio, mio or raw.
    macro_rules! dispatch {
        ($imp:expr, $workload:ident($($arg:expr),*)) => {
            match $imp {
                Impl::Nbio => nbio_impl::$workload($($arg),*),
                Impl::Mio => mio_impl::$workload($($arg),*),
                Impl::Raw => raw::$workload($($arg),*),
            }
        };
    }

    /// How a metric compares.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Kind {
        /// Lower is better (time, syscalls); ratio = other / nbio.
        Cost,
        /// Higher is better (throughput); ratio = nbio / other.
        Rate,
        /// An event count, summed over rounds; no ratio.
        Count,
    }

    /// What the summary checks a metric against.
    #[derive(Clone, Copy)]
    struct Targets {
        /// Minimum median mio/nbio ratio.
        vs_mio: Option<f64>,
        /// Minimum median raw/nbio ratio.
        vs_raw: Option<f64>,
        /// Maximum value of nbio's own figure.
        nbio_at_most: Option<f64>,
    }

    /// nbio at least as good as mio and within 3 % of raw.
    const USUAL: Targets = Targets {
        vs_mio: Some(1.0),
        vs_raw: Some(0.97),
        nbio_at_most: None,
    };
    /// Informational only.
    const NONE: Targets = Targets {
        vs_mio: None,
        vs_raw: None,
        nbio_at_most: None,
    };

    /// One figure a workload reports.
    #[derive(Clone, Copy)]
    struct Metric {
        label: &'static str,
        unit: &'static str,
        kind: Kind,
        targets: Targets,
    }

    const fn metric(
        label: &'static str,
        unit: &'static str,
        kind: Kind,
        targets: Targets,
    ) -> Metric {
        Metric {
            label,
            unit,
            kind,
            targets,
        }
    }

    /// Median and spread of the per-round ratios.
    #[derive(Clone, Copy)]
    struct Spread {
        median: f64,
        low: f64,
        high: f64,
        /// A 95 % confidence interval of the median (distribution-free: two
        /// order statistics, ranks n/2 ∓ 0.98·√n), i.e. the resolution.
        median_low: f64,
        median_high: f64,
    }

    impl Spread {
        /// p10–p90 with 10 or more values, min–max otherwise.
        fn of(values: &[f64]) -> Option<Spread> {
            let values = sorted(values);
            let (low, high) = if values.len() >= 10 {
                (percentile(&values, 0.10), percentile(&values, 0.90))
            } else {
                (*values.first()?, *values.last()?)
            };
            let n = values.len() as f64;
            let reach = 0.98 * n.sqrt();
            let rank_low = ((n / 2.0 - reach).floor() as usize).max(1);
            let rank_high = ((n / 2.0 + 1.0 + reach).ceil() as usize).min(values.len());
            Some(Spread {
                median: median(&values),
                low,
                high,
                median_low: values[rank_low - 1],
                median_high: values[rank_high - 1],
            })
        }
    }

    /// The measured values of one metric: per implementation, per round.
    struct Outcome {
        row: String,
        metric: Metric,
        values: [Vec<f64>; 3],
    }

    impl Outcome {
        /// nbio's, mio's or raw's figure: median over rounds (sum for counts).
        fn figure(&self, imp: Impl) -> f64 {
            let values = &self.values[imp.index()];
            match self.metric.kind {
                Kind::Count => values.iter().sum(),
                _ => median(values),
            }
        }

        /// The figure as printed (counts as integers).
        fn shown(&self, imp: Impl) -> String {
            match self.metric.kind {
                Kind::Count => format!("{:.0}", self.figure(imp)),
                _ => format_value(self.figure(imp)),
            }
        }

        /// Per-round "how much better nbio did than `other`", summarised.
        fn ratio(&self, other: Impl) -> Option<Spread> {
            let nbio = &self.values[Impl::Nbio.index()];
            let other = &self.values[other.index()];
            let ratios: Vec<f64> = nbio
                .iter()
                .zip(other)
                .filter_map(|(&n, &o)| match self.metric.kind {
                    Kind::Cost => Some(o / n),
                    Kind::Rate => Some(n / o),
                    Kind::Count => None,
                })
                .filter(|r| r.is_finite())
                .collect();
            Spread::of(&ratios)
        }

        /// Why this row misses a target, if it does.
        fn shortfall(&self) -> Option<String> {
            let targets = self.metric.targets;
            let mut misses = Vec::new();
            let below = |imp: Impl, min: Option<f64>| match (min, self.ratio(imp)) {
                // Judged as printed, to two decimals.
                (Some(min), Some(r)) if (r.median * 100.0).round() / 100.0 < min => Some(format!(
                    "{}/nbio {:.2} < {min:.2} (spread {:.2}–{:.2}; median {:.3}, its 95 % \
                     confidence interval {:.3}–{:.3}: {})",
                    imp.name(),
                    r.median,
                    r.low,
                    r.high,
                    r.median,
                    r.median_low,
                    r.median_high,
                    if r.median_high >= min {
                        "within resolution"
                    } else {
                        "a real shortfall"
                    },
                )),
                _ => None,
            };
            misses.extend(below(Impl::Mio, targets.vs_mio));
            misses.extend(below(Impl::Raw, targets.vs_raw));
            if let Some(max) = targets.nbio_at_most {
                let figure = self.figure(Impl::Nbio);
                if figure.is_nan() || figure > max {
                    misses.push(format!("nbio {} > {max}", self.shown(Impl::Nbio)));
                }
            }
            (!misses.is_empty()).then(|| format!("{}: {}", self.row, misses.join(", ")))
        }
    }

    /// Formats a figure with a precision that suits its size.
    fn format_value(value: f64) -> String {
        let magnitude = value.abs();
        if !value.is_finite() {
            "n/a".to_string()
        } else if magnitude >= 1e6 {
            format!("{:.2} M", value / 1e6)
        } else if magnitude >= 1e4 {
            format!("{:.1} k", value / 1e3)
        } else if magnitude >= 100.0 {
            format!("{value:.0}")
        } else if magnitude >= 1.0 {
            format!("{value:.2}")
        } else if magnitude >= 0.01 || value == 0.0 {
            format!("{value:.3}")
        } else {
            format!("{value:.5}")
        }
    }

    fn format_ratio(spread: Option<Spread>) -> String {
        match spread {
            Some(s) => format!("{:.2} ({:.2}–{:.2})", s.median, s.low, s.high),
            None => "—".to_string(),
        }
    }

    /// Runs a workload: a warm-up round (full mode), then the rounds.
    /// `round(r)` runs round `r` and returns each implementation's figures
    /// (indexed like [`Impl::ALL`]). Prints a detail line per metric;
    /// returns the outcomes for the summary.
    fn measure_rounds(
        plan: &Plan,
        workload: &str,
        metrics: &[Metric],
        mut round: impl FnMut(usize) -> io::Result<[Vec<f64>; 3]>,
    ) -> io::Result<Vec<Outcome>> {
        if plan
            .only
            .as_ref()
            .is_some_and(|only| !workload.contains(only.as_str()))
        {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let mut run_checked = |r: usize| {
            let figures =
                round(r).map_err(|e| io::Error::new(e.kind(), format!("{workload}: {e}")))?;
            if figures.iter().all(|f| f.len() == metrics.len()) {
                Ok(figures)
            } else {
                Err(io::Error::other(format!(
                    "{workload}: wrong number of figures"
                )))
            }
        };
        if !plan.quick {
            run_checked(0)?;
        }
        let mut values: Vec<[Vec<f64>; 3]> = metrics.iter().map(|_| Default::default()).collect();
        for r in 0..plan.rounds {
            for (imp, figures) in run_checked(r)?.into_iter().enumerate() {
                for (per_metric, figure) in values.iter_mut().zip(figures) {
                    per_metric[imp].push(figure);
                }
            }
        }
        let outcomes: Vec<Outcome> = metrics
            .iter()
            .zip(values)
            .map(|(metric, values)| Outcome {
                row: match metric.label {
                    "" => workload.to_string(),
                    label => format!("{workload}, {label}"),
                },
                metric: *metric,
                values,
            })
            .collect();
        if !plan.quick {
            for outcome in &outcomes {
                print_detail(outcome);
            }
            println!("    ({:.1} s)", started.elapsed().as_secs_f64());
        }
        Ok(outcomes)
    }

    /// A workload whose implementations run one after another: each round
    /// runs nbio, mio and raw once, in an order rotating from round to
    /// round. For workloads that occupy both CPUs.
    fn measure(
        plan: &Plan,
        workload: &str,
        metrics: &[Metric],
        mut run: impl FnMut(Impl) -> io::Result<Vec<f64>>,
    ) -> io::Result<Vec<Outcome>> {
        measure_rounds(plan, workload, metrics, |r| {
            let mut figures: [Vec<f64>; 3] = Default::default();
            for k in 0..Impl::ALL.len() {
                let imp = Impl::ALL[(r + k) % Impl::ALL.len()];
                figures[imp.index()] = run(imp).map_err(|e| imp.tag(e))?;
            }
            Ok(figures)
        })
    }

    /// A workload whose implementations are set up together and measured
    /// in alternation inside each round: `set_up(imp)` prepares one (in an
    /// order rotating from round to round), `run(r, prepared)` measures all
    /// three.
    fn measure_joint<T>(
        plan: &Plan,
        workload: &str,
        metrics: &[Metric],
        mut set_up: impl FnMut(Impl) -> io::Result<T>,
        mut run: impl FnMut(usize, [T; 3]) -> io::Result<[Vec<f64>; 3]>,
    ) -> io::Result<Vec<Outcome>> {
        measure_rounds(plan, workload, metrics, |r| {
            let mut prepared: [Option<T>; 3] = [None, None, None];
            for k in 0..Impl::ALL.len() {
                let imp = Impl::ALL[(r + k) % Impl::ALL.len()];
                prepared[imp.index()] = Some(set_up(imp).map_err(|e| imp.tag(e))?);
            }
            run(
                r,
                prepared.map(|p| p.expect("every implementation was set up")),
            )
        })
    }

    fn print_detail(outcome: &Outcome) {
        let mut line = format!("{:<40}", outcome.row);
        for imp in Impl::ALL {
            line += &format!(" {} {:>9}", imp.name(), outcome.shown(imp));
        }
        line += &format!("  {}", outcome.metric.unit);
        if outcome.metric.kind != Kind::Count {
            line += &format!(
                " | mio/nbio {} | raw/nbio {}",
                format_ratio(outcome.ratio(Impl::Mio)),
                format_ratio(outcome.ratio(Impl::Raw)),
            );
        }
        println!("{line}");
    }

    fn print_summary(plan: &Plan, outcomes: &[Outcome]) {
        let spread = if plan.rounds >= 10 {
            "p10–p90"
        } else {
            "min–max"
        };
        println!();
        println!(
            "Ratios: per round, other ÷ nbio for costs and nbio ÷ other for rates \
             (≥ 1.00: nbio at least as good); median of {} rounds, {} for the \
             single-threaded loops and wake latency ({spread}).",
            plan.rounds,
            plan.rounds * 2
        );
        println!();
        println!(
            "| {:<46} | {:<14} | {:>9} | {:>9} | {:>9} | {:<25} | {:<25} |",
            "workload",
            "unit",
            "nbio",
            "mio",
            "raw",
            "mio/nbio (median, spread)",
            "raw/nbio (median, spread)"
        );
        println!(
            "|{:-<48}|{:-<16}|{:->11}|{:->11}|{:->11}|{:-<27}|{:-<27}|",
            "", "", ":", ":", ":", "", ""
        );
        for outcome in outcomes {
            println!(
                "| {:<46} | {:<14} | {:>9} | {:>9} | {:>9} | {:<25} | {:<25} |",
                outcome.row,
                outcome.metric.unit,
                outcome.shown(Impl::Nbio),
                outcome.shown(Impl::Mio),
                outcome.shown(Impl::Raw),
                format_ratio(outcome.ratio(Impl::Mio)),
                format_ratio(outcome.ratio(Impl::Raw)),
            );
        }
        println!();
        if plan.quick {
            println!("Targets: not checked in quick mode.");
            return;
        }
        let misses: Vec<String> = outcomes.iter().filter_map(Outcome::shortfall).collect();
        if misses.is_empty() {
            println!("Targets: all met (mio/nbio ≥ 1.00, raw/nbio ≥ 0.97, wake-storm goals, no early returns).");
        } else {
            println!(
                "Targets missed (\"within resolution\": the median's confidence interval \
                 reaches the target, so more rounds could land on either side):"
            );
            for miss in misses {
                println!("* {miss}");
            }
        }
    }

    fn print_machine(plan: &Plan, cpus: usize, pinning: &str, fd_limit: &io::Result<u64>) {
        println!("compare bench: nbio vs mio 1.2.5 vs raw epoll");
        println!("kernel: {}", kernel_release());
        println!("CPUs: {cpus}");
        println!("pinning: {pinning}");
        match fd_limit {
            Ok(limit) => println!("open-file limit: {limit}"),
            Err(e) => println!("open-file limit: could not raise ({e})"),
        }
        println!(
            "raw timeouts: {}",
            if raw::has_epoll_pwait2() {
                "epoll_pwait2 (ns)"
            } else {
                "epoll_wait (ms, rounded up; no epoll_pwait2)"
            }
        );
        println!(
            "write syscall counts (/proc/thread-self/io): {}",
            if thread_write_syscalls().is_some() {
                "available"
            } else {
                "n/a"
            }
        );
        if plan.quick {
            println!("mode: quick smoke test (tiny sizes; numbers mean nothing)");
        } else {
            println!(
                "mode: full, 1 warm-up + {} rounds ({} for the short loops), order rotating per round",
                plan.rounds,
                plan.rounds * 2
            );
        }
        println!();
    }

    const ROUND_TRIP: Metric = metric("", "µs/round trip", Kind::Cost, USUAL);

    pub fn main() -> io::Result<()> {
        let plan = Plan::from_environment()?;
        let cpus = thread::available_parallelism().map_or(1, usize::from);
        let pinning = set_up_pinning(cpus);
        let fd_limit = raise_fd_limit();
        print_machine(&plan, cpus, &pinning, &fd_limit);

        // The short loops get twice the rounds, half as long each: a tighter
        // median for the same time.
        let cheap = Plan {
            rounds: plan.rounds * 2,
            ..plan.clone()
        };
        let mut outcomes = Vec::new();
        for size in [1, 64] {
            outcomes.extend(measure_joint(
                &cheap,
                &format!("TCP ping-pong, {size} B"),
                &[ROUND_TRIP],
                |imp| dispatch!(imp, tcp_ping_pong(size)),
                |r, steps| measure_steps((plan.ping_pong_trips, plan.chunks), r, steps),
            )?);
        }
        for load in plan.echo {
            let name = format!("echo, {} connections", load.0);
            let rate = [metric("", "messages/s", Kind::Rate, USUAL)];
            // Side by side, each server holds its connections and the load
            // generator its own: two fds per connection per implementation.
            let together = fd_limit
                .as_ref()
                .is_ok_and(|&limit| limit >= 6 * load.0 as u64 + 256);
            outcomes.extend(if together {
                measure_joint(
                    &plan,
                    &name,
                    &rate,
                    |imp| dispatch!(imp, echo_server()),
                    |r, servers| {
                        let rates = drive_echo(servers.into(), load, plan.echo_chunks, r)?;
                        let figures: Vec<Vec<f64>> = rates.into_iter().map(|x| vec![x]).collect();
                        figures
                            .try_into()
                            .map_err(|_| io::Error::other("echo: one rate per server expected"))
                    },
                )?
            } else {
                measure(&plan, &name, &rate, |imp| {
                    drive_echo(vec![dispatch!(imp, echo_server())?], load, 1, 0)
                })?
            });
        }
        let latency = [
            metric("p50", "µs", Kind::Cost, USUAL),
            metric("p99", "µs", Kind::Cost, NONE),
        ];
        outcomes.extend(measure_joint(
            &cheap,
            "wake latency",
            &latency,
            |imp| dispatch!(imp, wake_latency()),
            |r, parts| measure_wake_latency(plan.wakes, r, parts),
        )?);
        let storm = [
            metric(
                "waker",
                "wakes/CPU-s",
                Kind::Rate,
                Targets {
                    vs_mio: Some(2.0),
                    ..NONE
                },
            ),
            metric(
                "waker",
                "syscalls/wake",
                Kind::Cost,
                Targets {
                    nbio_at_most: Some(0.1),
                    ..NONE
                },
            ),
            metric(
                "poller",
                "returns/s",
                Kind::Rate,
                Targets {
                    vs_mio: Some(1.0),
                    ..NONE
                },
            ),
        ];
        outcomes.extend(measure(&plan, "wake storm", &storm, |imp| {
            dispatch!(imp, wake_storm(plan.storm))
        })?);
        let triple = metric("", "µs/triple", Kind::Cost, USUAL);
        outcomes.extend(measure_joint(
            &cheap,
            "register+reregister+deregister",
            &[triple],
            |imp| dispatch!(imp, churn()),
            |r, steps| measure_steps((plan.churn, plan.chunks), r, steps),
        )?);
        for idle in plan.idle {
            let name = format!("Unix ping-pong 1 B, {idle} idle sources");
            // One set of idle sockets, registered with each implementation's
            // poller (three sets would not fit a 20,000-fd limit).
            let idle_fds = idle_sockets(idle)?;
            outcomes.extend(measure_joint(
                &cheap,
                &name,
                &[ROUND_TRIP],
                |imp| dispatch!(imp, idle_ping_pong(&idle_fds)),
                |r, steps| measure_steps((plan.idle_trips, plan.chunks), r, steps),
            )?);
        }
        let overshoot_name = if raw::has_epoll_pwait2() {
            "timeout overshoot"
        } else {
            "timeout overshoot (raw: epoll_wait ms)"
        };
        let overshoot = [
            metric("100 µs", "µs", Kind::Cost, USUAL),
            metric("1 ms", "µs", Kind::Cost, USUAL),
            metric("5 ms", "µs", Kind::Cost, USUAL),
            metric(
                "early returns",
                "calls",
                Kind::Count,
                Targets {
                    nbio_at_most: Some(0.0),
                    ..NONE
                },
            ),
        ];
        outcomes.extend(measure_joint(
            &plan,
            overshoot_name,
            &overshoot,
            |imp| dispatch!(imp, overshoot()),
            |r, polls| measure_overshoot(plan.overshoot_samples, r, polls),
        )?);

        print_summary(&plan, &outcomes);
        if plan.quick {
            println!("compare bench: quick run OK");
        }
        Ok(())
    }
}
