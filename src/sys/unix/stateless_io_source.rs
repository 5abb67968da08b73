//! Per-source state for selectors whose kernel keeps all registration state
//! (epoll, kqueue), and for builds without `os-poll`: there is none, so net
//! types stay the size of their std counterparts and `do_io` is a plain
//! call.

// Unused where the selector brings its own per-source state.
#![allow(dead_code)]

use crate::sys::Selector;
use crate::{Interest, Token};
use std::io;
use std::os::fd::RawFd;

pub(crate) struct IoSourceState;

impl IoSourceState {
    pub(crate) fn new() -> IoSourceState {
        IoSourceState
    }

    #[inline]
    pub(crate) fn do_io<T, F, R>(&self, _direction: Interest, f: F, io: &T) -> io::Result<R>
    where
        F: FnOnce(&T) -> io::Result<R>,
    {
        f(io)
    }

    pub(crate) fn register(
        &mut self,
        selector: &Selector,
        token: Token,
        interests: Interest,
        fd: RawFd,
    ) -> io::Result<()> {
        selector.register(fd, token, interests)
    }

    pub(crate) fn reregister(
        &mut self,
        selector: &Selector,
        token: Token,
        interests: Interest,
        fd: RawFd,
    ) -> io::Result<()> {
        selector.reregister(fd, token, interests)
    }

    pub(crate) fn deregister(&mut self, selector: &Selector, fd: RawFd) -> io::Result<()> {
        selector.deregister(fd)
    }
}
