//! Instruction counts, nbio vs mio: the same loops compiled into one binary
//! for each crate, for `scripts/bench-instructions` to run under
//! `valgrind --tool=callgrind`, which counts the user-space instructions each
//! loop executes. Unlike times, these counts are repeatable to the
//! instruction on any machine, busy or idle, so "nbio does no more work than
//! mio" can be checked exactly.
//!
//! Each workload is one function per crate, named `<workload>_<crate>` and
//! never inlined, so callgrind can collect exactly its instructions:
//!
//! * `ping_pong`: a 64-byte TCP ping-pong round trip over loopback in one
//!   thread (write, poll, read, write back, poll, read);
//! * `wake_poll`: `Waker::wake` then a `poll` that returns the wake event,
//!   in one thread;
//! * `churn`: `register` + `reregister` + `deregister` of a TCP stream.
//!
//! Run directly (as `cargo bench` does), the loops just run once, briefly.
//! Linux only, like the callgrind script.

#[cfg(target_os = "linux")]
fn main() {
    let rounds = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    ping_pong_nbio(rounds);
    ping_pong_mio(rounds);
    wake_poll_nbio(rounds);
    wake_poll_mio(rounds);
    churn_nbio(rounds);
    churn_mio(rounds);
    println!("instructions bench: {rounds} rounds of each loop ran");
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("instructions bench: Linux only");
}

/// The three loops for one crate with mio's API.
#[cfg(target_os = "linux")]
macro_rules! loops {
    ($krate:ident, $ping_pong:ident, $wake_poll:ident, $churn:ident) => {
        #[inline(never)]
        fn $ping_pong(rounds: usize) {
            use std::io::{Read, Write};
            use $krate::net::TcpStream;
            use $krate::{Events, Interest, Poll, Token};
            let (client, server) = tcp_pair();
            let (mut client, mut server) =
                (TcpStream::from_std(client), TcpStream::from_std(server));
            let mut poll = Poll::new().unwrap();
            let mut events = Events::with_capacity(64);
            let (c, s) = (Token(0), Token(1));
            poll.registry()
                .register(&mut client, c, Interest::READABLE)
                .unwrap();
            poll.registry()
                .register(&mut server, s, Interest::READABLE)
                .unwrap();
            let mut wait = |poll: &mut Poll, token: Token| loop {
                poll.poll(&mut events, Some(DEADLINE)).unwrap();
                assert!(!events.is_empty(), "no event within {DEADLINE:?}");
                if events.iter().any(|e| e.token() == token) {
                    return;
                }
            };
            let mut buf = [7u8; 64];
            for _ in 0..rounds {
                client.write_all(&buf).unwrap();
                wait(&mut poll, s);
                server.read_exact(&mut buf).unwrap();
                server.write_all(&buf).unwrap();
                wait(&mut poll, c);
                client.read_exact(&mut buf).unwrap();
            }
        }

        #[inline(never)]
        fn $wake_poll(rounds: usize) {
            use $krate::{Events, Poll, Token, Waker};
            let mut poll = Poll::new().unwrap();
            let mut events = Events::with_capacity(64);
            let waker = Waker::new(poll.registry(), Token(9)).unwrap();
            for _ in 0..rounds {
                waker.wake().unwrap();
                poll.poll(&mut events, Some(DEADLINE)).unwrap();
                assert!(events.iter().any(|e| e.token() == Token(9)));
            }
        }

        #[inline(never)]
        fn $churn(rounds: usize) {
            use $krate::net::TcpStream;
            use $krate::{Interest, Poll, Token};
            let (client, _server) = tcp_pair();
            let mut client = TcpStream::from_std(client);
            let poll = Poll::new().unwrap();
            for i in 0..rounds {
                let registry = poll.registry();
                registry
                    .register(&mut client, Token(i), Interest::READABLE)
                    .unwrap();
                registry
                    .reregister(&mut client, Token(i), Interest::WRITABLE)
                    .unwrap();
                registry.deregister(&mut client).unwrap();
            }
        }
    };
}

#[cfg(target_os = "linux")]
loops!(nbio, ping_pong_nbio, wake_poll_nbio, churn_nbio);
#[cfg(target_os = "linux")]
loops!(mio, ping_pong_mio, wake_poll_mio, churn_mio);

#[cfg(target_os = "linux")]
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// A connected, non-blocking loopback TCP pair with `TCP_NODELAY`.
#[cfg(target_os = "linux")]
fn tcp_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    for s in [&client, &server] {
        s.set_nonblocking(true).unwrap();
        s.set_nodelay(true).unwrap();
    }
    (client, server)
}
