//! A custom event source: a type of our own, wrapping a raw file descriptor,
//! that a `Poll` can watch like any nbio socket. Unix only; needs the
//! `os-ext` feature for `nbio::unix::SourceFd`.
//!
//! ```text
//! cargo run --example source_fd --features os-ext
//! ```
//!
//! There is no address to connect to: a helper thread plays the other side.
//! It writes a few lines into a pipe and closes its end; the main thread's
//! event loop reads them through the custom source and stops at end of file,
//! printing what it read. To watch the same thing with an outside program,
//! swap the pipe for a FIFO (`mkfifo /tmp/f`, open it non-blocking, and run
//! `echo hi > /tmp/f` or `socat - /tmp/f` in another terminal).
//!
//! # What the example shows
//!
//! * Anything with a file descriptor the OS can poll (pipes, FIFOs,
//!   terminals, eventfd, timerfd, inotify, sockets made by other libraries)
//!   can join an nbio event loop. Implementing [`nbio::event::Source`] is
//!   the whole job, and [`nbio::unix::SourceFd`] does it for a borrowed raw
//!   fd: the three methods just build a `SourceFd` and forward the call.
//! * `register`, `reregister` (here: a new token, to show that events then
//!   carry it) and `deregister` all go through those forwarding methods.
//! * The type owns its fd, and must be deregistered *before* the fd is
//!   closed. The reason is that a registration belongs to the selector, not
//!   to the fd: with epoll it lives as long as the open file (a `dup` of the
//!   fd keeps it, and its events, alive after our `close`), and a
//!   `poll(2)`-style backend keeps a table keyed by fd *number*, so a new
//!   file that reuses the number would inherit a stale entry. The type below
//!   therefore has a `close(self, &Registry)` method that does both in the
//!   right order. (An alternative is to keep a `Registry::try_clone()` in
//!   the type and deregister in `Drop`.)
//! * Like every nbio source, readiness is edge-triggered: after an event,
//!   read until `WouldBlock`, or the next event may never come.

#[cfg(unix)]
fn main() -> std::io::Result<()> {
    imp::main()
}

#[cfg(not(unix))]
fn main() {
    println!("this example registers a raw file descriptor: it runs on Unix only");
}

#[cfg(unix)]
mod imp {
    use nbio::event::Source;
    use nbio::unix::SourceFd;
    use nbio::{Events, Interest, Poll, Registry, Token};
    use std::io::{self, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    const FIRST_TOKEN: Token = Token(10);
    const SECOND_TOKEN: Token = Token(11);
    const MESSAGES: usize = 3;

    /// The read end of a non-blocking pipe. It owns the fd: dropping it
    /// closes the fd (through `OwnedFd`).
    #[derive(Debug)]
    pub struct PipeReader {
        fd: OwnedFd,
    }

    impl PipeReader {
        /// Reads into `buf`. Because the fd is non-blocking, an empty pipe
        /// gives `WouldBlock` instead of waiting; `Ok(0)` means the write end
        /// has been closed and everything has been read.
        pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the
            // whole call, and `self.fd` is an open fd that we own.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }

        /// Deregisters, then closes the fd: the order that matters (see the
        /// module documentation).
        pub fn close(mut self, registry: &Registry) -> io::Result<()> {
            registry.deregister(&mut self)?;
            drop(self); // `OwnedFd` closes the fd here
            Ok(())
        }
    }

    /// The whole of what makes `PipeReader` pollable: each method borrows the
    /// raw fd in a `SourceFd` and forwards the call to it. `Registry`'s
    /// `register`, `reregister` and `deregister` end up here.
    impl Source for PipeReader {
        fn register(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            SourceFd(&self.fd.as_raw_fd()).register(registry, token, interests)
        }

        fn reregister(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            SourceFd(&self.fd.as_raw_fd()).reregister(registry, token, interests)
        }

        fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
            SourceFd(&self.fd.as_raw_fd()).deregister(registry)
        }
    }

