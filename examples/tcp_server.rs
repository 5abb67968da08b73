//! A TCP echo server on nbio: one `Poll`, one thread, many connections.
//!
//! ```text
//! cargo run --example tcp_server                 # listens on 127.0.0.1:9000
//! cargo run --example tcp_server -- 127.0.0.1:0  # any free port
//! cargo run --example tcp_server -- 127.0.0.1:9000 --max-connections 3
//! ```
//!
//! Try it with `nc 127.0.0.1 9000`. With `--max-connections N` the server
//! exits after N connections have come and gone.

use nbio::event::Event;
use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Registry, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};

const SERVER: Token = Token(0);

/// One client: its socket and the bytes received but not yet echoed.
struct Connection {
    socket: TcpStream,
    pending: Vec<u8>,
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:9000".to_string();
    let mut max_connections = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-connections" => {
                let n = args.next().and_then(|n| n.parse().ok());
                max_connections =
                    Some(n.ok_or_else(|| invalid("--max-connections needs a number"))?);
            }
            other => addr = other.to_string(),
        }
    }
    let addr = addr.parse().map_err(|_| invalid("bad listen address"))?;

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut server = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)?;
    println!("echo server listening on {}", server.local_addr()?);

    let mut connections: HashMap<Token, Connection> = HashMap::new();
    let mut next_token = 1;
    let mut closed = 0usize;

    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == SERVER {
                // Edge-triggered: accept until the queue is empty.
                loop {
                    let (mut socket, peer) = match server.accept() {
                        Ok(pair) => pair,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    };
                    let token = Token(next_token);
                    next_token += 1;
                    poll.registry()
                        .register(&mut socket, token, Interest::READABLE)?;
                    println!("{peer} connected");
                    connections.insert(
                        token,
                        Connection {
                            socket,
                            pending: Vec::new(),
                        },
                    );
                }
                continue;
            }
            let token = event.token();
            let done = match connections.get_mut(&token) {
                Some(conn) => handle(poll.registry(), conn, token, event)?,
                None => false,
            };
            if done {
                if let Some(mut conn) = connections.remove(&token) {
                    poll.registry().deregister(&mut conn.socket)?;
                }
                closed += 1;
                if max_connections == Some(closed) {
                    println!("served {closed} connections, exiting");
                    return Ok(());
                }
            }
        }
    }
}

/// Reads everything available, echoes what it can, and switches interest to
/// WRITABLE while output is pending. Returns `true` when the connection is
/// finished.
fn handle(
    registry: &Registry,
    conn: &mut Connection,
    token: Token,
    event: &Event,
) -> io::Result<bool> {
    let mut peer_closed = false;
    if event.is_readable() {
        let mut buf = [0u8; 4096];
        loop {
            match conn.socket.read(&mut buf) {
                Ok(0) => {
                    peer_closed = true;
                    break;
                }
                Ok(n) => conn.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Ok(true),
            }
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
    if peer_closed && conn.pending.is_empty() {
        return Ok(true);
    }
    let interest = if conn.pending.is_empty() {
        Interest::READABLE
    } else {
        Interest::READABLE | Interest::WRITABLE
    };
    registry.reregister(&mut conn.socket, token, interest)?;
    Ok(false)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
