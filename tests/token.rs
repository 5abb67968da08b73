//! `Token`: full-width round trip through the selector, conversions and
//! derived traits.
#![cfg(all(feature = "os-poll", feature = "net"))]

mod util;

use nbio::net::UdpSocket;
use nbio::{Events, Interest, Poll, Token};
use std::collections::{BTreeSet, HashSet};
use util::{expect_events, Expect};

/// Checks `token` comes back unchanged, both when set by `register` and
/// when set by `reregister`.
fn round_trip(token: Token) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut sock = UdpSocket::bind(util::any_local_address()).unwrap();
    poll.registry()
        .register(&mut sock, token, Interest::WRITABLE)
        .unwrap();
    poll.poll(&mut events, Some(util::DEADLINE)).unwrap();
    let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
    assert_eq!(tokens, [token], "after register");

    // Reregistering re-reports the writable readiness with the new token.
    poll.registry()
        .reregister(&mut sock, Token(12345), Interest::WRITABLE)
        .unwrap();
    poll.registry()
        .reregister(&mut sock, token, Interest::WRITABLE)
        .unwrap();
    poll.poll(&mut events, Some(util::DEADLINE)).unwrap();
    let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
    assert_eq!(tokens, [token], "after reregister");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn usize_max_round_trips_through_poll() {
    round_trip(Token(usize::MAX));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn extreme_and_pointer_like_tokens_round_trip() {
    round_trip(Token(0));
    round_trip(Token(1));
    round_trip(Token(usize::MAX - 1));
    round_trip(Token(1 << (usize::BITS - 1)));
    round_trip(Token(0xDEAD_BEEF));
    // A real address, as tokio stores.
    let boxed = Box::new(5u64);
    round_trip(Token(&*boxed as *const u64 as usize));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot create UDP sockets")]
fn tokens_identify_their_sources() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let tokens = [Token(usize::MAX), Token(0), Token(usize::MAX / 2)];
    let mut socks = Vec::new();
    for &token in &tokens {
        let mut sock = UdpSocket::bind(util::any_local_address()).unwrap();
        poll.registry()
            .register(&mut sock, token, Interest::READABLE)
            .unwrap();
        socks.push(sock);
    }
    // Only the middle one becomes readable.
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .send_to(b"x", socks[1].local_addr().unwrap())
        .unwrap();
    expect_events(&mut poll, &mut events, &[Expect::readable(Token(0))]);
    for event in events.iter() {
        assert_eq!(event.token(), Token(0));
    }
}

#[test]
fn from_token_for_usize() {
    assert_eq!(usize::from(Token(0)), 0);
    assert_eq!(usize::from(Token(42)), 42);
    let n: usize = Token(usize::MAX).into();
    assert_eq!(n, usize::MAX);
    assert_eq!(Token(9).0, 9);
}

#[test]
fn derived_traits() {
    assert_eq!(format!("{:?}", Token(5)), "Token(5)");
    assert_eq!(
        format!("{:?}", Token(usize::MAX)),
        format!("Token({})", usize::MAX)
    );
    // Copy + Clone + Eq.
    let a = Token(3);
    let b = a;
    #[allow(clippy::clone_on_copy)]
    let c = a.clone();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_ne!(Token(3), Token(4));
    // Ord follows the number.
    assert!(Token(1) < Token(2));
    assert!(Token(usize::MAX) > Token(0));
    assert_eq!(Token(7).cmp(&Token(7)), std::cmp::Ordering::Equal);
    let sorted: Vec<Token> = [Token(9), Token(1), Token(5)]
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(sorted, [Token(1), Token(5), Token(9)]);
    // Hash agrees with Eq.
    let set: HashSet<Token> = [Token(1), Token(1), Token(2)].into_iter().collect();
    assert_eq!(set.len(), 2);
    assert!(set.contains(&Token(2)));
}
