//! Unix-domain sockets: listener, stream and datagram.

mod datagram;
mod listener;
mod stream;

pub use self::datagram::UnixDatagram;
pub use self::listener::UnixListener;
pub use self::stream::UnixStream;
