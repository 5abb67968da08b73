//! `Poll` (owns the OS selector and waits for events) and `Registry`
//! (registers sources with it, from any thread).

use crate::{event, sys, Events, Interest, Token};
use std::time::Duration;
use std::{fmt, io};

/// Waits for readiness events on registered [`Source`](event::Source)s.
///
/// `Poll` owns the OS selector (an epoll instance on Linux). Sources are
/// registered through its [`Registry`]; [`Poll::poll`] blocks until at least
/// one of them is ready or the timeout expires.
///
/// Readiness is edge-triggered: after an event for a source, perform the
/// operation until it returns [`WouldBlock`](io::ErrorKind::WouldBlock);
/// until then no further event for that readiness is guaranteed. Events may
/// be spurious, so every operation must tolerate `WouldBlock`.
///
/// # Example
///
/// ```
/// # #[cfg(all(feature = "os-poll", feature = "net"))]
/// # fn main() -> std::io::Result<()> {
/// use nbio::net::TcpStream;
/// use nbio::{Events, Interest, Poll, Token};
/// use std::time::Duration;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(16);
///
/// let mut stream = TcpStream::connect(listener.local_addr()?)?;
/// poll.registry().register(&mut stream, Token(0), Interest::WRITABLE)?;
///
/// loop {
///     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
///     if events.iter().any(|e| e.token() == Token(0) && e.is_writable()) {
///         break; // connected
///     }
/// }
/// # Ok(())
/// # }
/// # #[cfg(not(all(feature = "os-poll", feature = "net")))]
/// # fn main() {}
/// ```
pub struct Poll {
    registry: Registry,
}

/// Registers [`Source`](event::Source)s with a [`Poll`].
///
/// Obtained from [`Poll::registry`]; an independently owned handle to the same
/// selector comes from [`Registry::try_clone`]. All methods take `&self` and
/// may be called from any thread, including while another thread is blocked
/// in [`Poll::poll`]: the change applies to that call.
pub struct Registry {
    selector: sys::Selector,
    /// Debug builds: set once a `Waker` was created for this `Poll`; shared
    /// by every clone of the registry and never reset (as in mio).
    #[cfg(debug_assertions)]
    has_waker: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Debug builds: identifies the `Poll` this registry belongs to (shared by
    /// clones), so sources can detect use with a different `Poll`.
    #[cfg(debug_assertions)]
    id: usize,
}

impl Poll {
    cfg_os_poll! {
        /// Creates a new `Poll` backed by a fresh OS selector (one
        /// `epoll_create1(EPOLL_CLOEXEC)` on Linux).
        ///
        /// # Errors
        ///
        /// Returns the OS error if the selector cannot be created, for
        /// instance when the process is out of file descriptors.
        pub fn new() -> io::Result<Poll> {
            sys::Selector::new().map(|selector| Poll {
                registry: Registry {
                    selector,
                    #[cfg(debug_assertions)]
                    has_waker: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
                    #[cfg(debug_assertions)]
                    id: next_registry_id(),
                },
            })
        }
    }

    /// The registry used to register sources with this `Poll`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Waits for readiness events, filling `events`.
    ///
    /// `events` is cleared first and receives at most
    /// [`events.capacity()`](Events::capacity) events; any others are
    /// returned by the next call. With `timeout = None` the call blocks until
    /// an event arrives; `Some(Duration::ZERO)` only collects what is ready.
    /// A non-zero timeout is rounded **up** to the selector's granularity (1
    /// ms for `epoll_wait`), never down to zero, and very large timeouts
    /// (up to `Duration::MAX`) are clamped rather than overflowing. An expired
    /// timeout returns `Ok(())` with `events` empty.
    ///
    /// Polling with nothing registered and no timeout sleeps until a signal
    /// arrives.
    ///
    /// # Errors
    ///
    /// * [`Interrupted`](io::ErrorKind::Interrupted) when a signal interrupts
    ///   the wait. It is not retried, so signal handlers can break the loop;
    ///   simply poll again to continue.
    /// * [`InvalidInput`](io::ErrorKind::InvalidInput) when `events` has a
    ///   capacity of zero.
    /// * [`Unsupported`](io::ErrorKind::Unsupported) without the `os-poll`
    ///   feature.
    #[inline]
    pub fn poll(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.registry.selector.select(events.sys(), timeout)
    }
}

impl fmt::Debug for Poll {
    fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt.debug_struct("Poll").finish()
    }
}

