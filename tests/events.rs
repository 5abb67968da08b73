//! `Events`, `Event` and `Iter`: buffer behaviour, iterator quirks and the
//! exact `Debug` output.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::event::{Event, Iter};
use nbio::{Events, Interest, Poll, Token};
use std::collections::HashSet;
use std::time::Duration;
use util::PairStream;

/// A poll with three sources that are writable right away.
fn poll_with_three_events() -> (Poll, Events, Vec<(PairStream, PairStream)>) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let mut pairs = Vec::new();
    for i in 0..3 {
        let (mut a, b) = util::stream_pair();
        poll.registry()
            .register(&mut a, Token(i), Interest::WRITABLE)
            .unwrap();
        pairs.push((a, b));
    }
    // Registration queues the readiness, so one poll collects all three.
    poll.poll(&mut events, Some(util::DEADLINE)).unwrap();
    assert_eq!(events.iter().count(), 3, "{events:?}");
    (poll, events, pairs)
}

#[test]
fn with_capacity_and_empty_state() {
    for cap in [0, 1, 16, 1024] {
        let events = Events::with_capacity(cap);
        assert_eq!(events.capacity(), cap);
        assert!(events.is_empty());
        assert_eq!(events.iter().next().map(|e| e.token()), None);
        assert_eq!(events.iter().count(), 0);
        assert_eq!(events.iter().size_hint(), (0, Some(0)));
        assert_eq!(format!("{events:?}"), "[]");
    }
}

#[test]
fn filled_then_cleared() {
    let (mut poll, mut events, _pairs) = poll_with_three_events();
    assert!(!events.is_empty());
    assert_eq!(events.capacity(), 16);
    events.clear();
    assert!(events.is_empty());
    assert_eq!(events.iter().count(), 0);
    assert_eq!(events.capacity(), 16);
    // The buffer is reusable after clearing.
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty());
}

#[test]
fn iter_and_into_iterator_yield_the_same_events() {
    let (_poll, events, _pairs) = poll_with_three_events();
    let from_iter: Vec<Token> = events.iter().map(Event::token).collect();
    let mut from_ref = Vec::new();
    for event in &events {
        from_ref.push(event.token());
    }
    assert_eq!(from_iter, from_ref);
    let set: HashSet<Token> = from_iter.into_iter().collect();
    assert_eq!(set, (0..3).map(Token).collect());
    // `IntoIterator` for `&Events` gives an `Iter`.
    let it: Iter<'_> = (&events).into_iter();
    assert_eq!(it.count(), 3);
}

#[test]
fn iter_size_hint_and_count_report_the_total() {
    let (_poll, events, _pairs) = poll_with_three_events();
    let mut iter = events.iter();
    assert_eq!(iter.size_hint(), (3, Some(3)));
    iter.next().unwrap();
    // mio quirk: the hint ignores consumed items...
    assert_eq!(iter.size_hint(), (3, Some(3)));
    iter.next().unwrap();
    // ...and so does `count`.
    assert_eq!(iter.clone().count(), 3);
    iter.next().unwrap();
    assert!(iter.next().is_none());
    // Exhausted iterators still report the total.
    assert_eq!(iter.size_hint(), (3, Some(3)));
    assert!(iter.next().is_none());
}

#[test]
fn iter_clone_continues_from_the_same_position() {
    let (_poll, events, _pairs) = poll_with_three_events();
    let mut iter = events.iter();
    let first = iter.next().unwrap().token();
    let clone = iter.clone();
    let rest: Vec<Token> = iter.map(Event::token).collect();
    let rest_clone: Vec<Token> = clone.map(Event::token).collect();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest, rest_clone);
    assert!(!rest.contains(&first));
    let iter_dbg = format!("{:?}", events.iter());
    assert!(iter_dbg.starts_with("Iter"), "{iter_dbg}");
}

#[test]
fn event_debug_exact_text() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    let (mut a, _b) = util::stream_pair();
    poll.registry()
        .register(&mut a, Token(7), Interest::WRITABLE)
        .unwrap();
    poll.poll(&mut events, Some(util::DEADLINE)).unwrap();
    let event = events.iter().next().unwrap();
    assert_eq!(
        format!("{event:?}"),
        "Event { token: Token(7), readable: false, writable: true, error: false, \
         read_closed: false, write_closed: false, priority: false, aio: false, lio: false }"
    );
    // `Events` debug is the list of its events.
    assert_eq!(format!("{events:?}"), format!("[{event:?}]"));
}

