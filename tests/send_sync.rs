//! Every public type can be shared across threads, and the core types are
//! unwind-safe, as in mio (a compile-time check: a type that lost one of
//! these traits makes this file fail to build).
#![cfg(all(feature = "os-poll", feature = "net", feature = "os-ext"))]

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn core_types_are_send_and_sync() {
    assert_send_sync::<nbio::Poll>();
    assert_send_sync::<nbio::Registry>();
    assert_send_sync::<nbio::Events>();
    assert_send_sync::<nbio::event::Events>();
    assert_send_sync::<nbio::event::Event>();
    assert_send_sync::<nbio::event::Iter<'static>>();
    assert_send_sync::<nbio::Token>();
    assert_send_sync::<nbio::Interest>();
    assert_send_sync::<nbio::Waker>();
    assert_send::<Box<dyn nbio::event::Source + Send>>();
}

fn assert_unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}

#[test]
fn core_and_net_types_are_unwind_safe() {
    assert_unwind_safe::<nbio::Poll>();
    assert_unwind_safe::<nbio::Registry>();
    assert_unwind_safe::<nbio::Waker>();
    assert_unwind_safe::<nbio::Events>();
    assert_unwind_safe::<nbio::Token>();
    assert_unwind_safe::<nbio::Interest>();
    assert_unwind_safe::<nbio::net::TcpListener>();
    assert_unwind_safe::<nbio::net::TcpStream>();
    assert_unwind_safe::<nbio::net::UdpSocket>();
}

#[test]
fn net_types_are_send_and_sync() {
    assert_send_sync::<nbio::net::TcpListener>();
    assert_send_sync::<nbio::net::TcpStream>();
    assert_send_sync::<nbio::net::UdpSocket>();
}

// The Unix-domain socket types exist on Unix only (as in mio).
#[cfg(unix)]
#[test]
fn unix_net_types_are_send_and_sync() {
    assert_send_sync::<nbio::net::UnixListener>();
    assert_send_sync::<nbio::net::UnixStream>();
    assert_send_sync::<nbio::net::UnixDatagram>();
}

// `nbio::unix` exists on Unix only (as in mio).
#[cfg(unix)]
#[test]
fn unix_extension_types_are_send_and_sync() {
    assert_send_sync::<nbio::unix::SourceFd<'static>>();
    assert_send_sync::<nbio::unix::pipe::Sender>();
    assert_send_sync::<nbio::unix::pipe::Receiver>();
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn shared_types_actually_cross_threads() {
    let poll = nbio::Poll::new().unwrap();
    let registry = std::sync::Arc::new(poll.registry().try_clone().unwrap());
    let waker = std::sync::Arc::new(nbio::Waker::new(&registry, nbio::Token(0)).unwrap());
    let (r, w) = (registry.clone(), waker.clone());
    std::thread::spawn(move || {
        let mut sock = nbio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        r.register(&mut sock, nbio::Token(1), nbio::Interest::READABLE)
            .unwrap();
        r.deregister(&mut sock).unwrap();
        w.wake().unwrap();
    })
    .join()
    .unwrap();
    // `Poll` itself moves between threads.
    std::thread::spawn(move || drop(poll)).join().unwrap();
}
