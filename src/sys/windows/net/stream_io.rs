//! `read` and `write` for connected stream sockets (`TcpStream`): std's own
//! `Read`/`Write` for `&TcpStream`, which already make one WinSock `recv`
//! or `send` each (the Unix backend calls `recv`/`send` itself, see
//! `sys/unix/net/stream_io.rs`).

use std::io::{self, IoSlice, Read, Write};

/// Reads what has arrived into `buf` (std's `Read for &TcpStream`).
#[inline]
pub(crate) fn read<S>(socket: &S, buf: &mut [u8]) -> io::Result<usize>
where
    for<'a> &'a S: Read,
{
    let mut socket = socket;
    socket.read(buf)
}

/// Writes as much of `buf` as the socket takes now (std's `Write for
/// &TcpStream`).
#[inline]
pub(crate) fn write<S>(socket: &S, buf: &[u8]) -> io::Result<usize>
where
    for<'a> &'a S: Write,
{
    let mut socket = socket;
    socket.write(buf)
}

/// Writes as much of `bufs`, in order, as the socket takes now (std's
/// `Write for &TcpStream`).
#[inline]
pub(crate) fn write_vectored<S>(socket: &S, bufs: &[IoSlice<'_>]) -> io::Result<usize>
where
    for<'a> &'a S: Write,
{
    let mut socket = socket;
    socket.write_vectored(bufs)
}
