//! A multi-threaded TCP echo server: one `Poll` per thread, and every thread
//! owns its *own* listening socket, all bound to the same address with
//! `SO_REUSEPORT`. Unix only.
//!
//! ```text
//! cargo run --example multi_thread_server                       # 127.0.0.1:9000, one thread per core
//! cargo run --example multi_thread_server -- 127.0.0.1:0 --threads 4
//! cargo run --example multi_thread_server -- 127.0.0.1:0 --exit-after-clients 10
//! ```
//!
//! The first line of output is `multi-thread echo server listening on ADDR`.
//! Try it with a few terminals running `nc 127.0.0.1 9000` (or
//! `socat - TCP:127.0.0.1:9000`): each connection says which thread
//! accepted it. With `--exit-after-clients N` the server stops, and prints
//! how many clients each thread served, once N clients have connected and
//! disconnected.
//!
//! # How the kernel spreads the connections
//!
//! Normally a second `bind` to an address in use fails with `EADDRINUSE`.
//! `SO_REUSEPORT`, set on every socket *before* `bind`, lets several sockets
//! (of the same user) share one address. On Linux each of those listeners
//! gets its own accept queue, and the kernel picks the queue of every new
//! connection by hashing its 4-tuple (source address and port, destination
//! address and port). The load is spread without any coordination between
//! the threads: no shared listener, no lock, no "thundering herd" where all
//! threads wake for one connection. The price: the hash ignores how busy a
//! thread is, and a connection waiting in the queue of a listener that is
//! closed is reset, so a real server drains its queue before it stops.
//!
//! macOS and most BSDs accept the option too, but there it only allows the
//! binding; which listener gets a connection is not balanced (it tends to be
//! the same one). The example still works there, just less evenly (FreeBSD
//! has a separate option, `SO_REUSEPORT_LB`, for balancing). Solaris
//! and illumos are left out: the `libc` crate does not define the option
//! for them.
//!
//! The alternative design, one listener shared by several threads, needs
//! either one accepting thread that hands sockets over, or all threads
//! registering the same listener (each `accept` racing the others).

#[cfg(all(unix, not(any(target_os = "illumos", target_os = "solaris"))))]
fn main() -> std::io::Result<()> {
    imp::main()
}

#[cfg(not(all(unix, not(any(target_os = "illumos", target_os = "solaris")))))]
fn main() {
    println!("this example needs SO_REUSEPORT on a Unix system (not Solaris or illumos)");
}

#[cfg(all(unix, not(any(target_os = "illumos", target_os = "solaris"))))]
mod imp {
    use nbio::net::{TcpListener, TcpStream};
    use nbio::{Events, Interest, Poll, Token, Waker};
    use std::collections::HashMap;
    use std::io::{self, Read, Write};
    use std::net::SocketAddr;
    use std::os::fd::FromRawFd;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::thread;

    /// Every thread uses the same small token plan for its own `Poll`.
    const LISTENER: Token = Token(0);
    const WAKER: Token = Token(1);
    const FIRST_CLIENT: usize = 2;

    /// What all threads share: the stop condition and a way to wake them.
    struct Shared {
        /// Clients that connected and then disconnected, over all threads.
        finished: AtomicUsize,
        /// `--exit-after-clients`, if given.
        exit_after: Option<usize>,
        /// Set once `exit_after` is reached; every thread then returns.
        stop: AtomicBool,
        /// One waker per thread: a thread blocked in `poll` cannot see the
        /// `stop` flag, so whoever sets it wakes everyone.
        wakers: Vec<Waker>,
    }

