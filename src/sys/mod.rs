//! Platform backends, chosen here and nowhere else.
//!
//! Every backend provides the same small internal interface, which the
//! portable code in `src/` uses:
//!
//! * `Selector` — `new`, `try_clone`, `select(&mut Events, Option<Duration>)`,
//!   `register`/`reregister`/`deregister` of a raw fd with a token and
//!   interests;
//! * `Event`, `Events` and the `event` accessors (`token`, `is_readable`, …)
//!   that read the OS's own event record;
//! * `Waker` — `new(&Selector, Token)` and `wake`;
//! * `IoSourceState` — per-source state owned by every `IoSource`, with the
//!   `do_io(direction, f, io)` hook that selectors emulating edge triggering
//!   use to re-arm the direction that returned `WouldBlock` (a no-op on
//!   epoll, which keeps no per-source state at all);
//! * socket and pipe constructors (`net`, `pipe`) and `SourceFd`.
//!
//! | build (with `os-poll`)            | selector / waker                         |
//! |-----------------------------------|------------------------------------------|
//! | Linux, Android                    | epoll + eventfd                          |
//! | macOS, iOS, FreeBSD, DragonFly    | kqueue + `EVFILT_USER`                   |
//! | NetBSD, OpenBSD                   | kqueue + pipe                            |
//! | illumos, Solaris                  | event ports + `port_send`                |
//! | other Unix, `--cfg nbio_force_poll` | poll(2) + eventfd/pipe notifier        |
//! | Windows                           | IOCP + AFD polls + posted packets        |
//! | any build without `os-poll`       | `shell/`: every call is `Unsupported`    |
//!
//! The operating-system lists behind this table live in the backend macros
//! of `src/macros.rs` (`cfg_epoll!`, `cfg_kqueue!`, …).

#[cfg(not(any(unix, windows)))]
compile_error!("nbio supports Unix and Windows");

#[cfg(unix)]
mod unix;
#[cfg(all(unix, feature = "os-ext"))]
pub use self::unix::SourceFd;
#[cfg(unix)]
#[allow(unused_imports)] // nothing is used without `os-poll` and `net`
pub(crate) use self::unix::*;

#[cfg(windows)]
mod windows;
#[cfg(all(windows, feature = "os-ext"))]
pub use self::windows::NamedPipe;
#[cfg(windows)]
#[allow(unused_imports)] // nothing is used without `os-poll` and `net`
pub(crate) use self::windows::*;

#[cfg(not(feature = "os-poll"))]
mod shell;
#[cfg(not(feature = "os-poll"))]
pub(crate) use self::shell::{event, Event, Events, Selector, Waker};