impl Registry {
    /// Registers `source` for readiness events with `token` and `interests`.
    ///
    /// Events for the source carry `token`. A source belongs to the first
    /// `Poll` it is registered with for its whole life; registering it again
    /// without deregistering first is an error.
    ///
    /// # Errors
    ///
    /// * nbio's sources already registered return
    ///   [`AlreadyExists`](io::ErrorKind::AlreadyExists) in debug builds
    ///   (`"I/O source already registered with a `Registry`"`); in release
    ///   builds epoll reports `EEXIST`, which is the same kind.
    /// * Files epoll cannot watch (regular files, directories) return the OS
    ///   error `EPERM` unchanged.
    /// * A closed or invalid file descriptor returns `EBADF`.
    ///
    /// # Example
    ///
    /// ```
    /// # #[cfg(all(feature = "os-poll", feature = "net"))]
    /// # fn main() -> std::io::Result<()> {
    /// use nbio::net::TcpListener;
    /// use nbio::{Interest, Poll, Token};
    ///
    /// let poll = Poll::new()?;
    /// let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
    /// poll.registry().register(&mut listener, Token(0), Interest::READABLE)?;
    /// let err = poll.registry()
    ///     .register(&mut listener, Token(1), Interest::READABLE)
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// # Ok(())
    /// # }
    /// # #[cfg(not(all(feature = "os-poll", feature = "net")))]
    /// # fn main() {}
    /// ```
    #[inline]
    pub fn register<S>(&self, source: &mut S, token: Token, interests: Interest) -> io::Result<()>
    where
        S: event::Source + ?Sized,
    {
        trace!(
            "registering event source with poller: token={:?}, interests={:?}",
            token,
            interests
        );
        source.register(self, token, interests)
    }

    /// Replaces the token and interests of a registered `source`.
    ///
    /// The new values fully replace the old ones, and readiness that is
    /// already present for the new interests is reported again.
    ///
    /// # Errors
    ///
    /// [`NotFound`](io::ErrorKind::NotFound) when the source is not
    /// registered (debug builds: `"I/O source not registered with
    /// `Registry`"`; release builds: epoll's `ENOENT`).
    #[inline]
    pub fn reregister<S>(&self, source: &mut S, token: Token, interests: Interest) -> io::Result<()>
    where
        S: event::Source + ?Sized,
    {
        trace!(
            "reregistering event source with poller: token={:?}, interests={:?}",
            token,
            interests
        );
        source.reregister(self, token, interests)
    }

    /// Removes `source` from the selector.
    ///
    /// Once this returns, no `poll` that starts afterwards reports the
    /// source's token. The source stays usable for I/O and may be registered
    /// again with the same `Poll`.
    ///
    /// # Errors
    ///
    /// [`NotFound`](io::ErrorKind::NotFound) when the source is not
    /// registered.
    #[inline]
    pub fn deregister<S>(&self, source: &mut S) -> io::Result<()>
    where
        S: event::Source + ?Sized,
    {
        trace!("deregistering event source from poller");
        source.deregister(self)
    }

    /// Creates a new, independently owned handle to the same selector.
    ///
    /// Sources registered through the clone are reported by the original
    /// `Poll`. Useful to hand registration rights to other threads.
    ///
    /// # Errors
    ///
    /// The OS error if the selector handle cannot be duplicated (`EMFILE`).
    pub fn try_clone(&self) -> io::Result<Registry> {
        self.selector.try_clone().map(|selector| Registry {
            selector,
            #[cfg(debug_assertions)]
            has_waker: std::sync::Arc::clone(&self.has_waker),
            #[cfg(debug_assertions)]
            id: self.id,
        })
    }

    /// Debug builds: records that this `Poll` has a `Waker`, and panics if it
    /// already had one (mio's rule and exact message).
    #[cfg(debug_assertions)]
    pub(crate) fn register_waker(&self) {
        use std::sync::atomic::Ordering;
        assert!(
            !self.has_waker.swap(true, Ordering::AcqRel),
            "Only a single `Waker` can be active per `Poll` instance"
        );
    }

    /// Debug builds: the identity of the `Poll` this registry belongs to
    /// (never zero).
    #[cfg(debug_assertions)]
    #[cfg_attr(
        not(any(feature = "net", all(unix, feature = "os-ext"))),
        allow(dead_code)
    )]
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// The OS selector behind this registry.
    pub(crate) fn selector(&self) -> &sys::Selector {
        &self.selector
    }
}

/// Debug builds: a process-unique, non-zero identity for a new `Poll`.
#[cfg(all(debug_assertions, feature = "os-poll"))]
fn next_registry_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl fmt::Debug for Registry {
    fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt.debug_struct("Registry").finish()
    }
}

cfg_selector_fd! {
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

    impl AsRawFd for Poll {
        /// The selector's file descriptor (the epoll instance).
        fn as_raw_fd(&self) -> RawFd {
            self.registry.selector.as_raw_fd()
        }
    }

    impl AsRawFd for Registry {
        /// The selector's file descriptor (the epoll instance).
        fn as_raw_fd(&self) -> RawFd {
            self.selector.as_raw_fd()
        }
    }

    impl AsFd for Registry {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.selector.as_fd()
        }
    }
}
