//! nbio: low-level, cross-platform, non-blocking I/O.
//!
//! nbio wraps the operating system's readiness notification facility (epoll
//! on Linux and Android, kqueue on Apple systems and the BSDs, event ports on
//! illumos and Solaris, IOCP with AFD on Windows, poll(2) elsewhere) behind a
//! small, allocation-free API that is a drop-in replacement for [mio] 1.x:
//! the same module paths, types, signatures and semantics. Rename the
//! dependency and existing mio code compiles and behaves the same.
//!
//! New here? Read the [`guide`]: the event loop, edge triggering, wakers,
//! timeouts, drop order, portability rules and how to move from mio (tokio
//! included).
//!
//! The moving parts:
//!
//! * [`Poll`] owns the OS selector; [`Poll::poll`] blocks until sources are
//!   ready and fills an [`Events`] buffer.
//! * [`Registry`] (borrowed from a `Poll`, or cloned with
//!   [`Registry::try_clone`]) registers [`event::Source`]s with a [`Token`]
//!   and an [`Interest`].
//! * [`Waker`] wakes a blocked `poll` from another thread.
//! * [`net`] holds non-blocking TCP, UDP and Unix-domain sockets.
//!
//! Readiness is **edge-triggered**: after an event, perform the operation until
//! it returns [`WouldBlock`](std::io::ErrorKind::WouldBlock), or no further
//! event is guaranteed.
//!
//! # Example
//!
//! ```
//! # #[cfg(all(feature = "os-poll", feature = "net"))]
//! # fn main() -> std::io::Result<()> {
//! use nbio::net::{TcpListener, TcpStream};
//! use nbio::{Events, Interest, Poll, Token};
//! use std::time::Duration;
//!
//! const SERVER: Token = Token(0);
//! const CLIENT: Token = Token(1);
//!
//! let mut poll = Poll::new()?;
//! let mut events = Events::with_capacity(128);
//!
//! let mut server = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//! poll.registry().register(&mut server, SERVER, Interest::READABLE)?;
//!
//! let mut client = TcpStream::connect(server.local_addr()?)?;
//! poll.registry().register(&mut client, CLIENT, Interest::READABLE | Interest::WRITABLE)?;
//!
//! let (mut accepted, mut connected) = (false, false);
//! while !(accepted && connected) {
//!     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//!     for event in events.iter() {
//!         match event.token() {
//!             SERVER => accepted |= server.accept().is_ok(),
//!             CLIENT if event.is_writable() => connected = true,
//!             _ => {}
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "os-poll", feature = "net")))]
//! # fn main() {}
//! ```
//!
//! # Features
//!
//! | feature   | default | enables |
//! |-----------|---------|---------|
//! | `os-poll` | yes     | the OS selector behind `Poll`, `Registry` and `Waker` |
//! | `net`     | yes     | the [`net`] module |
//! | `os-ext`  | no      | `unix::SourceFd` and `unix::pipe`; `windows::NamedPipe` (implies `os-poll`) |
//! | `log`     | no      | tracing of registrations through the `log` crate |
//!
//! Without `os-poll` the crate still compiles and every type exists, but
//! operations that need the OS selector return an
//! [`Unsupported`](std::io::ErrorKind::Unsupported) error.
//!
//! [mio]: https://docs.rs/mio/1
#![deny(unsafe_op_in_unsafe_fn)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

mod interest;
mod poll;
mod sys;
mod token;
mod waker;

pub mod event;
pub mod features;
pub mod guide;

cfg_io_source! {
    mod io_source;
}

cfg_net! {
    pub mod net;
}

pub use event::Events;
pub use interest::Interest;
pub use poll::{Poll, Registry};
pub use token::Token;
pub use waker::Waker;

cfg_os_ext! {
    /// Unix-only extensions: registering raw file descriptors and
    /// non-blocking pipes.
    pub mod unix {
        pub use crate::sys::SourceFd;

        /// Non-blocking Unix pipes that can be registered with a
        /// [`Poll`](crate::Poll).
        ///
        /// See [`new`](crate::unix::pipe::new) to create a pipe.
        pub mod pipe {
            pub use crate::sys::pipe::{new, Receiver, Sender};
        }
    }
}

cfg_windows_os_ext! {
    /// Windows-only extensions: non-blocking named pipes.
    pub mod windows {
        pub use crate::sys::NamedPipe;
    }
}

/// Compiles the README's code blocks as doctests, so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
