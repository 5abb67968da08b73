//! `Interest`: which kinds of readiness a registration asks for.

use std::num::NonZeroU8;
use std::{fmt, ops};

const READABLE: u8 = 0b0_0001;
const WRITABLE: u8 = 0b0_0010;
const AIO: u8 = 0b0_0100;
const LIO: u8 = 0b0_1000;
const PRIORITY: u8 = 0b1_0000;

/// The readiness a source is registered for.
///
/// An `Interest` is never empty. Combine values with `|` or [`Interest::add`].
///
/// # Example
///
/// ```
/// use nbio::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(format!("{:?}", both), "READABLE | WRITABLE");
/// assert_eq!(both.remove(Interest::WRITABLE), Some(Interest::READABLE));
/// assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
/// ```
#[derive(Copy, PartialEq, Eq, Clone, PartialOrd, Ord)]
pub struct Interest(NonZeroU8);

impl Interest {
    /// Interest in readable readiness.
    pub const READABLE: Interest = Interest(match NonZeroU8::new(READABLE) {
        Some(v) => v,
        None => unreachable!(),
    });

    /// Interest in writable readiness.
    pub const WRITABLE: Interest = Interest(match NonZeroU8::new(WRITABLE) {
        Some(v) => v,
        None => unreachable!(),
    });

    cfg_aio! {
    /// Interest in asynchronous I/O completion (kqueue `EVFILT_AIO`).
    pub const AIO: Interest = Interest(match NonZeroU8::new(AIO) {
        Some(v) => v,
        None => unreachable!(),
    });
    }

    cfg_lio! {
    /// Interest in list I/O completion (kqueue `EVFILT_LIO`).
    pub const LIO: Interest = Interest(match NonZeroU8::new(LIO) {
        Some(v) => v,
        None => unreachable!(),
    });
    }

    cfg_priority! {
    /// Interest in priority readiness: out-of-band data (`EPOLLPRI`).
    pub const PRIORITY: Interest = Interest(match NonZeroU8::new(PRIORITY) {
        Some(v) => v,
        None => unreachable!(),
    });
    }

    /// Returns the union of `self` and `other`; usable in `const` contexts.
    ///
    /// ```
    /// use nbio::Interest;
    /// const BOTH: Interest = Interest::READABLE.add(Interest::WRITABLE);
    /// assert!(BOTH.is_readable() && BOTH.is_writable());
    /// ```
    #[allow(clippy::should_implement_trait)]
    #[must_use = "this returns the result of the operation, without modifying the original"]
    pub const fn add(self, other: Interest) -> Interest {
        // `|` of two non-zero values is non-zero.
        match NonZeroU8::new(self.0.get() | other.0.get()) {
            Some(v) => Interest(v),
            None => self,
        }
    }

    /// Removes `other` from `self`; returns `None` when nothing would remain.
    ///
    /// ```
    /// use nbio::Interest;
    /// let both = Interest::READABLE | Interest::WRITABLE;
    /// assert_eq!(both.remove(Interest::READABLE), Some(Interest::WRITABLE));
    /// assert_eq!(Interest::WRITABLE.remove(Interest::WRITABLE), None);
    /// ```
    #[must_use = "this returns the result of the operation, without modifying the original"]
    pub fn remove(self, other: Interest) -> Option<Interest> {
        NonZeroU8::new(self.0.get() & !other.0.get()).map(Interest)
    }

    /// Whether readable interest is included.
    #[must_use]
    pub const fn is_readable(self) -> bool {
        self.0.get() & READABLE != 0
    }

    /// Whether writable interest is included.
    #[must_use]
    pub const fn is_writable(self) -> bool {
        self.0.get() & WRITABLE != 0
    }

    /// Whether AIO interest is included (always `false` where
    /// `Interest::AIO` does not exist).
    #[must_use]
    pub const fn is_aio(self) -> bool {
        self.0.get() & AIO != 0
    }

    /// Whether LIO interest is included (always `false` where
    /// `Interest::LIO` does not exist).
    #[must_use]
    pub const fn is_lio(self) -> bool {
        self.0.get() & LIO != 0
    }

    /// Whether priority interest is included (always `false` where
    /// `Interest::PRIORITY` does not exist).
    #[must_use]
    pub const fn is_priority(self) -> bool {
        self.0.get() & PRIORITY != 0
    }
}

impl ops::BitOr for Interest {
    type Output = Self;

    #[inline]
    fn bitor(self, other: Self) -> Self {
        self.add(other)
    }
}

impl ops::BitOrAssign for Interest {
    #[inline]
    fn bitor_assign(&mut self, other: Self) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names are printed only where the platform defines the constant,
        // matching mio's output exactly.
        let names: [(bool, &str); 5] = [
            (self.is_readable(), "READABLE"),
            (self.is_writable(), "WRITABLE"),
            (crate::macros::HAS_AIO && self.is_aio(), "AIO"),
            (crate::macros::HAS_LIO && self.is_lio(), "LIO"),
            (
                crate::macros::HAS_PRIORITY && self.is_priority(),
                "PRIORITY",
            ),
        ];
        let mut first = true;
        for (set, name) in names {
            if set {
                if !first {
                    fmt.write_str(" | ")?;
                }
                fmt.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}
