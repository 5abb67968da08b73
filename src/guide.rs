//! # The nbio guide
//!
//! This module is documentation only: one page on building an event loop on
//! nbio, the rules that keep it correct on every operating system, and what
//! nbio does differently from (and in addition to) mio.
//!
//! 1. [The event loop](#1-the-event-loop)
//! 2. [Tokens](#2-tokens)
//! 3. [Edge triggering and `WouldBlock`](#3-edge-triggering-and-wouldblock)
//! 4. [Wakers](#4-wakers)
//! 5. [Timeouts](#5-timeouts)
//! 6. [Deregistration and drop order](#6-deregistration-and-drop-order)
//! 7. [Portability rules](#7-portability-rules)
//! 8. [How each OS is implemented](#8-how-each-os-is-implemented)
//! 9. [Platform support](#9-platform-support)
//! 10. [Coming from mio](#10-coming-from-mio)
//! 11. [Feature flags](#11-feature-flags)
//!
//! ## 1. The event loop
//!
//! A [`Poll`](crate::Poll) owns the operating system's selector. You
//! register *sources* (sockets, pipes, raw file descriptors) with its
//! [`Registry`](crate::Registry), each under a [`Token`](crate::Token) and an
//! [`Interest`](crate::Interest); then you call
//! [`poll`](crate::Poll::poll) in a loop. Each call blocks until something
//! is ready (or the timeout passes) and refills an
//! [`Events`](crate::Events) buffer, which you allocate once and reuse:
//! nothing in the loop allocates.
//!
//! ```
//! # #[cfg(all(feature = "os-poll", feature = "net"))]
//! # fn main() -> std::io::Result<()> {
//! use nbio::net::TcpListener;
//! use nbio::{Events, Interest, Poll, Token};
//! use std::io::ErrorKind;
//! use std::time::Duration;
//!
//! const LISTENER: Token = Token(0);
//!
//! let mut poll = Poll::new()?;
//! let mut events = Events::with_capacity(1024);
//! let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//! poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
//! let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
//!
//! let mut accepted = 0;
//! while accepted == 0 {
//!     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//!     for event in &events {
//!         if event.token() == LISTENER {
//!             // Drain: accept until the kernel says there is nothing left.
//!             loop {
//!                 match listener.accept() {
//!                     Ok((_stream, _addr)) => accepted += 1,
//!                     Err(e) if e.kind() == ErrorKind::WouldBlock => break,
//!                     Err(e) => return Err(e),
//!                 }
//!             }
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "os-poll", feature = "net")))]
//! # fn main() {}
//! ```
//!
//! `poll` returns `Ok` with an empty buffer when the timeout expires, and an
//! [`Interrupted`](std::io::ErrorKind::Interrupted) error when a signal
//! arrives: call it again. The repository's `examples/` show complete
//! programs, from a small echo server to `echo_demo`, a server and a load
//! generator with live statistics.
//!
//! ## 2. Tokens
//!
//! A token is a `usize` you choose; events carry it back, and it is the only
//! way to tell which source an event is for. Common choices are an index
//! into a slab of connections or a constant for fixed sources. Reusing a
//! token for a new connection is fine once the old source is deregistered
//! (or dropped) — but an event for the old source may already be sitting in
//! the `Events` you are iterating, so check that a connection still exists
//! before acting on its event. [`reregister`](crate::Registry::reregister)
//! changes a source's token and interest in place.
//!
//! ## 3. Edge triggering and `WouldBlock`
//!
//! Readiness is **edge-triggered**: an event says a source *became* ready.
//! After a readable event, read until the call returns
//! [`WouldBlock`](std::io::ErrorKind::WouldBlock); after a writable event,
//! write until it does (or until you have nothing left to write). Stop
//! earlier and you may never hear about that source again, because nothing
//! changes that would produce a new edge. The same holds for `accept` and
//! for `recv` on datagram sockets.
//!
//! Events can also be **spurious**: a readable event does not promise that
//! the next read succeeds. Every operation must tolerate `WouldBlock`. On
//! the backends that emulate edges (poll(2), event ports, Windows), the
//! `WouldBlock` itself is what re-arms the source in that direction, so
//! swallowing it inside a helper that retries forever defeats the loop.
//!
//! The `is_read_closed`, `is_write_closed`, `is_error` and `is_priority`
//! flags of an [`Event`](crate::event::Event) are hints whose exact meaning
//! varies by OS; readable and writable are the portable signals. A read
//! returning `Ok(0)` is the reliable end-of-stream.
//!
//! ## 4. Wakers
//!
//! A [`Waker`](crate::Waker) lets another thread interrupt a blocked `poll`:
//! it produces a readable event with the waker's token. Use one waker per
//! `Poll` (debug builds panic on a second one, as mio's do), and
//! keep it alive as long as you wake through it.
//!
//! Wakes **coalesce**: several wakes before the loop sees the event may
//! produce a single event, so the event means "look at your queue", never
//! "one item arrived". nbio makes that cheap: a wake while one is already
//! pending makes no system call (with one bounded exception, below), and a
//! wake after the loop has received the previous wake event always
//! produces a new one. On Linux and Android, while wakes come one at a
//! time (each delivered, and the loop back in `poll`, before the next:
//! nothing to merge), every wake simply writes, as mio's do, which keeps
//! the wake's path free of a read of what the poller last wrote; a burst
//! after such a spell makes up to about 32 writes before wakes merge
//! again. When `poll` has just reported a merged wake, the next `poll`
//! (with no timeout, or one of 1 ms or more) first watches for up to 2 µs
//! for a further wake, so that a thread waking in a loop keeps the poller
//! busy rather than asleep; such a wait may end up to 2 µs after its
//! timeout.
//!
//! ```
//! # #[cfg(feature = "os-poll")]
//! # fn main() -> std::io::Result<()> {
//! use nbio::{Events, Poll, Token, Waker};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! const WAKER: Token = Token(10);
//! let mut poll = Poll::new()?;
//! let mut events = Events::with_capacity(8);
//! let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
//!
//! let remote = Arc::clone(&waker);
//! let worker = std::thread::spawn(move || {
//!     for _ in 0..100 {
//!         remote.wake().expect("wake failed"); // all but the first are free
//!     }
//! });
//! poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//! assert!(events.iter().any(|e| e.token() == WAKER));
//! worker.join().unwrap();
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "os-poll"))]
//! # fn main() {}
//! ```
//!
//! ## 5. Timeouts
//!
//! `poll(events, Some(d))` never returns before `d` has elapsed unless an
//! event arrives, and `None` waits indefinitely. How closely the wake-up
//! follows `d` depends on the kernel:
//!
//! * Linux 5.11 and later: nanosecond timeouts through `epoll_pwait2`
//!   (probed once; older kernels and seccomp filters that refuse it fall
//!   back to `epoll_wait`). The kernel may end a wait up to the thread's
//!   timer slack late (50 µs by default, prctl(2) `PR_SET_TIMERSLACK`);
//!   nbio asks for waits of up to 1,000 × that slack (50 ms) one slack
//!   early and waits again for the rest if the kernel ends them before the
//!   deadline, so they end at the deadline plus the machine's wake-up time.
//!   Longer waits may end up to 0.1 % of their length late.
//! * Older Linux, Android, the poll(2) fallback and Windows: whole
//!   milliseconds, always rounded **up** (a 100 µs wait sleeps 1 ms; it never
//!   becomes a zero-timeout busy loop).
//! * kqueue and event ports: nanosecond `timespec` timeouts.
//!
//! ## 6. Deregistration and drop order
//!
//! Dropping one of nbio's sockets or pipes removes it from its `Poll`; you
//! need not deregister first. Deregister explicitly when you keep the source
//! but want no more events, or before moving it to another `Poll` (a source
//! belongs to one `Poll` at a time). After `deregister` returns, no new
//! event for the source is produced, though one may already be in the
//! `Events` being iterated.
//!
//! Two traps:
//!
//! * **Duplicated descriptors.** On epoll a registration belongs to the
//!   open file description, not the fd: if the fd was `dup`ed (or inherited
//!   by a child process), closing your copy leaves the registration alive
//!   and events keep coming under the old token. Deregister before dropping
//!   such a source.
//! * **Raw fds** registered through `unix::SourceFd` are not owned by nbio:
//!   deregister them before you close them.
//!
//! ## 7. Portability rules
//!
//! Code that follows these rules behaves the same on every backend:
//!
//! * Always drain to `WouldBlock` (section 3); never assume one event per
//!   message, or one message per event.
//! * Treat only readable and writable as portable; use the other flags as
//!   hints and confirm with the operation itself.
//! * Register a source with one `Poll` at a time, and deregister it before
//!   registering it elsewhere.
//! * Expect coalesced wakes and coalesced readiness.
//! * Do not rely on sub-millisecond timeouts where the table above says
//!   milliseconds.
//! * Keep platform-specific code (`SourceFd`, `pipe`, `NamedPipe`) behind
//!   `cfg(unix)` / `cfg(windows)`.
//!
//! ## 8. How each OS is implemented
//!
//! | OS | readiness | edge triggering | waker |
//! |----|-----------|-----------------|-------|
//! | Linux, Android | `epoll` | native (`EPOLLET`) | `eventfd` |
//! | macOS, iOS, FreeBSD, DragonFly | `kqueue` | native (`EV_CLEAR`) | `EVFILT_USER` |
//! | NetBSD, OpenBSD | `kqueue` | native (`EV_CLEAR`) | a registered pipe |
//! | illumos, Solaris | event ports | emulated: re-associate after `WouldBlock` | `port_send` |
//! | Windows | IOCP + `IOCTL_AFD_POLL` | emulated: new poll request after `WouldBlock` | `PostQueuedCompletionStatus` |
//! | other Unix, or `--cfg nbio_force_poll` | `poll(2)` | emulated: re-arm after `WouldBlock` | `eventfd` or a pipe |
//!
//! Each backend lives in its own module under `src/sys/` with design notes
//! at the top of the file (man page references and the kernel quirks it
//! handles).
//!
//! ## 9. Platform support
//!
//! | target | status |
//! |--------|--------|
//! | x86_64 Linux (glibc) | every test, debug and release, in CI; also with the poll(2) selector and the pipe waker forced |
//! | x86_64 Windows (gnu) | every test, debug and release, under Wine in CI; clippy for gnu and msvc |
//! | macOS, iOS, FreeBSD, NetBSD, illumos, Android, i686 and musl Linux | compile-checked in CI (`cargo clippy --all-targets -D warnings`, native selector and poll(2)) |
//! | OpenBSD, DragonFly, Solaris | built by hand only (no rustup standard library for CI) |
//!
//! ## 10. Coming from mio
//!
//! **Identical:** module paths, type names, signatures, trait
//! implementations and documented semantics of mio 1.x, checked
//! mechanically (`scripts/api-check` runs cargo-semver-checks against
//! mio 1.2.5, and a differential test suite runs the same scenarios on both
//! crates and compares what they observe). In debug builds nbio returns
//! mio's exact errors for registering a source twice or deregistering one
//! that is not registered.
//!
//! **What nbio adds:** sub-millisecond timeouts on Linux (section 5);
//! wakes that make no system call while one is pending (section 4);
//! `Unsupported` errors instead of panics when built without `os-poll`;
//! direction-aware re-arming on the emulating backends (a blocked read never
//! produces a writable event); `windows::NamedPipe` honours its registered
//! `Interest`.
//!
//! **Switching a program:** rename the dependency, or keep the name:
//!
//! ```toml
//! [dependencies]
//! mio = { package = "nbio", version = "0.1", features = ["os-ext"] }
//! ```
//!
//! **Switching a whole dependency tree, tokio included:** nbio's repository
//! has `compat/mio`, a crate *named* `mio` (version `1.2.5+nbio`) that only
//! re-exports nbio. Patch crates.io's mio with it:
//!
//! ```toml
//! [patch.crates-io]
//! mio = { path = "path/to/nbio/compat/mio" }
//! # or: mio = { git = "<nbio's repository URL>" }
//! ```
//!
//! Cargo only prints a warning when a patch is not used, so check it:
//! `cargo tree -i mio@1.2.5+nbio` must show your tree, and `Cargo.lock` must
//! have no `[[patch.unused]]` section. `compat/tokio-check` in the
//! repository runs tokio's networking, process, signal and timer APIs this
//! way in CI.
//!
//! ## 11. Feature flags
//!
//! See [`features`](crate::features): mio's names and meanings (`os-poll`,
//! `net`, `os-ext`, `log`); nbio turns on `os-poll` and `net` by default.