    pub fn main() -> io::Result<()> {
        let mut addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let mut threads = thread::available_parallelism().map_or(1, |n| n.get());
        let mut exit_after = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--threads" => threads = number(args.next(), "--threads")?.max(1),
                "--exit-after-clients" => {
                    exit_after = Some(number(args.next(), "--exit-after-clients")?)
                }
                other => addr = other.parse().map_err(|_| invalid("bad listen address"))?,
            }
        }

        // The first listener may have asked for port 0 ("any free port"):
        // the others must then bind to the port the kernel picked, so bind
        // them to the first one's actual address.
        let first = reuseport_listener(addr)?;
        let addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..threads {
            listeners.push(reuseport_listener(addr)?);
        }

        // Create every `Poll` and its `Waker` up front, on this thread, so
        // all the wakers can be shared before any worker starts. A `Poll` is
        // `Send`: each one then moves to the thread that will use it.
        let mut polls = Vec::new();
        let mut wakers = Vec::new();
        for _ in 0..threads {
            let poll = Poll::new()?;
            wakers.push(Waker::new(poll.registry(), WAKER)?);
            polls.push(poll);
        }
        let shared = Arc::new(Shared {
            finished: AtomicUsize::new(0),
            exit_after,
            stop: AtomicBool::new(false),
            wakers,
        });

        println!("multi-thread echo server ({threads} threads) listening on {addr}");
        io::stdout().flush()?;

        let workers: Vec<_> = polls
            .into_iter()
            .zip(listeners)
            .enumerate()
            .map(|(id, (poll, listener))| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || worker(id, poll, listener, &shared))
            })
            .collect();

        let mut total = 0;
        for (id, worker) in workers.into_iter().enumerate() {
            let served = worker.join().expect("worker thread panicked")?;
            println!("thread {id} served {served} clients");
            total += served;
        }
        println!("served {total} clients, exiting");
        Ok(())
    }

    /// Creates a non-blocking listening socket with `SO_REUSEADDR` and
    /// `SO_REUSEPORT`. std has no way to set an option between `socket` and
    /// `bind`, so the socket is built by hand with libc and then handed to
    /// std and nbio.
    fn reuseport_listener(addr: SocketAddr) -> io::Result<TcpListener> {
        let domain = match addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        // SAFETY: `socket` takes plain integers and touches no memory of
        // ours; a negative result is an error, checked right below.
        let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by `socket`, is open, and nothing
        // else owns it: the std listener becomes its only owner, and closes
        // it when dropped, including on every error return below.
        let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        // Close-on-exec, so child processes do not inherit the socket, and
        // non-blocking, which nbio requires of every socket it polls.
        // SAFETY: `fd` is open (owned by `listener`); F_SETFD takes an int.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        listener.set_nonblocking(true)?;

        for option in [libc::SO_REUSEADDR, libc::SO_REUSEPORT] {
            let on: libc::c_int = 1;
            // SAFETY: the option value points to a live `c_int` and the
            // length passed is exactly its size; `fd` is open.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    option,
                    (&on as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
        }

        let (storage, len) = to_sockaddr(addr);
        // SAFETY: `storage` is a properly aligned `sockaddr_storage` whose
        // first `len` bytes hold a valid `sockaddr_in`/`sockaddr_in6` for
        // `addr`, and it outlives the call; `fd` is open.
        let rc = unsafe { libc::bind(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: plain integers; `fd` is an open, bound socket.
        if unsafe { libc::listen(fd, 1024) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TcpListener::from_std(listener))
    }

    /// Encodes `addr` as the C socket address `bind` expects.
    fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
        // SAFETY: `sockaddr_storage` is plain old data (integers and byte
        // arrays): all zeroes is a valid value of it.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(v4) => {
                // SAFETY: `sockaddr_storage` is larger than and at least as
                // aligned as `sockaddr_in` (that is its purpose), so the
                // cast pointer is valid for writes of a `sockaddr_in`.
                let sin = unsafe {
                    &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = v4.port().to_be();
                // The octets are already in network order: keep the bytes.
                sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
                std::mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(v6) => {
                // SAFETY: as above, for `sockaddr_in6`.
                let sin6 = unsafe {
                    &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = v6.port().to_be();
                sin6.sin6_flowinfo = v6.flowinfo();
                sin6.sin6_addr.s6_addr = v6.ip().octets();
                sin6.sin6_scope_id = v6.scope_id();
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        (storage, len as libc::socklen_t)
    }

    /// One client of one thread: the socket and the bytes not yet echoed.
    struct Client {
        socket: TcpStream,
        pending: Vec<u8>,
    }

    /// The event loop of one thread: an ordinary single-threaded echo
    /// server. Nothing is shared with the other threads but `shared`.
    /// Returns how many clients this thread served.
    fn worker(
        id: usize,
        mut poll: Poll,
        mut listener: TcpListener,
        shared: &Shared,
    ) -> io::Result<usize> {
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let mut events = Events::with_capacity(256);
        let mut clients: HashMap<Token, Client> = HashMap::new();
        let mut next = FIRST_CLIENT;
        let mut served = 0;

        while !shared.stop.load(Ordering::Acquire) {
            match poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                match event.token() {
                    // Only here to end the `poll`; the loop condition reads
                    // the `stop` flag.
                    WAKER => {}
                    LISTENER => loop {
                        // Edge-triggered: accept until the queue is empty.
                        let (mut socket, peer) = match listener.accept() {
                            Ok(pair) => pair,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        };
                        let token = Token(next);
                        next += 1;
                        poll.registry()
                            .register(&mut socket, token, Interest::READABLE)?;
                        println!("thread {id} accepted {peer}");
                        clients.insert(
                            token,
                            Client {
                                socket,
                                pending: Vec::new(),
                            },
                        );
                    },
                    token => {
                        let Some(client) = clients.get_mut(&token) else {
                            continue;
                        };
                        if echo(client, event.is_readable(), poll.registry(), token)? {
                            let client = clients.remove(&token).unwrap();
                            finish(&mut poll, client, shared, &mut served)?;
                        }
                    }
                }
            }
        }
        Ok(served)
    }

    /// Echoes what the client sent; returns `true` once it is done.
    fn echo(
        client: &mut Client,
        readable: bool,
        registry: &nbio::Registry,
        token: Token,
    ) -> io::Result<bool> {
        let mut closed = false;
        if readable {
            let mut buf = [0u8; 4096];
            loop {
                match client.socket.read(&mut buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => client.pending.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Ok(true),
                }
            }
        }
        while !client.pending.is_empty() {
            match client.socket.write(&client.pending) {
                Ok(n) => {
                    client.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Ok(true),
            }
        }
        if closed && client.pending.is_empty() {
            return Ok(true);
        }
        // Ask for WRITABLE only while there is something left to write.
        let interest = if client.pending.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        registry.reregister(&mut client.socket, token, interest)?;
        Ok(false)
    }

    /// Drops a finished client and, if that was the last one wanted, tells
    /// every thread to stop.
    fn finish(
        poll: &mut Poll,
        mut client: Client,
        shared: &Shared,
        served: &mut usize,
    ) -> io::Result<()> {
        poll.registry().deregister(&mut client.socket)?;
        *served += 1;
        let finished = shared.finished.fetch_add(1, Ordering::AcqRel) + 1;
        if shared.exit_after == Some(finished) {
            shared.stop.store(true, Ordering::Release);
            for waker in &shared.wakers {
                waker.wake()?;
            }
        }
        Ok(())
    }

    fn number(arg: Option<String>, flag: &str) -> io::Result<usize> {
        arg.and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid(&format!("{flag} needs a number")))
    }

    fn invalid(msg: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
    }
}
