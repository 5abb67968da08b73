//! Readiness events and the [`Source`] trait.
//!
//! [`Poll::poll`](crate::Poll::poll) fills [`Events`]; iterating it yields
//! [`Event`]s, each carrying the [`Token`](crate::Token) its source was
//! registered with.

#[allow(clippy::module_inception)]
mod event;
mod events;
mod source;

pub use self::event::Event;
pub use self::events::{Events, Iter};
pub use self::source::Source;
