//! `Events`: the fixed-capacity buffer `Poll::poll` fills.

use crate::event::Event;
use crate::sys;
use std::fmt;

/// A buffer of readiness events, filled by [`Poll::poll`](crate::Poll::poll).
///
/// The capacity is fixed at creation and bounds how many events one `poll`
/// returns; the rest are returned by the next call. Polling never allocates.
///
/// # Example
///
/// ```
/// use nbio::Events;
///
/// let events = Events::with_capacity(256);
/// assert_eq!(events.capacity(), 256);
/// assert!(events.is_empty());
/// assert_eq!(events.iter().count(), 0);
/// ```
pub struct Events {
    inner: sys::Events,
}

/// Iterator over the [`Event`]s in an [`Events`] buffer.
///
/// Created by [`Events::iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    inner: &'a Events,
    pos: usize,
}

impl Events {
    /// Creates a buffer for at most `capacity` events per poll.
    ///
    /// A capacity of zero is accepted here, but `poll` with it returns an
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) error.
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            inner: sys::Events::with_capacity(capacity),
        }
    }

    /// The maximum number of events one `poll` returns.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// `true` when the buffer holds no events.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Iterates over the events.
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self,
            pos: 0,
        }
    }

    /// Removes all events (`poll` does this itself before filling).
    #[inline]
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    pub(crate) fn sys(&mut self) -> &mut sys::Events {
        &mut self.inner
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Event;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let ret = self
            .inner
            .inner
            .get(self.pos)
            .map(Event::from_sys_event_ref);
        self.pos += 1;
        ret
    }

    // Matches mio: the hint and `count` report the total number of events in
    // the buffer, not the number left.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let size = self.inner.inner.len();
        (size, Some(size))
    }

    fn count(self) -> usize {
        self.inner.inner.len()
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self).finish()
    }
}
