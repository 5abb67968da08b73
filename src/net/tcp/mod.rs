//! TCP: listener and stream.

mod listener;
mod stream;

pub use self::listener::TcpListener;
pub use self::stream::TcpStream;
