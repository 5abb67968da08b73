//! # Getting started with nbio
//!
//! This module is documentation only. It walks through the shape of an event
//! loop built on nbio.
//!
//! ## 1. Create a `Poll` and an `Events` buffer
//!
//! [`Poll`](crate::Poll) owns the operating system's selector.
//! [`Events`](crate::Events) is a fixed-size buffer that every call to
//! `poll` refills; allocate it once and reuse it.
//!
//! ```
//! # #[cfg(feature = "os-poll")]
//! # fn main() -> std::io::Result<()> {
//! use nbio::{Events, Poll};
//! let poll = Poll::new()?;
//! let events = Events::with_capacity(1024);
//! # drop((poll, events));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "os-poll"))]
//! # fn main() {}
//! ```
//!
//! ## 2. Register sources
//!
//! Anything implementing [`event::Source`](crate::event::Source) — nbio's
//! sockets and pipes, or a raw fd wrapped in `unix::SourceFd` — can be
//! registered with the [`Registry`](crate::Registry) under a
//! [`Token`](crate::Token) of your choice and an
//! [`Interest`](crate::Interest) (readable, writable or both). The token is
//! how you recognise the source when its events arrive; tokens are plain
//! `usize`s, so an index into a slab or a pointer works.
//!
//! ## 3. Poll and handle events
//!
//! `poll` blocks until at least one registered source is ready, then you
//! iterate the events and perform I/O. Readiness is **edge-triggered**:
//! after an event, keep reading (or writing, or accepting) until the call
//! returns [`WouldBlock`](std::io::ErrorKind::WouldBlock). Stop early and
//! you may never hear about that source again.
//!
//! ```
//! # #[cfg(all(feature = "os-poll", feature = "net"))]
//! # fn main() -> std::io::Result<()> {
//! use nbio::net::TcpListener;
//! use nbio::{Events, Interest, Poll, Token};
//! use std::io::ErrorKind;
//! use std::time::Duration;
//!
//! let mut poll = Poll::new()?;
//! let mut events = Events::with_capacity(1024);
//! let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//! poll.registry().register(&mut listener, Token(0), Interest::READABLE)?;
//! let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
//!
//! let mut accepted = 0;
//! while accepted == 0 {
//!     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//!     for event in &events {
//!         if event.token() == Token(0) {
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
//! ## 4. Wake the loop from other threads
//!
//! A [`Waker`](crate::Waker) (one per `Poll`) lets another thread interrupt
//! a blocked `poll`, for example after pushing work onto a queue the loop
//! owns.
//!
//! ## Rules worth remembering
//!
//! * Events can be spurious; every operation must tolerate `WouldBlock`.
//! * Only readable and writable are portable; the closed, error and
//!   priority flags are hints.
//! * Deregister a source before dropping it if its fd was duplicated.
//! * A signal interrupts `poll` with [`Interrupted`](std::io::ErrorKind::Interrupted);
//!   just call it again.