#[test]
fn event_debug_after_peer_hang_up() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    let (mut a, b) = util::stream_pair();
    drop(b);
    poll.registry()
        .register(&mut a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    poll.poll(&mut events, Some(util::DEADLINE)).unwrap();
    let event = events.iter().next().unwrap();
    assert!(event.is_readable());
    assert!(event.is_read_closed());
    let text = format!("{event:?}");
    assert!(text.contains("read_closed: true"), "{text}");
    // A closed Unix socket pair hangs up both directions. Windows uses a
    // TCP pair, where the peer's close is a FIN: only the read side is
    // closed (AFD reports a disconnect, not an abort).
    #[cfg(unix)]
    {
        assert!(event.is_write_closed());
        assert!(text.contains("write_closed: true"), "{text}");
    }
}

/// The std stream behind [`PairStream`]: Unix-domain on Unix, TCP on
/// Windows (see `util::stream_pair`).
#[cfg(unix)]
type StdStream = std::os::unix::net::UnixStream;
#[cfg(windows)]
type StdStream = std::net::TcpStream;
/// mio's type for the same socket kind.
#[cfg(unix)]
type MioPairStream = mio::net::UnixStream;
#[cfg(windows)]
type MioPairStream = mio::net::TcpStream;

/// A connected pair of non-blocking std streams.
fn std_pair() -> (StdStream, StdStream) {
    #[cfg(unix)]
    {
        let (a, b) = StdStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }
    #[cfg(windows)]
    {
        util::std_tcp_pair()
    }
}

/// Sets up the same kernel state for an nbio and a mio socket (via
/// `scenario`, applied to each peer), registers both with `interests` and
/// compares the non-alternate `Debug` of the events, which covers all nine
/// accessors.
fn compare_with_mio(
    interests: (Interest, mio::Interest),
    scenario: fn(StdStream) -> Option<StdStream>,
) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    let mut mpoll = mio::Poll::new().unwrap();
    let mut mevents = mio::Events::with_capacity(4);

    let (a, peer) = std_pair();
    let (ma, mpeer) = std_pair();
    // Keep the peers (if the scenario kept them) alive until the end.
    let _peers = (scenario(peer), scenario(mpeer));
    let mut a = PairStream::from_std(a);
    let mut ma = MioPairStream::from_std(ma);
    poll.registry()
        .register(&mut a, Token(3), interests.0)
        .unwrap();
    mpoll
        .registry()
        .register(&mut ma, mio::Token(3), interests.1)
        .unwrap();
    poll.poll(&mut events, Some(util::DEADLINE)).unwrap();
    mpoll.poll(&mut mevents, Some(util::DEADLINE)).unwrap();
    let ours: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    let theirs: Vec<String> = mevents.iter().map(|e| format!("{e:?}")).collect();
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot shut down a socketpair")]
fn event_flags_match_mio_for_the_same_situation() {
    use std::io::Write;
    use std::net::Shutdown;
    let both = (
        Interest::READABLE | Interest::WRITABLE,
        mio::Interest::READABLE | mio::Interest::WRITABLE,
    );
    let read = (Interest::READABLE, mio::Interest::READABLE);
    // Peer gone.
    compare_with_mio(both, |_| None);
    compare_with_mio(read, |_| None);
    // Data pending.
    compare_with_mio(both, |mut peer| {
        peer.write_all(b"hello").unwrap();
        Some(peer)
    });
    // Data pending, then the peer half-closes.
    compare_with_mio(read, |mut peer| {
        peer.write_all(b"hello").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        Some(peer)
    });
    // Peer shut down both directions but is still open.
    compare_with_mio(both, |peer| {
        peer.shutdown(Shutdown::Both).unwrap();
        Some(peer)
    });
}

#[test]
fn alternate_debug_has_details() {
    let (_poll, events, _pairs) = poll_with_three_events();
    let event = events.iter().next().unwrap();
    let text = format!("{event:#?}");
    assert!(text.contains("details"), "{text}");
    assert!(text.contains("token"), "{text}");
    assert!(text.contains("lio: false"), "{text}");
    // The plain form has no details.
    assert!(!format!("{event:?}").contains("details"));
}

#[test]
fn event_is_clone() {
    let (_poll, events, _pairs) = poll_with_three_events();
    let event = events.iter().next().unwrap();
    let copy: Event = event.clone();
    assert_eq!(copy.token(), event.token());
    assert_eq!(copy.is_writable(), event.is_writable());
    assert_eq!(format!("{copy:?}"), format!("{event:?}"));
    // The clone outlives the buffer it came from.
    drop(events);
    assert!(copy.is_writable());
    assert!(!copy.is_aio() && !copy.is_lio());
}
