//! The `Waker`: a completion packet posted straight to the `Poll`'s port.
//!
//! `wake` posts a packet whose completion key is the waker's token and whose
//! `OVERLAPPED` pointer is null, which no AFD request ever has; `select`
//! reports such a packet as a readable event for that token. Every wake is a
//! separate packet, so none is lost (several may be reported by one poll).

use super::Selector;
use crate::Token;
use std::io;

/// Posts readable events for `token` to a selector's completion port.
#[derive(Debug)]
pub(crate) struct Waker {
    selector: Selector,
    token: Token,
}

impl Waker {
    pub(crate) fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        Ok(Waker {
            selector: selector.try_clone()?,
            token,
        })
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.selector.wake(self.token)
    }
}
