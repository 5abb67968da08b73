//! # Cargo features
//!
//! This module only documents nbio's Cargo features; it has no items.
//!
//! | feature   | default | what it turns on |
//! |-----------|---------|------------------|
//! | `os-poll` | **yes** | The OS selector behind [`Poll`](crate::Poll), [`Registry`](crate::Registry) and [`Waker`](crate::Waker). Without it `Poll::new` does not exist and other OS calls return [`Unsupported`](std::io::ErrorKind::Unsupported) errors. |
//! | `net`     | **yes** | The [`net`](crate::net) module: TCP, UDP and Unix-domain sockets. |
//! | `os-ext`  | no      | `unix::SourceFd` and `unix::pipe` on Unix, `windows::NamedPipe` on Windows. Implies `os-poll`. |
//! | `log`     | no      | Traces every register, reregister and deregister call through the `log` crate. |
//!
//! The names and meanings are mio's, so code written for mio selects the same
//! functionality. The only difference is the default set: mio enables only
//! `log`, nbio enables `os-poll` and `net` so that a plain dependency on
//! nbio is immediately useful. Code that depends on nbio with
//! `default-features = false` and lists features explicitly (as tokio does
//! for mio) behaves identically with either crate.
