//! An echo server on a Unix-domain socket: the same event loop as a TCP
//! server, but the address is a path in the file system. Unix only.
//!
//! ```text
//! cargo run --example unix_server                                  # socket in the temp dir
//! cargo run --example unix_server -- --path /tmp/echo.sock
//! cargo run --example unix_server -- --path /tmp/echo.sock --exit-after-clients 2
//! ```
//!
//! The first line of output is `unix echo server listening on PATH`. Try it
//! with `nc -U /tmp/echo.sock` or `socat - UNIX-CONNECT:/tmp/echo.sock`.
//! With `--exit-after-clients N` the server exits once N clients have
//! connected and disconnected.
//!
//! A Unix socket's path is a file that `bind` creates and that outlives the
//! socket: a second run would fail with "address in use" until someone
//! deletes it. The example deletes it when it exits normally or with an
//! error (through a guard's `Drop`); killed by a signal such as Ctrl-C, it
//! cannot, and the stale file has to be removed by hand.

#[cfg(unix)]
fn main() -> std::io::Result<()> {
    imp::main()
}

#[cfg(not(unix))]
fn main() {
    println!("this example uses Unix-domain sockets: it runs on Unix only");
}

#[cfg(unix)]
mod imp {
    use nbio::net::{UnixListener, UnixStream};
    use nbio::{Events, Interest, Poll, Registry, Token};
    use std::collections::HashMap;
    use std::io::{self, Read, Write};
    use std::path::PathBuf;

    const LISTENER: Token = Token(0);

    /// Removes the socket file when dropped.
    struct RemoveOnDrop(PathBuf);

    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// One client: its socket and the bytes read but not yet echoed.
    struct Connection {
        socket: UnixStream,
        pending: Vec<u8>,
    }

    pub fn main() -> io::Result<()> {
        let mut path = std::env::temp_dir().join(format!("nbio-echo-{}.sock", std::process::id()));
        let mut exit_after = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--path" => {
                    path = args
                        .next()
                        .ok_or_else(|| invalid("--path needs a path"))?
                        .into()
                }
                "--exit-after-clients" => {
                    let n = args.next().and_then(|n| n.parse::<usize>().ok());
                    exit_after =
                        Some(n.ok_or_else(|| invalid("--exit-after-clients needs a number"))?);
                }
                other => return Err(invalid(&format!("unknown argument {other:?}"))),
            }
        }

        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(256);
        // `bind` creates the socket file; from here on it is ours to remove.
        let mut listener = UnixListener::bind(&path)?;
        let _cleanup = RemoveOnDrop(path.clone());
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        println!("unix echo server listening on {}", path.display());
        io::stdout().flush()?;

        let mut connections: HashMap<Token, Connection> = HashMap::new();
        let mut next = 1;
        let mut done = 0;

        while exit_after.map_or(true, |n| done < n) {
            match poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                if event.token() == LISTENER {
                    loop {
                        // A client of a Unix socket usually has no address
                        // (it did not `bind`), so there is nothing to print
                        // about it but a number.
                        let (mut socket, _addr) = match listener.accept() {
                            Ok(pair) => pair,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        };
                        let token = Token(next);
                        next += 1;
                        poll.registry()
                            .register(&mut socket, token, Interest::READABLE)?;
                        println!("client {} connected", token.0);
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
                let Some(conn) = connections.get_mut(&token) else {
                    continue;
                };
                if echo(conn, poll.registry(), token)? {
                    let mut conn = connections.remove(&token).unwrap();
                    poll.registry().deregister(&mut conn.socket)?;
                    println!("client {} disconnected", token.0);
                    done += 1;
                }
            }
        }
        println!("served {done} clients, exiting");
        // `_cleanup` is dropped here and removes the socket file.
        Ok(())
    }

    /// Echoes what the client sent. Returns `true` once it is done.
    fn echo(conn: &mut Connection, registry: &Registry, token: Token) -> io::Result<bool> {
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
        let interest = if conn.pending.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        registry.reregister(&mut conn.socket, token, interest)?;
        Ok(false)
    }

    fn invalid(msg: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
    }
}
