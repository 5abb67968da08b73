//! One event loop serving TCP and UDP at once: a TCP echo server and a UDP
//! echo server on the same port number, told apart by their tokens.
//!
//! ```text
//! cargo run --example tcp_and_udp                    # TCP and UDP on 127.0.0.1:9000
//! cargo run --example tcp_and_udp -- 127.0.0.1:0     # any free port (the same for both)
//! cargo run --example tcp_and_udp -- 127.0.0.1:0 --exit-after-clients 1 --exit-after-datagrams 2
//! ```
//!
//! The first line of output is `tcp and udp echo listening on ADDR`. Try TCP
//! with `nc 127.0.0.1 9000` and UDP with `nc -u 127.0.0.1 9000` (or
//! `socat - TCP:127.0.0.1:9000` and `socat - UDP:127.0.0.1:9000`). TCP and
//! UDP have separate port spaces, so both sockets can use port 9000.
//!
//! The server exits once every limit given has been reached:
//! `--exit-after-clients N` counts TCP clients that connected and left,
//! `--exit-after-datagrams N` counts datagrams echoed.
//!
//! # Token-based dispatch
//!
//! A `Poll` hands back events, and an event carries only a [`Token`] and
//! readiness flags, never the socket itself. The token is whatever number the
//! program chose when registering, so the program decides what it means.
//! Here the plan is:
//!
//! * `Token(0)`: the TCP listener, ready means connections are waiting;
//! * `Token(1)`: the UDP socket, ready means datagrams are waiting;
//! * `Token(2)` and up: one per TCP connection, found in a `HashMap`.
//!
//! One `match` on the token routes each event to its handler. Any number of
//! unrelated sources (sockets, pipes, timers built on wakers) can share one
//! loop this way.

use nbio::net::{TcpListener, TcpStream, UdpSocket};
use nbio::{Events, Interest, Poll, Registry, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

const TCP_LISTENER: Token = Token(0);
const UDP_SOCKET: Token = Token(1);
/// Connections get tokens from here on.
const FIRST_CONNECTION: usize = 2;

/// One TCP client: its socket and the bytes read but not yet echoed.
struct Connection {
    socket: TcpStream,
    pending: Vec<u8>,
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:9000".to_string();
    let mut exit_after_clients = None;
    let mut exit_after_datagrams = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exit-after-clients" => exit_after_clients = Some(number(args.next(), &arg)?),
            "--exit-after-datagrams" => exit_after_datagrams = Some(number(args.next(), &arg)?),
            other => addr = other.to_string(),
        }
    }
    let addr: SocketAddr = addr.parse().map_err(|_| invalid("bad listen address"))?;

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(256);

    // Bind TCP first; if it was given port 0, bind UDP to the port the
    // system chose for TCP, so one address describes both.
    let mut listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let mut udp = UdpSocket::bind(addr)?;

    // Two registrations, two tokens: this is all the loop below needs to
    // tell the sockets apart.
    poll.registry()
        .register(&mut listener, TCP_LISTENER, Interest::READABLE)?;
    poll.registry()
        .register(&mut udp, UDP_SOCKET, Interest::READABLE)?;
    println!("tcp and udp echo listening on {addr}");
    io::stdout().flush()?;

    let mut connections: HashMap<Token, Connection> = HashMap::new();
    let mut next = FIRST_CONNECTION;
    let mut clients_done = 0;
    let mut datagrams = 0;

    loop {
        if exit_after_clients.map_or(true, |n| clients_done >= n)
            && exit_after_datagrams.map_or(true, |n| datagrams >= n)
            && (exit_after_clients.is_some() || exit_after_datagrams.is_some())
        {
            println!("served {clients_done} tcp clients and echoed {datagrams} datagrams, exiting");
            return Ok(());
        }
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            // The dispatch: one arm per kind of source.
            match event.token() {
                TCP_LISTENER => {
                    accept_all(&listener, poll.registry(), &mut connections, &mut next)?
                }
                UDP_SOCKET => datagrams += echo_datagrams(&udp)?,
                token => {
                    let Some(conn) = connections.get_mut(&token) else {
                        continue; // already closed earlier in this batch
                    };
                    if echo_stream(conn, poll.registry(), token)? {
                        let mut conn = connections.remove(&token).unwrap();
                        poll.registry().deregister(&mut conn.socket)?;
                        clients_done += 1;
                    }
                }
            }
        }
    }
}

/// Accepts every pending connection, giving each a fresh token.
fn accept_all(
    listener: &TcpListener,
    registry: &Registry,
    connections: &mut HashMap<Token, Connection>,
    next: &mut usize,
) -> io::Result<()> {
    loop {
        let (mut socket, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        let token = Token(*next);
        *next += 1;
        registry.register(&mut socket, token, Interest::READABLE)?;
        println!("tcp client {peer} connected");
        connections.insert(
            token,
            Connection {
                socket,
                pending: Vec::new(),
            },
        );
    }
}

/// Sends every waiting datagram back where it came from. Returns how many
/// were echoed.
fn echo_datagrams(udp: &UdpSocket) -> io::Result<usize> {
    // 64 KiB holds any UDP datagram; a smaller buffer would truncate.
    let mut buf = vec![0u8; 65536];
    let mut echoed = 0;
    loop {
        let (n, from) = match udp.recv_from(&mut buf) {
            Ok(pair) => pair,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(echoed),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // On some systems an ICMP "port unreachable" from an earlier
            // reply surfaces here as an error; it concerns that old peer
            // only, so skip it.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => continue,
            Err(e) => return Err(e),
        };
        // UDP gives no delivery guarantee anyway: if the socket's send
        // buffer is full (`WouldBlock`), dropping the reply is a fair
        // answer, and much simpler than queueing it.
        match udp.send_to(&buf[..n], from) {
            Ok(_) => echoed += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => println!("cannot answer {from}: {e}"),
        }
    }
}

/// Echoes what a TCP client sent. Returns `true` once the client is done.
fn echo_stream(conn: &mut Connection, registry: &Registry, token: Token) -> io::Result<bool> {
    let mut closed = false;
    let mut buf = [0u8; 4096];
    loop {
        match conn.socket.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => conn.pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(true),
        }
    }
    while !conn.pending.is_empty() {
        match conn.socket.write(&conn.pending) {
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(true),
        }
    }
    if closed && conn.pending.is_empty() {
        return Ok(true);
    }
    // Wait for room in the send buffer only while output is pending.
    let interest = if conn.pending.is_empty() {
        Interest::READABLE
    } else {
        Interest::READABLE | Interest::WRITABLE
    };
    registry.reregister(&mut conn.socket, token, interest)?;
    Ok(false)
}

fn number(arg: Option<String>, flag: &str) -> io::Result<usize> {
    arg.and_then(|n| n.parse().ok())
        .ok_or_else(|| invalid(&format!("{flag} needs a number")))
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}
