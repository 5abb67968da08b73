//! `Interest`: constants, combination, formatting, ordering, and priority
//! readiness with TCP out-of-band data.
//!
//! `Interest::PRIORITY` exists only on Linux and Android (as in mio), so
//! everything that names it is compiled there only.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::TcpStream;
use nbio::{Events, Interest, Poll, Token};
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::io::Write;
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(windows)]
use std::os::windows::io::AsRawSocket;
use util::{expect_events, tcp_pair, Expect};

#[test]
fn constants_report_their_own_kind_only() {
    let r = Interest::READABLE;
    assert!(r.is_readable() && !r.is_writable() && !r.is_priority());
    let w = Interest::WRITABLE;
    assert!(!w.is_readable() && w.is_writable() && !w.is_priority());
    for i in [r, w, r | w] {
        assert!(!i.is_aio());
        assert!(!i.is_lio());
    }
    assert_ne!(r, w);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let p = Interest::PRIORITY;
        assert!(!p.is_readable() && !p.is_writable() && p.is_priority());
        // AIO/LIO do not exist on Linux.
        for i in [p, r | w | p] {
            assert!(!i.is_aio());
            assert!(!i.is_lio());
        }
        assert_ne!(r, p);
        assert_ne!(w, p);
    }
}

#[test]
fn add_is_const_and_a_union() {
    const RW: Interest = Interest::READABLE.add(Interest::WRITABLE);
    // The `is_*` queries are `const fn`s too.
    const _: () = assert!(Interest::READABLE.is_readable() && !Interest::READABLE.is_writable());
    const _: () = assert!(RW.is_writable() && RW.is_readable() && !RW.is_priority());
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        const ALL: Interest = RW.add(Interest::PRIORITY);
        assert!(ALL.is_readable() && ALL.is_writable() && ALL.is_priority());
    }
    // Idempotent and commutative.
    assert_eq!(
        Interest::READABLE.add(Interest::READABLE),
        Interest::READABLE
    );
    assert_eq!(
        Interest::WRITABLE.add(Interest::READABLE),
        Interest::READABLE.add(Interest::WRITABLE)
    );
}

#[test]
fn remove() {
    let rw = Interest::READABLE | Interest::WRITABLE;
    assert_eq!(rw.remove(Interest::READABLE), Some(Interest::WRITABLE));
    assert_eq!(rw.remove(Interest::WRITABLE), Some(Interest::READABLE));
    assert_eq!(rw.remove(rw), None);
    assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
    // Removing something absent changes nothing.
    assert_eq!(
        Interest::READABLE.remove(Interest::WRITABLE),
        Some(Interest::READABLE)
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let all = rw | Interest::PRIORITY;
        assert_eq!(all.remove(Interest::PRIORITY), Some(rw));
        assert_eq!(all.remove(rw), Some(Interest::PRIORITY));
        // Removing a union removes every member.
        assert_eq!(
            all.remove(Interest::READABLE | Interest::PRIORITY),
            Some(Interest::WRITABLE)
        );
    }
}

#[test]
fn bitor_and_bitor_assign() {
    let rw = Interest::READABLE | Interest::WRITABLE;
    assert!(rw.is_readable() && rw.is_writable());
    assert_eq!(rw, Interest::READABLE.add(Interest::WRITABLE));
    let mut i = Interest::READABLE;
    i |= Interest::WRITABLE;
    assert_eq!(i, rw);
    i |= Interest::READABLE;
    assert_eq!(i, rw);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        i |= Interest::PRIORITY;
        assert!(i.is_priority() && i.is_readable() && i.is_writable());
        i |= Interest::READABLE;
        assert_eq!(i, rw | Interest::PRIORITY);
    }
}

#[test]
fn debug_text() {
    let r = Interest::READABLE;
    let w = Interest::WRITABLE;
    assert_eq!(format!("{r:?}"), "READABLE");
    assert_eq!(format!("{w:?}"), "WRITABLE");
    assert_eq!(format!("{:?}", r | w), "READABLE | WRITABLE");
    // Fixed order, independent of how the value was built.
    assert_eq!(format!("{:?}", w | r), "READABLE | WRITABLE");
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let p = Interest::PRIORITY;
        assert_eq!(format!("{p:?}"), "PRIORITY");
        assert_eq!(format!("{:?}", r | p), "READABLE | PRIORITY");
        assert_eq!(format!("{:?}", p | w), "WRITABLE | PRIORITY");
        assert_eq!(format!("{:?}", p | w | r), "READABLE | WRITABLE | PRIORITY");
    }
}

