//! A UDP echo server on nbio.
//!
//! ```text
//! cargo run --example udp_server                 # listens on 127.0.0.1:9000
//! cargo run --example udp_server -- 127.0.0.1:0 --max-datagrams 10
//! ```
//!
//! Try it with `nc -u 127.0.0.1 9000`. With `--max-datagrams N` the server
//! exits after echoing N datagrams.

use nbio::net::UdpSocket;
use nbio::{Events, Interest, Poll, Token};
use std::io;

const UDP: Token = Token(0);

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:9000".to_string();
    let mut max_datagrams = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-datagrams" => {
                let n = args.next().and_then(|n| n.parse::<usize>().ok());
                max_datagrams = Some(n.ok_or_else(|| invalid("--max-datagrams needs a number"))?);
            }
            other => addr = other.to_string(),
        }
    }
    let addr = addr.parse().map_err(|_| invalid("bad listen address"))?;

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(64);
    let mut socket = UdpSocket::bind(addr)?;
    poll.registry()
        .register(&mut socket, UDP, Interest::READABLE)?;
    println!("udp echo server listening on {}", socket.local_addr()?);

    let mut buf = [0u8; 65536];
    let mut echoed = 0usize;
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() != UDP {
                continue;
            }
            // Edge-triggered: receive until the socket is empty.
            loop {
                let (n, from) = match socket.recv_from(&mut buf) {
                    Ok(received) => received,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                };
                // A full send buffer drops the echo, as UDP may.
                let _ = socket.send_to(&buf[..n], from);
                echoed += 1;
                if max_datagrams == Some(echoed) {
                    println!("echoed {echoed} datagrams, exiting");
                    return Ok(());
                }
            }
        }
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
