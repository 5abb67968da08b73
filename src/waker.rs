//! `Waker`: wakes a `Poll` that is blocked in another thread.

use crate::{sys, Registry, Token};
use std::io;

/// Wakes a [`Poll`](crate::Poll) from any thread.
///
/// [`wake`](Waker::wake) makes the `Poll` the waker was created for report a
/// **readable** event carrying the waker's token. Several wakes before the
/// next `poll` may be merged into one event, but a wake that happens after the
/// previous wake event was delivered always produces a new one; no wake is
/// lost. Events are only delivered while the `Waker` is alive.
///
/// Create at most one `Waker` per `Poll` (share it with `Arc`); debug builds
/// panic on a second one, even after the first was dropped, as mio does.
///
/// On Linux the waker is an `eventfd` registered edge-triggered, so each wake
/// is a single `write` and the poller never has to drain anything.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "os-poll")]
/// # fn main() -> std::io::Result<()> {
/// use nbio::{Events, Poll, Token, Waker};
/// use std::sync::Arc;
/// use std::thread;
/// use std::time::Duration;
///
/// const WAKE: Token = Token(10);
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(8);
/// let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
///
/// let waker2 = Arc::clone(&waker);
/// let handle = thread::spawn(move || waker2.wake().expect("wake failed"));
///
/// loop {
///     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
///     if events.iter().any(|e| e.token() == WAKE && e.is_readable()) {
///         break;
///     }
/// }
/// handle.join().unwrap();
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "os-poll"))]
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct Waker {
    inner: sys::Waker,
}

impl Waker {
    /// Creates a waker that produces events with `token` on the `Poll` that
    /// owns `registry`.
    ///
    /// # Panics
    ///
    /// Debug builds panic with "Only a single `Waker` can be active per `Poll`
    /// instance" if this `Poll` already had a `Waker`.
    ///
    /// # Errors
    ///
    /// The OS error if the wake mechanism cannot be created (for instance
    /// `EMFILE`), or [`Unsupported`](io::ErrorKind::Unsupported) without the
    /// `os-poll` feature.
    pub fn new(registry: &Registry, token: Token) -> io::Result<Waker> {
        #[cfg(debug_assertions)]
        registry.register_waker();
        sys::Waker::new(registry.selector(), token).map(|inner| Waker { inner })
    }

    /// Wakes the `Poll`: its current or next `poll` call returns a readable
    /// event with this waker's token.
    ///
    /// # Errors
    ///
    /// The OS error if signalling fails, which should not happen in practice.
    pub fn wake(&self) -> io::Result<()> {
        self.inner.wake()
    }
}
