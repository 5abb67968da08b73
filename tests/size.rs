//! Memory layout of the net types: in release builds nbio keeps no
//! per-source state on epoll, so each type is exactly its std counterpart;
//! debug builds add registration tracking.
#![cfg(feature = "net")]

use std::mem::size_of;

// The poll(2) and event-port backends keep per-source state, so this is
// for epoll and kqueue only (as in mio, whose test is skipped for its
// poll(2) backend).
#[cfg(all(
    not(debug_assertions),
    not(nbio_force_poll),
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "visionos",
        target_os = "watchos",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )
))]
#[test]
fn net_types_have_std_size_in_release() {
    assert_eq!(
        size_of::<nbio::net::TcpStream>(),
        size_of::<std::net::TcpStream>()
    );
    assert_eq!(
        size_of::<nbio::net::TcpListener>(),
        size_of::<std::net::TcpListener>()
    );
    assert_eq!(
        size_of::<nbio::net::UdpSocket>(),
        size_of::<std::net::UdpSocket>()
    );
    assert_eq!(
        size_of::<nbio::net::UnixStream>(),
        size_of::<std::os::unix::net::UnixStream>()
    );
    assert_eq!(
        size_of::<nbio::net::UnixListener>(),
        size_of::<std::os::unix::net::UnixListener>()
    );
    assert_eq!(
        size_of::<nbio::net::UnixDatagram>(),
        size_of::<std::os::unix::net::UnixDatagram>()
    );
    // And `Option` keeps the fd niche.
    assert_eq!(
        size_of::<Option<nbio::net::TcpStream>>(),
        size_of::<std::net::TcpStream>()
    );
}

#[cfg(debug_assertions)]
#[test]
fn net_types_carry_tracking_state_in_debug() {
    assert!(size_of::<nbio::net::TcpStream>() > size_of::<std::net::TcpStream>());
    assert!(size_of::<nbio::net::TcpListener>() > size_of::<std::net::TcpListener>());
    assert!(size_of::<nbio::net::UdpSocket>() > size_of::<std::net::UdpSocket>());
}

#[test]
fn small_value_types() {
    assert_eq!(size_of::<nbio::Token>(), size_of::<usize>());
    assert_eq!(size_of::<nbio::Interest>(), 1);
    // `Interest` is never empty, so `Option<Interest>` is free.
    assert_eq!(size_of::<Option<nbio::Interest>>(), 1);
    // An `Event` is the kernel's record, read in place.
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(nbio_force_poll)))]
    assert_eq!(
        size_of::<nbio::event::Event>(),
        size_of::<libc::epoll_event>()
    );
}

// Stateless backends only, as above.
#[cfg(feature = "os-ext")]
#[cfg(all(
    not(debug_assertions),
    not(nbio_force_poll),
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "visionos",
        target_os = "watchos",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )
))]
#[test]
fn pipe_ends_are_one_fd_in_release() {
    assert_eq!(
        size_of::<nbio::unix::pipe::Sender>(),
        size_of::<std::os::fd::OwnedFd>()
    );
    assert_eq!(
        size_of::<nbio::unix::pipe::Receiver>(),
        size_of::<std::os::fd::OwnedFd>()
    );
}
