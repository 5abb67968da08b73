//! Unix wakers. Linux and Android use an eventfd; the pipe waker for other
//! platforms plugs in here.

mod eventfd;
pub(crate) use self::eventfd::Waker;
