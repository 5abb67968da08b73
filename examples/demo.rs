//! A self-contained tour of nbio that finishes in well under a second:
//! a TCP echo server and several clients share one `Poll` in one thread, and
//! a second thread wakes the loop with a `Waker` when it is done.
//!
//! ```text
//! cargo run --example demo
//! ```

use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const SERVER: Token = Token(0);
const WAKER: Token = Token(1);
const CLIENTS: usize = 8;
const ROUNDS: usize = 100;
const MESSAGE: &[u8] = b"hello from nbio";
/// Token ranges: clients use 100.., accepted server-side sockets 1000...
const CLIENT_BASE: usize = 100;
const ACCEPTED_BASE: usize = 1000;

struct Client {
    socket: TcpStream,
    connected: bool,
    rounds_left: usize,
    received: Vec<u8>,
}

fn main() -> io::Result<()> {
    let started = Instant::now();
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(256);

    let mut server = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
    let addr = server.local_addr()?;
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)?;
    println!("echo server on {addr}; {CLIENTS} clients x {ROUNDS} round trips");

    let mut clients: HashMap<Token, Client> = HashMap::new();
    for i in 0..CLIENTS {
        let mut socket = TcpStream::connect(addr)?;
        let token = Token(CLIENT_BASE + i);
        poll.registry()
            .register(&mut socket, token, Interest::READABLE | Interest::WRITABLE)?;
        clients.insert(
            token,
            Client {
                socket,
                connected: false,
                rounds_left: ROUNDS,
                received: Vec::new(),
            },
        );
    }

    let mut accepted: HashMap<Token, TcpStream> = HashMap::new();
    let mut polls = 0usize;
    let mut event_count = 0usize;
    let mut finished = 0usize;
    let mut waker_thread = None;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let deadline = started + Duration::from_secs(30);

    'outer: loop {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "demo did not finish in 30 s",
            ));
        }
        poll.poll(&mut events, Some(Duration::from_secs(1)))?;
        polls += 1;
        for event in events.iter() {
            event_count += 1;
            match event.token() {
                SERVER => loop {
                    match server.accept() {
                        Ok((mut socket, _)) => {
                            let token = Token(ACCEPTED_BASE + accepted.len());
                            poll.registry()
                                .register(&mut socket, token, Interest::READABLE)?;
                            accepted.insert(token, socket);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                },
                WAKER => {
                    println!("waker fired from another thread: all clients done");
                    break 'outer;
                }
                token if token.0 >= ACCEPTED_BASE => {
                    // Server side: echo everything back.
                    let socket = accepted.get_mut(&token).expect("unknown connection");
                    let mut buf = [0u8; 1024];
                    loop {
                        match socket.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => socket.write_all(&buf[..n])?,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
                token => {
                    let client = clients.get_mut(&token).expect("unknown client");
                    if event.is_writable() && !client.connected {
                        client.connected = true;
                        client.socket.write_all(MESSAGE)?;
                    }
                    if event.is_readable() {
                        let mut buf = [0u8; 1024];
                        loop {
                            match client.socket.read(&mut buf) {
                                Ok(0) => break,
                                Ok(n) => client.received.extend_from_slice(&buf[..n]),
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                Err(e) => return Err(e),
                            }
                        }
                        while client.received.len() >= MESSAGE.len() {
                            assert_eq!(&client.received[..MESSAGE.len()], MESSAGE);
                            client.received.drain(..MESSAGE.len());
                            client.rounds_left -= 1;
                            if client.rounds_left == 0 {
                                finished += 1;
                                if finished == CLIENTS {
                                    let waker = Arc::clone(&waker);
                                    waker_thread = Some(thread::spawn(move || waker.wake()));
                                }
                            } else {
                                client.socket.write_all(MESSAGE)?;
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(handle) = waker_thread {
        handle.join().expect("waker thread panicked")?;
    }
    println!(
        "{} round trips over {} connections in {:?}: {polls} polls, {event_count} events",
        CLIENTS * ROUNDS,
        accepted.len(),
        started.elapsed()
    );
    Ok(())
}
