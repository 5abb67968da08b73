//! A line-based chat server: every complete line a client sends is passed
//! on to all the *other* clients, prefixed with the sender's address.
//!
//! ```text
//! cargo run --example chat_server                       # listens on 127.0.0.1:9000
//! cargo run --example chat_server -- 127.0.0.1:0        # any free port
//! cargo run --example chat_server -- 127.0.0.1:9000 --exit-after-clients 2
//! ```
//!
//! The first line of output is `chat server listening on ADDR`. Open two or
//! three terminals with `nc 127.0.0.1 9000` (or `socat - TCP:127.0.0.1:9000`)
//! and type. With `--exit-after-clients N` the server exits once N clients
//! have connected and left.
//!
//! What the example shows, beyond the echo servers:
//!
//! * **Partial lines.** TCP is a byte stream: one `read` may return half a
//!   line, or three lines and a half. Each client keeps the bytes after its
//!   last newline until the rest arrives (`nc` sends one line per Enter;
//!   `printf 'hel' ; sleep 1; printf 'lo\n'` piped into `nc` splits one).
//! * **Slow clients.** A client that does not read must not stall the
//!   others, so writes never block: each client has an outgoing buffer,
//!   and the server writes what the socket accepts and keeps the rest.
//!   `WRITABLE` interest is asked for only while that buffer holds data
//!   (asking for it all the time would wake the loop for nothing), and a
//!   client that falls too far behind is disconnected rather than buffered
//!   forever.
//! * **Disconnects.** A read of 0 bytes or an error ends the client; the
//!   others are told it left.

use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Poll, Registry, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

const LISTENER: Token = Token(0);

/// A client whose outgoing buffer grows beyond this is too slow: drop it.
const MAX_OUTGOING: usize = 1 << 20;
/// A "line" longer than this without a newline is cut and sent as is.
const MAX_LINE: usize = 64 * 1024;

/// One chat participant.
struct Client {
    socket: TcpStream,
    addr: SocketAddr,
    /// Bytes received after the last complete line.
    incoming: Vec<u8>,
    /// Bytes waiting for the socket to accept them.
    outgoing: Vec<u8>,
    /// Whether the registration currently includes `WRITABLE`.
    wants_write: bool,
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:9000".to_string();
    let mut exit_after = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exit-after-clients" => {
                let n = args.next().and_then(|n| n.parse::<usize>().ok());
                exit_after = Some(n.ok_or_else(|| invalid("--exit-after-clients needs a number"))?);
            }
            other => addr = other.to_string(),
        }
    }
    let addr = addr.parse().map_err(|_| invalid("bad listen address"))?;

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(256);
    let mut listener = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    println!("chat server listening on {}", listener.local_addr()?);
    io::stdout().flush()?;

    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut next = 1;
    let mut left = 0;

    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        // Clients found finished while handling this batch of events. They
        // are removed after the batch, so a broadcast never has to care
        // about a half-removed client.
        let mut gone: Vec<Token> = Vec::new();

        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    let (mut socket, addr) = match listener.accept() {
                        Ok(pair) => pair,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    };
                    let token = Token(next);
                    next += 1;
                    poll.registry()
                        .register(&mut socket, token, Interest::READABLE)?;
                    println!("{addr} joined");
                    broadcast(&mut clients, None, format!("* {addr} joined\n").as_bytes());
                    let mut client = Client {
                        socket,
                        addr,
                        incoming: Vec::new(),
                        outgoing: Vec::new(),
                        wants_write: false,
                    };
                    // The welcome line also tells a client that it is in the
                    // room: from now on it receives what others say.
                    client
                        .outgoing
                        .extend_from_slice(format!("* welcome, you are {addr}\n").as_bytes());
                    clients.insert(token, client);
                }
                continue;
            }

            let token = event.token();
            if !clients.contains_key(&token) {
                continue;
            }
            if event.is_readable() {
                // Read everything available (the readiness is edge-
                // triggered), then hand the complete lines to the others.
                let (lines, finished) = read_lines(clients.get_mut(&token).unwrap());
                let sender = clients[&token].addr;
                for line in lines {
                    let mut message = format!("{sender}: ").into_bytes();
                    message.extend_from_slice(&line);
                    message.push(b'\n');
                    broadcast(&mut clients, Some(token), &message);
                }
                if finished {
                    gone.push(token);
                }
            }
            // A WRITABLE event needs nothing special: every client with
            // pending output is flushed below.
        }

        // Write out whatever the events above queued, adjusting each
        // client's interest to whether it still has output pending. Drop
        // the finished clients first: that queues "left" notices for the
        // others, and a client failing in `flush` is finished too, so go
        // round until nobody else leaves. (A big server would flush only
        // the clients that got new output, not every one of them.)
        loop {
            for token in gone.drain(..) {
                // `remove` also ignores a token listed twice.
                let Some(mut client) = clients.remove(&token) else {
                    continue;
                };
                poll.registry().deregister(&mut client.socket)?;
                println!("{} left", client.addr);
                let notice = format!("* {} left\n", client.addr);
                broadcast(&mut clients, None, notice.as_bytes());
                left += 1;
            }
            for (&token, client) in clients.iter_mut() {
                if !flush(client, poll.registry(), token)? {
                    gone.push(token);
                }
            }
            if gone.is_empty() {
                break;
            }
        }
        if exit_after.is_some_and(|n| left >= n) {
            println!("{left} clients came and went, exiting");
            return Ok(());
        }
    }
}

/// Reads all the client has sent. Returns its complete lines (without the
/// line ending) and whether the client is finished (closed or failed).
fn read_lines(client: &mut Client) -> (Vec<Vec<u8>>, bool) {
    let mut finished = false;
    let mut buf = [0u8; 4096];
    loop {
        match client.socket.read(&mut buf) {
            Ok(0) => {
                finished = true;
                break;
            }
            Ok(n) => client.incoming.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                finished = true;
                break;
            }
        }
    }
    let mut lines = Vec::new();
    // Split off every complete line; what follows the last newline stays
    // in `incoming` for the next read.
    while let Some(end) = client.incoming.iter().position(|&b| b == b'\n') {
        let mut line: Vec<u8> = client.incoming.drain(..=end).collect();
        line.pop(); // the '\n'
        if line.last() == Some(&b'\r') {
            line.pop(); // telnet and friends send "\r\n"
        }
        lines.push(line);
    }
    if client.incoming.len() > MAX_LINE {
        lines.push(std::mem::take(&mut client.incoming));
    }
    (lines, finished)
}

/// Queues `message` for every client except `from`. Nothing is written here:
/// writing is `flush`'s job, once per round.
fn broadcast(clients: &mut HashMap<Token, Client>, from: Option<Token>, message: &[u8]) {
    for (&token, client) in clients.iter_mut() {
        if Some(token) != from {
            client.outgoing.extend_from_slice(message);
        }
    }
}

/// Writes as much of the client's pending output as the socket takes, then
/// registers `WRITABLE` interest if (and only if) some is left. Returns
/// `false` if the client must be dropped.
fn flush(client: &mut Client, registry: &Registry, token: Token) -> io::Result<bool> {
    while !client.outgoing.is_empty() {
        match client.socket.write(&client.outgoing) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                client.outgoing.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(false),
        }
    }
    if client.outgoing.len() > MAX_OUTGOING {
        println!("{} is too slow, dropping it", client.addr);
        return Ok(false);
    }
    let wants_write = !client.outgoing.is_empty();
    if wants_write != client.wants_write {
        let interest = if wants_write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        registry.reregister(&mut client.socket, token, interest)?;
        client.wants_write = wants_write;
    }
    Ok(true)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