    /// Creates a pipe: a non-blocking read end for the event loop, and a
    /// blocking write end (as a `File`) for the writer thread. Both are
    /// close-on-exec.
    fn pipe() -> io::Result<(PipeReader, std::fs::File)> {
        let mut fds: [libc::c_int; 2] = [-1, -1];

        // `pipe2` creates both ends with their flags in one step, so no
        // other thread's `fork` + `exec` can ever see them without
        // close-on-exec. Most Unixes have it; macOS does not.
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "illumos",
            target_os = "solaris",
        ))]
        // SAFETY: `fds` is valid for writes of two `c_int`s.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        #[cfg(not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "illumos",
            target_os = "solaris",
        )))]
        // SAFETY: `fds` is valid for writes of two `c_int`s.
        let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: on success both fds are newly opened and owned by nobody
        // else; each `OwnedFd` becomes the sole owner of one of them.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

        // Without `pipe2`, set close-on-exec afterwards.
        #[cfg(not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "illumos",
            target_os = "solaris",
        )))]
        for fd in [&read_end, &write_end] {
            // SAFETY: `fd` is open (we own it); F_SETFD takes an int flag.
            if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }

        // Only the read end is polled, so only it is made non-blocking: the
        // writer thread is happy to block when the pipe is full.
        let fd = read_end.as_raw_fd();
        // SAFETY: `fd` is open (owned by `read_end`); F_GETFL takes no
        // argument.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above; F_SETFL takes an int of flags.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }

        Ok((PipeReader { fd: read_end }, std::fs::File::from(write_end)))
    }

    pub fn main() -> io::Result<()> {
        let (mut reader, mut writer) = pipe()?;
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(16);

        // `Registry::register` calls `PipeReader::register`, which forwards
        // to `SourceFd`.
        poll.registry()
            .register(&mut reader, FIRST_TOKEN, Interest::READABLE)?;
        println!("pipe reader registered with {FIRST_TOKEN:?}");
        io::stdout().flush()?;

        // The other end: a thread writing a line now and then, then closing
        // the pipe by dropping its end. After the first line it waits until
        // the event loop has moved to its second token, so that every run
        // prints the same story.
        let (moved_tx, moved_rx) = mpsc::channel::<()>();
        let writer_thread = thread::spawn(move || -> io::Result<()> {
            for i in 0..MESSAGES {
                writer.write_all(format!("message {i}\n").as_bytes())?;
                if i == 0 {
                    // An error means the reader is gone: just stop writing.
                    let _ = moved_rx.recv();
                }
                thread::sleep(Duration::from_millis(20));
            }
            Ok(())
        });

        let mut received = Vec::new();
        let mut reregistered = false;
        let mut eof = false;
        while !eof {
            match poll.poll(&mut events, Some(Duration::from_secs(10))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if events.is_empty() {
                // Never wait forever on a thread that might have died.
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no data for 10 s"));
            }
            for event in events.iter() {
                println!(
                    "event for {:?}: readable={} read_closed={}",
                    event.token(),
                    event.is_readable(),
                    event.is_read_closed()
                );
                // Edge-triggered: drain the pipe.
                let mut buf = [0u8; 4096];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            println!("read {n} bytes: {:?}", String::from_utf8_lossy(&buf[..n]));
                            received.extend_from_slice(&buf[..n]);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            // After the first data, move the registration to a new token:
            // `Registry::reregister` goes through `PipeReader::reregister`,
            // and the next events carry the new token.
            if !reregistered && !eof {
                poll.registry()
                    .reregister(&mut reader, SECOND_TOKEN, Interest::READABLE)?;
                println!("pipe reader reregistered with {SECOND_TOKEN:?}");
                reregistered = true;
                let _ = moved_tx.send(());
            }
        }

        // Deregister first, then close: `close` does both, in that order.
        reader.close(poll.registry())?;
        println!("pipe reader deregistered and closed");
        writer_thread.join().expect("writer thread panicked")?;
        println!(
            "received {} bytes in all: {:?}",
            received.len(),
            String::from_utf8_lossy(&received)
        );
        Ok(())
    }
}