#[test]
fn debug_text_matches_mio() {
    // PRIORITY exists on Linux and Android, AIO on the kqueue platforms
    // that have `EVFILT_AIO`, LIO on FreeBSD.
    let nbio_all = [
        Interest::READABLE,
        Interest::WRITABLE,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Interest::PRIORITY,
        #[cfg(any(
            target_os = "dragonfly",
            target_os = "freebsd",
            target_os = "ios",
            target_os = "macos",
            target_os = "tvos",
            target_os = "visionos",
            target_os = "watchos"
        ))]
        Interest::AIO,
        #[cfg(target_os = "freebsd")]
        Interest::LIO,
    ];
    let mio_all = [
        mio::Interest::READABLE,
        mio::Interest::WRITABLE,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        mio::Interest::PRIORITY,
        #[cfg(any(
            target_os = "dragonfly",
            target_os = "freebsd",
            target_os = "ios",
            target_os = "macos",
            target_os = "tvos",
            target_os = "visionos",
            target_os = "watchos"
        ))]
        mio::Interest::AIO,
        #[cfg(target_os = "freebsd")]
        mio::Interest::LIO,
    ];
    let bits = nbio_all.len();
    for mask in 1u8..(1 << bits) {
        let mut n: Option<Interest> = None;
        let mut m: Option<mio::Interest> = None;
        for bit in 0..bits {
            if mask & (1 << bit) != 0 {
                n = Some(n.map_or(nbio_all[bit], |x| x | nbio_all[bit]));
                m = Some(m.map_or(mio_all[bit], |x| x | mio_all[bit]));
            }
        }
        assert_eq!(format!("{:?}", n.unwrap()), format!("{:?}", m.unwrap()));
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn ordering_and_equality() {
    let r = Interest::READABLE;
    let w = Interest::WRITABLE;
    let p = Interest::PRIORITY;
    // Ordered by the underlying bits: READABLE=1, WRITABLE=2, PRIORITY=16.
    assert!(r < w);
    assert!(w < r | w);
    assert!(r | w < p);
    assert!(p < p | r);
    assert_eq!(r | w, w | r);
    assert_eq!(r.cmp(&r), std::cmp::Ordering::Equal);
    let mut v = vec![p, r | w, w, r];
    v.sort();
    assert_eq!(v, [r, w, r | w, p]);
    // Consistent with mio's order.
    let mut m = vec![
        mio::Interest::PRIORITY,
        mio::Interest::READABLE | mio::Interest::WRITABLE,
        mio::Interest::WRITABLE,
        mio::Interest::READABLE,
    ];
    m.sort();
    assert_eq!(
        format!("{m:?}"),
        "[READABLE, WRITABLE, READABLE | WRITABLE, PRIORITY]"
    );
    assert_eq!(format!("{v:?}"), format!("{m:?}"));
}

// The part of `ordering_and_equality` that exists on every platform.
#[test]
fn ordering_and_equality_readable_writable() {
    let r = Interest::READABLE;
    let w = Interest::WRITABLE;
    // Ordered by the underlying bits: READABLE=1, WRITABLE=2.
    assert!(r < w);
    assert!(w < r | w);
    assert_eq!(r | w, w | r);
    let mut v = vec![r | w, w, r];
    v.sort();
    assert_eq!(v, [r, w, r | w]);
    let mut m = vec![
        mio::Interest::READABLE | mio::Interest::WRITABLE,
        mio::Interest::WRITABLE,
        mio::Interest::READABLE,
    ];
    m.sort();
    assert_eq!(format!("{v:?}"), format!("{m:?}"));
}

#[cfg(unix)]
fn send_oob(stream: &TcpStream, byte: u8) {
    // SAFETY: the buffer is a valid one-byte slice for the call's duration
    // and the fd is a live connected TCP socket.
    let n = unsafe {
        libc::send(
            stream.as_raw_fd(),
            &byte as *const u8 as *const libc::c_void,
            1,
            libc::MSG_OOB,
        )
    };
    assert_eq!(n, 1, "send(MSG_OOB): {}", std::io::Error::last_os_error());
}

#[cfg(windows)]
fn send_oob(stream: &TcpStream, byte: u8) {
    use windows_sys::Win32::Networking::WinSock::{send, MSG_OOB};
    // SAFETY: the buffer is a valid one-byte slice for the call's duration
    // and the socket is a live connected TCP socket.
    let n = unsafe { send(stream.as_raw_socket() as usize, &byte, 1, MSG_OOB) };
    assert_eq!(n, 1, "send(MSG_OOB): {}", std::io::Error::last_os_error());
}

/// Whether urgent data is waiting on `stream`, without consuming it.
#[cfg(unix)]
fn oob_pending(stream: &TcpStream) -> bool {
    let mut pfd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n == 1 && pfd.revents & libc::POLLPRI != 0
}

/// Whether urgent data is waiting on `stream`, without consuming it:
/// Winsock's `WSAPoll` has no `POLLPRI`, so peek at the out-of-band byte
/// (the socket is non-blocking, so this fails at once while none is there).
#[cfg(windows)]
fn oob_pending(stream: &TcpStream) -> bool {
    use windows_sys::Win32::Networking::WinSock::{recv, MSG_OOB, MSG_PEEK};
    let mut byte = 0u8;
    // SAFETY: `byte` is a valid one-byte buffer for the call's duration and
    // the socket is a live connected TCP socket.
    let n = unsafe {
        recv(
            stream.as_raw_socket() as usize,
            &mut byte,
            1,
            MSG_OOB | MSG_PEEK,
        )
    };
    n == 1
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri's epoll does not support EPOLLPRI")]
fn priority_interest_reports_out_of_band_data() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut server) = tcp_pair();
    poll.registry()
        .register(&mut server, Token(1), Interest::PRIORITY)
        .unwrap();
    send_oob(&client, b'!');
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(Token(1)).and_priority()],
    );
    // EPOLLPRI also counts as readable.
    let event = events.iter().find(|e| e.token() == Token(1)).unwrap();
    assert!(event.is_priority());
    assert!(event.is_readable());

    // The urgent byte can be read with MSG_OOB.
    let mut byte = 0u8;
    // SAFETY: `byte` is a valid one-byte buffer for the call's duration.
    let n = unsafe {
        libc::recv(
            server.as_raw_fd(),
            &mut byte as *mut u8 as *mut libc::c_void,
            1,
            libc::MSG_OOB,
        )
    };
    assert_eq!(n, 1);
    assert_eq!(byte, b'!');
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
#[cfg_attr(miri, ignore = "Miri's epoll does not support EPOLLPRI")]
fn priority_combined_with_readable() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut client, mut server) = tcp_pair();
    poll.registry()
        .register(
            &mut server,
            Token(2),
            Interest::READABLE | Interest::PRIORITY,
        )
        .unwrap();
    client.write_all(b"normal").unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(2))]);
    let data = util::drain(&server).unwrap();
    assert_eq!(data, b"normal");
    send_oob(&client, b'#');
    expect_events(
        &mut poll,
        &mut events,
        &[Expect::new(Token(2)).and_priority()],
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot send out-of-band data (MSG_OOB)")]
fn priority_not_reported_without_priority_interest() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut server) = tcp_pair();
    // Register a marker source to know when the OOB data has surely landed.
    poll.registry()
        .register(&mut server, Token(3), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(3))]);
    send_oob(&client, b'*');
    // Wait until the kernel reports the urgent data (a plain poll(2) on
    // Unix, a peek on Windows).
    let end = std::time::Instant::now() + util::DEADLINE;
    loop {
        if oob_pending(&server) {
            break;
        }
        assert!(std::time::Instant::now() < end, "OOB data never arrived");
        std::thread::yield_now();
    }
    // Re-registering for WRITABLE only evaluates readiness again: the
    // event must not claim priority data, which was not asked for.
    poll.registry()
        .reregister(&mut server, Token(3), Interest::WRITABLE)
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::writable(Token(3))]);
    for event in events.iter() {
        assert!(!event.is_priority(), "priority not requested: {event:?}");
    }
}
