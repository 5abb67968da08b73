//! `Token`: the caller's identifier for a registered source.

/// Associates readiness events with the [`event::Source`] they belong to.
///
/// The value is chosen by the caller when registering and handed back in
/// every [`Event`] for that source. Every `usize` value is allowed, including
/// `usize::MAX`; nbio reserves none, so a token can hold a pointer-sized key.
///
/// [`event::Source`]: crate::event::Source
/// [`Event`]: crate::event::Event
///
/// # Example
///
/// ```
/// use nbio::Token;
///
/// let token = Token(usize::MAX);
/// assert_eq!(usize::from(token), usize::MAX);
/// assert_eq!(format!("{:?}", Token(7)), "Token(7)");
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

impl From<Token> for usize {
    fn from(val: Token) -> usize {
        val.0
    }
}
